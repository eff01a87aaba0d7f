"""Calls of functions held in a container: ``LAYERS[0](x)``, ``ACTS["relu"](x)`` and loops over them,
``for layer in LAYERS: x = layer(x)`` (or ``for name in ("a", "b"): x = ACTS[name](x)``).

When the container is a module-level or closure value (or an attribute of one, ``self.layers``), or a
list the function builds from module-level functions, every callable is known when the derivative is
generated: the call is the call of that function (inlined if it is the user's own), and the loop is
unrolled, one copy of its body per item. The generated code then rests on the container's items and
length as they were: each is a guard assumption (``("item", container, key, value)`` and
``("length", container, None, n)``, ``("keys", a_dict, None, keys)``, see :mod:`guards`), so changing the list rebuilds the derivative.

Each function takes the lowering state `lw` and a gast node and returns None when the node is not one
of these forms (it is then lowered as before).
"""

from __future__ import annotations

import functools

import gast

from . import ir
from .errors import UnsupportedSyntaxError
from .lower_containers import getitem, subscript_index

_MOST_UNROLLED = 64  # a loop over more items than this stays a loop (and a call in it is refused)


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def item_ref(item, fallback: str) -> ir.Ref:
    """A reference to the callable `item`, spelled by its own name (codegen renames a clash)."""
    name = getattr(item, "__name__", None)
    return ir.Ref((name if isinstance(name, str) and name.isidentifier() else fallback,), item, item)


def _static_container(lw, node):
    """The list, tuple or dict a Name or attribute chain denotes outside the function, or None."""
    if not isinstance(node, (gast.Name, gast.Attribute)):
        return None
    if isinstance(node, gast.Name) and (node.id in lw.env or node.id in lw.local_names):
        return None
    base = lw.expr(node)
    if isinstance(base, ir.Ref) and type(base.value) in (list, tuple, dict):
        return base.value
    return None


def _local_functions(lw, name: str):
    """The references of ``name = [f, g, ...]`` (module-level functions) when that is the only binding of
    `name` in the function and it is only ever looped over or indexed to be called, so the list cannot
    change (no alias, no append); None otherwise."""
    fn = lw.parsed.node
    parents = {id(child): node for node in gast.walk(fn) for child in gast.iter_child_nodes(node)}
    displays = []
    for node in gast.walk(fn):
        if not (isinstance(node, gast.Name) and node.id == name):
            continue
        parent = parents.get(id(node))
        if isinstance(node.ctx, gast.Store) and isinstance(parent, gast.Assign) and parent.targets == [node] \
                and isinstance(parent.value, gast.List):
            displays.append(parent.value)
        elif isinstance(node.ctx, gast.Load) and isinstance(parent, gast.For) and parent.iter is node:
            continue
        elif isinstance(node.ctx, gast.Load) and isinstance(parent, gast.Subscript) and parent.value is node \
                and getattr(parents.get(id(parent)), "func", None) is parent:
            continue
        else:
            return None
    if len(displays) != 1 or not displays[0].elts:
        return None
    elts = displays[0].elts
    if not all(isinstance(e, gast.Attribute) or isinstance(e, gast.Name) and e.id not in lw.local_names
               for e in elts):
        return None
    atoms = [lw.expr(e) for e in elts]
    return atoms if all(isinstance(a, ir.Ref) and callable(a.value) for a in atoms) else None


def called_item(lw, func):
    """``CONTAINER[key]`` in ``CONTAINER[key](...)`` as a reference to the function it holds, with `key`
    a literal or a name bound to a constant (an unrolled loop's item); None if not that form."""
    if not isinstance(func, gast.Subscript):
        return None
    if isinstance(func.value, gast.Name) and func.value.id in lw.env:
        atoms = _local_functions(lw, func.value.id)
        key = subscript_index(lw, func.slice) if atoms is not None else None
        if isinstance(key, ir.Const) and type(key.value) is int and -len(atoms) <= key.value < len(atoms):
            return atoms[key.value]
        return None
    container = _static_container(lw, func.value)
    if container is None:
        return None
    key = subscript_index(lw, func.slice)
    if not isinstance(key, ir.Const) or not _hashable(key.value) or isinstance(key.value, slice):
        raise lw.error(UnsupportedSyntaxError, "s2sad cannot tell which function of the container is "
                       "called here (the key is computed when the function runs)", func,
                       hint="index it with a literal, or loop over the container itself "
                       "(for layer in LAYERS: x = layer(x)), which s2sad unrolls")
    try:
        item = container[key.value]
    except (KeyError, IndexError, TypeError):
        return None  # Python's own error is raised where the function runs
    if not callable(item):
        return None
    lw.parsed.assumptions.append(("item", container, key.value, item))
    return item_ref(item, "item")


def _static_items(lw, it):
    """The items of a loop's iterable known when the derivative is generated, as atoms (a reference for
    a callable, a constant otherwise), or None."""
    if isinstance(it, (gast.Tuple, gast.List)):
        if all(isinstance(e, gast.Constant) for e in it.elts):
            return [ir.Const(e.value) for e in it.elts]
        if all(isinstance(e, (gast.Name, gast.Attribute)) for e in it.elts):
            atoms = [lw.expr(e) for e in it.elts]
            return atoms if all(isinstance(a, ir.Ref) and callable(a.value) for a in atoms) else None
        return None
    if isinstance(it, gast.Name) and it.id in lw.env:
        return _local_functions(lw, it.id)  # a list the function built of module-level functions
    container = _static_container(lw, it)
    if container is None or len(container) > _MOST_UNROLLED:
        return None
    if type(container) is dict:  # for name in ACTS: ... ACTS[name](x) visits the keys
        lw.parsed.assumptions.append(("keys", container, None, tuple(container)))
        keys = tuple(container)
        return [ir.Const(k) for k in keys] if all(isinstance(k, (str, int)) for k in keys) else None
    atoms = []
    for k, item in enumerate(container):
        if callable(item):
            atoms.append(item_ref(item, "item"))
        elif isinstance(item, (str, int, bool)) or item is None:
            atoms.append(ir.Const(item))
        else:
            return None
    lw.parsed.assumptions.append(("length", container, None, len(container)))
    lw.parsed.assumptions += [("item", container, k, item) for k, item in enumerate(container)]
    return atoms


def _calls_through(body, name: str) -> bool:
    """Does `body` call `name(...)` or ``C[name](...)``?"""
    for stmt in body:
        for node in gast.walk(stmt):
            if isinstance(node, gast.Call):
                func = node.func.slice if isinstance(node.func, gast.Subscript) else node.func
                if isinstance(func, gast.Name) and func.id == name:
                    return True
    return False


def _columns(lw, it, target):
    """[(name, atoms per item)] binding the loop's target names, item by item, when the loop visits a
    container of functions known now: ``for f in FS``, ``for i, f in enumerate(FS[, start])``, ``for f,
    w in zip(FS, ws)`` (each other sequence indexed at each position); None otherwise."""
    if isinstance(target, gast.Name):
        items = _static_items(lw, it)
        return None if items is None else [(target.id, items)]
    if not (isinstance(target, gast.Tuple) and all(isinstance(t, gast.Name) for t in target.elts)
            and isinstance(it, gast.Call) and isinstance(it.func, gast.Name) and not it.keywords):
        return None
    names = [t.id for t in target.elts]
    callee = lw.expr(it.func) if it.func.id not in lw.env and it.func.id not in lw.local_names else None
    if getattr(callee, "value", None) is enumerate and len(names) == 2 and len(it.args) in (1, 2):
        start = lw.expr(it.args[1]) if len(it.args) == 2 else ir.Const(0)
        items = _static_items(lw, it.args[0])
        if items is None or not (isinstance(start, ir.Const) and type(start.value) is int):
            return None
        return [(names[0], [ir.Const(start.value + k) for k in range(len(items))]), (names[1], items)]
    if getattr(callee, "value", None) is zip and len(names) == len(it.args):
        known = [_static_items(lw, arg) for arg in it.args]
        if all(items is None for items in known):
            return None
        n = min(len(items) for items in known if items is not None)
        columns = []
        for name, arg, items in zip(names, it.args, known):
            if items is None:  # read at the top of each copy, as zip reads it (after earlier copies ran)
                seq = lw.expr(arg)
                items = [functools.partial(getitem, lw, seq, ir.Const(k), arg) for k in range(n)]
            columns.append((name, items[:n]))
        return columns
    return None


def unroll_loop(lw, node) -> bool:
    """Lower ``for name in ITEMS: body`` as one copy of `body` per item, with `name` bound to the item,
    when ITEMS is known now and the body calls through `name` (also ``enumerate(ITEMS)`` and
    ``zip(ITEMS, ...)``, see `_columns`). Returns True if it did.

    (desugar has made a loop with break or return a while loop over positions: that stays refused.)"""
    names = [t.id for t in gast.walk(node.target) if isinstance(t, gast.Name)]
    if node.orelse or not any(_calls_through(node.body, name) for name in names):
        return False
    columns = _columns(lw, node.iter, node.target)
    if columns is None:
        return False
    for k in range(len(columns[0][1])):
        for name, atoms in columns:
            lw.env[name] = atoms[k]() if callable(atoms[k]) else atoms[k]
        lw.block(node.body)
    return True
