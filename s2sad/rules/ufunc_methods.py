"""Rules for the reductions and scans of ufuncs: ``np.add.reduce``, ``np.multiply.reduce``,
``np.maximum.reduce``, ``np.minimum.reduce``, ``np.logaddexp.reduce``, ``np.logaddexp2.reduce``,
and ``np.add.accumulate``, ``np.multiply.accumulate``, ``np.maximum.accumulate``,
``np.minimum.accumulate``.

A rule is keyed by the bound method (``np.add.reduce == np.add.reduce``, so the registry finds
it). The reductions are the functions of `reductions` with NumPy's default ``axis=0`` instead of
None; ``out=``, ``initial=`` and ``where=`` are refused (they are not parameters of the templates),
and ``keepdims`` is keyword-only, so a positional ``out`` never binds to it.
"""

from __future__ import annotations

import numpy as np

from ..runtime import unreduce
from .reductions import (first_order_at_zeros, integer_dtype_refused, lower_triangle, products_of_the_others,
                         quotients_are_finite, running_products_are_normal, running_products_bar, running_products_dot)
from .registry import adjoint, nondifferentiable, tangent


# ---------------------------------------------------------------------------
# Helpers (copied into exported modules; numpy only)
# ---------------------------------------------------------------------------


def _runs(y, axis, first):
    """For each position along `axis`, the index where its run of equal values of `y` starts
    (`first`) or ends; a run is a stretch of equal neighbours along `axis`."""
    y = np.asarray(y)
    axis = axis % y.ndim
    n = y.shape[axis]
    index = np.reshape(np.arange(n), (n,) + (1,) * (y.ndim - axis - 1))
    edge = np.ones(y.shape[:axis] + (1,) + y.shape[axis + 1:], dtype=bool)
    changes = np.diff(y, axis=axis) != 0
    if first:  # a run starts where the value differs from the one before
        starts = np.where(np.concatenate([edge, changes], axis), index, 0)
        return np.maximum.accumulate(starts, axis)
    ends = np.where(np.concatenate([changes, edge], axis), index, n - 1)
    return np.flip(np.minimum.accumulate(np.flip(ends, axis), axis), axis)


def run_starts(y, axis):
    """The index along `axis` where each entry's run of equal values of `y` starts."""
    return _runs(y, axis, True)


def run_ends(y, axis):
    """The index along `axis` where each entry's run of equal values of `y` ends."""
    return _runs(y, axis, False)


def scan_axis(axis):
    """The axis of a ufunc's accumulate: NumPy takes an int or a tuple of one int."""
    return axis[0] if isinstance(axis, tuple) else axis


nondifferentiable(run_starts, run_ends, scan_axis)


# ---------------------------------------------------------------------------
# Reductions
# ---------------------------------------------------------------------------


@adjoint(np.add.reduce)
def add_reduce(y, array, axis=0, dtype=None, *, keepdims=False):
    """axis defaults to 0, as in NumPy; initial= and where= are refused."""
    y_bar = y_bar if dtype is None else y_bar * integer_dtype_refused(dtype)
    # d/da_i sum(a) = 1
    array_bar = unreduce(y_bar, array, axis, keepdims)


@tangent(np.add.reduce)
def add_reduce_tangent(y, array, axis=0, dtype=None, *, keepdims=False):
    y_dot = (1.0 if dtype is None else integer_dtype_refused(dtype)) * (np.sum(array_dot, axis, keepdims=keepdims))


@adjoint(np.multiply.reduce)
def multiply_reduce(y, array, axis=0, dtype=None, *, keepdims=False):
    """As np.prod: the product of the other entries, exact at zeros and where the product under- or
    overflows. Second derivatives at an input with an exact zero are refused."""
    y_bar = y_bar if dtype is None else y_bar * integer_dtype_refused(dtype)
    # d/da_i prod(a) = prod_{j != i} a_j
    array_bar = first_order_at_zeros(
        unreduce(y_bar, array, axis, keepdims) * products_of_the_others(array, axis), array, "np.multiply.reduce")


@tangent(np.multiply.reduce)
def multiply_reduce_tangent(y, array, axis=0, dtype=None, *, keepdims=False):
    y_dot = (1.0 if dtype is None else integer_dtype_refused(dtype)) * (
        first_order_at_zeros(np.sum(array_dot * products_of_the_others(array, axis), axis, keepdims=keepdims),
                                 array, "np.multiply.reduce"))


@adjoint(np.maximum.reduce, np.minimum.reduce)
def maximum_reduce(y, array, axis=0, dtype=None, *, keepdims=False):
    """Ties: the adjoint is split evenly among all entries equal to the extreme."""
    y_bar = y_bar if dtype is None else y_bar * integer_dtype_refused(dtype)
    # d/da_i max(a) = [a_i == y] / #{j : a_j == y}
    hit = array == unreduce(y, array, axis, keepdims)
    array_bar = unreduce(y_bar, array, axis, keepdims) * hit / np.sum(hit, axis, keepdims=True)


@tangent(np.maximum.reduce, np.minimum.reduce)
def maximum_reduce_tangent(y, array, axis=0, dtype=None, *, keepdims=False):
    hit = array == unreduce(y, array, axis, keepdims)
    y_dot = (1.0 if dtype is None else integer_dtype_refused(dtype)) * (
        np.sum(array_dot * hit, axis, keepdims=keepdims) / np.sum(hit, axis, keepdims=keepdims))


@adjoint(np.logaddexp.reduce)
def logaddexp_reduce(y, array, axis=0, dtype=None, *, keepdims=False):
    """y = log(sum(exp(a))): the gradient is the softmax exp(a - y)."""
    y_bar = y_bar if dtype is None else y_bar * integer_dtype_refused(dtype)
    # d/da_i log(sum_j exp(a_j)) = exp(a_i) / sum_j exp(a_j) = exp(a_i - y)
    array_bar = unreduce(y_bar, array, axis, keepdims) * np.exp(array - unreduce(y, array, axis, keepdims))


@tangent(np.logaddexp.reduce)
def logaddexp_reduce_tangent(y, array, axis=0, dtype=None, *, keepdims=False):
    y_dot = (1.0 if dtype is None else integer_dtype_refused(dtype)) * (
        np.sum(array_dot * np.exp(array - unreduce(y, array, axis, keepdims)), axis, keepdims=keepdims))


@adjoint(np.logaddexp2.reduce)
def logaddexp2_reduce(y, array, axis=0, dtype=None, *, keepdims=False):
    """y = log2(sum(2**a)): the gradient is 2**(a - y)."""
    y_bar = y_bar if dtype is None else y_bar * integer_dtype_refused(dtype)
    # d/da_i log2(sum_j 2^a_j) = 2^a_i / sum_j 2^a_j = 2^(a_i - y)
    array_bar = unreduce(y_bar, array, axis, keepdims) * np.exp2(array - unreduce(y, array, axis, keepdims))


@tangent(np.logaddexp2.reduce)
def logaddexp2_reduce_tangent(y, array, axis=0, dtype=None, *, keepdims=False):
    y_dot = (1.0 if dtype is None else integer_dtype_refused(dtype)) * (
        np.sum(array_dot * np.exp2(array - unreduce(y, array, axis, keepdims)), axis, keepdims=keepdims))


# ---------------------------------------------------------------------------
# Scans
# ---------------------------------------------------------------------------


@adjoint(np.add.accumulate)
def add_accumulate(y, array, axis=0, dtype=None):
    """As np.cumsum along axis (default 0)."""
    along = scan_axis(axis)
    y_bar = y_bar if dtype is None else y_bar * integer_dtype_refused(dtype)
    # y_j = sum_{i <= j} a_i: a_bar_i = sum_{j >= i} y_bar_j (a reversed cumulative sum)
    array_bar = np.flip(np.cumsum(np.flip(y_bar, along), along), along)


@tangent(np.add.accumulate)
def add_accumulate_tangent(y, array, axis=0, dtype=None):
    along = scan_axis(axis)
    y_dot = (1.0 if dtype is None else integer_dtype_refused(dtype)) * (np.cumsum(array_dot, along))


# As np.cumprod along one axis (see the comment above it in `reductions`).


@adjoint(np.multiply.accumulate)
def multiply_accumulate(y, array, axis=0, dtype=None):
    """As np.cumprod along axis (default 0): exact at zeros and where the running product under- or
    overflows. Second derivatives at an input with an exact zero are refused."""
    along = scan_axis(axis)
    y_bar = y_bar if dtype is None else y_bar * integer_dtype_refused(dtype)
    nonzero = np.where(array == 0, 1.0, array)
    q = np.cumprod(nonzero, along)
    array_bar = first_order_at_zeros(
        running_products_bar(y_bar, array, along)
        if running_products_are_normal(q)
        # a_bar_i = sum_{j >= i} y_bar_j prod_{k <= j, k != i} a_k, the products taken without dividing
        else np.moveaxis(np.sum(
            np.expand_dims(np.moveaxis(y_bar, along, -1), -1) * np.where(
                lower_triangle(np.moveaxis(array, along, -1)) == 1,
                products_of_the_others(np.where(lower_triangle(np.moveaxis(array, along, -1)) == 1,
                                                np.expand_dims(np.moveaxis(array, along, -1), -2), 1.0), -1), 0.0),
            -2), -1, along),
        array, "np.multiply.accumulate")


@tangent(np.multiply.accumulate)
def multiply_accumulate_tangent(y, array, axis=0, dtype=None):
    along = scan_axis(axis)
    nonzero = np.where(array == 0, 1.0, array)
    q = np.cumprod(nonzero, along)
    y_dot = (1.0 if dtype is None else integer_dtype_refused(dtype)) * (first_order_at_zeros(
        running_products_dot(array_dot, array, along)
        if running_products_are_normal(q) and quotients_are_finite(array_dot, array)
        # y_dot_j = sum_{i <= j} a_dot_i prod_{k <= j, k != i} a_k
        else np.moveaxis(np.sum(
            np.expand_dims(np.moveaxis(array_dot, along, -1), -2) * np.where(
                lower_triangle(np.moveaxis(array, along, -1)) == 1,
                products_of_the_others(np.where(lower_triangle(np.moveaxis(array, along, -1)) == 1,
                                                np.expand_dims(np.moveaxis(array, along, -1), -2), 1.0), -1), 0.0),
            -1), -1, along),
        array,
        "np.multiply.accumulate",
    ))


# The running maximum y_j = max_{i <= j} a_i. The entries it is equal to, a_i == y_j with i <= j,
# are those of y_j's run (its stretch of equal values of y: y_i <= y_j = a_i <= y_i) where a_i == y_i
# ("hits"). As for np.max, y_j's adjoint is split evenly among them: with c_j the number of hits in
# the run up to j,
#   y_dot_j = sum_{hits i <= j in the run} a_dot_i / c_j
#   a_bar_i = [hit_i] sum_{j >= i in the run} y_bar_j / c_j
# Sums over a run up to j are a cumulative sum minus its value just before the run starts (and
# from i on, a reversed cumulative sum minus its value just after the run ends). The running
# minimum is the same with min.


@adjoint(np.maximum.accumulate, np.minimum.accumulate)
def maximum_accumulate(y, array, axis=0, dtype=None):
    """Ties: each running extreme's adjoint is split evenly among the entries so far equal to it."""
    along = scan_axis(axis)
    y_bar = y_bar if dtype is None else y_bar * integer_dtype_refused(dtype)
    # see the comment above
    hit = array == y
    hits = np.cumsum(hit, along)
    per_hit = y_bar / (hits - np.take_along_axis(hits - hit, run_starts(y, along), along))
    after = np.flip(np.cumsum(np.flip(per_hit, along), along), along)
    array_bar = hit * (after - np.take_along_axis(after - per_hit, run_ends(y, along), along))


@tangent(np.maximum.accumulate, np.minimum.accumulate)
def maximum_accumulate_tangent(y, array, axis=0, dtype=None):
    along = scan_axis(axis)
    hit = array == y
    hits = np.cumsum(hit, along)
    count = hits - np.take_along_axis(hits - hit, run_starts(y, along), along)
    y_dot = (1.0 if dtype is None else integer_dtype_refused(dtype)) * ((
        np.cumsum(hit * array_dot, along)
        - np.take_along_axis(np.cumsum(hit * array_dot, along) - hit * array_dot, run_starts(y, along), along)
    ) / count)
