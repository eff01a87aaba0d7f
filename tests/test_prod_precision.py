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
