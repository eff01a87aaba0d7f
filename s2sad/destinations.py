"""Stores of a differentiated value into an array that rounds it.

``x[i] = v`` converts `v` to x's dtype, and so does every writing call lowered
to it (``x.fill(v)``, ``np.copyto``, ``np.put``, ``np.add.at``, ``out=x``). Into an
integer or boolean array that conversion is rounding, a step function: its
derivative is 0 where it exists, so the identity adjoint ``v_bar = x_bar[i]``
would be a wrong gradient. Into float32 or float16 it is the identity up to
rounding, and the derivative passes through unchanged.

Most dtypes are known only at run time, so before such a store the forward
sweep calls ``float_destination(x, where)``, which raises NotImplementedError for
an integer or boolean `x` (the failure path turns that into a NoDerivativeError
at the user's line). The check is left out where the array is certainly float
or a list: made by ``np.zeros``/``np.ones``/``np.empty`` without an integer dtype,
with a float ``dtype=`` or ``.astype(float)``, by a list display, a differentiated
argument (the API makes those float), or copied (``.copy()``, ``np.zeros_like``)
from such an array.
"""

from __future__ import annotations

import copy

import numpy as np

from . import ir, runtime
from .analysis import buffer_chains
from .primitives import Method, identity, list_append, pack_list, restore, setitem, unappend

FLOAT_DESTINATION = ir.Ref(("float_destination",), runtime.float_destination)

_SAME_BUFFER = (setitem, list_append, unappend, identity, restore, runtime.add_at, runtime.zero_in_place)
_ALLOCATORS = (np.zeros, np.ones, np.empty)
_COPIES = (np.copy, np.array, np.asarray)
_LIKE_ALLOCATORS = (np.zeros_like, np.ones_like, np.empty_like)
_FLOAT_DTYPES = (float, np.float64, np.float32, np.float16, "float", "float64", "float32", "d", "f")


def guard_float_destinations(fn: ir.Function, active) -> ir.Function:
    """`fn` with ``float_destination(x, where)`` before each store of an `active` value into an
    array `x` that may hold integers or booleans (see the module docstring).

    Args:
        fn: the primal IR (after ``guard_inplace_updates``).
        active: the Vars that get adjoints (or tangents).

    Returns:
        `fn` itself when no store needs the check, else a copy with the checks inserted.
    """
    stores = [s for s in ir.walk(fn.body) if isinstance(s, ir.Assign) and s.func.value is setitem
              and len(s.args) == 3 and isinstance(s.args[2], ir.Var) and s.args[2] in active]
    if not stores:
        return fn
    is_float = _certainly_float(fn, {p.var for p in fn.params if p.var in active})
    checked = {id(s) for s in stores if not is_float(s.args[0])}
    if not checked:
        return fn
    # after `reverse`, adjoints of temporaries are named like them (t4 for the adjoint of t2)
    names = [v.name for v in ir.all_defs(fn.body)] + [p.var.name for p in fn.params]
    counter = [max((int(n[1:]) for n in names if n[:1] == "t" and n[1:].isdigit()), default=0)]

    def block(stmts):
        out = []
        for stmt in stmts:
            if not isinstance(stmt, ir.Assign) and ir.child_blocks(stmt):
                stmt = copy.copy(stmt)  # `fn`'s own statements stay as they are
                for attr in ("then_body", "else_body", "body", "cond_body"):
                    child = getattr(stmt, attr, None)
                    if isinstance(child, list):
                        setattr(stmt, attr, block(child))
            if id(stmt) in checked:
                counter[0] += 1
                text = stmt.loc.text.strip() if stmt.loc is not None else ""
                where = ir.Const(f"line {stmt.loc.line if stmt.loc else '?'}: {text}")
                out.append(ir.Assign(ir.Var(f"t{counter[0]}", "t"), FLOAT_DESTINATION, [stmt.args[0], where], [],
                                     stmt.loc))
            out.append(stmt)
        return out

    body = block(fn.body)
    return ir.verify_pass(ir.Function(fn.name, list(fn.params), body, fn.result, fn.filename, fn.firstline, fn.doc,
                                 dict(fn.exports), fn.result_loc))


def _certainly_float(fn: ir.Function, differentiated: set):
    """``is_float(var)``: is every buffer `var` may be (its in-place versions, loop-carried values,
    branch joins) made where its dtype is certainly a float one, or a list? The `differentiated`
    parameters are: the API makes a differentiated integer argument float before the call."""
    find = buffer_chains(fn, views=False)
    producer = {s.target: s for s in ir.walk(fn.body) if isinstance(s, ir.Assign)}
    # what starts a buffer: a parameter or a call; not an update, a copy of a name (`y = x`), a
    # phi or a loop-carried value, which join the groups of the buffers they may be
    made: dict = {}
    for v in [p.var for p in fn.params] + [v for v, s in producer.items() if s.func.value not in _SAME_BUFFER]:
        made.setdefault(find(v), []).append(v)
    memo: dict = {}

    def is_float(var) -> bool:
        if not isinstance(var, ir.Var):
            return False
        group = find(var)
        if group not in memo:
            memo[group] = False  # while deciding: a buffer copied from itself (in a loop) proves nothing
            memo[group] = all(v in differentiated or _makes_float(producer.get(v), is_float)
                              for v in made.get(group, [var]))
        return memo[group]

    return is_float


def _makes_float(stmt, is_float) -> bool:
    if stmt is None:
        return False  # a parameter: any dtype
    func, kwargs = stmt.func.value, dict(stmt.kwargs)
    if func is pack_list:
        return True  # a list holds Python numbers unchanged
    if func in _ALLOCATORS:
        dtype = kwargs.get("dtype", stmt.args[1] if len(stmt.args) > 1 else None)
        return dtype is None or _is_float_dtype(dtype)
    copies = (isinstance(func, Method) and func.name == "copy") or func in _COPIES + _LIKE_ALLOCATORS
    if copies and stmt.args and "dtype" in kwargs:
        return _is_float_dtype(kwargs["dtype"])
    if copies and stmt.args and len(stmt.args) == 1:
        return is_float(stmt.args[0])  # a copy (or a zeros_like) has its argument's dtype
    if isinstance(func, Method) and func.name == "astype" and len(stmt.args) == 2:
        return _is_float_dtype(stmt.args[1])
    return False


def _is_float_dtype(atom) -> bool:
    value = atom.value if isinstance(atom, (ir.Const, ir.Ref)) else None
    try:
        return any(value is d or value == d for d in _FLOAT_DTYPES)
    except (TypeError, ValueError):
        return False
