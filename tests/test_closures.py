"""Functions made inside the code (issue 10 §2): lambdas wherever they are written, nested ``def``s and
lambdas closing over local variables, and ``functools.partial``.

Every derivative is checked against central finite differences; every refusal is pinned to its
error class and to the line marked ``# ERR`` in this file.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from gradcheck import assert_grad_matches_fd, numeric_grad

import s2sad
from s2sad.errors import SourceUnavailableError

# ------------------------------------------------------------ lambdas passed to s2sad, wherever written

# A lambda inside a multi-line expression: its lines do not parse on their own.
LAMBDAS_IN_A_DICT = {
    "hess": lambda: s2sad.hessian(lambda W: np.sum(np.tanh(W) ** 2))(np.ones((2, 2))),
    "square": lambda x: x * x,
}
TWO_ON_ONE_LINE = [lambda x: x * x * x, lambda x: 3.0 * x]
CUBE = lambda x: x ** 3; SHIFTED = lambda x: np.sin(x) + 1.0  # noqa: E702,E731
CONTINUED = (lambda x:
             x * np.sin(x))
GRAD_OF_CONTINUED = lambda: s2sad.grad(  # noqa: E731
    lambda x: x ** 2 * np.cos(x))


def _with_default(f=lambda x: np.exp(-x) * x):
    return f


def _attach(f):
    def decorator(g):
        g.attached = f
        return g
    return decorator


@_attach(lambda x: x / (1.0 + x * x))
def _decorated_target(x):
    return x


@pytest.mark.parametrize("f", [
    LAMBDAS_IN_A_DICT["square"], TWO_ON_ONE_LINE[0], TWO_ON_ONE_LINE[1], CUBE, SHIFTED, CONTINUED,
    _with_default(), _decorated_target.attached,
], ids=["in_dict", "first_of_two", "second_of_two", "two_statements_first", "two_statements_second",
        "continuation_line", "default_argument", "decorator_argument"])
def test_a_lambda_anywhere_in_a_file_is_differentiated(f):
    assert_grad_matches_fd(f, [0.7])


def test_a_lambda_passed_inside_a_multi_line_dict_display():
    expected = np.zeros((2, 2, 2, 2))
    d2 = 2 * (1 - 3 * np.tanh(1.0) ** 2) * (1 - np.tanh(1.0) ** 2)  # d²/dw² tanh(w)²
    for i in range(2):
        for j in range(2):
            expected[i, j, i, j] = d2
    np.testing.assert_allclose(LAMBDAS_IN_A_DICT["hess"](), expected, rtol=1e-10)


def test_a_lambda_on_the_line_after_the_call():
    x = 0.4
    np.testing.assert_allclose(GRAD_OF_CONTINUED()(x), 2 * x * np.cos(x) - x * x * np.sin(x), rtol=1e-12)


def test_jacobian_of_a_lambda_written_in_the_call():
    x = np.array([0.1, 0.2, 0.3])
    np.testing.assert_allclose(s2sad.jacobian(lambda x: np.sin(x))(x), np.diag(np.cos(x)), rtol=1e-12)


def test_a_lambda_that_cannot_be_told_apart_is_refused_with_a_hint():
    twins = eval("[lambda x: x * x, lambda x: x * x]")  # no file to read at all
    with pytest.raises(SourceUnavailableError) as info:
        s2sad.grad(twins[0])(1.0)
    assert "def" in info.value.hint
