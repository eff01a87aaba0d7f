"""The IR's invariants: verify() rejects broken IR, and every pass's output passes it."""

import operator

import numpy as np
import pytest

import s2sad
from s2sad import codegen, ir
from s2sad.lower import normalize
from s2sad.reverse import reverse_function
from s2sad.simplify import simplify

ADD = ir.prim(operator.add)


def _fn(body, params=("x",), result=None):
    params = [ir.Param(ir.Var(p, p)) for p in params]
    return ir.Function("f", params, body, result if result is not None else params[0].var)


def test_verify_accepts_a_simple_function():
    x = ir.Var("x", "x")
    y = ir.Var("y", "y")
    ir.verify(_fn([ir.Assign(y, ADD, [x, ir.Const(1.0)])], result=y))


def test_verify_rejects_double_binding():
    x = ir.Var("x", "x")
    y = ir.Var("y", "y")
    body = [ir.Assign(y, ADD, [x, x]), ir.Assign(y, ADD, [x, x])]
    with pytest.raises(ir.IRError, match="bound twice"):
        ir.verify(_fn(body, result=y))


def test_verify_rejects_use_before_definition():
    x = ir.Var("x", "x")
    y, z = ir.Var("y", "y"), ir.Var("z", "z")
    body = [ir.Assign(y, ADD, [x, z]), ir.Assign(z, ADD, [x, x])]
    with pytest.raises(ir.IRError, match="before it is bound"):
        ir.verify(_fn(body, result=y))


def test_verify_rejects_loop_value_used_after_the_loop():
    x = ir.Var("x", "x")
    i, r, inner = ir.Var("i", "i"), ir.Var("r", "r"), ir.Var("inner", "inner")
    loop = ir.For(i, r, [ir.Assign(inner, ADD, [x, i])])
    body = [ir.Assign(r, ir.Ref(("range",), range), [ir.Const(3)]), loop]
    with pytest.raises(ir.IRError, match="out of scope"):
        ir.verify(_fn(body, result=inner))


def test_passes_verify_when_asked_and_code_generation_always(monkeypatch):
    """Outside the tests a pass does not verify its output (``S2SAD_VERIFY_PASSES`` unset), but
    code generation verifies what it prints: broken IR stops with IRError, never as wrong code."""
    x = ir.Var("x", "x")
    y = ir.Var("y", "y")
    broken = _fn([ir.Assign(y, ADD, [x, x]), ir.Assign(y, ADD, [x, x])], result=y)
    with pytest.raises(ir.IRError, match="bound twice"):
        ir.verify_pass(broken)  # the suite sets S2SAD_VERIFY_PASSES (tests/conftest.py)
    monkeypatch.delenv("S2SAD_VERIFY_PASSES")
    assert ir.verify_pass(broken) is broken
    with pytest.raises(ir.IRError, match="bound twice"):
        codegen.to_source(broken)


def test_verify_checks_loop_yields():
    x = ir.Var("x", "x")
    i, r = ir.Var("i", "i"), ir.Var("r", "r")
    arg, out, ghost = ir.Var("s", "s"), ir.Var("s_1", "s"), ir.Var("ghost", "ghost")
    loop = ir.For(i, r, [], [ir.Carried(arg, x, ghost, out)])
    body = [ir.Assign(r, ir.Ref(("range",), range), [ir.Const(3)]), loop]
    with pytest.raises(ir.IRError, match="ghost"):
        ir.verify(_fn(body, result=out))


def helper(a):
    return a * 2.0


def program(x, y, n=3):
    z = x * y + np.sin(x)
    s = 0.0
    for i in range(n):
        if s > 1.0:
            s += z * i
        else:
            s = s - helper(x)
            continue
        if s > 100:
            break
    out = np.zeros(3)
    out[0] = s
    k = 0
    while k < 2:
        out[1] += out[0] * y
        k += 1
    if x > 0:
        return out.sum() + s
    return -s


@pytest.mark.parametrize("wrt", [(0,), (1,), (0, 1)])
def test_every_stage_output_verifies(wrt):
    primal = normalize(program)  # lower verifies on its way out; check again explicitly
    ir.verify(primal)
    adjoint = reverse_function(primal, list(wrt))
    ir.verify(adjoint)
    ir.verify(simplify(adjoint))


def test_the_printer_shows_structure():
    text = ir.format_function(normalize(program))
    assert "phi(" in text and "for i in" in text and "while True:" in text
    assert "# line" in text


def test_ssa_names_are_versions_of_source_names():
    fn = normalize(program)
    names = {v.name for v in ir.all_defs(fn.body)}
    assert {"z", "s", "s_1"} <= names
    bases = {v.base for v in ir.all_defs(fn.body)}
    assert "s" in bases and "out" in bases


def test_program_gradient_is_right():
    import sys
    import pathlib

    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    from gradcheck import assert_grad_matches_fd

    for x in (0.7, -0.4):
        assert_grad_matches_fd(program, (x, 1.3), wrt=(0, 1))
    assert s2sad.grad(program, wrt=(0, 1)).source.count("tape = []") == 1


def test_dead_code_removal_drops_a_whole_dead_chain_in_one_sweep_and_keeps_writes():
    # a = x + 1; b = a + 1; c = b + 1 (nobody reads c), and np.add(x, x, out=buf) with its
    # result unread: one sweep must drop the three-long chain and keep the declared write.
    from s2sad.simplify import _dce_block, use_counts
    x, buf = ir.Var("x", "x"), ir.Var("buf", "buf")
    a, b, c, w = (ir.Var(n, n) for n in ("a", "b", "c", "w"))
    write = ir.Assign(w, ir.Ref(("np", "add"), np.add, np), [x, x], [("out", buf)])
    body = [ir.Assign(a, ADD, [x, ir.Const(1.0)]), ir.Assign(b, ADD, [a, ir.Const(1.0)]),
            ir.Assign(c, ADD, [b, ir.Const(1.0)]), write]
    fn = _fn(body, params=("x", "buf"))
    kept, changed = _dce_block(fn.body, use_counts(fn))
    assert changed and kept == [write]
    assert [s.target for s in simplify(_fn(list(body), params=("x", "buf"))).body] == [w]


def test_one_common_subexpression_sweep_follows_a_chain_of_repeats():
    # a2 repeats a1, so b2 = a2 + 1 repeats b1 = a1 + 1: both found in one sweep
    from s2sad.simplify import _common_subexpressions
    x = ir.Var("x", "x")
    a1, a2, b1, b2 = (ir.Var(n, n) for n in ("a1", "a2", "b1", "b2"))
    one = ir.Const(1.0)
    body = [ir.Assign(a1, ADD, [x, one]), ir.Assign(a2, ADD, [x, one]),
            ir.Assign(b1, ADD, [a1, one]), ir.Assign(b2, ADD, [a2, one])]
    mapping: dict = {}
    assert _common_subexpressions(body, mapping, {}, set())
    assert mapping == {a2: a1, b2: b1}
