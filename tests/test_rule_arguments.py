"""No rule may silently drop a derivative in an argument its check case does not differentiate.

In the rule table an argument whose ``<param>_bar`` (adjoint) or ``<param>_dot`` term
(tangent) is missing has zero derivative, and the rule cases (tests/rule_cases_*.py)
check by finite differences only the arguments in their ``wrt``. So for every case and
every float argument it leaves out (a float, a float array, or a float inside a list or
tuple argument; never ints, bools, strings or index arrays) this file checks by central
differences that the primal really does not depend on it at the case's point, or that
the rule marks it ``not_differentiated(...)`` (the engine then refuses it instead of giving
zero), or that it is in ALLOWED below with the reason.
"""

from __future__ import annotations

import ast
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from s2sad.check import Case, _is_differentiable, _is_float_leaf, _name, _own_copy, _template_body
from s2sad.rules import registry

sys.path.insert(0, str(Path(__file__).parent))

from test_rules import CASES, _ids  # noqa: E402  (the same case tables)

# (case id, location) -> why a real derivative in that argument is neither given nor refused.
# A location is a position (int), a keyword (str), or (position, index) for an item of a
# list/tuple argument.
_SETITEM = ("setitem returns its first argument, written in place, so finite differences in value would write "
            "into the case's x; value_bar (assigned_part) is given and checked by the set_at and assigned_part cases")
_EINSUM = ("operands holds the subscripts string, so the harness cannot differentiate the tuple; the rule gives "
           "operands_bar / operands_dot (einsum_vjp2, einsum_jvp2: their values are checked by their own cases, the "
           "composition end to end by tests/test_escaping_errors.py::test_hvp_through_einsum_*)")
ALLOWED: dict[tuple[str, object], str] = {
    ("power-zero-base", 1): "the case probes base 0 where the exponent's derivative is singular; the exponent "
                            "derivative is given by the rule and checked by the other power cases",
    ("math.pow-zero-base", 0): "math.pow raises for a negative base, so there is no central difference at base 0; "
                               "the base's derivative is given by the rule and checked by the math.pow case",
    **{(f"setitem-{kind}", 2): _SETITEM for kind in ("basic", "repeated", "mask", "negative-step")},
    **{(case, (1, k)): _EINSUM for case in ("einsum_jvp", "einsum_vjp") for k in (1, 2)},
    **{(f"np.{name}-{end}", 1): "q at an end of its range: NumPy refuses a q outside it, so there is no central "
                                "difference; the rule's q derivative is checked by the other quantile cases"
       for name in ("quantile", "percentile") for end in ("q0", "q1")},
    **{(f"pair_products_times-{shape}-{axis}", 1): "a's derivative is a third derivative of np.prod at an input whose "
       "products of the others under- or overflow: refused when it runs (products_third_order), see "
       "tests/test_nondifferentiable_helpers.py"
       for shape, axis in (((3, 4), None), ((3, 4), 0), ((3, 4), -1), ((2, 3, 4), (0, 2)), ((2, 3, 4), (-1, 1)))},
}

H = 1e-6
DIRECTIONS = 3


def _leaves(case: Case):
    """(location, value) of every float argument of `case` outside its `wrt`."""
    covered = None if case.wrt is None else set(case.wrt)
    items = list(enumerate(case.args)) + list(case.kwargs.items())
    for loc, value in items:
        whole = _is_differentiable(value) if covered is None else loc in covered
        if whole:
            continue  # the rule cases check this argument by finite differences
        if _is_float_leaf(value):
            yield loc, value
        elif isinstance(value, (list, tuple)):
            for j, item in enumerate(value):
                if _is_float_leaf(item):
                    yield (loc, j), item


def _call(case: Case, loc, value):
    args = [_own_copy(a) for a in case.args]
    kwargs = {k: _own_copy(v) for k, v in case.kwargs.items()}
    outer, inner = (loc if isinstance(loc, tuple) else (loc, None))
    container = args if isinstance(outer, int) else kwargs
    if inner is None:
        container[outer] = value
    else:
        items = list(container[outer])
        items[inner] = value
        container[outer] = type(container[outer])(items)
    if case.reset is not None:
        case.reset()
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return case.primal(*args, **kwargs)


def _flat(y) -> np.ndarray:
    """Every number of a result (arrays, numbers, nested tuples/lists) as one float vector."""
    if isinstance(y, (list, tuple)):
        parts = [_flat(item) for item in y]
        return np.concatenate(parts) if parts else np.zeros(0)
    if y is None:
        return np.zeros(0)
    return np.asarray(y, dtype=float).ravel()


def _sensitivity(case: Case, loc, value) -> float:
    """max over a few random directions e of max |f(a + h e) - f(a - h e)| / 2h."""
    rng = np.random.default_rng(7)
    base = np.asarray(value, dtype=float)
    worst = 0.0
    for _ in range(DIRECTIONS):
        e = rng.normal(size=base.shape)

        def shifted(sign):
            moved = base + sign * H * e
            if isinstance(value, float):
                return float(moved)
            if isinstance(value, np.generic):
                return type(value)(moved)
            return moved.astype(value.dtype)

        up, down = _flat(_call(case, loc, shifted(1))), _flat(_call(case, loc, shifted(-1)))
        both = np.isfinite(up) & np.isfinite(down)
        if both.any():
            worst = max(worst, float(np.max(np.abs(up[both] - down[both]))) / (2 * H))
    return worst


def _marked(rule, param: str) -> bool:
    """Whether `rule`'s template marks `param` with ``not_differentiated(param or param_dot, ...)``."""
    for stmt in _template_body(rule.template):
        for node in ast.walk(stmt):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "not_differentiated"
                    and node.args and isinstance(node.args[0], ast.Name)
                    and node.args[0].id in (param, param + "_dot")):
                return True
    return False


def _param_name(rule, case: Case, loc) -> str | None:
    import inspect

    sig = inspect.signature(rule.template)
    outer = loc[0] if isinstance(loc, tuple) else loc
    marker = object()
    args = [marker if i == outer else None for i in range(len(case.args))]
    kwargs = {k: (marker if k == outer else None) for k in case.kwargs}
    try:
        bound = sig.bind(None, *args, **kwargs)
    except TypeError:
        return None
    for name, got in bound.arguments.items():
        if got is marker or (isinstance(got, tuple) and any(g is marker for g in got)):
            return name
    return None


AUDITED = [(case, loc, value) for case in CASES for loc, value in _leaves(case)]


def _audit_ids():
    ids = _ids(CASES)
    by_case = {id(case): name for case, name in zip(CASES, ids)}
    return [f"{by_case[id(case)]}-{loc}" for case, loc, _ in AUDITED]


@pytest.mark.parametrize("case, loc, value", AUDITED, ids=_audit_ids())
def test_argument_outside_wrt_has_no_dropped_derivative(case, loc, value):
    if (case.id, loc) in ALLOWED:
        return
    try:
        sensitivity = _sensitivity(case, loc, value)
    except Exception as exc:  # noqa: BLE001  the primal refuses a nearby point
        pytest.fail(f"{case.id}: {_name(case.primal)} raised {exc!r} at a point near argument {loc!r}: "
                    f"add it to ALLOWED in {Path(__file__).name} with the reason")
    scale = float(np.max(np.abs(_flat(_call(case, loc, value))), initial=1.0))
    if sensitivity <= 1e-6 * max(scale, 1.0):
        return  # the primal does not depend on it here: a zero derivative is right
    marks = []
    for mode in case.modes:
        rule = registry.adjoint_rule(case.primal) if mode == "adjoint" else registry.tangent_rule(case.primal)
        param = _param_name(rule, case, loc) if rule is not None else None
        marks.append(param is not None and _marked(rule, param))
    if marks and all(marks):
        return  # refused by the engine where it is differentiated
    pytest.fail(
        f"{case.id}: {_name(case.primal)} depends on argument {loc!r} (|df/da| ~ {sensitivity:.3g} by central "
        f"differences) but the case does not differentiate it and the rule does not mark it not_differentiated: "
        f"either the rule drops a real derivative (add it and put the argument in the case's wrt), or mark it "
        f"not_differentiated, or add it to ALLOWED in {Path(__file__).name} with the reason"
    )


def test_audit_covers_arguments():
    # the audit must look at something: the interp helpers alone leave out several float arguments
    assert len(AUDITED) > 50


# ---------------------------------------------------------------------------
# What the audit found, through the whole engine: refused, no longer a silent zero
# ---------------------------------------------------------------------------


def _norm_of_order(x, p):
    return np.linalg.norm(x, 1.0 * p)


def _interp_with_period(x, period):
    xp = np.array([-1.0, -0.2, 0.5, 1.3, 2.0])
    fp = np.array([1.0, 2.0, 0.0, 3.0, 1.0])
    return np.sum(np.interp(x, xp, fp, period=1.0 * period))


@pytest.mark.parametrize("transform", ["grad", "jvp"])
@pytest.mark.parametrize("f, args, param", [
    (_norm_of_order, (np.array([0.5, -2.0, 1.3]), 1.5), "'ord'"),
    (_interp_with_period, (np.array([-1.7, 0.3, 2.6, 5.1]), 3.0), "'period'"),
])
def test_a_differentiated_argument_without_a_derivative_is_refused(f, args, param, transform):
    # both gave 0.0 before (finite differences: about -1.07 and -2.6)
    import s2sad

    with pytest.raises(s2sad.NoDerivativeError, match=param):
        if transform == "grad":
            s2sad.grad(f, wrt=1)(*args)
        else:
            s2sad.jvp(f, wrt=1)(*args, 1.0)
