"""Rules for statistics: np.quantile and np.percentile (the default linear method), np.cov and
np.corrcoef.

Keywords a rule does not implement are not parameters of its template, so a call passing them is
refused when the function is transformed: ``out=``, ``overwrite_input=`` (NumPy may then sort the
input in place), ``weights=`` of quantile; ``fweights=``, ``aweights=``, ``dtype=`` of cov.
``method=`` other than "linear" is refused when the derivative runs (NoDerivativeError).
"""

from __future__ import annotations

import math

import numpy as np

from ..runtime import zeros_like
from .registry import adjoint, nondifferentiable, tangent


# ---------------------------------------------------------------------------
# Helpers (copied into exported modules; numpy only)
# ---------------------------------------------------------------------------


def _reduced_axes(a, axis):
    ndim = np.ndim(a)
    if axis is None:
        return tuple(range(ndim))
    return tuple(sorted(ax % ndim for ax in (axis if isinstance(axis, tuple) else (axis,))))


def linear_quantile_count(a, axis, method):
    """The number of entries each quantile of `a` over `axis` is taken from; refuses a method other
    than the default linear interpolation (NotImplementedError, reported as NoDerivativeError)."""
    if method != "linear":
        raise NotImplementedError(
            f"s2sad: the derivative of np.quantile/np.percentile is implemented for method='linear' only, "
            f"not {method!r}; use the default method, or np.sort and indexing"
        )
    return math.prod(np.shape(a)[ax] for ax in _reduced_axes(a, axis))


def lower_rank(h, n):
    """The rank (0-based, as a float) of the lower of the two order statistics the linear method
    interpolates between at position h = (n - 1) q: floor(h), at most n - 2, so that q = 1 takes the
    slope of the last interval."""
    return np.clip(np.floor(h), 0, max(n - 2, 0))


def order_statistic_weights(a, rank, axis):
    """W with shape ``np.shape(rank) + np.shape(a)``: for each rank r (an integer-valued float), 1/m on
    the m entries of each slice of `a` along `axis` (None: all; an int or a tuple) that are equal to
    the slice's r-th smallest entry, 0 elsewhere. Ties share evenly, as for np.max."""
    a = np.asarray(a)
    rank = np.asarray(rank).astype(int)
    axes = _reduced_axes(a, axis)
    ndim, kept = a.ndim, a.ndim - len(axes)
    moved = np.moveaxis(a, axes, tuple(range(kept, ndim)))
    grouped = np.reshape(moved, moved.shape[:kept] + (-1,))  # (rest..., n)
    values = np.take(np.sort(grouped, -1), rank, axis=-1)  # (rest..., ranks...)
    values = np.moveaxis(values, tuple(range(kept, values.ndim)), tuple(range(rank.ndim)))  # (ranks..., rest...)
    hit = grouped == np.expand_dims(values, -1)
    weights = np.reshape(hit / np.sum(hit, -1, keepdims=True), rank.shape + moved.shape)
    return np.moveaxis(weights, tuple(rank.ndim + d for d in range(kept, ndim)), tuple(rank.ndim + d for d in axes))


def quantile_layout(q, a, axis):
    """(result shape with the reduced axes kept as 1, the axes of `a`'s entries in q's weights, the axes
    after q's): how a quantile's adjoint lines up with ``q``'s shape followed by ``a``'s."""
    qdim = np.ndim(q)
    axes = _reduced_axes(a, axis)
    kept = np.shape(q) + tuple(1 if d in axes else n for d, n in enumerate(np.shape(a)))
    return kept, tuple(qdim + d for d in axes), tuple(range(qdim, qdim + np.ndim(a)))


def leading_axes(q):
    """The axes of q's own shape, at the front of a weights array."""
    return tuple(range(np.ndim(q)))


def trailing_ones(q, a):
    """q's shape followed by a 1 per axis of `a`: q broadcast against weights shaped like q then a."""
    return np.shape(q) + (1,) * np.ndim(a)


nondifferentiable(linear_quantile_count, lower_rank, order_statistic_weights, quantile_layout, leading_axes,
                  trailing_ones)


# ---------------------------------------------------------------------------
# Quantiles: with n entries, h = (n - 1) q, lo = floor(h), y = (1 - (h - lo)) x_(lo) + (h - lo) x_(lo+1)
# (x_(k) the k-th smallest): dy/dx_(lo) = 1 - (h - lo), dy/dx_(lo+1) = h - lo,
# dy/dq = (n - 1) (x_(lo+1) - x_(lo)) (for percentiles, q / 100 in place of q).
# ---------------------------------------------------------------------------


@adjoint(np.quantile)
def quantile(y, a, q, axis=None, *, method="linear", keepdims=False):
    """Linear method only (others refused); differentiable in a and in q. Ties among the order
    statistics share evenly. out=, overwrite_input= and weights= are refused."""
    # see the comment above
    n = linear_quantile_count(a, axis, method)
    h = (n - 1) * np.asarray(q)
    lo = lower_rank(h, n)
    w_lo = order_statistic_weights(a, lo, axis)
    w_hi = order_statistic_weights(a, np.minimum(lo + 1, n - 1), axis)
    layout = quantile_layout(q, a, axis)
    g = np.reshape(y_bar, layout[0])
    frac = np.reshape(h - lo, trailing_ones(q, a))
    a_bar = np.sum(g * ((1.0 - frac) * w_lo + frac * w_hi), leading_axes(q))
    q_bar = np.reshape(np.sum(g * (n - 1) * np.sum((w_hi - w_lo) * a, layout[1], keepdims=True), layout[2]),
                       np.shape(q))


@tangent(np.quantile)
def quantile_tangent(y, a, q, axis=None, *, method="linear", keepdims=False):
    n = linear_quantile_count(a, axis, method)
    h = (n - 1) * np.asarray(q)
    lo = lower_rank(h, n)
    w_lo = order_statistic_weights(a, lo, axis)
    w_hi = order_statistic_weights(a, np.minimum(lo + 1, n - 1), axis)
    layout = quantile_layout(q, a, axis)
    frac = np.reshape(h - lo, trailing_ones(q, a))
    y_dot = np.reshape(np.sum(((1.0 - frac) * w_lo + frac * w_hi) * a_dot, layout[1], keepdims=True), np.shape(y)) + (
        np.reshape(np.reshape(q_dot, trailing_ones(q, a)) * (n - 1) * np.sum((w_hi - w_lo) * a, layout[1], keepdims=True),
                   np.shape(y)))


@adjoint(np.percentile)
def percentile(y, a, q, axis=None, *, method="linear", keepdims=False):
    """np.quantile of q / 100: linear method only (others refused); differentiable in a and in q."""
    # see the comment above np.quantile's rule; dh/dq = (n - 1) / 100
    n = linear_quantile_count(a, axis, method)
    h = (n - 1) * (np.asarray(q) / 100.0)
    lo = lower_rank(h, n)
    w_lo = order_statistic_weights(a, lo, axis)
    w_hi = order_statistic_weights(a, np.minimum(lo + 1, n - 1), axis)
    layout = quantile_layout(q, a, axis)
    g = np.reshape(y_bar, layout[0])
    frac = np.reshape(h - lo, trailing_ones(q, a))
    a_bar = np.sum(g * ((1.0 - frac) * w_lo + frac * w_hi), leading_axes(q))
    q_bar = np.reshape(np.sum(g * ((n - 1) / 100.0) * np.sum((w_hi - w_lo) * a, layout[1], keepdims=True), layout[2]),
                       np.shape(q))


@tangent(np.percentile)
def percentile_tangent(y, a, q, axis=None, *, method="linear", keepdims=False):
    n = linear_quantile_count(a, axis, method)
    h = (n - 1) * (np.asarray(q) / 100.0)
    lo = lower_rank(h, n)
    w_lo = order_statistic_weights(a, lo, axis)
    w_hi = order_statistic_weights(a, np.minimum(lo + 1, n - 1), axis)
    layout = quantile_layout(q, a, axis)
    frac = np.reshape(h - lo, trailing_ones(q, a))
    y_dot = np.reshape(np.sum(((1.0 - frac) * w_lo + frac * w_hi) * a_dot, layout[1], keepdims=True), np.shape(y)) + (
        np.reshape(np.reshape(q_dot, trailing_ones(q, a)) * ((n - 1) / 100.0)
                   * np.sum((w_hi - w_lo) * a, layout[1], keepdims=True), np.shape(y)))


# ---------------------------------------------------------------------------
# Covariance and correlation. The variables are the rows of X (m's, then y's; columns for
# rowvar=False), N observations each; with Xc = X minus each row's mean,
#   C = Xc Xc^T / d,   d = N - ddof (ddof: 1, or 0 with bias=True)
#   dC = (dX Xc^T + Xc dX^T) / d  (Xc's rows sum to zero, so centering dX changes nothing)
#   X_bar = (C_bar + C_bar^T) Xc / d
# Correlation R = D C D, D = diag(C_ii^-1/2) (the scale d cancels; NumPy clips R to [-1, 1], which
# only the diagonal, where dR = 0, reaches):
#   dR_ij = dC_ij / (s_i s_j) - R_ij (dC_ii / (2 C_ii) + dC_jj / (2 C_jj)),   s_i = C_ii^1/2
#   C_bar = R_bar / (s s^T) - diag(sum_j (R_bar_ij + R_bar_ji) R_ij / (2 C_ii))
# ---------------------------------------------------------------------------


def variables_in_columns(v, rowvar, first=False):
    """Whether np.cov reads the variables of `v` from its columns, as NumPy does: rowvar=False and, for
    its first argument (`first`), v 2-D; for y, v with more than one row (a 1-D v is one row)."""
    if first:
        return not rowvar and np.ndim(v) != 1
    return not rowvar and np.shape(np.atleast_2d(v))[0] != 1


def cov_divisor(x, bias, ddof):
    """N - ddof for the (variables, observations) array x (ddof None: 1, or 0 with bias=True)."""
    return np.shape(x)[1] - (ddof if ddof is not None else 0 if bias else 1)


def selection(x, start, count):
    """The (rows of x, count) 0/1 matrix that places `count` rows at row `start`."""
    return np.eye(np.shape(x)[0], count, -start)


def plus_transpose(t):
    """t + t^T for a square matrix t (linear: its own transpose is its adjoint)."""
    return t + np.transpose(t)


nondifferentiable(variables_in_columns, cov_divisor, selection)


@adjoint(plus_transpose)
def plus_transpose_adjoint(y, t):
    t_bar = plus_transpose(y_bar)


@tangent(plus_transpose)
def plus_transpose_tangent(y, t):
    y_dot = plus_transpose(t_dot)


@adjoint(np.cov)
def cov(c, m, y=None, rowvar=True, bias=False, ddof=None):
    """Differentiable in m and y. fweights=, aweights= and dtype= are refused."""
    # see the comment above
    xm = np.transpose(np.atleast_2d(m)) if variables_in_columns(m, rowvar, True) else np.atleast_2d(m)
    x = xm if y is None else np.concatenate(
        [xm, np.transpose(np.atleast_2d(y)) if variables_in_columns(y, rowvar) else np.atleast_2d(y)], 0)
    xc = x - np.mean(x, 1, keepdims=True)
    g = np.reshape(c_bar, (np.shape(x)[0], np.shape(x)[0]))
    x_bar = np.matmul(g + np.transpose(g), xc) / cov_divisor(x, bias, ddof)
    m_bar = np.reshape(
        np.transpose(x_bar[:np.shape(xm)[0]]) if variables_in_columns(m, rowvar, True) else x_bar[:np.shape(xm)[0]],
        np.shape(m))
    y_bar = np.reshape(
        np.transpose(x_bar[np.shape(xm)[0]:]) if variables_in_columns(y, rowvar) else x_bar[np.shape(xm)[0]:],
        np.shape(y))


@tangent(np.cov)
def cov_tangent(c, m, y=None, rowvar=True, bias=False, ddof=None):
    xm = np.transpose(np.atleast_2d(m)) if variables_in_columns(m, rowvar, True) else np.atleast_2d(m)
    x = xm if y is None else np.concatenate(
        [xm, np.transpose(np.atleast_2d(y)) if variables_in_columns(y, rowvar) else np.atleast_2d(y)], 0)
    xc = x - np.mean(x, 1, keepdims=True)
    d = cov_divisor(x, bias, ddof)
    # dC = (E dX Xc^T + its transpose) / d, E placing m's (y's) rows among all the variables
    c_dot = np.reshape(plus_transpose(np.matmul(np.matmul(
        selection(x, 0, np.shape(xm)[0]),
        np.transpose(np.atleast_2d(m_dot)) if variables_in_columns(m, rowvar, True) else np.atleast_2d(m_dot)),
        np.transpose(xc))) / d, np.shape(c)) + np.reshape(plus_transpose(np.matmul(np.matmul(
            selection(x, np.shape(xm)[0], np.shape(x)[0] - np.shape(xm)[0]),
            np.transpose(np.atleast_2d(y_dot)) if variables_in_columns(y, rowvar) else np.atleast_2d(y_dot)),
            np.transpose(xc))) / d, np.shape(c))


@adjoint(np.corrcoef)
def corrcoef(r, x, y=None, rowvar=True):
    """Differentiable in x and y. dtype= is refused."""
    # see the comment above np.cov's rule
    xm = np.transpose(np.atleast_2d(x)) if variables_in_columns(x, rowvar, True) else np.atleast_2d(x)
    v = xm if y is None else np.concatenate(
        [xm, np.transpose(np.atleast_2d(y)) if variables_in_columns(y, rowvar) else np.atleast_2d(y)], 0)
    vc = v - np.mean(v, 1, keepdims=True)
    cv = np.matmul(vc, np.transpose(vc))
    ss = np.sqrt(np.outer(np.diagonal(cv), np.diagonal(cv)))
    g = np.reshape(r_bar, np.shape(cv))
    cv_bar = g / ss - np.diag(np.sum((g + np.transpose(g)) * (cv / ss), 1) / (2.0 * np.diagonal(cv)))
    v_bar = np.matmul(cv_bar + np.transpose(cv_bar), vc)
    x_bar = np.reshape(
        np.transpose(v_bar[:np.shape(xm)[0]]) if variables_in_columns(x, rowvar, True) else v_bar[:np.shape(xm)[0]],
        np.shape(x))
    y_bar = np.reshape(
        np.transpose(v_bar[np.shape(xm)[0]:]) if variables_in_columns(y, rowvar) else v_bar[np.shape(xm)[0]:],
        np.shape(y))


@tangent(np.corrcoef)
def corrcoef_tangent(r, x, y=None, rowvar=True):
    xm = np.transpose(np.atleast_2d(x)) if variables_in_columns(x, rowvar, True) else np.atleast_2d(x)
    v = xm if y is None else np.concatenate(
        [xm, np.transpose(np.atleast_2d(y)) if variables_in_columns(y, rowvar) else np.atleast_2d(y)], 0)
    vc = v - np.mean(v, 1, keepdims=True)
    cv = np.matmul(vc, np.transpose(vc))
    ss = np.sqrt(np.outer(np.diagonal(cv), np.diagonal(cv)))
    # with dC = B + B^T (B = E dV Vc^T): dR = T + T^T, T = B / ss - R diag(B)_i / C_ii
    r_dot = np.reshape(plus_transpose(
        np.matmul(np.matmul(selection(v, 0, np.shape(xm)[0]),
                            np.transpose(np.atleast_2d(x_dot)) if variables_in_columns(x, rowvar, True)
                            else np.atleast_2d(x_dot)), np.transpose(vc)) / ss
        - cv / ss * np.expand_dims(np.diagonal(
            np.matmul(np.matmul(selection(v, 0, np.shape(xm)[0]),
                                np.transpose(np.atleast_2d(x_dot)) if variables_in_columns(x, rowvar, True)
                                else np.atleast_2d(x_dot)), np.transpose(vc))) / np.diagonal(cv), 1)),
        np.shape(r)) + np.reshape(plus_transpose(
            np.matmul(np.matmul(selection(v, np.shape(xm)[0], np.shape(v)[0] - np.shape(xm)[0]),
                                np.transpose(np.atleast_2d(y_dot)) if variables_in_columns(y, rowvar)
                                else np.atleast_2d(y_dot)), np.transpose(vc)) / ss
            - cv / ss * np.expand_dims(np.diagonal(
                np.matmul(np.matmul(selection(v, np.shape(xm)[0], np.shape(v)[0] - np.shape(xm)[0]),
                                    np.transpose(np.atleast_2d(y_dot)) if variables_in_columns(y, rowvar)
                                    else np.atleast_2d(y_dot)), np.transpose(vc))) / np.diagonal(cv), 1)),
            np.shape(r))
