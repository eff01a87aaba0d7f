"""dtypes: float32 in, float32 out; integers are real numbers; complex and strings are refused."""

import numpy as np
import pytest

import s2sad
from gradcheck import numeric_grad


def elementwise(x):
    return np.sum(np.sin(x) * np.exp(x) + x ** 2 / (1.0 + x * x))


def reductions(x):
    return np.mean(x ** 2) + np.std(x) + np.max(x) + np.linalg.norm(x)


def loop_fill(x):
    out = np.zeros_like(x)
    for i in range(len(x)):
        out[i] = np.tanh(x[i]) * 2.0
    return np.sum(out)


def matrix(x):
    A = np.outer(x, x) + np.eye(len(x))
    return np.sum(A @ x) + np.trace(A)


@pytest.mark.parametrize("f", [elementwise, reductions, loop_fill, matrix])
def test_float32_inputs_give_float32_gradients(f):
    x = np.linspace(0.1, 0.9, 4, dtype=np.float32)
    g = s2sad.grad(f)(x)
    assert g.dtype == np.float32, s2sad.grad(f).source
    # the reference is central differences of f in float64, not s2sad's own float64 gradient
    np.testing.assert_allclose(g, numeric_grad(f, (x.astype(np.float64),)), rtol=1e-4, atol=1e-6)


def test_integer_inputs_are_real_numbers():
    assert s2sad.grad(lambda x: x * x)(3) == 6.0
    np.testing.assert_allclose(s2sad.grad(elementwise)(np.arange(3)), s2sad.grad(elementwise)(np.arange(3.0)))


@pytest.mark.parametrize("bad", [np.ones(2, dtype=complex), 1 + 2j, "abc", None, np.array(["a"])])
def test_non_real_arguments_are_refused(bad):
    with pytest.raises(s2sad.ArgumentError):
        s2sad.grad(elementwise)(bad)
