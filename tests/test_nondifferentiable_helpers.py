"""No helper declared nondifferentiable may carry a derivative: rule templates are differentiated again.

Second and third derivatives differentiate the rule templates themselves (the tangent of an adjoint
template for an hvp), and a call of a helper declared ``nondifferentiable(...)`` contributes nothing
there. That is right for a helper whose value is piecewise constant in its float arguments (a
shape, an axis, an index, a mask, a bool, a refusal) and silently wrong otherwise:
``slope_exponent(b) = b - 1`` lost d/db of a**(b-1) (d2/dx2 of x**x at 1.5 was 4.109 for 4.854), and
``summable`` made the jvp of an hvp through np.einsum 0.

So for every helper of s2sad's own (rules and runtime) declared nondifferentiable and called in a rule
template, this file records its calls while the rule cases (tests/rule_cases_*.py) run their
templates once, and checks by differences that moving any float argument (random directions, a
step of 1e-6) leaves its value unchanged on at least one side (a jump between two constant pieces
changes one side only; a real dependence changes both), or that it is in ALLOWED with the reason.
"""

from __future__ import annotations

import ast
import copy
import inspect
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from s2sad.check import _Checker, _random_like, _run_adjoint_template, _run_tangent_template, _template_body
from s2sad.rules import registry

sys.path.insert(0, str(Path(__file__).parent))

from test_rules import CASES  # noqa: E402  (the same case tables)

# helper name -> why it is not checked by differences
ALLOWED: dict[str, str] = {
    "not_differentiated": "a mark the engine reads when transforming (it refuses the argument); never called",
    "einsum_higher_order": "zeros, or a NotImplementedError (a third derivative of an einsum of three arrays)",
    "products_third_order": "always raises NotImplementedError: the refusal of a third derivative",
    "gradient_step": "returns np.gradient's scalar spacing, a float; the np.gradient rules mark varargs (and "
                     "gradient_transpose's h) not_differentiated, so a differentiated spacing is refused, never 0",
    "ravel_permutation": "integer positions from a's strides (np.arange laid out as a is): no rule case has an "
                         "order='K' layout, since check.py's finite differences move C-contiguous copies",
}

STEP = 1e-6
DIRECTIONS = 3
CALLS_KEPT = 4  # per helper


def _own_helpers() -> dict:
    """code object -> helper, for s2sad's own functions declared nondifferentiable."""
    found = {}
    for key in registry.NONDIFFERENTIABLE:
        code = getattr(key, "__code__", None)
        if code is not None and (getattr(key, "__module__", "") or "").startswith("s2sad."):
            found[code] = key
    return found


def _called_in(template, helpers) -> set:
    """The helpers a template's body names."""
    names = template.__globals__
    return {names[node.id] for stmt in _template_body(template) for node in ast.walk(stmt)
            if isinstance(node, ast.Name) and getattr(names.get(node.id), "__code__", None) in helpers}


def _templates(primal):
    return [rule.template for rule in (registry.adjoint_rule(primal), registry.tangent_rule(primal)) if rule]


HELPERS = _own_helpers()
USED = sorted({h for rule in list(registry.ADJOINT_RULES.values()) + list(registry.TANGENT_RULES.values())
               if rule.template.__module__.startswith("s2sad.rules")
               for h in _called_in(rule.template, HELPERS)}, key=lambda h: h.__name__)


def _run_templates_once(case):
    """Run the case's adjoint and tangent templates once, every differentiated argument active."""
    checker = _Checker(case)
    rng = np.random.default_rng(11)
    y = checker.call()
    for mode in case.modes:
        rule = registry.adjoint_rule(case.primal) if mode == "adjoint" else registry.tangent_rule(case.primal)
        bound = checker.bind(rule, y)
        active = checker._params(checker.locations)
        if mode == "adjoint":
            y_bar = [_random_like(leaf, rng) for leaf in y] if isinstance(y, (list, tuple)) else _random_like(y, rng)
            y_bar = tuple(y_bar) if isinstance(y, tuple) else y_bar
            _run_adjoint_template(rule, y, y_bar, bound, active)
        else:
            dots = {p: tuple(_random_like(leaf, rng) for leaf in bound[p])
                    if isinstance(bound[p], (list, tuple)) else _random_like(bound[p], rng) for p in active}
            _run_tangent_template(rule, y, bound, dots)


def _record_calls() -> dict:
    """helper -> a few {parameter: argument} of its calls from the rule templates."""
    wanted = {h.__code__: h for h in USED}
    calls = {h: [] for h in USED}

    def profile(frame, event, arg):
        if event == "call" and frame.f_code in wanted:
            helper = wanted[frame.f_code]
            if len(calls[helper]) < CALLS_KEPT:
                info = inspect.getargvalues(frame)
                names = list(info.args) + ([info.varargs] if info.varargs else [])
                calls[helper].append({n: copy.deepcopy(info.locals[n]) for n in names})

    cases = [case for case in CASES if any(_called_in(t, HELPERS) for t in _templates(case.primal))]
    sys.setprofile(profile)
    try:
        for case in cases:
            try:
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    _run_templates_once(case)
            except Exception:  # noqa: BLE001  a template that refuses still called what it called first
                pass
    finally:
        sys.setprofile(None)
    return calls


@pytest.fixture(scope="module")
def recorded():
    return _record_calls()


def _is_float_leaf(x) -> bool:
    if isinstance(x, (bool, np.bool_)):
        return False
    if isinstance(x, float):
        return True
    return isinstance(x, (np.ndarray, np.generic)) and np.issubdtype(x.dtype, np.floating)


def _float_arguments(arguments: dict):
    """(location, value) of every float argument: a parameter, or (parameter, index) in a tuple/list."""
    for name, value in arguments.items():
        if _is_float_leaf(value):
            yield (name,), value
        elif isinstance(value, (list, tuple)):
            for j, item in enumerate(value):
                if _is_float_leaf(item):
                    yield (name, j), item


def _with(arguments: dict, location, value) -> dict:
    moved = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in arguments.items()}
    if len(location) == 1:
        moved[location[0]] = value
    else:
        items = list(moved[location[0]])
        items[location[1]] = value
        moved[location[0]] = type(moved[location[0]])(items)
    return moved


def _call(helper, arguments: dict):
    args, kwargs = [], {}
    for name, param in inspect.signature(helper).parameters.items():
        if param.kind is param.VAR_POSITIONAL:
            args.extend(arguments[name])
        elif param.kind is param.KEYWORD_ONLY:
            kwargs[name] = arguments[name]
        else:
            args.append(arguments[name])
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return helper(*args, **kwargs)


def _numbers(value) -> np.ndarray:
    """Every number of a value (arrays, numbers, nested tuples and lists) as one float vector."""
    if isinstance(value, (list, tuple)):
        parts = [_numbers(item) for item in value]
        return np.concatenate(parts) if parts else np.zeros(0)
    try:
        return np.asarray(value, dtype=float).ravel()
    except (TypeError, ValueError):
        return np.zeros(0)  # a string, a slice, None: compared as a whole below


def _moved(value, step):
    moved = np.asarray(value, dtype=float) + step
    if isinstance(value, float):
        return float(moved)
    if isinstance(value, np.generic):
        return type(value)(moved)
    return moved.astype(value.dtype)


def _dependence(helper, arguments: dict, rng) -> tuple[float, object]:
    """The largest |change| / step of the helper's value over entries that change on both sides of a
    small move of one float argument, and the argument."""
    at = _numbers(_call(helper, arguments))
    worst, where = 0.0, None
    for location, value in _float_arguments(arguments):
        for _ in range(DIRECTIONS):
            step = STEP * rng.normal(size=np.shape(value))
            up = _numbers(_call(helper, _with(arguments, location, _moved(value, step))))
            down = _numbers(_call(helper, _with(arguments, location, _moved(value, -step))))
            if not (up.shape == down.shape == at.shape):
                continue  # the shape of the value changed: a jump, not a slope
            both = (up != at) & (down != at) & np.isfinite(up) & np.isfinite(down)
            if both.any():
                change = float(np.max(np.abs(up[both] - down[both]))) / (2 * STEP)
                if change > worst:
                    worst, where = change, location
    return worst, where


def test_the_audit_finds_the_helpers():
    names = {h.__name__ for h in USED}
    assert len(USED) > 30 and {"running_products_are_normal", "order_statistic_weights", "size_of"} <= names


@pytest.mark.parametrize("helper", USED, ids=[h.__name__ for h in USED])
def test_a_nondifferentiable_helper_is_piecewise_constant(helper, recorded):
    if helper.__name__ in ALLOWED:
        return
    calls = recorded[helper]
    assert calls, (f"no rule case calls {helper.__module__}.{helper.__name__}: add a case to tests/rule_cases_*.py "
                   f"whose rule template calls it, or add it to ALLOWED in {Path(__file__).name} with the reason")
    rng = np.random.default_rng(5)
    for arguments in calls:
        change, where = _dependence(helper, arguments, rng)
        assert change == 0.0, (
            f"{helper.__module__}.{helper.__name__} is declared nondifferentiable but its value moves with its "
            f"float argument {where!r} (|change| / step ~ {change:.3g}): a second derivative through the rule "
            f"templates that call it drops that. Give it rules (s2sad.adjoint / s2sad.tangent) instead")


def test_the_audit_can_fail():
    # slope_exponent as it was (b - 1, declared nondifferentiable) is found
    def slope_exponent(b):
        return np.where(b == 0, 1, b - 1)

    change, where = _dependence(slope_exponent, {"b": np.array([0.5, 2.0])}, np.random.default_rng(0))
    assert change > 0.5 and where == ("b",)
    # and a jump between two constant pieces (a rank that is an integer-valued float) is not
    change, _ = _dependence(lambda rank: np.asarray(rank).astype(int), {"rank": np.array([2.0, 3.0])},
                            np.random.default_rng(0))
    assert change == 0.0
