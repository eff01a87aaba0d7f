"""Lowering of simple statements (assignments, ``y op= v``, bare expressions, ``assert``,
``raise``), of a function's body and result, and the placeholders that stand for refused code so
that lowering goes on and one error lists every problem."""

from __future__ import annotations

import inspect
import operator

import gast

from . import closures, ir, item_aliases, lower_containers, lower_exprs, runtime
from .desugar import refused_in
from .errors import NoDerivativeError, S2SADError, UnsupportedSyntaxError
from .lower_base import BINOPS, assigned_names, has_any_rule, is_user_function


def stmt_Assign(lw, node):
    targets = node.targets
    hint = targets[0].id if len(targets) == 1 and isinstance(targets[0], gast.Name) else None
    if len(targets) == 1 and isinstance(targets[0], (gast.Tuple, gast.List)) and isinstance(
        node.value, (gast.Tuple, gast.List)
    ) and len(targets[0].elts) == len(node.value.elts) and not any(
        isinstance(e, gast.Starred) for e in targets[0].elts
    ):
        # a, b = b, a + b: evaluate every right-hand side, then bind
        values = [
            lw.expr(v, t.id if isinstance(t, gast.Name) else None)
            for t, v in zip(targets[0].elts, node.value.elts)
        ]
        for t, v in zip(targets[0].elts, values):
            lower_containers.bind_target(lw, t, v, node)
        return
    value = lw.expr(node.value, hint)
    for target in targets:
        lower_containers.bind_target(lw, target, value, node)


def stmt_AnnAssign(lw, node):
    if node.value is None:
        return
    hint = node.target.id if isinstance(node.target, gast.Name) else None
    lower_containers.bind_target(lw, node.target, lw.expr(node.value, hint), node)


def stmt_AugAssign(lw, node):
    op = BINOPS[type(node.op)]
    target = node.target
    if isinstance(target, gast.Name):
        current = lower_exprs.read_name(lw, gast.Name(id=target.id, ctx=gast.Load(), annotation=None,
                                                       type_comment=None))
        item_aliases.guard(lw, current, target.id, node)  # `r = rows[0]; r += 1` writes into rows' array
        viewed = lw.viewed_from.get(current)
        while viewed is not None and (ir.is_temp(viewed) or not read_later(lw, viewed.base, node)) \
                and viewed in lw.viewed_from:
            viewed = lw.viewed_from[viewed]  # `w = y[1:][:1]`, `w = v[:1]` of `v = y[1:]`: y counts
        value = lw.expr(node.value)
        same, probe = {current}, current
        while isinstance(probe, ir.Var) and probe in lw.arg_inits:
            probe = lw.arg_inits[probe]  # a loop's block argument is its initial value at first
            if probe in same:
                break
            same.add(probe)
        aliases = [n for n, a in lw.env.items() if a in same and n != target.id and isinstance(a, ir.Var)]
        if same & lw.contained:
            aliases.append("a list or tuple that holds it")
        if same & lw.arguments:
            aliases.append("the caller's argument")  # `def bump(a): a += 1` changes the caller's array
        held = closures.held_values(lw.env)
        if same & held:
            aliases.append("a partial or a default that holds it")  # which a later call reads
        if (same & (lw.contained | lw.arguments | held)) or any(read_later(lw, n, node) for n in aliases):
            # for an array, `y += v` writes into the array `other` also names (NumPy); for a
            # number it only rebinds y. Only the run time knows which: check there.
            where = f"line {lw.loc(node).line}: {lw.loc(node).text.strip()} ({target.id} is also named " \
                    f"{', '.join(aliases)})"
            current = lw.emit_call(ir.Ref(("not_a_view",), runtime.not_a_view),
                                     [current, current, ir.Const(where)], node=node)
        for name in [n for n, a in lw.env.items() if same & lw.parameters and a in lw.parameters - same
                     and read_later(lw, n, node)]:  # f(a, a): `x += v` would write into y too
            where = f"line {lw.loc(node).line}: {lw.loc(node).text.strip()} ({target.id} may be the same " \
                    f"array as the argument {name})"
            current = lw.emit_call(ir.Ref(("not_a_view",), runtime.not_a_view),
                                     [current, lw.env[name], ir.Const(where)], node=node)
        if viewed is not None and not ir.is_temp(viewed) and read_later(lw, viewed.base, node) \
                and item_aliases.iterated_only(lw, current, viewed.base, node) is None:  # `for row in m: row += v`
            # `v = y[1:]; v *= 2` writes into y too (a view); the lowering `v = v * 2` would not
            where = f"line {lw.loc(node).line}: {lw.loc(node).text.strip()} ({target.id} may be a view " \
                    f"of {viewed.base})"
            current = lw.emit_call(ir.Ref(("not_a_view",), runtime.not_a_view),
                                     [current, viewed, ir.Const(where)], node=node)
        lw.env[target.id] = lw.emit_call(op, [current, value], node=node, target=lw.namer.fresh(target.id))
        return
    if isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name):
        # x[i] += v  ==  x[i] = x[i] + v, with the index evaluated once
        idx = lower_containers.subscript_index(lw, target.slice)
        base = lower_exprs.read_name(lw, target.value)
        old = lw.emit_call(operator.getitem, [base, idx], node=node)
        if base in lw.containers:  # `rows[i] += v` writes into the array rows[i] holds
            item_aliases.guard(lw, old, target.value.id, node, item=True)
            # ... which another item of rows may hold too (rows = [a, a])
            others = lw.emit_call(ir.Ref(("other_items",), runtime.other_items), [base, idx], node=node)
            where = f"line {lw.loc(node).line}: {lw.loc(node).text.strip()} (the item of {target.value.id} " \
                    "updated in place may share its data with another of its items)"
            lw.emit_call(ir.Ref(("not_a_view",), runtime.not_a_view), [others, old, ir.Const(where)], node=node)
        value = lw.expr(node.value)
        new = lw.emit_call(op, [old, value], node=node)
        lower_containers.store_subscript(lw, target, new, node, index=idx)
        return
    raise lw.error(UnsupportedSyntaxError, "s2sad cannot differentiate this augmented assignment", node,
                     hint="update a local name or an element of a local array")


def read_later(lw, name, node) -> bool:
    """Is `name` read after `node` in the function (later lines, anywhere in a loop around it, or
    in a nested def or lambda, which may be called later)? In an inlined helper or closure, the
    caller may read the value later too: assume it does."""
    return bool(lw.stack) or name in item_aliases.names_read_after(lw.parsed.node, node)


def stmt_Expr(lw, node):
    if isinstance(node.value, gast.Constant):
        return  # a docstring or a bare literal
    start = len(lw.out)
    lw.expr(node.value)
    for stmt in lw.out[start:]:
        # a method of the user's own object whose result is dropped can only act by changing its
        # object or its arguments, and s2sad does not read methods: refuse, never drop it
        method = stmt.func.value if isinstance(stmt, ir.Assign) and isinstance(stmt.func, ir.Ref) else None
        if inspect.ismethod(method) and is_user_function(method.__func__) and not has_any_rule(method):
            raise lw.error(
                NoDerivativeError,
                f"the result of the method {method.__func__.__qualname__}() is not used, so it can only "
                "act by changing its object or its arguments, which s2sad does not see",
                node,
                hint="make it a plain function that returns the new value (s2sad reads and inlines "
                "functions), or register a rule for it with @s2sad.adjoint",
            )


def stmt_Pass(lw, node):
    pass


def stmt_Assert(lw, node):
    test = lw.expr(node.test)
    msg = lw.expr(node.msg) if node.msg is not None else None
    lw.out.append(ir.Assert(test, msg, lw.loc(node)))


def stmt_Raise(lw, node):
    if node.cause is not None:
        raise lw.error(UnsupportedSyntaxError, "s2sad cannot differentiate `raise ... from ...`", node,
                         hint="raise the exception without `from`")
    exc = lw.expr(node.exc) if node.exc is not None else None
    lw.out.append(ir.Raise(exc, lw.loc(node)))


def stand_in(lw, stmt):
    """Bind what a refused statement would have bound to placeholders, so that later lines
    are checked too without reporting these names as undefined."""
    for ident in bound_by(stmt, lw.local_names):
        lw.env[ident] = placeholder(lw, ident, stmt)


def placeholder(lw, base, node):
    var = lw.namer.fresh(base) if base else lw.namer.temp()
    lw.out.append(ir.Assign(var, ir.prim(refused_value), [], [], lw.loc(node)))
    lw.stand_ins.add(var)
    return var


def refused_value():
    """Stands for the value of code s2sad refused (never run: the refusal is raised first)."""
    raise AssertionError("s2sad lowered refused code")  # pragma: no cover


def body_and_result(lw, fdef, hint=None):
    """Lower the body; the returned value is named `hint` (the caller's name for it) if new."""
    body = fdef.body
    final = body[-1]
    assert isinstance(final, gast.Return)
    lw.result_loc = lw.loc(final)
    lw.block(body[:-1])
    if final.value is None:
        return ir.Const(None)
    if refused_in(final.value):
        return placeholder(lw, hint, final)  # `syntax_problems` has reported it already
    try:
        return lw.expr(final.value, hint)
    except S2SADError as exc:
        lw.problems.append(exc)
        return placeholder(lw, hint, final)


def own_parts(stmt) -> list:
    """The parts of a statement lowered with it: a compound statement's header, not its body
    (whose statements `block` checks one by one)."""
    if isinstance(stmt, (gast.If, gast.While)):
        return [stmt.test]
    if isinstance(stmt, gast.For):
        return [stmt.target, stmt.iter]
    return [stmt]


def bound_by(stmt, local_names) -> list[str]:
    """Every name `stmt` could bind, refused constructs included (``global n``, ``import m``,
    ``def g``, ``with ... as h``, ``(n := ...)``)."""
    found = dict.fromkeys(assigned_names([stmt], local_names))
    for node in gast.walk(stmt):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            found[node.id] = None
        elif isinstance(node, (gast.Global, gast.Nonlocal)):
            found.update(dict.fromkeys(node.names))
        elif isinstance(node, (gast.Import, gast.ImportFrom)):
            found.update(dict.fromkeys((a.asname or a.name).split(".")[0] for a in node.names))
        elif isinstance(node, (gast.FunctionDef, gast.AsyncFunctionDef, gast.ClassDef)):
            found[node.name] = None
    return list(found)



def stmt_Return(lw, node):
    raise AssertionError("desugar leaves only the final return")  # pragma: no cover
