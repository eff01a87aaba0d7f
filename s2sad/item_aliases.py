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
from .errors import InPlaceUpdateError, UnsupportedSyntaxError


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
        index = None if item else iterated_only(lowerer, value, name, node)
        if index is not None:  # `for r in rows: r += 1.0`: only rows' other items are read later
            other = lowerer.emit_call(ir.Ref(("other_items",), runtime.other_items), [other, index],
                                      [("arrays", ir.Const(True))], node=node)
        lowerer.emit_call(ir.Ref(("not_a_view",), runtime.not_a_view), [other, value, ir.Const(where)], node=node)


def iterated_only(lowerer, value, name, node):
    """The loop index, if `value` is the item ``for r in name:`` binds in this iteration and `name` is
    read after `node` only by that loop's header, which no other loop runs again; else None.

    Then the update ``r op= v`` writes into ``name[k]``, and what reads it later are the items the loop
    takes next: NumPy's change is seen only if one of them shares the item's memory (``rows = [a, a]``),
    which ``not_a_view(other_items(rows, k), r)`` checks at run time. (Read anywhere else, ``rows``
    itself is checked, as for any other name.)"""
    found = lowerer.loop_items.get(value)
    if found is None or lowerer.stack:
        return None
    loop, index = found
    header = {id(n) for n in gast.walk(loop.iter) if isinstance(n, gast.Name) and n.id == name}
    loads, loops, nested = _reads_of(lowerer.parsed.node)
    if not header or sum(1 for _, _, inside in loops if header & inside) != 1:
        return None  # a loop around this one would take the updated items again
    line = getattr(node, "lineno", 0)
    around = [inside for first, last, inside in loops if first <= line <= last]
    later = [key for read, at, key in loads
             if read == name and (at > line or key in nested or any(key in inside for inside in around))]
    return index if all(key in header for key in later) else None


def check_loop_updates(lowerer, carried, body_env, loop, body) -> None:
    """Guard ``r op= v`` in a loop whose body leaves in `r`, for the next iteration, a value that
    may share memory with another: when the update ran, `r` was the loop's block argument, whose
    later values were not known yet.

    An item or a view (``for i in ...: r += 1.0; r = rows[i]``) is refused. A value another name
    may hold too (``last = acc``, ``best = acc if c else best``) is fine when that name is rebound
    after each update and not read in between (`_rebound_after_each_update`); otherwise a check
    ``not_a_view(last, acc)`` opens the body: only the run time knows whether they are one array
    (a number is never changed in place).

    Args:
        lowerer: the lowering walk.
        carried: ``[(name, block argument, first value)]`` of the loop.
        body_env: the names bound at the end of the loop body.
        loop: the gast ``For`` or ``While``.
        body: the loop body's IR statements (the checks go first).

    Raises:
        InPlaceUpdateError: at the first update of an item or a view.
    """
    args = {name: arg for name, arg, _ in carried}
    for name, arg, _ in carried:
        nxt = body_env.get(name)
        updates = [n for n in gast.walk(loop) if isinstance(n, gast.AugAssign) and isinstance(n.target, gast.Name)
                   and n.target.id == name]
        if nxt is None or nxt == arg or not updates:
            continue
        others = [other for other, atom in body_env.items() if other != name and _may_hold(lowerer, atom, nxt)]
        if may_be_a_part(nxt, name, lowerer, env=body_env) or any(other not in args for other in others):
            node = updates[0]
            raise InPlaceUpdateError(
                f"{name!r} is updated in place here, and by the end of the loop body it holds an item, a "
                "view or another name's value, which the next iteration's update would change too",
                lowerer.loc(node), hint=f"write {name} = {name} {_SYMBOLS.get(type(node.op), 'op')} ... "
                "(a new value), or take a copy where it is rebound")
        if not others or _rebound_after_each_update(lowerer, loop, name, others):
            continue
        loc = lowerer.loc(updates[0])
        for other in others:
            where = f"line {loc.line}: {loc.text.strip()} ({name} may be the same array as {other}, which the " \
                    "loop left holding its value)"
            check = ir.Assign(lowerer.namer.temp(), ir.Ref(("not_a_view",), runtime.not_a_view),
                              [args[other], arg, ir.Const(where)], [], loc)
            body.insert(0, check)


def _may_hold(lowerer, atom, value) -> bool:
    """May `atom` be `value`: is it, or a branch join or loop result one of whose values may be?"""
    pending, seen = [atom], set()
    while pending:
        probe = pending.pop()
        if probe == value:
            return True
        if isinstance(probe, ir.Var) and probe not in seen:
            seen.add(probe)
            pending.extend(lowerer.joins.get(probe, ()))
    return False


def _rebound_after_each_update(lowerer, loop, name, others) -> bool:
    """Is every name in `others` (which the loop body leaves holding `name`'s value: ``last = acc``)
    rebound after each ``name op= v`` of the loop, at the top of its body, and not read in between?
    NumPy's update then reaches them only while nothing reads them, so ``name = name op v`` is exact.
    Every update of these names in the function must be one of those, and the body define no
    function (which might read them when called)."""
    if lowerer.stack:
        return False  # in an inlined helper, the caller's names may be the same value too
    body = loop.body
    if any(isinstance(n, (gast.FunctionDef, gast.Lambda)) for s in body for n in gast.walk(s)):
        return False
    checked = set()
    for p, stmt in enumerate(body):
        if not (isinstance(stmt, gast.AugAssign) and isinstance(stmt.target, gast.Name) and stmt.target.id == name):
            continue
        for other in others:
            rebound = next((q for q in range(p + 1, len(body)) if _binds_to(body[q], other, name)), None)
            if rebound is None or any(isinstance(n, gast.Name) and n.id == other and isinstance(n.ctx, gast.Load)
                                      for s in body[p:rebound] for n in gast.walk(s)):
                return False
        checked.add(id(stmt))
    updates = [n for n in gast.walk(lowerer.parsed.node) if isinstance(n, gast.AugAssign) and (
        isinstance(n.target, gast.Name) and n.target.id in (name, *others)
        or isinstance(n.target, gast.Subscript) and isinstance(n.target.value, gast.Name)
        and n.target.value.id in (name, *others))]
    return bool(checked) and all(id(n) in checked for n in updates)


def _binds_to(stmt, target, name) -> bool:
    """Is `stmt` ``target = name``?"""
    return isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name) \
        and stmt.targets[0].id == target and isinstance(stmt.value, gast.Name) and stmt.value.id == name


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


def refuse_lazy_reads(lowerer, node, reads, what, name) -> None:
    """Refuse an iterator Python reads lazily (a generator expression or ``map(...)``) bound to `name`,
    when a name it reads is rebound or changed in place before `name` is last read: Python's iterator
    would see the new value when it is consumed, while s2sad evaluates it where it is written.

    Args:
        lowerer: the lowering walk.
        node: the generator expression or the call of map.
        reads: the names the iterator reads when it runs.
        what: how to name it in the error ("this generator expression").
        name: the name it is bound to.

    Raises:
        UnsupportedSyntaxError: naming the first such name.
    """
    line = getattr(node, "lineno", 0)
    function = lowerer.parsed.node
    loops = [n for n in gast.walk(function) if isinstance(n, (gast.For, gast.While))
             and any(sub is node for sub in gast.walk(n))]
    uses = [n.lineno for n in gast.walk(function) if isinstance(n, gast.Name) and n.id == name
            and isinstance(n.ctx, gast.Load)]
    last = max([u for u in uses if u > line], default=line)
    # read before it is made, in a loop around it: the next iteration reads this one's iterator
    carried = [loop for loop in loops if any(loop.lineno <= u < line for u in uses)]
    for n in gast.walk(function):
        changed = _changed_name(n)
        if changed in reads and (line < getattr(n, "lineno", 0) <= last
                                 or any(any(sub is n for sub in gast.walk(loop)) for loop in carried)):
            raise UnsupportedSyntaxError(
                f"s2sad evaluates {what} where it is written, but Python runs it lazily, when it is read: "
                f"it would see {changed!r} as changed on line {n.lineno}", lowerer.loc(node),
                hint="make it a list here ([... for ...]), or read it before that line")


def _changed_name(n):
    """The name `n` rebinds or changes in place (``c = ...``, ``c += ...``, ``c[i] = ...``, ``c.append(...)``)."""
    if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
        return n.id
    if isinstance(n, gast.Subscript) and isinstance(n.ctx, gast.Store) and isinstance(n.value, gast.Name):
        return n.value.id
    if isinstance(n, gast.Call) and isinstance(n.func, gast.Attribute) and isinstance(n.func.value, gast.Name) \
            and n.func.attr in ("append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse", "fill"):
        return n.func.value.id
    return None
