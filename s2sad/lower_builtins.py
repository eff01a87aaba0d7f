"""Lowering of Python builtins that are written out as what they compute, so that the calls they
make have derivatives: ``reversed(seq)`` is ``seq[::-1]``, ``divmod(a, b)`` the pair
``(a // b, a % b)``, ``map(f, xs)`` and ``list(xs)`` the comprehensions ``[f(v) for v in xs]`` and
``[v for v in xs]``, and ``sorted(xs)`` the items of `xs` in the order ``runtime.sorted_order``
(no derivative: positions) gives them.

Each function takes the lowering state `lw` and the call's gast node and returns the atom of the
call's value, or None when the call is not one of these forms (it is then an ordinary call).
"""

from __future__ import annotations

import builtins

import gast

from . import closures, ir, item_aliases, lower_containers, lower_control, runtime
from .errors import UnsupportedSyntaxError
from .lower_base import BINOPS
from .primitives import pack_list, pack_tuple

_BACKWARDS = ir.Const(slice(None, None, -1))


def lower_builtin(lw, obj, node, hint):
    """The value of the call `node` of the builtin `obj`, written out, or None if it is not rewritten."""
    if any(isinstance(a, gast.Starred) for a in node.args):
        return None
    rewrite = next((f for builtin, f in _REWRITES if obj is builtin), None)
    return rewrite(lw, node, hint) if rewrite is not None else None


def _is_known_dict(lw, value) -> bool:
    """A dict whose entries are known when lowering (a display, ``dict(...)``, a parameter's)."""
    return isinstance(value, ir.Var) and value in lw.fields and value not in lw.packs


def reversed_(lw, node, hint):
    """``reversed(seq)`` of a range, list, tuple or array is ``seq[::-1]``: the same items in the
    same order (an array's a view, as the iterator also reads the array as it is then)."""
    if len(node.args) != 1 or node.keywords:
        return None
    seq = lw.expr(node.args[0])
    if _is_known_dict(lw, seq):
        return ir.Const(tuple(reversed(lw.fields[seq])))  # a dict's keys, last first
    return lower_containers.getitem(lw, seq, _BACKWARDS, node, hint)


def divmod_(lw, node, hint):
    """``divmod(a, b)`` is the pair ``(a // b, a % b)``, as Python and NumPy define it."""
    if len(node.args) != 2 or node.keywords:
        return None
    a, b = (lw.expr(arg) for arg in node.args)
    items = [lw.emit_call(BINOPS[op], [a, b], node=node) for op in (gast.FloorDiv, gast.Mod)]
    packed = lw.emit_call(pack_tuple, items, node=node, target=lw.target_for(hint))
    lw.packs[packed] = items
    lw.contained.update(items)
    return packed


def map_(lw, node, hint):
    """``map(f, xs)`` is ``[f(v) for v in xs]``, and ``map(f, xs, ys)`` is
    ``[f(u, v) for u, v in zip(xs, ys)]`` (whoever reads a map reads it once, as that list)."""
    if len(node.args) < 2 or node.keywords:
        return None
    if hint is not None:  # `m = map(f, xs)`, read later: f's own free names count too
        reads = {n.id for n in gast.walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}
        local = lw.env.get(node.args[0].id) if isinstance(node.args[0], gast.Name) else None
        if local is not None and hasattr(local, "node"):
            reads |= {n.id for n in gast.walk(local.node) if isinstance(n, gast.Name)}
        item_aliases.refuse_lazy_reads(lw, node, reads, "map()", hint)
    names = [_unused(lw, "mapped", node) for _ in node.args[1:]]
    element = gast.Call(func=_named_function(lw, node.args[0], node), args=[_name(n) for n in names], keywords=[])
    if len(node.args) == 2:
        return _comprehension(lw, element, _name(names[0], gast.Store()), node.args[1], node, hint)
    zipper = _bound(lw, "zip", ir.Ref(("zip",), zip), node)
    iterable = gast.Call(func=_name(zipper), args=list(node.args[1:]), keywords=[])
    target = gast.Tuple(elts=[_name(n, gast.Store()) for n in names], ctx=gast.Store())
    return _comprehension(lw, element, target, iterable, node, hint, [zipper])


def list_(lw, node, hint):
    """``list(xs)`` is ``[v for v in xs]`` (a list of `xs`'s items: numbers, or rows of a 2-D array);
    ``list()`` and ``list(range(...))`` stay calls (they have no derivative to follow)."""
    if len(node.args) != 1 or node.keywords or _calls(node.args[0], "range"):
        return None
    item = _unused(lw, "item", node)
    return _comprehension(lw, _name(item), _name(item, gast.Store()), node.args[0], node, hint)


def sorted_(lw, node, hint):
    """``sorted(xs)`` is ``[xs[k] for k in sorted_order(xs)]``: the items themselves, in sorted
    order, so each keeps its derivative (ties keep their order, as in Python). ``reverse=`` is
    passed on, and ``key=`` when it names a module-level function (the order has no derivative)."""
    if len(node.args) != 1 or any(k.arg not in ("key", "reverse") for k in node.keywords):
        return None
    local_key = next((k.value for k in node.keywords if k.arg == "key" and _is_local_function(lw, k.value)), None)
    if local_key is not None:  # a lambda or nested def: the order of the keys it gives
        return _sorted_by_local_key(lw, node, local_key, hint)
    seq = lw.expr(node.args[0])
    kwargs = [(k.arg, lw.expr(k.value)) for k in node.keywords]
    kwargs = [(name, value) for name, value in kwargs if not (name == "key" and value == ir.Const(None))]
    if any(name == "key" and not isinstance(value, ir.Ref) for name, value in kwargs):
        raise lw.error(UnsupportedSyntaxError, "s2sad needs the key of sorted() to be a function named at "
                       "module level", node, hint="define the key function with def at module level and "
                       "pass its name, key=my_key")
    if _is_known_dict(lw, seq):  # its keys, which are known
        keys = [ir.Const(k) for k in sorted(lw.fields[seq], **{n: v.value for n, v in kwargs})]
        return lw.emit_call(pack_list, keys, node=node, target=lw.target_for(hint))
    order = lw.emit_call(ir.Ref(("sorted_order",), runtime.sorted_order), [seq], kwargs, node)
    items, order, position = _bound(lw, "items", seq, node), _bound(lw, "order", order, node), \
        _unused(lw, "position", node)
    element = gast.Subscript(value=_name(items), slice=_name(position), ctx=gast.Load())
    return _comprehension(lw, element, _name(position, gast.Store()), _name(order), node, hint, [items, order])


def extremum_by_key(lw, node, hint, largest):
    """``max(xs, key=f)`` (or ``max(a, b, key=f)``) is ``xs[extremum_position(xs, f)]``: the item
    itself, so it keeps its derivative (the key only picks it). `f` must name a module-level function."""
    if not node.args or [k.arg for k in node.keywords] != ["key"]:
        return None
    key_node = node.keywords[0].value
    local_key = _is_local_function(lw, key_node)
    key = None if local_key else lw.expr(key_node)
    if not local_key and not isinstance(key, ir.Ref):
        raise lw.error(UnsupportedSyntaxError, "s2sad needs the key to be a function named at module level",
                       key_node, hint="define the key function with def at module level and pass its name")
    if len(node.args) == 1:
        items = lw.expr(node.args[0])
    else:
        values = [lw.expr(a) for a in node.args]
        items = lw.emit_call(pack_tuple, values, node=node)
        lw.packs[items] = values
        lw.contained.update(v for v in values if isinstance(v, ir.Var))
    if local_key:  # a lambda or nested def: the position of the extreme of the keys it gives
        key = ir.Const(None)
        items_name = _bound(lw, "items", items, node)
        keys = _keys(lw, key_node, items_name, node)
    position = lw.emit_call(ir.Ref(("extremum_position",), runtime.extremum_position),
                            [keys if local_key else items, key, ir.Const(largest)], node=node)
    return lower_containers.getitem(lw, items, position, node, hint)


def max_(lw, node, hint):
    return extremum_by_key(lw, node, hint, largest=True)


def min_(lw, node, hint):
    return extremum_by_key(lw, node, hint, largest=False)


_REWRITES = ((builtins.reversed, reversed_), (builtins.divmod, divmod_), (builtins.map, map_),
             (builtins.list, list_), (builtins.sorted, sorted_), (builtins.max, max_), (builtins.min, min_))


def _comprehension(lw, element, target, iterable, node, hint, bound=()):
    """Lower ``[element for target in iterable]``, located at `node`; the names in `bound` (bound
    by `_bound` for it to read) go after it."""
    comp = gast.ListComp(elt=element, generators=[
        gast.comprehension(target=target, iter=iterable, ifs=[], is_async=0)])
    for sub in gast.walk(comp):
        if getattr(sub, "lineno", None) is None and "lineno" in getattr(sub, "_attributes", ()):
            gast.copy_location(sub, node)
    result = lower_control.expr_ListComp(lw, comp, hint)
    for name in bound:
        lw.env.pop(name, None)
    return result


def _is_local_function(lw, node) -> bool:
    """A lambda written here, or the name of a nested def or lambda of the function."""
    return isinstance(node, gast.Lambda) or isinstance(node, gast.Name) and node.id in lw.env \
        and closures.is_local(lw.env[node.id])


def _named_function(lw, func, node):
    """`func` itself, or for a lambda written in the call `node` (``map(lambda v: v * v, x)``) the
    name it is now bound to, as ``name = lambda ...`` would bind it (inlined where it is called)."""
    if not isinstance(func, gast.Lambda):
        return func
    name = _unused(lw, "function", node)
    lw.statement(gast.copy_location(gast.Assign(targets=[_name(name, gast.Store())], value=func,
                                                type_comment=None), func))
    return _name(name)


def _keys(lw, key_node, items_name, node):
    """``[key(v) for v in items]`` for a local key function or lambda (no derivative flows through
    the keys: they only order or pick the items)."""
    key = _named_function(lw, key_node, node)
    item = _unused(lw, "item", node)
    return _comprehension(lw, gast.Call(func=key, args=[_name(item)], keywords=[]), _name(item, gast.Store()),
                          _name(items_name), node, None)


def _sorted_by_local_key(lw, node, key_node, hint):
    """``sorted(xs, key=lambda v: ...)`` is ``[xs[k] for k in sorted_order(keys)]`` with ``keys`` the
    list of the keys of `xs`'s items: sorting the keys (stably) puts the items in the same order."""
    reverse = [(k.arg, lw.expr(k.value)) for k in node.keywords if k.arg == "reverse"]
    items = _bound(lw, "items", lw.expr(node.args[0]), node)
    keys = _keys(lw, key_node, items, node)
    order = _bound(lw, "order", lw.emit_call(ir.Ref(("sorted_order",), runtime.sorted_order), [keys], reverse,
                                             node), node)
    position = _unused(lw, "position", node)
    element = gast.Subscript(value=_name(items), slice=_name(position), ctx=gast.Load())
    return _comprehension(lw, element, _name(position, gast.Store()), _name(order), node, hint, [items, order])


def _unused(lw, base, node) -> str:
    """A name no local value has and the call `node` does not read, for gast written here."""
    while True:
        name = lw.namer.fresh(base).name
        if not any(isinstance(n, gast.Name) and n.id == name for n in gast.walk(node)):
            return name


def _bound(lw, base, atom, node) -> str:
    """A fresh local name bound to `atom`, for gast written here to read it."""
    name = _unused(lw, base, node)
    lw.env[name] = atom
    return name


def _name(name, ctx=None):
    return gast.Name(id=name, ctx=ctx or gast.Load(), annotation=None, type_comment=None)


def _calls(node, name) -> bool:
    return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and node.func.id == name
