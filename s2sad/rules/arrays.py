"""Rules for shapes, data movement, indexing and array constructors.

Almost everything here is *linear* in the array it moves: ``y = L(a)`` for a
fixed linear map ``L`` (a reshape, a permutation of axes, a selection, a
scatter). Then the tangent is the same map, ``y_dot = L(a_dot)``, and the
adjoint is its transpose, ``a_bar = L^T(y_bar)``:

* a reshape / permutation is undone by the inverse reshape / permutation;
* a selection (slice, take, diagonal) is transposed by a scatter-add into zeros;
* a copy to many places (tile, repeat, broadcast) is transposed by a sum.

Where ``L^T`` is not itself a NumPy function it is a small helper below
(numpy only, copied into exported modules). Every such helper is linear in its
first argument and gets its own adjoint (its transpose, usually the primal
again) and tangent (itself), so generated code stays differentiable.

Sequence arguments (``np.concatenate((a, b))``, ``np.stack([a, b])``): the
adjoint of the sequence is a tuple (or list, matching the argument) with one
entry per element. Sequence results (``np.split``, ``np.meshgrid``) are
declared with ``returns_tuple``: their ``y_bar`` is a tuple/list whose unused
entries are ``None``; the helpers treat ``None`` as zeros.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from ..primitives import Attr, Method, setitem
from ..runtime import _is_lazy_array, scatter_add, set_at, unbroadcast, zero_at
from .registry import adjoint, method_mirrors, nondifferentiable, returns_tuple, tangent


# ---------------------------------------------------------------------------
# Helpers with no derivative (they compute shapes, orders, permutations)
# ---------------------------------------------------------------------------


def layout_order(a, order):
    """The index order 'C' or 'F' that ``order`` ('C', 'F' or 'A') means for `a`.

    'A' reads `a` in Fortran order when `a` is Fortran-contiguous (and not
    C-contiguous), in C order otherwise; the tangent and adjoint must use the
    order of `a`, not of `a_dot` / `y_bar`, whose layouts may differ.
    """
    if order is None or order == "C":
        return "C"
    if order == "A":
        return "F" if np.isfortran(np.asarray(a)) else "C"
    return order


def ravel_permutation(a):
    """The flat C-order positions that ``np.ravel(a, order='K')`` reads, in order.

    ``np.ravel(a, 'K')[j] == np.ravel(a)[ravel_permutation(a)[j]]``: 'K' reads
    memory order, which depends on `a`'s strides.
    """
    a = np.asarray(a)
    positions = np.empty_like(a, dtype=np.intp, order="K")
    positions[...] = np.reshape(np.arange(a.size), a.shape)
    return np.ravel(positions, order="K")


def transpose_inverse(axes, ndim):
    """The axes that undo ``np.transpose(., axes)`` on an array of `ndim` axes."""
    if axes is None:
        return tuple(range(ndim))[::-1]
    return tuple(int(i) for i in np.argsort([int(ax) % ndim for ax in axes]))


def method_axes(axes):
    """The ``axes`` of ``np.transpose`` that ``x.transpose(*axes)`` means.

    ``x.transpose()``, ``x.transpose(None)``, ``x.transpose((1, 0))`` and
    ``x.transpose(1, 0)`` are all accepted by NumPy.
    """
    if len(axes) == 0 or (len(axes) == 1 and axes[0] is None):
        return None
    if len(axes) == 1 and np.ndim(axes[0]) == 1:
        return tuple(axes[0])
    return tuple(axes)


def shape_without(y, axis):
    """``np.shape(y)`` with `axis` removed."""
    shape = list(np.shape(y))
    del shape[axis % len(shape)]
    return tuple(shape)


def linspace_weights(y, num, endpoint, axis):
    """The weights ``(1 - t, t)`` with ``y = start * (1 - t) + stop * t`` for np.linspace.

    ``t_k = k / (num - 1)`` (or ``k / num`` without the endpoint; ``t = 0`` when
    ``num == 1``), shaped to broadcast against `y` along `axis`. An integer
    `y` (``dtype=int``) is floored, hence piecewise constant: both weights are 0.
    """
    div = (num - 1) if endpoint else num
    t = np.arange(num, dtype=float) / div if div > 0 else np.zeros(num)
    shape = [1] * np.ndim(y)
    shape[axis % np.ndim(y)] = num
    t = np.reshape(t, shape)
    if not np.issubdtype(np.asarray(y).dtype, np.inexact):
        return np.zeros_like(t), np.zeros_like(t)
    return 1.0 - t, t


def pad_mask(array, pad_width, constant_values):
    """1.0 where np.pad(array, pad_width) put the constant, 0.0 inside the copy of `array`.

    Only a scalar ``constant_values`` has a derivative here; per-axis
    constants raise NotImplementedError.
    """
    if np.ndim(constant_values) != 0:
        raise NotImplementedError(
            "s2sad: the derivative of np.pad with respect to per-axis constant_values is not "
            "implemented; pass a scalar constant_values (or pad with 0 and add the constants)."
        )
    return np.pad(np.zeros(np.shape(array)), pad_width, mode="constant", constant_values=1.0)


_LINEAR_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def check_pad_mode(mode, reflect_type):
    """Return `mode` if np.pad(mode) copies elements of the input (so is linear in it).

    Raises NotImplementedError for the modes that compute new values
    (linear_ramp, maximum, mean, median, minimum, empty, a callable) and for
    ``reflect_type='odd'``.
    """
    if mode not in _LINEAR_PAD_MODES or reflect_type != "even":
        raise NotImplementedError(
            f"s2sad: the derivative of np.pad(mode={mode!r}, reflect_type={reflect_type!r}) is not "
            f"implemented; supported modes are {', '.join(_LINEAR_PAD_MODES)} (reflect_type='even')."
        )
    return mode


def conv_pad(a, v, mode, kind):
    """The (before, after) zeros that turn ``np.convolve/np.correlate(a, v, mode)``'s
    result back into the 'full' result's length (the adjoint embeds y_bar there)."""
    m, n = np.size(a), np.size(v)
    full = m + n - 1
    out = {"full": full, "same": max(m, n), "valid": max(m, n) - min(m, n) + 1}[mode]
    before = (full - out) // 2
    if kind == "correlate" and mode == "same" and m < n:
        before = (full - out + 1) // 2  # np.correlate swaps and reverses when len(v) > len(a)
    return (before, full - out - before)


def interp_parts(x, xp, left, right, period):
    """How ``np.interp`` combines fp at each x: ``(i0, i1, t, uses_fp, below, above)``.

    Where ``uses_fp`` is true, ``y = (1 - t) * fp[i0] + t * fp[i1]`` (indices into
    the original fp; with a period, into fp as numpy sorts and wraps it). Below
    xp[0] that is fp[0] unless `left` is given, above xp[-1] fp[-1] unless `right`
    is given; ``below``/``above`` mark where `left`/`right` are returned instead.
    """
    x = np.asarray(x, dtype=float)
    xp = np.asarray(xp, dtype=float)
    order = np.arange(len(xp))
    if period is not None:
        period = abs(period)
        x = np.mod(x, period)
        xp = np.mod(xp, period)
        order = np.argsort(xp, kind="stable")
        xp = xp[order]
        xp = np.concatenate([xp[-1:] - period, xp, xp[:1] + period])
        order = np.concatenate([order[-1:], order, order[:1]])
    n = len(xp)
    below = x < xp[0]
    above = x > xp[-1]
    if n == 1:
        zero = np.zeros(np.shape(x), dtype=np.intp)
        t = np.zeros(np.shape(x))
    else:
        j = np.clip(np.searchsorted(xp, x, side="right") - 1, 0, n - 2)
        dx = xp[j + 1] - xp[j]
        t = np.where(dx == 0, 0.0, (x - xp[j]) / np.where(dx == 0, 1.0, dx))
        t = np.where(below, 0.0, np.where(above, 1.0, t))
        zero = j
    i0, i1 = order[zero], order[np.minimum(zero + (n > 1), n - 1)]
    if period is not None:
        below = above = np.zeros(np.shape(x), dtype=bool)
    uses_fp = ~((below & (left is not None)) | (above & (right is not None)))
    return i0, i1, t, uses_fp, below & (left is not None), above & (right is not None)


def interp_outside(x, xp, left, right, period, side):
    """1.0 where np.interp returns `left` (side='left') or `right` (side='right'), else 0.0."""
    _, _, _, _, below, above = interp_parts(x, xp, left, right, period)
    return (below if side == "left" else above).astype(float)


def zero_or_none(value):
    """``None`` stays ``None`` (np.interp's default end value); a value becomes 0.0."""
    return None if value is None else 0.0


nondifferentiable(
    layout_order, ravel_permutation, transpose_inverse, method_axes, shape_without,
    linspace_weights, pad_mask, check_pad_mode, conv_pad, interp_parts, interp_outside,
    zero_or_none,
)


# ---------------------------------------------------------------------------
# Linear helpers (each is the transpose of a primal or of another helper)
# ---------------------------------------------------------------------------


def _concat_layout(arrays, axis, how):
    """(axis, per-array shapes as the joining function sees them) for unstack_like."""
    shapes = [np.shape(a) for a in arrays]
    if how == "concatenate":
        return axis, shapes
    if how == "hstack":
        shapes = [np.shape(np.atleast_1d(a)) for a in arrays]
        return (0 if len(shapes[0]) == 1 else 1), shapes
    if how == "vstack":
        return 0, [np.shape(np.atleast_2d(a)) for a in arrays]
    if how == "dstack":
        return 2, [np.shape(np.atleast_3d(a)) for a in arrays]
    if how == "column_stack":
        return 1, [s if len(s) >= 2 else (int(np.prod(s)), 1) for s in shapes]
    raise ValueError(how)


def unstack_like(g, arrays, axis, how):
    """Split `g` into pieces shaped like `arrays`: the adjoint of joining them.

    ``how`` names the joining function: 'concatenate' (``axis`` None means the
    arrays were flattened), 'stack', 'hstack', 'vstack', 'dstack',
    'column_stack'. Returns a tuple (a list if `arrays` is a list).
    """
    if not _is_lazy_array(g):  # a Dask array stays lazy (np.asarray would compute it)
        g = np.asarray(g)
    if how == "stack":
        ax = axis % np.ndim(g)
        pieces = [np.take(g, i, axis=ax) for i in range(np.shape(g)[ax])]
    elif how == "concatenate" and axis is None:
        pieces = _split_at(np.ravel(g), [math.prod(np.shape(a)) for a in arrays], 0)
    else:
        ax, shapes = _concat_layout(arrays, axis, how)
        pieces = _split_at(g, [s[ax] for s in shapes], ax)
    pieces = [np.reshape(p, np.shape(a)) for p, a in zip(pieces, arrays)]
    if isinstance(arrays, np.ndarray):
        return np.reshape(np.stack(pieces), np.shape(arrays)) if pieces else np.zeros(np.shape(arrays))
    return list(pieces) if isinstance(arrays, list) else tuple(pieces)


def _split_at(g, lengths, axis):
    """`g` cut along `axis` into consecutive blocks of the given lengths.

    What ``np.split`` at the running sums does, by slicing: Dask has no
    ``np.split`` and would compute `g` to run NumPy's.
    """
    axis = axis % np.ndim(g)
    starts = [0]
    for n in lengths:
        starts.append(starts[-1] + int(n))
    return [g[(slice(None),) * axis + (slice(lo, hi),)] for lo, hi in zip(starts[:-1], starts[1:])]


def restack_like(gs, arrays, axis, how):
    """Join `gs` (shaped like `arrays`; ``None`` means zeros) the way `arrays` were joined.

    The transpose of :func:`unstack_like`, and the tangent of the joining functions.
    """
    parts = [
        np.zeros(np.shape(a)) if g is None else np.broadcast_to(g, np.shape(a))
        for g, a in zip(gs, arrays)
    ]
    if how == "concatenate":
        return np.concatenate([np.ravel(p) for p in parts] if axis is None else parts, axis=axis or 0)
    if how == "stack":
        return np.stack(parts, axis=axis)
    return {"hstack": np.hstack, "vstack": np.vstack, "dstack": np.dstack,
            "column_stack": np.column_stack}[how](parts)


def _tile_layout(shape, reps):
    reps = tuple(int(r) for r in np.atleast_1d(reps))
    d = max(len(shape), len(reps))
    shape = (1,) * (d - len(shape)) + tuple(shape)
    reps = (1,) * (d - len(reps)) + reps
    return shape, reps


def reshape_in_order(g, shape, order):
    """``np.reshape(g, shape, order=order)``, with the default order 'C' left out.

    Dask's reshape has no ``order`` parameter (it reads C order only), so
    spelling out ``order='C'`` would fail on a Dask array.
    """
    return np.reshape(g, shape) if order == "C" else np.reshape(g, shape, order=order)


def untile(g, A, reps):
    """Sum the `reps` copies in `g` back onto `A`'s shape: the adjoint of np.tile."""
    shape, full_reps = _tile_layout(np.shape(A), reps)
    interleaved = [n for pair in zip(full_reps, shape) for n in pair]
    summed = np.sum(np.reshape(g, interleaved), axis=tuple(range(0, 2 * len(shape), 2)))
    return np.reshape(summed, np.shape(A))


def unrepeat(g, a, repeats, axis):
    """Sum the repeated copies in `g` back onto `a`: the adjoint of np.repeat."""
    g = np.asarray(g)
    if axis is None:
        n = np.size(a)
        out = np.zeros(n, dtype=np.result_type(g, float))
        np.add.at(out, np.repeat(np.arange(n), repeats), g)
        return np.reshape(out, np.shape(a))
    ax = axis % np.ndim(a)
    n = np.shape(a)[ax]
    gm = np.moveaxis(g, ax, 0)
    out = np.zeros((n,) + gm.shape[1:], dtype=np.result_type(g, float))
    np.add.at(out, np.repeat(np.arange(n), repeats), gm)
    return np.moveaxis(out, 0, ax)


def unpad(g, array, pad_width, mode, reflect_type="even"):
    """The adjoint of np.pad(array, pad_width, mode) (constant part excluded).

    Constant mode keeps the interior of `g`; the copying modes (edge, reflect,
    symmetric, wrap) add each padded entry of `g` onto the element it copies.
    """
    mode = check_pad_mode(mode, reflect_type)
    shape = np.shape(array)
    positions = np.pad(np.reshape(np.arange(int(np.prod(shape))), shape), pad_width, mode=mode,
                       **({"constant_values": -1} if mode == "constant" else {}))
    keep = positions >= 0
    out = np.zeros(int(np.prod(shape)), dtype=np.result_type(g, float))
    np.add.at(out, positions[keep], np.asarray(g)[keep])
    return np.reshape(out, shape)


def repad(g, array, pad_width, mode, reflect_type="even"):
    """np.pad(g, pad_width, mode) with zero constants: the tangent of np.pad, transpose of unpad."""
    mode = check_pad_mode(mode, reflect_type)
    return np.pad(np.broadcast_to(g, np.shape(array)), pad_width, mode=mode)


def undiagonal(g, a, offset, axis1, axis2):
    """Zeros shaped like `a` with `g` on the diagonal: the adjoint of np.diagonal."""
    out = np.zeros(np.shape(a), dtype=np.result_type(g, float))
    view = np.moveaxis(out, (axis1, axis2), (-2, -1))
    length = np.shape(g)[-1]
    rows = np.arange(length) + max(-offset, 0)
    cols = np.arange(length) + max(offset, 0)
    view[..., rows, cols] = g
    return out


def untake(g, a, indices, axis, mode):
    """Zeros shaped like `a` with `g` added at `indices`: the adjoint of np.take.

    Repeated indices accumulate; mode 'wrap' and 'clip' move indices like np.take.
    """
    if axis is None:
        n = np.size(a)
    else:
        axis = axis % np.ndim(a)
        n = np.shape(a)[axis]
    indices = np.asarray(indices)
    indices = np.clip(indices, 0, n - 1) if mode == "clip" else np.mod(indices, n)
    if axis is None:
        out = np.zeros(n, dtype=np.result_type(g, float))
        np.add.at(out, indices, g)
        return np.reshape(out, np.shape(a))
    out = np.zeros(np.shape(a), dtype=np.result_type(g, float))
    np.add.at(out, (slice(None),) * axis + (indices,), g)
    return out


def untake_along_axis(g, arr, indices, axis):
    """Zeros shaped like `arr` with `g` added at `indices` along `axis`:
    the adjoint of np.take_along_axis (and of np.sort, with its argsort)."""
    out = np.zeros(np.shape(arr), dtype=np.result_type(g, float))
    if axis is None:
        flat = np.ravel(out)
        np.add.at(flat, indices, g)
        return np.reshape(flat, np.shape(arr))
    ndim = np.ndim(arr)
    axis = axis % ndim
    index = []
    for d in range(ndim):
        if d == axis:
            index.append(np.mod(indices, np.shape(arr)[axis]))
        else:
            shape = [1] * ndim
            shape[d] = -1
            index.append(np.reshape(np.arange(np.shape(arr)[d]), shape))
    np.add.at(out, tuple(index), g)
    return out


def _fill_like(gs, ref):
    """`gs` with None entries replaced by zeros (shaped like `ref`), recursively."""
    if isinstance(ref, (list, tuple)):
        gs = [None] * len(ref) if gs is None else gs
        return [_fill_like(g, r) for g, r in zip(gs, ref)]
    return np.zeros(np.shape(ref)) if gs is None else np.broadcast_to(gs, np.shape(ref))


def unarray(g, object, y):
    """The adjoint of ``y = np.array(object)``: `g` cut into `object`'s (nested) structure.

    An integer `y` (``dtype=int``) is not differentiable: the adjoint is zero.
    """
    if not np.issubdtype(np.asarray(y).dtype, np.inexact):
        g = np.zeros(np.shape(y))
    return _split_nested(np.reshape(g, _nested_shape(object)), object)


def _nested_shape(object):
    if isinstance(object, (list, tuple)):
        return (len(object),) + (_nested_shape(object[0]) if len(object) else ())
    return np.shape(object)


def _split_nested(g, object):
    if isinstance(object, (list, tuple)):
        return type(object)(_split_nested(g[i], item) for i, item in enumerate(object))
    if isinstance(object, np.ndarray) and np.issubdtype(object.dtype, np.inexact):
        return np.asarray(g, dtype=object.dtype)
    return np.asarray(g)[()] if np.ndim(g) == 0 else g


def rearray(gs, object, y):
    """``np.array(gs)`` shaped like `y` (None entries are zeros): the transpose of unarray
    and the tangent of np.array/np.asarray."""
    if not np.issubdtype(np.asarray(y).dtype, np.inexact):
        return np.zeros(np.shape(y))
    filled = _fill_like(gs, object)
    dtype = np.asarray(y).dtype
    return np.reshape(np.array(filled, dtype=dtype), np.shape(y))


def cast_like(g, like, y):
    """`g` cast to the dtype of `like`; zero when `y` has an integer or bool dtype.

    ``y = x.astype(dtype)``: the adjoint is y_bar cast back to x's dtype (like=x),
    the tangent x_dot cast to y's dtype (like=y). A cast to an integer type
    truncates, which is piecewise constant: derivative zero.
    """
    if not np.issubdtype(np.result_type(y), np.inexact):  # result_type: the dtype, without computing
        return np.zeros(np.shape(like), dtype=float)
    dtype = np.result_type(like)
    if not np.issubdtype(dtype, np.inexact):
        dtype = np.dtype(float)
    if np.issubdtype(np.result_type(g), np.complexfloating) and not np.issubdtype(dtype, np.complexfloating):
        # x.astype(complex): dropping the imaginary part of the adjoint is right only under a complex
        # convention the rules do not follow
        raise NotImplementedError("s2sad: a complex value computed from a real one: s2sad differentiates real "
                                  "functions of real values only. Keep the real and imaginary parts as two real "
                                  "arrays (or register a rule)")
    return (g if _is_lazy_array(g) else np.asarray(g)).astype(dtype)


def not_differentiated(value, primal, param):
    """A rule's mark for an argument it has no derivative in: ``xp_bar = not_differentiated(xp,
    "np.interp", "xp")``. Where that argument is differentiated, reverse and forward refuse the call
    (``reverse_assign.refused_arguments``) rather than give a zero gradient; evaluated (by explain, which
    runs the template), it raises."""
    raise NotImplementedError(f"s2sad: {primal} is not differentiated in its argument {param!r}")


nondifferentiable(not_differentiated, note="a rule's mark: the engine refuses the argument")


def _meshgrid_axis(i, n, indexing):
    if indexing == "xy" and n >= 2 and i < 2:
        return 1 - i
    return i


def unmeshgrid(gs, xi, sparse, indexing):
    """The adjoint of np.meshgrid: sum each grid's adjoint over the axes it was repeated along."""
    out = []
    n = len(xi)
    for i, (g, x) in enumerate(zip(gs, xi)):
        if g is None:
            out.append(np.zeros(np.shape(x)))
            continue
        ax = _meshgrid_axis(i, n, indexing)
        others = tuple(d for d in range(np.ndim(g)) if d != ax)
        out.append(np.reshape(np.sum(g, axis=others), np.shape(x)))
    return tuple(out)


def remesh(gs, xi, sparse, indexing):
    """np.meshgrid of `gs` (None entries are zeros; shaped like `xi`): the tangent of
    np.meshgrid and the transpose of unmeshgrid."""
    filled = [np.zeros(np.shape(x)) if g is None else np.broadcast_to(g, np.shape(x)) for g, x in zip(gs, xi)]
    return tuple(np.meshgrid(*filled, sparse=sparse, indexing=indexing))


def interp_fp_bar(g, x, xp, fp, left, right, period):
    """The adjoint of ``np.interp(x, xp, fp, left, right, period)`` with respect to fp."""
    i0, i1, t, uses_fp, below, above = interp_parts(x, xp, left, right, period)
    g = np.where(uses_fp, np.broadcast_to(g, np.shape(t)), 0.0)
    out = np.zeros(np.shape(fp), dtype=np.result_type(g, float))
    np.add.at(out, i0, g * (1 - t))
    np.add.at(out, i1, g * t)
    return out


def _interp_inverse_dx(x, xp, left, right, period):
    """(i0, i1, 1 / (xp[i1] - xp[i0]) where x is strictly inside a segment, else 0)."""
    i0, i1, t, uses_fp, below, above = interp_parts(x, xp, left, right, period)
    xpw = np.asarray(xp, dtype=float)
    dx = xpw[i1] - xpw[i0]
    if period is not None:
        dx = np.mod(dx, abs(period))
    x = np.asarray(x, dtype=float)
    outside = np.zeros(np.shape(x), dtype=bool) if period is not None else (x < xpw[0]) | (x > xpw[-1])
    inv = np.where((dx == 0) | outside, 0.0, 1.0 / np.where(dx == 0, 1.0, dx))
    return i0, i1, inv


def interp_slope(x, xp, fp, left, right, period):
    """d np.interp(x, xp, fp) / dx: the slope of the segment x lies on (0 outside xp's range).

    At a breakpoint the slope of the segment to its right is used (the
    derivative does not exist there). Linear in fp.
    """
    i0, i1, inv = _interp_inverse_dx(x, xp, left, right, period)
    fp = np.asarray(fp)
    return (fp[i1] - fp[i0]) * inv


def interp_slope_fp_bar(g, x, xp, fp, left, right, period):
    """The transpose of interp_slope as a linear function of fp."""
    i0, i1, inv = _interp_inverse_dx(x, xp, left, right, period)
    w = np.broadcast_to(g, np.shape(inv)) * inv
    out = np.zeros(np.shape(fp), dtype=np.result_type(w, float))
    np.add.at(out, i1, w)
    np.add.at(out, i0, -w)
    return out


def assigned_part(g, index, value):
    """The adjoint of `value` in ``x[index] = value``: `g[index]` summed to value's shape.

    With repeated advanced indices NumPy keeps the last write; only the
    entries that were kept receive gradient.
    """
    if isinstance(g, (list, tuple)):  # a list's adjoint: the item's own (a list or array of any shape)
        return g[index]
    g = np.asarray(g)
    part = g[index]
    if not _basic_index(index):
        positions = np.reshape(np.arange(np.size(part)), np.shape(part))
        winner = np.full(np.shape(g), -1, dtype=np.intp)
        winner[index] = positions
        part = np.where(winner[index] == positions, part, 0)
    return unbroadcast(part, value)


def place(v, x, index):
    """Zeros shaped like `x` with `v` (broadcast) written at `index`: the transpose of assigned_part."""
    out = np.zeros(np.shape(x), dtype=np.result_type(v, float))
    out[index] = v
    return out


def _basic_index(index):
    items = index if isinstance(index, tuple) else (index,)
    return all(
        item is None or item is Ellipsis or isinstance(item, (int, np.integer, slice)) for item in items
    )


def slot(g, x, k):
    """A tuple like `x` with `g` at position `k` and zeros elsewhere (adjoint of x[k] for
    a tuple x such as a named tuple returned by np.linalg)."""
    out = [np.zeros(np.shape(item)) for item in x]
    out[k] = g
    return tuple(out)


# -- the helpers' own rules: each is linear in its first argument --------------


@adjoint(unstack_like)
def unstack_like_adjoint(y, g, arrays, axis, how):
    # unstack_like splits g; its transpose joins the pieces again
    g_bar = restack_like(y_bar, arrays, axis, how)


@tangent(unstack_like)
def unstack_like_tangent(y, g, arrays, axis, how):
    y_dot = unstack_like(g_dot, arrays, axis, how)


@adjoint(restack_like)
def restack_like_adjoint(y, gs, arrays, axis, how):
    # restack_like joins the gs; its transpose splits y_bar
    gs_bar = unstack_like(y_bar, arrays, axis, how)


@tangent(restack_like)
def restack_like_tangent(y, gs, arrays, axis, how):
    y_dot = restack_like(gs_dot, arrays, axis, how)


@adjoint(reshape_in_order)
def reshape_in_order_adjoint(y, g, shape, order):
    # a reshape keeps the elements in the given order: its transpose reshapes back in the same order
    g_bar = reshape_in_order(y_bar, np.shape(g), order)


@tangent(reshape_in_order)
def reshape_in_order_tangent(y, g, shape, order):
    y_dot = reshape_in_order(g_dot, shape, order)


@adjoint(untile)
def untile_adjoint(y, g, A, reps):
    # untile sums copies; its transpose copies again
    g_bar = np.tile(y_bar, reps)


@tangent(untile)
def untile_tangent(y, g, A, reps):
    y_dot = untile(g_dot, A, reps)


@adjoint(unrepeat)
def unrepeat_adjoint(y, g, a, repeats, axis):
    g_bar = np.repeat(y_bar, repeats, axis)


@tangent(unrepeat)
def unrepeat_tangent(y, g, a, repeats, axis):
    y_dot = unrepeat(g_dot, a, repeats, axis)


@adjoint(unpad)
def unpad_adjoint(y, g, array, pad_width, mode, reflect_type="even"):
    g_bar = repad(y_bar, array, pad_width, mode, reflect_type)


@tangent(unpad)
def unpad_tangent(y, g, array, pad_width, mode, reflect_type="even"):
    y_dot = unpad(g_dot, array, pad_width, mode, reflect_type)


@adjoint(repad)
def repad_adjoint(y, g, array, pad_width, mode, reflect_type="even"):
    g_bar = unbroadcast(unpad(y_bar, array, pad_width, mode, reflect_type), g)


@tangent(repad)
def repad_tangent(y, g, array, pad_width, mode, reflect_type="even"):
    y_dot = repad(g_dot, array, pad_width, mode, reflect_type)


@adjoint(undiagonal)
def undiagonal_adjoint(y, g, a, offset, axis1, axis2):
    g_bar = np.diagonal(y_bar, offset, axis1, axis2)


@tangent(undiagonal)
def undiagonal_tangent(y, g, a, offset, axis1, axis2):
    y_dot = undiagonal(g_dot, a, offset, axis1, axis2)


@adjoint(untake)
def untake_adjoint(y, g, a, indices, axis, mode):
    g_bar = np.take(y_bar, indices, axis, mode=mode)


@tangent(untake)
def untake_tangent(y, g, a, indices, axis, mode):
    y_dot = untake(g_dot, a, indices, axis, mode)


@adjoint(untake_along_axis)
def untake_along_axis_adjoint(y, g, arr, indices, axis):
    g_bar = np.take_along_axis(y_bar, indices, axis)


@tangent(untake_along_axis)
def untake_along_axis_tangent(y, g, arr, indices, axis):
    y_dot = untake_along_axis(g_dot, arr, indices, axis)


@adjoint(unarray)
def unarray_adjoint(y, g, object, y_array):
    g_bar = rearray(y_bar, object, y_array)


@tangent(unarray)
def unarray_tangent(y, g, object, y_array):
    y_dot = unarray(g_dot, object, y_array)


@adjoint(rearray)
def rearray_adjoint(y, gs, object, y_array):
    gs_bar = unarray(y_bar, object, y_array)


@tangent(rearray)
def rearray_tangent(y, gs, object, y_array):
    y_dot = rearray(gs_dot, object, y_array)


@adjoint(cast_like)
def cast_like_adjoint(y, g, like, y_cast):
    # a cast is the identity on values (or zero for integer results); transpose: cast back
    g_bar = cast_like(y_bar, g, y_cast)


@tangent(cast_like)
def cast_like_tangent(y, g, like, y_cast):
    y_dot = cast_like(g_dot, like, y_cast)


@adjoint(unmeshgrid)
def unmeshgrid_adjoint(y, gs, xi, sparse, indexing):
    gs_bar = remesh(y_bar, xi, sparse, indexing)


@tangent(unmeshgrid)
def unmeshgrid_tangent(y, gs, xi, sparse, indexing):
    y_dot = unmeshgrid(gs_dot, xi, sparse, indexing)


@adjoint(remesh)
def remesh_adjoint(y, gs, xi, sparse, indexing):
    gs_bar = unmeshgrid(y_bar, xi, sparse, indexing)


@tangent(remesh)
def remesh_tangent(y, gs, xi, sparse, indexing):
    y_dot = remesh(gs_dot, xi, sparse, indexing)


@adjoint(interp_fp_bar)
def interp_fp_bar_adjoint(y, g, x, xp, fp, left, right, period):
    # interp_fp_bar is the transpose of fp -> np.interp(x, xp, fp) with zero end values
    g_bar = np.interp(x, xp, y_bar, left=zero_or_none(left), right=zero_or_none(right), period=period)
    # y[i0] += g (1 - t), y[i1] += g t with dt/dx = 1 / (xp[i1] - xp[i0]): x_bar = g (y_bar[i1] - y_bar[i0]) dt/dx
    x_bar = g * interp_slope(x, xp, y_bar, left, right, period)
    xp_bar = not_differentiated(xp, "interp_fp_bar", "xp")  # as for np.interp: refused, not zero
    period_bar = not_differentiated(period, "interp_fp_bar", "period")


@tangent(interp_fp_bar)
def interp_fp_bar_tangent(y, g, x, xp, fp, left, right, period):
    # the weights move with x: y[i1] gains g dt/dx x_dot and y[i0] loses it
    y_dot = (
        interp_fp_bar(g_dot, x, xp, fp, left, right, period)
        + interp_slope_fp_bar(g * x_dot, x, xp, fp, left, right, period)
        + not_differentiated(xp_dot, "interp_fp_bar", "xp")
        + not_differentiated(period_dot, "interp_fp_bar", "period")
    )


@adjoint(interp_slope)
def interp_slope_adjoint(y, x, xp, fp, left, right, period):
    # the slope is piecewise constant in x and linear in fp
    fp_bar = interp_slope_fp_bar(y_bar, x, xp, fp, left, right, period)
    xp_bar = not_differentiated(xp, "interp_slope", "xp")  # as for np.interp: refused, not zero
    period_bar = not_differentiated(period, "interp_slope", "period")


@tangent(interp_slope)
def interp_slope_tangent(y, x, xp, fp, left, right, period):
    y_dot = (
        interp_slope(x, xp, fp_dot, left, right, period)
        + not_differentiated(xp_dot, "interp_slope", "xp")
        + not_differentiated(period_dot, "interp_slope", "period")
    )


@adjoint(interp_slope_fp_bar)
def interp_slope_fp_bar_adjoint(y, g, x, xp, fp, left, right, period):
    g_bar = interp_slope(x, xp, y_bar, left, right, period)
    xp_bar = not_differentiated(xp, "interp_slope_fp_bar", "xp")  # as for np.interp: refused, not zero
    period_bar = not_differentiated(period, "interp_slope_fp_bar", "period")


@tangent(interp_slope_fp_bar)
def interp_slope_fp_bar_tangent(y, g, x, xp, fp, left, right, period):
    y_dot = (
        interp_slope_fp_bar(g_dot, x, xp, fp, left, right, period)
        + not_differentiated(xp_dot, "interp_slope_fp_bar", "xp")
        + not_differentiated(period_dot, "interp_slope_fp_bar", "period")
    )


@adjoint(assigned_part)
def assigned_part_adjoint(y, g, index, value):
    g_bar = place(y_bar, g, index)


@tangent(assigned_part)
def assigned_part_tangent(y, g, index, value):
    y_dot = assigned_part(g_dot, index, value)


@adjoint(place)
def place_adjoint(y, v, x, index):
    v_bar = assigned_part(y_bar, index, v)


@tangent(place)
def place_tangent(y, v, x, index):
    y_dot = place(v_dot, x, index)


@adjoint(slot)
def slot_adjoint(y, g, x, k):
    g_bar = y_bar[k]


@tangent(slot)
def slot_tangent(y, g, x, k):
    y_dot = slot(g_dot, x, k)


# ---------------------------------------------------------------------------
# Reshaping: y has a's elements in the same order, a different shape
# ---------------------------------------------------------------------------


@adjoint(np.reshape)
def reshape(y, a, shape=None, order="C", *, copy=None):
    # y = a read in `order` and written into `shape`: a_bar = y_bar reshaped back (same order)
    a_bar = reshape_in_order(y_bar, np.shape(a), layout_order(a, order))


@tangent(np.reshape)
def reshape_tangent(y, a, shape=None, order="C", *, copy=None):
    y_dot = reshape_in_order(a_dot, np.shape(y), layout_order(a, order))


@adjoint(Method("reshape"))
def reshape_method(y, a, *shape, order="C", copy=None):
    """x.reshape(2, 3) and x.reshape((2, 3))."""
    a_bar = reshape_in_order(y_bar, np.shape(a), layout_order(a, order))


@tangent(Method("reshape"))
def reshape_method_tangent(y, a, *shape, order="C", copy=None):
    y_dot = reshape_in_order(a_dot, np.shape(y), layout_order(a, order))


@adjoint(np.ravel)
def ravel(y, a, order="C"):
    """Also x.ravel() and x.flatten(). order='K' follows a's memory layout."""
    # y = a flattened in `order`: a_bar = y_bar unflattened in the same order
    a_bar = (
        np.reshape(np.take(y_bar, np.argsort(ravel_permutation(a))), np.shape(a))
        if order == "K"
        else reshape_in_order(y_bar, np.shape(a), layout_order(a, order))
    )


@tangent(np.ravel)
def ravel_tangent(y, a, order="C"):
    y_dot = np.take(np.ravel(a_dot), ravel_permutation(a)) if order == "K" else reshape_in_order(a_dot, (-1,), layout_order(a, order))


@adjoint(np.expand_dims)
def expand_dims(y, a, axis):
    # inserting unit axes only reshapes: a_bar = y_bar reshaped to a's shape
    a_bar = np.reshape(y_bar, np.shape(a))


@tangent(np.expand_dims)
def expand_dims_tangent(y, a, axis):
    y_dot = np.reshape(a_dot, np.shape(y))


@adjoint(np.squeeze)
def squeeze(y, a, axis=None):
    # removing unit axes only reshapes
    a_bar = np.reshape(y_bar, np.shape(a))


@tangent(np.squeeze)
def squeeze_tangent(y, a, axis=None):
    y_dot = np.reshape(a_dot, np.shape(y))


@adjoint(np.atleast_1d, np.atleast_2d, np.atleast_3d)
def atleast_nd(y, *arys):
    """One argument gives an array, several a tuple of arrays."""
    # adding unit axes only reshapes
    arys_bar = (np.reshape(y_bar, np.shape(arys[0])),) if len(arys) == 1 else rearray_shapes(y_bar, arys)


@tangent(np.atleast_1d, np.atleast_2d, np.atleast_3d)
def atleast_nd_tangent(y, *arys):
    y_dot = np.reshape(arys_dot[0], np.shape(y)) if len(arys) == 1 else rearray_shapes(arys_dot, y)


def rearray_shapes(gs, like):
    """Each of `gs` (None: zeros) reshaped to the shape of the matching entry of `like`."""
    return tuple(
        np.zeros(np.shape(r)) if g is None else np.reshape(g, np.shape(r)) for g, r in zip(gs, like)
    )


@adjoint(rearray_shapes)
def rearray_shapes_adjoint(y, gs, like):
    gs_bar = rearray_shapes(y_bar, gs)


@tangent(rearray_shapes)
def rearray_shapes_tangent(y, gs, like):
    y_dot = rearray_shapes(gs_dot, like)


@adjoint(np.broadcast_to)
def broadcast_to(y, array, shape, subok=False):
    # each element of array is copied to many places: array_bar = sum of their adjoints
    array_bar = unbroadcast(y_bar, array)


@tangent(np.broadcast_to)
def broadcast_to_tangent(y, array, shape, subok=False):
    y_dot = np.broadcast_to(array_dot, shape)


# ---------------------------------------------------------------------------
# Permuting axes: the adjoint applies the inverse permutation
# ---------------------------------------------------------------------------


@adjoint(np.transpose)
def transpose(y, a, axes=None):
    # y = a with axes permuted by p: a_bar = y_bar permuted by p^-1
    a_bar = np.transpose(y_bar, transpose_inverse(axes, np.ndim(a)))


@tangent(np.transpose)
def transpose_tangent(y, a, axes=None):
    y_dot = np.transpose(a_dot, axes)


@adjoint(Method("transpose"))
def transpose_method(y, a, *axes):
    """x.transpose(), x.transpose(1, 0, 2), x.transpose((1, 0, 2))."""
    a_bar = np.transpose(y_bar, transpose_inverse(method_axes(axes), np.ndim(a)))


@tangent(Method("transpose"))
def transpose_method_tangent(y, a, *axes):
    y_dot = np.transpose(a_dot, method_axes(axes))


@adjoint(Attr("T"))
def T(y, a):
    # y = a.T reverses the axes, its own inverse
    a_bar = np.transpose(y_bar)


@tangent(Attr("T"))
def T_tangent(y, a):
    y_dot = np.transpose(a_dot)


@adjoint(Attr("mT"), np.matrix_transpose, np.linalg.matrix_transpose)
def matrix_transpose(y, x):
    # swapping the last two axes is its own inverse
    x_bar = np.swapaxes(y_bar, -1, -2)


@tangent(Attr("mT"), np.matrix_transpose, np.linalg.matrix_transpose)
def matrix_transpose_tangent(y, x):
    y_dot = np.swapaxes(x_dot, -1, -2)


@adjoint(np.swapaxes)
def swapaxes(y, a, axis1, axis2):
    # a swap is its own inverse
    a_bar = np.swapaxes(y_bar, axis1, axis2)


@tangent(np.swapaxes)
def swapaxes_tangent(y, a, axis1, axis2):
    y_dot = np.swapaxes(a_dot, axis1, axis2)


@adjoint(np.moveaxis)
def moveaxis(y, a, source, destination):
    # move the axes back from destination to source
    a_bar = np.moveaxis(y_bar, destination, source)


@tangent(np.moveaxis)
def moveaxis_tangent(y, a, source, destination):
    y_dot = np.moveaxis(a_dot, source, destination)


# ---------------------------------------------------------------------------
# Joining and splitting: the adjoint of a join splits y_bar, and vice versa
# ---------------------------------------------------------------------------


@adjoint(np.concatenate)
def concatenate(y, arrays, axis=0, *, dtype=None, casting="same_kind"):
    """axis=None concatenates the flattened arrays."""
    # y = [a1 | a2 | ...] along axis: a_k_bar = the block of y_bar that a_k filled
    arrays_bar = unstack_like(y_bar, arrays, axis, "concatenate")


@tangent(np.concatenate)
def concatenate_tangent(y, arrays, axis=0, *, dtype=None, casting="same_kind"):
    y_dot = restack_like(arrays_dot, arrays, axis, "concatenate")


@adjoint(np.stack)
def stack(y, arrays, axis=0, *, dtype=None, casting="same_kind"):
    # y[..., k, ...] = a_k: a_k_bar = y_bar[..., k, ...]
    arrays_bar = unstack_like(y_bar, arrays, axis, "stack")


@tangent(np.stack)
def stack_tangent(y, arrays, axis=0, *, dtype=None, casting="same_kind"):
    y_dot = restack_like(arrays_dot, arrays, axis, "stack")


@adjoint(np.hstack)
def hstack(y, tup, *, dtype=None, casting="same_kind"):
    tup_bar = unstack_like(y_bar, tup, None, "hstack")


@tangent(np.hstack)
def hstack_tangent(y, tup, *, dtype=None, casting="same_kind"):
    y_dot = restack_like(tup_dot, tup, None, "hstack")


@adjoint(np.vstack)
def vstack(y, tup, *, dtype=None, casting="same_kind"):
    tup_bar = unstack_like(y_bar, tup, None, "vstack")


@tangent(np.vstack)
def vstack_tangent(y, tup, *, dtype=None, casting="same_kind"):
    y_dot = restack_like(tup_dot, tup, None, "vstack")


@adjoint(np.dstack)
def dstack(y, tup):
    tup_bar = unstack_like(y_bar, tup, None, "dstack")


@tangent(np.dstack)
def dstack_tangent(y, tup):
    y_dot = restack_like(tup_dot, tup, None, "dstack")


@adjoint(np.column_stack)
def column_stack(y, tup):
    tup_bar = unstack_like(y_bar, tup, None, "column_stack")


@tangent(np.column_stack)
def column_stack_tangent(y, tup):
    y_dot = restack_like(tup_dot, tup, None, "column_stack")


def c_column(a):
    """One item of ``np.c_[...]`` as NumPy places it: a number or 1-D array becomes a column."""
    return np.reshape(a, (-1, 1)) if np.ndim(a) < 2 else a


@adjoint(c_column)
def c_column_adjoint(y, a):
    # a reshape (or nothing): undone by the inverse reshape
    a_bar = np.reshape(y_bar, np.shape(a))


@tangent(c_column)
def c_column_tangent(y, a):
    y_dot = c_column(a_dot)


@adjoint(np.append)
def append(y, arr, values, axis=None):
    # y = concatenate((arr, values), axis) (flattened when axis is None)
    arr_bar, values_bar = unstack_like(y_bar, (arr, values), axis, "concatenate")


@tangent(np.append)
def append_tangent(y, arr, values, axis=None):
    y_dot = restack_like((arr_dot, None), (arr, values), axis, "concatenate") + restack_like(
        (None, values_dot), (arr, values), axis, "concatenate"
    )


returns_tuple(np.split, np.array_split, np.hsplit, np.vsplit, np.dsplit, np.unstack, np.meshgrid)


@adjoint(np.split, np.array_split)
def split(y, ary, indices_or_sections, axis=0):
    # y = the blocks of ary along axis: ary_bar = the blocks' adjoints joined (None -> zeros)
    ary_bar = restack_like(y_bar, y, axis, "concatenate")


@tangent(np.split, np.array_split)
def split_tangent(y, ary, indices_or_sections, axis=0):
    y_dot = split_like(ary_dot, y, axis)


def split_like(g, pieces, axis):
    """`g` split along `axis` into blocks shaped like `pieces` (a list, as np.split returns)."""
    return list(unstack_like(g, list(pieces), axis, "concatenate"))


@adjoint(split_like)
def split_like_adjoint(y, g, pieces, axis):
    g_bar = restack_like(y_bar, pieces, axis, "concatenate")


@tangent(split_like)
def split_like_tangent(y, g, pieces, axis):
    y_dot = split_like(g_dot, pieces, axis)


@adjoint(np.hsplit)
def hsplit(y, ary, indices_or_sections):
    # hsplit splits along axis 1 (axis 0 for 1-D arrays)
    ary_bar = restack_like(y_bar, y, 1 if np.ndim(ary) > 1 else 0, "concatenate")


@tangent(np.hsplit)
def hsplit_tangent(y, ary, indices_or_sections):
    y_dot = split_like(ary_dot, y, 1 if np.ndim(ary) > 1 else 0)


@adjoint(np.vsplit)
def vsplit(y, ary, indices_or_sections):
    ary_bar = restack_like(y_bar, y, 0, "concatenate")


@tangent(np.vsplit)
def vsplit_tangent(y, ary, indices_or_sections):
    y_dot = split_like(ary_dot, y, 0)


@adjoint(np.dsplit)
def dsplit(y, ary, indices_or_sections):
    ary_bar = restack_like(y_bar, y, 2, "concatenate")


@tangent(np.dsplit)
def dsplit_tangent(y, ary, indices_or_sections):
    y_dot = split_like(ary_dot, y, 2)


@adjoint(np.unstack)
def unstack(y, x, *, axis=0):
    # y_k = x[..., k, ...]: x_bar = the y_k_bar stacked along axis
    x_bar = restack_like(y_bar, y, axis, "stack")


@tangent(np.unstack)
def unstack_tangent(y, x, *, axis=0):
    y_dot = np.unstack(x_dot, axis=axis)


# ---------------------------------------------------------------------------
# Copying, tiling, flipping, rolling, padding
# ---------------------------------------------------------------------------


@adjoint(np.tile)
def tile(y, A, reps):
    # y holds prod(reps) copies of A: A_bar = sum of the copies' adjoints
    A_bar = untile(y_bar, A, reps)


@tangent(np.tile)
def tile_tangent(y, A, reps):
    y_dot = np.tile(A_dot, reps)


@adjoint(np.repeat)
def repeat(y, a, repeats, axis=None):
    # each a_i is repeated: a_i_bar = sum of the adjoints of its repeats
    a_bar = unrepeat(y_bar, a, repeats, axis)


@tangent(np.repeat)
def repeat_tangent(y, a, repeats, axis=None):
    y_dot = np.repeat(a_dot, repeats, axis)


@adjoint(np.flip)
def flip(y, m, axis=None):
    # a reversal is its own inverse
    m_bar = np.flip(y_bar, axis)


@tangent(np.flip)
def flip_tangent(y, m, axis=None):
    y_dot = np.flip(m_dot, axis)


@adjoint(np.fliplr)
def fliplr(y, m):
    m_bar = np.fliplr(y_bar)


@tangent(np.fliplr)
def fliplr_tangent(y, m):
    y_dot = np.fliplr(m_dot)


@adjoint(np.flipud)
def flipud(y, m):
    m_bar = np.flipud(y_bar)


@tangent(np.flipud)
def flipud_tangent(y, m):
    y_dot = np.flipud(m_dot)


@adjoint(np.roll)
def roll(y, a, shift, axis=None):
    # roll back by -shift
    a_bar = np.roll(y_bar, np.negative(shift), axis)


@tangent(np.roll)
def roll_tangent(y, a, shift, axis=None):
    y_dot = np.roll(a_dot, shift, axis)


@adjoint(np.rot90)
def rot90(y, m, k=1, axes=(0, 1)):
    # rotate back by -k quarter turns
    m_bar = np.rot90(y_bar, -k, axes)


@tangent(np.rot90)
def rot90_tangent(y, m, k=1, axes=(0, 1)):
    y_dot = np.rot90(m_dot, k, axes)


@adjoint(np.pad)
def pad(y, array, pad_width, mode="constant", *, constant_values=0, reflect_type="even"):
    """Modes constant, edge, reflect, symmetric, wrap; a scalar constant_values is differentiable."""
    # constant: y = array inside, constant_values outside; the copying modes add each
    # padded entry's adjoint onto the element it copies
    array_bar = unpad(y_bar, array, pad_width, mode, reflect_type)
    constant_values_bar = np.sum(y_bar * pad_mask(array, pad_width, constant_values))


@tangent(np.pad)
def pad_tangent(y, array, pad_width, mode="constant", *, constant_values=0, reflect_type="even"):
    y_dot = repad(array_dot, array, pad_width, mode, reflect_type) + constant_values_dot * pad_mask(
        array, pad_width, constant_values
    )


# ---------------------------------------------------------------------------
# Triangles and diagonals
# ---------------------------------------------------------------------------


@adjoint(np.triu)
def triu(y, m, k=0):
    """A 1-D m is broadcast to a square matrix first."""
    # y = m masked to its upper triangle: m_bar = y_bar masked the same way
    m_bar = unbroadcast(np.triu(y_bar, k), m)


@tangent(np.triu)
def triu_tangent(y, m, k=0):
    y_dot = np.triu(m_dot, k)


@adjoint(np.tril)
def tril(y, m, k=0):
    m_bar = unbroadcast(np.tril(y_bar, k), m)


@tangent(np.tril)
def tril_tangent(y, m, k=0):
    y_dot = np.tril(m_dot, k)


@adjoint(np.diag)
def diag(y, v, k=0):
    # 1-D v: y = matrix with v on diagonal k, v_bar = that diagonal of y_bar;
    # 2-D v: y = diagonal k of v, v_bar = zeros with y_bar on that diagonal
    v_bar = np.diag(y_bar, k) if np.ndim(v) == 1 else undiagonal(y_bar, v, k, 0, 1)


@tangent(np.diag)
def diag_tangent(y, v, k=0):
    y_dot = np.diag(v_dot, k)


@adjoint(np.diagflat)
def diagflat(y, v, k=0):
    # y = a square matrix with the flattened v on its diagonal k: v_bar = that diagonal of y_bar
    v_bar = np.reshape(np.diagonal(y_bar, k), np.shape(v))


@tangent(np.diagflat)
def diagflat_tangent(y, v, k=0):
    y_dot = np.diagflat(v_dot, k)


@adjoint(np.diagonal)
def diagonal(y, a, offset=0, axis1=0, axis2=1):
    # y = the diagonal `offset` of axes (axis1, axis2): a_bar = zeros with y_bar on it
    a_bar = undiagonal(y_bar, a, offset, axis1, axis2)


@tangent(np.diagonal)
def diagonal_tangent(y, a, offset=0, axis1=0, axis2=1):
    y_dot = np.diagonal(a_dot, offset, axis1, axis2)


@adjoint(np.linalg.diagonal)
def linalg_diagonal(y, x, *, offset=0):
    # the diagonal of the last two axes
    x_bar = undiagonal(y_bar, x, offset, -2, -1)


@tangent(np.linalg.diagonal)
def linalg_diagonal_tangent(y, x, *, offset=0):
    y_dot = np.linalg.diagonal(x_dot, offset=offset)


# ---------------------------------------------------------------------------
# Sorting and gathering
# ---------------------------------------------------------------------------


@adjoint(np.sort)
def sort(y, a, axis=-1, kind=None, order=None, *, stable=None):
    """Ties: each tied element receives the adjoint of the position argsort gave it."""
    # y = a permuted by p = argsort(a): a_bar = y_bar scattered back through p
    a_bar = untake_along_axis(y_bar, a, np.argsort(a, axis=axis, kind=kind, stable=stable), axis)


@tangent(np.sort)
def sort_tangent(y, a, axis=-1, kind=None, order=None, *, stable=None):
    y_dot = np.take_along_axis(a_dot, np.argsort(a, axis=axis, kind=kind, stable=stable), axis)


@adjoint(np.take)
def take(y, a, indices, axis=None, *, mode="raise"):
    """Repeated indices accumulate."""
    # y = a[indices] along axis: a_bar = zeros with y_bar added at indices
    a_bar = untake(y_bar, a, indices, axis, mode)


@tangent(np.take)
def take_tangent(y, a, indices, axis=None, *, mode="raise"):
    y_dot = np.take(a_dot, indices, axis, mode=mode)


@adjoint(np.take_along_axis)
def take_along_axis(y, arr, indices, axis=-1):
    arr_bar = untake_along_axis(y_bar, arr, indices, axis)


@tangent(np.take_along_axis)
def take_along_axis_tangent(y, arr, indices, axis=-1):
    y_dot = np.take_along_axis(arr_dot, indices, axis)


# ---------------------------------------------------------------------------
# Indexing: x[index] and x[index] = value
# ---------------------------------------------------------------------------


@adjoint(operator.getitem)
def getitem(y, x, index):
    """Basic, advanced (repeated indices accumulate), boolean, None and Ellipsis indices;
    tuples and lists too."""
    # y = x[index]: x_bar = zeros like x with y_bar added at index
    x_bar = scatter_add(y_bar, x, index)


@tangent(operator.getitem)
def getitem_tangent(y, x, index):
    y_dot = x_dot[index]


@adjoint(setitem)
def setitem_(y, x, index, value):
    """With repeated advanced indices the last write wins, and only it gets gradient."""
    # y = x with y[index] = value: the overwritten entries of x no longer matter, and
    # value (broadcast to x[index]) receives y_bar[index]
    x_bar = zero_at(y_bar, index)
    value_bar = assigned_part(y_bar, index, value)


@tangent(setitem)
def setitem_tangent(y, x, index, value):
    y_dot = zero_at(x_dot, index) + place(value_dot, x, index)


@adjoint(set_at)
def set_at_(y, x, index, value):
    # y = a copy of x with y[index] = value: as for setitem
    x_bar = zero_at(y_bar, index)
    value_bar = assigned_part(y_bar, index, value)


@tangent(set_at)
def set_at_tangent(y, x, index, value):
    y_dot = zero_at(x_dot, index) + place(value_dot, x, index)


# ---------------------------------------------------------------------------
# Constructors and copies
# ---------------------------------------------------------------------------


@adjoint(np.array)
def array(y, object, dtype=None, *, copy=True, order="K", subok=False, ndmin=0, ndmax=0, like=None):
    """object may be an array, a scalar or a (nested) list/tuple of them; an integer
    dtype gives no gradient."""
    # y = the elements of object, stacked: object_bar = y_bar cut back into object's structure
    object_bar = unarray(y_bar, object, y)


@tangent(np.array)
def array_tangent(y, object, dtype=None, *, copy=True, order="K", subok=False, ndmin=0, ndmax=0, like=None):
    y_dot = rearray(object_dot, object, y)


@adjoint(np.asarray, np.asanyarray)
def asarray(y, a, dtype=None, order=None, *, device=None, copy=None, like=None):
    a_bar = unarray(y_bar, a, y)


@tangent(np.asarray, np.asanyarray)
def asarray_tangent(y, a, dtype=None, order=None, *, device=None, copy=None, like=None):
    y_dot = rearray(a_dot, a, y)


@adjoint(np.ascontiguousarray, np.asfortranarray)
def ascontiguousarray(y, a, dtype=None, *, like=None):
    a_bar = unarray(y_bar, a, y)


@tangent(np.ascontiguousarray, np.asfortranarray)
def ascontiguousarray_tangent(y, a, dtype=None, *, like=None):
    y_dot = rearray(a_dot, a, y)


@adjoint(np.copy)
def copy(y, a, order="K", subok=False):
    """Also x.copy()."""
    # y = a
    a_bar = y_bar


@tangent(np.copy)
def copy_tangent(y, a, order="K", subok=False):
    y_dot = np.copy(a_dot)


@adjoint(Method("astype"))
def astype(y, a, dtype, order="K", casting="unsafe", subok=True, copy=True):
    """A cast to an integer or bool dtype has derivative zero."""
    # y = a converted to dtype: a_bar = y_bar converted back to a's dtype
    a_bar = cast_like(y_bar, a, y)


@tangent(Method("astype"))
def astype_tangent(y, a, dtype, order="K", casting="unsafe", subok=True, copy=True):
    y_dot = cast_like(a_dot, y, y)


@adjoint(np.float64, np.float32, np.longdouble)
def float_type(y, x=0.0):
    """np.float64(x), np.float32(x) ...: a cast of a number or an array, as x.astype(...)."""
    # y = x converted to the float type: x_bar = y_bar converted back to x's dtype
    x_bar = cast_like(y_bar, x, y)


@tangent(np.float64, np.float32, np.longdouble)
def float_type_tangent(y, x=0.0):
    y_dot = cast_like(x_dot, y, y)


nondifferentiable(
    *dict.fromkeys([np.int8, np.int16, np.int32, np.int64, np.intp, np.uint8, np.uint16, np.uint32, np.uint64,
                    np.uintp, np.bool_]),
    note="integer or boolean result",
)


def imag_bar(g, x):
    """The adjoint of ``np.imag(x)`` for a real `x`: the imaginary part of a real number is 0 whatever
    the number, so its derivative is zero. A complex `x` is refused: no rule follows a complex
    convention."""
    if np.iscomplexobj(x):
        raise NotImplementedError("s2sad: the imaginary part of a complex value computed from a real one: s2sad "
                                  "differentiates real functions of real values only. Keep the real and imaginary "
                                  "parts as two real arrays (or register a rule)")
    return zeros_like_float(x)


def zeros_like_float(x):
    return 0.0 if np.ndim(x) == 0 and not isinstance(x, np.ndarray) else np.zeros(np.shape(x))


nondifferentiable(imag_bar, zeros_like_float, note="zero for every real argument")


@adjoint(np.real, Attr("real"))
def real(y, val):
    """Real arguments: the identity (a complex argument is refused where its adjoint reaches a real value)."""
    # Re x = x for real x
    val_bar = cast_like(y_bar, val, y)


@tangent(np.real, Attr("real"))
def real_tangent(y, val):
    y_dot = np.real(val_dot)


@adjoint(np.imag, Attr("imag"))
def imag(y, val):
    """Real arguments: zero (Im x = 0 whatever x); a complex argument is refused."""
    # Im x = 0 for real x: no change of x changes it
    val_bar = imag_bar(y_bar, val)


@tangent(np.imag, Attr("imag"))
def imag_tangent(y, val):
    y_dot = np.imag(val_dot)


@adjoint(Method("item"))
def item(y, a):
    """``a.item()`` of a one-element array (or a number): the identity, reshaped."""
    # y = the single element of a: a_bar = y_bar in a's shape
    a_bar = y_bar if np.ndim(a) == 0 else np.reshape(y_bar, np.shape(a))


@tangent(Method("item"))
def item_tangent(y, a):
    y_dot = np.reshape(a_dot, ()) if isinstance(a_dot, np.ndarray) else a_dot


@adjoint(np.full_like)
def full_like(y, a, fill_value, dtype=None, order="K", subok=True, shape=None, *, device=None):
    """Differentiable in fill_value (which may broadcast), not in a."""
    # y_i = fill_value: fill_value_bar = y_bar summed back to fill_value's shape
    fill_value_bar = unbroadcast(cast_like(y_bar, y_bar, y), fill_value)


@tangent(np.full_like)
def full_like_tangent(y, a, fill_value, dtype=None, order="K", subok=True, shape=None, *, device=None):
    y_dot = np.full(np.shape(y), cast_like(fill_value_dot, fill_value_dot, y))


@adjoint(np.meshgrid)
def meshgrid(y, *xi, copy=True, sparse=False, indexing="xy"):
    # grid k repeats x_k along the other axes: x_k_bar = y_k_bar summed over those axes
    xi_bar = unmeshgrid(y_bar, xi, sparse, indexing)


@tangent(np.meshgrid)
def meshgrid_tangent(y, *xi, copy=True, sparse=False, indexing="xy"):
    y_dot = remesh(xi_dot, xi, sparse, indexing)


@adjoint(np.linspace)
def linspace(y, start, stop, num=50, endpoint=True, dtype=None, axis=0, *, device=None):
    """retstep=True is not supported (refused: not a parameter of this rule)."""
    # y_k = start * (1 - t_k) + stop * t_k with t_k = k / (num - 1)
    w_start, w_stop = linspace_weights(y, num, endpoint, axis)
    start_bar = unbroadcast(np.sum(y_bar * w_start, axis=axis), start)
    stop_bar = unbroadcast(np.sum(y_bar * w_stop, axis=axis), stop)


@tangent(np.linspace)
def linspace_tangent(y, start, stop, num=50, endpoint=True, dtype=None, axis=0, *, device=None):
    w_start, w_stop = linspace_weights(y, num, endpoint, axis)
    y_dot = np.expand_dims(np.broadcast_to(start_dot, shape_without(y, axis)), axis) * w_start + np.expand_dims(
        np.broadcast_to(stop_dot, shape_without(y, axis)), axis
    ) * w_stop


# ---------------------------------------------------------------------------
# Interpolation, convolution, polynomials
# ---------------------------------------------------------------------------


@adjoint(np.interp)
def interp(y, x, xp, fp, left=None, right=None, period=None):
    """Real fp; not differentiable in xp or period (refused where differentiated). At a
    breakpoint x == xp[i] the slope of the segment to the right is used; outside
    [xp[0], xp[-1]] dy/dx = 0."""
    # inside: y = (1 - t) fp[i] + t fp[i+1], t = (x - xp[i]) / (xp[i+1] - xp[i])
    # dy/dx = slope of the segment, dy/dfp = the weights, dy/dleft = 1 below xp[0]
    x_bar = y_bar * interp_slope(x, xp, fp, left, right, period)
    xp_bar = not_differentiated(xp, "np.interp", "xp")
    # the period moves the wrapped breakpoints: y depends on it, but no rule gives that derivative
    period_bar = not_differentiated(period, "np.interp", "period")
    fp_bar = interp_fp_bar(y_bar, x, xp, fp, left, right, period)
    left_bar = unbroadcast(y_bar * interp_outside(x, xp, left, right, period, "left"), left)
    right_bar = unbroadcast(y_bar * interp_outside(x, xp, left, right, period, "right"), right)


@tangent(np.interp)
def interp_tangent(y, x, xp, fp, left=None, right=None, period=None):
    y_dot = (
        x_dot * interp_slope(x, xp, fp, left, right, period)
        + not_differentiated(xp_dot, "np.interp", "xp")
        + not_differentiated(period_dot, "np.interp", "period")
        + np.interp(x, xp, fp_dot, left=zero_or_none(left), right=zero_or_none(right), period=period)
        + left_dot * interp_outside(x, xp, left, right, period, "left")
        + right_dot * interp_outside(x, xp, left, right, period, "right")
    )


@adjoint(np.convolve)
def convolve(y, a, v, mode="full"):
    """Real inputs."""
    # y_full[n] = sum_k a[k] v[n - k]; with G = y_bar placed into the full length:
    # a_bar[k] = sum_n G[n] v[n - k] = correlate(G, v, 'valid'), likewise v_bar
    a_bar = np.correlate(np.pad(y_bar, conv_pad(a, v, mode, "convolve")), v, "valid")
    v_bar = np.correlate(np.pad(y_bar, conv_pad(a, v, mode, "convolve")), a, "valid")


@tangent(np.convolve)
def convolve_tangent(y, a, v, mode="full"):
    y_dot = np.convolve(a_dot, v, mode) + np.convolve(a, v_dot, mode)


@adjoint(np.correlate)
def correlate(y, a, v, mode="valid"):
    """Real inputs."""
    # y_full[k] = sum_n a[n + k] v[n]; with G = y_bar placed into the full length:
    # a_bar = convolve(G, v, 'valid'), v_bar = reversed correlate(G, a, 'valid')
    a_bar = np.convolve(np.pad(y_bar, conv_pad(a, v, mode, "correlate")), v, "valid")
    v_bar = np.flip(np.correlate(np.pad(y_bar, conv_pad(a, v, mode, "correlate")), a, "valid"))


@tangent(np.correlate)
def correlate_tangent(y, a, v, mode="valid"):
    y_dot = np.correlate(a_dot, v, mode) + np.correlate(a, v_dot, mode)


@adjoint(np.polyval)
def polyval(y, p, x):
    """p is a 1-D coefficient sequence (highest power first)."""
    # y = sum_i p_i x^(n-1-i): p_bar_i = sum(y_bar * x^(n-1-i)), x_bar = y_bar * p'(x)
    p_bar = np.reshape(y_bar, (-1,)) @ np.reshape(x, (-1, 1)) ** np.arange(len(p) - 1, -1, -1)
    x_bar = y_bar * np.polyval(np.multiply(p[:-1], np.arange(len(p) - 1, 0, -1)), x)


@tangent(np.polyval)
def polyval_tangent(y, p, x):
    y_dot = np.polyval(p_dot, x) + x_dot * np.polyval(np.multiply(p[:-1], np.arange(len(p) - 1, 0, -1)), x)


# ---------------------------------------------------------------------------
# np.select: each entry is the choice of the first condition that holds there, else the default.
# With taken_k = cond_k and no earlier cond: choice_k_bar = taken_k y_bar (summed to choice_k's
# shape), default_bar = [no cond] y_bar. The map y_bar -> [choice_k_bar] (`select_adjoint`) and the
# tangent [choice_k_dot] -> y_dot (`select_tangent`, np.select with default 0) are transposes.
# ---------------------------------------------------------------------------


def select_taken(condlist, shape):
    """For each condition, where it is the first that holds, broadcast to `shape`."""
    earlier = np.zeros(shape, dtype=bool)
    taken = []
    for cond in condlist:
        now = np.broadcast_to(np.asarray(cond, dtype=bool), shape)
        taken.append(now & ~earlier)
        earlier = earlier | now
    return taken


def select_default_mask(condlist, y):
    """Where np.select took the default: no condition holds."""
    shape = np.shape(y)
    mask = np.ones(shape, dtype=bool)
    for cond in condlist:
        mask = mask & ~np.broadcast_to(np.asarray(cond, dtype=bool), shape)
    return mask


def select_adjoint(g, condlist, choicelist):
    """Each choice's adjoint: `g` where that choice was taken, 0 elsewhere, summed to its shape."""
    parts = []
    for taken, choice in zip(select_taken(condlist, np.shape(g)), choicelist):
        part = np.where(taken, g, 0.0)
        parts.append(part if choice is None else unbroadcast(part, choice))
    return parts


def select_tangent(dots, condlist):
    """np.select of the choices' tangents (None: an inactive choice, 0) with default 0."""
    return np.select(condlist, [0.0 if d is None else d for d in dots], 0.0)


nondifferentiable(select_taken, select_default_mask)


@adjoint(select_adjoint)
def select_adjoint_adjoint(y, g, condlist, choicelist):
    # linear in g; its transpose is select_tangent (broadcast back to g's shape)
    g_bar = np.broadcast_to(select_tangent(y_bar, condlist), np.shape(g))


@tangent(select_adjoint)
def select_adjoint_tangent(y, g, condlist, choicelist):
    y_dot = select_adjoint(g_dot, condlist, choicelist)


@adjoint(select_tangent)
def select_tangent_adjoint(y, dots, condlist):
    dots_bar = select_adjoint(y_bar, condlist, dots)


@tangent(select_tangent)
def select_tangent_tangent(y, dots, condlist):
    y_dot = select_tangent(dots_dot, condlist)


@adjoint(np.select)
def select(y, condlist, choicelist, default=0):
    """Differentiable in the choices and the default; the conditions are piecewise constant."""
    # see the comment above
    choicelist_bar = select_adjoint(y_bar, condlist, choicelist)
    default_bar = unbroadcast(np.where(select_default_mask(condlist, y), y_bar, 0.0), default)


@tangent(np.select, elementwise=True)
def select_tangent_rule(y, condlist, choicelist, default=0):
    y_dot = select_tangent(choicelist_dot, condlist) + np.where(select_default_mask(condlist, y), default_dot, 0.0)


# ---------------------------------------------------------------------------
# np.unique: the sorted distinct values, y_k = a_i at the first i where a_i equals it (the index
# np.unique(return_index=True) gives). So y_bar goes to those first occurrences (as a gather's
# adjoint), and y_dot is the tangent read there. Where entries are equal the derivative is a
# convention: moving one copy alone would split the value in two.
# ---------------------------------------------------------------------------


def unique_first_indices(ar, return_index, return_inverse, return_counts, axis):
    """The flat index of the first occurrence of each value np.unique(ar) returns; refuses the tuple
    results and axis= (NotImplementedError, reported as NoDerivativeError)."""
    if return_index or return_inverse or return_counts or axis is not None:
        raise NotImplementedError(
            "s2sad: the derivative of np.unique is implemented for its values only (no return_index, "
            "return_inverse, return_counts or axis); call np.unique(x) for the values, and take the "
            "indices from np.unique of a value you do not differentiate"
        )
    return np.unique(np.reshape(ar, -1), return_index=True)[1]


nondifferentiable(unique_first_indices)


@adjoint(np.unique)
def unique(y, ar, return_index=False, return_inverse=False, return_counts=False, axis=None):
    """Values only (the return_* flags and axis= are refused): each value's adjoint goes to its first
    occurrence in the flattened array. equal_nan= and sorted= are refused."""
    # see the comment above
    ar_bar = untake_along_axis(
        y_bar, ar, unique_first_indices(ar, return_index, return_inverse, return_counts, axis), None)


@tangent(np.unique)
def unique_tangent(y, ar, return_index=False, return_inverse=False, return_counts=False, axis=None):
    y_dot = np.take(ar_dot, unique_first_indices(ar, return_index, return_inverse, return_counts, axis))


# ---------------------------------------------------------------------------
# ndarray methods
# ---------------------------------------------------------------------------

method_mirrors(
    ravel=np.ravel,
    flatten=np.ravel,
    squeeze=np.squeeze,
    swapaxes=np.swapaxes,
    repeat=np.repeat,
    take=np.take,
    diagonal=np.diagonal,
    copy=np.copy,
)
