"""The runtime helpers' fast paths for scalar code (issue 11 §5) keep the general paths' results.

No timing is asserted. ``scalar_seed`` of a NumPy scalar used to be ``np.ones_like``'s 0-d array
(slow to compute with, and 5 µs in a 2 µs gradient); it is now a NumPy scalar of the same dtype.
``unbroadcast`` of two floats and ``add_at`` of one element into a float array take
shortcuts that must agree with the general code they skip.
"""

from __future__ import annotations

import numpy as np
import pytest

import s2sad
from s2sad import runtime


@pytest.mark.parametrize("y", [np.float64(0.3), np.float32(0.3), np.float16(0.3), np.longdouble(0.3), np.complex128(1j)],
                         ids=lambda y: type(y).__name__)
def test_seed_of_a_numpy_scalar_is_a_numpy_scalar_of_its_dtype(y):
    seed = runtime.scalar_seed(y)
    assert type(seed) is type(y) and seed == 1  # was a 0-d ndarray


@pytest.mark.parametrize("y, expected_type", [(0.3, float), (3, float), (np.array(0.3), np.ndarray),
                                              (np.array(0.3, dtype=np.float32), np.ndarray)])
def test_seed_of_a_python_number_or_0d_array_is_as_before(y, expected_type):
    seed = runtime.scalar_seed(y)
    assert type(seed) is expected_type and seed == 1
    assert np.result_type(seed) == (np.float64 if expected_type is float else np.result_type(y))


def normal_pdf(x, mu, sigma):
    return np.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * np.sqrt(2.0 * np.pi))


def as_string(x):
    return "a" if x else "b"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_scalar_gradient_keeps_the_argument_dtype_and_value(dtype):
    args = [dtype(v) for v in (0.3, 0.1, 1.2)]
    g = s2sad.grad(normal_pdf, wrt=(0, 1, 2))(*args)
    assert [type(v) for v in g] == [dtype] * 3
    s2sad.check_grad(normal_pdf, 0.3, 0.1, 1.2, wrt=(0, 1, 2))


def test_a_non_number_output_is_still_refused_in_memory():
    with pytest.raises(s2sad.S2SADError, match="real number"):
        s2sad.grad(as_string)(0.5)


class Half(float):
    """A float subclass: a scalar all the same."""


@pytest.mark.parametrize("g, x", [(np.float64(2.0), 1.0), (2.0, np.float64(1.0)), (Half(2.0), 1.0), (2.0, True),
                                  (np.float32(2.0), 1.0), (2, 1.0)], ids=repr)
def test_unbroadcast_of_two_scalars_returns_the_adjoint_unchanged(g, x):
    assert runtime.unbroadcast(g, x) is g


@pytest.mark.parametrize("g", [2.0, np.float64(2.0), np.array([1.0, 2.0])], ids=repr)
def test_add_at_of_one_element_adds_in_place(g):
    acc = np.zeros((3, 2)) if np.ndim(g) else np.zeros(3)
    expected = acc.copy()
    expected[1] += g
    assert runtime.add_at(acc, 1, g) is acc
    np.testing.assert_array_equal(acc, expected)


def rosenbrock_loop(x):
    s = 0.0
    for i in range(len(x) - 1):
        s = s + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


def test_element_loop_gradient_through_the_fast_paths_is_right():
    s2sad.check_grad(rosenbrock_loop, np.linspace(-1.0, 1.0, 7))


def weighted(x, p={"w": 2.0}):  # noqa: B006 - a container default, read only
    return p["w"] * x * x


def scaled(x, scale=2.0):
    return scale * x * x


def test_a_container_default_is_still_differentiated_leaf_by_leaf():
    # the general path skips binding when no argument or default is a container: this one has one
    assert s2sad.grad(weighted, wrt="p")(3.0) == {"w": 9.0}


@pytest.mark.parametrize("scale", [3.0, np.float32(3.0)], ids=repr)
def test_keyword_call_keeps_the_gradient_dtype(scale):
    g = s2sad.grad(scaled, wrt=(0, 1))(np.float32(1.5), scale=scale)
    assert type(g[0]) is np.float32  # the float32 argument's gradient, cast back if NumPy promoted it
    assert g == (pytest.approx(2 * scale * 1.5), pytest.approx(2.25))


@pytest.mark.parametrize("x", [2.5, np.float64(2.5), np.ones((2, 3)), 3], ids=repr)
def test_shape_of_fast_paths_keep_what_unbroadcast_reads(x):
    stand_in = runtime.shape_of(x)
    assert np.all(stand_in == 0) or stand_in is x  # no data kept (an int is kept as it is)
    g = np.full(np.shape(x), 1.5) if np.ndim(x) else 1.5
    for adjoint in (g, np.ones((4,) + np.shape(x))):  # as is, and broadcast up
        expected = runtime.unbroadcast(adjoint, x)
        found = runtime.unbroadcast(adjoint, stand_in)
        assert type(found) is type(expected) and np.array_equal(found, expected)
