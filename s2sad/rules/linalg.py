"""Rules for products and numpy.linalg: dot, matmul (``@``), inner, outer, vdot,
vecdot, tensordot, einsum, kron, cross, inv, det, slogdet, solve, cholesky,
eigh, pinv, qr, svd.

Products are bilinear, so each operand's adjoint is the same kind of product of
``y_bar`` with the other operand, contracted over the axes that operand did not
share with the result (see ``tensordot_bar_axes``); batch axes that broadcast are
summed back with ``unbroadcast``. All inputs are real (complex conjugates are
not taken).

The matrix functions use the classical formulas (Giles, "An extended
collection of matrix derivative results", 2008; Seeger et al. 2017; Townsend,
"Differentiating the singular value decomposition", 2016), each written out
next to its rule. Every rule works on stacks of matrices (``(..., M, N)``).
Functions that read only one triangle of their input (``cholesky``, ``eigh``,
``svd``/``pinv`` with ``hermitian=True``) give gradient only to that triangle,
which is the true derivative of what NumPy computes.

Results that are tuples (``slogdet``, ``eigh``, ``qr``, ``svd``) are declared
with ``returns_tuple``: ``y_bar`` is a tuple whose unused entries are ``None``.
"""

from __future__ import annotations

import operator
import string

import numpy as np

from ..runtime import _is_lazy_array, unbroadcast, zeros_like
from .arrays import not_differentiated
from .registry import adjoint, method_mirrors, nondifferentiable, returns_tuple, tangent


# ---------------------------------------------------------------------------
# Helpers with no derivative (axes, shapes, validation, constant tensors)
# ---------------------------------------------------------------------------


def _contracted(na, nb, axes):
    if np.ndim(axes) == 0:
        axes = int(axes)
        return list(range(na - axes, na)), list(range(axes))
    ca, cb = axes
    ca = [int(ca)] if np.ndim(ca) == 0 else [int(c) for c in ca]
    cb = [int(cb)] if np.ndim(cb) == 0 else [int(c) for c in cb]
    return [c % na for c in ca] if na else ca, [c % nb for c in cb] if nb else cb


def tensordot_bar_axes(na, nb, axes, which):
    """How to get an operand's adjoint for ``y = np.tensordot(a, b, axes)``.

    Returns ``(axes_pair, perm)``: for ``which == 0``,
    ``a_bar = np.transpose(np.tensordot(y_bar, b, axes_pair), perm)``; for
    ``which == 1``, ``b_bar = np.transpose(np.tensordot(a, y_bar, axes_pair), perm)``.
    """
    ca, cb = _contracted(na, nb, axes)
    fa = [i for i in range(na) if i not in ca]
    fb = [j for j in range(nb) if j not in cb]
    if which == 0:
        pair = (list(range(len(fa), len(fa) + len(fb))), fb)
        labels = fa + [ca[cb.index(j)] for j in sorted(cb)]
    else:
        pair = (fa, list(range(len(fa))))
        labels = [cb[ca.index(i)] for i in sorted(ca)] + fb
    return pair, tuple(int(i) for i in np.argsort(labels))


def dot_axes(a, b):
    """np.dot(a, b) as np.tensordot(a, b, dot_axes(a, b))."""
    na, nb = np.ndim(a), np.ndim(b)
    if na == 0 or nb == 0:
        return 0
    return ([na - 1], [max(nb - 2, 0)])


def inner_axes(a, b):
    """np.inner(a, b) as np.tensordot(a, b, inner_axes(a, b))."""
    na, nb = np.ndim(a), np.ndim(b)
    if na == 0 or nb == 0:
        return 0
    return ([na - 1], [nb - 1])


def matmul_shape(a, b):
    """The shape of ``np.matmul(a, b)`` for operands of at least 2 axes."""
    batch = np.broadcast_shapes(np.shape(a)[:-2], np.shape(b)[:-2])
    return batch + (np.shape(a)[-2], np.shape(b)[-1])


def matmul_bar_a(g, a, b):
    """The adjoint of `a` in ``y = a @ b`` given ``g = y_bar``: g b^T, shaped like `a`.

    1-D operands are promoted as ``np.matmul`` promotes them; batch axes that
    broadcasting added are summed back.
    """
    a2 = np.expand_dims(a, -2) if np.ndim(a) == 1 else a
    b2 = np.expand_dims(b, -1) if np.ndim(b) == 1 else b
    g2 = np.reshape(g, matmul_shape(a2, b2))
    return np.reshape(unbroadcast(np.matmul(g2, np.swapaxes(b2, -1, -2)), a2), np.shape(a))


def matmul_bar_b(g, a, b):
    """The adjoint of `b` in ``y = a @ b`` given ``g = y_bar``: a^T g, shaped like `b`."""
    a2 = np.expand_dims(a, -2) if np.ndim(a) == 1 else a
    b2 = np.expand_dims(b, -1) if np.ndim(b) == 1 else b
    g2 = np.reshape(g, matmul_shape(a2, b2))
    return np.reshape(unbroadcast(np.matmul(np.swapaxes(a2, -1, -2), g2), b2), np.shape(b))


def kron_layout(a, b):
    """Shapes and axes for the adjoint of np.kron.

    With both operands padded to ``d`` axes, ``y`` reshaped to
    ``(a0, b0, a1, b1, ...)`` is ``a[i0, i1, ..] * b[k0, k1, ..]``. Returns
    ``(interleaved shape, padded a shape, padded b shape, axes for a_bar, axes for b_bar)``.
    """
    d = max(np.ndim(a), np.ndim(b))
    sa = (1,) * (d - np.ndim(a)) + tuple(np.shape(a))
    sb = (1,) * (d - np.ndim(b)) + tuple(np.shape(b))
    interleaved = tuple(n for pair in zip(sa, sb) for n in pair)
    axes_a = (list(range(1, 2 * d, 2)), list(range(d)))
    axes_b = (list(range(d)), list(range(0, 2 * d, 2)))
    return interleaved, sa, sb, axes_a, axes_b


def cross_axes(axisa, axisb, axisc, axis):
    """The vector axes np.cross uses (``axis`` overrides the other three)."""
    if axis is not None:
        return axis, axis, axis
    return axisa, axisb, axisc


def cross_tensor(a, b, axisa, axisb):
    """``e[i, j, k] = (e_i x e_j)_k`` for the vector lengths of a and b (2 or 3).

    When both are 2-vectors the cross product is a scalar: k has length 1.
    """
    da, db = np.shape(a)[axisa], np.shape(b)[axisb]
    dc = 3 if 3 in (da, db) else 1
    e = np.zeros((da, db, dc))
    for i in range(da):
        for j in range(db):
            e[i, j] = np.reshape(np.cross(np.eye(da)[i], np.eye(db)[j]), (dc,))
    return e


def qr_checked_shape(a, mode):
    """``np.shape(a)``, after checking that the QR derivative is implemented for `mode`.

    Supported: mode 'reduced' with M >= N, and 'complete' for square matrices
    (the same factorization). Wide matrices and modes 'r'/'raw' raise.
    """
    m, n = np.shape(a)[-2:]
    if mode not in ("reduced", "complete") or m < n or (mode == "complete" and m != n):
        raise NotImplementedError(
            f"s2sad: the derivative of np.linalg.qr(mode={mode!r}) for a {m}x{n} matrix is not "
            "implemented; supported are mode='reduced' with rows >= columns and square matrices."
        )
    return np.shape(a)


def svd_checked_rank(a, full_matrices, compute_uv):
    """``min(M, N)`` after checking that the SVD derivative is implemented.

    With ``full_matrices=True`` the extra columns of U (or rows of Vh) of a
    non-square matrix are not unique, so only square matrices are supported
    there (or ``compute_uv=False``, where full_matrices does not matter).
    """
    m, n = np.shape(a)[-2:]
    if compute_uv and full_matrices and m != n:
        raise NotImplementedError(
            f"s2sad: the derivative of np.linalg.svd(full_matrices=True) of a {m}x{n} matrix is not "
            "defined (the extra singular vectors are arbitrary); pass full_matrices=False."
        )
    return min(m, n)


nondifferentiable(
    tensordot_bar_axes, dot_axes, inner_axes, matmul_shape, kron_layout, cross_axes,
    cross_tensor, qr_checked_shape, svd_checked_rank,
)


# ---------------------------------------------------------------------------
# Linear helpers for symmetric inputs (each is the other's transpose)
# ---------------------------------------------------------------------------


def symmetrize_triangle(a, triangle):
    """The symmetric matrix that a function reading only one triangle of `a` sees.

    ``triangle='L'``: ``tril(a) + tril(a, -1)^T``; ``'U'``: the same from ``triu``;
    ``None``: `a` itself (a function that reads all of `a`).
    """
    if triangle is None:
        return a
    if triangle == "U":
        return np.triu(a) + np.swapaxes(np.triu(a, 1), -1, -2)
    return np.tril(a) + np.swapaxes(np.tril(a, -1), -1, -2)


def fold_to_triangle(s, triangle):
    """The transpose of symmetrize_triangle: ``s + s^T`` below (above) the diagonal,
    ``s`` on it, zero on the triangle that is not read; `s` itself for None."""
    if triangle is None:
        return s
    both = s + np.swapaxes(s, -1, -2)
    diagonal = s * np.eye(np.shape(s)[-1])
    if triangle == "U":
        return np.triu(both, 1) + diagonal
    return np.tril(both, -1) + diagonal


def tril_half_diagonal(x):
    """``tril(x)`` with the diagonal halved (the Phi of the Cholesky derivative); self-adjoint."""
    return np.tril(x) - 0.5 * x * np.eye(np.shape(x)[-1])


@adjoint(symmetrize_triangle)
def symmetrize_triangle_adjoint(y, a, triangle):
    a_bar = fold_to_triangle(y_bar, triangle)


@tangent(symmetrize_triangle)
def symmetrize_triangle_tangent(y, a, triangle):
    y_dot = symmetrize_triangle(a_dot, triangle)


@adjoint(fold_to_triangle)
def fold_to_triangle_adjoint(y, s, triangle):
    s_bar = symmetrize_triangle(y_bar, triangle)


@tangent(fold_to_triangle)
def fold_to_triangle_tangent(y, s, triangle):
    y_dot = fold_to_triangle(s_dot, triangle)


@adjoint(tril_half_diagonal)
def tril_half_diagonal_adjoint(y, x):
    # a mask applied elementwise is its own transpose
    x_bar = tril_half_diagonal(y_bar)


@tangent(tril_half_diagonal)
def tril_half_diagonal_tangent(y, x):
    y_dot = tril_half_diagonal(x_dot)


# ---------------------------------------------------------------------------
# einsum helpers
# ---------------------------------------------------------------------------

_EINSUM_LETTERS = string.ascii_lowercase + string.ascii_uppercase


_SUBLIST_LETTERS = string.ascii_uppercase + string.ascii_lowercase  # NumPy's order: 0 -> 'A', 26 -> 'a'


def einsum_form(operands):
    """``(subscripts, positions)`` for either calling form of np.einsum: the subscripts string
    and the positions in `operands` of the arrays it names.

    ``('ij,jk->ik', a, b)`` gives ``('ij,jk->ik', [1, 2])``; the interleaved form
    ``(a, [0, 1], b, [1, 2], [0, 2])`` gives ``('AB,BC->AC', [0, 2])`` (sublist integers
    become letters in ASCII order, so an implicit output keeps NumPy's order).
    """
    if isinstance(operands[0], str):
        return operands[0], list(range(1, len(operands)))

    def letters(sublist):
        return "".join("..." if k is Ellipsis else _SUBLIST_LETTERS[int(k)] for k in sublist)

    positions = list(range(0, len(operands) - 1, 2))
    subscripts = ",".join(letters(operands[p + 1]) for p in positions)
    if len(operands) % 2:  # a trailing sublist names the output
        subscripts += "->" + letters(operands[-1])
    return subscripts, positions


def einsum_spec(subscripts, operands):
    """Parse einsum subscripts into ``(inputs, output)`` with no ellipsis and an explicit output.

    ``'...'`` becomes fresh letters (right-aligned, as NumPy broadcasts it);
    the implicit output (no ``'->'``) is the ellipsis axes followed by the
    letters that appear once, in alphabetical (ASCII) order. The interleaved form
    ``einsum(op0, sublist0, op1, sublist1, ...)`` is turned into a string by :func:`einsum_form`.
    """
    spec = subscripts.replace(" ", "")
    lhs, out = spec.split("->") if "->" in spec else (spec, None)
    ins = lhs.split(",")
    if len(ins) != len(operands):
        raise ValueError(f"einsum subscripts {subscripts!r} name {len(ins)} operands, got {len(operands)}")
    used = {c for c in spec if c.isalpha()}
    fresh = [c for c in _EINSUM_LETTERS if c not in used]
    n_ell = max([np.ndim(op) - (len(s) - 3) for s, op in zip(ins, operands) if "..." in s] or [0])
    ell = "".join(fresh[:n_ell])
    expanded = []
    for s, op in zip(ins, operands):
        if "..." in s:
            k = np.ndim(op) - (len(s) - 3)
            s = s.replace("...", ell[n_ell - k:] if k else "")
        expanded.append(s)
    if out is None:
        letters = lhs.replace(".", "").replace(",", "")
        out = ell + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    else:
        out = out.replace("...", ell)
    return expanded, out


def _einsum_operand_bar(g, ins, out, ops, k):
    """The adjoint of operand k of ``np.einsum(ins -> out, *ops)`` given the result's adjoint g."""
    ik = ins[k]
    shape_k = np.shape(ops[k])
    others = [j for j in range(len(ops)) if j != k]
    available = set(out).union(*[set(ins[j]) for j in others]) if others else set(out)
    unique = "".join(dict.fromkeys(ik))
    present = "".join(c for c in unique if c in available)
    spec = ",".join([out] + [ins[j] for j in others]) + "->" + present
    G = np.einsum(spec, g, *[ops[j] for j in others])
    if not _is_lazy_array(G):  # a NumPy scalar has no .shape; a Dask result stays lazy
        G = np.asarray(G)
    # letters only operand k has (summed in the forward pass): broadcast back over them
    size = {c: shape_k[i] for i, c in enumerate(ik)}
    missing = "".join(c for c in unique if c not in present)
    G = np.reshape(G, G.shape + (1,) * len(missing))
    order = present + missing
    G = np.transpose(G, [order.index(c) for c in unique])
    G = np.broadcast_to(G, tuple(G.shape[i] if c in present else size[c] for i, c in enumerate(unique)))
    if len(unique) < len(ik):  # repeated letters: put G on the diagonal
        full = np.zeros(tuple(G.shape[unique.index(c)] for c in ik), dtype=np.result_type(G, float))
        np.einsum(ik + "->" + unique, full)[...] = G
        G = full
    # axes operand k had as length 1 that broadcast against longer ones: sum them
    stretched = tuple(i for i, n in enumerate(shape_k) if n == 1 and G.shape[i] != 1)
    if stretched:
        G = np.sum(G, axis=stretched, keepdims=True)
    return np.reshape(G, shape_k)


def einsum_vjp(g, operands):
    """The adjoints of every entry of ``np.einsum(*operands)`` given the result's adjoint `g`:
    one per array, and 0.0 for the subscripts string or sublists (either calling form).

    Repeated letters (traces, diagonals), letters summed within one operand,
    ellipsis and broadcasting axes are all handled.
    """
    subscripts, positions = einsum_form(operands)
    ops = [operands[p] for p in positions]
    ins, out = einsum_spec(subscripts, ops)
    bars = [0.0] * len(operands)
    for k, p in enumerate(positions):
        bars[p] = _einsum_operand_bar(g, ins, out, ops, k)
    return tuple(bars)


def einsum_jvp(dots, operands):
    """The tangent of ``np.einsum(*operands)``: sum over k of the einsum with operand k
    replaced by its tangent in `dots` (entries None are inactive)."""
    subscripts, positions = einsum_form(operands)
    ops = [operands[p] for p in positions]
    ins, out = einsum_spec(subscripts, ops)
    spec = ",".join(ins) + "->" + out
    total = None
    for k, p in enumerate(positions):
        d = dots[p]
        if d is None:
            continue
        term = np.einsum(spec, *(ops[:k] + [d] + ops[k + 1:]))
        total = term if total is None else total + term
    if total is None:
        return np.zeros(np.shape(np.einsum(spec, *ops)))
    return total


def einsum_jvp2(dots1, dots2, operands):
    """Sum over pairs j != k of the einsum with operand k replaced by its entry in dots1 and
    operand j by its entry in dots2 (the second derivative of einsum)."""
    subscripts, positions = einsum_form(operands)
    ops = [operands[p] for p in positions]
    ins, out = einsum_spec(subscripts, ops)
    spec = ",".join(ins) + "->" + out
    total = np.zeros(np.shape(np.einsum(spec, *ops)))
    for k, pk in enumerate(positions):
        for j, pj in enumerate(positions):
            d1, d2 = dots1[pk], dots2[pj]
            if j == k or d1 is None or d2 is None:
                continue
            args = list(ops)
            args[k], args[j] = d1, d2
            total = total + np.einsum(spec, *args)
    return total


def einsum_vjp2(g, dots, operands):
    """The adjoint of ``(operands) -> einsum_vjp(g, operands)`` against cotangents `dots`,
    equivalently of einsum_jvp(dots, .) against `g`: the entry of operand j is the sum over
    k != j of the adjoint of operand j in the einsum with operand k replaced by its dot."""
    subscripts, positions = einsum_form(operands)
    ops = [operands[p] for p in positions]
    ins, out = einsum_spec(subscripts, ops)
    bars = [None] * len(ops)
    for k, p in enumerate(positions):
        d = dots[p]
        if d is None:
            continue
        replaced = ops[:k] + [d] + ops[k + 1:]
        for j in range(len(ops)):
            if j == k:
                continue
            bar = _einsum_operand_bar(g, ins, out, replaced, j)
            bars[j] = bar if bars[j] is None else bars[j] + bar
    result = [0.0] * len(operands)
    for k, p in enumerate(positions):
        result[p] = np.zeros(np.shape(ops[k])) if bars[k] is None else bars[k]
    return tuple(result)


def summable(parts):
    """The tuple `parts` as a tuple whose `+` adds item by item (two tuples would concatenate):
    the tangent of einsum_vjp is a sum of such tuples. (The class is local so that an exported
    module can copy this function alone.)"""

    class ItemwiseTuple(tuple):
        def __add__(self, other):
            return ItemwiseTuple(a + b for a, b in zip(self, other, strict=True))

    return ItemwiseTuple(parts)


def einsum_higher_order(tangent, like, operands):
    """A third derivative of ``np.einsum(*operands)`` with respect to its operands (`tangent`, the
    direction or cotangent, only marks what it is linear in), in the layout of `like` (an array, or a
    tuple of arrays and 0.0 for the subscripts): zero when the einsum has at most two arrays (it is
    linear in each, so a third derivative vanishes); refused with more."""
    subscripts, positions = einsum_form(operands)
    if len(positions) > 2:
        raise NotImplementedError(
            "s2sad: the third derivative of np.einsum of more than two arrays with respect to its operands is "
            "not implemented; write the product with np.matmul/np.tensordot instead."
        )
    if isinstance(like, (tuple, list)):
        return tuple(0.0 if isinstance(item, (str, list, tuple)) or np.ndim(item) == 0 else np.zeros(np.shape(item))
                     for item in like)
    return np.zeros(np.shape(like))


nondifferentiable(einsum_form, einsum_spec, einsum_higher_order)


@adjoint(summable)
def summable_adjoint(y, parts):
    # the identity on a tuple
    parts_bar = y_bar


@tangent(summable)
def summable_tangent(y, parts):
    y_dot = summable(parts_dot)


@adjoint(einsum_vjp)
def einsum_vjp_adjoint(y, g, operands):
    # einsum_vjp is linear in g with transpose einsum_jvp; in the operands it is the
    # second derivative of einsum
    g_bar = einsum_jvp(y_bar, operands)
    operands_bar = einsum_vjp2(g, y_bar, operands)


@tangent(einsum_vjp)
def einsum_vjp_tangent(y, g, operands):
    # linear in g; in the operands, the second derivative of einsum (items added one by one)
    y_dot = summable(einsum_vjp(g_dot, operands)) + summable(einsum_vjp2(g, operands_dot, operands))


@adjoint(einsum_jvp)
def einsum_jvp_adjoint(y, dots, operands):
    dots_bar = einsum_vjp(y_bar, operands)
    operands_bar = einsum_vjp2(y_bar, dots, operands)


@tangent(einsum_jvp)
def einsum_jvp_tangent(y, dots, operands):
    y_dot = einsum_jvp(dots_dot, operands) + einsum_jvp2(dots, operands_dot, operands)


@adjoint(einsum_jvp2)
def einsum_jvp2_adjoint(y, dots1, dots2, operands):
    # bilinear in (dots1, dots2), symmetric: each one's transpose is einsum_vjp2 with the other
    dots1_bar = einsum_vjp2(y_bar, dots2, operands)
    dots2_bar = einsum_vjp2(y_bar, dots1, operands)
    operands_bar = einsum_higher_order(y_bar, operands, operands)


@tangent(einsum_jvp2)
def einsum_jvp2_tangent(y, dots1, dots2, operands):
    y_dot = einsum_jvp2(dots1_dot, dots2, operands) + einsum_jvp2(dots1, dots2_dot, operands) + einsum_higher_order(operands_dot, y, operands)


@adjoint(einsum_vjp2)
def einsum_vjp2_adjoint(y, g, dots, operands):
    g_bar = einsum_jvp2(dots, y_bar, operands)
    dots_bar = einsum_vjp2(g, y_bar, operands)
    operands_bar = einsum_higher_order(y_bar, operands, operands)


@tangent(einsum_vjp2)
def einsum_vjp2_tangent(y, g, dots, operands):
    # linear in g and in dots (each entry of dots enters one einsum once); the operands: a third derivative
    y_dot = (
        summable(einsum_vjp2(g_dot, dots, operands))
        + summable(einsum_vjp2(g, dots_dot, operands))
        + einsum_higher_order(operands_dot, y, operands)
    )


# ---------------------------------------------------------------------------
# Products
# ---------------------------------------------------------------------------


@adjoint(np.matmul, operator.matmul, np.linalg.matmul)
def matmul(y, x1, x2):
    """1-D operands are promoted as NumPy does; broadcast batch axes are summed back."""
    # Y = A B  =>  A_bar = Y_bar B^T,  B_bar = A^T Y_bar
    x1_bar = matmul_bar_a(y_bar, x1, x2)
    x2_bar = matmul_bar_b(y_bar, x1, x2)


# matmul_bar_a(g, a, b) = g b^T is linear in g and in b (a gives only the shape):
#   its adjoint in g is the forward map g_bar = z_bar @ b; in b it is z_bar^T g = matmul_bar_b(g, z_bar, b)
@adjoint(matmul_bar_a)
def matmul_bar_a_adjoint(y, g, a, b):
    g_bar = np.reshape(np.matmul(y_bar, b), np.shape(g))
    b_bar = matmul_bar_b(g, y_bar, b)


@tangent(matmul_bar_a)
def matmul_bar_a_tangent(y, g, a, b):
    y_dot = matmul_bar_a(g_dot, a, b) + matmul_bar_a(g, a, b_dot)


# matmul_bar_b(g, a, b) = a^T g: adjoint in g is a @ z_bar; in a it is g z_bar^T = matmul_bar_a(g, a, z_bar)
@adjoint(matmul_bar_b)
def matmul_bar_b_adjoint(y, g, a, b):
    g_bar = np.reshape(np.matmul(a, y_bar), np.shape(g))
    a_bar = matmul_bar_a(g, a, y_bar)


@tangent(matmul_bar_b)
def matmul_bar_b_tangent(y, g, a, b):
    y_dot = matmul_bar_b(g_dot, a, b) + matmul_bar_b(g, a_dot, b)


@tangent(np.matmul, operator.matmul, np.linalg.matmul)
def matmul_tangent(y, x1, x2):
    y_dot = np.matmul(x1_dot, x2) + np.matmul(x1, x2_dot)


@adjoint(np.tensordot)
def tensordot(y, a, b, axes=2):
    # y[free_a, free_b] = sum_c a[free_a, c] b[c, free_b]
    # => a_bar = y_bar contracted with b over free_b, b_bar = a contracted with y_bar over free_a
    axes_a, perm_a = tensordot_bar_axes(np.ndim(a), np.ndim(b), axes, 0)
    axes_b, perm_b = tensordot_bar_axes(np.ndim(a), np.ndim(b), axes, 1)
    a_bar = np.transpose(np.tensordot(y_bar, b, axes_a), perm_a)
    b_bar = np.transpose(np.tensordot(a, y_bar, axes_b), perm_b)


@tangent(np.tensordot)
def tensordot_tangent(y, a, b, axes=2):
    y_dot = np.tensordot(a_dot, b, axes) + np.tensordot(a, b_dot, axes)


@adjoint(np.linalg.tensordot)
def linalg_tensordot(y, x1, x2, *, axes=2):
    axes_a, perm_a = tensordot_bar_axes(np.ndim(x1), np.ndim(x2), axes, 0)
    axes_b, perm_b = tensordot_bar_axes(np.ndim(x1), np.ndim(x2), axes, 1)
    x1_bar = np.transpose(np.tensordot(y_bar, x2, axes_a), perm_a)
    x2_bar = np.transpose(np.tensordot(x1, y_bar, axes_b), perm_b)


@tangent(np.linalg.tensordot)
def linalg_tensordot_tangent(y, x1, x2, *, axes=2):
    y_dot = np.tensordot(x1_dot, x2, axes) + np.tensordot(x1, x2_dot, axes)


@adjoint(np.dot)
def dot(y, a, b):
    """Also x.dot(b). A scalar operand multiplies."""
    # np.dot(a, b) = np.tensordot(a, b, ([-1], [-2])) (b 1-D: [0]); see tensordot
    axes_a, perm_a = tensordot_bar_axes(np.ndim(a), np.ndim(b), dot_axes(a, b), 0)
    axes_b, perm_b = tensordot_bar_axes(np.ndim(a), np.ndim(b), dot_axes(a, b), 1)
    a_bar = np.transpose(np.tensordot(y_bar, b, axes_a), perm_a)
    b_bar = np.transpose(np.tensordot(a, y_bar, axes_b), perm_b)


@tangent(np.dot)
def dot_tangent(y, a, b):
    y_dot = np.dot(a_dot, b) + np.dot(a, b_dot)


@adjoint(np.inner)
def inner(y, a, b):
    # np.inner(a, b) = np.tensordot(a, b, ([-1], [-1])); see tensordot
    axes_a, perm_a = tensordot_bar_axes(np.ndim(a), np.ndim(b), inner_axes(a, b), 0)
    axes_b, perm_b = tensordot_bar_axes(np.ndim(a), np.ndim(b), inner_axes(a, b), 1)
    a_bar = np.transpose(np.tensordot(y_bar, b, axes_a), perm_a)
    b_bar = np.transpose(np.tensordot(a, y_bar, axes_b), perm_b)


@tangent(np.inner)
def inner_tangent(y, a, b):
    y_dot = np.inner(a_dot, b) + np.inner(a, b_dot)


@adjoint(np.outer)
def outer(y, a, b):
    """a and b are flattened."""
    # y_ij = a_i b_j  =>  a_bar = y_bar b, b_bar = y_bar^T a
    a_bar = np.reshape(np.matmul(y_bar, np.ravel(b)), np.shape(a))
    b_bar = np.reshape(np.matmul(np.ravel(a), y_bar), np.shape(b))


@tangent(np.outer)
def outer_tangent(y, a, b):
    y_dot = np.outer(a_dot, b) + np.outer(a, b_dot)


@adjoint(np.linalg.outer)
def linalg_outer(y, x1, x2):
    x1_bar = np.matmul(y_bar, x2)
    x2_bar = np.matmul(x1, y_bar)


@tangent(np.linalg.outer)
def linalg_outer_tangent(y, x1, x2):
    y_dot = np.linalg.outer(x1_dot, x2) + np.linalg.outer(x1, x2_dot)


@adjoint(np.vdot)
def vdot(y, a, b):
    """Real inputs; a and b are flattened."""
    # y = sum_i a_i b_i  =>  a_bar = y_bar b, b_bar = y_bar a
    a_bar = np.reshape(y_bar * np.ravel(b), np.shape(a))
    b_bar = np.reshape(y_bar * np.ravel(a), np.shape(b))


@tangent(np.vdot)
def vdot_tangent(y, a, b):
    y_dot = np.vdot(a_dot, b) + np.vdot(a, b_dot)


@adjoint(np.vecdot, np.linalg.vecdot)
def vecdot(y, x1, x2, *, axis=-1):
    """Real inputs."""
    # y = sum over axis of x1 * x2  =>  x1_bar = y_bar x2, x2_bar = y_bar x1 (broadcast back)
    x1_bar = unbroadcast(np.expand_dims(y_bar, axis) * x2, x1)
    x2_bar = unbroadcast(np.expand_dims(y_bar, axis) * x1, x2)


@tangent(np.vecdot, np.linalg.vecdot)
def vecdot_tangent(y, x1, x2, *, axis=-1):
    y_dot = np.vecdot(x1_dot, x2, axis=axis) + np.vecdot(x1, x2_dot, axis=axis)


@adjoint(np.kron)
def kron(y, a, b):
    # y reshaped to (a0, b0, a1, b1, ...) is a[i0, i1, ...] b[k0, k1, ...]:
    # a_bar = that y_bar contracted with b over the b axes, b_bar likewise
    shape_g, shape_a, shape_b, axes_a, axes_b = kron_layout(a, b)
    a_bar = np.reshape(np.tensordot(np.reshape(y_bar, shape_g), np.reshape(b, shape_b), axes_a), np.shape(a))
    b_bar = np.reshape(np.tensordot(np.reshape(a, shape_a), np.reshape(y_bar, shape_g), axes_b), np.shape(b))


@tangent(np.kron)
def kron_tangent(y, a, b):
    y_dot = np.kron(a_dot, b) + np.kron(a, b_dot)


@adjoint(np.cross)
def cross(y, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """2- and 3-vectors along any axes; broadcast axes are summed back."""
    # y_k = sum_ij e_ijk a_i b_j with e_ijk = (e_i x e_j)_k
    # => a_bar_i = sum_jk e_ijk b_j y_bar_k,  b_bar_j = sum_ik e_ijk a_i y_bar_k
    axa, axb, axc = cross_axes(axisa, axisb, axisc, axis)
    e = cross_tensor(a, b, axa, axb)
    g = np.expand_dims(y_bar, -1) if np.shape(e)[2] == 1 else np.moveaxis(y_bar, axc, -1)
    a_last = np.moveaxis(a, axa, -1)
    b_last = np.moveaxis(b, axb, -1)
    a_bar = np.moveaxis(unbroadcast(np.einsum("...k,...j,ijk->...i", g, b_last, e), a_last), -1, axa)
    b_bar = np.moveaxis(unbroadcast(np.einsum("...k,...i,ijk->...j", g, a_last, e), b_last), -1, axb)


@tangent(np.cross)
def cross_tangent(y, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    y_dot = np.cross(a_dot, b, axisa, axisb, axisc, axis) + np.cross(a, b_dot, axisa, axisb, axisc, axis)


@adjoint(np.linalg.cross)
def linalg_cross(y, x1, x2, *, axis=-1):
    """3-vectors."""
    # y = x1 x x2  =>  x1_bar = x2 x y_bar,  x2_bar = y_bar x x1
    x1_bar = unbroadcast(np.cross(x2, y_bar, axis=axis), x1)
    x2_bar = unbroadcast(np.cross(y_bar, x1, axis=axis), x2)


@tangent(np.linalg.cross)
def linalg_cross_tangent(y, x1, x2, *, axis=-1):
    y_dot = np.linalg.cross(x1_dot, x2, axis=axis) + np.linalg.cross(x1, x2_dot, axis=axis)


@adjoint(np.einsum)
def einsum(y, *operands, dtype=None, order="K", casting="safe", optimize=False):
    """Subscripts string form and interleaved form (sublists), explicit or implicit output,
    repeated letters (traces, diagonals), ellipsis and broadcasting."""
    # y = sum over the contracted letters of prod_k op_k
    # => op_k_bar = einsum of y_bar with the other operands, written onto op_k's letters
    #    (repeated letters: onto the diagonal; letters only op_k has: broadcast)
    operands_bar = einsum_vjp(y_bar, operands)


@tangent(np.einsum)
def einsum_tangent(y, *operands, dtype=None, order="K", casting="safe", optimize=False):
    y_dot = einsum_jvp(operands_dot, operands)


# ---------------------------------------------------------------------------
# Inverse, determinants, solve
# ---------------------------------------------------------------------------


@adjoint(np.linalg.inv)
def inv(y, a):
    """Raises LinAlgError at singular matrices, where the inverse is not defined."""
    # d(A^-1) = -A^-1 dA A^-1  =>  A_bar = -A^-T Y_bar A^-T
    a_bar = -np.matmul(np.swapaxes(y, -1, -2), np.matmul(y_bar, np.swapaxes(y, -1, -2)))


@tangent(np.linalg.inv)
def inv_tangent(y, a):
    y_dot = -np.matmul(y, np.matmul(a_dot, y))


def matrix_power_bar(a, n, g):
    """The adjoint of ``y = np.linalg.matrix_power(a, n)`` for the cotangent `g`.

    Returns the array a_bar, shaped like `a`.
    """
    # n >= 0: dY = sum_{k<n} A^k dA A^(n-1-k)  =>  A_bar = sum_{k<n} (A^T)^k G (A^T)^(n-1-k)
    # n < 0: Y = B^m with B = A^-1, m = -n: B_bar as above, then A_bar = -B^T B_bar B^T
    n = operator.index(n)
    if n < 0:
        b_t = np.swapaxes(np.linalg.inv(a), -1, -2)
        return -np.matmul(b_t, np.matmul(matrix_power_bar(np.linalg.inv(a), -n, g), b_t))
    a_t = np.swapaxes(a, -1, -2)
    powers = [np.broadcast_to(np.eye(np.shape(a)[-1]), np.shape(a))]  # (A^T)^0 ... (A^T)^(n-1)
    for _ in range(n - 1):
        powers.append(np.matmul(powers[-1], a_t))
    total = np.zeros(np.shape(a))
    for k in range(n):
        total = total + np.matmul(powers[k], np.matmul(g, powers[n - 1 - k]))
    return total


def matrix_power_dot(a, n, t):
    """The tangent of ``y = np.linalg.matrix_power(a, n)`` along `t` (the transpose of matrix_power_bar).

    Returns the array y_dot.
    """
    # dY = sum_{k<n} A^k dA A^(n-1-k); for n < 0 the same of B = A^-1 with dB = -B dA B
    n = operator.index(n)
    if n < 0:
        b = np.linalg.inv(a)
        return matrix_power_dot(b, -n, -np.matmul(b, np.matmul(t, b)))
    powers = [np.broadcast_to(np.eye(np.shape(a)[-1]), np.shape(a))]
    for _ in range(n - 1):
        powers.append(np.matmul(powers[-1], a))
    total = np.zeros(np.broadcast_shapes(np.shape(a), np.shape(t)))
    for k in range(n):
        total = total + np.matmul(powers[k], np.matmul(t, powers[n - 1 - k]))
    return total


@adjoint(matrix_power_bar)
def matrix_power_bar_adjoint(y, a, n, g):
    """Linear in g (its transpose is the tangent map); second derivatives in a are refused."""
    g_bar = matrix_power_dot(a, n, y_bar)
    a_bar = not_differentiated(a, "the derivative of np.linalg.matrix_power (a second derivative)", "a")


@tangent(matrix_power_bar)
def matrix_power_bar_tangent(y, a, n, g):
    y_dot = matrix_power_bar(a, n, g_dot) + not_differentiated(a_dot, "the derivative of np.linalg.matrix_power (a second derivative)", "a")


@adjoint(matrix_power_dot)
def matrix_power_dot_adjoint(y, a, n, t):
    t_bar = matrix_power_bar(a, n, y_bar)
    a_bar = not_differentiated(a, "the derivative of np.linalg.matrix_power (a second derivative)", "a")


@tangent(matrix_power_dot)
def matrix_power_dot_tangent(y, a, n, t):
    y_dot = matrix_power_dot(a, n, t_dot) + not_differentiated(a_dot, "the derivative of np.linalg.matrix_power (a second derivative)", "a")


@adjoint(np.linalg.matrix_power)
def matrix_power(y, a, n):
    """An integer n; a negative n inverts a (LinAlgError where a is singular). Second derivatives
    are refused."""
    a_bar = matrix_power_bar(a, n, y_bar)


@tangent(np.linalg.matrix_power)
def matrix_power_tangent(y, a, n):
    y_dot = matrix_power_dot(a, n, a_dot)


@adjoint(np.linalg.eigvalsh)
def eigvalsh(y, a, UPLO="L"):
    """Reads only the triangle UPLO of a, so only it gets gradient (as eigh)."""
    # A = V diag(w) V^T: dw = diag(V^T dA V)  =>  A_bar = V diag(w_bar) V^T, folded onto the triangle read
    V = np.linalg.eigh(a, UPLO)[1]
    a_bar = fold_to_triangle(np.matmul(V * np.expand_dims(y_bar, -2), np.swapaxes(V, -1, -2)), "U" if UPLO == "U" else "L")


@tangent(np.linalg.eigvalsh)
def eigvalsh_tangent(y, a, UPLO="L"):
    V = np.linalg.eigh(a, UPLO)[1]
    y_dot = np.diagonal(np.matmul(np.swapaxes(V, -1, -2), np.matmul(symmetrize_triangle(a_dot, "U" if UPLO == "U" else "L"), V)), axis1=-2, axis2=-1)


@adjoint(np.linalg.det)
def det(y, a):
    """At a singular matrix the derivative (the adjugate) exists, but this rule computes
    it as det(A) A^-T and raises LinAlgError there."""
    # d det(A) = det(A) tr(A^-1 dA)  =>  A_bar = y_bar det(A) A^-T
    a_bar = np.expand_dims(y_bar * y, (-2, -1)) * np.swapaxes(np.linalg.inv(a), -1, -2)


@tangent(np.linalg.det)
def det_tangent(y, a):
    y_dot = y * np.sum(np.swapaxes(np.linalg.inv(a), -1, -2) * a_dot, axis=(-2, -1))


returns_tuple(np.linalg.slogdet, np.linalg.eigh, np.linalg.qr, np.linalg.svd)


@adjoint(np.linalg.slogdet)
def slogdet(y, a):
    """The sign is piecewise constant (no gradient); singular matrices raise LinAlgError."""
    # d log|det A| = tr(A^-1 dA)  =>  A_bar = logabsdet_bar A^-T
    logabsdet_bar = zeros_like(y[1]) if y_bar[1] is None else y_bar[1]
    a_bar = np.expand_dims(logabsdet_bar, (-2, -1)) * np.swapaxes(np.linalg.inv(a), -1, -2)


@tangent(np.linalg.slogdet)
def slogdet_tangent(y, a):
    y_dot = (np.zeros(np.shape(y[0])), np.sum(np.swapaxes(np.linalg.inv(a), -1, -2) * a_dot, axis=(-2, -1)))


@adjoint(np.linalg.solve)
def solve(y, a, b):
    """b is a vector when 1-D, else a (stack of) matrices, as in NumPy 2."""
    # X = A^-1 B  =>  B_bar = A^-T X_bar,  A_bar = -B_bar X^T  (a 1-D b as a column)
    g = np.expand_dims(y_bar, -1) if np.ndim(b) == 1 else y_bar
    x = np.expand_dims(y, -1) if np.ndim(b) == 1 else y
    g_b = np.linalg.solve(np.swapaxes(a, -1, -2), g)
    b_bar = unbroadcast(g_b[..., 0], b) if np.ndim(b) == 1 else unbroadcast(g_b, b)
    a_bar = unbroadcast(-np.matmul(g_b, np.swapaxes(x, -1, -2)), a)


@tangent(np.linalg.solve)
def solve_tangent(y, a, b):
    # dX = A^-1 (dB - dA X)
    y_dot = np.linalg.solve(a, b_dot) - np.reshape(
        np.linalg.solve(a, np.matmul(a_dot, np.expand_dims(y, -1) if np.ndim(b) == 1 else y)), np.shape(y)
    )


@adjoint(np.linalg.pinv)
def pinv(y, a, rcond=None, hermitian=False, *, rtol=None):
    """Valid where the rank of a is locally constant (e.g. full rank); the pseudo-inverse
    jumps where the rank changes. hermitian=True reads only the lower triangle."""
    # P = A^+: dP = -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P
    # => A_bar = -P^T G P^T + (I - A P) G^T P P^T + P^T P G^T (I - P A)
    p_t = np.swapaxes(y, -1, -2)
    g_t = np.swapaxes(y_bar, -1, -2)
    left = np.eye(np.shape(a)[-2]) - np.matmul(a, y)
    right = np.eye(np.shape(a)[-1]) - np.matmul(y, a)
    full = (
        -np.matmul(p_t, np.matmul(y_bar, p_t))
        + np.matmul(left, np.matmul(g_t, np.matmul(y, p_t)))
        + np.matmul(np.matmul(p_t, y), np.matmul(g_t, right))
    )
    a_bar = fold_to_triangle(full, "L" if hermitian else None)


@tangent(np.linalg.pinv)
def pinv_tangent(y, a, rcond=None, hermitian=False, *, rtol=None):
    p_t = np.swapaxes(y, -1, -2)
    left = np.eye(np.shape(a)[-2]) - np.matmul(a, y)
    right = np.eye(np.shape(a)[-1]) - np.matmul(y, a)
    tri = "L" if hermitian else None
    y_dot = (
        -np.matmul(y, np.matmul(symmetrize_triangle(a_dot, tri), y))
        + np.matmul(np.matmul(y, p_t), np.matmul(np.swapaxes(symmetrize_triangle(a_dot, tri), -1, -2), left))
        + np.matmul(right, np.matmul(np.swapaxes(symmetrize_triangle(a_dot, tri), -1, -2), np.matmul(p_t, y)))
    )


# ---------------------------------------------------------------------------
# Factorizations
# ---------------------------------------------------------------------------


@adjoint(np.linalg.cholesky)
def cholesky(y, a, *, upper=False):
    """Reads only the lower triangle of a (the upper with upper=True): only that triangle
    gets gradient. Not positive definite: LinAlgError in the primal."""
    # A = L L^T: dL = L Phi(L^-1 dA L^-T), Phi = lower triangle with the diagonal halved
    # => for symmetric dA, A_bar = L^-T Phi(L^T L_bar) L^-1, folded onto the triangle read
    L = np.swapaxes(y, -1, -2) if upper else y
    L_bar = np.swapaxes(y_bar, -1, -2) if upper else y_bar
    L_inv = np.linalg.inv(L)
    S = np.matmul(np.swapaxes(L_inv, -1, -2), np.matmul(tril_half_diagonal(np.matmul(np.swapaxes(L, -1, -2), L_bar)), L_inv))
    a_bar = fold_to_triangle(S, "U" if upper else "L")


@tangent(np.linalg.cholesky)
def cholesky_tangent(y, a, *, upper=False):
    L = np.swapaxes(y, -1, -2) if upper else y
    L_inv = np.linalg.inv(L)
    L_inv_t = np.swapaxes(L_inv, -1, -2)
    tri = "U" if upper else "L"
    y_dot = (
        np.swapaxes(np.matmul(L, tril_half_diagonal(np.matmul(L_inv, np.matmul(symmetrize_triangle(a_dot, tri), L_inv_t)))), -1, -2)
        if upper
        else np.matmul(L, tril_half_diagonal(np.matmul(L_inv, np.matmul(symmetrize_triangle(a_dot, tri), L_inv_t))))
    )


@adjoint(np.linalg.eigh)
def eigh(y, a, UPLO="L"):
    """Reads only the triangle UPLO of a, so only it gets gradient. The eigenvectors'
    derivative is infinite at repeated eigenvalues (division by w_j - w_i); the
    result there is inf/nan."""
    # A = V diag(w) V^T: dw = diag(V^T dA V), dV = V (F o (V^T dA V)), F_ij = 1/(w_j - w_i), F_ii = 0
    # => S = V (diag(w_bar) + F o (V^T V_bar)) V^T, folded onto the triangle read
    w = y[0]
    V = y[1]
    w_bar = zeros_like(w) if y_bar[0] is None else y_bar[0]
    V_bar = zeros_like(V) if y_bar[1] is None else y_bar[1]
    I = np.eye(np.shape(w)[-1])
    F = (1.0 - I) / (np.expand_dims(w, -2) - np.expand_dims(w, -1) + I)
    S = np.matmul(V, np.matmul(np.expand_dims(w_bar, -1) * I + F * np.matmul(np.swapaxes(V, -1, -2), V_bar), np.swapaxes(V, -1, -2)))
    a_bar = fold_to_triangle(S, "U" if UPLO == "U" else "L")


@tangent(np.linalg.eigh)
def eigh_tangent(y, a, UPLO="L"):
    w = y[0]
    V = y[1]
    V_t = np.swapaxes(V, -1, -2)
    I = np.eye(np.shape(w)[-1])
    F = (1.0 - I) / (np.expand_dims(w, -2) - np.expand_dims(w, -1) + I)
    tri = "U" if UPLO == "U" else "L"
    y_dot = (
        np.diagonal(np.matmul(V_t, np.matmul(symmetrize_triangle(a_dot, tri), V)), axis1=-2, axis2=-1),
        np.matmul(V, F * np.matmul(V_t, np.matmul(symmetrize_triangle(a_dot, tri), V))),
    )


@adjoint(np.linalg.qr)
def qr(y, a, mode="reduced"):
    """mode='reduced' with rows >= columns (and square matrices); other cases raise
    NotImplementedError. R must be invertible (a of full column rank)."""
    # A = Q R: with M = R R_bar^T - Q_bar^T Q and copyltu(M) = tril(M) + tril(M, -1)^T,
    # A_bar = (Q_bar + Q copyltu(M)) R^-T
    Q = y[0]
    R = y[1]
    Q_bar = zeros_like(Q) if y_bar[0] is None else y_bar[0]
    R_bar = zeros_like(R) if y_bar[1] is None else y_bar[1]
    M = np.matmul(R, np.swapaxes(R_bar, -1, -2)) - np.matmul(np.swapaxes(Q_bar, -1, -2), Q)
    B = Q_bar + np.matmul(Q, np.tril(M) + np.swapaxes(np.tril(M, -1), -1, -2))
    a_bar = np.reshape(np.swapaxes(np.linalg.solve(R, np.swapaxes(B, -1, -2)), -1, -2), qr_checked_shape(a, mode))


@tangent(np.linalg.qr)
def qr_tangent(y, a, mode="reduced"):
    # X = Q^T dA R^-1; dR = (triu(X) + tril(X, -1)^T) R; dQ = dA R^-1 - Q (triu(X) + tril(X, -1)^T)
    Q = y[0]
    R = y[1]
    Q_t = np.swapaxes(Q, -1, -2)
    R_inv = np.linalg.inv(R)
    y_dot = (
        np.reshape(
            np.matmul(a_dot, R_inv)
            - np.matmul(Q, np.triu(np.matmul(Q_t, np.matmul(a_dot, R_inv))) + np.swapaxes(np.tril(np.matmul(Q_t, np.matmul(a_dot, R_inv)), -1), -1, -2)),
            qr_checked_shape(a, mode),
        ),
        np.matmul(np.triu(np.matmul(Q_t, np.matmul(a_dot, R_inv))) + np.swapaxes(np.tril(np.matmul(Q_t, np.matmul(a_dot, R_inv)), -1), -1, -2), R),
    )


@adjoint(np.linalg.svd)
def svd(y, a, full_matrices=True, compute_uv=True, hermitian=False):
    """full_matrices=True only for square matrices (or compute_uv=False). The singular
    vectors' derivative is infinite at repeated singular values, and the terms for a
    non-square matrix divide by the singular values (inf/nan at rank deficiency).
    hermitian=True reads only the lower triangle."""
    # Townsend (2016): with F_ij = 1/(s_j^2 - s_i^2) (0 on the diagonal), V = Vh^T,
    # A_bar = U [F o (U^T U_bar - U_bar^T U) S + diag(s_bar) + S F o (V^T V_bar - V_bar^T V)] V^T
    #       + (I - U U^T) U_bar S^-1 V^T + U S^-1 V_bar^T (I - V V^T)
    # compute_uv=False: A_bar = U diag(s_bar) V^T
    usv = y if compute_uv else np.linalg.svd(a, full_matrices=False, hermitian=hermitian)
    U = usv[0]
    s = usv[1]
    V = np.swapaxes(usv[2], -1, -2)
    s_bar = y_bar if not compute_uv else (zeros_like(s) if y_bar[1] is None else y_bar[1])
    U_bar = zeros_like(U) if not compute_uv or y_bar[0] is None else y_bar[0]
    V_bar = zeros_like(V) if not compute_uv or y_bar[2] is None else np.swapaxes(y_bar[2], -1, -2)
    I = np.eye(svd_checked_rank(a, full_matrices, compute_uv))
    F = (1.0 - I) / (np.expand_dims(s**2, -2) - np.expand_dims(s**2, -1) + I)
    S = np.expand_dims(s, -1) * I
    S_inv = np.expand_dims(1.0 / s, -1) * I
    U_t = np.swapaxes(U, -1, -2)
    V_t = np.swapaxes(V, -1, -2)
    J = F * (np.matmul(U_t, U_bar) - np.matmul(np.swapaxes(U_bar, -1, -2), U))
    K = F * (np.matmul(V_t, V_bar) - np.matmul(np.swapaxes(V_bar, -1, -2), V))
    core = np.matmul(J, S) + np.expand_dims(s_bar, -1) * I + np.matmul(S, K)
    full = (
        np.matmul(U, np.matmul(core, V_t))
        + np.matmul(np.eye(np.shape(a)[-2]) - np.matmul(U, U_t), np.matmul(U_bar, np.matmul(S_inv, V_t)))
        + np.matmul(U, np.matmul(S_inv, np.matmul(np.swapaxes(V_bar, -1, -2), np.eye(np.shape(a)[-1]) - np.matmul(V, V_t))))
    )
    simple = np.matmul(U * np.expand_dims(s_bar, -2), V_t)
    a_grad = full if compute_uv else simple
    a_bar = fold_to_triangle(a_grad, "L" if hermitian else None)


@tangent(np.linalg.svd)
def svd_tangent(y, a, full_matrices=True, compute_uv=True, hermitian=False):
    # Townsend (2016): dP = U^T dA V, ds = diag(dP),
    # dU = U (F o (dP S + S dP^T)) + (I - U U^T) dA V S^-1,
    # dV = V (F o (S dP + dP^T S)) + (I - V V^T) dA^T U S^-1
    usv = y if compute_uv else np.linalg.svd(a, full_matrices=False, hermitian=hermitian)
    U = usv[0]
    s = usv[1]
    V = np.swapaxes(usv[2], -1, -2)
    U_t = np.swapaxes(U, -1, -2)
    V_t = np.swapaxes(V, -1, -2)
    I = np.eye(svd_checked_rank(a, full_matrices, compute_uv))
    F = (1.0 - I) / (np.expand_dims(s**2, -2) - np.expand_dims(s**2, -1) + I)
    S = np.expand_dims(s, -1) * I
    S_inv = np.expand_dims(1.0 / s, -1) * I
    P_U = np.eye(np.shape(a)[-2]) - np.matmul(U, U_t)
    P_V = np.eye(np.shape(a)[-1]) - np.matmul(V, V_t)
    tri = "L" if hermitian else None
    y_dot = (
        (
            np.matmul(U, F * (np.matmul(np.matmul(U_t, np.matmul(symmetrize_triangle(a_dot, tri), V)), S) + np.matmul(S, np.matmul(V_t, np.matmul(np.swapaxes(symmetrize_triangle(a_dot, tri), -1, -2), U)))))
            + np.matmul(P_U, np.matmul(symmetrize_triangle(a_dot, tri), np.matmul(V, S_inv))),
            np.diagonal(np.matmul(U_t, np.matmul(symmetrize_triangle(a_dot, tri), V)), axis1=-2, axis2=-1),
            np.swapaxes(
                np.matmul(V, F * (np.matmul(S, np.matmul(U_t, np.matmul(symmetrize_triangle(a_dot, tri), V))) + np.matmul(np.matmul(V_t, np.matmul(np.swapaxes(symmetrize_triangle(a_dot, tri), -1, -2), U)), S)))
                + np.matmul(P_V, np.matmul(np.swapaxes(symmetrize_triangle(a_dot, tri), -1, -2), np.matmul(U, S_inv))),
                -1,
                -2,
            ),
        )
        if compute_uv
        else np.diagonal(np.matmul(U_t, np.matmul(symmetrize_triangle(a_dot, tri), V)), axis1=-2, axis2=-1)
    )


# ---------------------------------------------------------------------------
# np.linalg.multi_dot: the einsum of its chain (a 1-D first array is a row, a 1-D last one a column),
# so it takes einsum's rules, second derivatives included
# ---------------------------------------------------------------------------


def chain_operands(arrays, subscripts=True):
    """``(subscripts, *arrays)`` for the einsum that computes ``np.linalg.multi_dot(arrays)``: array k
    takes letters (i_k, i_k+1); a 1-D first array drops i_0 and a 1-D last one i_n, as multi_dot does.
    With subscripts=False, ``(0.0, *arrays)``: adjoints or tangents lined up with those operands."""
    arrays = tuple(arrays)
    if not subscripts:
        return (0.0,) + arrays
    letters = [chr(ord("a") + k) for k in range(len(arrays) + 1)]
    ins = [letters[k] + letters[k + 1] for k in range(len(arrays))]
    out = letters[0] + letters[-1]
    if np.ndim(arrays[0]) == 1:
        ins[0], out = ins[0][1:], out.replace(letters[0], "")
    if np.ndim(arrays[-1]) == 1:
        ins[-1], out = ins[-1][:-1], out.replace(letters[-1], "")
    return (",".join(ins) + "->" + out,) + arrays


def chain_arrays(parts, arrays=None):
    """The adjoints of the arrays among einsum adjoints `parts` (the subscripts' entry dropped); an
    entry None (a part nobody used) is zeros shaped like that entry of `arrays`."""
    return [zeros_like(arrays[k]) if part is None else part for k, part in enumerate(parts[1:])]


returns_tuple(chain_operands)


@adjoint(chain_operands)
def chain_operands_adjoint(y, arrays, subscripts=True):
    # a packing: each array receives its own entry's adjoint
    arrays_bar = chain_arrays(y_bar, arrays)


@tangent(chain_operands)
def chain_operands_tangent(y, arrays, subscripts=True):
    y_dot = chain_operands(arrays_dot, False)


@adjoint(chain_arrays)
def chain_arrays_adjoint(y, parts, arrays=None):
    parts_bar = chain_operands(y_bar, False)


@tangent(chain_arrays)
def chain_arrays_tangent(y, parts, arrays=None):
    y_dot = chain_arrays(parts_dot, arrays)


@adjoint(np.linalg.multi_dot)
def multi_dot(y, arrays):
    """As the einsum of the chain (second derivatives included). out= is refused."""
    # y = A_1 A_2 ... A_n: A_k_bar = (A_1 ... A_k-1)^T y_bar (A_k+1 ... A_n)^T, by einsum's rule
    arrays_bar = chain_arrays(einsum_vjp(y_bar, chain_operands(arrays)))


@tangent(np.linalg.multi_dot)
def multi_dot_tangent(y, arrays):
    y_dot = einsum_jvp(chain_operands(arrays_dot, False), chain_operands(arrays))


# ---------------------------------------------------------------------------
# np.linalg.lstsq where a has full rank: x = pinv(a) b (the least-squares solution, of least norm when
# a is wide), so x's derivative is pinv's (above) applied to b:
#   x_bar -> pinv_bar = x_bar b^T, b_bar = P^T x_bar
# The residuals rho_j = |b_j - a x_j|^2 (given when a is tall) are at a minimum over x, so only their
# explicit dependence counts: d rho_j = 2 r_j^T (db_j - da x_j), r = b - a x. The singular values s_i
# of a: ds_i = u_i^T da v_i (distinct, as for np.linalg.svd).
# ---------------------------------------------------------------------------


def lstsq_full_rank(rank, a):
    """1.0 when np.linalg.lstsq found `a` of full rank; a NotImplementedError (NoDerivativeError at the
    user's line) otherwise: the solution jumps where the rank changes."""
    if rank != min(np.shape(a)):
        raise NotImplementedError(
            f"s2sad: the derivative of np.linalg.lstsq is implemented where a has full rank; this "
            f"{np.shape(a)[0]}x{np.shape(a)[1]} matrix has rank {rank}. Drop the dependent columns, or "
            "regularize (solve (a^T a + lam I) x = a^T b)"
        )
    return 1.0


nondifferentiable(lstsq_full_rank)
returns_tuple(np.linalg.lstsq)


@adjoint(np.linalg.lstsq)
def lstsq(y, a, b, rcond=None):
    """Where a has full rank (a rank-deficient a is refused when the derivative runs); the solution,
    the residuals and the singular values are all differentiated."""
    # see the comment above
    p = np.linalg.pinv(a) * lstsq_full_rank(y[2], a)
    p_t = np.transpose(p)
    x2 = np.reshape(y[0], (np.shape(a)[1], -1))
    b2 = np.reshape(b, (np.shape(a)[0], -1))
    r2 = b2 - np.matmul(a, x2)
    g2 = np.reshape(zeros_like(y[0]) if y_bar[0] is None else y_bar[0], np.shape(x2))
    rho_bar = np.zeros(np.shape(x2)[1]) if y_bar[1] is None else (
        np.zeros(np.shape(x2)[1]) if np.size(y_bar[1]) == 0 else y_bar[1])
    p_bar_t = np.matmul(b2, np.transpose(g2))
    a_bar = (
        -np.matmul(p_t, np.matmul(np.transpose(p_bar_t), p_t))
        + np.matmul(np.eye(np.shape(a)[0]) - np.matmul(a, p), np.matmul(p_bar_t, np.matmul(p, p_t)))
        + np.matmul(np.matmul(p_t, p), np.matmul(p_bar_t, np.eye(np.shape(a)[1]) - np.matmul(p, a)))
        - 2.0 * np.matmul(r2 * rho_bar, np.transpose(x2))
        + (0.0 if y_bar[3] is None else np.matmul(np.linalg.svd(a, full_matrices=False)[0] * y_bar[3],
                                                  np.linalg.svd(a, full_matrices=False)[2]))
    )
    b_bar = np.reshape(np.matmul(p_t, g2) + 2.0 * r2 * rho_bar, np.shape(b))


@tangent(np.linalg.lstsq)
def lstsq_tangent(y, a, b, rcond=None):
    p = np.linalg.pinv(a) * lstsq_full_rank(y[2], a)
    p_t = np.transpose(p)
    x2 = np.reshape(y[0], (np.shape(a)[1], -1))
    b2 = np.reshape(b, (np.shape(a)[0], -1))
    r2 = b2 - np.matmul(a, x2)
    left = np.eye(np.shape(a)[0]) - np.matmul(a, p)
    right = np.eye(np.shape(a)[1]) - np.matmul(p, a)
    y_dot = summable((
        np.reshape(np.matmul(
            -np.matmul(p, np.matmul(a_dot, p)) + np.matmul(np.matmul(p, p_t), np.matmul(np.transpose(a_dot), left))
            + np.matmul(right, np.matmul(np.transpose(a_dot), np.matmul(p_t, p))), b2), np.shape(y[0])),
        np.zeros(np.shape(y[1])) if np.size(y[1]) == 0
        else np.reshape(-2.0 * np.sum(r2 * np.matmul(a_dot, x2), 0), np.shape(y[1])),
        np.zeros(np.shape(y[2])),
        np.sum(np.linalg.svd(a, full_matrices=False)[0]
               * np.matmul(a_dot, np.transpose(np.linalg.svd(a, full_matrices=False)[2])), 0),
    )) + summable((
        np.reshape(np.matmul(p, np.reshape(b_dot, np.shape(b2))), np.shape(y[0])),
        np.zeros(np.shape(y[1])) if np.size(y[1]) == 0
        else np.reshape(2.0 * np.sum(r2 * np.reshape(b_dot, np.shape(b2)), 0), np.shape(y[1])),
        np.zeros(np.shape(y[2])),
        np.zeros(np.shape(y[3])),
    ))


# ---------------------------------------------------------------------------
# ndarray methods
# ---------------------------------------------------------------------------

method_mirrors(dot=np.dot)

