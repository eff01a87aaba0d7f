"""Lowering of control flow: ``if`` (and the lazy ``and``/``or``/``x if c else y``/chained
comparisons, lowered as branches), ``for`` and ``while`` loops (their carried names become block
arguments), and list comprehensions (lowered as the loop they stand for)."""

from __future__ import annotations

import copy
import operator

import gast

from . import closures, ir, item_aliases, lower_callables, lower_containers, runtime
from .desugar import positional_enumerate
from .errors import UnsupportedSyntaxError
from .lower_base import COMPARE, assigned_names, names_read
from .primitives import pack_list


def expr_Compare(lw, node, hint):
    left = lw.expr(node.left)

    def compare(left, op, right, target=None):
        if isinstance(op, gast.In):
            return lw.emit_call(operator.contains, [right, left], node=node, target=target)
        if isinstance(op, gast.NotIn):
            inside = lw.emit_call(operator.contains, [right, left], node=node)
            return lw.emit_call(operator.not_, [inside], node=node, target=target)
        return lw.emit_call(COMPARE[type(op)], [left, right], node=node, target=target)

    if len(node.ops) == 1:
        return compare(left, node.ops[0], lw.expr(node.comparators[0]), lw.target_for(hint))
    # a < b < c  ==  (a < b) and (b < c), with b evaluated once and c lazily

    def chain(i, left):
        right = lw.expr(node.comparators[i])
        test = compare(left, node.ops[i], right)
        if i == len(node.ops) - 1:
            return test
        return branch_value(lw, test, lambda: chain(i + 1, right), lambda: test, node)

    return chain(0, left)


def expr_BoolOp(lw, node, hint):
    # `a and b` is b if a is true else a; `a or b` is a if a is true else b (lazily)
    def combine(values):
        first = lw.expr(values[0])
        if len(values) == 1:
            return first
        rest = lambda: combine(values[1:])  # noqa: E731
        if isinstance(node.op, gast.And):
            return branch_value(lw, first, rest, lambda: first, node)
        return branch_value(lw, first, lambda: first, rest, node)

    return combine(node.values)


def expr_IfExp(lw, node, hint):
    test = lw.expr(node.test)
    return branch_value(lw, test, lambda: lw.expr(node.body), lambda: lw.expr(node.orelse), node, hint)


def branch_value(lw, cond, then_fn, else_fn, node, hint=None):
    """Lower `then_fn()` / `else_fn()` in two branches; return the phi of their values."""
    values = []
    lower_if(lw, cond, lambda: values.append(then_fn()), lambda: values.append(else_fn()), node)
    then_value, else_value = values
    if then_value == else_value:
        return then_value
    target = lw.namer.fresh(hint) if hint else lw.namer.temp()
    lw.out[-1].phis.append(ir.Phi(target, then_value, else_value))
    lw.joins[target] = (then_value, else_value)
    if then_value in lw.containers or else_value in lw.containers:
        lw.containers.add(target)
    return target


def lower_if(lw, cond, then_fn, else_fn, node):
    before_env, before_out = lw.env, lw.out
    lw.env, lw.out = dict(before_env), []
    then_fn()
    then_env, then_body = lw.env, lw.out
    lw.env, lw.out = dict(before_env), []
    else_fn()
    else_env, else_body = lw.env, lw.out
    lw.env, lw.out = before_env, before_out
    phis = []
    for name in list(dict.fromkeys(list(then_env) + list(else_env))):
        then_value = then_env.get(name, ir.Const(None))
        else_value = else_env.get(name, ir.Const(None))
        if closures.is_local(then_value) or closures.is_local(else_value):
            lw.env[name] = closures.merged(name, then_value, else_value, lw, node)
            continue
        if then_value == else_value:
            if name in then_env and name in else_env:
                lw.env[name] = then_value
            continue
        target = lw.namer.fresh(name)
        phis.append(ir.Phi(target, then_value, else_value))
        lw.joins[target] = (then_value, else_value)
        lw.env[name] = target
        if then_value in lw.containers or else_value in lw.containers:
            lw.containers.add(target)
    lw.out.append(ir.If(cond, then_body, else_body, phis, lw.loc(node)))


def stmt_If(lw, node):
    cond = lw.expr(node.test)
    lower_if(lw, cond, lambda: lw.block(node.body), lambda: lw.block(node.orelse), node)


def _loop_carried(lw, names, exclude=()):
    carried = []
    for name in names:
        if name in exclude:
            continue
        init = lw.env.get(name, ir.Const(None))
        arg = lw.namer.fresh(name)
        lw.arg_inits[arg] = init
        carried.append((name, arg, init))
    return carried


def _finish_loop(lw, carried, body_env, node, body):
    item_aliases.check_loop_updates(lw, carried, body_env, node, body)
    result = []
    for name, arg, init in carried:
        nxt = body_env[name]
        out = lw.namer.fresh(name)
        result.append(ir.Carried(arg, init, nxt, out))
        lw.joins[out] = (init, nxt)
        lw.env[name] = out
        if init in lw.containers or nxt in lw.containers:
            lw.containers.update((arg, out))
    return result


def stmt_For(lw, node):
    if lower_callables.unroll_loop(lw, node):  # for layer in LAYERS: x = layer(x)
        return
    it = positional_enumerate(node.iter)
    target = node.target
    is_call = isinstance(it, gast.Call) and not it.keywords
    callee = lw.expr(it.func) if is_call and isinstance(it.func, (gast.Name, gast.Attribute)) else None
    callee = callee.value if isinstance(callee, ir.Ref) else None
    index_name, counted = None, None
    if (callee is enumerate and len(it.args) in (1, 2) or callee is zip and it.args) and isinstance(target, gast.Name):
        return stmt_For(lw, _with_tuple_target(lw, node, 2 if callee is enumerate else len(it.args)))
    if callee is enumerate and len(it.args) == 1 and _calls(lw, it.args[0], zip) and isinstance(target, gast.Tuple) \
            and len(target.elts) == 2 and isinstance(target.elts[0], gast.Name) \
            and isinstance(target.elts[1], gast.Tuple) and len(target.elts[1].elts) == len(it.args[0].args):
        # `for i, (u, v) in enumerate(zip(a, b))` is the loop over zip(a, b) whose index is i
        index_name, it, target, callee = target.elts[0].id, it.args[0], target.elts[1], zip
    if (callee is range or callee is reversed and len(it.args) == 1 and _calls(lw, it.args[0], range)) \
            and isinstance(target, gast.Name):
        iterable = lw.expr(it, None)  # a range, or a range backwards (range(n)[::-1])
        index_name = target.id
        bind = []
    elif callee is enumerate and len(it.args) in (1, 2) and isinstance(target, gast.Tuple) \
            and len(target.elts) == 2 and isinstance(target.elts[0], gast.Name):
        seq = lw.expr(it.args[0])
        length = lw.emit_call(ir.Ref(("len",), len), [seq], node=node)
        iterable = lw.emit_call(ir.Ref(("range",), range), [length], node=node)
        if len(it.args) == 2:  # enumerate(xs, start): i is the position plus start
            counted = (target.elts[0].id, lw.expr(it.args[1]))
        else:
            index_name = target.elts[0].id
        bind = [(target.elts[1], seq)]
    elif callee is zip and isinstance(target, gast.Tuple) and len(target.elts) == len(it.args):
        seqs = [lw.expr(a) for a in it.args]
        lengths = [lw.emit_call(ir.Ref(("len",), len), [s], node=node) for s in seqs]
        length = lengths[0] if len(lengths) == 1 else lw.emit_call(ir.Ref(("min",), min), lengths, node=node)
        iterable = lw.emit_call(ir.Ref(("range",), range), [length], node=node)
        bind = list(zip(target.elts, seqs))
    else:
        seq = lw.expr(it)
        if isinstance(seq, ir.Var) and seq in lw.fields and seq not in lw.packs:
            seq = ir.Const(tuple(lw.fields[seq]))  # `for k in d` visits the keys
        length = lw.emit_call(ir.Ref(("len",), len), [seq], node=node)
        iterable = lw.emit_call(ir.Ref(("range",), range), [length], node=node)
        bind = [(target, seq)]
    index = lw.namer.fresh(index_name or "k")
    body_names = assigned_names(node.body, lw.local_names) + [
        n for t, _ in bind for n in assigned_names([gast.Assign(targets=[t], value=None, type_comment=None)])
    ]
    carried = _loop_carried(lw, list(dict.fromkeys(body_names)),
                                 exclude={index_name} | closures.functions_defined_in(node.body))
    outer_env, outer_out = lw.env, lw.out
    lw.env = dict(outer_env)
    lw.env.update({name: arg for name, arg, _ in carried})
    if index_name:
        lw.env[index_name] = index
    closures.enter_loop(lw, node.body, node)
    lw.out = []
    if counted:
        name, start = counted
        lw.env[name] = lw.emit_call(operator.add, [index, start], node=node, target=lw.namer.fresh(name))
    for tgt, seq in bind:
        element = lw.emit_call(operator.getitem, [seq, index], node=node,
                                 target=lw.namer.fresh(tgt.id) if isinstance(tgt, gast.Name) else None)
        lw.element_of[element] = seq
        lw.loop_items[element] = (node, index)
        lower_containers.bind_target(lw, tgt, element, node)
    lw.block(node.body)
    body_env, body = lw.env, lw.out
    lw.env, lw.out = outer_env, outer_out
    carried = closures.leave_loop(lw, carried, body_env, body, node)
    carried_ir = _finish_loop(lw, carried, body_env, node, body)
    lw.out.append(ir.For(index, iterable, body, carried_ir, loc=lw.loc(node)))
    reads = (1 if lw.name_reads is None else lw.name_reads.get(index_name, 0)) if index_name else 0
    if reads and (lw.name_reads is None or reads > names_read(node.body).get(index_name, 0)):
        # read outside the loop: after it the name holds the last index (its old value if the loop
        # ran no iteration)
        lw.env[index_name] = lw.emit_call(
            ir.Ref(("index_after_loop",), runtime.index_after_loop),
            [iterable, lw.env.get(index_name, ir.Const(None))], node=node, target=lw.namer.fresh(index_name))


def _with_tuple_target(lw, node, size):
    """``for t in zip(a, b): body`` as ``for (t_0, t_1) in zip(a, b): t = (t_0, t_1); body`` (likewise
    enumerate), so the items are read by index like those of a tuple target."""
    used = {n.id for n in gast.walk(lw.parsed.node) if isinstance(n, gast.Name)}
    parts = []
    while len(parts) < size:
        name = lw.namer.fresh(f"{node.target.id}_part").name
        if name not in used:
            parts.append(name)

    def names(ctx):
        return [gast.Name(id=p, ctx=ctx, annotation=None, type_comment=None) for p in parts]

    pack = gast.Assign(targets=[node.target], value=gast.Tuple(elts=names(gast.Load()), ctx=gast.Load()),
                       type_comment=None)
    loop = gast.For(target=gast.Tuple(elts=names(gast.Store()), ctx=gast.Store()), iter=node.iter,
                    body=[pack] + node.body, orelse=[], type_comment=None)
    for sub in gast.walk(loop):
        if getattr(sub, "lineno", None) is None and "lineno" in getattr(sub, "_attributes", ()):
            gast.copy_location(sub, node)
    return gast.copy_location(loop, node)


def _calls(lw, node, func) -> bool:
    """Is `node` a call, without keywords, of the function `func` (as it resolves here)?"""
    if not (isinstance(node, gast.Call) and not node.keywords and isinstance(node.func, gast.Name)):
        return False
    if node.func.id in lw.env or node.func.id in lw.local_names:
        return False
    return lw.parsed.resolve(node.func.id) is func


def stmt_While(lw, node):
    carried = _loop_carried(lw, assigned_names(node.body, lw.local_names),
                                 exclude=closures.functions_defined_in(node.body))
    outer_env, outer_out = lw.env, lw.out
    lw.env = dict(outer_env)
    lw.env.update({name: arg for name, arg, _ in carried})
    closures.enter_loop(lw, node.body, node)
    lw.out = []
    cond = lw.expr(node.test)
    cond_body = lw.out
    lw.out = []
    lw.block(node.body)
    body_env, body = lw.env, lw.out
    lw.env, lw.out = outer_env, outer_out
    carried = closures.leave_loop(lw, carried, body_env, cond_body + body, node)
    carried_ir = _finish_loop(lw, carried, body_env, node, body)
    lw.out.append(ir.While(cond_body, cond, body, carried_ir, loc=lw.loc(node)))


def expr_ListComp(lw, node, hint):
    """``[elt for x in xs if c]`` is the loop ``acc = []; for x in xs: if c: acc.append(elt)``."""
    if len(node.generators) != 1 or node.generators[0].is_async:
        raise lw.error(UnsupportedSyntaxError, "s2sad handles comprehensions with one `for` only", node,
                         hint="write the nested loops out, appending to a list")
    gen = node.generators[0]
    if isinstance(node, gast.GeneratorExp) and hint is not None:  # `g = (... for v in xs)`, read later
        reads = {n.id for n in gast.walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}
        item_aliases.refuse_lazy_reads(lw, node, reads, "this generator expression", hint)
    # the comprehension's own variables must not clobber the function's: rename them
    renames = {}
    for name_node in gast.walk(gen.target):
        if isinstance(name_node, gast.Name):
            renames[name_node.id] = lw.namer.fresh(name_node.id + "_item").name
    rename = _Renamer(renames)
    target = rename.visit(copy.deepcopy(gen.target))
    elt = rename.visit(copy.deepcopy(node.elt))
    ifs = [rename.visit(copy.deepcopy(c)) for c in gen.ifs]
    acc = lw.namer.fresh(hint or "items").name
    append = gast.Expr(value=gast.Call(
        func=gast.Attribute(value=gast.Name(id=acc, ctx=gast.Load(), annotation=None, type_comment=None),
                            attr="append", ctx=gast.Load()),
        args=[elt], keywords=[]))
    body = [append]
    if ifs:  # `for v in xs if a if b` keeps v when a and b hold (b tested only when a does)
        test = ifs[0] if len(ifs) == 1 else gast.BoolOp(op=gast.And(), values=ifs)
        body = [gast.If(test=test, body=body, orelse=[])]
    loop = gast.For(target=target, iter=gen.iter, body=body, orelse=[], type_comment=None)
    for sub in gast.walk(loop):
        if getattr(sub, "lineno", None) is None and "lineno" in getattr(sub, "_attributes", ()):
            gast.copy_location(sub, node)
    lw.env[acc] = lw.emit_call(pack_list, [], node=node, target=lw.namer.fresh(acc))
    lw.local_names.add(acc)
    stmt_For(lw, loop)
    result = lw.env.pop(acc)
    for new_name in renames.values():
        lw.env.pop(new_name, None)
    return result


class _Renamer(gast.NodeTransformer):
    """Renames the given names in an expression (a comprehension's own variables)."""

    def __init__(self, renames):
        self.renames = renames

    def visit_Name(self, node):
        if node.id in self.renames:
            node.id = self.renames[node.id]
        return node

