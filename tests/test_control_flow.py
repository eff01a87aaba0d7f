"""Control flow corner cases: values living past loops, empty loops, exits from nested loops,
parallel assignment, shadowed parameters, in-place updates in while loops, repeated helper calls."""

import numpy as np
import pytest

import s2sad

from gradcheck import assert_grad_matches_fd

def last_value(x, n):
    for i in range(n):
        t = x * i
    return t * x

def zero_iter(x, n):
    s = x * 2.0
    for i in range(n):
        s = s * x
    return s

def nested_return(x):
    for i in range(3):
        for j in range(3):
            if x * (i + j) > 2.0:
                return x * i - j
    return x ** 3

def fib(x, y):
    a, b = x, y
    for i in range(5):
        a, b = b, a * b + 0.1
    return a + b

def shadow(x, w):
    x = x * w
    for i in range(3):
        x = np.tanh(x) + w
    return x

def arr_while(x):
    y = x.copy()
    k = 0
    while np.sum(y) < 10.0 and k < 20:
        y[k % 3] = y[k % 3] * 1.5 + x[(k + 1) % 3]
        k = k + 1
    return np.sum(y * y)

def two_calls(x):
    return helper2(x) + helper2(x * x)

def helper2(a):
    if a > 1:
        return a * 3
    s = 0.0
    for i in range(2):
        s = s + np.sin(a * i)
    return s

def cont(x):
    s = 0.0
    for v in x:
        if v < 0:
            continue
        s += v ** 2
    return s

def ternary_chain(x, y):
    z = x if x > y else y
    return z * z + (x if 0 < x < 1 else -x)

def kw(x, scale=2.0, *, power=3):
    return np.sum((scale * x) ** power)

cases = [
    (last_value, (1.3, 3), (0,)), (zero_iter, (1.3, 0), (0,)), (zero_iter, (1.3, 3), (0,)),
    (nested_return, (0.7,), (0,)), (nested_return, (0.1,), (0,)), (fib, (0.5, 0.7), (0, 1)),
    (shadow, (0.3, 0.5), (0, 1)), (arr_while, (np.array([1.0, 2.0, 0.5]),), (0,)),
    (two_calls, (0.5,), (0,)), (two_calls, (1.5,), (0,)), (cont, (np.array([1.0, -2.0, 3.0]),), (0,)),
    (ternary_chain, (0.5, 0.2), (0, 1)), (ternary_chain, (-0.5, 0.2), (0, 1)), (kw, (np.array([0.5, 1.0]),), (0,)),
]


@pytest.mark.parametrize("f, args, wrt", cases, ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(cases)])
def test_corner_case_gradient(f, args, wrt):
    assert_grad_matches_fd(f, args, wrt=wrt)


# ---------------------------------------------------------------------------
# tuple results used by index and by field name (not added together as tuples)
# ---------------------------------------------------------------------------


def eigh_fields(a):
    r = np.linalg.eigh(a @ a.T + 3 * np.eye(3))
    return np.sum(r.eigenvalues ** 2) + np.sum(r.eigenvectors[:, 0] ** 4)


def slogdet_fields(a):
    r = np.linalg.slogdet(a @ a.T + np.eye(3))
    return r.logabsdet * r.sign


def slogdet_unpacked(a):
    sign, logdet = np.linalg.slogdet(a @ a.T + np.eye(3))
    return logdet * sign + logdet


@pytest.mark.parametrize("f", [eigh_fields, slogdet_fields, slogdet_unpacked])
def test_tuple_result_fields(f):
    a = np.random.default_rng(1).normal(size=(3, 3))
    assert_grad_matches_fd(f, (a,), wrt=0, rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------------------
# random numbers: the reparameterization trick differentiates w.r.t. mu and sigma
# ---------------------------------------------------------------------------


def reparameterized(mu, sigma):
    eps = np.random.default_rng(0).normal(size=4)
    z = mu + sigma * eps
    return np.sum(z ** 2)


def sampled_directly(mu, sigma):
    z = np.random.default_rng(0).normal(mu, sigma, size=4)  # the draw is held fixed: z = mu + sigma * eps
    return np.sum(z ** 2)


@pytest.mark.parametrize("f", [reparameterized, sampled_directly])
def test_reparameterization(f):
    assert_grad_matches_fd(f, (0.5, 1.5), wrt=(0, 1))


# ---------------------------------------------------------------------------
# exact simplifications never turn an update of a new array into an update of the input
# ---------------------------------------------------------------------------


def updates_of_trivial_copies(x):
    y = 1.0 * x
    y[0] = 5.0
    z = x ** 1
    z[1] = 2.0
    return np.sum(y * z * x)


def test_simplification_keeps_updated_arrays_apart():
    x = np.array([1.0, 2.0, 3.0])
    before = x.copy()
    s2sad.grad(updates_of_trivial_copies)(x)
    s2sad.value_and_grad(updates_of_trivial_copies)(x)
    np.testing.assert_array_equal(x, before)  # the caller's array is untouched
    assert_grad_matches_fd(updates_of_trivial_copies, (before,))


# ---------------------------------------------------------------------------
# raise: input validation stays in the generated code and raises the same exception
# ---------------------------------------------------------------------------


def validated(x, y):
    if np.ndim(x) != 1:
        raise ValueError(f"x must be a vector, got {np.ndim(x)} axes")
    if y < 0:
        raise ValueError("y must be >= 0")
    s = 0.0
    for v in x:
        if v > 100:
            raise ValueError("too big")
        s = s + v * y * v
    return s


def test_raise_keeps_validation():
    x = np.array([1.0, 2.0])
    assert_grad_matches_fd(validated, (x, 2.0), wrt=(0, 1))
    with pytest.raises(ValueError, match="y must be >= 0"):
        s2sad.grad(validated)(x, -1.0)
    with pytest.raises(ValueError, match="too big"):
        s2sad.value_and_grad(validated)(np.array([1.0, 200.0]), 1.0)
    with pytest.raises(ValueError, match="2 axes"):
        s2sad.jvp(validated)(np.ones((2, 2)), 1.0, np.ones((2, 2)))
    assert "raise ValueError(" in s2sad.grad(validated).source
