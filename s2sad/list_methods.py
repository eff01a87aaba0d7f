"""``items.extend(other)`` on a list, written as the loop of appends it is: ``for v in other:
items.append(v)`` (the lowering differentiates ``append`` on a local list, aliases included, and
refuses it on anything else, as it refused ``extend``). ``items.extend(items)`` stays as written
(refused): the loop would never end.
"""

from __future__ import annotations

import copy

import gast


def _extend_call(stmt):
    """(list name, argument) of the statement ``name.extend(arg)``, or None."""
    call = stmt.value if isinstance(stmt, gast.Expr) else None
    func = getattr(call, "func", None)
    if not (isinstance(func, gast.Attribute) and func.attr == "extend" and isinstance(func.value, gast.Name)
            and len(call.args) == 1 and not call.keywords):
        return None
    arg = call.args[0]
    if any(isinstance(n, gast.Name) and n.id == func.value.id for n in gast.walk(arg)):
        return None
    return func.value.id, arg


def extends_as_appends(stmts: list, fresh) -> list:
    """`stmts` with each ``name.extend(other)`` statement replaced by its loop of appends, in the
    bodies of branches and loops too; `fresh(base)` gives an unused name for the loop's item.

    Example:
        >>> stmts = gast.parse("vals.extend([a, b])").body
        >>> [type(s).__name__ for s in extends_as_appends(stmts, lambda base: base + "_1")]
        ['For']
    """
    out = []
    for stmt in stmts:
        found = _extend_call(stmt)
        if found is not None:
            name, arg = found
            item = fresh("item")
            append = gast.Expr(value=gast.Call(
                func=gast.Attribute(value=gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None),
                                    attr="append", ctx=gast.Load()),
                args=[gast.Name(id=item, ctx=gast.Load(), annotation=None, type_comment=None)], keywords=[]))
            loop = gast.For(target=gast.Name(id=item, ctx=gast.Store(), annotation=None, type_comment=None),
                            iter=arg, body=[append], orelse=[], type_comment=None)
            for node in gast.walk(loop):  # located at the extend call, for errors and comments
                if "lineno" in getattr(node, "_attributes", ()) and getattr(node, "lineno", None) is None:
                    gast.copy_location(node, stmt)
            out.append(loop)
            continue
        if isinstance(stmt, (gast.If, gast.For, gast.While)) and any(
                _extend_call(s) for s in gast.walk(stmt) if isinstance(s, gast.Expr)):
            stmt = copy.copy(stmt)
            stmt.body = extends_as_appends(stmt.body, fresh)
            stmt.orelse = extends_as_appends(stmt.orelse, fresh)
        out.append(stmt)
    return out


# ------------------------------------------------------------------ pop and insert on a list nobody else holds

# calls that read a list's items there and then (their result holds no reference to the list)
_READERS = ("len", "sum", "min", "max", "sorted", "list", "tuple", "any", "all")
_OWN_METHODS = ("append", "extend", "pop", "insert")


def _unshared_lists(fdef) -> set:
    """Names of lists the function builds (``stack = []``, a display, a comprehension) that no other
    name, container or call can hold: every read of the name is an item or slice read, one of its
    list methods, a loop over it, a reader such as ``len`` or ``sum``, or a return. Rebinding such a
    name to a new list is the same as changing it in place."""
    params = {a.id for a in fdef.args.args + fdef.args.kwonlyargs + fdef.args.posonlyargs if isinstance(a, gast.Name)}
    parents = {id(c): n for n in gast.walk(fdef) for c in gast.iter_child_nodes(n)}
    built, shared = set(), set(params)
    for node in gast.walk(fdef):
        if not isinstance(node, gast.Name):
            continue
        parent = parents.get(id(node))
        if isinstance(node.ctx, gast.Store):
            if isinstance(parent, gast.Assign) and parent.targets == [node] \
                    and isinstance(parent.value, (gast.List, gast.ListComp)):
                built.add(node.id)
            else:
                shared.add(node.id)
            continue
        grand = parents.get(id(parent))
        fine = (isinstance(parent, gast.Subscript) and parent.value is node) \
            or (isinstance(parent, gast.Attribute) and parent.attr in _OWN_METHODS
                and isinstance(grand, gast.Call) and grand.func is parent) \
            or (isinstance(parent, (gast.For, gast.comprehension)) and parent.iter is node) \
            or (isinstance(parent, gast.Call) and isinstance(parent.func, gast.Name)
                and parent.func.id in _READERS and node in parent.args) \
            or isinstance(parent, gast.Return)
        if not fine:
            shared.add(node.id)
    return built - shared


def _name(ident, store=False):
    return gast.Name(id=ident, ctx=gast.Store() if store else gast.Load(), annotation=None, type_comment=None)


def _index(value):
    return gast.Constant(value=value, kind=None)


def _slice(lower, upper):
    return gast.Slice(lower=None if lower is None else _index(lower), upper=None if upper is None else _index(upper),
                      step=None)


def _rebuilt(stmt, unshared: set):
    """``top = items.pop()``, ``items.pop(k)`` or ``items.insert(k, v)`` (k a literal >= 0, -1 for pop) on
    a list in `unshared`, as reads and a rebinding of ``items``; None for any other statement."""
    call = stmt.value if isinstance(stmt, (gast.Expr, gast.Assign)) else None
    func = getattr(call, "func", None)
    if not (isinstance(func, gast.Attribute) and func.attr in ("pop", "insert") and isinstance(func.value, gast.Name)
            and func.value.id in unshared and not call.keywords):
        return None
    if isinstance(stmt, gast.Assign) and not (len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name)):
        return None
    name, args = func.value.id, call.args
    k = args[0].value if args and isinstance(args[0], gast.Constant) and type(args[0].value) is int else None
    items = _name(name)
    if func.attr == "pop" and (not args or k == -1):
        taken, rest = gast.Subscript(value=items, slice=_index(-1), ctx=gast.Load()), \
            gast.Subscript(value=_name(name), slice=_slice(None, -1), ctx=gast.Load())
    elif func.attr == "pop" and len(args) == 1 and k is not None and k >= 0:
        taken = gast.Subscript(value=items, slice=_index(k), ctx=gast.Load())
        rest = gast.BinOp(left=gast.Subscript(value=_name(name), slice=_slice(None, k), ctx=gast.Load()), op=gast.Add(),
                          right=gast.Subscript(value=_name(name), slice=_slice(k + 1, None), ctx=gast.Load()))
    elif func.attr == "insert" and len(args) == 2 and k is not None and k >= 0:
        taken = None
        middle = gast.BinOp(left=gast.Subscript(value=_name(name), slice=_slice(None, k), ctx=gast.Load()),
                            op=gast.Add(), right=gast.List(elts=[args[1]], ctx=gast.Load()))
        rest = gast.BinOp(left=middle, op=gast.Add(),
                          right=gast.Subscript(value=_name(name), slice=_slice(k, None), ctx=gast.Load()))
    else:
        return None
    out = []
    if taken is not None and isinstance(stmt, gast.Assign):
        out.append(gast.Assign(targets=stmt.targets, value=taken, type_comment=None))
    out.append(gast.Assign(targets=[_name(name, store=True)], value=rest, type_comment=None))
    for new in out:
        for node in gast.walk(new):
            if "lineno" in getattr(node, "_attributes", ()) and getattr(node, "lineno", None) is None:
                gast.copy_location(node, stmt)
    return out


def pops_as_rebindings(fdef, stmts: list) -> list:
    """`stmts` with ``top = items.pop()`` written ``top = items[-1]; items = items[:-1]`` (``pop(k)``,
    ``insert(k, v)`` likewise) for the lists of `fdef` no other name or container can hold
    (`_unshared_lists`), in branches and loops too; the others stay as written (refused)."""
    unshared = _unshared_lists(fdef)
    if not unshared:
        return stmts

    def rewrite(block):
        out = []
        for stmt in block:
            new = _rebuilt(stmt, unshared)
            if new is not None:
                out += new
                continue
            if isinstance(stmt, (gast.If, gast.For, gast.While)):
                stmt = copy.copy(stmt)
                stmt.body, stmt.orelse = rewrite(stmt.body), rewrite(stmt.orelse)
            out.append(stmt)
        return out
    return rewrite(stmts)
