"""Every rule case again, this time through the whole engine.

tests/test_rules.py checks each template's math by interpreting it. This file
checks what users run: for each case it writes a small Python function that
calls the primitive (as a call, an operator, a method or an attribute), asks
``s2sad.grad`` for its gradient, and compares with central finite differences.
That exercises binding, splicing, broadcasting, tuple and sequence flow,
simplification and code generation for every rule.
"""

from __future__ import annotations

import importlib.util
import numbers
import operator
import sys

import numpy as np
import pytest

import s2sad
from gradcheck import numeric_grad
from s2sad.primitives import Attr, Method, setitem

import rule_cases_elementwise

try:
    import rule_cases_arrays
except ImportError:  # pragma: no cover
    rule_cases_arrays = None

import rule_cases_statistics

CASES = (list(rule_cases_elementwise.CASES) + (list(rule_cases_arrays.CASES) if rule_cases_arrays else [])
         + list(rule_cases_statistics.CASES))

_BINARY = {
    operator.add: "+", operator.sub: "-", operator.mul: "*", operator.truediv: "/", operator.pow: "**",
    operator.matmul: "@", operator.mod: "%", operator.floordiv: "//",
}
_UNARY = {operator.neg: "-", operator.pos: "+"}


def _is_float_array(x):
    return isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.floating)


def _is_float(x):
    return (isinstance(x, float) or _is_float_array(x) or isinstance(x, np.floating)) and not isinstance(x, bool)


def _is_float_sequence(x):
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(_is_float(e) for e in x)


def _differentiable_by_default(x):
    """What ``wrt=None`` means for a rule case (as in s2sad.check): floats, float arrays, and
    lists or tuples made only of those."""
    return _is_float(x) or _is_float_sequence(x)


def _render(case, k, consts):
    """Source of a function computing sum(W * primal(...)); None if the case does not fit."""
    if case.reset is not None:
        return None
    wrt = case.wrt
    params, call_args = [], []
    for i, a in enumerate(case.args):
        differentiable = (i in wrt) if wrt is not None else _differentiable_by_default(a)
        if differentiable and _is_float(a):
            name = f"x{i}"
            params.append((name, a))
            call_args.append(name)
        elif differentiable and _is_float_sequence(a):
            names = []
            for j, e in enumerate(a):
                name = f"x{i}_{j}"
                params.append((name, e))
                names.append(name)
            display = "[" + ", ".join(names) + "]" if isinstance(a, list) else "(" + ", ".join(names) + ",)"
            call_args.append(display)
        elif differentiable:
            return None
        else:
            cname = f"C{k}_{i}"
            consts[cname] = a
            call_args.append(cname)
    kw_parts = []
    for key, a in case.kwargs.items():
        differentiable = wrt is not None and key in wrt or (wrt is None and _is_float(a))
        if differentiable and _is_float(a):
            name = f"k_{key}"
            params.append((name, a))
            kw_parts.append(f"{key}={name}")
        else:
            cname = f"C{k}_{key}"
            consts[cname] = a
            kw_parts.append(f"{key}={cname}")
    if not params:
        return None
    primal = case.primal
    pname = f"P{k}"
    consts[pname] = primal
    body = []
    for i in _written_arguments(case):
        # a primal that writes into its argument (zero_in_place) gets a copy: the case checks its
        # rule, and a user function writing into its own parameter would change the caller's array
        if not call_args[i].isidentifier():
            return None
        body.append(f"    {call_args[i]} = np.array({call_args[i]}, dtype=float)")
    if isinstance(primal, Attr):
        if kw_parts or len(call_args) != 1:
            return None
        expr = f"{call_args[0]}.{primal.name}"
    elif isinstance(primal, Method):
        expr = f"{call_args[0]}.{primal.name}({', '.join(call_args[1:] + kw_parts)})"
    elif primal in _BINARY and len(call_args) == 2 and not kw_parts:
        expr = f"({call_args[0]}) {_BINARY[primal]} ({call_args[1]})"
    elif primal in _UNARY and len(call_args) == 1 and not kw_parts:
        expr = f"{_UNARY[primal]}({call_args[0]})"
    elif primal is operator.getitem and len(call_args) == 2 and not kw_parts:
        expr = f"{call_args[0]}[{call_args[1]}]"
    elif primal is setitem and len(call_args) == 3 and not kw_parts:
        body.append(f"    buf = np.array({call_args[0]}, dtype=float)")
        body.append(f"    buf[{call_args[1]}] = {call_args[2]}")
        expr = "buf"
    else:
        expr = f"{pname}({', '.join(call_args + kw_parts)})"
    try:
        out = _evaluate(case)
    except Exception:
        return None
    weights = []
    if isinstance(out, (tuple, list)):
        terms = []
        for j, item in enumerate(out):
            if not _is_float(item):
                continue
            wname = f"W{k}_{j}"
            consts[wname] = np.random.default_rng(k + j).normal(size=np.shape(item))
            terms.append(f"np.sum(out[{j}] * {wname})")
            weights.append(wname)
        if not terms:
            return None
        result = " + ".join(terms)
    elif _is_float(out) or isinstance(out, numbers.Real) and not isinstance(out, bool):
        wname = f"W{k}"
        consts[wname] = np.random.default_rng(k).normal(size=np.shape(out))
        result = f"np.sum(out * {wname})"
    else:
        return None
    lines = [f"def case_{k}({', '.join(n for n, _ in params)}):"] + body + [f"    out = {expr}", f"    return {result}"]
    return "\n".join(lines) + "\n", [v for _, v in params]


def _written_arguments(case):
    """Positions of the array arguments that the primal changes in place."""
    args = [a.copy() if isinstance(a, np.ndarray) else a for a in case.args]
    try:
        _evaluate(case, args)
    except Exception:
        return []
    return [i for i, (a, b) in enumerate(zip(case.args, args))
            if isinstance(a, np.ndarray) and not np.array_equal(a, b, equal_nan=True)]


def _evaluate(case, args=None):
    """The primal at the case's point, on copies of its arrays unless `args` are given."""
    if args is None:
        args = [a.copy() if isinstance(a, np.ndarray) else a for a in case.args]
    primal = case.primal
    if isinstance(primal, Attr):
        return getattr(args[0], primal.name)
    if isinstance(primal, Method):
        return getattr(args[0], primal.name)(*args[1:], **case.kwargs)
    if primal is setitem:
        buf = np.array(args[0], dtype=float)
        buf[args[1]] = args[2]
        return buf
    return primal(*args, **case.kwargs)


def _build_module(tmp_dir):
    consts = {}
    sources = []
    programs = []
    for k, case in enumerate(CASES):
        rendered = _render(case, k, consts)
        if rendered is None:
            continue
        src, values = rendered
        sources.append(src)
        programs.append((k, case, values))
    path = tmp_dir / "engine_rule_cases.py"
    path.write_text("import numpy as np\n\n\n" + "\n\n".join(sources))
    spec = importlib.util.spec_from_file_location("engine_rule_cases", path)
    module = importlib.util.module_from_spec(spec)
    module.__dict__.update(consts)
    sys.modules["engine_rule_cases"] = module
    spec.loader.exec_module(module)
    return module, programs


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    return _build_module(tmp_path_factory.mktemp("engine_rules"))


def _ids():
    return [f"{k}-{c.id}" for k, c in enumerate(CASES)]


@pytest.mark.parametrize("k", range(len(CASES)), ids=_ids())
def test_rule_through_engine(k, programs):
    module, built = programs
    entry = next((p for p in built if p[0] == k), None)
    if entry is None:
        pytest.skip(_why_not_rendered(CASES[k]))
    _, case, values = entry
    f = getattr(module, f"case_{k}")
    wrt = tuple(range(len(values)))
    got = s2sad.grad(f, wrt=wrt)(*[v.copy() if isinstance(v, np.ndarray) else v for v in values])
    expected = numeric_grad(f, tuple(values), wrt=wrt)
    for i, (g, e) in enumerate(zip(got, expected)):
        e = np.asarray(e, dtype=float)
        g = np.asarray(g, dtype=float)
        assert g.shape == e.shape, f"argument {i}: gradient shape {g.shape}, expected {e.shape}"
        scale = max(1.0, float(np.max(np.abs(e)))) if e.size else 1.0
        err = float(np.max(np.abs(g - e))) if e.size else 0.0
        assert err <= case.atol * 10 + case.rtol * 10 * scale, (
            f"argument {i} of {case.id}: max error {err:.3g}\n{s2sad.grad(f, wrt=wrt).source}"
        )


def _why_not_rendered(case):
    if case.reset is not None:
        return "a random draw: the case reseeds its generator before each evaluation"
    try:
        out = _evaluate(case)
    except Exception as exc:  # noqa: BLE001
        return f"the primal raises {type(exc).__name__}"
    items = out if isinstance(out, (tuple, list)) else [out]
    if not any(_is_float(item) or isinstance(item, numbers.Real) and not isinstance(item, bool) for item in items):
        return "the result is not a float"
    return "no differentiable argument, or a call shape the program writer does not know"


# the only cases that are checked by tests/test_rules.py alone, and why
NOT_THROUGH_THE_ENGINE = {
    "random.normal": "a random draw", "random.uniform": "a random draw",
    "Generator.normal": "a random draw", "Generator.uniform": "a random draw",
    "np.array-int": "the result is not a float", "x.astype-int": "the result is not a float",
}


def test_only_the_expected_cases_skip(programs):
    _, built = programs
    rendered = {k for k, _, _ in built}
    skipped = {CASES[k].id: _why_not_rendered(CASES[k]) for k in range(len(CASES)) if k not in rendered}
    assert set(skipped) == set(NOT_THROUGH_THE_ENGINE), skipped
    for case_id, why in skipped.items():
        assert why.startswith(NOT_THROUGH_THE_ENGINE[case_id]), (case_id, why)


def test_most_cases_run_through_the_engine(programs):
    _, built = programs
    assert len(built) >= 0.8 * len(CASES), f"only {len(built)} of {len(CASES)} cases fit the engine harness"
