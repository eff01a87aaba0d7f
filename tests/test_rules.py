"""Every derivative rule, checked against central finite differences in both modes.

The cases live in tables: tests/rule_cases_elementwise.py (operators, ufuncs,
reductions, helpers), tests/rule_cases_arrays.py (shapes, indexing, linear
algebra) and tests/rule_cases_statistics.py (reductions and scans of ufuncs,
statistics). A coverage test makes sure no registered rule goes unchecked, and the
last tests make sure the harness can fail.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

import s2sad.rules as rules
from s2sad.check import Case, _name, check_case, check_rule
from s2sad.rules import registry

sys.path.insert(0, str(Path(__file__).parent))

CASE_MODULES = ["rule_cases_elementwise", "rule_cases_arrays", "rule_cases_statistics"]


def _load_cases() -> list[Case]:
    cases: list[Case] = []
    for name in CASE_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # the table is not written yet
                continue
            raise
        cases.extend(module.CASES)
    return cases


CASES = _load_cases()


def _ids(cases):
    seen: dict[str, int] = {}
    ids = []
    for case in cases:
        n = seen.get(case.id, 0)
        seen[case.id] = n + 1
        ids.append(case.id if n == 0 else f"{case.id}#{n}")
    return ids


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_rule(case):
    check_case(case)


def _builtin(table) -> set:
    """Keys of the rules s2sad ships (other tests register rules of their own)."""
    return {k for k, rule in table.items() if rule.template.__module__.startswith("s2sad.rules")}


def test_every_rule_has_a_case():
    covered = set()
    for case in CASES:
        covered.add(case.primal)
        try:
            covered.add(registry.resolve_key(case.primal))
        except TypeError:
            pass
    keys = _builtin(rules.ADJOINT_RULES) | _builtin(rules.TANGENT_RULES)
    missing = sorted(_name(key) for key in keys if key not in covered)
    assert not missing, f"{len(missing)} registered rules have no check case: {missing}"


def test_every_rule_has_both_modes():
    only_adjoint = sorted(_name(k) for k in _builtin(rules.ADJOINT_RULES) - set(rules.TANGENT_RULES))
    only_tangent = sorted(_name(k) for k in _builtin(rules.TANGENT_RULES) - set(rules.ADJOINT_RULES))
    assert not only_adjoint and not only_tangent, (
        f"adjoint rule without tangent rule: {only_adjoint}; tangent rule without adjoint rule: {only_tangent}"
    )


def test_no_function_is_both_differentiable_and_not():
    both = sorted(
        _name(k) for k in rules.NONDIFFERENTIABLE if k in rules.ADJOINT_RULES or k in rules.TANGENT_RULES
    )
    assert not both, f"registered as nondifferentiable and with a rule: {both}"


def test_method_mirrors_name_known_functions():
    unknown = sorted(
        f"{name} -> {_name(target)}"
        for name, target in rules.METHOD_MIRRORS.items()
        if target not in rules.ADJOINT_RULES and target not in rules.NONDIFFERENTIABLE
    )
    assert not unknown, f"method mirrors pointing at functions with no rule: {unknown}"


# ---------------------------------------------------------------------------
# The harness must be able to fail
# ---------------------------------------------------------------------------


def _scaled_sin(x):
    return np.sin(2.0 * x)


@pytest.fixture
def scratch_rules():
    """Register rules for `_scaled_sin` for one test, then remove them."""
    yield
    rules.ADJOINT_RULES.pop(_scaled_sin, None)
    rules.TANGENT_RULES.pop(_scaled_sin, None)


def test_wrong_adjoint_is_caught(scratch_rules):
    @registry.adjoint(_scaled_sin)
    def wrong(y, x):
        x_bar = y_bar * np.cos(2.0 * x)  # missing the factor 2 of the chain rule

    with pytest.raises(AssertionError, match=r"adjoint of .*_scaled_sin w.r.t. argument 0 \('x'\).*max abs error"):
        check_rule(_scaled_sin, np.linspace(-1, 1, 5), modes=("adjoint",))


def test_wrong_tangent_is_caught(scratch_rules):
    @registry.tangent(_scaled_sin)
    def wrong(y, x):
        y_dot = x_dot * np.cos(x)

    with pytest.raises(AssertionError, match="tangent of .*does not match finite differences"):
        check_rule(_scaled_sin, np.linspace(-1, 1, 5), modes=("tangent",))


def test_right_rule_passes(scratch_rules):
    @registry.adjoint(_scaled_sin)
    def right(y, x):
        x_bar = 2.0 * y_bar * np.cos(2.0 * x)

    @registry.tangent(_scaled_sin)
    def right_tangent(y, x):
        y_dot = 2.0 * x_dot * np.cos(2.0 * x)

    check_rule(_scaled_sin, np.linspace(-1, 1, 5))


def test_wrong_shape_is_caught(scratch_rules):
    @registry.adjoint(_scaled_sin)
    def no_unbroadcast(y, x):
        x_bar = 2.0 * y_bar * np.cos(2.0 * x) + np.zeros((2, 1))

    with pytest.raises(AssertionError, match="shape"):
        check_rule(_scaled_sin, np.linspace(-1, 1, 5), modes=("adjoint",))


def test_in_place_update_is_caught(scratch_rules):
    @registry.adjoint(_scaled_sin)
    def mutating(y, x):
        x *= 1.0 + 1e-3
        x_bar = 2.0 * y_bar * np.cos(2.0 * x)

    with pytest.raises(AssertionError):
        check_rule(_scaled_sin, np.linspace(-1, 1, 5), modes=("adjoint",))


def test_a_primal_writing_into_its_argument_leaves_the_case_unchanged():
    # the case tables are shared with tests/test_rules_engine.py: a primal that writes into its
    # argument used to zero the case's own array, so that file passed only after this one
    from s2sad.runtime import zero_in_place

    x = np.linspace(0.1, 0.9, 4)
    check_case(Case(zero_in_place, (x, slice(1, 3)), wrt=[0], id="zero_in_place"))
    np.testing.assert_array_equal(x, np.linspace(0.1, 0.9, 4))


def _scaled_mul(a, b):
    return 2.0 * a * b


def test_nonlinear_tangent_term_is_refused():
    @registry.tangent(_scaled_mul)
    def not_linear(y, a, b):
        y_dot = 2.0 * a_dot * b + 2.0 * a * b_dot + a_dot * b_dot

    try:
        with pytest.raises(AssertionError, match="linear in exactly one"):
            check_rule(_scaled_mul, np.linspace(-1, 1, 5), 0.5, modes=("tangent",))
    finally:
        rules.TANGENT_RULES.pop(_scaled_mul, None)


def test_missing_rule_is_reported():
    with pytest.raises(AssertionError, match="no adjoint rule"):
        check_rule(_scaled_sin, np.linspace(-1, 1, 5))


def test_dropped_term_is_emulated():
    # np.add with only the (4,) operand active: the engine drops the other term and
    # broadcasts to the result's shape; the harness must do the same and pass.
    x = np.ones((3, 4))
    check_rule(np.add, x, np.arange(4.0), wrt=[1])


# ---------------------------------------------------------------------------
# Closure: generated code must be differentiable again (grad of grad)
# ---------------------------------------------------------------------------

import ast as _ast
import builtins as _builtins
import operator as _operator

from s2sad.check import _template_body
from s2sad.primitives import Attr as _Attr, Method as _Method

_BINOPS = {
    _ast.Add: _operator.add, _ast.Sub: _operator.sub, _ast.Mult: _operator.mul,
    _ast.Div: _operator.truediv, _ast.Pow: _operator.pow, _ast.Mod: _operator.mod,
    _ast.FloorDiv: _operator.floordiv, _ast.MatMult: _operator.matmul,
    _ast.BitAnd: _operator.and_, _ast.BitOr: _operator.or_, _ast.BitXor: _operator.xor,
}
_UNARY = {_ast.USub: _operator.neg, _ast.UAdd: _operator.pos, _ast.Not: _operator.not_, _ast.Invert: _operator.invert}
_COMPARE = {
    _ast.Eq: _operator.eq, _ast.NotEq: _operator.ne, _ast.Lt: _operator.lt, _ast.LtE: _operator.le,
    _ast.Gt: _operator.gt, _ast.GtE: _operator.ge, _ast.Is: _operator.is_, _ast.IsNot: _operator.is_not,
    _ast.In: _operator.contains, _ast.NotIn: _operator.contains,
}


def _resolve(node, namespace):
    if isinstance(node, _ast.Name):
        if node.id in namespace:
            return namespace[node.id]
        return getattr(_builtins, node.id, None)
    if isinstance(node, _ast.Attribute):
        base = _resolve(node.value, namespace)
        return getattr(base, node.attr, None) if base is not None else None
    return None


def _primitives_used(rule):
    """The callables a template's body applies (as the engine will see them)."""
    params = set(__import__("inspect").signature(rule.template).parameters)
    namespace = rule.template.__globals__
    for stmt in _template_body(rule.template):
        for node in _ast.walk(stmt):
            if isinstance(node, _ast.Call):
                func = _resolve(node.func, namespace)
                if isinstance(node.func, _ast.Attribute) and func is None:
                    yield _Method(node.func.attr)  # a method call on a local value
                elif isinstance(node.func, _ast.Name) and node.func.id in params:
                    continue
                else:
                    yield func
            elif isinstance(node, _ast.BinOp):
                yield _BINOPS[type(node.op)]
            elif isinstance(node, _ast.UnaryOp):
                yield _UNARY[type(node.op)]
            elif isinstance(node, _ast.Compare):
                for op in node.ops:
                    yield _COMPARE[type(op)]
            elif isinstance(node, _ast.Subscript):
                yield _operator.getitem
            elif isinstance(node, _ast.Attribute) and isinstance(node.ctx, _ast.Load):
                if _resolve(node, namespace) is None:
                    yield _Attr(node.attr)


def test_templates_are_closed_under_differentiation():
    missing = {}
    for table in (rules.ADJOINT_RULES, rules.TANGENT_RULES):
        for rule in table.values():
            for func in _primitives_used(rule):
                if isinstance(func, _Method) and func.name in ("copy",):
                    continue
                ok = (
                    registry.adjoint_rule(func) is not None and registry.tangent_rule(func) is not None
                ) or registry.is_nondifferentiable(func) or func in (_builtins.isinstance,)
                if not ok:
                    missing.setdefault(_name(func), set()).add(f"{rule.kind}:{rule.template.__name__}")
    assert not missing, "templates call functions that have no rules (grad of grad would fail):\n" + "\n".join(
        f"  {name}: used by {sorted(users)}" for name, users in sorted(missing.items())
    )
