"""Check derivative rules against central finite differences.

This is the harness every built-in rule is tested with, and the one to use for
your own rules::

    >>> import numpy as np
    >>> from s2sad.check import check_rule
    >>> check_rule(np.sin, np.linspace(-1.0, 1.0, 5))        # both modes, all float args

A rule template is checked by *interpreting* it the way the engine splices it:
its body is executed in a namespace made of the template's module globals, the
call's arguments bound to the template's parameters, the primal result and a
random cotangent ``y_bar`` (adjoint mode) or random tangents ``x_dot`` (tangent
mode). Statements that only serve arguments we do not differentiate are
dropped (as the engine drops them), and in tangent mode the terms of the final
``y_dot = ...`` that belong to inactive arguments are dropped too, followed by
the broadcast to the result's shape that ``elementwise=True`` promises.

Adjoint mode compares each ``<param>_bar`` with the finite-difference gradient
of ``sum(y_bar * f(...))``; tangent mode compares ``y_dot`` with
``(f(x + h v) - f(x - h v)) / 2h``, once with every differentiated argument
active and once with each alone. Shapes must match exactly, and the template
must not modify its inputs. A mismatch raises AssertionError naming the
primal, the mode, the argument and the largest error.
"""

from __future__ import annotations

import ast
import copy
import functools
import inspect
import textwrap
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Sequence

import numpy as np

from .primitives import module_name
from .rules import registry

__all__ = ["Case", "check_rule", "check_case", "check_grad", "numeric_jacobian", "numeric_jvp"]

MODES = ("adjoint", "tangent")


@dataclass
class Case:
    """One rule check: a primal callable and the arguments to check it at.

    Attributes:
        primal: the registered key (``np.sin``, ``operator.mul``, ``Method("sum")``).
        args: positional arguments of the call.
        kwargs: keyword arguments of the call.
        wrt: positions (ints) and keyword names (strs) of the arguments to
            differentiate; None means every float/float-array argument (and
            every list or tuple made only of those).
        id: a name for the test report; defaults to the primal's name.
        modes: which of "adjoint" and "tangent" to check.
        rtol, atol: the check passes when max |rule - fd| <= atol + rtol * max |fd|.
        reset: called before every evaluation of the primal (reseed a random
            generator so that finite differences see the same draw).
    """

    primal: Hashable
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    wrt: Sequence[int | str] | None = None
    id: str = ""
    modes: tuple[str, ...] = MODES
    rtol: float = 1e-5
    atol: float = 1e-6
    reset: Callable[[], Any] | None = None

    def __post_init__(self):
        self.args = tuple(self.args)
        if not self.id:
            self.id = _name(self.primal)

    def check(self) -> None:
        """Run :func:`check_case` on this case."""
        check_case(self)


def check_rule(
    primal: Hashable,
    *args,
    wrt: Sequence[int | str] | None = None,
    modes: Sequence[str] = MODES,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    reset: Callable[[], Any] | None = None,
    **kwargs,
) -> None:
    """Check the registered rules of `primal` at ``primal(*args, **kwargs)``.

    Args:
        primal: the callable whose rules to check (the registry key).
        *args: positional arguments of the call.
        wrt: positions/keyword names to differentiate (None: all float arguments).
        modes: "adjoint", "tangent" or both.
        rtol, atol: tolerance, see :class:`Case`.
        reset: called before each evaluation of the primal (random functions).
        **kwargs: keyword arguments of the call.

    Returns:
        None. Raises AssertionError describing the first mismatch.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(3, 4))
        >>> check_rule(np.sum, x, axis=-1, keepdims=True)
    """
    check_case(
        Case(primal, args, dict(kwargs), wrt=wrt, modes=tuple(modes), rtol=rtol, atol=atol, reset=reset)
    )


def check_case(case: Case) -> None:
    """Check one :class:`Case` in each of its modes; raise AssertionError on a mismatch."""
    for mode in case.modes:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; use 'adjoint' or 'tangent'")
    _Checker(case).run()


# ---------------------------------------------------------------------------
# Finite differences
# ---------------------------------------------------------------------------


def numeric_jacobian(f: Callable, x, h: float = 1e-6) -> np.ndarray:
    """The Jacobian of `f` at `x` by central differences.

    Args:
        f: a function of one float or float array.
        x: the point.
        h: the step.

    Returns:
        An array of shape ``np.shape(f(x)) + np.shape(x)``.

    Example:
        >>> numeric_jacobian(np.sin, np.zeros(2)).round(6)
        array([[1., 0.],
               [0., 1.]])
    """
    x = np.asarray(x, dtype=float)
    y0 = np.asarray(f(x), dtype=float)
    jac = np.zeros(y0.shape + x.shape)
    for k in np.ndindex(x.shape):
        e = np.zeros(x.shape)
        e[k] = h
        jac[(Ellipsis,) + k] = (np.asarray(f(x + e), dtype=float) - np.asarray(f(x - e), dtype=float)) / (2 * h)
    return jac


def numeric_jvp(f: Callable, x, v, h: float = 1e-6):
    """The directional derivative ``(f(x + h v) - f(x - h v)) / 2h``.

    Example:
        >>> float(numeric_jvp(np.exp, 0.0, 1.0).round(6))
        1.0
    """
    x = np.asarray(x, dtype=float)
    return (np.asarray(f(x + h * v), dtype=float) - np.asarray(f(x - h * v), dtype=float)) / (2 * h)


# ---------------------------------------------------------------------------
# Values: floats, float arrays, and lists/tuples of them
# ---------------------------------------------------------------------------


def _name(primal) -> str:
    if isinstance(primal, (registry.Attr, registry.Method)):
        return repr(primal)
    if isinstance(getattr(primal, "__self__", None), np.ufunc):  # np.add.reduce
        return f"np.{primal.__self__.__name__}.{primal.__name__}"
    module = module_name(primal) or ("numpy" if isinstance(primal, np.ufunc) else "")
    name = getattr(primal, "__qualname__", None) or getattr(primal, "__name__", None) or repr(primal)
    if module in ("builtins", "_operator", "operator"):
        module = {"_operator": "operator"}.get(module, module)
    elif module.startswith("numpy"):
        module = "np" if module in ("numpy", "numpy._core.umath") else module.replace("numpy", "np")
    return f"{module}.{name}" if module else name


def _is_float_leaf(x) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, float):
        return True
    if isinstance(x, (np.ndarray, np.generic)):
        return np.issubdtype(x.dtype, np.floating)
    return False


def _is_differentiable(x) -> bool:
    if isinstance(x, (list, tuple)):
        return len(x) > 0 and all(_is_float_leaf(item) for item in x)
    return _is_float_leaf(x)


def _leaves(x) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _rebuild(like, leaves):
    if isinstance(like, (list, tuple)):
        return type(like)(leaves)
    (leaf,) = leaves
    return leaf


def _random_like(x, rng):
    if isinstance(x, float):
        return float(rng.uniform(-1.0, 1.0))
    if isinstance(x, (np.ndarray, np.generic)) and np.issubdtype(x.dtype, np.floating):
        value = rng.uniform(-1.0, 1.0, size=np.shape(x))
        return np.asarray(value, dtype=x.dtype) if isinstance(x, np.ndarray) else x.dtype.type(value)
    return np.zeros(np.shape(x))


def _add(x, step):
    """x + step for one leaf, keeping Python floats Python floats."""
    if isinstance(x, float):
        return float(x + step)
    if isinstance(x, np.generic):
        return x.dtype.type(x + step)
    return np.asarray(x, dtype=float) + step


def _dot(a, b) -> float:
    return float(np.sum(np.asarray(a, dtype=float) * np.asarray(b, dtype=float)))


def _snapshot(x):
    return copy.deepcopy(x)


def _own_copy(x):
    """`x`, copied if it is an array (anything else is passed as it is)."""
    return x.copy() if isinstance(x, np.ndarray) else x


def _same(a, b) -> bool:
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(_same(p, q) for p, q in zip(a, b))
    if isinstance(a, (np.ndarray, np.generic, float, int)):
        try:
            return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=np.issubdtype(np.asarray(a).dtype, np.inexact))
        except TypeError:
            return bool(np.all(np.asarray(a) == np.asarray(b)))
    return True


# ---------------------------------------------------------------------------
# Template interpretation (the engine-free path)
# ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _template_body(template) -> tuple[ast.stmt, ...]:
    source = textwrap.dedent(inspect.getsource(template))
    func = ast.parse(source).body[0]
    body = list(func.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        if isinstance(body[0].value.value, str):
            body = body[1:]
    return tuple(body)


def _targets(stmt) -> set[str]:
    names: set[str] = set()
    targets = []
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, (ast.AugAssign, ast.AnnAssign)):
        targets = [stmt.target]
    for target in targets:
        for node in ast.walk(target):
            if isinstance(node, ast.Name):
                names.add(node.id)
    return names


def _loads(node) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _live_statements(stmts, wanted: set[str]) -> list[ast.stmt]:
    """The statements needed to compute the names in `wanted` (dead-code elimination)."""
    live = set(wanted)
    kept = []
    for stmt in reversed(stmts):
        if _targets(stmt) & live:
            kept.append(stmt)
            live |= _loads(stmt)
    kept.reverse()
    return kept


def _exec(stmts, namespace, rule) -> None:
    module = ast.Module(body=list(stmts), type_ignores=[])
    ast.fix_missing_locations(module)
    code = compile(module, f"<{rule.kind} rule {rule.template.__name__}>", "exec")
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(code, namespace)


def _namespace(rule, bound: dict) -> dict:
    namespace = dict(rule.template.__globals__)
    namespace.update(bound)
    return namespace


def _run_adjoint_template(rule, y, y_bar, bound: dict, active: Sequence[str]) -> dict:
    """Execute an adjoint template; return ``{param: param_bar}`` for the `active` params.

    Args:
        rule: the registered adjoint :class:`~s2sad.rules.registry.Rule`.
        y: the primal result.
        y_bar: the cotangent of the result.
        bound: the template's parameters bound to the call's arguments (with defaults).
        active: the names of the parameters being differentiated.

    Returns:
        The contribution of each active parameter; missing when the template
        never assigns it (not differentiable through this rule).
    """
    stmts = _live_statements(_template_body(rule.template), {p + "_bar" for p in active})
    namespace = _namespace(rule, bound)
    namespace[rule.result_name] = y
    namespace[rule.result_name + "_bar"] = y_bar
    _exec(stmts, namespace, rule)
    return {p: namespace[p + "_bar"] for p in active if p + "_bar" in namespace}


def _split_terms(expr, sign=1):
    """Split a sum into signed terms: ``a - b + c`` -> [(1, a), (-1, b), (1, c)]."""
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, (ast.Add, ast.Sub)):
        right_sign = sign if isinstance(expr.op, ast.Add) else -sign
        return _split_terms(expr.left, sign) + _split_terms(expr.right, right_sign)
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.USub):
        inner = _split_terms(expr.operand, -sign)
        if len(inner) > 1:
            return inner
    return [(sign, expr)]


def _join_terms(terms):
    expr = None
    for sign, term in terms:
        if expr is None:
            expr = term if sign > 0 else ast.UnaryOp(op=ast.USub(), operand=term)
        else:
            expr = ast.BinOp(left=expr, op=ast.Add() if sign > 0 else ast.Sub(), right=term)
    return expr


def _run_tangent_template(rule, y, bound: dict, dots: dict) -> Any:
    """Execute a tangent template with tangents `dots` (``{param: param_dot}``); return y_dot.

    Emulates the engine: the terms of the final ``y_dot = ...`` that read the
    tangent of a parameter not in `dots` are dropped, and with
    ``rule.elementwise`` the result is broadcast to ``y``'s shape when a term
    was dropped. Raises AssertionError if the template is not of the form the
    engine requires.
    """
    body = list(_template_body(rule.template))
    result_dot = rule.result_name + "_dot"
    where = f"tangent rule {rule.template.__name__} for {_name(rule.primal)}"
    last = body[-1] if body else None
    if not (
        isinstance(last, ast.Assign)
        and len(last.targets) == 1
        and isinstance(last.targets[0], ast.Name)
        and last.targets[0].id == result_dot
    ):
        raise AssertionError(f"{where}: its last statement must be `{result_dot} = <sum of terms>`")
    params = [p for p in inspect.signature(rule.template).parameters][1:]
    dot_names = {p + "_dot": p for p in params}
    for stmt in body[:-1]:
        if _loads(stmt) & set(dot_names):
            raise AssertionError(f"{where}: only the final `{result_dot} = ...` may read tangents")
    kept, dropped = [], False
    for sign, term in _split_terms(last.value):
        used = _loads(term) & set(dot_names)
        if len(used) != 1:
            raise AssertionError(
                f"{where}: the term `{ast.unparse(term)}` must be linear in exactly one "
                f"tangent, but it reads {sorted(used) or 'none'}"
            )
        if dot_names[used.pop()] in dots:
            kept.append((sign, term))
        else:
            dropped = True
    if not kept:
        return None
    final = ast.Assign(targets=[ast.Name(id=result_dot, ctx=ast.Store())], value=_join_terms(kept))
    stmts = _live_statements(body[:-1], _loads(final.value)) + [final]
    namespace = _namespace(rule, bound)
    namespace[rule.result_name] = y
    namespace.update({p + "_dot": v for p, v in dots.items()})
    _exec(stmts, namespace, rule)
    y_dot = namespace[result_dot]
    if rule.elementwise and dropped:
        y_dot = np.broadcast_to(y_dot, np.shape(y))
    return y_dot


# ---------------------------------------------------------------------------
# The checker
# ---------------------------------------------------------------------------


class _Marker:
    def __init__(self, where):
        self.where = where


class _Checker:
    """Checks one case. Arguments are addressed by location: an int (position) or a str (keyword)."""

    def __init__(self, case: Case):
        self.case = case
        self.primal = case.primal
        self.name = _name(case.primal)
        self.rng = np.random.default_rng(20240611)
        self.h = 1e-6
        if case.wrt is None:
            locations = [i for i, a in enumerate(case.args) if _is_differentiable(a)]
            locations += [k for k, v in case.kwargs.items() if _is_differentiable(v)]
        else:
            locations = list(case.wrt)
        for loc in locations:
            value = self._value(loc)
            if not _is_differentiable(value):
                raise ValueError(f"{case.id}: argument {loc!r} is not a float or float array: {value!r}")
        if not locations:
            raise ValueError(f"{case.id}: no float argument to differentiate")
        self.locations = locations

    # -- evaluation ---------------------------------------------------------

    def _value(self, loc):
        return self.case.args[loc] if isinstance(loc, int) else self.case.kwargs[loc]

    def call(self, replace: dict | None = None):
        # the primal gets copies of the case's arrays: one that writes into its argument
        # (zero_in_place) must not change the case other checks (and other tests) read
        args = [_own_copy(a) for a in self.case.args]
        kwargs = {k: _own_copy(v) for k, v in self.case.kwargs.items()}
        for loc, value in (replace or {}).items():
            if isinstance(loc, int):
                args[loc] = value
            else:
                kwargs[loc] = value
        if self.case.reset is not None:
            self.case.reset()
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self.primal(*args, **kwargs)

    def describe(self, loc) -> str:
        param = self.param_of.get(loc)
        label = f"argument {loc}" if isinstance(loc, int) else f"keyword {loc!r}"
        return f"{label} ({param[0]!r})" if param else label

    # -- binding ------------------------------------------------------------

    def bind(self, rule, y):
        sig = inspect.signature(rule.template)
        try:
            bound = sig.bind(y, *self.case.args, **self.case.kwargs)
        except TypeError as exc:
            raise AssertionError(
                f"{self.case.id}: the {rule.kind} rule {rule.template.__name__} for {self.name} "
                f"does not accept this call: {exc}"
            ) from None
        bound.apply_defaults()
        markers = sig.bind(
            None,
            *[_Marker(i) for i in range(len(self.case.args))],
            **{k: _Marker(k) for k in self.case.kwargs},
        )
        param_of = {}
        for pname, value in markers.arguments.items():
            if isinstance(value, _Marker):
                param_of[value.where] = (pname, None)
            elif isinstance(value, tuple) and sig.parameters[pname].kind is inspect.Parameter.VAR_POSITIONAL:
                for j, item in enumerate(value):
                    param_of[item.where] = (pname, j)
            elif isinstance(value, dict):
                for key, item in value.items():
                    param_of[item.where] = (pname, key)
        self.param_of = param_of
        return dict(bound.arguments)

    # -- checks -------------------------------------------------------------

    def run(self):
        y = self.call()
        self.y = y
        self.param_of = {}
        snapshot = {loc: _snapshot(self._value(loc)) for loc in range(len(self.case.args))}
        snapshot.update({k: _snapshot(v) for k, v in self.case.kwargs.items()})
        for mode in self.case.modes:
            rule = registry.adjoint_rule(self.primal) if mode == "adjoint" else registry.tangent_rule(self.primal)
            if rule is None:
                raise AssertionError(f"{self.case.id}: no {mode} rule is registered for {self.name}")
            bound = self.bind(rule, y)
            for loc in self.locations:
                if loc not in self.param_of:
                    raise AssertionError(f"{self.case.id}: {loc!r} does not bind to a parameter of {rule.template.__name__}")
            try:
                if mode == "adjoint":
                    self.check_adjoint(rule, y, bound)
                else:
                    self.check_tangent(rule, y, bound)
            except AssertionError:
                raise
            except Exception as exc:  # a template that crashes is a failed check
                raise AssertionError(
                    f"{self.case.id}: the {mode} rule {rule.template.__name__} for {self.name} raised "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            for loc, before in snapshot.items():
                if not _same(before, self._value(loc)):
                    raise AssertionError(
                        f"{self.case.id}: the {mode} rule for {self.name} modified its input {loc!r} in place"
                    )

    def _params(self, locations):
        """Template parameter names for `locations`, grouping varargs."""
        return sorted({self.param_of[loc][0] for loc in locations})

    def _extract(self, contributions, loc):
        pname, sub = self.param_of[loc]
        if pname not in contributions:
            return None
        value = contributions[pname]
        return value if sub is None else value[sub]

    def _compare(self, mode, loc, got, want, what):
        tol_text = f"rtol={self.case.rtol}, atol={self.case.atol}"
        got_leaves, want_leaves = _leaves(got) if isinstance(want, (list, tuple)) else [got], _leaves(want)
        if isinstance(want, (list, tuple)) and (not isinstance(got, (list, tuple)) or len(got) != len(want)):
            raise AssertionError(
                f"{self.case.id}: {mode} of {self.name} w.r.t. {what}: expected a {type(want).__name__} "
                f"of {len(want)} items, got {type(got).__name__}"
            )
        for j, (g, w) in enumerate(zip(got_leaves, want_leaves)):
            item = f"{what}[{j}]" if isinstance(want, (list, tuple)) else what
            if np.shape(g) != np.shape(w):
                raise AssertionError(
                    f"{self.case.id}: {mode} of {self.name} w.r.t. {item}: shape {np.shape(g)} "
                    f"!= expected {np.shape(w)}"
                )
            g = np.asarray(g, dtype=float)
            w = np.asarray(w, dtype=float)
            err = float(np.max(np.abs(g - w))) if g.size else 0.0
            scale = float(np.max(np.abs(w))) if w.size else 0.0
            if not err <= self.case.atol + self.case.rtol * scale:  # also catches nan
                raise AssertionError(
                    f"{self.case.id}: {mode} of {self.name} w.r.t. {item} does not match finite "
                    f"differences: max abs error {err:.3g} (largest |fd| {scale:.3g}, {tol_text})\n"
                    f"rule:\n{np.array2string(g, precision=6)}\nfinite differences:\n"
                    f"{np.array2string(w, precision=6)}"
                )

    def check_adjoint(self, rule, y, bound):
        if not isinstance(y, (list, tuple)):
            self._check_adjoint_with(rule, y, bound, _random_like(y, self.rng), [0])
            return
        bars = [_random_like(leaf, self.rng) for leaf in y]
        variants = [list(range(len(y)))]
        if registry.resolve_key(self.primal) in getattr(registry, "TUPLE_RESULTS", ()):
            # the engine passes None for the elements of a tuple result the program never used
            variants += [[k] for k in range(len(y))] if len(y) > 1 else []
        for used in variants:
            y_bar = [bars[k] if k in used else None for k in range(len(y))]
            y_bar = y_bar if isinstance(y, list) else tuple(y_bar)
            self._check_adjoint_with(rule, y, bound, y_bar, used)

    def _check_adjoint_with(self, rule, y, bound, y_bar, used):
        active = self._params(self.locations)
        contributions = _run_adjoint_template(rule, y, y_bar, bound, active)
        bar_leaves = list(y_bar) if isinstance(y, (list, tuple)) else [y_bar]

        def phi(replace):
            out = self.call(replace)
            outs = _leaves(out) if isinstance(y, (list, tuple)) else [out]
            return sum(_dot(bar_leaves[k], outs[k]) for k in used)

        for loc in self.locations:
            value = self._value(loc)
            fd_leaves = []
            for j, leaf in enumerate(_leaves(value)):
                grad = np.zeros(np.shape(leaf))
                for k in np.ndindex(np.shape(leaf)):
                    step = np.zeros(np.shape(leaf))
                    step[k] = self.h
                    if not np.shape(leaf):
                        step = self.h

                    def shifted(s):
                        leaves = _leaves(value)
                        leaves[j] = _add(leaf, s)
                        return {loc: _rebuild(value, leaves)}

                    grad[k] = (phi(shifted(step)) - phi(shifted(-step))) / (2 * self.h)
                fd_leaves.append(grad)
            fd = _rebuild(value, fd_leaves) if isinstance(value, (list, tuple)) else fd_leaves[0]
            got = self._extract(contributions, loc)
            if got is None:
                got = _rebuild(value, [np.zeros(np.shape(leaf)) for leaf in _leaves(value)])
            what = self.describe(loc)
            if isinstance(y, (list, tuple)) and len(used) < len(y):
                what += f" (cotangent only for result element {used[0]}, None for the others)"
            self._compare("adjoint", loc, got, fd, what)

    def check_tangent(self, rule, y, bound):
        subsets = [list(self.locations)]
        if len(self.locations) > 1:
            subsets += [[loc] for loc in self.locations]
        for subset in subsets:
            directions = {}
            for loc in subset:
                value = self._value(loc)
                directions[loc] = _rebuild(value, [_random_like(leaf, self.rng) for leaf in _leaves(value)])
            dots = {}
            for loc, v in directions.items():
                pname, sub = self.param_of[loc]
                if sub is None:
                    dots[pname] = v
                else:  # *args: a tuple of tangents, zeros for inactive entries
                    current = dots.get(pname) or [
                        np.zeros(np.shape(bound[pname][j])) for j in range(len(bound[pname]))
                    ]
                    current = list(current)
                    current[sub] = v
                    dots[pname] = tuple(current)
            y_dot = _run_tangent_template(rule, y, bound, dots)

            def shifted(s):
                out = {}
                for loc, v in directions.items():
                    value = self._value(loc)
                    out[loc] = _rebuild(
                        value, [_add(leaf, s * d) for leaf, d in zip(_leaves(value), _leaves(v))]
                    )
                return out

            plus, minus = self.call(shifted(self.h)), self.call(shifted(-self.h))
            if isinstance(y, (list, tuple)):
                fd = tuple(
                    (np.asarray(p, dtype=float) - np.asarray(m, dtype=float)) / (2 * self.h)
                    for p, m in zip(plus, minus)
                )
                if y_dot is None:
                    y_dot = tuple(np.zeros(np.shape(leaf)) for leaf in y)
            else:
                fd = (np.asarray(plus, dtype=float) - np.asarray(minus, dtype=float)) / (2 * self.h)
                if y_dot is None:
                    y_dot = np.zeros(np.shape(y))
            what = "active " + ", ".join(self.describe(loc) for loc in subset)
            self._compare("tangent", subset, y_dot, fd, what)


# ---------------------------------------------------------------------------
# The lecture's "gradient check" for whole functions
# ---------------------------------------------------------------------------


def check_grad(f: Callable, *args, wrt=0, rtol: float = 1e-5, atol: float = 1e-7, h: float = 1e-6) -> float:
    """Compare s2sad's gradient of `f` with central finite differences.

    Args:
        f: a scalar function s2sad can read, or generated code returning a scalar
            (``check_grad(s2sad.grad(f, wrt=1), x, a)`` checks a second derivative).
        *args: the point to check at (float64 gives the most reliable check).
        wrt: as for :func:`s2sad.grad`.
        rtol, atol: the check passes when max |grad - fd| <= atol + rtol * max |fd|.
        h: the finite-difference step (scaled by max(1, |x|) per element).

    Returns:
        The largest absolute difference found. Raises AssertionError (showing
        the generated source) when it is too large.

    Example:
        >>> import numpy as np
        >>> def f(x):
        ...     return np.sum(np.sin(x) ** 2)
        >>> check_grad(f, np.array([0.1, 0.2, 0.3])) < 1e-7
        True
    """
    from .api import GeneratedFunction, build  # the API is a later stage than the rule harness; import on use
    from .public import grad  # generated code: grad transforms its IR (s2sad.compose)
    from .pytree import flatten, in_order, is_structured, unflatten

    generated = grad(f, wrt) if isinstance(f, GeneratedFunction) else build(f, "grad", wrt)
    positions = generated._wrt_positions
    grads = generated(*args)
    if not generated._many:
        grads = (grads,)
    worst = 0.0
    shown = generated.specialize(*args)  # the code the error message shows
    for pos, g in zip(positions, grads):
        # a container (dict, list, tuple, namedtuple) is checked leaf by leaf; its gradient has its structure
        x_leaves, tree = flatten(args[pos]) if is_structured(args[pos]) else ([args[pos]], None)
        g_leaves = flatten(in_order(g, args[pos]))[0] if tree is not None else [g]
        if len(g_leaves) != len(x_leaves):
            raise AssertionError(
                f"gradient of {getattr(f, '__name__', f)} with respect to argument {pos} has {len(g_leaves)} "
                f"arrays, but the argument has {len(x_leaves)}\ns2sad: {g}\n{shown.source}"
            )
        for k, (leaf, g_leaf) in enumerate(zip(x_leaves, g_leaves)):
            def at(value, k=k):
                if tree is None:
                    return value
                moved = list(x_leaves)
                moved[k] = value
                return unflatten(tree, moved)

            worst = max(worst, _check_leaf(f, shown, args, pos, at, leaf, g_leaf, rtol, atol, h))
    return worst


def _largest_difference(g, fd) -> float:
    """max |g - fd|, where a NaN in one but not the other, or an infinity the other does not match, is an
    infinite difference (np.max of a NaN is NaN, and ``err > tolerance`` is then False: a NaN gradient
    passed the check). Entries equal in both (the same infinity, NaN in both) differ by 0.

    Example:
        >>> _largest_difference(np.array([1.0, np.nan]), np.array([1.0, 2.0]))
        inf
        >>> _largest_difference(np.array([np.inf, np.nan]), np.array([np.inf, np.nan]))
        0.0
    """
    if not fd.size:
        return 0.0
    g, fd = np.broadcast_arrays(g, fd)
    with np.errstate(invalid="ignore"):
        diff = np.abs(g - fd)
    same = (g == fd) | (np.isnan(g) & np.isnan(fd))
    diff = np.where(same, 0.0, np.where(np.isnan(diff), np.inf, diff))
    return float(np.max(diff))


def _check_leaf(f, generated, args, pos, at, leaf, g, rtol, atol, h):
    """The largest difference between `g` and central differences of f in one array (or number) `leaf`
    of argument `pos` (``at(value)`` is the argument with that leaf replaced by `value`)."""
    x = np.asarray(leaf, dtype=np.float64)

    def along(xi, scalar=np.ndim(leaf) == 0):
        new = list(args)
        new[pos] = at(float(xi) if scalar else xi)
        return f(*new)

    fd = np.zeros_like(x)
    flat = fd.reshape(-1)
    for i in range(x.size):
        step = h * max(1.0, abs(float(x.reshape(-1)[i])))
        plus, minus = x.copy(), x.copy()
        plus.reshape(-1)[i] += step
        minus.reshape(-1)[i] -= step
        flat[i] = (float(along(plus)) - float(along(minus))) / (2 * step)
    err = _largest_difference(np.asarray(g, dtype=np.float64), fd)
    finite = np.abs(fd[np.isfinite(fd)])  # (a NaN scale would make every comparison false)
    if err > atol + rtol * (float(np.max(finite)) if finite.size else 0.0):
        raise AssertionError(
            f"gradient of {getattr(f, '__name__', f)} with respect to argument {pos} differs from finite "
            f"differences by {err:.3g}\ns2sad: {g}\nfinite differences: {fd}\n{generated.source}"
        )
    return err
