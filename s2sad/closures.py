"""Closures: functions made inside the differentiated code, lowered by inlining them where they are called.

Three kinds of local callables are bound to names while lowering, in place of a value:

* a nested ``def h(y): ...``, or ``h = lambda y: ...``: a :class:`LocalFunction`. Its defaults are
  evaluated where it is defined (as Python does); its body is lowered at each call with its free
  variables read from the enclosing function's names *at the call* (Python's late binding: a
  closure reads the variable when it runs, not when it was made);
* ``p = functools.partial(f, a, k=b)``: a :class:`LocalPartial`; calling it calls ``f`` with the
  bound arguments first (``p(x)`` is ``f(a, x, k=b)``). A module-level partial object, met as a
  reference, is opened the same way (:func:`from_partial_object`);
* what cannot be called safely, such as a function defined on one branch of an ``if`` only:
  :class:`Unusable`, which raises its error when used.

These never reach the IR: using one as a value (returning it, storing it, passing it to a library
function; passing it to one of the user's functions, which is inlined, is fine) is refused (:func:`escaped`), as is recursion of a
nested function where it is inlined (a nested function called twice, recursive or large is a generated function
pair when the call's shape allows, see ``nested_routines``), changing a variable
of the enclosing function in place from inside one (the inlined body's updates would not be seen
by the enclosing function), and using a function defined inside a loop or one branch after it.
``lower`` calls the few functions here at its statement and call sites; the state stays on the
lowerer of the walk.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from dataclasses import dataclass

import gast

from . import ir
from .desugar import remove_early_exits
from .errors import (
    NameResolutionError,
    RecursionNotSupportedError,
    S2SADError,
    UnsupportedSyntaxError,
)
from .frontend import _numpy_path


@dataclass(eq=False)
class LocalFunction:
    """A nested ``def`` (or a lambda, made into a ``def`` named after its variable).

    Attributes:
        node: its gast FunctionDef, part of the enclosing function's tree.
        defaults: parameter name -> atom, evaluated where it was defined.
        parsed: the function it was defined in (its file, globals and closure).
        scope: None while it is called where it was defined (its free names are read from the caller's
            names); once passed to a helper, ``(names, local names)`` of the defining function at
            that call, which the helper cannot change.
    """

    node: gast.FunctionDef
    defaults: dict
    parsed: object
    scope: tuple | None = None

    @property
    def __name__(self) -> str:
        return self.node.name


@dataclass(eq=False)
class LocalPartial:
    """``functools.partial(func, *args, **kwargs)``: `func` is a local callable or an ``ir.Ref``."""

    func: object
    args: list
    kwargs: list
    name: str = "partial"

    @property
    def __name__(self) -> str:
        return self.name


@dataclass(eq=False)
class Unusable:
    """A name bound to a local function that cannot be used here; `message` and `hint` say why
    (raised at the line that uses it)."""

    message: str
    hint: str

    def error(self, lowerer, node) -> S2SADError:
        return lowerer.error(UnsupportedSyntaxError, self.message, node, hint=self.hint)


def is_local(value) -> bool:
    """Is `value` (an env entry) one of the local callables of this module rather than an atom?"""
    return isinstance(value, (LocalFunction, LocalPartial, Unusable))


# ------------------------------------------------------------ definitions


def binds_lambda(stmt) -> bool:
    """``name = lambda ...``: the one place a lambda may be written inside the function."""
    return isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name) \
        and isinstance(stmt.value, gast.Lambda)


def define(lowerer, stmt) -> bool:
    """Bind the local callable `stmt` defines, if it defines one (a nested def, ``h = lambda ...``,
    ``p = functools.partial(...)``); return whether it did."""
    if isinstance(stmt, gast.FunctionDef):
        lowerer.env[stmt.name] = LocalFunction(stmt, _defaults(lowerer, stmt.args), lowerer.parsed)
        return True
    if binds_lambda(stmt):
        lam = stmt.value
        fdef = gast.FunctionDef(name=stmt.targets[0].id, args=lam.args, body=[_return(lam.body)],
                                decorator_list=[], returns=None, type_comment=None, type_params=[])
        lowerer.env[stmt.targets[0].id] = LocalFunction(gast.copy_location(fdef, lam), _defaults(lowerer, lam.args),
                                                        lowerer.parsed)
        return True
    if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name) \
            and _local_name(lowerer, stmt.value):  # g = h: another name for the same function
        value = lowerer.env[stmt.value.id]
        if isinstance(value, Unusable):
            raise value.error(lowerer, stmt.value)
        lowerer.env[stmt.targets[0].id] = value
        return True
    if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name) \
            and isinstance(stmt.value, gast.Call):
        made = partial_made_by(lowerer, stmt.value, stmt.targets[0].id)
        if made is not None:
            lowerer.env[stmt.targets[0].id] = made
            return True
    return False


def _return(value):
    return gast.copy_location(gast.Return(value=value), value)


def _defaults(lowerer, args) -> dict:
    """Default values, evaluated now (at the definition), as atoms by parameter name."""
    positional = args.posonlyargs + args.args
    values = dict(zip([a.id for a in positional[len(positional) - len(args.defaults):]],
                      [lowerer.expr(d) for d in args.defaults]))
    values.update({a.id: lowerer.expr(d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
    for name, value in values.items():
        if is_local(value):
            raise lowerer.error(UnsupportedSyntaxError, f"the default of {name} is a local function", args,
                                hint="define the function at module level, or call it in the body")
    return values


def partial_made_by(lowerer, call, name="partial"):
    """The LocalPartial a call ``functools.partial(f, ...)`` makes, or None if `call` is another call."""
    if not isinstance(call.func, (gast.Name, gast.Attribute)) or _local_name(lowerer, call.func):
        return None
    callee = lowerer.expr(call.func)
    if not (isinstance(callee, ir.Ref) and callee.value is functools.partial):
        return None
    if not call.args or any(isinstance(a, gast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        raise lowerer.error(UnsupportedSyntaxError, "s2sad reads functools.partial(f, ...) only with the function "
                            "and the arguments written out", call, hint="pass the arguments one by one")
    func = callee_of(lowerer, call.args[0])
    if func is None:
        func = lowerer.expr(call.args[0])
        if not isinstance(func, ir.Ref):
            raise lowerer.error(UnsupportedSyntaxError, "s2sad cannot tell which function this partial calls",
                                call.args[0], hint="name the function directly: functools.partial(f, ...)")
    args = [lowerer.expr(a) for a in call.args[1:]]
    kwargs = [(k.arg, lowerer.expr(k.value)) for k in call.keywords]
    if any(is_local(a) for a in args + [v for _, v in kwargs]):
        raise escaped(lowerer, call)
    return LocalPartial(func, args, kwargs, name)


def _local_name(lowerer, node) -> bool:
    return isinstance(node, gast.Name) and is_local(lowerer.env.get(node.id))


def from_partial_object(ref: ir.Ref) -> LocalPartial:
    """A module-level ``functools.partial`` object, reached as a reference, opened into its parts.

    The bound values become constants or references named after the partial (``p_arg0``, ``p_k``),
    so generated code calls the function itself. The object is one of the program's assumptions
    already (it was resolved by name), so rebinding the name rebuilds the derivative.
    """
    obj, base = ref.value, ref.path[-1] if ref.path else "partial"
    func = _callable_ref(obj.func)
    args = [_value_atom(v, f"{base}_arg{k}") for k, v in enumerate(obj.args)]
    kwargs = [(k, _value_atom(v, f"{base}_{k}")) for k, v in obj.keywords.items()]
    return LocalPartial(func, args, kwargs, base)


def _callable_ref(func) -> ir.Ref:
    path = _numpy_path(func)
    if path is not None:
        import numpy as np

        return ir.Ref(tuple(path.split(".")), func, np)
    name = getattr(func, "__name__", None)
    return ir.Ref((name if isinstance(name, str) and name.isidentifier() else "func",), func, func)


def _value_atom(value, name):
    if value is None or isinstance(value, (bool, int, float, complex, str)):
        return ir.Const(value)
    return ir.Ref((name,), value, value)


# ------------------------------------------------------------ uses


def callee_of(lowerer, func_node):
    """The local callable a call's function expression denotes (``h`` bound to a nested def,
    ``functools.partial(f, a)`` written in place), or None for any other function."""
    if _local_name(lowerer, func_node):
        return lowerer.env[func_node.id]
    if isinstance(func_node, gast.Call):
        return partial_made_by(lowerer, func_node)
    return None


def argument(lowerer, node, takes_functions: bool):
    """An argument of a call: its atom, or, when the callee is one of the user's functions (inlined,
    `takes_functions`), a local function named here or a ``functools.partial(...)`` written here,
    carrying the names it reads (see `scope`)."""
    if takes_functions and isinstance(node, gast.Call) and _names_partial(node.func):
        made = partial_made_by(lowerer, node)
        if made is not None:
            return _with_scope(made, lowerer, node)
    if not (takes_functions and _local_name(lowerer, node)):
        return lowerer.expr(node)  # a local function here is refused as escaping (`read_name`)
    return _with_scope(lowerer.env[node.id], lowerer, node)


def _with_scope(value, lowerer, node):
    if isinstance(value, Unusable):
        raise value.error(lowerer, node)
    if isinstance(value, LocalPartial):
        return dataclasses.replace(value, func=_with_scope(value.func, lowerer, node))
    if isinstance(value, LocalFunction) and value.scope is None:
        return dataclasses.replace(value, scope=(dict(lowerer.env), lowerer.local_names))
    return value


def escaped(lowerer, node) -> S2SADError:
    """The error for a local function used other than by calling it."""
    name = node.id if isinstance(node, gast.Name) else "a partial"
    value = lowerer.env.get(name) if isinstance(node, gast.Name) else None
    if isinstance(value, Unusable):
        return value.error(lowerer, node)
    return lowerer.error(
        UnsupportedSyntaxError,
        f"the local function {name} is used as a value here (returned, stored, or passed on); s2sad inlines "
        "functions made inside the function where they are called",
        node,
        hint=f"call {name} here instead, or define it at module level and pass it what it needs as arguments",
    )


def call(lowerer, callee, args, kwargs, node, hint):
    """Lower a call of the local callable (or reference) `callee` with argument atoms `args`/`kwargs`."""
    if isinstance(callee, Unusable):
        raise callee.error(lowerer, node)
    if isinstance(callee, LocalPartial):
        merged = dict(callee.kwargs)
        merged.update(dict(kwargs))  # a keyword given at the call replaces the bound one, as in Python
        return call(lowerer, callee.func, list(callee.args) + list(args), list(merged.items()), node, hint)
    if isinstance(callee, LocalFunction):
        return _inline(lowerer, callee, args, kwargs, node, hint)
    if any(is_local(a) for a in list(args) + [v for _, v in kwargs]):
        raise escaped(lowerer, next((n for n in list(node.args) + [k.value for k in node.keywords]
                                     if _local_name(lowerer, n)), node) if isinstance(node, gast.Call) else node)
    if isinstance(callee.value, functools.partial):
        return call(lowerer, from_partial_object(callee), args, kwargs, node, hint)
    return lowerer.call_ref(callee, args, kwargs, node, hint)


def _inline(lowerer, local: LocalFunction, args, kwargs, node, hint):
    """The body of `local` spliced in at the call, its free names read from the enclosing names now
    (or, passed to a helper, as they were when the helper was called)."""
    name = local.node.name
    if any(isinstance(s, LocalFunction) and s.node is local.node for s in lowerer.stack):
        raise lowerer.error(RecursionNotSupportedError, f"the local function {name} calls itself with arguments "
                            "or enclosing names that are not arrays or numbers (tuples, lists, dicts or functions), "
                            "so s2sad inlines it at each call", node,
                            hint="pass and read only arrays and numbers, or rewrite the recursion as a loop")
    parsed = dataclasses.replace(local.parsed, node=local.node)
    fdef = remove_early_exits(parsed)
    sig = _signature(local)
    try:
        bound = sig.bind(*args, **dict(kwargs))
    except TypeError as exc:
        raise lowerer.error(S2SADError, f"cannot call {name} with these arguments: {exc}", node,
                            hint=f"call it as its definition says: {name}{sig}") from None
    params = {p: (bound.arguments[p] if p in bound.arguments else local.defaults[p]) for p in sig.parameters}
    own = set(params) | _own_names(fdef.body)
    names, local_names = local.scope or (lowerer.env, lowerer.local_names)
    free = {k: v for k, v in names.items() if k not in own}
    env = dict(free)
    env.update({p: lowerer.named_argument(v, p) for p, v in params.items()})
    sub = dataclasses.replace(lowerer, parsed=parsed, env=env, stack=lowerer.stack + (local,),
                              local_names=own | local_names, result_loc=None,  # `y += v` into these is checked:
                              arguments={v for v in env.values() if isinstance(v, ir.Var)})  # the caller's values
    result = sub.body_and_result(fdef, hint)
    changed = sorted(k for k, v in free.items() if sub.env.get(k) is not v)
    if changed:
        raise lowerer.error(
            UnsupportedSyntaxError,
            f"the local function {name} changes {', '.join(changed)} of the enclosing function in place",
            node, hint=f"return the new value from {name} and assign it where {name} is called")
    return result


def _signature(local: LocalFunction) -> inspect.Signature:
    """The parameters of a nested def; defaults stand as markers (their atoms are in `defaults`)."""
    args = local.node.args
    kind = inspect.Parameter
    params = [kind(a.id, kind.POSITIONAL_ONLY, default=_HAS_DEFAULT if a.id in local.defaults else kind.empty)
              for a in args.posonlyargs]
    params += [kind(a.id, kind.POSITIONAL_OR_KEYWORD, default=_HAS_DEFAULT if a.id in local.defaults
                    else kind.empty) for a in args.args]
    params += [kind(a.id, kind.KEYWORD_ONLY, default=_HAS_DEFAULT if a.id in local.defaults else kind.empty)
               for a in args.kwonlyargs]
    return inspect.Signature(params)


class _HasDefault:
    def __repr__(self):
        return "..."


_HAS_DEFAULT = _HasDefault()


def _own_names(stmts) -> set:
    """The names a function body makes local, as Python decides: every name it binds (not names whose
    items or attributes it sets), the names of the functions it defines; not looking into those."""
    found, pending = set(), list(stmts)
    while pending:
        node = pending.pop()
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            found.add(node.id)
        if isinstance(node, (gast.FunctionDef, gast.AsyncFunctionDef, gast.ClassDef)):
            found.add(node.name)
            continue
        if isinstance(node, gast.Lambda):
            continue
        pending.extend(gast.iter_child_nodes(node))
    return found


# ------------------------------------------------------------ control flow


def merged(name, then_value, else_value, lowerer, node):
    """The binding after an ``if`` of a name that is a local function on at least one branch."""
    if then_value is else_value:
        return then_value
    return Unusable(
        f"the local function {name} is defined differently (or only) on one branch of the if on line "
        f"{lowerer.loc(node).line}, and used after it", f"define {name} once before the if, or call it inside the branch")


def functions_defined_in(stmts) -> set:
    """Names bound to a local function (def, ``= lambda``, ``= partial(...)``) anywhere in `stmts`,
    not looking into nested functions."""
    found, pending = set(), list(stmts)
    while pending:
        node = pending.pop()
        if isinstance(node, gast.FunctionDef):
            found.add(node.name)
            continue
        if binds_lambda(node) or (isinstance(node, gast.Assign) and len(node.targets) == 1
                                  and isinstance(node.targets[0], gast.Name) and isinstance(node.value, gast.Call)
                                  and _names_partial(node.value.func)):
            found.add(node.targets[0].id)
        if isinstance(node, gast.Lambda):
            continue
        pending.extend(gast.iter_child_nodes(node))
    return found


def _names_partial(func) -> bool:
    return (isinstance(func, gast.Name) and func.id == "partial") or (
        isinstance(func, gast.Attribute) and func.attr == "partial")


def enter_loop(lowerer, body, node):
    """Inside a loop body, a function the body defines cannot be called before its definition (which
    one runs would depend on the iteration)."""
    for name in functions_defined_in(body):
        lowerer.env[name] = Unusable(
            f"the local function {name} is used before it is defined in the body of the loop on line "
            f"{lowerer.loc(node).line}", f"define {name} before the loop, or before its first use in the body")


def leave_loop(lowerer, carried, body_env, body, node) -> list:
    """After a loop, a function defined in its body may not be used (the loop may not have run).

    Returns the loop's `carried` ``(name, arg, init)`` without the names that are (or were) bound to a
    local function, which a block argument cannot hold; such a name read as a value in the body
    (before the body rebinds it) is refused.
    """
    loop = node.body
    names = functions_defined_in(loop) | {name for name, _, init in carried
                                          if is_local(init) or is_local(body_env.get(name))}
    kept = []
    for name, arg, init in carried:
        if name not in names:
            kept.append((name, arg, init))
        elif any(arg in ir.uses(stmt) for stmt in ir.walk(body)):
            raise lowerer.error(UnsupportedSyntaxError, f"{name} is a local function in some iterations of this "
                                "loop and a value in others", node, hint="use another name for the function")
    for name in names:
        lowerer.env[name] = Unusable(
            f"the local function {name} is defined inside the loop on line {lowerer.loc(node).line} and used after it",
            f"define {name} before the loop")
    return kept


def held_values(env: dict) -> set:
    """The values the local callables in `env` hold: a partial's bound arguments and a nested def's
    defaults, read when it is called later (so changing one in place must be seen there)."""
    held, pending = set(), list(env.values())
    while pending:
        value = pending.pop()
        if isinstance(value, LocalPartial):
            held.update(list(value.args) + [v for _, v in value.kwargs])
            pending.append(value.func)
        elif isinstance(value, LocalFunction):
            held.update(value.defaults.values())
    return held


def without_locals(env: dict) -> dict:
    """`env` without its local callables (what a lowered function exports)."""
    return {k: v for k, v in env.items() if not is_local(v)}


__all__ = ["LocalFunction", "LocalPartial", "Unusable", "is_local", "define", "callee_of", "call", "escaped",
           "merged", "enter_loop", "leave_loop", "functions_defined_in", "without_locals", "binds_lambda",
           "from_partial_object", "held_values"]
