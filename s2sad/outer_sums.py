"""A sum of outer products over a loop, computed as one matrix product after it.

The adjoint of ``W @ h`` inside a loop accumulates ``W_bar = W_bar + np.outer(g, h)`` once per
iteration: for H = 128 each step allocates and adds a 128x128 array, most of a recurrent
network's gradient time. The sum is a matrix product,

    sum_t outer(a_t, b_t) = A^T B,   A = [a_1; ...; a_T], B = [b_1; ...; b_T]  (rows),

so the loop appends ``a_t`` and ``b_t`` to two lists and, after it,
``W_bar = W_bar + np.transpose(a_s) @ np.array(b_s)`` runs one BLAS product. Exact: the same
sum, in another order of additions. With no iteration the product of two empty arrays is
``0.0`` and ``W_bar`` keeps its value.

Applied only when shapes prove it (float64 vectors `a_t`, `b_t` and an accumulator of their
outer product's shape), when nothing else reads the accumulator or the product inside the loop,
and when the function updates no array in place (the lists keep references to the vectors).

Example:
    >>> import numpy as np, s2sad
    >>> def rnn(h, W, xs):
    ...     for t in range(xs.shape[0]):
    ...         h = np.tanh(W @ h + xs[t])
    ...     return np.sum(h * h)
    >>> args = (np.ones(3), np.eye(3), np.ones((4, 3)))
    >>> "np.outer" in s2sad.source(s2sad.grad(rnn, wrt=1), example_args=args)
    False
"""

from __future__ import annotations

import operator

import numpy as np

from . import ir, runtime
from .primitives import list_append, pack_list, restore, setitem, unappend
from .shapes import UNKNOWN, infer
from .specialize import _Fresh

_F64 = np.dtype(np.float64)
_ADD = ir.prim(operator.add)
_MATMUL = ir.prim(operator.matmul)
_LIST = ir.prim(pack_list)
_APPEND = ir.prim(list_append)
_TRANSPOSE = ir.Ref(("np", "transpose"), np.transpose, np)
_ARRAY = ir.Ref(("np", "array"), np.array, np)
_IN_PLACE = (setitem, list_append, unappend, restore, runtime.add_at, runtime.zero_in_place)


def _updates_in_place(fn) -> bool:
    return any(isinstance(s, ir.Assign) and s.func.value in _IN_PLACE for s in ir.walk(fn.body))


def _reads(block, loop) -> list:
    """Every atom read in `block` (nested blocks included) and by `loop`'s yields."""
    atoms = [a for s in ir.walk(block) for a in ir.uses(s)]
    for s in ir.walk(block):
        if isinstance(s, (ir.For, ir.While)):
            atoms += [c.next for c in s.carried]
        if isinstance(s, ir.If):
            atoms += [v for p in s.phis for v in (p.then_value, p.else_value)]
    return atoms + [c.next for c in loop.carried]


def _vector(atom, env) -> bool:
    v = env.get(atom, UNKNOWN) if isinstance(atom, ir.Var) else UNKNOWN
    return v.known and v.dtype == _F64 and len(v.shape) == 1 and v.shape[0] is not None


def _float64_start(atom, env, defined) -> bool:
    """Is `atom` (the accumulator before the loop) a float64 value, such as ``zeros_like(W)`` of a
    float64 `W`? Then ``acc + 0.0`` (no iteration) is `acc`'s values, dtype and shape."""
    v = env.get(atom, UNKNOWN) if isinstance(atom, ir.Var) else UNKNOWN
    if v.known and v.dtype == _F64:
        return True
    stmt = defined.get(atom)
    return stmt is not None and stmt.func.value is runtime.zeros_like and len(stmt.args) == 1 \
        and not stmt.kwargs and env.get(stmt.args[0], UNKNOWN).known and env[stmt.args[0]].dtype == _F64


def _match(loop, carried, env, defined):
    """(the add, the outer product) when `carried` is ``acc = acc + np.outer(a, b)`` (either order)
    with nothing else reading ``acc`` or the product in the loop, from a float64 start; else None."""
    defs = {s.target: s for s in loop.body if isinstance(s, ir.Assign)}
    add = defs.get(carried.next)
    if add is None or add.func.value is not operator.add or add.kwargs or len(add.args) != 2 \
            or carried.arg not in add.args:
        return None
    product = next((a for a in add.args if a != carried.arg), None)
    outer = defs.get(product)
    if outer is None or outer.func.value is not np.outer or outer.kwargs or len(outer.args) != 2 \
            or not all(_vector(a, env) for a in outer.args):
        return None
    # acc + (A^T B) has the shape and dtype of the repeated sums: additions that broadcast associate
    if not _float64_start(carried.init, env, defined):
        return None
    reads = _reads(loop.body, loop)
    if reads.count(carried.arg) != 1 or reads.count(product) != 1 or reads.count(carried.next) != 1:
        return None
    return add, outer


def _rewrite_loop(loop, env, defined, fresh) -> tuple[list, list]:
    """The statements before `loop` (empty lists) and after it (the products) for its outer-product
    sums; `loop` is rewritten in place."""
    before, after = [], []
    for carried in list(loop.carried):
        found = _match(loop, carried, env, defined)
        if found is None:
            continue
        add, outer = found
        lists = []
        for vector in outer.args:
            arg, nxt, out, empty = fresh(), fresh(), fresh(), fresh()
            after_empty = ir.Assign(empty, _LIST, [], [], loop.loc)
            lists.append((ir.Carried(arg, empty, nxt, out), after_empty,
                          ir.Assign(nxt, _APPEND, [arg, vector], [], add.loc)))
        loop.body = [s for s in loop.body if s is not add and s is not outer] + [append for *_, append in lists]
        loop.carried = [c for c in loop.carried if c is not carried] + [c for c, *_ in lists]
        (rows_a, _, _), (rows_b, _, _) = lists
        a_t, b, total = fresh(), fresh(), fresh()
        # sum_t outer(a_t, b_t) = A^T B with the a_t, b_t as the rows of A, B
        after += [ir.Assign(a_t, _TRANSPOSE, [rows_a.out], [], add.loc),
                  ir.Assign(b, _ARRAY, [rows_b.out], [], add.loc),
                  ir.Assign(total, _MATMUL, [a_t, b], [], add.loc),
                  ir.Assign(carried.out, _ADD, [carried.init, total], [], add.loc)]
        before += [empty for _, empty, _ in lists]
    return before, after


def _rewrite_block(stmts, env, defined, fresh) -> list:
    out = []
    for stmt in stmts:
        for attr in ("then_body", "else_body", "body", "cond_body"):
            block = getattr(stmt, attr, None)
            if isinstance(block, list):
                setattr(stmt, attr, _rewrite_block(block, env, defined, fresh))
        if isinstance(stmt, ir.For):
            before, after = _rewrite_loop(stmt, env, defined, fresh)
            out += before + [stmt] + after
            continue
        out.append(stmt)
    return out


def outer_products_as_matmul(fn: ir.Function, params) -> ir.Function:
    """`fn` (a specialized derivative's IR, for arguments of kinds `params`) with each loop's
    ``acc = acc + np.outer(a, b)`` made one ``np.transpose(a_s) @ np.array(b_s)`` after the loop
    (module docstring); run `simplify` after it. Rewrites `fn` in place and returns it."""
    if _updates_in_place(fn) or not any(isinstance(s, ir.For) for s in ir.walk(fn.body)):
        return fn
    env = infer(fn, params)
    defined = {s.target: s for s in ir.walk(fn.body) if isinstance(s, ir.Assign)}
    fn.body = _rewrite_block(fn.body, env, defined, _Fresh(fn))
    return ir.verify_pass(fn)


__all__ = ["outer_products_as_matmul"]
