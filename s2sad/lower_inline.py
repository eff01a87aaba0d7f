"""Calls of the user's own functions: inlined (the helper's body spliced in with a lowering
state of its own, sharing the caller's records), or called as a subroutine lowered once to its own
IR (:mod:`subroutines`, :mod:`nested_routines`)."""

from __future__ import annotations

import dataclasses
import inspect
import re

from . import (
    closures,
    ir,
    item_aliases,
    lower_statements,
    nested_routines,
    runtime,
    subroutines,
)
from .desugar import remove_early_exits, syntax_problems
from .errors import (
    NoDerivativeError,
    RecursionNotSupportedError,
    S2SADError,
    SourceChangedError,
    SourceUnavailableError,
)
from .frontend import parse_function, signature
from .lower_base import Namer, assigned_names, is_helper, names_read, is_temp, literal_default


def named_argument(lw, atom, name):
    """An argument computed just for this call (``f(X @ w + b)``) takes the parameter's name (``z``)."""
    if not (isinstance(atom, ir.Var) and is_temp(atom)):
        return atom
    defining = [s for s in lw.out if isinstance(s, ir.Assign) and s.target == atom]
    readers = [s for s in ir.walk(lw.out) if atom in ir.uses(s)]
    if len(defining) != 1 or readers or atom in lw.packs or atom in lw.contained or atom in lw.fields:
        return atom
    renamed = lw.namer.fresh(name)
    defining[0].target = renamed
    if atom in lw.containers:
        lw.containers.add(renamed)  # `h([a])`: the helper's `rows[0] += v` updates an item of a list
    for made in (lw.viewed_from, lw.element_of):
        if atom in made:
            made[renamed] = made[atom]  # `h(a[1:])`: the helper's `v += w` writes into a
    return renamed


def inline(lw, func, args, kwargs, node, hint):
    """Splice the body of the user's function `func` in place of a call to it (or call it as a
    subroutine, when it is one and the call's shape allows: `call_subroutine`)."""
    if func in lw.routines.get("plan", ()):
        called = call_subroutine(lw, func, args, kwargs, node, hint)
        if called is not None:
            return called
    if func in lw.stack or func is lw.parsed.func:
        if any(isinstance(p, RecursionNotSupportedError) for p in lw.problems):
            return lower_statements.placeholder(lw, hint, node)  # this recursion is reported already
        chain = " -> ".join(getattr(f, "__name__", "?") for f in lw.stack + (func,))
        raise lw.error(
            RecursionNotSupportedError,
            f"{func.__name__} is recursive ({chain}); s2sad differentiates a recursive function as a "
            "generated function of its own only when its arguments and its result are arrays or numbers, "
            "not tuples, lists, dicts or functions",
            node,
            hint="return one array or number and pass arrays and numbers, or rewrite the recursion as a loop",
        )
    try:
        parsed = parse_function(func, lw.parsed.assumptions)
    except SourceChangedError:
        raise  # it names the helper's file and says to reload it
    except SourceUnavailableError as exc:
        name = getattr(func, "__qualname__", repr(func))
        raise lw.error(
            NoDerivativeError,
            f"{name} has no derivative rule, and s2sad cannot read its source ({exc.message})",
            node,
            hint=f"define {name} in a .py file, or register a rule:\n"
            f"    @s2sad.adjoint({name})\n    def {func.__name__}_adjoint(y, ...): ...",
        ) from None
    lw.problems.extend(syntax_problems(parsed))
    if parsed.node.args.vararg is not None or parsed.node.args.kwarg is not None:
        return lower_statements.placeholder(lw, hint, node)  # reported: the helper takes *args or **kwargs
    fdef = remove_early_exits(parsed)
    sig = signature(func)
    try:
        bound = sig.bind(*args, **dict(kwargs))
    except TypeError as exc:
        raise lw.error(S2SADError, f"cannot call {func.__name__} with these arguments: {exc}", node) from None
    env, arguments = {}, set()
    for pname, param in sig.parameters.items():
        if pname in bound.arguments:
            env[pname] = named_argument(lw, bound.arguments[pname], pname)
            passed = env[pname]
            if passed is bound.arguments[pname] and isinstance(passed, ir.Var) and (any(
                    lower_statements.read_later(lw, n, node) for n, a in lw.env.items() if a is passed)
                    or passed in closures.held_values(lw.env)):
                arguments.add(passed)  # a value the caller reads again (not one made for this call)
        else:
            env[pname] = literal_default(param.default) or ir.Ref(
                (f"{func.__name__}_{pname}_default",), param.default, param.default
            )
    # a lowering state of its own (lw's class, `lower._Lowerer`), sharing the caller's records
    sub = type(lw)(parsed, lw.namer, env, lw.out, lw.stack + (lw.parsed.func,),
                   local_names=set(assigned_names(fdef.body)) | set(sig.parameters), packs=lw.packs,
                   fields=lw.fields, frozen=lw.frozen, element_of=lw.element_of, problems=lw.problems,
                   stand_ins=lw.stand_ins, containers=lw.containers, routines=lw.routines,
                   arguments=arguments, callers=lw.callers + (item_aliases.names_after_call(lw, node),),
                   name_reads=names_read(fdef.body))
    result = lower_statements.body_and_result(sub, fdef, hint)
    return result


def call_subroutine(lw, func, args, kwargs, node, hint):
    """``y = helper(a, b)`` as one call of the helper's own IR (:mod:`subroutines`), or None when
    this call passes what the helper's IR cannot take (a container, a function, a bad binding)."""
    sig = signature(func)
    try:
        bound = sig.bind(*args, **dict(kwargs))
    except TypeError:
        return None  # inlining reports it
    full = []
    for pname, param in sig.parameters.items():
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            return None
        if pname in bound.arguments:
            full.append(bound.arguments[pname])
        else:
            full.append(literal_default(param.default) or ir.Ref(
                (f"{func.__name__}_{pname}_default",), param.default, param.default))
    if not all(plain_value(lw, a) for a in full):
        return None
    routine = lw.routines.get(func)
    if routine is None:
        name = re.sub(r"\W", "_", func.__name__.replace("<lambda>", "lambda"))
        routine = lw.routines[func] = subroutines.Subroutine(func, name)
        lower_subroutine(lw, routine)
    if not routine.usable:
        return None
    return lw.emit_call(ir.Ref((routine.name,), routine, routine), full, node=node,
                          target=lw.target_for(hint))


def plain_value(lw, atom) -> bool:
    """Can a helper's own IR take `atom` as an argument? Not a container lowering reads statically,
    nor a function or module (which the helper's body calls by name)."""
    if isinstance(atom, ir.Const):
        return True
    if not isinstance(atom, (ir.Var, ir.Ref)):
        return False  # a local function or partial (closures.py): inlined, so it is called in place
    if isinstance(atom, ir.Ref):
        return not (callable(atom.value) or inspect.ismodule(atom.value))
    probe, seen = atom, set()
    while isinstance(probe, ir.Var) and probe not in seen:
        seen.add(probe)
        if probe in lw.containers or probe in lw.packs or probe in lw.fields or probe in lw.frozen \
                or probe in lw.element_of or probe in lw.stand_ins:
            return False
        probe = lw.arg_inits.get(probe)
    return True


def _adds_into_a_parameter(sub, params: set) -> bool:
    """Does the helper apply ``y += v`` to (an alias of) a parameter, which NumPy does in the caller's
    array? Then it is inlined, where each call knows whether the caller reads that array again."""
    for stmt in ir.walk(sub.out):
        if isinstance(stmt, ir.Assign) and stmt.func.value is runtime.not_a_view:
            probe, seen = stmt.args[0], set()
            while isinstance(probe, ir.Var) and probe not in params and probe not in seen:
                seen.add(probe)
                probe = sub.arg_inits.get(probe)
            if probe in params:
                return True
    return False


def call_local_subroutine(caller, local, args, kwargs, node, hint):
    """``y = h(x)`` of a nested function `local` that is a subroutine (:mod:`nested_routines`) as one
    call ``y = h(W, x)`` passing its free names' values now; None when it is inlined instead."""
    if not isinstance(local, closures.LocalFunction) or local.scope is not None or "plan" not in caller.routines \
            or not nested_routines.wanted(local):
        return None
    free = nested_routines.free_names(local, caller.env, caller.local_names)
    sig = closures._signature(local)
    try:
        bound = sig.bind(*args, **dict(kwargs))
    except TypeError:
        return None  # inlining reports it
    full = [caller.env[name] for name in free or ()] + [
        bound.arguments[p] if p in bound.arguments else local.defaults[p] for p in sig.parameters]
    if free is None or not all(plain_value(caller, a) for a in full):
        return None
    routine = caller.routines.get(local.node)
    if routine is None:
        routine = caller.routines[local.node] = nested_routines.LocalSubroutine(local, local.node.name, free)
        parsed = dataclasses.replace(local.parsed, node=local.node)
        lower_subroutine(caller, routine, parsed, list(free) + list(sig.parameters),
                         nested_routines.recursive_call(local))
    if not routine.usable or routine.free != free:
        return None
    return caller.emit_call(ir.Ref((routine.name,), routine, routine), full, node=node, target=caller.target_for(hint))


def lower_subroutine(caller, routine, parsed=None, param_names=None, recursive_at=None) -> None:
    """Lower the helper of `routine` once, to its own IR (``routine.ir``), with every parameter a
    plain value. A helper returning a container, or writing into an argument, is inlined instead
    (``routine.usable = False``), unless it is recursive, which is then refused at the recursive call.
    A nested function (`call_local_subroutine`) comes `parsed`, with its `param_names` (free names
    first) and its recursive call if any (`recursive_at`)."""
    func = routine.func
    nested = parsed is not None
    if not nested:
        parsed = parse_function(func, caller.parsed.assumptions)
        caller.problems.extend(syntax_problems(parsed))
        param_names = list(signature(func).parameters)
    fdef = remove_early_exits(parsed)
    namer = Namer()
    params, env = [], {}
    for pname in param_names:
        params.append(ir.Param(namer.fresh(pname)))
        env[pname] = params[-1].var
    own = set(assigned_names(fdef.body)) | set(env)
    if nested:
        env[fdef.name] = func  # its recursive calls call the routine (`call_local_subroutine`)
        own.add(fdef.name)
    sub = type(caller)(parsed, namer, env, [], (), own,
                       problems=caller.problems, routines=caller.routines,
                       arguments=set(env.values()),  # lowered once for every call: any caller may read them again
                       name_reads=names_read(fdef.body))
    result = lower_statements.body_and_result(sub, fdef)
    fn = ir.verify_pass(ir.Function(
        name=routine.name, params=params, body=sub.out, result=result, filename=parsed.filename,
        firstline=parsed.line_offset + parsed.node.lineno, result_loc=sub.result_loc))
    why = "it returns a tuple, list or dict" if result in sub.containers or result in sub.packs \
        or result in sub.fields else "it changes an argument in place" if subroutines.changes_an_argument(fn) \
        or _adds_into_a_parameter(sub, {p.var for p in params}) else ""
    if not why:
        routine.ir = fn
        routine.returns_new_value = subroutines.returns_new_value(fn)
        return
    routine.usable = False  # inlined instead: the caller's lowering and analyses see what it does
    recursive = recursive_at is not None if nested else subroutines.calls_itself(caller.routines["calls"], func)
    if recursive and not any(isinstance(p, RecursionNotSupportedError) for p in caller.problems):  # once
        raise RecursionNotSupportedError(
            f"{func.__name__} is recursive, and s2sad makes a recursive function a generated function of its "
            f"own only when it takes and returns arrays or numbers and does not change its arguments; here {why}",
            parsed.location(recursive_at if nested else
                            subroutines.recursive_call(parsed, caller.routines["calls"], is_helper)),
            hint="return one array or number, change a copy of the argument, or rewrite the recursion as a loop")

