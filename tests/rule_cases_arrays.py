"""Check cases for the rules in arrays (shapes, data movement, indexing, constructors)
and linalg (products, einsum, numpy.linalg).

Every registered rule appears in at least one case (tests/test_rules.py checks
that). Inputs come from one seeded generator; shapes include broadcasting
operands, negative axes, non-contiguous views, batched matrices, repeated
advanced indices, boolean masks, None/Ellipsis and negative-step slices.
Linear-algebra inputs are well conditioned (A = M M^T + n I for Cholesky and
eigh, distinct eigen/singular values).
"""

from __future__ import annotations

import operator

import numpy as np

from s2sad.check import Case
from s2sad.primitives import Attr, Method, setitem
from s2sad.rules import arrays as ar
from s2sad.rules import linalg as la

rng = np.random.default_rng(1)


def normal(*shape):
    return rng.normal(size=shape)


def strided(array):
    """A non-contiguous view with the same values: every other column of a wider array."""
    wide = np.empty(array.shape[:-1] + (2 * array.shape[-1],))
    wide[..., ::2] = array
    view = wide[..., ::2]
    assert not view.flags.c_contiguous
    return view


def spd(n, *batch):
    """Symmetric positive definite (n x n), well conditioned, distinct eigenvalues."""
    m = rng.normal(size=batch + (n, n))
    return m @ np.swapaxes(m, -1, -2) + n * np.eye(n) + np.diag(np.arange(n) * 0.7)


def well_conditioned(*shape):
    """A random matrix (stack) with singular values bounded away from 0 and distinct."""
    m, n = shape[-2:]
    k = min(m, n)
    u = np.linalg.qr(rng.normal(size=shape[:-2] + (m, m)))[0][..., :k]
    v = np.linalg.qr(rng.normal(size=shape[:-2] + (n, n)))[0][..., :k]
    s = 1.0 + np.arange(k)[::-1] * 0.8 + rng.uniform(0, 0.2, size=k)
    return (u * s) @ np.swapaxes(v, -1, -2)


CASES: list[Case] = []


def add(primal, *args, id="", wrt=None, modes=("adjoint", "tangent"), rtol=1e-5, atol=1e-6, **kwargs):
    CASES.append(Case(primal, args, kwargs, wrt=wrt, id=id or "", modes=modes, rtol=rtol, atol=atol))


# ---------------------------------------------------------------------------
# Reshaping
# ---------------------------------------------------------------------------

add(np.reshape, normal(3, 4), (2, 6), id="np.reshape")
add(np.reshape, normal(3, 4), (-1,), order="F", id="np.reshape-F")
add(np.reshape, strided(normal(2, 3)), shape=(3, 2), id="np.reshape-strided")
add(np.reshape, 1.5, (1, 1), id="np.reshape-float")
add(Method("reshape"), normal(3, 4), 2, 6, id="x.reshape(2,6)")
add(Method("reshape"), normal(3, 4), (6, 2), order="F", id="x.reshape((6,2),F)")
add(np.ravel, normal(3, 4), id="np.ravel")
add(np.ravel, normal(3, 4), "F", id="np.ravel-F")
add(Method("flatten"), normal(2, 3).T, id="x.flatten")
add(Method("ravel"), normal(2, 3), "F", id="x.ravel-F")
add(np.expand_dims, normal(3, 4), (0, -1), id="np.expand_dims")
add(np.expand_dims, 2.0, 0, id="np.expand_dims-float")
add(np.squeeze, normal(3, 1, 4, 1), id="np.squeeze")
add(np.squeeze, normal(3, 1, 4, 1), axis=-1, id="np.squeeze-axis")
add(Method("squeeze"), normal(1, 3), id="x.squeeze")
add(np.atleast_1d, 2.0, id="np.atleast_1d-float")
add(np.atleast_2d, normal(3), id="np.atleast_2d")
add(np.atleast_3d, normal(2, 3), id="np.atleast_3d")
add(np.atleast_2d, normal(3), normal(2, 2), id="np.atleast_2d-two")
add(np.broadcast_to, normal(3), (2, 3), id="np.broadcast_to")
add(np.broadcast_to, normal(3, 1), (2, 3, 4), id="np.broadcast_to-stretch")
add(ar.rearray_shapes, (normal(2, 3), normal(4)), (normal(3, 2), normal(2, 2)), wrt=[0], id="rearray_shapes")

# ---------------------------------------------------------------------------
# Permuting axes
# ---------------------------------------------------------------------------

add(np.transpose, normal(2, 3, 4), id="np.transpose")
add(np.transpose, normal(2, 3, 4), (1, -1, 0), id="np.transpose-axes")
add(np.transpose, strided(normal(2, 3)), id="np.transpose-strided")
add(Method("transpose"), normal(2, 3, 4), id="x.transpose()")
add(Method("transpose"), normal(2, 3, 4), 2, 0, 1, id="x.transpose(2,0,1)")
add(Method("transpose"), normal(2, 3, 4), (1, 2, 0), id="x.transpose((1,2,0))")
add(Attr("T"), normal(2, 3, 4), id="x.T")
add(Attr("mT"), normal(2, 3, 4), id="x.mT")
add(np.matrix_transpose, normal(5, 2, 3), id="np.matrix_transpose")
add(np.linalg.matrix_transpose, normal(2, 3), id="np.linalg.matrix_transpose")
add(np.swapaxes, normal(2, 3, 4), 0, -1, id="np.swapaxes")
add(Method("swapaxes"), normal(2, 3), 0, 1, id="x.swapaxes")
add(np.moveaxis, normal(2, 3, 4), [0, 1], [-1, 0], id="np.moveaxis")

# ---------------------------------------------------------------------------
# Joining and splitting
# ---------------------------------------------------------------------------

add(np.concatenate, (normal(2, 3), normal(1, 3)), id="np.concatenate")
add(np.concatenate, [normal(2, 3), normal(2, 1), strided(normal(2, 2))], axis=-1, id="np.concatenate-list-axis")
add(np.concatenate, (normal(2, 3), normal(4)), axis=None, id="np.concatenate-None")
add(np.stack, (normal(2, 3), normal(2, 3), normal(2, 3)), id="np.stack")
add(np.stack, [normal(2, 3), normal(2, 3)], axis=-1, id="np.stack-list-last")
add(np.hstack, (normal(3), normal(2)), id="np.hstack-1d")
add(np.hstack, (normal(2, 3), normal(2, 1)), id="np.hstack-2d")
add(np.vstack, (normal(3), normal(2, 3)), id="np.vstack")
add(np.dstack, (normal(2, 3), normal(2, 3, 2)), id="np.dstack")
add(np.column_stack, (normal(3), normal(3, 2)), id="np.column_stack")
add(np.append, normal(2, 3), normal(1, 3), axis=0, id="np.append-axis")
add(np.append, normal(2, 3), normal(4), id="np.append-flat")
add(np.split, normal(6, 2), 3, id="np.split")
add(np.split, normal(2, 7), [2, 5], axis=-1, id="np.split-indices")
add(np.array_split, normal(7, 2), 3, id="np.array_split")
add(np.hsplit, normal(2, 4), 2, id="np.hsplit")
add(np.vsplit, normal(4, 2), [1], id="np.vsplit")
add(np.dsplit, normal(2, 2, 4), 2, id="np.dsplit")
add(np.unstack, normal(3, 2), axis=-1, id="np.unstack")
add(ar.split_like, normal(5, 2), [normal(2, 2), normal(3, 2)], 0, wrt=[0], id="split_like")
add(ar.unstack_like, normal(2, 5), (normal(2, 3), normal(2, 2)), 1, "concatenate", wrt=[0], id="unstack_like")
add(ar.unstack_like, normal(2, 3), (normal(3), normal(3)), 0, "stack", wrt=[0], id="unstack_like-stack")
add(ar.restack_like, (normal(2, 3), normal(2, 2)), (normal(2, 3), normal(2, 2)), 1, "concatenate", wrt=[0], id="restack_like")
add(ar.restack_like, (normal(3), normal(2)), (normal(3), normal(2)), None, "hstack", wrt=[0], id="restack_like-hstack")

# ---------------------------------------------------------------------------
# Tiling, repeating, flipping, rolling, padding
# ---------------------------------------------------------------------------

add(np.tile, normal(2, 3), 2, id="np.tile")
add(np.tile, normal(3), (2, 1, 2), id="np.tile-more-reps")
add(np.tile, normal(2, 1, 3), (2, 2), id="np.tile-fewer-reps")
add(ar.untile, normal(4, 6), normal(2, 3), (2, 2), wrt=[0], id="untile")
add(ar.reshape_in_order, normal(2, 6), (3, 4), "C", wrt=[0], id="reshape_in_order")
add(ar.reshape_in_order, normal(2, 6), (3, 4), "F", wrt=[0], id="reshape_in_order-F")
add(np.repeat, normal(2, 3), 2, id="np.repeat")
add(np.repeat, normal(2, 3), [1, 0, 3], axis=-1, id="np.repeat-array")
add(Method("repeat"), normal(3), 2, id="x.repeat")
add(ar.unrepeat, normal(2, 4), normal(2, 3), [1, 0, 3], 1, wrt=[0], id="unrepeat")
add(np.flip, normal(2, 3), id="np.flip")
add(np.flip, normal(2, 3, 2), axis=(0, -1), id="np.flip-axes")
add(np.fliplr, normal(2, 3), id="np.fliplr")
add(np.flipud, normal(2, 3), id="np.flipud")
add(np.roll, normal(5), 2, id="np.roll")
add(np.roll, normal(3, 4), (1, -2), axis=(0, 1), id="np.roll-axes")
add(np.roll, normal(3, 4), -5, id="np.roll-flat")
add(np.rot90, normal(2, 3), id="np.rot90")
add(np.rot90, normal(2, 3, 4), 3, (2, 0), id="np.rot90-axes")
add(np.pad, normal(2, 3), 1, id="np.pad")
add(np.pad, normal(2, 3), ((1, 0), (2, 1)), constant_values=0.7, id="np.pad-constant-values")
for _mode in ("edge", "reflect", "symmetric", "wrap"):
    add(np.pad, normal(3, 4), ((2, 1), (3, 2)), mode=_mode, id=f"np.pad-{_mode}")
add(np.pad, normal(4), (5, 6), mode="reflect", id="np.pad-reflect-long")
add(ar.unpad, normal(4, 5), normal(2, 3), 1, "edge", wrt=[0], id="unpad")
add(ar.repad, normal(2, 3), normal(2, 3), 1, "wrap", wrt=[0], id="repad")

# ---------------------------------------------------------------------------
# Triangles and diagonals
# ---------------------------------------------------------------------------

add(np.triu, normal(3, 4), id="np.triu")
add(np.triu, normal(2, 3, 3), -1, id="np.triu-batched")
add(np.triu, normal(3), 1, id="np.triu-1d")
add(np.tril, normal(4, 3), 1, id="np.tril")
add(np.tril, normal(3), id="np.tril-1d")
add(np.diag, normal(3), id="np.diag-1d")
add(np.diag, normal(3), -2, id="np.diag-1d-k")
add(np.diag, normal(3, 5), 1, id="np.diag-2d")
add(np.diag, normal(4, 2), -1, id="np.diag-2d-below")
add(np.diagonal, normal(3, 4, 5), 1, 2, 0, id="np.diagonal")
add(np.diagonal, normal(4, 3), -1, id="np.diagonal-below")
add(Method("diagonal"), normal(3, 3), id="x.diagonal")
add(np.linalg.diagonal, normal(2, 3, 4), offset=1, id="np.linalg.diagonal")
add(ar.undiagonal, normal(3, 3), normal(4, 3, 5), 1, 2, 0, wrt=[0], id="undiagonal")

# ---------------------------------------------------------------------------
# Sorting and gathering
# ---------------------------------------------------------------------------

add(np.sort, normal(3, 4), id="np.sort")
add(np.sort, normal(3, 4), axis=0, id="np.sort-axis0")
add(np.sort, normal(3, 4), axis=None, id="np.sort-None")
add(np.sort, strided(normal(3, 4)), kind="stable", id="np.sort-strided")
add(np.take, normal(3, 4), [0, 5, 5, -1], id="np.take-flat-repeated")
add(np.take, normal(3, 4), np.array([[0, 2], [2, -1]]), axis=1, id="np.take-axis")
add(np.take, normal(3, 4), [0, 7, -5], axis=0, mode="clip", id="np.take-clip")
add(np.take, normal(3, 4), [0, 7, -5], axis=-1, mode="wrap", id="np.take-wrap")
add(Method("take"), normal(5), [1, 1, 3], id="x.take")
add(ar.untake, normal(3, 3), normal(3, 4), [0, 0, -1], 1, "raise", wrt=[0], id="untake")
add(np.take_along_axis, normal(3, 4), np.array([[0, 0, 3], [1, 2, 2], [3, 3, 3]]), axis=1, id="np.take_along_axis")
add(np.take_along_axis, normal(3, 4), np.array([[0, 2, 1, 0]]), axis=0, id="np.take_along_axis-broadcast")
add(np.take_along_axis, normal(3, 4), np.array([0, 11, 11]), axis=None, id="np.take_along_axis-None")
add(ar.untake_along_axis, normal(3, 2), normal(3, 4), np.array([[0, 0], [1, 3], [2, 2]]), 1, wrt=[0], id="untake_along_axis")

# ---------------------------------------------------------------------------
# Indexing
# ---------------------------------------------------------------------------

add(operator.getitem, normal(4, 3), 2, id="getitem-int")
add(operator.getitem, normal(6, 3), slice(None, None, -2), id="getitem-negative-step")
add(operator.getitem, normal(4, 3, 2), (Ellipsis, None, 1), id="getitem-ellipsis-None")
add(operator.getitem, normal(4, 3), ([0, 0, 3, 0], slice(1, None)), id="getitem-repeated")
add(operator.getitem, normal(4, 3), (np.array([[1, 1], [2, 0]]), np.array([[0, 0], [2, 1]])), id="getitem-advanced-2d")
add(operator.getitem, normal(4, 3), normal(4, 3) > 0, id="getitem-mask")
add(operator.getitem, normal(4, 3), (np.array([True, False, True, True]), -1), id="getitem-mask-axis")
add(operator.getitem, strided(normal(3, 4)), (slice(None), [3, 0, 3]), id="getitem-strided")
add(operator.getitem, (normal(2), normal(3), 1.5), 1, wrt=[0], id="getitem-tuple")
# setitem returns its (mutated) first argument: the harness's finite differences of
# value with x held fixed would mutate the case's x, so only x is differentiated here;
# value's adjoint is assigned_part's (checked below) and its tangent place's.
add(setitem, normal(4, 3), (slice(1, 3), 0), 0.5, wrt=[0], id="setitem-basic")
add(setitem, normal(4, 3), ([0, 2, 0], slice(None)), normal(3, 3), wrt=[0], id="setitem-repeated")
add(setitem, normal(4, 3), np.array([[True, False, True]] * 4), 0.5, wrt=[0], id="setitem-mask")
add(setitem, normal(4, 3), (Ellipsis, slice(None, None, -2)), normal(1), wrt=[0], id="setitem-negative-step")
# set_at is setitem on a copy (reverse mode over generated code): both x and value differentiated
add(ar.set_at, normal(4, 3), (slice(1, 3), 0), normal(2), wrt=[0, 2], id="set_at-basic")
add(ar.set_at, normal(4, 3), ([0, 2, 0], slice(None)), normal(3, 3), wrt=[0, 2], id="set_at-repeated")
add(ar.set_at, normal(5), 2, 0.5, wrt=[0, 2], id="set_at-element")
add(ar.assigned_part, normal(4, 3), ([0, 2, 0], slice(None)), normal(1, 3), wrt=[0], id="assigned_part")
add(ar.assigned_part, normal(4, 3), (slice(1, 3), 0), normal(2), wrt=[0], id="assigned_part-basic")
add(ar.place, normal(3), normal(4, 3), ([0, 2], slice(None)), wrt=[0], id="place")
add(ar.slot, normal(3), (normal(2), normal(3)), 1, wrt=[0], id="slot")

# ---------------------------------------------------------------------------
# Constructors and copies
# ---------------------------------------------------------------------------

add(np.array, normal(2, 3), id="np.array")
add(np.array, [1.0, 2.5, -0.5], id="np.array-list")
add(np.array, [normal(3), normal(3)], ndmin=3, id="np.array-list-of-arrays")
add(np.array, (0.5, normal(), np.float64(1.5)), id="np.array-tuple-mixed")
add(np.array, normal(3), dtype=int, id="np.array-int")
add(np.asarray, strided(normal(2, 3)), id="np.asarray")
add(np.asarray, [0.5, 1.5], id="np.asarray-list")
add(np.asanyarray, normal(2), id="np.asanyarray")
add(np.ascontiguousarray, strided(normal(2, 3)), id="np.ascontiguousarray")
add(np.asfortranarray, normal(2, 3), id="np.asfortranarray")
add(ar.unarray, normal(2, 3), [normal(3), normal(3)], normal(2, 3), wrt=[0], id="unarray")
add(ar.rearray, [normal(3), normal(3)], [normal(3), normal(3)], normal(2, 3), wrt=[0], id="rearray")
add(np.copy, strided(normal(2, 3)), id="np.copy")
add(Method("copy"), normal(2, 3), id="x.copy")
add(Method("astype"), normal(2, 3), np.float64, id="x.astype")
add(Method("astype"), normal(2, 3) * 5, int, id="x.astype-int")
add(ar.cast_like, normal(3), normal(3), normal(3), wrt=[0], id="cast_like")
add(np.float64, normal(2, 3), id="np.float64-array")
add(np.float64, 0.7, id="np.float64-number")
add(np.float32, normal(3), id="np.float32", rtol=5e-2, atol=5e-2)  # finite differences see float32 steps
add(np.longdouble, normal(3), id="np.longdouble")
add(np.real, normal(2, 3), id="np.real")
add(np.real, 0.7, id="np.real-number")
add(Attr("real"), normal(2, 3), id="x.real")
add(np.imag, normal(2, 3), id="np.imag")
add(Attr("imag"), normal(3), id="x.imag")
add(Method("item"), normal(1, 1), id="x.item")
add(Method("item"), np.array(0.7), id="x.item-0d")
add(ar.c_column, normal(3), id="c_column-vector")
add(ar.c_column, normal(2, 3), id="c_column-matrix")
add(ar.c_column, 0.7, id="c_column-number")
add(np.full_like, normal(2, 3), 1.5, wrt=[1], id="np.full_like")
add(np.full_like, normal(2, 3), normal(3), wrt=[1], id="np.full_like-broadcast")
add(np.meshgrid, normal(3), normal(2), id="np.meshgrid")
add(np.meshgrid, normal(3), normal(2), normal(4), indexing="ij", id="np.meshgrid-ij")
add(np.meshgrid, normal(3), normal(2, 1), sparse=True, id="np.meshgrid-sparse")
add(ar.unmeshgrid, (normal(2, 3), normal(2, 3)), (normal(3), normal(2)), False, "xy", wrt=[0], id="unmeshgrid")
add(ar.remesh, (normal(3), normal(2)), (normal(3), normal(2)), False, "xy", wrt=[0], id="remesh")
add(np.linspace, 0.5, 2.0, 7, id="np.linspace")
add(np.linspace, normal(3), normal(2, 3), 4, endpoint=False, axis=-1, id="np.linspace-arrays")
add(np.linspace, normal(3), 1.5, 5, axis=1, id="np.linspace-axis")
add(np.linspace, 0.5, 2.0, 1, id="np.linspace-one")

# ---------------------------------------------------------------------------
# Interpolation, convolution, polynomials
# ---------------------------------------------------------------------------

_xp = np.array([-1.0, -0.2, 0.5, 1.3, 2.0])
add(np.interp, np.array([-1.5, -0.7, 0.1, 0.9, 1.9, 2.4]), _xp, normal(5), wrt=[0, 2], id="np.interp")
add(np.interp, np.array([-1.5, 0.3, 2.4]), _xp, normal(5), left=0.3, right=-0.4, wrt=[0, 2, "left", "right"], id="np.interp-left-right")
add(np.interp, np.array([-1.7, 0.3, 2.6, 5.1]), np.array([0.4, 1.2, 2.9, 2.0]), normal(4), period=3.0, wrt=[0, 2], id="np.interp-period")
add(np.interp, 0.25, _xp, normal(5), wrt=[0, 2], id="np.interp-scalar")
add(ar.interp_fp_bar, normal(3), np.array([-1.5, 0.3, 2.4]), _xp, normal(5), None, 0.0, None, wrt=[0, 1], id="interp_fp_bar")
add(ar.interp_fp_bar, normal(4), np.array([-1.7, 0.3, 2.6, 5.1]), np.array([0.4, 1.2, 2.9, 2.0]), normal(4), None, None, 3.0,
    wrt=[0, 1], id="interp_fp_bar-period")
add(ar.interp_slope, np.array([-1.5, 0.3, 1.1]), _xp, normal(5), None, None, None, wrt=[2], id="interp_slope")
add(ar.interp_slope_fp_bar, normal(3), np.array([-1.5, 0.3, 1.1]), _xp, normal(5), None, None, None, wrt=[0], id="interp_slope_fp_bar")
for _m, _n in ((5, 3), (3, 5), (4, 4), (2, 7)):
    for _mode in ("full", "same", "valid"):
        add(np.convolve, normal(_m), normal(_n), _mode, id=f"np.convolve-{_m}-{_n}-{_mode}")
        add(np.correlate, normal(_m), normal(_n), _mode, id=f"np.correlate-{_m}-{_n}-{_mode}")
add(np.polyval, normal(4), normal(2, 3), id="np.polyval")
add(np.polyval, normal(1), 0.7, id="np.polyval-constant")
add(np.polyval, normal(3), 0.7, id="np.polyval-float")

# ---------------------------------------------------------------------------
# Products
# ---------------------------------------------------------------------------

add(np.matmul, normal(3, 4), normal(4, 2), id="np.matmul")
add(operator.matmul, normal(4), normal(4), id="matmul-1d-1d")
add(operator.matmul, normal(4), normal(2, 4, 3), id="matmul-1d-batched")
add(operator.matmul, normal(2, 1, 3, 4), normal(4, 5), id="matmul-batched-broadcast")
add(operator.matmul, normal(2, 3, 4), normal(4), id="matmul-batched-1d")
add(np.linalg.matmul, strided(normal(3, 4)), normal(4, 2).T.copy().T, id="np.linalg.matmul")
# the adjoint helpers of matmul, for every promotion case (g has the shape of a @ b)
for _a, _b in [((3, 4), (4, 2)), ((4,), (4,)), ((4,), (2, 4, 3)), ((2, 1, 3, 4), (4, 5)), ((2, 3, 4), (4,))]:
    _g = np.matmul(np.ones(_a), np.ones(_b))
    add(la.matmul_bar_a, normal(*np.shape(_g)), normal(*_a), normal(*_b), wrt=[0, 2], id=f"matmul_bar_a-{_a}-{_b}")
    add(la.matmul_bar_b, normal(*np.shape(_g)), normal(*_a), normal(*_b), wrt=[0, 1], id=f"matmul_bar_b-{_a}-{_b}")
add(np.dot, normal(3), normal(3), id="np.dot-1d")
add(np.dot, normal(2, 3), normal(3, 4), id="np.dot-2d")
add(np.dot, normal(2, 3, 4), normal(5, 4, 2), id="np.dot-nd")
add(np.dot, normal(2, 3, 4), normal(4), id="np.dot-nd-1d")
add(np.dot, 1.5, normal(2, 3), id="np.dot-scalar")
add(np.dot, normal(2, 3), np.float64(-0.5), id="np.dot-scalar-right")
add(Method("dot"), normal(2, 3), normal(3), id="x.dot")
add(np.tensordot, normal(2, 3, 4), normal(3, 4, 5), id="np.tensordot")
add(np.tensordot, normal(2, 3, 4), normal(4, 2, 5), ([0, 2], [1, 0]), id="np.tensordot-pairs")
add(np.tensordot, normal(2, 3), normal(4), 0, id="np.tensordot-outer")
add(np.tensordot, normal(2, 3), normal(3, 4), (-1, 0), id="np.tensordot-ints")
add(np.linalg.tensordot, normal(2, 3), normal(3, 2), axes=([0, 1], [1, 0]), id="np.linalg.tensordot")
add(np.inner, normal(2, 3), normal(4, 3), id="np.inner")
add(np.inner, normal(3), normal(3), id="np.inner-1d")
add(np.outer, normal(2, 2), normal(3), id="np.outer")
add(np.linalg.outer, normal(2), normal(3), id="np.linalg.outer")
add(np.vdot, normal(2, 3), normal(6), id="np.vdot")
add(np.vecdot, normal(2, 3), normal(3), id="np.vecdot")
add(np.linalg.vecdot, normal(3, 2), normal(3, 1), axis=0, id="np.linalg.vecdot")
add(np.kron, normal(2, 3), normal(2, 2), id="np.kron")
add(np.kron, normal(3), normal(2, 2), id="np.kron-mixed")
add(np.cross, normal(4, 3), normal(3), id="np.cross")
add(np.cross, normal(2), normal(5, 2), id="np.cross-2d")
add(np.cross, normal(2), normal(3), id="np.cross-2-3")
add(np.cross, normal(3, 4), normal(4, 3), axisa=0, axisc=0, id="np.cross-axes")
add(np.linalg.cross, normal(2, 3), normal(3), id="np.linalg.cross")
add(np.einsum, "ij,jk->ik", normal(2, 3), normal(3, 4), wrt=[1, 2], id="einsum-matmul")
add(np.einsum, "ij,jk", normal(2, 3), normal(3, 4), wrt=[1, 2], id="einsum-implicit")
add(np.einsum, "ii->", normal(3, 3), wrt=[1], id="einsum-trace")
add(np.einsum, "ii->i", normal(3, 3), wrt=[1], id="einsum-diagonal")
add(np.einsum, "iij->ji", normal(3, 3, 2), wrt=[1], id="einsum-partial-diagonal")
add(np.einsum, "ij->", normal(3, 2), wrt=[1], id="einsum-sum")
add(np.einsum, "ij,j->i", normal(3, 2), normal(2), wrt=[1, 2], id="einsum-matvec")
add(np.einsum, "...ij,...jk->...ik", normal(2, 3, 4), normal(4, 5), wrt=[1, 2], id="einsum-ellipsis")
add(np.einsum, "i...->...", normal(3, 2, 2), wrt=[1], id="einsum-ellipsis-sum")
add(np.einsum, "ij,ij->ij", normal(2, 1), normal(2, 4), wrt=[1, 2], id="einsum-broadcast")
add(np.einsum, "i,i,i->", normal(3), normal(3), normal(3), wrt=[1, 2, 3], id="einsum-three")
add(np.einsum, "bij,bjk,bkl->bil", normal(2, 2, 3), normal(2, 3, 2), normal(2, 2, 2), wrt=[1, 2, 3], id="einsum-chain")
add(np.einsum, ",i->i", 1.5, normal(3), wrt=[1, 2], id="einsum-scalar")
add(np.einsum, "ba", normal(2, 3), wrt=[1], id="einsum-implicit-transpose")
# the interleaved form (operand, sublist, ..., output sublist)
add(np.einsum, normal(2, 3), [0, 1], normal(3, 4), [1, 2], [0, 2], wrt=[0, 2], id="einsum-interleaved")
add(np.einsum, normal(3, 3), [1, 1], wrt=[0], id="einsum-interleaved-trace")
add(np.einsum, normal(2, 3, 4), [Ellipsis, 27], normal(4), [27], wrt=[0, 2], id="einsum-interleaved-ellipsis")
add(np.einsum, normal(2, 3), [30, 0], wrt=[0], id="einsum-interleaved-implicit-order")
add(la.einsum_jvp, (0.0, normal(2, 3), normal(3)), ("ij,j->i", normal(2, 3), normal(3)), wrt=[0], id="einsum_jvp")
add(la.einsum_vjp, normal(2), ("ij,j->i", normal(2, 3), normal(3)), wrt=[0], id="einsum_vjp")
add(la.einsum_jvp2, (0.0, normal(2, 3), normal(3)), (0.0, normal(2, 3), normal(3)), ("ij,j->i", normal(2, 3), normal(3)), wrt=[0, 1], id="einsum_jvp2")
add(la.einsum_vjp2, normal(2), (0.0, normal(2, 3), normal(3)), ("ij,j->i", normal(2, 3), normal(3)), wrt=[0, 1], id="einsum_vjp2")
add(la.summable, (normal(2), normal(2, 3)), id="summable")

# ---------------------------------------------------------------------------
# numpy.linalg
# ---------------------------------------------------------------------------

add(np.linalg.inv, well_conditioned(3, 3), id="inv")
add(np.linalg.inv, well_conditioned(2, 3, 3), id="inv-batched")
add(np.linalg.det, well_conditioned(3, 3), id="det")
add(np.linalg.det, well_conditioned(2, 3, 3), id="det-batched")
add(np.linalg.slogdet, well_conditioned(3, 3), id="slogdet")
add(np.linalg.slogdet, -well_conditioned(2, 3, 3), id="slogdet-batched")
add(np.linalg.solve, well_conditioned(3, 3), normal(3), id="solve-1d")
add(np.linalg.solve, well_conditioned(3, 3), normal(3, 2), id="solve-2d")
add(np.linalg.solve, well_conditioned(2, 3, 3), normal(3), id="solve-batched-1d")
add(np.linalg.solve, well_conditioned(3, 3), normal(2, 3, 2), id="solve-broadcast-b")
add(np.linalg.pinv, well_conditioned(4, 3), id="pinv-tall")
add(np.linalg.pinv, well_conditioned(2, 4), id="pinv-wide")
add(np.linalg.pinv, spd(3), hermitian=True, id="pinv-hermitian")
add(np.linalg.cholesky, spd(3), id="cholesky")
add(np.linalg.cholesky, spd(3, 2), upper=True, id="cholesky-upper-batched")
add(np.linalg.eigh, spd(4), id="eigh")
add(np.linalg.eigvalsh, spd(4), id="eigvalsh")
add(np.diagflat, normal(3), id="np.diagflat")
add(np.diagflat, normal(2, 2), -1, id="np.diagflat-2d-below")
add(np.linalg.eigvalsh, spd(3, 2), "U", id="eigvalsh-U-batched")
add(np.linalg.matrix_power, normal(3, 3), 3, id="matrix_power-3")
add(np.linalg.matrix_power, normal(3, 3), 0, id="matrix_power-0")
add(np.linalg.matrix_power, well_conditioned(2, 3, 3), -2, id="matrix_power-inverse-batched")
add(la.matrix_power_bar, normal(3, 3), 3, normal(3, 3), wrt=[2], id="matrix_power_bar")
add(la.matrix_power_dot, well_conditioned(3, 3), -1, normal(3, 3), wrt=[2], id="matrix_power_dot")
add(np.linalg.eigh, spd(3, 2), "U", id="eigh-U-batched")
add(np.linalg.qr, well_conditioned(4, 3), id="qr-tall")
add(np.linalg.qr, well_conditioned(3, 3), "complete", id="qr-square")
add(np.linalg.qr, well_conditioned(2, 4, 2), id="qr-batched")
add(np.linalg.svd, well_conditioned(3, 3), id="svd-square")
add(np.linalg.svd, well_conditioned(4, 3), full_matrices=False, id="svd-tall")
add(np.linalg.svd, well_conditioned(2, 4), full_matrices=False, id="svd-wide")
add(np.linalg.svd, well_conditioned(2, 4, 3), compute_uv=False, id="svd-values")
add(np.linalg.svd, spd(3), hermitian=True, id="svd-hermitian")
add(la.symmetrize_triangle, normal(3, 3), "U", id="symmetrize_triangle")
add(la.fold_to_triangle, normal(2, 3, 3), "L", id="fold_to_triangle")
add(la.tril_half_diagonal, normal(3, 3), id="tril_half_diagonal")

