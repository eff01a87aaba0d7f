"""Deep expressions: nothing fails below Python's own limits (issue 10).

Python compiles a sum of about 3 000 terms and parentheses nested 200 deep.
s2sad used to stop with an InternalError (recursion depth) at a sum of 250
terms or parentheses 150 deep. Now the transformer has the recursion depth
such expressions need while it runs (s2sad/transforming.py), and generated
expressions stay at most ``MAX_FOLD_DEPTH`` deep, so printing and compiling the
derivative stay shallow whatever the input.
"""

from __future__ import annotations

import ast
import gc
import sys

import numpy as np
import pytest

import s2sad
from gradcheck import assert_grad_matches_fd, module_from_source
from s2sad.codegen import MAX_FOLD_DEPTH

TERMS = ["np.sin(x[0]) * {k}.0", "x[1] * x[2] * {k}.0", "x[{i}] / {k}.0", "np.exp(x[2] * 0.01) * {k}.0"]


def _long_sum(n):
    terms = [TERMS[i % len(TERMS)].format(k=i % 7 + 1, i=i % 3) for i in range(n)]
    return "import numpy as np\n\n\ndef f(x):\n    return " + " + ".join(terms) + "\n"


def _weighted_by_a_long_sum(n):
    """f(x, y) = x . (a sum of `n` terms in y): differentiated in x only, the sum is printed as it is
    computed, its temporaries folded into one expression (no adjoint reads them)."""
    terms = [TERMS[i % len(TERMS)].replace("x[", "y[").format(k=i % 7 + 1, i=i % 3) for i in range(n)]
    return ("import numpy as np\n\n\ndef f(x, y):\n    c = " + " + ".join(terms)
            + "\n    return np.sum(x * c)\n")


def _nested(depth):
    return ("import numpy as np\n\n\ndef f(x):\n    return " + "(" * depth + "x[0]"
            + " * np.cos(x[1]) + x[2])" * depth + "\n")


@pytest.fixture(scope="module")
def deep(tmp_path_factory):
    directory = tmp_path_factory.mktemp("deep")
    return {
        "sum": module_from_source(directory, "deep_sum_1000", _long_sum(1000)).f,
        "nested": module_from_source(directory, "deep_nested_150", _nested(150)).f,
        "shorter sum": module_from_source(directory, "deep_sum_300", _long_sum(300)).f,
        "weights": module_from_source(directory, "deep_weights_300", _weighted_by_a_long_sum(300)).f,
    }


def _expression_depth(source: str) -> int:
    """How deep the deepest expression of `source` is (iteratively: it may be deep)."""
    deepest = 0
    stack = [(node, 1) for node in ast.walk(ast.parse(source)) if isinstance(node, ast.stmt)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((c, d + 1) for c in ast.iter_child_nodes(node) if isinstance(c, ast.expr))
    return deepest


X = np.array([0.3, -0.5, 0.7])


@pytest.mark.parametrize("name", ["sum", "nested"])
def test_gradient_of_a_deep_expression(deep, name):
    assert_grad_matches_fd(deep[name], [X], rtol=1e-6)


def test_generated_expressions_stay_shallow(deep):
    f = deep["weights"]
    y = np.array([0.2, 0.4, -0.3])
    g = s2sad.value_and_grad(f)
    value, gradient = g(X, y)
    assert value == pytest.approx(f(X, y), rel=1e-12)
    assert_grad_matches_fd(f, [X, y])
    # 300 terms would print 300 deep in one line; they come in lines of at most MAX_FOLD_DEPTH
    assert 20 < MAX_FOLD_DEPTH <= _expression_depth(g.source) <= 2 * MAX_FOLD_DEPTH + 8


def test_jvp_of_a_deep_sum(deep):
    f = deep["shorter sum"]
    v = np.array([1.0, -2.0, 0.5])
    _, tangent = s2sad.jvp(f)(X, v)
    h = 1e-6
    assert tangent == pytest.approx((f(X + h * v) - f(X - h * v)) / (2 * h), rel=1e-6)


def test_transforming_leaves_the_interpreter_as_it_was(tmp_path):
    source = _long_sum(40) + "\n\ndef refused(x):\n    yield x\n"
    module = module_from_source(tmp_path, "deep_restore", source)
    limit, collecting = sys.getrecursionlimit(), gc.isenabled()
    s2sad.grad(module.f)
    assert (sys.getrecursionlimit(), gc.isenabled()) == (limit, collecting)
    with pytest.raises(s2sad.S2SADError):  # and so when the transformation fails
        s2sad.grad(module.refused)
    assert (sys.getrecursionlimit(), gc.isenabled()) == (limit, collecting)
