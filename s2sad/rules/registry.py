"""The rule registries: one table per kind of rule, keyed by the primal callable.

A derivative rule is an ordinary Python function used as a *template*: s2sad
never calls it; it reads its source, normalizes it once, and splices its
statements into generated code with the call site's names substituted.

Adjoint rules (reverse mode)::

    @adjoint(np.sin)
    def sin(y, x):
        x_bar = y_bar * np.cos(x)

* The first parameter names the primal's result; the others mirror the
  primal's parameters (names, order, defaults), so the call site
  ``np.sum(a, axis=1)`` binds ``x=a, axis=1`` exactly as Python would.
  ``*args`` is allowed.
* ``y_bar`` (first parameter + ``_bar``) is the incoming adjoint of the result.
* Assigning ``<param>_bar`` gives that argument's contribution to its adjoint.
  A parameter whose ``_bar`` is never assigned is not differentiable through
  this rule (``axis``, an index, a shape). Contributions are *added* to the
  argument's adjoint by the engine; a rule never accumulates itself.
* Broadcasting is undone with ``unbroadcast(g, x)`` (the one place it lives).
* The body is straight-line code (conditional expressions are fine).

Tangent rules (forward mode)::

    @tangent(np.multiply, operator.mul)
    def mul(y, a, b):
        y_dot = a_dot * b + a * b_dot

* ``<param>_dot`` is the tangent of an argument; assign ``y_dot``.
* The right-hand side of the final ``y_dot = ...`` is a sum of terms each
  linear in exactly one ``*_dot``; the engine drops the terms of arguments that
  are not active, so no zeros are ever materialized. With ``elementwise=True``
  the engine broadcasts the kept terms to the result's shape when a term was
  dropped (``y = a + b`` with only ``b`` active gives ``y_dot`` of ``y``'s shape).

Functions with no derivative are listed with :func:`nondifferentiable`; they
pass through the transformation and contribute nothing.

Calls that write into an argument (``np.copyto``, ``np.add.at``, ``x.sort()``)
are declared with :func:`declare_writes` (or ``writes=`` on any of the three
decorators): which argument they write, and how lowering rewrites the call as an
in-place update ``x[...] = value`` (or that it refuses it). Writing into
``out=`` needs no declaration: every call is checked for it.
Array methods mirror functions: :func:`method_mirrors` says ``x.sum(...)`` is
``np.sum(x, ...)``, so the method reuses the function's rules.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Callable, Hashable

import numpy as np

from ..errors import RuleError
from ..primitives import Attr, Method, module_name


@dataclass(frozen=True)
class Rule:
    """One registered template.

    Attributes:
        primal: the callable (or primitive key) the rule differentiates.
        template: the template function (never called).
        kind: "adjoint" or "tangent".
        elementwise: tangent rules only; see the module docstring.
        note: shown in docs/numpy-coverage.md (tie-breaking, singular points).
    """

    primal: Hashable
    template: Callable
    kind: str
    elementwise: bool = False
    note: str = ""
    result_name: str = field(default="y")


ADJOINT_RULES: dict[Hashable, Rule] = {}
TANGENT_RULES: dict[Hashable, Rule] = {}
NONDIFFERENTIABLE: dict[Hashable, str] = {}
METHOD_MIRRORS: dict[str, Hashable] = {}
TUPLE_RESULTS: set = set()
WRITES: dict[Hashable, "Writes"] = {}
_generation = [0]  # bumped by every registration, so cached transformations notice new rules


def generation() -> int:
    """A counter that changes whenever a rule is registered or replaced."""
    return _generation[0]


@dataclass(frozen=True)
class Writes:
    """What a call writes into, declared once per callable.

    Attributes:
        param: the written parameter as ``(position, name)``; position counts the
            receiver of a method call (``Method("sort")``) as 0.
        how: the name of the rewrite that lowers the call to an in-place update
            (``"copyto"``, ``"sort"`` ...), or "" when s2sad refuses the call.
        when: ``(position, name, value)`` for a call that writes only when a flag
            has `value` (``byteswap(inplace=True)``, ``nan_to_num(copy=False)``);
            None when the call always writes.
        hint: what to write instead, shown when the call is refused.
    """

    param: tuple
    how: str = ""
    when: tuple | None = None
    hint: str = ""


def declare_writes(*primals: Hashable, param: tuple, how: str = "", when: tuple | None = None,
                   hint: str = "") -> None:
    """Declare callables that write into one of their arguments.

    Args:
        *primals: the callables (``np.copyto``, ``Method("sort")``).
        param: ``(position, name)`` of the written argument.
        how: the rewrite lowering uses (see ``lower_writes``), or "" to refuse.
        when: ``(position, name, value)``: writes only when that argument is `value`.
        hint: what the user should write instead, when refused.

    Example:
        >>> import numpy as np, s2sad
        >>> s2sad.declare_writes(np.putmask, param=(0, "a"), hint="use a = np.where(mask, values, a)")
    """
    for primal in primals:
        WRITES[primal] = Writes(tuple(param), how, tuple(when) if when else None, hint)
    _generation[0] += 1


def writes_of(primal: Hashable) -> "Writes | None":
    """The write declaration of `primal`, or None when it writes nothing (besides ``out=``).

    A bound method (``G.sort`` for a global array ``G``, ``np.add.at``) is looked up
    under the method (``Method("sort")``) or, for ``ufunc.at``, declared for all ufuncs.
    """
    try:
        found = WRITES.get(primal)
    except TypeError:  # unhashable: declared nothing
        return None
    if found is not None:
        return found
    owner = getattr(primal, "__self__", None)
    name = getattr(primal, "__name__", "")
    if owner is None and name and getattr(primal, "__objclass__", None) is np.ndarray:
        return WRITES.get(Method(name))  # np.ndarray.sort(y): the method, called on the class
    if owner is None or isinstance(owner, type(inspect)) or not name:
        return None
    if type(owner).__name__ == "ufunc" and name == "at":
        return WRITES.get(Method("ufunc.at"))
    return WRITES.get(Method(name)) if module_name(type(owner)).startswith("numpy") else None


def _primal_name(primal) -> str:
    return getattr(primal, "__name__", None) or repr(primal)


def _check_template(template: Callable, kind: str) -> str:
    if not callable(template) or not hasattr(template, "__code__"):
        raise RuleError(f"a {kind} rule must be a Python function, got {template!r}")
    params = list(inspect.signature(template).parameters.values())
    if not params or params[0].kind not in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    ):
        raise RuleError(
            f"{kind} rule {template.__name__!r} must take the primal's result as its "
            "first parameter, then the primal's own parameters, e.g. "
            "`def sin(y, x): x_bar = y_bar * np.cos(x)`"
        )
    return params[0].name


def _register(table, primals, kind, elementwise, note, override, writes=None):
    def decorate(template):
        if writes is not None:
            declare_writes(*primals, **writes)
        result_name = _check_template(template, kind)
        for primal in primals:
            if primal in table and not override:
                raise RuleError(
                    f"a {kind} rule for {_primal_name(primal)} is already registered; "
                    "pass override=True to replace it"
                )
            table[primal] = Rule(
                primal,
                template,
                kind,
                elementwise=elementwise,
                note=note or (inspect.getdoc(template) or ""),
                result_name=result_name,
            )
            NONDIFFERENTIABLE.pop(primal, None)
        _generation[0] += 1
        return template

    return decorate


def adjoint(*primals: Hashable, override: bool = False, note: str = "", writes: dict | None = None):
    """Register a reverse-mode rule for one or more primal callables.

    Args:
        *primals: the callables (``np.sin``, ``operator.mul``, your function).
        override: replace an existing rule instead of raising.
        note: a remark for the coverage table (defaults to the docstring).
        writes: for a primal that writes into an argument, the keywords of
            :func:`declare_writes` (``{"param": (0, "a")}``).

    Returns:
        A decorator that registers the template and returns it unchanged.

    Example:
        >>> import numpy as np, s2sad
        >>> def softplus(x):
        ...     return np.log1p(np.exp(x))
        >>> @s2sad.adjoint(softplus)
        ... def softplus_adjoint(y, x):
        ...     x_bar = y_bar / (1 + np.exp(-x))
    """
    return _register(ADJOINT_RULES, primals, "adjoint", False, note, override, writes)


def tangent(*primals: Hashable, elementwise: bool = False, override: bool = False, note: str = "",
            writes: dict | None = None):
    """Register a forward-mode rule; see the module docstring for the form.

    Example:
        >>> import numpy as np, s2sad
        >>> def softplus(x):
        ...     return np.log1p(np.exp(x))
        >>> @s2sad.tangent(softplus)
        ... def softplus_tangent(y, x):
        ...     y_dot = x_dot / (1 + np.exp(-x))
    """
    return _register(TANGENT_RULES, primals, "tangent", elementwise, note, override, writes)


def nondifferentiable(*primals: Hashable, note: str = "", writes: dict | None = None) -> None:
    """Declare callables whose result carries no derivative (``np.floor``, ``len``).

    Calls to them pass through generated code unchanged and contribute nothing
    to any adjoint or tangent.
    """
    for primal in primals:
        NONDIFFERENTIABLE[primal] = note
    if writes is not None:
        declare_writes(*primals, **writes)
    _generation[0] += 1


def method_mirrors(**methods: Hashable) -> None:
    """Declare that ``x.<name>(*args, **kw)`` means ``function(x, *args, **kw)``.

    Example: ``method_mirrors(sum=np.sum)`` makes ``x.sum(axis=0)`` use the
    rules of ``np.sum``.
    """
    METHOD_MIRRORS.update(methods)


def returns_tuple(*primals: Hashable) -> None:
    """Declare callables whose result is a tuple of arrays (``np.linalg.slogdet``).

    The engine then gives their adjoint rules ``y_bar`` as a tuple with one entry
    per element of the result, ``None`` for elements the program never used
    (use ``zeros_like(y[k]) if y_bar[k] is None else y_bar[k]``, or the helper
    ``component``), instead of adding whole tuples together.
    """
    TUPLE_RESULTS.update(primals)


def resolve_key(primal: Hashable) -> Hashable:
    """The key under which rules for `primal` are stored (methods follow mirrors)."""
    if isinstance(primal, Method) and primal not in ADJOINT_RULES and primal not in TANGENT_RULES:
        return METHOD_MIRRORS.get(primal.name, primal)
    return primal


def is_nondifferentiable(primal: Hashable) -> bool:
    try:
        return resolve_key(primal) in NONDIFFERENTIABLE
    except TypeError:  # unhashable callable: it has no rule either
        return False


def adjoint_rule(primal: Hashable) -> Rule | None:
    try:
        return ADJOINT_RULES.get(resolve_key(primal))
    except TypeError:
        return None


def tangent_rule(primal: Hashable) -> Rule | None:
    try:
        return TANGENT_RULES.get(resolve_key(primal))
    except TypeError:
        return None


__all__ = [
    "Rule",
    "Attr",
    "Method",
    "ADJOINT_RULES",
    "TANGENT_RULES",
    "NONDIFFERENTIABLE",
    "METHOD_MIRRORS",
    "adjoint",
    "tangent",
    "nondifferentiable",
    "method_mirrors",
    "returns_tuple",
    "TUPLE_RESULTS",
    "WRITES",
    "Writes",
    "declare_writes",
    "writes_of",
    "resolve_key",
    "is_nondifferentiable",
    "adjoint_rule",
    "tangent_rule",
]
