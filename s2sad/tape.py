"""Lean tapes: which values a loop body saves for the reverse sweep.

The reverse sweep of a loop body reads forward values of the same iteration.
`reverse.py` finds them (the body's values its reverse statements read); this
module decides, for each, the cheapest exact way to have it there:

* **read for its shape only** (``unbroadcast(g, t8)``, ``unreduce(g, t8)``):
  read another value with the same shape instead, one defined before the loop
  or one saved anyway. ``t2 = np.sin(s)`` has the shape of ``s``; ``t3 = c * 0.5``
  that of ``c``; ``100.0 * (x[i + 1] - x[i] ** 2) ** 2`` that of ``x[i + 1]``,
  which is read again. Else a ``shape_of`` stand-in (no data) is saved. Exact:
  both helpers read only the shape of their second argument.
* **recomputed**: element reads, attributes, ``len``, ``range``, comparisons,
  arithmetic and ufuncs whose operands are the loop index or values defined
  before the loop (``x[i + 1]``, ``W.T``, ``np.cos(w)`` of a loop invariant, a
  branch's test ``x[i] > 0``) are evaluated again in the reverse body: a loop
  invariant computed in the body would otherwise be saved once per iteration.
  Recomputing the same operation on the same operands gives the same bits.
  Values that depend on the loop-carried ones are never recomputed (that could
  cost as much as the loop itself, and their kind, scalar or array, is not known here).
* **the next value of a loop-carried one** (an RNN's new ``h``) is the block
  argument the next iteration saves; the reverse loop carries it down from
  the iteration after (the first reverse iteration starts from the loop's
  final value), so it is saved once, not twice.

What is left is pushed. Every function here takes IR and returns IR.
"""

from __future__ import annotations

import operator

import numpy as np

from . import ir, runtime
from .primitives import Attr, identity

# helpers of the reverse sweep that read only the shape of their second argument
_SHAPE_READERS = (runtime.unbroadcast, runtime.unreduce)

# elementwise operations: the result has the broadcast shape of the operands
_BINARY = (operator.add, operator.sub, operator.mul, operator.truediv, operator.pow)
_UNARY = (operator.neg, operator.pos)

# operations cheap and pure enough to evaluate again rather than save (their operands are
# the loop index or values defined before the loop, so no new value has to be saved)
_RECOMPUTED = (operator.getitem, len, range, operator.add, operator.sub, operator.mul, operator.truediv,
               operator.floordiv, operator.mod, operator.neg, operator.pow,
               operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne)
# for a value read only for its shape, computing it again must cost no arithmetic
_READS = (operator.getitem, len)


def shape_only(reverse: list, candidates) -> set:
    """The Vars among `candidates` that `reverse` reads only as the shape argument of
    ``unbroadcast`` / ``unreduce``."""
    candidates = set(candidates)
    shape_reads, value_reads = _VarSet(), _VarSet()
    for stmt in ir.walk(reverse):
        if isinstance(stmt, ir.Assign):
            for k, a in enumerate(stmt.args):
                (shape_reads if k == 1 and stmt.func.value in _SHAPE_READERS else value_reads).add(a)
            value_reads.update(a for _, a in stmt.kwargs)
            continue
        value_reads.update(ir.uses(stmt))
        if isinstance(stmt, ir.If):
            value_reads.update(v for p in stmt.phis for v in (p.then_value, p.else_value))
        elif isinstance(stmt, (ir.For, ir.While)):
            value_reads.update(c.next for c in stmt.carried)
    return {v for v in candidates if v in shape_reads and v not in value_reads}


class _VarSet(set):
    """A set that keeps only Vars (constants such as slices need not be, and cannot all be, hashed)."""

    def add(self, atom):
        if isinstance(atom, ir.Var):
            super().add(atom)

    def update(self, atoms):
        for a in atoms:
            self.add(a)


def _is_number(atom, func) -> bool:
    """A Python number operand: it broadcasts nothing (``2 * lst`` repeats a list, so no int for ``*``)."""
    if not isinstance(atom, ir.Const) or isinstance(atom.value, bool):
        return False
    return isinstance(atom.value, float) or (isinstance(atom.value, int) and func is not operator.mul)


def same_shape_operand(stmt) -> ir.Var | None:
    """An operand of `stmt` whose shape its result certainly has, if there is one."""
    if not isinstance(stmt, ir.Assign) or stmt.kwargs:
        return None
    func, args = stmt.func.value, stmt.args
    unary = func in _UNARY or func is identity or (isinstance(func, np.ufunc) and func.nin == 1 and func.nout == 1)
    if unary and len(args) == 1:
        return args[0] if isinstance(args[0], ir.Var) else None
    binary = func in _BINARY or (isinstance(func, np.ufunc) and func.nin == 2 and func.nout == 1)
    if binary and len(args) == 2:
        a, b = args
        if _is_number(a, func) and isinstance(b, ir.Var):
            return b
        if _is_number(b, func) and isinstance(a, ir.Var):
            return a
        if a == b and isinstance(a, ir.Var):
            return a
    return None


def shape_witnesses(shape_vars, definers: dict, here: set, saved: set, mutated: set) -> dict:
    """For each value read only for its shape, another value with its shape that the reverse
    body can read without saving anything new: one defined before the loop, or one saved anyway.

    Returns:
        {value: witness} for those that have one.
    """
    found = {}
    for v in shape_vars:
        w = same_shape_operand(definers.get(v))
        while isinstance(w, ir.Var):
            if w in saved or (w not in here and w not in mutated):
                found[v] = w
                break
            w = same_shape_operand(definers.get(w))
    return found


_INDEX_ARITHMETIC = (operator.add, operator.sub, operator.mul, operator.floordiv, operator.mod)


def _index_derived(atom, definers: dict, index_subst: dict) -> bool:
    """An int made from the loop index and int constants only (``i``, ``i + 1``, ``(i - 1) % n``)."""
    if isinstance(atom, ir.Const):
        return isinstance(atom.value, int) and not isinstance(atom.value, bool)
    if atom in index_subst:
        return True
    d = definers.get(atom)
    return d is not None and not d.kwargs and d.func.value in _INDEX_ARITHMETIC and all(
        _index_derived(a, definers, index_subst) for a in d.args)


def element_witnesses(shape_vars, definers: dict, here: set, index_subst: dict, mutated: set) -> dict:
    """For values read only for their shape that are elementwise arithmetic of element reads
    ``x[k]`` of one array defined before the loop (``100.0 * (x[i + 1] - x[i] ** 2) ** 2``): one of
    those reads, which has the same shape (every ``x[k]`` with an int ``k`` has ``x.shape[1:]``)
    and costs one element read to compute again.

    Returns:
        {value: the read ``x[k]`` standing for its shape}.
    """
    memo: dict = {}

    def family(v):  # (array, a read of it) when v certainly has the shape of an element of the array
        if v in memo:
            return memo[v]
        memo[v] = None
        d = definers.get(v)
        found = None
        if d is not None and not d.kwargs:
            if d.func.value is operator.getitem and len(d.args) == 2 and isinstance(d.args[0], ir.Var) \
                    and d.args[0] not in here and d.args[0] not in mutated \
                    and _index_derived(d.args[1], definers, index_subst):
                found = (d.args[0], v)
            else:
                operand = same_shape_operand(d)
                if operand is not None:
                    found = family(operand)
                elif len(d.args) == 2 and all(isinstance(a, ir.Var) for a in d.args) and (
                        d.func.value in _BINARY or isinstance(d.func.value, np.ufunc)):
                    a, b = family(d.args[0]), family(d.args[1])
                    if a is not None and b is not None and a[0] == b[0]:
                        found = a
        memo[v] = found
        return found

    return {v: fam[1] for v in shape_vars if (fam := family(v)) is not None}


def recomputable(needed, definers: dict, here: set, index_subst: dict, mutated: set, reads_only=False):
    """The statements (in forward order) that compute values of `needed` again in the reverse
    body from the loop index and values defined before the loop, and the values they give.
    With `reads_only`, only element and attribute reads (no arithmetic) are computed again."""
    memo: dict = {}

    def can(v) -> bool:
        if v in index_subst:
            return True
        if v in mutated:
            return False  # its buffer is written in place: a later read sees a later value
        if v not in here:
            return True
        if v in memo:
            return memo[v]
        memo[v] = False  # no cycles in SSA, but stay safe
        d = definers.get(v)
        ok = d is not None and not d.kwargs and _cheap(d.func.value, reads_only) and all(
            can(a) for a in d.args if isinstance(a, ir.Var))
        memo[v] = ok
        return ok

    wanted = [v for v in needed if v in here and v not in index_subst and can(v)]
    chain: set = set()
    stack = list(wanted)
    while stack:
        v = stack.pop()
        if v in chain or v not in here or v in index_subst:
            continue
        chain.add(v)
        stack.extend(a for a in definers[v].args if isinstance(a, ir.Var))
    order = [s for s in definers.values() if s.target in chain]
    return order, wanted


def _cheap(func, reads_only=False) -> bool:
    if isinstance(func, Attr):
        return True
    if isinstance(func, np.ufunc):  # np.cos(w) of a loop invariant: the forward sweep computed it each time too
        return not reads_only and func.nout == 1
    try:
        return func in (_READS if reads_only else _RECOMPUTED)
    except TypeError:  # an unhashable callable
        return False


def clone_statements(stmts: list, index_subst: dict, namer) -> tuple[list, dict]:
    """Copies of `stmts` with fresh names, reading the reverse loop's index. Returns (copies, old -> new)."""
    mapping = dict(index_subst)
    clones = []
    for d in stmts:
        new = namer.fresh(d.target.base) if d.target.base != "t" else namer.temp()
        args = [mapping.get(a, a) if isinstance(a, ir.Var) else a for a in d.args]
        clones.append(ir.Assign(new, d.func, args, [], d.loc))
        mapping[d.target] = new
    return clones, {k: v for k, v in mapping.items() if k not in index_subst}


def next_values_carried(saved: list, carried, here: set, block_args, namer) -> dict:
    """Loop-carried values whose next value the reverse loop can carry instead of saving it.

    When iteration k saves its block argument ``h`` and its reverse also reads the value it
    yields (``h_next``), that value is iteration k+1's saved ``h``: the reverse loop, going
    down, has just popped it. Returns {Carried: Var the reverse body reads it as}.
    """
    saved_set = set(saved)
    args = set(block_args)
    out = {}
    taken = set()
    for c in carried:
        nxt = c.next
        if c.arg in saved_set and isinstance(nxt, ir.Var) and nxt in saved_set and nxt in here \
                and nxt not in args and nxt not in taken:
            out[c] = namer.fresh(nxt.base) if nxt.base != "t" else namer.temp()
            taken.add(nxt)
    return out


SHAPE_OF = ir.Ref(("shape_of",), runtime.shape_of)


def shape_stand_ins(values, namer) -> tuple[dict, dict]:
    """For values read only for their shape and saved all the same: ``t_shape = shape_of(t)``,
    a stand-in keeping the shape and none of the data.

    Returns:
        ({stand-in: the statement making it}, {value: stand-in}).
    """
    stmts, mapping = {}, {}
    for v in values:
        stand_in = namer.fresh(v.base + "_shape")
        stmts[stand_in] = ir.Assign(stand_in, SHAPE_OF, [v], [], None)
        mapping[v] = stand_in
    return stmts, mapping


def pushes_by_loop(fn: ir.Function) -> list:
    """The loops of an adjoint program that save values, each with what one iteration saves.

    Returns:
        [(loop statement, [Vars pushed in its body, branches included, nested loops not])],
        outermost first, in program order.
    """
    found = []

    def own_pushes(stmts):
        out = []
        for s in stmts:
            if isinstance(s, ir.Push):
                out.append(s.value)
            elif isinstance(s, ir.If):
                out += own_pushes(s.then_body) + own_pushes(s.else_body)
        return out

    for stmt in ir.walk(fn.body):
        if isinstance(stmt, (ir.For, ir.While)):
            body = stmt.body if isinstance(stmt, ir.For) else stmt.cond_body + stmt.body
            pushed = own_pushes(body)
            if pushed:
                found.append((stmt, pushed))
    return found
