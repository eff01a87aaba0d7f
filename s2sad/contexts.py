"""``with`` statements whose context only changes how NumPy reports floating-point errors or how Python
shows warnings: ``with np.errstate(divide="ignore"):`` and ``with warnings.catch_warnings():``.

They change no value, so the body is differentiated as if it were written without the ``with``
(:func:`without_contexts`, run by ``desugar.remove_early_exits``). The generated code, its forward and
its reverse sweep, runs under the caller's error state and warning filters: it may warn where the
function was silenced (a derivative at a pole is as infinite as the value), never compute otherwise.
A context that turns a floating-point error into an exception (``np.errstate(all="raise")``) is
refused: the derivative would go on with inf or nan where the function stops. Any other ``with``
(a file, a lock, a timer) is refused by ``desugar``.
"""

from __future__ import annotations

import copy
import warnings

import gast
import numpy as np

from .errors import UnsupportedSyntaxError

# warnings' functions that only set the filters catch_warnings() puts back at the end of its block
_FILTER_SETTERS = ("simplefilter", "filterwarnings", "resetwarnings")


def _called_object(parsed, func):
    """The object `func` (``np.errstate``, ``warnings.catch_warnings``) denotes outside the function."""
    path = []
    while isinstance(func, gast.Attribute):
        path.append(func.attr)
        func = func.value
    if not isinstance(func, gast.Name):
        return None
    obj = parsed.resolve(func.id)
    for attr in reversed(path):
        obj = getattr(obj, attr, None)
    return obj


def context_problem(parsed, node: gast.With) -> UnsupportedSyntaxError | None:
    """The error for the ``with`` statement `node`, or None when every context it opens is one of
    ``np.errstate(...)`` (not raising) and ``warnings.catch_warnings()`` without ``as``."""
    for item in node.items:
        call = item.context_expr
        obj = _called_object(parsed, call.func) if isinstance(call, gast.Call) else None
        if item.optional_vars is not None or obj not in (np.errstate, warnings.catch_warnings):
            return UnsupportedSyntaxError(
                "s2sad cannot differentiate a with statement (other than np.errstate(...) and "
                "warnings.catch_warnings())", parsed.location(node),
                hint="open the context outside the differentiated function")
        if obj is np.errstate:
            for keyword in call.keywords:
                value = keyword.value
                if not (isinstance(value, gast.Constant) and value.value in ("ignore", "warn", "print", "log")):
                    return UnsupportedSyntaxError(
                        "s2sad cannot differentiate under np.errstate with an error state other than "
                        "'ignore', 'warn', 'print' or 'log' written out", parsed.location(node),
                        hint="the derivative runs under the caller's error state: with 'raise' it would go "
                        "on with inf or nan; test the values with np.isfinite and raise yourself")
            if call.args:
                return UnsupportedSyntaxError(
                    "s2sad cannot differentiate np.errstate with positional arguments", parsed.location(node),
                    hint="name the error states: np.errstate(divide='ignore', invalid='ignore')")
    return None


def _sets_filters(stmt) -> bool:
    """``warnings.simplefilter(...)`` (or filterwarnings, resetwarnings) as a statement of its own."""
    call = stmt.value if isinstance(stmt, gast.Expr) else None
    func = getattr(call, "func", None)
    return isinstance(func, gast.Attribute) and func.attr in _FILTER_SETTERS \
        and isinstance(func.value, gast.Name) and func.value.id == "warnings"


def _catches_warnings(node: gast.With) -> bool:
    return any(isinstance(i.context_expr, gast.Call) and isinstance(i.context_expr.func, gast.Attribute)
               and i.context_expr.func.attr == "catch_warnings" for i in node.items)


def without_contexts(parsed, stmts: list) -> list:
    """`stmts` with each allowed ``with`` replaced by its body (and, in a ``catch_warnings()`` block,
    the calls that only set its warning filters dropped: the block would put them back). Statements
    holding none are returned as they are; the others are copied, never changed in place."""
    out = []
    for stmt in stmts:
        if isinstance(stmt, gast.With) and context_problem(parsed, stmt) is None:
            body = [s for s in stmt.body if not (_catches_warnings(stmt) and _sets_filters(s))]
            out += without_contexts(parsed, body)
            continue
        if isinstance(stmt, (gast.If, gast.For, gast.While, gast.With)) and any(
                isinstance(sub, gast.With) for sub in gast.walk(stmt)):
            stmt = copy.copy(stmt)
            stmt.body = without_contexts(parsed, stmt.body)
            if hasattr(stmt, "orelse"):
                stmt.orelse = without_contexts(parsed, stmt.orelse)
        out.append(stmt)
    return out
