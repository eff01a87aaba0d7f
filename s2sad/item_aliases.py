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
    return [(name, atom) for name, atom in lowerer.env.items()
            if name != target and isinstance(atom, ir.Var) and atom != value and lowerer.read_later(name, node)]
