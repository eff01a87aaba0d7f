"""Outside-style probes of the API's own tools: a check must be able to fail. Each test names the
wrong answer it caught."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import s2sad


def root_where_positive(x):
    return np.sum(np.where(x > 0, np.sqrt(np.abs(x)), 0.0))


def square(x):
    return x * x


def test_check_grad_fails_on_a_nan_gradient_that_differences_call_finite():
    # the gradient at x = 0 is nan (0 * inf in the untaken branch of np.where, as in every AD tool),
    # finite differences give 500: max(|nan - 500|) is nan, `nan > tolerance` is False, and
    # check_grad returned 0.0, a pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(AssertionError, match="differs from finite differences by inf"):
            s2sad.check_grad(root_where_positive, np.array([0.0, 4.0]))
        # an infinite gradient where differences give nan (x = inf) is no pass either (it returned 0.0)
        with pytest.raises(AssertionError, match="by inf"):
            s2sad.check_grad(square, np.inf)
    assert s2sad.check_grad(square, 2.0) < 1e-9  # a finite point still passes


class Model:
    def __init__(self, w):
        self.w = w

    @s2sad.differentiate
    def loss(self, x):
        return np.sum((self.w * x) ** 2)

    @s2sad.differentiate
    def cubic(self, x):
        return x * x * 3.0


OPERATORS_OF_A_BOUND_METHOD = {
    # s2sad.grad(m.loss) read the unbound function and differentiated it with respect to self
    # ("the attribute .w has no derivative rule"), or took x for self (missing argument 'x')
    "grad": (lambda m: s2sad.grad(m.loss)(np.ones(2)), [2.0, 8.0]),
    "grad by name": (lambda m: s2sad.grad(m.loss, "x")(np.ones(2)), [2.0, 8.0]),
    "value_and_grad": (lambda m: s2sad.value_and_grad(m.loss)(np.ones(2))[1], [2.0, 8.0]),
    "hessian": (lambda m: s2sad.hessian(m.loss)(np.ones(2)), [[2.0, 0.0], [0.0, 8.0]]),
    "jvp": (lambda m: s2sad.jvp(m.cubic)(2.0, 1.0)[1], 12.0),
    "derivative": (lambda m: s2sad.derivative(m.cubic, 2)(2.0), 6.0),
    "the method's own .grad": (lambda m: m.loss.grad(np.ones(2)), [2.0, 8.0]),
}


@pytest.mark.parametrize("call, expected", OPERATORS_OF_A_BOUND_METHOD.values(), ids=OPERATORS_OF_A_BOUND_METHOD)
def test_operators_of_a_differentiate_method_bound_to_an_object_differentiate_its_argument(call, expected):
    np.testing.assert_allclose(call(Model(np.array([1.0, 2.0]))), expected, rtol=1e-12)
