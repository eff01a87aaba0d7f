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

from . import ir


def may_be_a_part(value, lowerer) -> bool:
    """May `value` be an item of a list, tuple or dict, or a view of an array (and so share
    memory with another value)? It is when an index or a view, possibly after a loop's first
    value, leads from it to another value.

    Args:
        value: the atom an augmented assignment updates.
        lowerer: the lowering walk (its `element_of`, `viewed_from` and `arg_inits`).

    Returns:
        True if `value` was made by an index or a view, or is a loop value that starts as one.
    """
    probe, seen = value, set()
    while isinstance(probe, ir.Var) and probe not in seen:
        seen.add(probe)
        if probe in lowerer.element_of or probe in lowerer.viewed_from:
            return True
        probe = lowerer.arg_inits.get(probe)
    return False


def names_to_check(value, target: str, lowerer, node) -> list:
    """The names an update ``target op= ...`` of `value` must not share memory with.

    Args:
        value: the atom ``target`` holds before the update.
        target: the updated name.
        lowerer: the lowering walk (``env``, ``read_later``).
        node: the augmented assignment.

    Returns:
        ``[(name, atom)]`` of every other local name read after `node`, in the order they were
        bound, when `value` may be an item or a view (:func:`may_be_a_part`); else ``[]``.
    """
    if not may_be_a_part(value, lowerer):
        return []
    later = None if lowerer.stack else names_read_after(lowerer.parsed.node, node)
    return [(name, atom) for name, atom in lowerer.env.items()
            if name != target and isinstance(atom, ir.Var) and atom != value and (later is None or name in later)]


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
