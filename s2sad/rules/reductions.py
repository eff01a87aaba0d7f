"""Rules for reductions, scans and norms: sum, prod, mean, average, std, var, max,
min, ptp, median, nansum, nanmean, nanmax, nanmin, cumsum, cumprod, diff, trace,
np.linalg.norm, and the fill value of np.full.

A reduction over ``axis`` (None, an int, a negative int or a tuple) with or
without ``keepdims`` sends each element of the input the adjoint of the result
element it was reduced into: ``unreduce(y_bar, a, axis, keepdims)`` spreads
``y_bar`` back over ``a``'s shape. ``out=``, ``where=`` and ``initial=`` are
refused (they are not parameters of the templates), and so is an integer or boolean
``dtype=`` when the derivative runs (it rounds the entries). Parameters that NumPy
accepts positionally only after ``out`` (``keepdims``, ``ddof``) are
keyword-only here, so a positional ``out`` can never bind to them.

The ``ndarray`` methods (``x.sum(axis=0)``, ``x.max()``, ...) reuse these rules
through ``method_mirrors`` at the end of the module.
"""

from __future__ import annotations

import math

import numpy as np

from ..runtime import _is_lazy_array, unbroadcast, unreduce
from .arrays import not_differentiated
from .registry import adjoint, method_mirrors, nondifferentiable, tangent


# ---------------------------------------------------------------------------
# Helpers (copied into exported modules; numpy only)
# ---------------------------------------------------------------------------


def diff_adjoint(g, n, axis):
    """The transpose of ``np.diff(., n, axis)`` applied to `g`.

    ``diff`` is the matrix D (``(D a)_i = a_(i+1) - a_i``) applied n times; its
    transpose is ``(-1)**n`` times the n-th difference of `g` padded with n
    zeros on both ends of `axis`.
    """
    width = [(0, 0)] * np.ndim(g)
    width[axis] = (n, n)
    return (-1) ** n * np.diff(np.pad(g, width), n, axis=axis)


def trace_mask(a, offset, axis1, axis2):
    """A 0/1 array that broadcasts against `a`: 1 on the diagonal ``offset`` of (axis1, axis2)."""
    ndim = np.ndim(a)
    shape = [1] * ndim
    shape[axis1 % ndim] = np.shape(a)[axis1]
    shape[axis2 % ndim] = np.shape(a)[axis2]
    mask = np.eye(np.shape(a)[axis1], np.shape(a)[axis2], k=offset)
    if axis1 % ndim > axis2 % ndim:
        mask = mask.T
    return np.reshape(mask, shape)


def size_of(a):
    """The number of elements of `a`, read from its shape.

    ``np.size`` would do, but Dask does not implement it and computes the whole
    array to answer; the shape of a Dask array is known without computing.
    """
    return math.prod(np.shape(a))


def average_weights_shape(a, axis, weights):
    """The shape np.average gives `weights` to broadcast them against `a`."""
    if np.ndim(weights) == np.ndim(a):
        return np.shape(weights)
    shape = [1] * np.ndim(a)
    shape[axis % np.ndim(a)] = size_of(weights)
    return tuple(shape)


def norm_order(x, ord, axis):
    """The exponent p of the vector norm np.linalg.norm computes, as a float, or nan for a
    matrix norm (2, -2, 'nuc', 1, -1, inf, -inf over two axes; see matrix_norm_direction).

    None, 'fro' and 2 on vectors give 2.0; inf and -inf give +-inf.
    """
    matrix = (axis is None and ord is not None and np.ndim(x) == 2) or (
        axis is not None and np.ndim(axis) == 1 and len(axis) == 2
    )
    if ord is None or ord == "fro":
        return 2.0
    if matrix:
        return np.nan
    return float(ord)


def matrix_norm_direction(x, ord, axis):
    """The gradient of the matrix norm ``np.linalg.norm(x, ord, axis)`` (ord 2, -2, 'nuc', 1, -1,
    inf, -inf; axis None for a 2-D x, or a pair of axes), with x's shape.

    With the SVD x = U S V^T: d(sum of singular values) = U V^T (nuclear norm, x of full rank);
    d(largest singular value) = u_1 v_1^T (ord 2), d(smallest) = u_n v_n^T (ord -2), each where
    that singular value is simple. ord 1 (inf) is the largest column (row) sum of |x|: its gradient
    is sign(x) on that column (row); ties split evenly, as for the vector inf-norm.
    """
    axes = (-2, -1) if axis is None else tuple(int(a) for a in axis)
    m = np.moveaxis(x, axes, (-2, -1))
    if isinstance(ord, str) or abs(ord) == 2:
        u, _, vt = np.linalg.svd(m, full_matrices=False)
        if isinstance(ord, str):  # 'nuc'
            d = u @ vt
        else:
            k = 0 if ord == 2 else np.shape(u)[-1] - 1
            d = u[..., :, k:k + 1] @ vt[..., k:k + 1, :]
    else:
        summed, across = (-2, -1) if abs(ord) == 1 else (-1, -2)  # ord 1: column sums; inf: row sums
        sums = np.sum(np.abs(m), axis=summed, keepdims=True)
        best = np.max(sums, axis=across, keepdims=True) if ord > 0 else np.min(sums, axis=across, keepdims=True)
        hit = sums == best
        d = np.sign(m) * hit / np.sum(hit, axis=across, keepdims=True)
    return np.moveaxis(d, (-2, -1), axes)


def matrix_norm_second_order(t, ord):
    """The derivative of matrix_norm_direction applied to `t`: zero for ord 1, -1, inf, -inf
    (the direction is a sign pattern, constant near x); not implemented for the SVD norms."""
    if isinstance(ord, str) or abs(ord) == 2:
        raise NotImplementedError(
            f"s2sad: the second derivative of the matrix norm np.linalg.norm(x, ord={ord!r}) is not "
            "implemented (only its gradient is); write it with np.linalg.svd to differentiate it twice."
        )
    return np.zeros(np.shape(t))


def integer_dtype_refused(dtype):
    """1.0 for a floating dtype; a NotImplementedError (NoDerivativeError at the user's line) for an
    integer or boolean one, which rounds every entry: the result is piecewise constant, and the rule's
    derivative (that of the float computation) would be wrong."""
    if not np.issubdtype(np.dtype(dtype), np.inexact):
        raise NotImplementedError(
            f"s2sad: a reduction with dtype={np.dtype(dtype).name} rounds its input, so it has no useful "
            "derivative (zero almost everywhere); drop dtype= or round explicitly (np.floor, astype) outside "
            "what you differentiate"
        )
    return 1.0


nondifferentiable(trace_mask, size_of, average_weights_shape, norm_order, matrix_norm_second_order, integer_dtype_refused)


@adjoint(matrix_norm_direction)
def matrix_norm_direction_adjoint(y, x, ord, axis):
    x_bar = matrix_norm_second_order(y_bar, ord)


@tangent(matrix_norm_direction)
def matrix_norm_direction_tangent(y, x, ord, axis):
    y_dot = matrix_norm_second_order(x_dot, ord)


@adjoint(diff_adjoint)
def diff_adjoint_adjoint(y, g, n, axis):
    # diff_adjoint is D^T (linear in g); its transpose is D = np.diff
    g_bar = np.diff(y_bar, n, axis=axis)


@tangent(diff_adjoint)
def diff_adjoint_tangent(y, g, n, axis):
    y_dot = diff_adjoint(g_dot, n, axis)


# ---------------------------------------------------------------------------
# Sums and products
# ---------------------------------------------------------------------------


@adjoint(np.sum)
def sum_(y, a, axis=None, dtype=None, *, keepdims=False):
    y_bar = y_bar if dtype is None else y_bar * integer_dtype_refused(dtype)
    # d/da_i sum(a) = 1: every element receives the adjoint of the sum it went into
    a_bar = unreduce(y_bar, a, axis, keepdims)


@tangent(np.sum)
def sum_tangent(y, a, axis=None, dtype=None, *, keepdims=False):
    y_dot = (1.0 if dtype is None else integer_dtype_refused(dtype)) * (np.sum(a_dot, axis, keepdims=keepdims))


@adjoint(np.nansum)
def nansum(y, a, axis=None, dtype=None, *, keepdims=False):
    """nan entries receive no gradient."""
    y_bar = y_bar if dtype is None else y_bar * integer_dtype_refused(dtype)
    # d/da_i nansum(a) = 1 where a_i is not nan, else 0
    a_bar = np.where(np.isnan(a), 0.0, unreduce(y_bar, a, axis, keepdims))


@tangent(np.nansum)
def nansum_tangent(y, a, axis=None, dtype=None, *, keepdims=False):
    y_dot = (1.0 if dtype is None else integer_dtype_refused(dtype)) * (
        np.sum(np.where(np.isnan(a), 0.0, a_dot), axis, keepdims=keepdims))


# The product of all entries but a_i, prod_{j != i} a_j, is the product of the entries before i
# times the product of those after it: two exclusive running products, no division. So it is exact
# with zeros, and where the whole product underflows while the others' does not (y / a_0 gave 0 for
# the 0.95 of [-5e-324, -0.95, -1.0], found by the generated programs). Differentiating it again divides by a_m (below), exact where no
# entry is zero; at an exact zero d others_i / d a_m is lost. So the first derivative is wrapped in
# `first_order_at_zeros`, the identity, whose own derivative (any second derivative of prod or
# cumprod) refuses an input with an exact zero instead.


def _group_last(a, axis):
    """`a` with the reduced axes (all for None) moved last and merged: (rest..., k); and the way back."""
    a = np.asarray(a)
    axes = tuple(range(a.ndim)) if axis is None else tuple(
        ax % a.ndim for ax in (axis if isinstance(axis, tuple) else (axis,)))
    last = tuple(range(a.ndim - len(axes), a.ndim))
    moved = np.moveaxis(a, axes, last)
    rest = moved.shape[:a.ndim - len(axes)]
    grouped = np.reshape(moved, rest + (math.prod(moved.shape[len(rest):]),))
    return grouped, lambda b: np.moveaxis(np.reshape(b, moved.shape), last, axes)


def products_of_the_others(a, axis):
    """For each entry a_i, the product of the other entries of its slice along `axis` (all of `a` for
    None; an int or a tuple), computed without dividing: (prod_{j<i} a_j) (prod_{j>i} a_j)."""
    grouped, back = _group_last(a, axis)
    if grouped.shape[-1] == 0:  # empty slices: no entries, nothing to multiply
        return back(grouped.astype(np.result_type(grouped, float)))
    ones = np.ones(grouped.shape[:-1] + (1,), dtype=np.result_type(grouped, float))
    before = np.concatenate([ones, np.cumprod(grouped[..., :-1], -1)], -1)
    after = np.flip(np.concatenate([ones, np.cumprod(np.flip(grouped, -1)[..., :-1], -1)], -1), -1)
    return back(before * after)


def slice_sums(values, a, axis):
    """sum over each slice of `values`, broadcast back to `a`'s shape."""
    grouped, back = _group_last(values, axis)
    return back(np.broadcast_to(np.sum(grouped, -1, keepdims=True), grouped.shape))


def sums_of_the_others(values, a, axis):
    """For each entry, the sum of the other entries of its slice of `values` along `axis` (as in
    `products_of_the_others`): the entries before it plus those after it, never the whole sum less
    the entry, which loses every other term to cancellation when that entry is much the largest."""
    grouped, back = _group_last(values, axis)
    if grouped.shape[-1] == 0:
        return back(grouped)
    zeros = np.zeros(grouped.shape[:-1] + (1,), dtype=np.result_type(grouped, float))
    before = np.concatenate([zeros, np.cumsum(grouped[..., :-1], -1)], -1)
    after = np.flip(np.concatenate([zeros, np.cumsum(np.flip(grouped, -1)[..., :-1], -1)], -1), -1)
    return back(before + after)


def pair_products_times(t, a, axis):
    """For each entry i, sum over the other entries m of its slice of t_m times the product of the
    entries but i and m, computed without dividing (each i multiplies the slice with a_i replaced by
    1): O(n^2) per slice of n, for the inputs where dividing a product of the others is not exact."""
    grouped, back = _group_last(a, axis)
    along, _ = _group_last(t, axis)
    n = grouped.shape[-1]
    if n == 0:
        return back(np.zeros(grouped.shape, dtype=np.result_type(grouped, along, float)))
    diagonal = np.eye(n, dtype=bool)
    pairs = products_of_the_others(np.where(diagonal, 1.0, np.expand_dims(grouped, -2)), -1)  # [..., i, m]
    return back(np.sum(np.where(diagonal, 0.0, pairs) * np.expand_dims(along, -2), -1))


def products_third_order(tangent, like):
    """A third derivative of a product (np.prod, np.cumprod) at an input where the products of the
    other entries under- or overflow: not implemented (a NotImplementedError, reported as a
    NoDerivativeError at the user's line). `tangent` only marks what the call is linear in."""
    raise NotImplementedError(
        "s2sad: the third derivative of a product (np.prod, np.cumprod) where the product of the other entries "
        "under- or overflows is not implemented (the first and second derivatives are exact there)"
    )


nondifferentiable(products_third_order)


@adjoint(products_of_the_others)
def products_of_the_others_adjoint(y, a, axis):
    # d others_i / d a_m = prod_{j != i, m} a_j for m != i (0 for m == i), which is others_i / a_m where
    # a_m != 0 and others_i is a normal float (then a_bar_m = sum_{i != m} y_bar_i others_i / a_m); else
    # the products are taken without dividing (the pairs' matrix is symmetric: its own transpose)
    a_bar = sums_of_the_others(y_bar * y, a, axis) / a if running_products_are_normal(y) \
        else pair_products_times(y_bar, a, axis)


@tangent(products_of_the_others)
def products_of_the_others_tangent(y, a, axis):
    # others_dot_i = sum_{m != i} a_dot_m prod_{j != i, m} a_j = others_i sum_{m != i} a_dot_m / a_m (see above;
    # a_dot_m / a_m can overflow where the products do not: a_m = 1e-310 with others normal)
    y_dot = y * sums_of_the_others(a_dot / a, a, axis) \
        if running_products_are_normal(y) and quotients_are_finite(a_dot, a) else pair_products_times(a_dot, a, axis)


@adjoint(pair_products_times)
def pair_products_times_adjoint(y, t, a, axis):
    # linear in t with a symmetric matrix; in a, a third derivative of the product
    t_bar = pair_products_times(y_bar, a, axis)
    a_bar = products_third_order(y_bar, a)


@tangent(pair_products_times)
def pair_products_times_tangent(y, t, a, axis):
    y_dot = pair_products_times(t_dot, a, axis) + products_third_order(a_dot, y)


@adjoint(sums_of_the_others)
def sums_of_the_others_adjoint(y, values, a, axis):
    # linear in values and symmetric (each entry adds into every other entry of its slice)
    values_bar = sums_of_the_others(y_bar, a, axis)


@tangent(sums_of_the_others)
def sums_of_the_others_tangent(y, values, a, axis):
    y_dot = sums_of_the_others(values_dot, a, axis)


@adjoint(slice_sums)
def slice_sums_adjoint(y, values, a, axis):
    # linear in values and symmetric (each entry adds into every entry of its slice)
    values_bar = slice_sums(y_bar, a, axis)


@tangent(slice_sums)
def slice_sums_tangent(y, values, a, axis):
    y_dot = slice_sums(values_dot, a, axis)


def first_order_at_zeros(value, a, primal):
    """`value`, a derivative of `primal` at `a` that is exact even where `a` has exact zeros; only
    its own derivative is not exact there, and that is refused (see `one_unless_zeros`)."""
    return value


def one_unless_zeros(a, primal):
    """1.0 where no entry of `a` is exactly zero; a NotImplementedError (reported as
    NoDerivativeError at the user's line) otherwise."""
    if np.any(np.asarray(a) == 0):
        raise NotImplementedError(
            f"s2sad: the second derivative of {primal} at an input with an entry exactly 0.0 is not "
            "implemented (the first derivative is exact there); move the point off zero"
        )
    return 1.0


nondifferentiable(one_unless_zeros, note="1.0, or refuses")


@adjoint(first_order_at_zeros)
def first_order_at_zeros_adjoint(y, value, a, primal):
    # the identity in value; its derivative through a is the formula's own (in value)
    value_bar = y_bar * one_unless_zeros(a, primal)


@tangent(first_order_at_zeros)
def first_order_at_zeros_tangent(y, value, a, primal):
    y_dot = value_dot * one_unless_zeros(a, primal)


@adjoint(np.prod)
def prod(y, a, axis=None, dtype=None, *, keepdims=False):
    """Exact where entries are zero and where the product under- or overflows (the product of the
    other entries, not y / a). Second derivatives at an input with an exact zero are refused."""
    y_bar = y_bar if dtype is None else y_bar * integer_dtype_refused(dtype)
    # d/da_i prod(a) = prod_{j != i} a_j
    a_bar = first_order_at_zeros(unreduce(y_bar, a, axis, keepdims) * products_of_the_others(a, axis), a, "np.prod")


@tangent(np.prod)
def prod_tangent(y, a, axis=None, dtype=None, *, keepdims=False):
    y_dot = (1.0 if dtype is None else integer_dtype_refused(dtype)) * (
        first_order_at_zeros(np.sum(a_dot * products_of_the_others(a, axis), axis, keepdims=keepdims), a,
                                 "np.prod"))


@adjoint(np.cumsum)
def cumsum(y, a, axis=None, dtype=None):
    """axis=None scans the flattened array."""
    y_bar = y_bar if dtype is None else y_bar * integer_dtype_refused(dtype)
    # y_j = sum_{i <= j} a_i: a_bar_i = sum_{j >= i} y_bar_j (a reversed cumulative sum)
    a_bar = (
        np.reshape(np.flip(np.cumsum(np.flip(y_bar))), np.shape(a))
        if axis is None
        else np.flip(np.cumsum(np.flip(y_bar, axis), axis), axis)
    )


@tangent(np.cumsum)
def cumsum_tangent(y, a, axis=None, dtype=None):
    y_dot = (1.0 if dtype is None else integer_dtype_refused(dtype)) * (np.cumsum(a_dot, axis))


# cumprod: y_j = prod_{i <= j} a_i, so dy_j/da_i = prod_{k <= j, k != i} a_k for i <= j (else 0).
# That is Q_j / a_i with Q the running product of the nonzero entries and c_j the number of zeros
# up to j:
#   dy_j/da_i = Q_j / a_i   if c_j == 0
#             = Q_j         if c_j == 1 and a_i is that zero
#             = 0           otherwise
# so a_bar_i = revcumsum([c == 0] y_bar Q)_i / a_i for a_i != 0, revcumsum([c == 1] y_bar Q)_i
# for a_i == 0 (only the first zero can have c_j == 1 after it). Dividing is as exact as multiplying
# only while every Q_j is a normal finite number: where a running product underflows (Q_j / a_0 gave
# -1 for the -0.95 of [-5e-324, -0.95, -1.0]: its product 4.94e-324 had lost its digits) or
# overflows, or where a tangent divided by an entry overflows (t_0 / a_0 for t_0 = 1e10, a_0 = 1e-300),
# the rule multiplies instead: for each j, the products of the others among a_0..a_j
# (`products_of_the_others` of the prefix, masked by `lower_triangle`), O(n^2) per slice, only for such
# inputs.


def running_products_are_normal(q):
    """Whether every running product in `q` is a finite normal float (then dividing it by an entry is
    exact to rounding); False when one is zero, subnormal or infinite. A lazy array (Dask) is not
    computed to answer: it takes the division, as before."""
    if _is_lazy_array(q):
        return True
    q = np.asarray(q)
    return bool(np.all(np.isfinite(q) & (np.abs(q) >= np.finfo(np.result_type(q, np.float16)).tiny)))


def quotients_are_finite(t, a):
    """Whether t / a is a finite float wherever `a` is not zero: False where an entry of `a` is so
    small against its t (a subnormal, say) that the quotient overflows, though the products it
    stands for do not. A lazy array (Dask) is not computed to answer: it takes the division."""
    if _is_lazy_array(t) or _is_lazy_array(a):
        return True
    a = np.asarray(a)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return bool(np.all(np.isfinite(np.where(a == 0, 0.0, np.asarray(t) / np.where(a == 0, 1.0, a)))))


def one_unless_quotients_overflow(t, a):
    """1.0 where `quotients_are_finite(t, a)`; a NotImplementedError (reported as NoDerivativeError at
    the user's line) otherwise: the second derivatives of a running product divide by its entries."""
    if not quotients_are_finite(t, a):
        raise NotImplementedError(
            "s2sad: the second derivative of np.cumprod (np.multiply.accumulate) where an entry is so small "
            "against its tangent (a subnormal, say) that their quotient overflows is not implemented; "
            "rescale the input"
        )
    return 1.0


def lower_triangle(m):
    """The (n, n) 0/1 matrix L[j, i] = [i <= j], for the last axis of `m` (length n)."""
    return np.tri(np.shape(m)[-1])


nondifferentiable(running_products_are_normal, quotients_are_finite, lower_triangle)
nondifferentiable(one_unless_quotients_overflow, note="1.0, or refuses")


def exclusive_cumsum(x, axis, reverse):
    """sum_{m < i} x_m along `axis` (reverse: sum_{m > i} x_m), never a cumulative sum less the entry."""
    moved = np.moveaxis(x, axis, -1)  # (no np.asarray: a Dask array stays lazy)
    if reverse:
        moved = np.flip(moved, -1)
    zeros = np.zeros(moved.shape[:-1] + (min(moved.shape[-1], 1),), dtype=np.result_type(moved, float))
    sums = np.concatenate([zeros, np.cumsum(moved[..., :-1], -1)], -1)
    return np.moveaxis(np.flip(sums, -1) if reverse else sums, -1, axis)


def running_products_bar(w, a, axis):
    """The adjoint of np.cumprod(a, axis) applied to `w` by dividing running products (see the comment
    above): exact where they are normal floats, zeros in `a` included."""
    nonzero = np.where(a == 0, 1.0, a)
    q = np.cumprod(nonzero, axis)
    c = np.cumsum(a == 0, axis)
    return np.where(a == 0, np.flip(np.cumsum(np.flip(np.where(c == 1, w * q, 0.0), axis), axis), axis),
                    np.flip(np.cumsum(np.flip(np.where(c == 0, w * q, 0.0), axis), axis), axis) / nonzero)


def running_products_dot(t, a, axis):
    """The tangent of np.cumprod(a, axis) along `t` by dividing running products (see above)."""
    nonzero = np.where(a == 0, 1.0, a)
    q = np.cumprod(nonzero, axis)
    c = np.cumsum(a == 0, axis)
    return q * np.where(c == 0, np.cumsum(t / nonzero, axis),
                        np.where(c == 1, np.cumsum(np.where(a == 0, t, 0.0), axis), 0.0))


# Their derivatives in a (second derivatives of cumprod, where no entry is zero: first_order_at_zeros
# refuses those), with r = a_dot / a, S_i = sum_{j >= i} w_j q_j, and E(x)_i = sum_{m < i} x_m:
#   d running_products_bar_i = sum_{j >= i} w_j sum_{m <= j, m != i} a_dot_m prod_{k <= j, k != i, m} a_k
#                             = (E(r)_i S_i + sum_{m > i} r_m S_m) / a_i
#   d running_products_dot_j  = q_j sum over pairs i != m <= j of (t_i / a_i) r_m
#                             = q_j cumsum(r E(t / a) + (t / a) E(r))_j
# The pairs are summed as such, never as (sum of all) less (the entry's own): with a tiny a_i its own
# term is the largest and the difference lost every other (the hvp of sum(w * cumprod(v)) at
# [1e-300, 1, 1] was 3e284 for -3.4).


@adjoint(exclusive_cumsum)
def exclusive_cumsum_adjoint(y, x, axis, reverse):
    x_bar = exclusive_cumsum(y_bar, axis, not reverse)


@tangent(exclusive_cumsum)
def exclusive_cumsum_tangent(y, x, axis, reverse):
    y_dot = exclusive_cumsum(x_dot, axis, reverse)


@adjoint(running_products_bar)
def running_products_bar_adjoint(y, w, a, axis):
    # linear in w: its transpose is running_products_dot; in a, the transpose of the tangent below
    S = np.flip(np.cumsum(np.flip(w * np.cumprod(a, axis), axis), axis), axis)
    w_bar = running_products_dot(y_bar, a, axis)
    a_bar = (exclusive_cumsum(y_bar * S / a, axis, True) + S * exclusive_cumsum(y_bar / a, axis, False)) / a


@tangent(running_products_bar)
def running_products_bar_tangent(y, w, a, axis):
    S = np.flip(np.cumsum(np.flip(w * np.cumprod(a, axis), axis), axis), axis)
    y_dot = running_products_bar(w_dot, a, axis) + one_unless_quotients_overflow(a_dot, a) * (
        exclusive_cumsum(a_dot / a, axis, False) * S + exclusive_cumsum(a_dot / a * S, axis, True)) / a


@adjoint(running_products_dot)
def running_products_dot_adjoint(y, t, a, axis):
    # linear in t: its transpose is running_products_bar; in a, the transpose of the tangent below
    v = np.flip(np.cumsum(np.flip(y_bar * np.cumprod(a, axis), axis), axis), axis)
    t_bar = running_products_bar(y_bar, a, axis)
    a_bar = (v * exclusive_cumsum(t / a, axis, False) + exclusive_cumsum(v * t / a, axis, True)) / a


@tangent(running_products_dot)
def running_products_dot_tangent(y, t, a, axis):
    y_dot = running_products_dot(t_dot, a, axis) + one_unless_quotients_overflow(a_dot, a) * np.cumprod(a, axis) * (
        np.cumsum(a_dot / a * exclusive_cumsum(t / a, axis, False) + t / a * exclusive_cumsum(a_dot / a, axis, False),
                  axis))


@adjoint(np.cumprod)
def cumprod(y, a, axis=None, dtype=None):
    """Exact where entries are zero and where the running product under- or overflows (then it
    multiplies the other entries, O(n^2) per slice); axis=None scans the flattened array.
    Second derivatives at an input with an exact zero are refused."""
    y_bar = y_bar if dtype is None else y_bar * integer_dtype_refused(dtype)
    # see the comment above
    flat = np.reshape(a, -1) if axis is None else a
    ax = 0 if axis is None else axis
    nonzero = np.where(flat == 0, 1.0, flat)
    q = np.cumprod(nonzero, ax)
    a_bar = first_order_at_zeros(np.reshape(
        running_products_bar(y_bar, flat, ax)
        if running_products_are_normal(q)
        # a_bar_i = sum_{j >= i} y_bar_j prod_{k <= j, k != i} a_k, the products taken without dividing
        else np.moveaxis(np.sum(
            np.expand_dims(np.moveaxis(y_bar, ax, -1), -1) * np.where(
                lower_triangle(np.moveaxis(flat, ax, -1)) == 1,
                products_of_the_others(np.where(lower_triangle(np.moveaxis(flat, ax, -1)) == 1,
                                                np.expand_dims(np.moveaxis(flat, ax, -1), -2), 1.0), -1), 0.0),
            -2), -1, ax),
        np.shape(a)), a, "np.cumprod")


@tangent(np.cumprod)
def cumprod_tangent(y, a, axis=None, dtype=None):
    flat = np.reshape(a, -1) if axis is None else a
    ax = 0 if axis is None else axis
    nonzero = np.where(flat == 0, 1.0, flat)
    q = np.cumprod(nonzero, ax)
    y_dot = (1.0 if dtype is None else integer_dtype_refused(dtype)) * (first_order_at_zeros(
        running_products_dot(np.reshape(a_dot, np.shape(flat)), flat, ax)
        if running_products_are_normal(q) and quotients_are_finite(a_dot, a)
        # y_dot_j = sum_{i <= j} a_dot_i prod_{k <= j, k != i} a_k
        else np.moveaxis(np.sum(
            np.expand_dims(np.moveaxis(np.reshape(a_dot, np.shape(flat)), ax, -1), -2) * np.where(
                lower_triangle(np.moveaxis(flat, ax, -1)) == 1,
                products_of_the_others(np.where(lower_triangle(np.moveaxis(flat, ax, -1)) == 1,
                                                np.expand_dims(np.moveaxis(flat, ax, -1), -2), 1.0), -1), 0.0),
            -1), -1, ax),
        a,
        "np.cumprod",
    ))


@adjoint(np.diff)
def diff(y, a, n=1, axis=-1):
    """prepend= and append= are refused."""
    # y = D^n a along axis (D the first difference): a_bar = (D^T)^n y_bar
    a_bar = diff_adjoint(y_bar, n, axis)


@tangent(np.diff)
def diff_tangent(y, a, n=1, axis=-1):
    y_dot = np.diff(a_dot, n, axis=axis)


@adjoint(np.trace)
def trace(y, a, offset=0, axis1=0, axis2=1, dtype=None):
    y_bar = y_bar if dtype is None else y_bar * integer_dtype_refused(dtype)
    # y = sum_i a[i, i + offset] over (axis1, axis2): d/da is 1 on that diagonal, 0 elsewhere
    a_bar = np.expand_dims(y_bar, (axis1 % np.ndim(a), axis2 % np.ndim(a))) * trace_mask(a, offset, axis1, axis2)


@tangent(np.trace)
def trace_tangent(y, a, offset=0, axis1=0, axis2=1, dtype=None):
    y_dot = (1.0 if dtype is None else integer_dtype_refused(dtype)) * (np.trace(a_dot, offset, axis1, axis2))


# ---------------------------------------------------------------------------
# Means and moments
# ---------------------------------------------------------------------------


@adjoint(np.mean)
def mean(y, a, axis=None, dtype=None, *, keepdims=False):
    y_bar = y_bar if dtype is None else y_bar * integer_dtype_refused(dtype)
    # d/da_i mean(a) = 1 / n, n = number of elements reduced into each result
    # (an empty `a` has an empty gradient; max(., 1) keeps the factor from dividing by zero then)
    a_bar = unreduce(y_bar, a, axis, keepdims) * (size_of(y) / max(size_of(a), 1))


@tangent(np.mean)
def mean_tangent(y, a, axis=None, dtype=None, *, keepdims=False):
    y_dot = (1.0 if dtype is None else integer_dtype_refused(dtype)) * (np.mean(a_dot, axis, keepdims=keepdims))


@adjoint(np.nanmean)
def nanmean(y, a, axis=None, dtype=None, *, keepdims=False):
    """nan entries receive no gradient."""
    y_bar = y_bar if dtype is None else y_bar * integer_dtype_refused(dtype)
    # d/da_i nanmean(a) = 1 / (number of non-nan entries) where a_i is not nan, else 0
    valid = np.logical_not(np.isnan(a))
    a_bar = np.where(valid, unreduce(y_bar, a, axis, keepdims), 0.0) / np.sum(valid, axis, keepdims=True)


@tangent(np.nanmean)
def nanmean_tangent(y, a, axis=None, dtype=None, *, keepdims=False):
    valid = np.logical_not(np.isnan(a))
    y_dot = (1.0 if dtype is None else integer_dtype_refused(dtype)) * (
        np.sum(np.where(valid, a_dot, 0.0), axis, keepdims=keepdims) / np.sum(valid, axis, keepdims=keepdims))


@adjoint(np.average)
def average(y, a, axis=None, weights=None, *, keepdims=False):
    """Differentiable in a and in weights. returned=True is refused."""
    # y = sum(w a) / sum(w): dy/da_i = w_i / sum(w), dy/dw_i = (a_i - y) / sum(w)
    w = 1.0 if weights is None else np.reshape(weights, average_weights_shape(a, axis, weights))
    sw = unreduce(np.sum(np.broadcast_to(w, np.shape(a)), axis, keepdims=keepdims), a, axis, keepdims)
    g = unreduce(y_bar, a, axis, keepdims) / sw
    a_bar = g * w
    weights_bar = np.reshape(unbroadcast(g * (a - unreduce(y, a, axis, keepdims)), w), np.shape(weights))


@tangent(np.average)
def average_tangent(y, a, axis=None, weights=None, *, keepdims=False):
    w = 1.0 if weights is None else np.reshape(weights, average_weights_shape(a, axis, weights))
    sw = np.sum(np.broadcast_to(w, np.shape(a)), axis, keepdims=keepdims)
    y_dot = np.sum(w * a_dot, axis, keepdims=keepdims) / sw + np.sum(
        np.reshape(weights_dot, np.shape(w)) * (a - unreduce(y, a, axis, keepdims)), axis, keepdims=keepdims
    ) / sw


@adjoint(np.var)
def var(y, a, axis=None, dtype=None, *, ddof=0, keepdims=False):
    """ddof is keyword-only; mean= and correction= are refused."""
    y_bar = y_bar if dtype is None else y_bar * integer_dtype_refused(dtype)
    # y = sum((a - m)^2) / (n - ddof): dy/da_i = 2 (a_i - m) / (n - ddof)
    dof = size_of(a) / size_of(y) - ddof
    a_bar = unreduce(y_bar, a, axis, keepdims) * (2.0 / dof) * (a - np.mean(a, axis, keepdims=True))


@tangent(np.var)
def var_tangent(y, a, axis=None, dtype=None, *, ddof=0, keepdims=False):
    dof = size_of(a) / size_of(y) - ddof
    y_dot = (1.0 if dtype is None else integer_dtype_refused(dtype)) * (
        (2.0 / dof) * np.sum((a - np.mean(a, axis, keepdims=True)) * a_dot, axis, keepdims=keepdims))


@adjoint(np.std)
def std(y, a, axis=None, dtype=None, *, ddof=0, keepdims=False):
    """ddof is keyword-only. Where std is 0 (all entries equal) the gradient is taken as 0."""
    y_bar = y_bar if dtype is None else y_bar * integer_dtype_refused(dtype)
    # y = sqrt(var): dy/da_i = (a_i - m) / ((n - ddof) y)   (y replaced by 1 where y == 0)
    dof = size_of(a) / size_of(y) - ddof
    a_bar = unreduce(y_bar / (dof * np.where(y == 0, 1.0, y)), a, axis, keepdims) * (a - np.mean(a, axis, keepdims=True))


@tangent(np.std)
def std_tangent(y, a, axis=None, dtype=None, *, ddof=0, keepdims=False):
    dof = size_of(a) / size_of(y) - ddof
    y_dot = (1.0 if dtype is None else integer_dtype_refused(dtype)) * (
        np.sum((a - np.mean(a, axis, keepdims=True)) * a_dot, axis, keepdims=keepdims) / (
        dof * np.where(y == 0, 1.0, y)
    ))


# ---------------------------------------------------------------------------
# Extremes: max, min, ptp, median (ties split evenly)
# ---------------------------------------------------------------------------
# The weight of a_i is [a_i == y] / (number of entries equal to y in its slice): the
# adjoint of a max or min is shared evenly among all the maximizers (minimizers).


@adjoint(np.max, np.amax, np.min, np.amin, np.nanmax, np.nanmin)
def max_(y, a, axis=None, *, keepdims=False):
    """Ties: the adjoint is split evenly among all entries equal to the extreme.
    nan entries (nanmax, nanmin) receive no gradient."""
    # d/da_i max(a) = [a_i == y] / #{j : a_j == y}
    hit = a == unreduce(y, a, axis, keepdims)
    a_bar = unreduce(y_bar, a, axis, keepdims) * hit / np.sum(hit, axis, keepdims=True)


@tangent(np.max, np.amax, np.min, np.amin, np.nanmax, np.nanmin)
def max_tangent(y, a, axis=None, *, keepdims=False):
    hit = a == unreduce(y, a, axis, keepdims)
    y_dot = np.sum(a_dot * hit, axis, keepdims=keepdims) / np.sum(hit, axis, keepdims=keepdims)


@adjoint(np.ptp)
def ptp(y, a, axis=None, *, keepdims=False):
    """ptp = max - min; ties split evenly among the maximizers (minimizers)."""
    # d ptp/da_i = [a_i == max] / #max - [a_i == min] / #min
    hi = a == np.max(a, axis, keepdims=True)
    lo = a == np.min(a, axis, keepdims=True)
    a_bar = unreduce(y_bar, a, axis, keepdims) * (
        hi / np.sum(hi, axis, keepdims=True) - lo / np.sum(lo, axis, keepdims=True)
    )


@tangent(np.ptp)
def ptp_tangent(y, a, axis=None, *, keepdims=False):
    hi = a == np.max(a, axis, keepdims=True)
    lo = a == np.min(a, axis, keepdims=True)
    y_dot = np.sum(
        a_dot * (hi / np.sum(hi, axis, keepdims=True) - lo / np.sum(lo, axis, keepdims=True)),
        axis,
        keepdims=keepdims,
    )


@adjoint(np.median)
def median(y, a, axis=None, *, keepdims=False):
    """median = (lo + hi) / 2 with lo, hi the middle order statistics (equal for odd counts);
    each gets half the adjoint, split evenly among entries equal to it. overwrite_input is refused."""
    # lo = the largest entry <= y, hi = the smallest entry >= y; dy/dlo = dy/dhi = 1/2
    yk = unreduce(y, a, axis, keepdims)
    at_lo = a == np.max(np.where(a <= yk, a, -np.inf), axis, keepdims=True)
    at_hi = a == np.min(np.where(a >= yk, a, np.inf), axis, keepdims=True)
    a_bar = unreduce(y_bar, a, axis, keepdims) * (
        0.5 * at_lo / np.sum(at_lo, axis, keepdims=True) + 0.5 * at_hi / np.sum(at_hi, axis, keepdims=True)
    )


@tangent(np.median)
def median_tangent(y, a, axis=None, *, keepdims=False):
    yk = unreduce(y, a, axis, keepdims)
    at_lo = a == np.max(np.where(a <= yk, a, -np.inf), axis, keepdims=True)
    at_hi = a == np.min(np.where(a >= yk, a, np.inf), axis, keepdims=True)
    y_dot = np.sum(
        a_dot * (0.5 * at_lo / np.sum(at_lo, axis, keepdims=True) + 0.5 * at_hi / np.sum(at_hi, axis, keepdims=True)),
        axis,
        keepdims=keepdims,
    )


# ---------------------------------------------------------------------------
# Norms
# ---------------------------------------------------------------------------
# For a vector p-norm y = (sum |x_i|^p)^(1/p):  dy/dx_i = sign(x_i) |x_i|^(p-1) / y^(p-1);
# p = 2 (and Frobenius): x_i / y;  p = +-inf: sign(x_i) on the entries of largest (smallest)
# magnitude, ties split evenly;  p = 0 (a count): 0.


@adjoint(np.linalg.norm)
def norm(y, x, ord=None, axis=None, keepdims=False):
    """Vector norms of any ord, the Frobenius norm, and the matrix norms (see
    matrix_norm_direction). At x = 0 the gradient of the 2-norm is taken as 0; p = +-inf splits
    ties evenly. Not differentiable in ord (a differentiated ord is refused)."""
    # see the comment above
    p = norm_order(x, ord, axis)
    yk = unreduce(y, x, axis, keepdims)
    d = (
        matrix_norm_direction(x, ord, axis)
        if np.isnan(p)
        else x / np.where(yk == 0, 1.0, yk)
        if p == 2
        else (
            np.sign(x) * (np.abs(x) == yk) / np.sum(np.abs(x) == yk, axis, keepdims=True)
            if np.isinf(p)
            else (np.sign(x) * (np.abs(x) / np.where(yk == 0, 1.0, yk)) ** (p - 1) if p != 0 else 0.0 * x)
        )
    )
    x_bar = unreduce(y_bar, x, axis, keepdims) * d
    # d/dp (sum |x|^p)^(1/p) is not zero: refuse a differentiated ord rather than drop it
    ord_bar = not_differentiated(ord, "np.linalg.norm", "ord")


@tangent(np.linalg.norm)
def norm_tangent(y, x, ord=None, axis=None, keepdims=False):
    p = norm_order(x, ord, axis)
    yk = unreduce(y, x, axis, keepdims)
    d = (
        matrix_norm_direction(x, ord, axis)
        if np.isnan(p)
        else x / np.where(yk == 0, 1.0, yk)
        if p == 2
        else (
            np.sign(x) * (np.abs(x) == yk) / np.sum(np.abs(x) == yk, axis, keepdims=True)
            if np.isinf(p)
            else (np.sign(x) * (np.abs(x) / np.where(yk == 0, 1.0, yk)) ** (p - 1) if p != 0 else 0.0 * x)
        )
    )
    y_dot = np.sum(x_dot * d, axis, keepdims=keepdims) + not_differentiated(ord_dot, "np.linalg.norm", "ord")


# ---------------------------------------------------------------------------
# np.full: differentiable in its fill value
# ---------------------------------------------------------------------------


@adjoint(np.full)
def full(y, shape, fill_value, dtype=None, order="C"):
    """Differentiable in fill_value (which may broadcast); not in shape."""
    y_bar = y_bar if dtype is None else y_bar * integer_dtype_refused(dtype)
    # y_i = fill_value (broadcast): fill_value_bar = y_bar summed back to fill_value's shape
    fill_value_bar = unbroadcast(y_bar, fill_value)


@tangent(np.full)
def full_tangent(y, shape, fill_value, dtype=None, order="C"):
    y_dot = (1.0 if dtype is None else integer_dtype_refused(dtype)) * (np.full(np.shape(y), fill_value_dot))


# ---------------------------------------------------------------------------
# np.gradient: linear in f. Along one axis with spacing h (edge_order 1):
#   y_0 = (f_1 - f_0) / h,  y_i = (f_i+1 - f_i-1) / 2h,  y_n-1 = (f_n-1 - f_n-2) / h
# edge_order 2 replaces the ends by y_0 = (-3 f_0 + 4 f_1 - f_2) / 2h, y_n-1 = (3 f_n-1 - 4 f_n-2 + f_n-3) / 2h.
# The adjoint is that matrix's transpose (`gradient_transpose`); the transpose of that is np.gradient.
# ---------------------------------------------------------------------------


def gradient_axis(f, axis):
    """The one axis np.gradient(f, axis=axis) differentiates along (a 1-D f, or one axis); refuses a
    call that returns one array per axis (NotImplementedError, reported as NoDerivativeError)."""
    axes = tuple(range(np.ndim(f))) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
    if len(axes) != 1:
        raise NotImplementedError(
            "s2sad: the derivative of np.gradient is implemented for one axis at a time (a 1-D f, or axis=k); "
            "call np.gradient(f, axis=k) once per axis"
        )
    return axes[0] % np.ndim(f)


def gradient_step(varargs):
    """The spacing h of np.gradient(f, *varargs) along one axis: 1.0, or the one scalar given;
    coordinate arrays are refused (NotImplementedError)."""
    if len(varargs) == 0:
        return 1.0
    if len(varargs) == 1 and np.ndim(varargs[0]) == 0:
        return varargs[0]
    raise NotImplementedError(
        "s2sad: the derivative of np.gradient is implemented for a scalar spacing only, not for coordinate "
        "arrays; pass one number (or use np.diff and divide)"
    )


def gradient_transpose(g, h, axis, edge_order):
    """The transpose of ``np.gradient(., h, axis=axis, edge_order=edge_order)`` applied to `g`."""
    g = np.moveaxis(np.asarray(g, dtype=float), axis, 0)
    out = np.zeros(np.shape(g))
    out[2:] += g[1:-1] / (2.0 * h)
    out[:-2] -= g[1:-1] / (2.0 * h)
    if edge_order == 1:
        out[1] += g[0] / h
        out[0] -= g[0] / h
        out[-1] += g[-1] / h
        out[-2] -= g[-1] / h
    else:
        out[:3] += np.multiply.outer(np.array([-3.0, 4.0, -1.0]) / (2.0 * h), g[0])
        out[-3:] += np.multiply.outer(np.array([1.0, -4.0, 3.0]) / (2.0 * h), g[-1])
    return np.moveaxis(out, 0, axis)


nondifferentiable(gradient_axis, gradient_step)


@adjoint(gradient_transpose)
def gradient_transpose_adjoint(y, g, h, axis, edge_order):
    g_bar = np.gradient(y_bar, h, axis=axis, edge_order=edge_order)
    h_bar = not_differentiated(h, "the derivative of np.gradient", "h")


@tangent(gradient_transpose)
def gradient_transpose_tangent(y, g, h, axis, edge_order):
    y_dot = gradient_transpose(g_dot, h, axis, edge_order) + not_differentiated(h_dot, "the derivative of np.gradient", "h")


@adjoint(np.gradient)
def gradient(y, f, *varargs, axis=None, edge_order=1):
    """One result array: a 1-D f, or one axis (several axes are refused: call it once per axis). The
    spacing is one scalar, not differentiated (coordinate arrays are refused)."""
    # see the comment above
    f_bar = gradient_transpose(y_bar, gradient_step(varargs), gradient_axis(f, axis), edge_order)
    varargs_bar = not_differentiated(varargs, "np.gradient", "varargs")


@tangent(np.gradient)
def gradient_tangent(y, f, *varargs, axis=None, edge_order=1):
    y_dot = np.gradient(f_dot, gradient_step(varargs), axis=gradient_axis(f, axis), edge_order=edge_order) + (
        not_differentiated(varargs_dot, "np.gradient", "varargs"))


# ---------------------------------------------------------------------------
# ndarray methods that mirror these functions
# ---------------------------------------------------------------------------

method_mirrors(
    sum=np.sum,
    prod=np.prod,
    mean=np.mean,
    std=np.std,
    var=np.var,
    max=np.max,
    min=np.min,
    cumsum=np.cumsum,
    cumprod=np.cumprod,
    trace=np.trace,
    clip=np.clip,
    conj=np.conjugate,
    conjugate=np.conjugate,
)
