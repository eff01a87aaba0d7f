"""The walrus ``(n := expr)`` in a statement, written as the assignment ``n = expr`` just before it:
``if (n := len(x)) > 2:`` is ``n = len(x)`` then ``if n > 2:``.

Python evaluates an expression from left to right, so moving the assignment first keeps every value
when nothing before it in the statement reads `n` (it would see the old value) and it is evaluated
every time the statement runs: not under ``and``/``or`` (past the first operand), a conditional
expression (past its test), a lambda or a comprehension, and not in a ``while`` test (evaluated again
each iteration). Those stay refused (``desugar`` asks :func:`movable_walruses`), with the hint to
assign on a line of its own.
"""

from __future__ import annotations

import copy

import gast


# the statements whose expressions run once, before anything else the statement does
_ONE_SHOT = (gast.If, gast.Assign, gast.AugAssign, gast.AnnAssign, gast.Expr, gast.Return, gast.Assert)
_DEFERRED = (gast.Lambda, gast.ListComp, gast.SetComp, gast.DictComp, gast.GeneratorExp)


def _always_evaluated(parents: dict, node, root) -> bool:
    """Is `node` evaluated whenever `root` (an expression of the statement) is?"""
    while node is not root:
        parent = parents[id(node)]
        if isinstance(parent, _DEFERRED):
            return False
        if isinstance(parent, gast.BoolOp) and node is not parent.values[0]:
            return False
        if isinstance(parent, gast.IfExp) and node is not parent.test:
            return False
        node = parent
    return True


def _position(node):
    return (getattr(node, "lineno", 0) or 0, getattr(node, "col_offset", 0) or 0)


def _statement_roots(stmt) -> list:
    if not isinstance(stmt, _ONE_SHOT):
        return []
    root = stmt.test if isinstance(stmt, (gast.If, gast.Assert)) else stmt.value
    return [root] if root is not None else []


def _movable(stmt, root, walrus, parents) -> bool:
    name = walrus.target.id
    earlier_read = any(isinstance(n, gast.Name) and n.id == name and n is not walrus.target
                       and _position(n) < _position(walrus) for n in gast.walk(root))
    return not earlier_read and _always_evaluated(parents, walrus, root) \
        and not any(isinstance(n, gast.NamedExpr) for n in gast.walk(walrus.value))


def movable_walruses(root) -> set:
    """The ids of the walruses under `root` that :func:`hoisted` moves before their statement (the
    others are refused by desugar's syntax check)."""
    movable = set()
    for stmt in gast.walk(root):
        for expr in _statement_roots(stmt):
            parents = {id(c): n for n in gast.walk(stmt) for c in gast.iter_child_nodes(n)}
            movable |= {id(n) for n in gast.walk(expr)
                        if isinstance(n, gast.NamedExpr) and _movable(stmt, expr, n, parents)}
    return movable


def hoisted(stmt) -> list:
    """`stmt` as a list of statements: the assignments of its walruses, then `stmt` with each walrus
    replaced by its name; ``[stmt]`` when it has none or one that cannot be moved (see the module's
    docstring).

    Example:
        >>> stmt = gast.parse("if (n := len(x)) > 2: y = n").body[0]
        >>> [type(s).__name__ for s in hoisted(stmt)]
        ['Assign', 'If']
    """
    roots = _statement_roots(stmt)
    if not any(isinstance(n, gast.NamedExpr) for r in roots for n in gast.walk(r)):
        return [stmt]
    parents = {id(c): n for n in gast.walk(stmt) for c in gast.iter_child_nodes(n)}
    if not all(_movable(stmt, r, n, parents) for r in roots for n in gast.walk(r) if isinstance(n, gast.NamedExpr)):
        return [stmt]  # refused by desugar's syntax check (movable_walruses), and by lowering
    stmt = copy.deepcopy(stmt)  # the function's own tree is left as it was
    roots = _statement_roots(stmt)
    parents = {id(c): n for n in gast.walk(stmt) for c in gast.iter_child_nodes(n)}
    before = []
    for root in roots:
        for walrus in sorted((n for n in gast.walk(root) if isinstance(n, gast.NamedExpr)), key=_position):
            name = walrus.target.id
            assign = gast.Assign(targets=[gast.Name(id=name, ctx=gast.Store(), annotation=None,
                                                    type_comment=None)], value=walrus.value, type_comment=None)
            before.append(gast.copy_location(assign, walrus))
            read = gast.copy_location(gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None),
                                      walrus)
            parent = parents[id(walrus)]
            for field, value in gast.iter_fields(parent):
                if value is walrus:
                    setattr(parent, field, read)
                elif isinstance(value, list):
                    setattr(parent, field, [read if v is walrus else v for v in value])
    return before + [stmt]


def without_named_exprs(stmts: list) -> list:
    """`stmts` with every walrus moved to an assignment before its statement (:func:`hoisted`), in
    the bodies of branches and loops too. A walrus that cannot be moved (a ``while`` test, a
    comprehension, a lambda) is left where it is: desugar's syntax check has reported it."""
    out = []
    for stmt in stmts:
        for new in hoisted(stmt):
            if isinstance(new, (gast.If, gast.For, gast.While)):
                new = copy.copy(new)
                new.body = without_named_exprs(new.body)
                new.orelse = without_named_exprs(new.orelse)
            out.append(new)
    return out


# ------------------------------------------------------------------ del name

def droppable_deletes(fdef) -> set:
    """The ids of the ``del name`` statements of `fdef` that only end a binding nobody reads again:
    not in a loop (the next iteration could read the name), and every read of the names is before it
    in the source. Dropping them changes no value (:func:`without_deletes`); other ``del`` statements
    (an item, an attribute, a name read later) are refused by desugar."""
    parents = {id(c): n for n in gast.walk(fdef) for c in gast.iter_child_nodes(n)}
    droppable = set()
    for stmt in gast.walk(fdef):
        if not isinstance(stmt, gast.Delete) or not all(isinstance(t, gast.Name) for t in stmt.targets):
            continue
        node, in_loop = stmt, False
        while id(node) in parents and parents[id(node)] is not fdef:
            node = parents[id(node)]
            in_loop |= isinstance(node, (gast.For, gast.While, gast.FunctionDef, gast.Lambda))
        names = {t.id for t in stmt.targets}
        read_later = any(isinstance(n, gast.Name) and n.id in names and not isinstance(n.ctx, gast.Del)
                         and _position(n) > _position(stmt) for n in gast.walk(fdef))
        if not in_loop and not read_later:
            droppable.add(id(stmt))
    return droppable


def without_deletes(stmts: list, droppable: set) -> list:
    """`stmts` without the ``del`` statements in `droppable` (in branches too)."""
    out = []
    for stmt in stmts:
        if id(stmt) in droppable:
            continue
        if isinstance(stmt, gast.If) and any(id(n) in droppable for n in gast.walk(stmt)):
            stmt = copy.copy(stmt)
            stmt.body = without_deletes(stmt.body, droppable) or [gast.copy_location(gast.Pass(), stmt)]
            stmt.orelse = without_deletes(stmt.orelse, droppable)
        out.append(stmt)
    return out
