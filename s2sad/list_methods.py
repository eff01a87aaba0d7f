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
