"""Second and third derivatives through the rule templates, where the old templates dropped or lost
a term: the exponent of a**b's slope, the tuples of einsum's adjoints, the products of the others."""

from __future__ import annotations

import numpy as np
import pytest

import s2sad


def power(x, y):
    return x ** y


def sum_of_powers(x, y):
    return np.sum(x ** y)


@pytest.mark.parametrize("x, y", [(1.7, 2.3), (1.7, 0.0), (0.4, 0.0), (0.6, 1.0)])
def test_mixed_second_derivative_of_a_power(x, y):
    # d2/dxdy x**y = x**(y-1) (1 + y log x): at y == 0 it is 1/x (the slope's exponent is not 1 there)
    exact = x ** (y - 1) * (1 + y * np.log(abs(x)))
    np.testing.assert_allclose(s2sad.grad(s2sad.grad(power, 1), 0)(x, y), exact, rtol=1e-12)
    np.testing.assert_allclose(s2sad.hvp(power, (0, 1))(x, y, 0.0, 1.0)[0], exact, rtol=1e-12)


def test_mixed_second_derivative_of_a_power_of_arrays_at_a_zero_exponent():
    x, y = np.array([1.5, 0.5, 2.0]), np.zeros(3)
    got = s2sad.hvp(sum_of_powers, (0, 1))(x, y, np.zeros(3), np.ones(3))[0]
    np.testing.assert_allclose(got, 1 / x, rtol=1e-12)


def einsum_of_two(x):
    return np.einsum("i,i->", x, x) ** 2


def einsum_of_three(x):
    return np.einsum("i,i,i->", x, x, x) ** 2


def test_third_derivative_through_einsum_of_two_arrays():
    x, u = np.array([0.3, -0.7, 1.1]), np.array([-0.7, 0.3, 1.3])
    # f = s^2 with s = x.x: H = 8 x x^T + 4 s I, whose derivative along u applied to u is 16 (x.u) u + 8 (u.u) x
    exact = 16 * (x @ u) * u + 8 * (u @ u) * x
    np.testing.assert_allclose(s2sad.jvp(s2sad.hvp(einsum_of_two), 0)(x, u, u)[1], exact, rtol=1e-12)


def test_third_derivative_through_einsum_of_three_arrays_is_refused():
    x, u = np.array([0.3, -0.7, 1.1]), np.array([-0.7, 0.3, 1.3])
    with pytest.raises(s2sad.NoDerivativeError, match="third derivative of np.einsum"):
        s2sad.jvp(s2sad.hvp(einsum_of_three), 0)(x, u, u)


def product(v):
    return np.prod(v)


DIRECTION = np.array([0.3, -1.1, 0.7, 0.2])


PRODUCT_GRADIENT = s2sad.grad(product)


def product_gradient_along(v):
    return PRODUCT_GRADIENT(v) @ DIRECTION[:len(v)]


def _pair_products(v):
    n = len(v)
    return np.array([[0.0 if a == b else np.prod([v[k] for k in range(n) if k not in (a, b)]) for b in range(n)]
                     for a in range(n)])


@pytest.mark.parametrize("v", [
    np.array([1.0, 1.0, 1e-300]),  # one tiny entry: sum(v_dot / v) - v_dot / v cancelled
    np.array([1e-200, 1e-200, 1e-200]),  # every product of the others underflows, the pairs' do not
    np.array([1e-200, 3.0, 1e200, -0.5]),
])
def test_second_derivatives_of_a_product_are_the_products_of_the_others(v):
    exact = _pair_products(v)
    u = DIRECTION[:len(v)]
    np.testing.assert_allclose(s2sad.hvp(product)(v, u), exact @ u, rtol=1e-12, atol=0)
    np.testing.assert_allclose(s2sad.hessian(product)(v), exact, rtol=1e-12, atol=0)
    np.testing.assert_allclose(s2sad.grad(product_gradient_along)(v), exact @ u, rtol=1e-12, atol=0)


def test_third_derivative_of_a_product_whose_others_underflow_is_refused():
    v, u = np.array([1e-200, 1e-200, 1e-200]), np.array([0.3, -1.1, 0.7])
    with pytest.raises(s2sad.NoDerivativeError, match="third derivative of a product"):
        s2sad.jvp(s2sad.hvp(product), 0)(v, u, u)


WEIGHTS = np.array([1.0, 2.0, 3.0])


def weighted_running_products(v):
    return np.sum(WEIGHTS * np.cumprod(v))


def weighted_accumulation(v):
    return np.sum(WEIGHTS * np.multiply.accumulate(v))


def _second_running_products(v):
    """d2/dv_a dv_b sum_j w_j prod_{k <= j} v_k: the products without v_a and v_b, a != b."""
    n = len(v)
    return np.array([[sum(WEIGHTS[j] * np.prod([v[k] for k in range(j + 1) if k not in (a, b)])
                          for j in range(max(a, b), n)) if a != b else 0.0 for b in range(n)] for a in range(n)])


@pytest.mark.parametrize("f", [weighted_running_products, weighted_accumulation])
@pytest.mark.parametrize("v", [np.array([1e-300, 1.0, 1.0]), np.array([1.0, 1.0, 1e-300]),
                               np.array([2.0, 1e-300, -1.5]), np.array([0.7, -1.3, 0.9])])
def test_second_derivatives_of_running_products(f, v):
    # dividing by the tiny entry and subtracting its own term gave 3e284 for -3.4 (hvp at [1e-300, 1, 1])
    exact = _second_running_products(v)
    u = DIRECTION[:3]
    np.testing.assert_allclose(s2sad.hvp(f)(v, u), exact @ u, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(s2sad.hessian(f)(v), exact, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(s2sad.jvp(s2sad.jvp(f), 0)(v, u, u)[1][1], u @ exact @ u, rtol=1e-12, atol=1e-12)
