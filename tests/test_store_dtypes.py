"""A differentiated value stored into an array converts to the array's dtype.

Into an integer or boolean array that is rounding (derivative 0 or undefined), so s2sad refuses
with a NoDerivativeError at the storing line, in every mode, for ``x[i] = v`` and for every writing
call lowered to it. Into float32 the conversion is the identity up to precision: the gradient
passes (checked against central differences). Before, every integer case gave the identity's
gradient (1 per stored element) without an error.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from gradcheck import assert_grad_matches_fd, numeric_grad

import s2sad
from s2sad.errors import NoDerivativeError


def _line(f, marker="# HERE"):
    lines, start = inspect.getsourcelines(f)
    return next(start + i for i, text in enumerate(lines) if marker in text)


def set_item(v, dtype):
    x = np.zeros(3, dtype=dtype)
    x[1] = v * 2.0  # HERE
    return np.sum(x * v)


def set_slice(v, dtype):
    x = np.ones(3, dtype=dtype)
    x[1:] = v * np.ones(2)  # HERE
    return np.sum(x * 1.5)


def fill(v, dtype):
    x = np.zeros(3, dtype=dtype)
    x.fill(v)  # HERE
    return np.sum(x * 1.5)


def copyto(v, dtype):
    x = np.zeros(3, dtype=dtype)
    np.copyto(x, v * np.arange(3.0), casting="unsafe")  # HERE
    return np.sum(x * 1.5)


def put(v, dtype):
    x = np.zeros(3, dtype=dtype)
    np.put(x, [0, 2], v * np.ones(2))  # HERE
    return np.sum(x * 1.5)


def add_at(v, dtype):
    x = np.zeros(3, dtype=dtype)
    np.add.at(x, [0, 2], v * np.ones(2))  # HERE
    return np.sum(x * 1.5)


def out_reduction(v, dtype):
    x = np.zeros((), dtype=dtype)
    np.sum(v * np.ones(3), out=x)  # HERE
    return x * 1.5


def in_a_loop(v, dtype):
    x = np.zeros(3, dtype=dtype)
    for i in range(3):
        x[i] = v * i  # HERE
    return np.sum(x * 1.5)


def into_a_copied_argument(v, x):
    y = x.copy()
    y[0] = v  # HERE
    return np.sum(y * 1.5)


STORES = [set_item, set_slice, fill, copyto, put, add_at, out_reduction, in_a_loop]


@pytest.mark.parametrize("dtype", [int, np.int32, bool])
@pytest.mark.parametrize("f", STORES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("kind", ["grad", "value_and_grad", "jvp", "hvp"])
def test_a_store_into_an_integer_array_is_refused_at_its_line(f, dtype, kind):
    v = 1.3
    transformed = getattr(s2sad, kind)(f)
    args = (v, dtype, 1.0) if kind in ("jvp", "hvp") else (v, dtype)
    with pytest.raises(NoDerivativeError, match="rounds it") as info:
        transformed(*args)
    assert info.value.location.line == _line(f)


def test_a_store_into_an_integer_argument_is_refused():
    # only the run time knows the dtype of a copied argument that is not differentiated
    with pytest.raises(NoDerivativeError, match="int64"):
        s2sad.grad(into_a_copied_argument)(1.3, np.zeros(3, dtype=np.int64))
    assert s2sad.grad(into_a_copied_argument)(1.3, np.zeros(3)) == pytest.approx(1.5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("f", STORES, ids=lambda f: f.__name__)
def test_a_store_into_a_float_array_passes_the_gradient(f, dtype):
    g = s2sad.grad(f)(1.3, dtype)
    expected = numeric_grad(lambda v: f(v, np.float64), (1.3,))
    assert float(g) == pytest.approx(float(expected), rel=1e-5 if dtype is np.float32 else 1e-7)


def local_float_array(v):
    x = np.zeros(3)
    x[1] = v * 2.0
    return np.sum(x * v)


def test_a_local_float_array_is_not_checked():
    assert_grad_matches_fd(local_float_array, (1.3,))
    assert "float_destination" not in s2sad.grad(local_float_array).source


def zeros_like_of_an_argument(x):
    y = np.zeros_like(x)
    y[0] = x[1]
    return np.sum(y * x)


def float_dtype_given(x):
    y = np.array([0, 0, 0], dtype=float)
    y[0] = x[1]
    return np.sum(y * x)


def cast_to_float(x):
    y = np.zeros(3, dtype=int).astype(float)
    y[0] = x[1]
    return np.sum(y * x)


@pytest.mark.parametrize("f", [local_float_array, zeros_like_of_an_argument, float_dtype_given, cast_to_float],
                         ids=lambda f: f.__name__)
def test_an_array_that_is_certainly_float_is_not_checked(f):
    assert_grad_matches_fd(f, (np.array([0.3, 0.8, 1.7]),) if f is not local_float_array else (1.3,))
    assert "float_destination" not in s2sad.grad(f).source


def zeros_like_of_an_int_array(x):
    y = np.zeros_like(np.arange(3))
    y[0] = x[1]  # HERE
    return np.sum(y * x)


def test_zeros_like_of_an_int_array_is_checked():
    with pytest.raises(NoDerivativeError, match="rounds it") as info:
        s2sad.grad(zeros_like_of_an_int_array)(np.array([0.3, 0.8, 1.7]))
    assert info.value.location.line == _line(zeros_like_of_an_int_array)


@pytest.mark.parametrize("f", [set_item, fill, in_a_loop], ids=lambda f: f.__name__)
def test_explain_refuses_a_store_into_an_integer_array_too(f):
    # before: the lecture trace showed the identity's gradient through the rounding store
    with pytest.raises(NoDerivativeError, match="rounds it") as info:
        s2sad.explain(f, 1.3, int, wrt=0)
    assert info.value.location.line == _line(f)
    s2sad.explain(f, 1.3, float, wrt=0)  # a float array is explained as before


def list_store(v):
    items = [0, 0]
    items[1] = v * 2.0
    return items[1] * v


def test_explain_keeps_stores_into_lists():
    assert s2sad.explain(list_store, 1.3).gradient == pytest.approx(4 * 1.3)
