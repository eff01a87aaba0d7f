"""``r op= v`` where ``r`` is an item of a container or a view: which other names to check.

NumPy applies ``r += v`` to the array ``r`` holds; s2sad lowers it to ``r = r + v``,
a new value. The two agree unless another value that is read later shares ``r``'s
memory. When ``r`` is the same value under another name (``r = y``), the lowerer
knows that name. When ``r`` was taken out of something (``r = rows[0]``,
``for r in rows:``, ``r, s = rows``, ``r = rows[k][1:]``, ``r = a[1:]`` of an
``a = y``), it may be an array put into a container under any name, the container
itself, or a view of an array with several names: the update is then checked at run
time against every other name read later (``not_a_view``, which looks into lists,
tuples and dicts). A number never shares memory, so only arrays are refused, and
only when they do share.
"""

from __future__ import annotations

import functools

import gast

from . import ir, runtime
from .errors import InPlaceUpdateError


def may_be_a_part(value, target: str, lowerer, env=None) -> bool:
    """May `value` share memory with another value? It may when it is an item of a list, tuple or
    dict or a view of an array (an index or a view made it), or when it is a branch join or a loop's
    result (`lowerer.joins`) one of whose values is such a value or is bound to another name than
    `target` (``r = a if c else b``: r may be a). A loop's block argument is its first value.

    Args:
        value: the atom an augmented assignment updates.
        target: the name it updates.
        lowerer: the lowering walk (its `element_of`, `viewed_from`, `arg_inits`, `joins`, `env`).
        env: the names bound, if not `lowerer.env`.

    Returns:
        True if `value` may be such a value.
    """
    pending, seen = [(value, False)], set()
    while pending:
        probe, joined = pending.pop()
        if not isinstance(probe, ir.Var) or probe in seen:
            continue
        seen.add(probe)
        if probe in lowerer.element_of or probe in lowerer.viewed_from:
            return True
        if joined and any(atom == probe for name, atom in (env or lowerer.env).items() if name != target):
            return True
        if probe in lowerer.arg_inits:
            pending.append((lowerer.arg_inits[probe], joined))
        pending.extend((v, True) for v in lowerer.joins.get(probe, ()))
    return False


def names_to_check(value, target: str, lowerer, node, item: bool = False) -> list:
    """The names an update ``target op= ...`` of `value` must not share memory with.

    Args:
        value: the atom ``target`` holds before the update.
        target: the updated name.
        lowerer: the lowering walk (``env``, ``read_later``).
        node: the augmented assignment.
        item: `value` is an item of the container `target` (it may be an array other names hold).

    Returns:
        ``[(name, atom)]`` of every other local name read after `node`, in the order they were
        bound, when `value` may be an item or a view (:func:`may_be_a_part`); else ``[]``.
    """
    if not item and not may_be_a_part(value, target, lowerer):
        return []
    later = None if lowerer.stack else names_read_after(lowerer.parsed.node, node)
    found = [(name, atom) for name, atom in lowerer.env.items()
             if name != target and isinstance(atom, ir.Var) and atom != value and (later is None or name in later)]
    for names in lowerer.callers:  # in an inlined helper, the caller's array may be the item too
        found += [(name, atom) for name, atom in names.items()
                  if atom != value and all(atom != seen for _, seen in found)]
    return found


def names_after_call(lowerer, node) -> dict:
    """The names the caller of an inlined helper reads after the call `node`, with their values
    (every name when the caller is itself inlined): an item the helper updates in place may be one."""
    later = None if lowerer.stack else names_read_after(lowerer.parsed.node, node)
    return {name: atom for name, atom in lowerer.env.items()
            if isinstance(atom, ir.Var) and (later is None or name in later)}


def guard(lowerer, value, target: str, node, item: bool = False) -> None:
    """Check at run time, before ``target op= ...`` updates `value` in place, that no other name read
    later is or holds an array sharing `value`'s memory (``not_a_view(other, value)``: `value` is the
    array updated). With `item`, `value` is the item of ``target[i] op= ...``, which NumPy updates in
    place before storing it back, and every other name read later is checked.

    Args:
        lowerer: the lowering walk.
        value: the atom updated in place.
        target: the updated name (the container, with `item`).
        node: the augmented assignment.
        item: `value` is an item of the container `target`.
    """
    for name, other in names_to_check(value, target, lowerer, node, item):
        what = f"the item of {target} updated in place" if item else f"{target} is an item or a view of another value, and"
        where = f"line {lowerer.loc(node).line}: {lowerer.loc(node).text.strip()} ({what} may share its data with {name})"
        lowerer.emit_call(ir.Ref(("not_a_view",), runtime.not_a_view), [other, value, ir.Const(where)], node=node)


def check_loop_updates(lowerer, carried, body_env, loop) -> None:
    """Refuse ``r op= v`` in a loop whose body leaves in `r`, for the next iteration, a value that
    may share memory with another (``for i in ...: r += 1.0; r = rows[i]``): when the update ran,
    `r` was the loop's block argument, whose later values were not known yet.

    Args:
        lowerer: the lowering walk.
        carried: ``[(name, block argument, first value)]`` of the loop.
        body_env: the names bound at the end of the loop body.
        loop: the gast ``For`` or ``While``.

    Raises:
        InPlaceUpdateError: at the first such update.
    """
    for name, arg, _ in carried:
        nxt = body_env.get(name)
        if nxt is None or nxt == arg or not may_be_a_part(nxt, name, lowerer, env=body_env) and not any(
                atom == nxt for other, atom in body_env.items() if other != name):
            continue
        for node in gast.walk(loop):
            if isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name) and node.target.id == name:
                raise InPlaceUpdateError(
                    f"{name!r} is updated in place here, and by the end of the loop body it holds an item, a "
                    "view or another name's value, which the next iteration's update would change too",
                    lowerer.loc(node), hint=f"write {name} = {name} {_SYMBOLS.get(type(node.op), 'op')} ... "
                    "(a new value), or take a copy where it is rebound")


_SYMBOLS = {gast.Add: "+", gast.Sub: "-", gast.Mult: "*", gast.Div: "/", gast.FloorDiv: "//", gast.Mod: "%",
            gast.Pow: "**", gast.MatMult: "@", gast.BitAnd: "&", gast.BitOr: "|", gast.BitXor: "^"}


def names_read_after(function, node) -> set:
    """The names read after `node` in the gast def `function`: on later lines, anywhere in a loop
    around `node`, or in a nested def or lambda (which may be called later).

    Args:
        function: the gast ``FunctionDef`` being lowered.
        node: a statement of it.

    Returns:
        The set of those names.
    """
    line = getattr(node, "lineno", 0)
    loads, loops, nested = _reads_of(function)
    around = [inside for first, last, inside in loops if first <= line <= last]
    return {name for name, at, key in loads
            if at > line or key in nested or any(key in inside for inside in around)}


@functools.lru_cache(maxsize=8)
def _reads_of(function):
    """What :func:`names_read_after` asks of a def, walked once per def (a long function has many
    augmented assignments): every read of a name ``(name, line, id)``, every loop's line span with
    the ids of its nodes, and the ids of the nodes inside nested defs and lambdas."""
    loads, loops, nested = [], [], set()
    for n in gast.walk(function):
        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load):
            loads.append((n.id, getattr(n, "lineno", 0) or 0, id(n)))
        elif isinstance(n, (gast.For, gast.While)):
            inside = list(gast.walk(n))
            loops.append((n.lineno, max(getattr(x, "lineno", 0) or 0 for x in inside), {id(x) for x in inside}))
        elif isinstance(n, (gast.FunctionDef, gast.Lambda)) and n is not function:
            nested.update(id(x) for x in gast.walk(n))
    return loads, loops, nested
