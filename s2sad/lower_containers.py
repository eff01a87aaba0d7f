"""Lowering of tuples, lists, dicts and namedtuples, and of what reads or writes their items:
subscripts, slices, attributes, ``np.r_[...]``, unpacking and ``x[i] = v``.

Containers are read statically where their items are known (``(a, b)[0]`` is ``a``,
``{"W": w}["W"]`` is ``w``); the lowering state `lw` records them in ``lw.packs`` and ``lw.fields``.
"""

from __future__ import annotations

import inspect
import operator

import gast
import numpy as np

from . import ir
from .errors import InPlaceUpdateError, NameResolutionError, S2SADError, UnsupportedSyntaxError
from .lower_base import hashable, is_user_function, literal_default
from .primitives import Attr, pack_dict, pack_list, pack_namedtuple, pack_tuple, setitem
from .pytree import DICT, LEAF, LIST, NAMEDTUPLE


def expr_Tuple(lw, node, hint):
    items = [lw.expr(elt) for elt in node.elts]
    if all(isinstance(i, ir.Const) for i in items):
        return ir.Const(tuple(i.value for i in items))
    packed = lw.emit_call(pack_tuple, items, node=node, target=lw.target_for(hint))
    lw.packs[packed] = items
    lw.contained.update(i for i in items if isinstance(i, ir.Var))
    return packed


def expr_List(lw, node, hint):
    items = [lw.expr(elt) for elt in node.elts]
    lw.contained.update(i for i in items if isinstance(i, ir.Var))
    return lw.emit_call(pack_list, items, node=node, target=lw.target_for(hint))


def expr_Dict(lw, node, hint):
    """``{"W": w, "b": b}`` with literal keys; reads with a literal key are resolved here."""
    keys = []
    for key in node.keys:
        if key is None:
            raise lw.error(UnsupportedSyntaxError, "s2sad cannot differentiate ** in a dict display", node,
                             hint="list the entries one by one")
        if not (isinstance(key, gast.Constant) and isinstance(key.value, (str, int))
                and not isinstance(key.value, bool)):
            raise lw.error(UnsupportedSyntaxError, "s2sad needs literal keys (strings or integers) in a dict "
                             "display", key, hint='write {"W": w, "b": b}')
        keys.append(key.value)
    values = [lw.expr(v) for v in node.values]
    return make_dict(lw, dict(zip(keys, values)), node, hint)


def make_dict(lw, entries: dict, node, hint):
    values = list(entries.values())
    lw.contained.update(v for v in values if isinstance(v, ir.Var))
    packed = lw.emit_call(pack_dict, [ir.Const(tuple(entries))] + values, node=node,
                            target=lw.target_for(hint))
    lw.fields[packed] = dict(entries)
    return packed


def make_namedtuple(lw, cls, args, kwargs, node, hint):
    """``Params(w, b=b)`` for a namedtuple class: its items by position and by field name."""
    try:
        bound = inspect.signature(cls).bind(*args, **dict(kwargs))
    except TypeError as exc:
        raise lw.error(S2SADError, f"cannot build {cls.__name__} with these arguments: {exc}", node) from None
    items = []
    for name in cls._fields:
        if name in bound.arguments:
            items.append(bound.arguments[name])
        else:
            default = cls._field_defaults[name]
            items.append(literal_default(default) or ir.Ref((f"{cls.__name__}_{name}_default",), default,
                                                             default))
    lw.contained.update(v for v in items if isinstance(v, ir.Var))
    ref = ir.Ref((cls.__name__,), cls, cls)
    packed = lw.emit_call(pack_namedtuple, [ref] + items, node=node, target=lw.target_for(hint))
    lw.packs[packed] = items
    lw.fields[packed] = dict(zip(cls._fields, items))
    return packed


def dict_method(lw, base, method, args, node, hint):
    """``d.keys()``, ``d.values()``, ``d.items()``, ``d.get(k)`` of a dict whose entries are known."""
    entries = lw.fields[base]
    if method == "keys" and not args:
        return ir.Const(tuple(entries))
    if method == "values" and not args:
        return lw.emit_call(pack_tuple, list(entries.values()), node=node, target=lw.target_for(hint))
    if method == "items" and not args:
        pairs = [lw.emit_call(pack_tuple, [ir.Const(k), v], node=node) for k, v in entries.items()]
        return lw.emit_call(pack_tuple, pairs, node=node, target=lw.target_for(hint))
    if method == "get" and 1 <= len(args) <= 2 and isinstance(args[0], ir.Const) and hashable(args[0].value):
        default = args[1] if len(args) == 2 else ir.Const(None)
        return entries.get(args[0].value, default)
    raise lw.error(UnsupportedSyntaxError, f"s2sad cannot differentiate the dict method .{method}() here",
                     node, hint='read entries with a literal key (d["W"]), or use .keys(), .values(), .items()')


def dict_call(lw, args, kwargs, node, hint):
    """``dict(W=w, b=b)``, or ``dict(d, b=b)`` of a dict whose entries are known: a new dict.
    (Any other ``dict(...)`` is an ordinary call, which has no derivative rule.)"""
    entries = dict(lw.fields[args[0]]) if args else {}
    entries.update(dict(kwargs))
    return make_dict(lw, entries, node, hint)


def refuse_write(lw, base, index, node):
    """Dicts and parameters' containers are read statically: a write would go unseen."""
    if isinstance(base, ir.Var) and base in lw.frozen:
        raise lw.error(InPlaceUpdateError, "this changes a container the caller passed in", node,
                         hint="build a new list, tuple or dict instead of changing the argument")
    if (isinstance(base, ir.Var) and base in lw.fields) or (
            isinstance(index, ir.Const) and isinstance(index.value, str)):
        raise lw.error(InPlaceUpdateError, "s2sad does not follow a dict changed in place", node,
                         hint='build a new dict instead: d = {**...} is not supported either, so write '
                         'd2 = {"W": w_new, "b": d["b"]}')


def structured_parameter(lw, name, tree, leaves, node):
    """Rebuild the parameter `name` of structure `tree` from its leaf parameters, so that every
    read of it (``p["W"]``, ``p.W``, ``(a, b), c = p``) resolves to a leaf when lowering."""
    if tree.kind == LEAF:
        return next(leaves)
    items = [structured_parameter(lw, name, child, leaves, node) for child in tree.children]
    if tree.kind == DICT:
        packed = make_dict(lw, dict(zip(tree.keys, items)), node, None)
    elif tree.kind == NAMEDTUPLE:
        packed = make_namedtuple(lw, tree.cls, items, (), node, None)
    else:
        packed = lw.emit_call(pack_list if tree.kind == LIST else pack_tuple, items, node=node)
        lw.packs[packed] = items
        lw.contained.update(v for v in items if isinstance(v, ir.Var))
    lw.frozen.add(packed)
    return packed


def expr_Slice(lw, node, hint):
    parts = [lw.expr(p) if p is not None else ir.Const(None) for p in (node.lower, node.upper, node.step)]
    if all(isinstance(p, ir.Const) for p in parts):
        return ir.Const(slice(*(p.value for p in parts)))
    return lw.emit_call(ir.Ref(("slice",), slice, slice), parts, node=node)


def subscript_index(lw, node):
    """The index of a subscript: a Const when it is all literals."""
    if isinstance(node, gast.Tuple):
        items = [subscript_index(lw, elt) for elt in node.elts]
        if all(isinstance(i, ir.Const) for i in items):
            return ir.Const(tuple(i.value for i in items))
        return lw.emit_call(pack_tuple, items, node=node)
    return lw.expr(node)


def expr_Subscript(lw, node, hint):
    base = lw.expr(node.value)
    if isinstance(base, ir.Ref) and isinstance(base.value, _AXIS_CONCATENATOR):
        return index_concatenation(lw, base, node, hint)
    idx = subscript_index(lw, node.slice)
    return getitem(lw, base, idx, node, hint)


def getitem(lw, base, idx, node, hint=None):
    items = lw.packs.get(base) if isinstance(base, ir.Var) else None
    if items is not None and isinstance(idx, ir.Const) and isinstance(idx.value, int) \
            and -len(items) <= idx.value < len(items):
        return items[idx.value]  # (a, b)[0] is a: no statement needed
    named = lw.fields.get(base) if isinstance(base, ir.Var) else None
    if named is not None and isinstance(idx, ir.Const) and base not in lw.packs \
            and hashable(idx.value) and idx.value in named:
        return named[idx.value]  # {"W": w}["W"] is w
    element = lw.emit_call(operator.getitem, [base, idx], node=node, target=lw.target_for(hint))
    lw.element_of[element] = base
    return element


def expr_Attribute(lw, node, hint):
    base = lw.expr(node.value)
    if isinstance(base, ir.Ref):
        try:
            value = getattr(base.value, node.attr)
        except AttributeError:
            raise lw.error(
                NameResolutionError, f"{base.dotted} has no attribute {node.attr!r}", node
            ) from None
        if is_user_function(value):  # inlined: rebinding `module.helper` must be noticed
            lw.parsed.assumptions.append(("attr", base.value, node.attr, value))
        return ir.Ref(base.path + (node.attr,), value, base.root)
    named = lw.fields.get(base) if isinstance(base, ir.Var) and base in lw.packs else None
    if named is not None and node.attr in named:
        return named[node.attr]  # Params(w, b).W is w
    position = field_position(lw, lw.element_of.get(base), node.attr)
    if position is not None:  # `layer.W` for `layer` any of a list of namedtuples: by position
        return lw.emit_call(operator.getitem, [base, ir.Const(position)], node=node,
                              target=lw.target_for(hint))
    return lw.emit_call(Attr(node.attr), [base], node=node, target=lw.target_for(hint))


def field_position(lw, container, name):
    """The position of the field `name` in every item of `container`, if they are all namedtuples
    that have it in the same place (then ``item.name`` is ``item[position]``)."""
    items = lw.packs.get(container) if isinstance(container, ir.Var) else None
    if not items:
        return None
    positions = set()
    for item in items:
        named = lw.fields.get(item) if isinstance(item, ir.Var) and item in lw.packs else None
        if named is None or name not in named:
            return None
        positions.add(list(named).index(name))
    return positions.pop() if len(positions) == 1 else None


_AXIS_CONCATENATOR = type(np.r_).__mro__[1]  # np.r_, np.c_ (and np.ma.mr_) index to concatenate


def index_concatenation(lowerer, base, node, hint):
    """``np.r_[a, 0:3, b]`` and ``np.c_[a, b]``: concatenations written as indexing, as calls with rules.

    ``np.r_[...]`` is ``np.concatenate((np.atleast_1d(a), np.r_[0:3], np.atleast_1d(b)), axis=0)``;
    ``np.c_[...]`` turns numbers and 1-D items into columns (``c_column``) and joins them along the
    last axis. A slice item is a constant range. Directive strings (``np.r_['0,2', ...]``) and
    other concatenators are refused rather than guessed.
    """
    from .rules.arrays import c_column

    items = node.slice.elts if isinstance(node.slice, gast.Tuple) else [node.slice]
    if base.value is not np.r_ and base.value is not np.c_ or any(
            isinstance(i, gast.Constant) and isinstance(i.value, str) for i in items):
        raise lowerer.error(UnsupportedSyntaxError, f"s2sad cannot differentiate this {base.dotted}[...] "
                            "(only np.r_ and np.c_ without a directive string)", node,
                            hint="write the concatenation as np.concatenate([...], axis=...)")
    shaped = ir.Ref(("np", "atleast_1d"), np.atleast_1d, np) if base.value is np.r_ \
        else ir.Ref(("c_column",), c_column, c_column)
    pieces = []
    for item in items:
        if isinstance(item, gast.Slice):  # np.r_[0:3] is a constant range
            pieces.append(lowerer.emit_call(operator.getitem, [base, lowerer.expr(item)], node=item))
        else:
            pieces.append(lowerer.emit_call(shaped, [lowerer.expr(item)], node=item))
    packed = lowerer.emit_call(pack_tuple, pieces, node=node)
    lowerer.packs[packed] = pieces
    lowerer.contained.update(pieces)
    axis = ir.Const(0 if base.value is np.r_ else -1)
    return lowerer.emit_call(ir.Ref(("np", "concatenate"), np.concatenate, np), [packed], [("axis", axis)],
                             node, lowerer.target_for(hint))


def bind_target(lw, target, value, node):
    if isinstance(target, gast.Name):
        lw.env[target.id] = value  # `y = x` makes y name the same value as x: no statement
        return
    if isinstance(target, (gast.Tuple, gast.List)):
        if any(isinstance(e, gast.Starred) for e in target.elts):
            raise lw.error(UnsupportedSyntaxError, "s2sad cannot differentiate starred unpacking", target,
                             hint="unpack the values one by one")
        for i, elt in enumerate(target.elts):
            hint = elt.id if isinstance(elt, gast.Name) else None
            item = getitem(lw, value, ir.Const(i), node, hint)
            bind_target(lw, elt, item, node)
        return
    if isinstance(target, gast.Subscript):
        store_subscript(lw, target, value, node)
        return
    raise lw.error(
        UnsupportedSyntaxError,
        f"s2sad cannot assign to {type(target).__name__.lower()} targets",
        target,
        hint="assign to a local name or to an element of a local array (x[i] = ...)",
    )


def store_subscript(lw, target, value, node, index=None):
    if not isinstance(target.value, gast.Name):
        raise lw.error(
            UnsupportedSyntaxError,
            "s2sad can only update elements of a local variable (x[i] = v)",
            target,
            hint="write x[i, j] = v instead of x[i][j] = v",
        )
    name = target.value.id
    if name not in lw.env:
        raise lw.error(
            InPlaceUpdateError,
            f"{name!r} is not a local variable, so updating it in place would change the caller's data",
            target,
            hint=f"make a local copy first: {name} = {name}.copy()",
        )
    base = lw.env[name]
    idx = index if index is not None else subscript_index(lw, target.slice)
    refuse_write(lw, base, idx, node)
    updated = lw.emit_call(setitem, [base, idx, value], node=node, target=lw.namer.fresh(name))
    lw.env[name] = updated

