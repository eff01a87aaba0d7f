"""The adjoints of branches and loops: a branch replays as a branch on the same condition, a
``for`` loop as a loop over the same range backwards, a ``while`` loop as a loop over its counted
iterations; adjoints flowing between iterations are the reverse loop's carried values. Plain
functions of the reversal state `rv` (a ``reverse._Reverser``), which reverses the bodies."""

from __future__ import annotations

import operator

from . import ir, runtime
from .primitives import restore, unappend
from .reverse_assign import ZEROS_LIKE

RANGE = ir.Ref(("range",), range)
OWN = ir.Ref(("own",), runtime.own)


def branch(rv, stmt: ir.If, env, in_loop):
    inner = set(ir.all_defs(stmt.then_body)) | set(ir.all_defs(stmt.else_body))
    results = []
    for side, body in (("then", stmt.then_body), ("else", stmt.else_body)):
        side_env = dict(env)
        pre = []
        for phi in stmt.phis:
            grad = env.get(phi.target) if rv.is_active(phi.target) else None
            if grad is not None:
                value = phi.then_value if side == "then" else phi.else_value
                rv.contribute(side_env, value, grad, pre, stmt.loc)
        forward, pushes, rev, _, _ = rv.block(body, side_env, in_loop)
        results.append((side_env, pre + rev, [s for f in forward for s in f] + pushes))
    (then_env, then_rev, then_fwd), (else_env, else_rev, else_fwd) = results
    phis = []
    keys = [k for k in dict.fromkeys(list(then_env) + list(else_env)) if isinstance(k, ir.Var)]
    for var in keys:
        if var in inner:
            continue
        a, b = then_env.get(var), else_env.get(var)
        if a == b:
            if a is not None:
                env[var] = a
            continue
        if a is None:
            a = rv.zeros(var, then_rev, stmt.loc)
        if b is None:
            b = rv.zeros(var, else_rev, stmt.loc)
        joined = rv.fresh_adjoint(var)
        phis.append(ir.Phi(joined, a, b))
        env[var] = joined
    forward = ir.If(stmt.cond, then_fwd, else_fwd, stmt.phis, stmt.loc)
    reverse = [ir.If(stmt.cond, then_rev, else_rev, phis, stmt.loc)] if (then_rev or else_rev or phis) else []
    return [forward], reverse


def loop_adjoints(rv, stmt, env, body_stmts, pre):
    """Set up the reverse loop's carried adjoints before its body is reversed.

    Two kinds: the adjoint of each active loop-carried value (flowing from
    one iteration to the one before it), and the adjoint of each outer value
    the body reads, which accumulates over the iterations.
    """
    body_env = dict(env)
    inner = set(ir.all_defs(body_stmts)) | {c.arg for c in stmt.carried}
    if isinstance(stmt, ir.For):
        inner.add(stmt.index)
    outer = []
    candidates = ir.free_vars(body_stmts) + [c.next for c in stmt.carried if isinstance(c.next, ir.Var)]
    for var in dict.fromkeys(candidates):
        if var in inner or not rv.is_active(var):
            continue
        arg_v = rv.fresh_adjoint(var)
        rv.owned.add(arg_v)
        outer.append((var, arg_v, env.get(var)))
        body_env[var] = arg_v
    forward_carried = []
    for c in stmt.carried:
        if not (rv.is_active(c.arg) or rv.is_active(c.out)):
            continue
        grad_out = env.get(c.out) if rv.is_active(c.out) else None
        if grad_out is None:
            grad_out = rv.zeros(c.out, pre, stmt.loc)
        arg_r = rv.fresh_adjoint(c.out)
        if c.arg in rv.mutated and c.arg not in rv.sequences:
            # the body updates this array in place, so its adjoint is zeroed in place each
            # iteration: start from an array nobody else holds
            if grad_out not in rv.owned:
                owned_init = rv.fresh_adjoint(c.out)
                pre.append(ir.Assign(owned_init, OWN, [grad_out], [], stmt.loc))
                grad_out = owned_init
            rv.owned.add(arg_r)
        forward_carried.append((c, grad_out, arg_r))
    start = []  # reverse statements at the top of each reverse iteration
    for c, _, arg_r in forward_carried:
        rv.contribute(body_env, c.next, arg_r, start, stmt.loc)
    return body_env, start, forward_carried, outer


def finish_loop(rv, stmt, env, body_env, body_rev, forward_carried, outer, pre):
    carried_r = []
    after = []
    for c, grad_out, arg_r in forward_carried:
        nxt = body_env.get(c.arg)
        if nxt is None:
            nxt = rv.namer.temp()
            body_rev.append(ir.Assign(nxt, ZEROS_LIKE, [arg_r], [], stmt.loc))
            rv.owned.add(nxt)
        if arg_r in rv.owned and nxt not in rv.owned:
            owned_next = rv.fresh_adjoint(c.arg)  # keep the next iteration's array our own
            body_rev.append(ir.Assign(owned_next, OWN, [nxt], [], stmt.loc))
            rv.owned.add(owned_next)
            nxt = owned_next
        out_r = rv.fresh_adjoint(c.arg)
        if arg_r in rv.owned:
            rv.owned.add(out_r)
        carried_r.append(ir.Carried(arg_r, grad_out, nxt, out_r))
        after.append((c.init, out_r))
    post = []
    for var, arg_v, _ in outer:
        nxt = body_env.get(var)
        if nxt == arg_v:
            continue
        # The accumulator must be an array nobody else holds, so the body may
        # add into it in place: start from zeros unless the current adjoint is one.
        previous = env.get(var)
        if previous is not None and previous in rv.owned:
            init, previous = previous, None
        else:
            init = rv.zeros(var, pre, stmt.loc)
        out_v = rv.fresh_adjoint(var)
        rv.owned.update((arg_v, out_v))
        carried_r.append(ir.Carried(arg_v, init, nxt, out_v))
        env.pop(var, None)
        if previous is not None:
            env[var] = previous
        after.append((var, out_v))
    for init, out_r in after:
        rv.contribute(env, init, out_r, post, stmt.loc)
    return carried_r, post


def for_loop(rv, stmt: ir.For, env, in_loop):
    pre = []
    body_env, start, forward_carried, outer = loop_adjoints(rv, stmt, env, stmt.body, pre)
    index_r = rv.namer.fresh(stmt.index.base)
    forward, pushes, rev, early, later = rv.block(
        stmt.body, body_env, True, block_args=[c.arg for c in stmt.carried], subst={stmt.index: index_r},
        carried=stmt.carried,
    )
    body_rev = start + rev
    carried_r, post = finish_loop(rv, stmt, env, body_env, body_rev, forward_carried, outer, pre)
    # (a loop of generated code may run reversed already: its reverse runs forward)
    fwd = ir.For(stmt.index, stmt.iterable, early + [s for f in forward for s in f] + pushes, stmt.carried,
                 stmt.reverse, stmt.loc)
    if not carried_r and not any(isinstance(s, ir.Assign) and s.func.value in (restore, unappend)
                                 for s in ir.walk(body_rev)):
        return [fwd], pre + post
    rev_loop = ir.For(index_r, stmt.iterable, body_rev, carried_r + later, not stmt.reverse, stmt.loc)
    return [fwd], pre + [rev_loop] + post


def while_loop(rv, stmt: ir.While, env, in_loop):
    pre = []
    whole = stmt.cond_body + stmt.body
    body_env, start, forward_carried, outer = loop_adjoints(rv, stmt, env, whole, pre)
    forward, pushes, rev, early, later = rv.block(whole, body_env, True, block_args=[c.arg for c in stmt.carried],
                                                  carried=stmt.carried)
    body_rev = start + rev
    carried_r, post = finish_loop(rv, stmt, env, body_env, body_rev, forward_carried, outer, pre)
    split = len(stmt.cond_body)
    cond_fwd = [s for f in forward[:split] for s in f]
    # saved after the test: the last, failing test has no reverse iteration
    body_fwd = early + [s for f in forward[split:] for s in f] + pushes
    has_restore = any(isinstance(s, ir.Assign) and s.func.value in (restore, unappend) for s in ir.walk(body_rev))
    if not carried_r and not has_restore:
        return [ir.While(cond_fwd, stmt.cond, body_fwd, stmt.carried, stmt.loc)], pre + post
    # count the iterations, so the reverse loop runs as many times
    count = rv.namer.fresh("n_iterations")
    count_next = rv.namer.fresh("n_iterations")
    count_out = rv.namer.fresh("n_iterations")
    body_fwd.append(ir.Assign(count_next, ir.prim(operator.add), [count, ir.Const(1)], [], stmt.loc))
    carried = stmt.carried + [ir.Carried(count, ir.Const(0), count_next, count_out)]
    fwd = ir.While(cond_fwd, stmt.cond, body_fwd, carried, stmt.loc)
    iterations = rv.namer.temp()
    pre.append(ir.Assign(iterations, RANGE, [count_out], [], stmt.loc))
    index_r = rv.namer.fresh("_")
    rev_loop = ir.For(index_r, iterations, body_rev, carried_r + later, False, stmt.loc)
    return [fwd], pre + [rev_loop] + post

