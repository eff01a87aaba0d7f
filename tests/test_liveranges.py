"""Live ranges (s2sad/liveranges.py) against the pairwise analysis they replaced.

Codegen used to build the interference graph pair by pair with a set-based
backward data flow; it cost O(N^2) on long functions. `live_ranges` computes
the same relation from intervals. `_reference_graph` below is that old
analysis, kept here as the specification: for every pair of values in the
generated code of a varied set of functions (branches, loops, while loops,
raise, in-place updates, folded temporaries, forward and reverse mode) the two
must agree exactly, so that names, and hence the generated code, stay the same.
"""

from __future__ import annotations

import itertools
import operator

import numpy as np
import pytest

import s2sad
from s2sad import ir
from s2sad.codegen import fold_temporaries
from s2sad.liveranges import expand_folded, live_ranges

# ------------------------------------------------------------------ the reference


def _reference_graph(fn, folded) -> dict:
    """Var -> the Vars it interferes with, by the old pairwise data flow."""
    edges: dict = {}

    def add(a, others):
        for b in others:
            if b != a:
                edges.setdefault(a, set()).add(b)
                edges.setdefault(b, set()).add(a)

    def reads(stmt):
        return {v for a in ir.uses(stmt) for v in expand_folded(a, folded)}

    def block(stmts, live_out):
        live = set(live_out)
        for stmt in reversed(stmts):
            live = statement(stmt, live)
        return live

    def statement(stmt, live):
        if isinstance(stmt, ir.Assign) and stmt.target in folded:
            return live
        if isinstance(stmt, (ir.Assign, ir.Pop)):
            add(stmt.target, live - {stmt.target})
            return (live - {stmt.target}) | reads(stmt)
        if isinstance(stmt, ir.If):
            targets = {p.target for p in stmt.phis}
            for t in targets:
                add(t, live | targets)
            after = live - targets
            then_in = block(stmt.then_body, after | {p.then_value for p in stmt.phis if isinstance(p.then_value, ir.Var)})
            else_in = block(stmt.else_body, after | {p.else_value for p in stmt.phis if isinstance(p.else_value, ir.Var)})
            return then_in | else_in | set(expand_folded(stmt.cond, folded))
        if isinstance(stmt, (ir.For, ir.While)):
            outs = {c.out for c in stmt.carried}
            for o in outs:
                add(o, live | outs)
            after = live - outs
            body_all = stmt.body + (stmt.cond_body if isinstance(stmt, ir.While) else [])
            at_top = {c.arg for c in stmt.carried} | ({stmt.index} if isinstance(stmt, ir.For) else set())
            inner = set(ir.all_defs(body_all)) | at_top
            outer_reads = set()
            for s in ir.walk(body_all):
                outer_reads |= reads(s)
                if isinstance(s, ir.If):
                    outer_reads |= {v for p in s.phis for v in (p.then_value, p.else_value) if isinstance(v, ir.Var)}
                if isinstance(s, (ir.For, ir.While)):
                    outer_reads |= {c.next for c in s.carried if isinstance(c.next, ir.Var)}
            outer_reads |= {c.next for c in stmt.carried if isinstance(c.next, ir.Var)}
            if isinstance(stmt, ir.While):
                outer_reads |= set(expand_folded(stmt.cond, folded))
            through = after | (outer_reads - inner)
            if isinstance(stmt, ir.For):
                through |= set(expand_folded(stmt.iterable, folded))
            body_end = through | {c.next for c in stmt.carried if isinstance(c.next, ir.Var)}
            for _ in range(2):  # what is alive at the top of the body is alive at its end (the back edge)
                if isinstance(stmt, ir.While):
                    body_in = block(stmt.body, body_end)
                    top = block(stmt.cond_body, body_in | set(expand_folded(stmt.cond, folded))
                                | {c.arg for c in stmt.carried})
                else:
                    top = block(stmt.body, body_end)
                body_end = body_end | (top - at_top)
            for v in at_top:
                add(v, top | through | at_top)
            return (top - at_top) | through | {c.init for c in stmt.carried if isinstance(c.init, ir.Var)}
        if isinstance(stmt, ir.Raise):
            return reads(stmt)
        if isinstance(stmt, (ir.Assert, ir.Push)):
            return live | reads(stmt)
        return live

    top = block(fn.body, set(expand_folded(fn.result, folded)))
    params = {p.var for p in fn.params}
    for p in params:
        add(p, params | top)
    return edges


# ------------------------------------------------------------------ programs


def straight(x, y):
    z = x * y + np.sin(x)
    z = z * z
    return z + y


def branches(x, y):
    if x > 0.0:
        z = x * y
        u = z * 2.0
    else:
        z = np.sin(x) * y
        u = x
    if y > 1.0:
        z = z + u
    return z * u


def loops(x, w):
    s = 0.0
    for i in range(len(x)):
        if x[i] > 0:
            s = s + w * x[i] ** 2
        else:
            s = s - np.sin(x[i])
        for j in range(2):
            s = s * w + j
    return s


def while_loop(x):
    z = x
    n = 0
    while z < 5.0 and n < 10:
        z = z * z + 1.0
        n = n + 1
    return z


def validated(x, y):
    if np.ndim(x) != 1:
        raise ValueError("x must be a vector")
    total = 0.0
    for i in range(len(x)):
        if x[i] > 1e6:
            raise ValueError("too big")
        total = total + x[i] * y
    return total


def updates(x):
    out = np.zeros(len(x))
    acc = []
    for i in range(len(x)):
        out[i] = np.tanh(x[i]) * x[i]
        acc.append(out[i] * 2.0)
    return np.sum(out) + acc[0]


def deep_sum(x):
    return x[0] * 1.0 + x[1] * 2.0 + x[2] * 3.0 + x[0] * x[1] + x[1] * x[2] + np.sin(x[0]) + np.cos(x[2])


CASES = [
    (straight, (1.0, 2.0), "grad"),
    (branches, (1.0, 2.0), "grad"),
    (branches, (1.0, 2.0), "jvp"),
    (loops, (np.array([1.0, -2.0]), 0.5), "grad"),
    (loops, (np.array([1.0, -2.0]), 0.5), "jvp"),
    (while_loop, (1.5,), "grad"),
    (validated, (np.array([1.0, 2.0]), 3.0), "grad"),
    (updates, (np.array([1.0, 2.0]),), "grad"),
    (deep_sum, (np.array([1.0, 2.0, 3.0]),), "grad"),
    (deep_sum, (np.array([1.0, 2.0, 3.0]),), "hvp"),
    (loops, (np.array([1.0, -2.0]), 0.5), "hvp"),
]


@pytest.mark.parametrize("f, args, kind", CASES, ids=[f"{f.__name__}-{k}" for f, _, k in CASES])
def test_live_ranges_give_the_pairwise_interference(f, args, kind):
    generated = getattr(s2sad, kind)(f)
    fn = generated.ir
    folded = fold_temporaries(fn)
    graph = _reference_graph(fn, folded)
    ranges = live_ranges(fn, folded)
    values = [p.var for p in fn.params] + [v for v in ir.all_defs(fn.body) if v not in folded]
    assert len(values) > 5
    disagree = [(a, b) for a, b in itertools.combinations(values, 2)
                if (b in graph.get(a, ())) != ranges.interferes(a, b)]
    assert not disagree, f"{len(disagree)} pairs differ, e.g. {disagree[:5]}"


# ------------------------------------------------------------------ hand-made IR
# Shapes the engine rarely produces, each written to reach one rule of the scan.


def _v(name):
    return ir.Var(name, name.rstrip("0123456789") or name)


def _op(target, func, *args):
    return ir.Assign(_v(target), ir.prim(func), [a if not isinstance(a, str) else _v(a) for a in args])


def _else_value_read_after_the_branch():
    """`b`, bound in the else-branch and read after the If, is alive all through the then-branch."""
    body = [_op("c", operator.gt, "x", ir.Const(0.0)),
            ir.If(_v("c"), [_op("a", operator.mul, "x", ir.Const(2.0)), _op("a2", operator.mul, "a", "a")],
                  [_op("b", operator.mul, "x", ir.Const(3.0))]),
            _op("r", operator.add, "b", "x")]
    return ir.Function("else_read", [ir.Param(_v("x"))], body, _v("r"))


def _raise_before_anything_else_is_read():
    """Nothing is alive after a raise: `m` may share a name with `z`, alive only after the If."""
    body = [_op("z", operator.mul, "x", ir.Const(2.0)),
            _op("c", operator.gt, "x", ir.Const(0.0)),
            ir.If(_v("c"), [_op("m", operator.mul, "x", ir.Const(3.0)), ir.Raise(_v("m"))], []),
            _op("r", operator.add, "z", ir.Const(1.0))]
    return ir.Function("raises", [ir.Param(_v("x"))], body, _v("r"))


def _loop(body, carried, iterable=ir.Const((0, 1, 2))):
    return ir.For(_v("i"), iterable, body, carried)


def _branch_value_read_later_in_a_loop():
    """`v`, bound in a then-branch inside a loop and read after the If, is alive at the body's top,
    so (back edge) at its end too."""
    body = [_op("c", operator.gt, "s0", ir.Const(0.0)),
            ir.If(_v("c"), [_op("v", operator.mul, "s0", ir.Const(2.0))], []),
            _op("w", operator.add, "v", "x"),  # x is read from outside: alive all through the loop
            _op("s2", operator.mul, "w", "s0")]
    loop = _loop(body, [ir.Carried(_v("s0"), _v("x"), _v("s2"), _v("s3"))])
    return ir.Function("branch_in_loop", [ir.Param(_v("x"))], [loop], _v("s3"))


def _raise_in_a_loop_body():
    """A raise at the body's top level kills everything, yet what the loop reads stays alive before it."""
    body = [_op("y", operator.mul, "s0", ir.Const(2.0)), ir.Raise(_v("y")), _op("s2", operator.add, "y", "x")]
    loop = _loop(body, [ir.Carried(_v("s0"), _v("x"), _v("s2"), _v("s3"))])
    return ir.Function("raise_in_loop", [ir.Param(_v("x"))], [loop, _op("r", operator.mul, "s3", ir.Const(2.0))],
                       _v("r"))


def _while_with_a_free_condition():
    """An inner while's condition read from outside the outer loop is alive all through it."""
    inner = ir.While([], _v("flag"), [_op("u2", operator.mul, "u0", ir.Const(0.5))],
                     [ir.Carried(_v("u0"), _v("s0"), _v("u2"), _v("u3"))])
    body = [inner, _op("s2", operator.add, "u3", ir.Const(1.0)), _op("q", operator.mul, "s2", "s2"),
            _op("s4", operator.add, "q", "s2")]
    loop = _loop(body, [ir.Carried(_v("s0"), _v("x"), _v("s4"), _v("s5"))])
    params = [ir.Param(_v("x")), ir.Param(_v("flag"))]
    return ir.Function("free_while", params, [loop], _v("s5"))


def _while_reading_its_arguments():
    """A while loop's block arguments are alive where its condition is tested."""
    cond_body = [_op("k", operator.lt, "n0", ir.Const(5)), _op("g", operator.mul, "z0", ir.Const(2.0))]
    body = [_op("z2", operator.mul, "g", "g"), _op("n2", operator.add, "z2", ir.Const(1))]
    loop = ir.While(cond_body, _v("k"), body, [ir.Carried(_v("z0"), _v("x"), _v("z2"), _v("z3")),
                                               ir.Carried(_v("n0"), ir.Const(0), _v("n2"), _v("n3"))])
    return ir.Function("while_args", [ir.Param(_v("x"))], [loop], _v("z3"))


HAND_MADE = [_else_value_read_after_the_branch, _raise_before_anything_else_is_read,
             _branch_value_read_later_in_a_loop, _raise_in_a_loop_body, _while_with_a_free_condition,
             _while_reading_its_arguments]


@pytest.mark.parametrize("make", HAND_MADE, ids=[m.__name__.strip("_") for m in HAND_MADE])
def test_live_ranges_of_unusual_shapes(make):
    fn = ir.verify(make())
    graph = _reference_graph(fn, {})
    ranges = live_ranges(fn, {})
    values = [p.var for p in fn.params] + list(ir.all_defs(fn.body))
    disagree = [(a, b) for a, b in itertools.combinations(values, 2)
                if (b in graph.get(a, ())) != ranges.interferes(a, b)]
    assert not disagree, f"{len(disagree)} pairs differ, e.g. {disagree[:5]}"


def test_a_long_function_needs_no_pairwise_work():
    """500 statements reassigning two names: each reuses its name once the old value is dead
    in the primal, and the live ranges stay a handful of intervals per value."""
    x = ir.Var("x", "x")
    body, prev = [], x
    for k in range(500):
        v = ir.Var(f"a_{k}", "a")
        body.append(ir.Assign(v, ir.prim(np.sin), [prev]))
        prev = v
    fn = ir.Function("long", [ir.Param(x)], body, prev)
    ranges = live_ranges(fn, {})
    assert all(len(iv) <= 2 for iv in ranges.occupied.values())
    from s2sad.codegen import assign_names

    names = assign_names(fn, {}, set()).names
    assert {names[s.target] for s in body} == {"a"}  # one name, reused 500 times
