"""Calls whose effect on the derivative s2sad cannot see.

s2sad reads and inlines the user's functions, but not the methods of the user's
own objects (``model.step(x)``): such a call is a black box, differentiated
only through a registered rule. When its result is differentiated, the missing
rule is reported by ``reverse``/``forward``. When its result is not (``if
model.step(x) > 0:``, ``n = int(model.step(x))``) nobody asks for a rule, yet the
method receives a differentiated value and may pass it on by writing into a
global, its object or another argument, which the derivative would silently
miss. Those calls are refused.
"""

from __future__ import annotations

import inspect

from . import ir
from .analysis import varied_vars
from .errors import NoDerivativeError
from .lower import has_any_rule, is_user_function


def unseen_method_calls(fn: ir.Function, wrt_vars, active) -> list:
    """A NoDerivativeError for each call of a user's method without a rule that receives a
    value varied by `wrt_vars` while its own result is not `active`.

    Args:
        fn: the primal IR.
        wrt_vars: the parameters differentiated.
        active: the Vars that get adjoints or tangents.

    Returns:
        The errors, in program order (empty when there is nothing to refuse).
    """
    calls = [s for s in ir.walk(fn.body) if isinstance(s, ir.Assign) and _is_unread_method(s.func.value)
             and s.target not in active]
    if not calls:
        return []
    varied = varied_vars(fn, wrt_vars)
    problems = []
    for stmt in calls:
        atoms = list(stmt.args) + [a for _, a in stmt.kwargs]
        if any(isinstance(a, ir.Var) and a in varied for a in atoms):
            name = stmt.func.value.__func__.__qualname__
            problems.append(NoDerivativeError(
                f"the method {name}() receives a differentiated value, and s2sad does not read methods: "
                "its result is not differentiated here, but it could pass the value on by changing its "
                "object, an argument or a global, which the derivative would miss",
                stmt.loc,
                hint="make it a plain function (s2sad reads and inlines functions), or register a rule for "
                "it with @s2sad.adjoint; if it only reads the value (a test, a log), declare that once with "
                f"s2sad.nondifferentiable(<the object>.{name.split('.')[-1]})",
            ))
    return problems


def _is_unread_method(func) -> bool:
    return inspect.ismethod(func) and is_user_function(func.__func__) and not has_any_rule(func)
