"""Functions outside test suites (autograd's test_numpy/test_linalg, JAX's lax_numpy tests) call,
which s2sad refused (NoDerivativeError), differentiated end to end against central differences in
every mode, second derivatives included; and the keywords their rules do not implement, refused.

The rules' own checks are the cases in tests/rule_cases_statistics.py.
"""

from __future__ import annotations

import numpy as np
import pytest

import s2sad
from qa_harness import check_case

rng = np.random.default_rng(11)
X = rng.normal(size=(3, 4))
MODES = ("grad", "jvp", "hvp", "hess")


def ufunc_reductions(x):
    return np.sum(np.add.reduce(x * x, axis=1) * np.multiply.reduce(x)[:3]
                  + np.logaddexp.reduce(x, axis=1) * np.maximum.reduce(x, 1) - np.minimum.reduce(x, 1))


def ufunc_scans(x):
    return np.sum(np.add.accumulate(x, 1) ** 2 + np.multiply.accumulate(x, 1) * np.maximum.accumulate(x)
                  - np.minimum.accumulate(x, axis=1) * x)


def ufunc_scans_along_a_tuple(x):
    # NumPy's accumulate takes axis as a tuple of one int (the generated code failed with TypeError)
    return np.sum(np.add.accumulate(x, axis=(1,)) ** 2
                  + np.multiply.accumulate(x, (-1,)) * np.maximum.accumulate(x, (0,))
                  - np.minimum.accumulate(x, axis=(1,)) * x)


def parts_of_numbers(x):
    mantissa, exponent = np.frexp(5.0 * x)
    fractional, integral = np.modf(3.0 * x)
    return np.sum(mantissa ** 2 * exponent + fractional ** 3 + integral + np.ldexp(x, 2) ** 2 * np.real_if_close(x))


def quantiles(x):
    return np.sum(np.quantile(x, [0.2, 0.7], axis=1) ** 2) + np.percentile(x, 35.0) * np.sum(x)


def quantile_in_q(q):
    return np.sum(np.quantile(np.array([0.3, -1.2, 2.5, 0.9, 1.7]), q) ** 2
                  + np.percentile(np.array([4.0, 1.0, 2.5]), 100 * q) * q)


def covariances(x):
    return (np.sum(np.cov(x) ** 2) + np.sum(np.cov(x.T, rowvar=False, ddof=0) * np.corrcoef(x))
            + np.sum(np.corrcoef(x, x[0] ** 2) ** 3))


def covariance_of_one_observation(x):
    # with rowvar=False NumPy transposes any 2-D m, one row included: here 4 variables observed once
    # (the rule read one variable observed 4 times, and the generated code failed with InternalError)
    return np.sum(np.cov(x[:1], rowvar=False, bias=True) + 1.0) * np.sum(x ** 2)


def chain_products(x):
    return np.sum(np.linalg.multi_dot([x, x.T, x]) ** 2) + np.linalg.multi_dot([x[0], x.T, x, x[1]])


def least_squares(a):
    x, residuals, rank, s = np.linalg.lstsq(a, np.array([1.0, -2.0, 0.5, 3.0]), rcond=None)
    return np.sum(x ** 2) + np.sum(residuals) + np.sum(s ** 3) + np.sum(np.linalg.lstsq(a.T, a[:3, 0], rcond=None)[0])


def differences(v):
    return np.sum(np.gradient(v) ** 3 + np.gradient(v, 0.5, edge_order=2) ** 2)


def differences_along(x):
    return np.sum(np.gradient(x, axis=1) * np.gradient(x, 2.0, axis=0, edge_order=2) ** 2)


def piecewise(v):
    return np.sum(np.select([v < -0.3, v < 0.4], [v ** 2, np.sin(v)], default=3.0 * v) ** 2)


def distinct_values(v):
    return np.sum(np.unique(v) ** 3 * np.arange(6.0)) + np.sum(np.unique([v[1], v[0] * 2.0]) * np.array([1.0, 3.0]))


@pytest.mark.parametrize("f, args", [
    (distinct_values, (rng.normal(size=6),)),
    (differences, (rng.normal(size=6),)),
    (differences_along, (X,)),
    (piecewise, (rng.normal(size=7),)),
    (chain_products, (rng.normal(size=(3, 3)),)),
    (least_squares, (rng.normal(size=(4, 3)),)),
    (ufunc_reductions, (X,)),
    (ufunc_scans, (X,)),
    (ufunc_scans_along_a_tuple, (X,)),
    (parts_of_numbers, (X,)),
    (quantiles, (X,)),
    (quantile_in_q, (np.array([0.35, 0.6]),)),
    (covariances, (X,)),
    (covariance_of_one_observation, (X,)),
], ids=lambda v: getattr(v, "__name__", ""))
def test_derivatives_match_central_differences(f, args):
    check_case(f, args, 0, MODES, rtol=1e-5, atol=1e-6)


def reduce_with_initial(x):
    return np.sum(np.add.reduce(x, axis=0, initial=1.0))


def reduce_with_out_by_position(x):
    return np.sum(np.add.reduce(x, 0, None, None, True))


def subtract_reduce(x):
    return np.sum(np.subtract.reduce(x))


def quantile_nearest(x):
    return np.quantile(x, 0.3, method="nearest")


def quantile_overwriting(x):
    return np.quantile(x, 0.3, overwrite_input=True)


def cov_weighted(x):
    return np.sum(np.cov(x, aweights=np.ones(4)))


def least_squares_rank_deficient(a):
    return np.sum(np.linalg.lstsq(np.stack([a, 2.0 * a], 1), np.ones(4), rcond=None)[0])


def gradient_of_every_axis(x):
    return np.sum(np.gradient(x)[0])


def gradient_with_coordinates(x):
    return np.sum(np.gradient(x[0], np.array([0.0, 0.5, 1.5, 3.0])))


def gradient_in_its_spacing(x):
    return np.sum(np.gradient(x, x[0, 0]))


def unique_with_counts(x):
    return np.sum(np.unique(x, return_counts=True)[0])


@pytest.mark.parametrize("f, error, says", [
    (unique_with_counts, s2sad.NoDerivativeError, "np.unique is implemented for its values only"),
    (gradient_of_every_axis, s2sad.NoDerivativeError, "one axis at a time"),
    (gradient_with_coordinates, s2sad.NoDerivativeError, "scalar spacing only"),
    (gradient_in_its_spacing, s2sad.NoDerivativeError, "'varargs'"),
    (least_squares_rank_deficient, s2sad.NoDerivativeError, "full rank; this 4x2 matrix has rank 1"),
    (quantile_nearest, s2sad.NoDerivativeError, "method='linear' only"),
    (quantile_overwriting, s2sad.RuleError, "unexpected keyword argument 'overwrite_input'"),
    (cov_weighted, s2sad.RuleError, "unexpected keyword argument 'aweights'"),
    (reduce_with_initial, s2sad.RuleError, "np.add.reduce does not match its derivative rule"),
    (reduce_with_out_by_position, s2sad.RuleError, "too many positional arguments"),
    (subtract_reduce, s2sad.NoDerivativeError, "np.subtract.reduce has no derivative rule"),
], ids=lambda v: getattr(v, "__name__", ""))
def test_what_a_rule_does_not_implement_is_refused(f, error, says):
    with pytest.raises(error, match=says) as caught:
        s2sad.grad(f)(X[0] if f is least_squares_rank_deficient else X)
    assert caught.value.location is not None


# ---------------------------------------------------------------------------
# np.linalg.norm(x, ord): every ord, differentiated in x (ord itself is refused:
# tests/test_rule_arguments.py), vectors, matrices, stacks of them with axis=
# ---------------------------------------------------------------------------

VECTOR_ORDS = [None, 1, 2, np.inf, -np.inf, 3, 0.5, -1, -2, 1.5]
MATRIX_ORDS = [None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]
SVD_ORDS = ("nuc", 2, -2)  # their second derivative is refused (NoDerivativeError)


def _vector(ord, axis=None):
    def norm_of_vector(x):
        return np.linalg.norm(x, ord, axis) * 1.0
    return norm_of_vector


@pytest.mark.parametrize("ord", VECTOR_ORDS, ids=repr)
def test_vector_norm_of_every_order(ord):
    v = np.array([0.7, -1.9, 0.4, 2.6, -1.1])
    check_case(_vector(ord), (v,), 0, ("grad", "jvp", "hvp"), rtol=1e-5, atol=1e-6)
    rows = rng.normal(size=(3, 4)) + np.arange(12).reshape(3, 4) * 0.05  # no ties in |x|
    check_case(lambda x: np.sum(np.linalg.norm(x, ord, axis=1) ** 2), (rows,), 0, ("grad", "jvp"), 1e-5, 1e-6)


@pytest.mark.parametrize("ord", MATRIX_ORDS, ids=repr)
def test_matrix_norm_of_every_order(ord):
    m = np.array([[1.2, -0.4, 2.1], [0.3, 1.75, -0.9], [-1.45, 0.6, 0.8], [0.2, -2.2, 0.5]])  # no ties in row or column sums
    modes = ("grad", "jvp") if ord in SVD_ORDS else ("grad", "jvp", "hvp")
    check_case(lambda x: np.linalg.norm(x, ord), (m,), 0, modes, rtol=1e-5, atol=1e-6)
    stack = np.stack([m, m[::-1] * 0.7 + 0.1])  # (2, 4, 3): the norm of each matrix over axes (1, 2)
    check_case(lambda x: np.sum(np.linalg.norm(x, ord, axis=(1, 2)) ** 2), (stack,), 0, ("grad", "jvp"), 1e-5, 1e-6)
    check_case(lambda x: np.sum(np.linalg.norm(x, ord, axis=(2, 1), keepdims=True) * x), (stack,), 0, ("grad",),
               1e-5, 1e-6)


def test_unique_gives_a_repeated_value_s_adjoint_to_its_first_occurrence():
    def weighted_distinct(x):
        return np.sum(np.unique(x) ** 2 * np.arange(3.0))

    x = np.array([2.0, 1.0, 2.0, 3.0, 1.0])  # unique [1, 2, 3]; first occurrences at 1, 0, 3
    np.testing.assert_allclose(s2sad.grad(weighted_distinct)(x), [4.0, 0.0, 0.0, 12.0, 0.0])
    _, tangent = s2sad.jvp(weighted_distinct)(x, np.array([1.0, 10.0, 100.0, 1000.0, 10000.0]))
    np.testing.assert_allclose(tangent, 4.0 * 1.0 + 12.0 * 1000.0)


def sum_rounded(x):
    return np.sum(x, dtype=int) * 1.0


def running_sum_rounded(x):
    return np.cumsum(x, dtype=np.int64)[-1] * 1.0


def add_reduce_rounded(x):
    return np.add.reduce(x, dtype=np.int32) * 1.0


@pytest.mark.parametrize("f", [sum_rounded, running_sum_rounded, add_reduce_rounded], ids=lambda f: f.__name__)
@pytest.mark.parametrize("transform", ["grad", "jvp"])
def test_a_reduction_to_an_integer_dtype_is_refused(f, transform):
    # np.sum(x, dtype=int) rounds every entry: its derivative is 0, and the rules gave 1 (that of the
    # float sum) for every entry
    x = np.array([0.4, 1.7, 2.2])
    with pytest.raises(s2sad.NoDerivativeError, match="rounds its input"):
        if transform == "grad":
            s2sad.grad(f)(x)
        else:
            s2sad.jvp(f)(x, np.ones(3))


def test_a_reduction_to_a_float_dtype_is_differentiated():
    def mean32(x):
        return np.mean(x, dtype=np.float32) + np.sum(x, dtype=np.float64)

    np.testing.assert_allclose(s2sad.grad(mean32)(np.array([0.4, 1.7, 2.2])), [4.0 / 3.0] * 3, rtol=1e-6)
