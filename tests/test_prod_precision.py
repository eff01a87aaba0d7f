"""np.prod's derivative is the product of the other entries, computed without dividing by the entry:
exact where the whole product underflows but the others' product does not."""

import numpy as np
import pytest

import s2sad


def total(v):
    return np.prod(v)


def total_by_rows(m):
    return np.sum(np.prod(m, axis=1))


@pytest.mark.parametrize("v, expected", [
    # found by the generated programs: prod underflows to -0.0, and y / v[0] gave 0 for 0.95
    (np.array([-5e-324, -0.95, -1.0]), [0.95, 5e-324, 5e-324]),
    # the product 1e-600 underflows; the others' products are 1, 1 and 1e-600 (0.0)
    (np.array([1e-300, 1e-300, 1e300]), [1.0, 1.0, 0.0]),
    (np.array([2.0, 0.0, 3.0]), [0.0, 6.0, 0.0]),
])
def test_grad_is_the_product_of_the_others(v, expected):
    np.testing.assert_allclose(s2sad.grad(total)(v), expected, rtol=1e-12, atol=0)
    direction = np.array([1.0, -2.0, 0.5])
    _, tangent = s2sad.jvp(total)(v, direction)
    np.testing.assert_allclose(tangent, np.dot(expected, direction), rtol=1e-12, atol=1e-300)


def test_rows_of_tiny_entries():
    m = np.array([[1e-300, 1e-300, 1e300], [1.0, 2.0, 3.0]])
    np.testing.assert_allclose(s2sad.grad(total_by_rows)(m), [[1.0, 1.0, 0.0], [6.0, 3.0, 2.0]], rtol=1e-12)


# np.cumprod's derivative, dy_j/da_i = prod_{k <= j, k != i} a_k, was Q_j / a_i: wrong where the running
# product Q_j underflows (or overflows) but the others' product does not. The exact values below are the
# products of the others taken entry by entry.
WEIGHTS = np.array([1.0, 2.0, 3.0])


def weighted_running_products(v):
    return np.sum(WEIGHTS * np.cumprod(v))


def weighted_running_products_2d(m):
    return np.sum(WEIGHTS * np.cumprod(m, axis=1))


def _products_of_the_others_up_to(v):
    """d/dv_i sum_j w_j prod_{k <= j} v_k, one product at a time."""
    grad = np.zeros(len(v))
    for i in range(len(v)):
        for j in range(i, len(v)):
            grad[i] += WEIGHTS[j] * np.prod([v[k] for k in range(j + 1) if k != i])
    return grad


@pytest.mark.parametrize("v", [
    np.array([-5e-324, -0.95, -1.0]),  # the old rule gave -1.0 for 1.95 (4.94e-324 / -5e-324)
    np.array([1e-300, 1e-300, 1e300]),  # running product 1e-600 underflows; the others' do not all
    np.array([2.0, 0.0, 3.0]),
    np.array([0.5, -1.5, 2.0]),
])
def test_cumprod_grad_is_the_product_of_the_others(v):
    expected = _products_of_the_others_up_to(v)
    np.testing.assert_allclose(s2sad.grad(weighted_running_products)(v), expected, rtol=1e-12, atol=0)
    for k, direction in enumerate(np.eye(3)):
        _, tangent = s2sad.jvp(weighted_running_products)(v, direction)
        np.testing.assert_allclose(tangent, expected[k], rtol=1e-12, atol=0)


def test_cumprod_rows_of_tiny_entries():
    m = np.array([[-5e-324, -0.95, -1.0], [1.0, 2.0, 3.0]])
    expected = np.array([_products_of_the_others_up_to(row) for row in m])
    np.testing.assert_allclose(s2sad.grad(weighted_running_products_2d)(m), expected, rtol=1e-12, atol=0)


def _second_products(v):
    """d^2/dv_a dv_b sum_j w_j prod_{k <= j} v_k: the products without v_a and v_b, a != b."""
    n = len(v)
    hessian = np.zeros((n, n))
    for a in range(n):
        for b in range(n):
            if a != b:
                for j in range(max(a, b), n):
                    hessian[a, b] += WEIGHTS[j] * np.prod([v[k] for k in range(j + 1) if k not in (a, b)])
    return hessian


@pytest.mark.parametrize("v", [np.array([0.7, -1.3, 0.9]), np.array([1e-200, 1e-200, 3e-150])])
def test_cumprod_hessian_matches_the_products(v):
    # the second input takes the multiplying path (its running product underflows); its second derivative
    # divides by an entry (as np.prod's does), so entries far below the largest one are not exact
    expected = _second_products(v)
    np.testing.assert_allclose(s2sad.hessian(weighted_running_products)(v), expected, rtol=1e-12,
                               atol=1e-12 * np.max(np.abs(expected)))


def running_total(v):
    return np.cumprod(v)


def running_total_by_ufunc(v):
    return np.multiply.accumulate(v)


# an entry tiny against its tangent (1e-300 with 1e10): tangent / entry overflows, though every
# product the derivatives stand for is finite; the rules divided by the entry and gave inf
TINY_ENTRY = np.array([1e-300, 1e200, 1e100])
BIG_TANGENT = np.array([1e10, 0.0, 0.0])


def test_hvp_of_prod_at_an_entry_tiny_against_its_tangent():
    # H v for prod: (H v)_i = v_0 prod_{j != i, 0} a_j
    np.testing.assert_allclose(s2sad.hvp(total)(TINY_ENTRY, BIG_TANGENT), [0.0, 1e110, 1e210], rtol=1e-12)


@pytest.mark.parametrize("f", [running_total, running_total_by_ufunc], ids=lambda f: f.__name__)
def test_jvp_of_cumprod_at_an_entry_tiny_against_its_tangent(f):
    # y_dot_j = sum_{i <= j} t_i prod_{k <= j, k != i} a_k = t_0 prod_{0 < k <= j} a_k
    with np.errstate(over="ignore"):
        _, tangent = s2sad.jvp(f)(TINY_ENTRY, BIG_TANGENT)
    np.testing.assert_allclose(tangent[:2], [1e10, 1e210], rtol=1e-12)


def test_second_derivative_of_cumprod_at_an_entry_tiny_against_its_tangent_is_refused():
    def running_sum(v):
        return np.sum(np.cumprod(v))

    with pytest.raises(s2sad.NoDerivativeError, match="quotient overflows"):
        s2sad.hvp(running_sum)(TINY_ENTRY, BIG_TANGENT)
