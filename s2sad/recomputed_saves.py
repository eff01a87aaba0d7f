"""Recomputed saves: in code specialized for known kinds and shapes, a value made by one cheap
operation of values the loop saves anyway is computed again in the reverse sweep, not saved.

``v = np.sin(v) * x + v`` in a loop saves ``v`` (the reverse sweep reads ``np.cos(v)``) and
``t2 = np.sin(v)`` (it reads ``v_bar * t2`` for ``x_bar``): two arrays an iteration where one is
needed. ``t2`` is ``np.sin`` of the ``v`` popped in the same reverse iteration, so the reverse
body computes it again from that ``v``: the same operation on the same operands gives the same
bits (and the same type: the operands are restored as they were saved), one array saved an
iteration instead of two, for one more elementwise operation in the reverse sweep (at most the
forward sweep's own cost again). Likewise ``a = s * x`` of a saved scalar ``s`` and a float ``x``.

Only where that trade is clear:

* an array (`shapes` proves a rank of at least 1) made by one ufunc of one output or one
  arithmetic operator; a float64 scalar made by one arithmetic operator (``+ - * /``, unary
  ``-``): a ufunc call on a scalar costs more than saving its 8 bytes on a float tape;
* without keywords (no ``out=``), from constants, parameters and top-level values proven Python
  numbers (nothing updates those in place), and values pushed in the same block as it (so saved
  whenever it is) and popped in the same reverse block as it (so there when it is needed);
  other values defined before the loop are not used (an array can be updated in place after
  the loop);
* every push and pop involved is the only one of its value (a checkpointed loop's copies
  rename theirs), the tape is the function's own (`typed_tapes._tape_is_local`), and no value
  computed again is another's operand (one step, no chains).
"""

from __future__ import annotations

import operator

import numpy as np

from . import ir
from .shapes import infer
from .typed_tapes import _copy, _tape_is_local

_ELEMENTWISE = (operator.add, operator.sub, operator.mul, operator.truediv, operator.neg, operator.pos)
_SCALAR_ARITHMETIC = (operator.add, operator.sub, operator.mul, operator.truediv, operator.neg)
_F64 = np.dtype(np.float64)


def _blocks(body: list):
    """Every statement list in `body` (the body itself and each nested block), outermost first."""
    yield body
    for stmt in body:
        for attr in ("then_body", "else_body", "body", "cond_body"):
            block = getattr(stmt, attr, None)
            if isinstance(block, list):
                yield from _blocks(block)


def _is_elementwise(stmt) -> bool:
    func = stmt.func.value
    return not stmt.kwargs and (func in _ELEMENTWISE or (isinstance(func, np.ufunc) and func.nout == 1))


def _immutable_invariants(fn: ir.Function, env: dict) -> set:
    """Parameters and values of the function's top level proven Python numbers: the reverse sweep
    reads them as they were (nothing updates a Python float in place)."""
    top = [p.var for p in fn.params] + [s.target for s in fn.body if isinstance(s, ir.Assign)]
    return {v for v in top if env.get(v) is not None and env[v].known and env[v].python}


def _cheap(definition, value) -> bool:
    """Whether computing `definition` again costs less than saving its value: one elementwise
    operation for an array; one arithmetic operator (no ufunc call) for a float64 scalar."""
    if not value.known or value.dtype is None:
        return False
    if len(value.shape) >= 1 and not value.python:
        return _is_elementwise(definition)
    return value.shape == () and value.dtype == _F64 and not definition.kwargs \
        and definition.func.value in _SCALAR_ARITHMETIC


def _recomputable(fn: ir.Function, env: dict) -> list:
    """(the forward definition, the reverse block, {operand saved: its pop}, its own pop) of each
    saved value to compute again."""
    pushes: dict = {}  # value -> [(block, index)]
    pops: dict = {}  # value pushed -> [(block, index)]
    for block in _blocks(fn.body):
        for k, stmt in enumerate(block):
            if isinstance(stmt, ir.Push) and isinstance(stmt.value, ir.Var):
                pushes.setdefault(stmt.value, []).append((block, k))
            elif isinstance(stmt, ir.Pop) and stmt.of is not None:
                pops.setdefault(stmt.of, []).append((block, k))
    invariants = _immutable_invariants(fn, env)
    found = []
    for v, where in pushes.items():
        value = env.get(v)
        if len(where) != 1 or len(pops.get(v, ())) != 1 or value is None:
            continue
        (block, _), (reverse_block, _) = where[0], pops[v][0]
        definition = next((s for s in block if isinstance(s, ir.Assign) and s.target == v), None)
        if definition is None or not _cheap(definition, value):
            continue
        saved = [a for a in definition.args if isinstance(a, ir.Var) and a not in invariants]
        if not saved or not all(
                len(pushes.get(a, ())) == 1 and pushes[a][0][0] is block and len(pops.get(a, ())) == 1
                and pops[a][0][0] is reverse_block for a in saved):
            continue
        if not all(isinstance(a, ir.Var) or isinstance(a.value, (int, float)) for a in definition.args):
            continue
        found.append((definition, reverse_block, {a: reverse_block[pops[a][0][1]] for a in saved},
                      reverse_block[pops[v][0][1]]))
    return found


def recompute_saves(fn: ir.Function, params) -> ir.Function:
    """`fn` with each saved value cheap to make again from other saved values (one elementwise
    operation for an array, one arithmetic operator for a scalar) computed again in the reverse
    sweep instead (module docstring).

    Args:
        fn: a specialized adjoint program.
        params: the abstract values of its parameters (`s2sad.shapes.signature`).

    Returns:
        A new Function (or `fn` itself when nothing changes).
    """
    if not _tape_is_local(fn) or not any(isinstance(s, ir.Push) for s in ir.walk(fn.body)):
        return fn
    env = infer(fn, params)
    found = _recomputable(fn, env)
    if not found:
        return fn
    dropped = {definition.target for definition, *_ in found}
    # the operands themselves stay saved: one recomputed value is not another's operand
    found = [f for f in found if not any(a in dropped for a in f[2])]
    if not found:
        return fn
    fn = _copy(fn)  # the same statements' copies, found again by position
    found = _recomputable(fn, infer(fn, params))
    found = [f for f in found if f[0].target in dropped and not any(a in dropped for a in f[2])]
    for definition, reverse_block, operand_pops, own_pop in found:
        at = max(reverse_block.index(p) for p in [own_pop, *operand_pops.values()])
        between = reverse_block[reverse_block.index(own_pop):at + 1]
        if not all(isinstance(s, ir.Pop) for s in between):
            continue  # something reads between the pops: leave it saved
        args = [operand_pops[a].target if isinstance(a, ir.Var) and a in operand_pops else a
                for a in definition.args]
        again = ir.Assign(own_pop.target, definition.func, args, [], definition.loc)
        reverse_block.insert(at + 1, again)
        reverse_block.remove(own_pop)
        for block in _blocks(fn.body):
            pushed = [s for s in block if isinstance(s, ir.Push) and s.value == definition.target]
            for s in pushed:
                block.remove(s)
    return ir.verify(fn)


__all__ = ["recompute_saves"]
