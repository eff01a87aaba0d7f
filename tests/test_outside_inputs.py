"""Outside-style probes of the arguments a user may pass, as other AD tools' suites do: array
subclasses whose operators mean something else, the dtype of derived results, and warnings the
user did not ask for. Each test names the wrong result or traceback it caught."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import s2sad


def masked_mean_of_squares(x):
    return np.mean(x * x)


def sum_of_logs(x):
    return np.sum(np.log(x))


def mean_of_product(x, m):
    return np.mean(x * m)


def mean_of_leaf(p):
    return np.mean(p["a"] ** 2)


def _masked():
    return np.ma.masked_array([1.0, 2.0, 3.0], mask=[False, False, True])


MASKED_CALLS = {
    # np.mean of a masked array divides by the unmasked count (2): the gradient is [1, 2, --], and
    # s2sad gave [0.667, 1.333, --] (its rule divides by the size, 3)
    "grad of a mean": lambda: s2sad.grad(masked_mean_of_squares)(_masked()),
    # np.log masks the negative entry, so it does not count: s2sad gave -0.5 for it
    "grad of logs": lambda: s2sad.grad(sum_of_logs)(np.ma.masked_array([1.0, -2.0, 3.0])),
    "a masked argument not differentiated": lambda: s2sad.grad(mean_of_product)(np.ones(3), _masked()),
    "a masked leaf of a dict": lambda: s2sad.grad(mean_of_leaf)({"a": _masked()}),
    "value_and_grad": lambda: s2sad.value_and_grad(masked_mean_of_squares)(_masked()),
    "jvp": lambda: s2sad.jvp(masked_mean_of_squares)(_masked(), np.ones(3)),
    "vjp": lambda: s2sad.vjp(masked_mean_of_squares)(_masked(), 1.0),
    "hessian": lambda: s2sad.hessian(masked_mean_of_squares)(_masked()),
    "jacobian": lambda: s2sad.jacobian(masked_mean_of_squares)(_masked()),
    "derivative": lambda: s2sad.derivative(masked_mean_of_squares, 2)(_masked()),
}


@pytest.mark.parametrize("call", MASKED_CALLS.values(), ids=MASKED_CALLS)
def test_a_masked_array_is_refused_rather_than_differentiated_as_an_ndarray(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # np.log(-2.0) before the mask hides it
        with pytest.raises(s2sad.ArgumentError, match="masked array") as info:
            call()
    assert "filled" in info.value.hint


def cubes(x):
    return np.sum(x * x * x)


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.float64])
def test_second_derivatives_keep_the_arguments_float_dtype(dtype):
    # JAX and autograd give a Hessian in the argument's dtype, as s2sad's gradient is; the Hessian
    # and the Jacobian of the gradient were float64 for a float32 argument (their basis vectors were)
    x = np.array([1.0, 2.0], dtype=dtype)
    for derived in (s2sad.hessian(cubes), s2sad.jacobian(s2sad.grad(cubes))):
        h = derived(x)
        assert h.dtype == dtype
        np.testing.assert_allclose(h, np.diag(6.0 * x.astype(np.float64)))
    assert s2sad.hessian(cubes)(np.array([1, 2])).dtype == np.float64  # an int argument: float64


def field(x):
    return np.array([x[0] * x[1], np.sin(x[1]), x[2] ** 2])


def test_derivative_of_code_indexing_its_argument_does_not_warn():
    # derivative() builds the code for a scalar argument first, where the seed is the number 1.0:
    # x[0] became `1.0[0]`, and compiling it printed "SyntaxWarning: 'float' object is not subscriptable"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = s2sad.derivative(field)
        x = np.array([0.5, 1.5, -2.0])
        got = d(x)
    # along all ones: the row sums of the Jacobian
    np.testing.assert_allclose(got, [x[1] + x[0], np.cos(x[1]), 2 * x[2]])


def weighted(p):
    return np.sum(p["w"] ** 2) * p["b"]


def scaled_field(p):
    return p["w"] * p["b"]


CONTAINER_DRIVERS = {
    "hessian": lambda p: s2sad.hessian(weighted)(p),
    "jacobian": lambda p: s2sad.jacobian(scaled_field)(p),
    "laplacian": lambda p: s2sad.laplacian(weighted)(p),
    "divergence": lambda p: s2sad.divergence(scaled_field)(p),
    "derivative": lambda p: s2sad.derivative(weighted, 2)(p),
}


@pytest.mark.parametrize("call", CONTAINER_DRIVERS.values(), ids=CONTAINER_DRIVERS)
def test_drivers_taking_arrays_refuse_a_container_naming_what_takes_one(call):
    # JAX's hessian takes a dict; s2sad's drivers take arrays, and said "argument 0 is dict ..., which
    # has no derivative", with a hint to leave it out of wrt, though grad and hvp differentiate it
    p = {"w": np.array([1.0, 2.0]), "b": 3.0}
    with pytest.raises(s2sad.ArgumentError, match="dict of arrays or numbers") as info:
        call(p)
    assert "hvp" in info.value.hint
    hv = s2sad.hvp(weighted)(p, {"w": np.array([1.0, 0.0]), "b": 1.0})  # what the hint offers works
    np.testing.assert_allclose(hv["w"], [2 * 3.0 + 2 * 1.0, 2 * 2.0])
    np.testing.assert_allclose(hv["b"], 2 * 1.0)
