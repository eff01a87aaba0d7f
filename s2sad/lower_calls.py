"""Lowering of calls: methods of local values, ``max``/``min``, ``dict(...)``, namedtuple classes,
generated functions, the user's own functions (:mod:`lower_inline`) and library calls (pure, or a
declared write: :mod:`lower_writes`)."""

from __future__ import annotations

import builtins
import functools

import gast
import numpy as np

from . import closures, ir, lower_builtins, lower_callables, lower_containers, lower_inline, lower_statements, lower_writes
from .errors import InPlaceUpdateError, UnsupportedSyntaxError
from .generated_ir import splice_call
from .lower_base import MUTATING_METHODS, has_any_rule, is_namedtuple_class, is_user_function
from .primitives import Method, list_append


def expr_Call(lw, node, hint):
    for arg in node.args:
        if isinstance(arg, gast.Starred):
            raise lw.error(UnsupportedSyntaxError, "s2sad cannot differentiate a call with *args", arg,
                             hint="pass the arguments one by one")
    if any(k.arg is None for k in node.keywords):
        raise lw.error(UnsupportedSyntaxError, "s2sad cannot differentiate a call with **kwargs", node,
                         hint="pass the keyword arguments one by one")
    func = node.func
    local = closures.callee_of(lw, func)
    if local is not None:  # a nested def, a lambda or a partial made in the function: inlined
        args = [closures.argument(lw, a, True) for a in node.args]
        kwargs = [(k.arg, closures.argument(lw, k.value, True)) for k in node.keywords]
        called = lower_inline.call_local_subroutine(lw, local, args, kwargs, node, hint)
        return called if called is not None else closures.call(lw, local, args, kwargs, node, hint)
    if isinstance(func, gast.Attribute):
        base = lw.expr(func.value)
        if not isinstance(base, ir.Ref):  # a method of a local value
            if isinstance(base, ir.Var) and base in lw.fields and base not in lw.packs \
                    and func.attr not in MUTATING_METHODS and not node.keywords:
                return lower_containers.dict_method(lw, base, func.attr, [lw.expr(a) for a in node.args], node, hint)
            if func.attr in MUTATING_METHODS:
                lower_containers.refuse_write(lw, base, None, node)
            if func.attr == "append" and isinstance(func.value, gast.Name) and func.value.id in lw.env \
                    and len(node.args) == 1 and not node.keywords:
                # items.append(v) binds a new version of `items` (the same list, one longer)
                value = lw.expr(node.args[0])
                lw.contained.add(value)
                updated = lw.emit_call(list_append, [base, value], node=node,
                                         target=lw.namer.fresh(func.value.id))
                lw.env[func.value.id] = updated
                return ir.Const(None)
            if func.attr in MUTATING_METHODS and lower_writes.method_declaration(func.attr) is None:
                raise lw.error(
                    InPlaceUpdateError,
                    f"the method .{func.attr}() changes its object in place, which s2sad does not differentiate",
                    node,
                    hint="build a new value instead (e.g. np.sort(x), or collect values with "
                    "out = [] and out.append(...) on a local list)",
                )
            args = [base] + [lw.expr(a) for a in node.args]
            kwargs = [(k.arg, lw.expr(k.value)) for k in node.keywords]
            return library_call(lw, ir.prim(Method(func.attr)), args, kwargs, node, hint)
        callee = lower_containers.expr_Attribute(lw, func, None)
        owner = getattr(getattr(callee, "value", None), "__self__", None)
        if func.attr in MUTATING_METHODS and isinstance(owner, (list, dict, set, bytearray)):
            # LOG.append(v) on a global list: later reads of LOG are constants to s2sad
            raise lw.error(InPlaceUpdateError, f"the method .{func.attr}() changes a {type(owner).__name__} "
                             "outside the function in place, which s2sad does not follow", node,
                             hint="collect the values in a local list (out = []; out.append(...)) and "
                             "return it, or pass the list in as an argument")
    else:  # LAYERS[0](x), ACTS["relu"](x): the function the container holds (lower_callables)
        callee = lower_callables.called_item(lw, func) or lw.expr(func)
    if isinstance(callee, ir.Var) and callee in lw.stand_ins:
        return lower_statements.placeholder(lw, hint, node)  # calls what refused code defined: reported there
    if not isinstance(callee, ir.Ref):
        raise lw.error(
            UnsupportedSyntaxError,
            "s2sad cannot tell which function is called here (it is a local value)",
            node,
            hint="call the function by its module-level name (a loop over a list, tuple or dict of functions "
            "that is module-level or never changed, with no break, is unrolled)",
        )
    obj = callee.value
    if not callable(obj):  # count = [1.0]; count(x): Python's TypeError, said before s2sad trips on it
        raise lw.error(UnsupportedSyntaxError, f"{callee.dotted} is a {type(obj).__name__}, not a function: "
                       "calling it raises TypeError", node, hint="index it or call a function instead")
    if obj in (builtins.max, builtins.min) and not node.keywords:
        return extremum(lw, obj, node, hint)
    rewritten = lower_builtins.lower_builtin(lw, obj, node, hint)  # reversed, divmod, map, list, sorted
    if rewritten is not None:
        return rewritten
    inlined = is_user_function(getattr(obj, "__s2sad_function__", obj)) and not has_any_rule(obj)
    args = [closures.argument(lw, a, inlined) for a in node.args]  # an inlined helper may take a closure
    kwargs = [(k.arg, closures.argument(lw, k.value, inlined)) for k in node.keywords]
    if obj is dict and (not args or (len(args) == 1 and isinstance(args[0], ir.Var) and args[0] in lw.fields
                                     and args[0] not in lw.packs)):
        return lower_containers.dict_call(lw, args, kwargs, node, hint)
    if is_namedtuple_class(obj):
        return lower_containers.make_namedtuple(lw, obj, args, kwargs, node, hint)
    return call_ref(lw, callee, args, kwargs, node, hint)


def call_ref(lw, callee, args, kwargs, node, hint):
    """A call of the function `callee` (an ``ir.Ref``) with argument atoms: the user's own functions
    are inlined, a ``functools.partial`` object opened (`closures`), the rest are library calls."""
    obj = callee.value
    if isinstance(obj, functools.partial):
        return closures.call(lw, callee, args, kwargs, node, hint)
    if getattr(obj, "__s2sad_function__", None) is not None and not has_any_rule(obj):
        obj = obj.__s2sad_function__  # a @differentiate function: read the function inside
    if is_user_function(obj) and not has_any_rule(obj):
        return lower_inline.inline(lw, obj, args, kwargs, node, hint)
    if getattr(type(obj), "s2sad_generated", False):  # generated code: a renamed copy of its IR
        program = obj.program_for_calls(lw.parsed.assumptions, lw.loc(node))
        return splice_call(program, args, kwargs, lw.namer, lw.out, lw.loc(node))
    return library_call(lw, callee, args, kwargs, node, hint)


def library_call(lw, callee, args, kwargs, node, hint):
    """A call to a function s2sad does not read: pure, or a declared write (lower_writes)."""
    what = f".{callee.value.name}()" if isinstance(callee.value, Method) else f"{callee.dotted}()"
    declared = lower_writes.declaration(callee, args, kwargs, node)
    if declared is not None:
        decl, key, full_args, arg_nodes = declared
        written = lower_writes.lower_declared(lw, decl, key, full_args, kwargs, arg_nodes, node, what)
        if written is not None:
            return written
    if lower_writes.out_argument(callee, args, kwargs) is not None:
        return lower_writes.lower_out_call(lw, callee, args, kwargs, node, hint, what)
    return lw.emit_call(callee, args, kwargs, node, lw.target_for(hint))


def extremum(lw, func, node, hint):
    """``max(a, b, c)`` is ``max(max(a, b), c)``; ``max([a, b])`` and ``max((a, b))`` likewise;
    ``max(x)`` of one array or list is ``np.max(x)`` (the largest element)."""
    items = node.args
    if len(items) == 1 and isinstance(items[0], (gast.List, gast.Tuple)):
        items = items[0].elts
    if len(items) == 1:
        value = lw.expr(items[0])
        reduce = np.max if func is builtins.max else np.min
        return lw.emit_call(ir.Ref(("np", reduce.__name__), reduce, np), [value], node=node,
                              target=lw.target_for(hint))
    if not items:
        raise lw.error(UnsupportedSyntaxError, f"{func.__name__}() needs at least one argument", node)
    ref = ir.Ref((func.__name__,), func)
    result = lw.expr(items[0])
    for k, item in enumerate(items[1:]):
        last = k == len(items) - 2
        result = lw.emit_call(ref, [result, lw.expr(item)], node=node,
                                target=lw.target_for(hint) if last else None)
    return result

