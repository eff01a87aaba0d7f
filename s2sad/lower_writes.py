"""Lowering of calls that write into an argument: ``out=``, ``np.copyto``, ``x.sort()``, ...

SSA has no way to say "this call changed ``y``", so a writing call is lowered as
an in-place update of the written array, the same statement ``y[i] = v`` becomes:
``y_1 = setitem(y, ..., value)`` with ``value`` a pure function of the
arguments. Then ``y_1`` is a new version of ``y`` (the same buffer), and the
machinery that already makes ``y[i] = v`` exact applies unchanged: the
reverse sweep saves and restores what the write overwrote, the alias checks
refuse a view that would see the write, and dead-code removal never drops it.

The rewrites (``how`` in the declaration, see ``rules/writes.py``):

* ``f(..., out=y)``          ->  ``y[...] = f(...)``; the call's value is ``y`` itself
* ``np.copyto(y, x)``        ->  ``y[...] = x``  (``where=m``: ``np.where(m, x, y)``)
* ``y.fill(v)``              ->  ``y[...] = v``
* ``y.sort(axis)``           ->  ``y[...] = np.sort(y, axis)`` (a permutation)
* ``np.add.at(y, i, b)``     ->  ``y[...] = y + scatter_add(b, y, i)`` (``subtract.at``: ``-``)
* ``np.put(y, i, v)``        ->  ``y[put_index(y, i)] = ravel(v)[put_source(y, i, v)]``

Every other declared writer is refused here, with the file, line and a hint.
These are plain functions of the lowerer that is walking the function (``lw``).
"""

from __future__ import annotations

import inspect
import operator

import gast
import numpy as np

from . import ir, runtime
from .errors import WritingCallError
from .primitives import Attr, Method, module_name, setitem
from .rules import registry

NP_SORT = ir.Ref(("np", "sort"), np.sort, np)
NP_WHERE = ir.Ref(("np", "where"), np.where, np)
NP_RAVEL = ir.Ref(("np", "ravel"), np.ravel, np)
SCATTER_ADD = ir.Ref(("scatter_add",), runtime.scatter_add)
PUT_INDEX = ir.Ref(("put_index",), runtime.put_index)
PUT_SOURCE = ir.Ref(("put_source",), runtime.put_source)
_EVERYTHING = ir.Const(Ellipsis)

# Attribute names under which a call may write into a local name: used before the
# callee is resolved, to know which names a loop body rebinds (see `written_names`).
_WRITING_NAMES = {"copyto", "put", "putmask", "place", "fill_diagonal", "put_along_axis", "at", "shuffle",
                  "nan_to_num", "fill", "sort", "partition", "resize", "itemset", "setfield", "byteswap"}
_WRITING_NAMES |= {f"{op}{name}{end}" for name in ("iadd", "isub", "imul", "itruediv", "ifloordiv", "imod", "ipow",
                                                  "imatmul", "iand", "ior", "ixor", "ilshift", "irshift", "setitem",
                                                  "delitem") for op, end in (("", ""), ("__", "__"))}


# Calls whose result may share memory with their first argument: ``v op= w`` on such a result
# writes into that array too (NumPy), which the lowering of ``v = v op w`` does not show.
_VIEW_METHODS = {"reshape", "ravel", "transpose", "swapaxes", "squeeze", "diagonal", "view"}
_VIEW_FUNCTIONS = {"reshape", "ravel", "transpose", "swapaxes", "squeeze", "expand_dims", "moveaxis", "asarray",
                   "asanyarray", "diagonal", "flip", "fliplr", "flipud", "rot90", "atleast_1d", "atleast_2d",
                   "atleast_3d", "broadcast_to", "real", "imag", "matrix_transpose", "permute_dims"}


def may_view(func) -> bool:
    """May ``func(a, ...)`` return a view of `a` (``a[1:3]``, ``a.T``, ``a.reshape(...)``)?"""
    if func is operator.getitem or isinstance(func, Attr):
        return True
    if isinstance(func, Method):
        return func.name in _VIEW_METHODS
    return module_name(func).startswith("numpy") and \
        getattr(func, "__name__", "") in _VIEW_FUNCTIONS


def written_names(call: gast.Call, local_names) -> list:
    """Local names `call` may write into, judged from its spelling alone (``out=y``,
    ``np.copyto(y, ...)``, ``y.sort()``): a loop whose body has the call carries them."""
    found = []

    def add(node):
        if isinstance(node, (gast.Tuple, gast.List)):
            for elt in node.elts:
                add(elt)
        elif isinstance(node, gast.Name) and node.id in local_names:
            found.append(node.id)

    for k in call.keywords:
        if k.arg == "out":
            add(k.value)
    func = call.func
    name = func.attr if isinstance(func, gast.Attribute) else getattr(func, "id", "")
    if name in _WRITING_NAMES:
        if isinstance(func, gast.Attribute):
            add(func.value)
        for a in call.args:
            add(a)
    return found


def declaration(callee: ir.Ref, args: list, kwargs: list, node: gast.Call):
    """The write declaration of a call to a resolved callee, as ``(decl, key, args, arg_nodes)``.

    A bound method of an array or a generator (``G.sort()``, ``np.random.shuffle``)
    is looked up as a method, with its receiver as argument 0. Returns None when
    the call writes nothing (``out=`` is checked separately).
    """
    obj = callee.value
    decl = registry.writes_of(obj)
    if decl is None:
        return None
    arg_nodes = list(node.args)
    owner = getattr(obj, "__self__", None)
    if owner is not None and not isinstance(owner, type(np)) and registry.WRITES.get(obj) is None:
        receiver = ir.Ref(callee.path[:-1], owner, callee.root)
        args = [receiver] + list(args)
        arg_nodes = [node.func.value if isinstance(node.func, gast.Attribute) else None] + arg_nodes
        key = Method("ufunc.at") if isinstance(owner, np.ufunc) else Method(getattr(obj, "__name__", ""))
    else:
        key = obj
        if isinstance(obj, Method):  # x.sort(): the receiver is argument 0
            arg_nodes = [node.func.value] + arg_nodes
    return decl, key, args, arg_nodes


def method_declaration(name: str):
    """The write declaration of ``x.<name>(...)`` on a local value, or None."""
    return registry.writes_of(Method(name))


def _argument(decl_param, args, kwargs, arg_nodes, keyword_nodes):
    """The atom and gast node passed for parameter ``(position, name)``, or (None, None)."""
    pos, name = decl_param
    if pos < len(args):
        return args[pos], arg_nodes[pos] if pos < len(arg_nodes) else None
    for (k, a) in kwargs:
        if k == name:
            return a, keyword_nodes.get(k)
    return None, None


def _flag_writes(decl, args, kwargs) -> bool:
    """Does the call write, for a declaration that writes only when a flag is set?"""
    if decl.when is None:
        return True
    pos, name, value = decl.when
    flag, _ = _argument((pos, name), args, kwargs, [], {})
    if flag is None:
        return False  # the default does not write
    if isinstance(flag, ir.Const):
        return bool(flag.value) == value
    return True  # only the run time knows: treat as writing


def _refuse(lw, node, what, hint):
    raise lw.error(WritingCallError, f"{what} writes into its argument in place, which s2sad does not differentiate",
                   node, hint=hint or "compute a new array and assign it to a name instead")


def _local_target(lw, target_node, node, what) -> str:
    """The local name a writing call writes into; refuses anything else (a global, an expression)."""
    if isinstance(target_node, (gast.Tuple, gast.List)) and len(target_node.elts) == 1:
        target_node = target_node.elts[0]
    if not isinstance(target_node, gast.Name):
        raise lw.error(WritingCallError, f"{what} writes into an expression, not into a local array by name", node,
                       hint="write into a local array: y = np.zeros(...); then pass y")
    if target_node.id not in lw.env:
        raise lw.error(WritingCallError,
                       f"{what} writes into {target_node.id!r}, which is not a local variable: it would change "
                       "data outside the function", node,
                       hint=f"make a local copy first: {target_node.id} = {target_node.id}.copy()")
    return target_node.id


def _bound_to_a_list(lw, name) -> bool:
    """Is `name` assigned a list anywhere in the function (``lst = [...]``, ``list(...)``)?
    Then ``name.sort()`` is ``list.sort``, which the array rewrites do not model."""
    for n in gast.walk(lw.parsed.node):
        if isinstance(n, gast.Assign) and any(isinstance(t, gast.Name) and t.id == name for t in n.targets):
            value = n.value
            if isinstance(value, (gast.List, gast.ListComp)) or (
                    isinstance(value, gast.Call) and isinstance(value.func, gast.Name) and value.func.id == "list"):
                return True
    return False


def _update(lw, name, value, node, index=_EVERYTHING):
    """``name[index] = value`` as a new SSA version of `name`."""
    updated = lw.emit_call(setitem, [lw.env[name], index, value], node=node, target=lw.namer.fresh(name))
    lw.env[name] = updated
    return updated


def lower_declared(lw, decl, key, args, kwargs, arg_nodes, node, what):
    """Lower a call to a declared writer: a rewrite as an in-place update, or a refusal.

    Returns:
        The atom the call expression evaluates to, or None when this call does not
        write after all (a flag such as ``inplace=False``): the caller lowers it as usual.
    """
    if not _flag_writes(decl, args, kwargs):
        return None
    keyword_nodes = {k.arg: k.value for k in node.keywords}
    if not decl.how:
        _refuse(lw, node, what, decl.hint)
    if decl.how == "ufunc_at":
        return _ufunc_at(lw, node, what, args, kwargs, arg_nodes, keyword_nodes, decl)
    _, target_node = _argument(decl.param, args, kwargs, arg_nodes, keyword_nodes)
    name = _local_target(lw, target_node, node, what)
    if isinstance(key, Method) and _bound_to_a_list(lw, name):
        raise lw.error(WritingCallError, f"the list method {what} changes the list in place, which s2sad does "
                       "not differentiate", node, hint=f"build a new list instead, e.g. {name} = sorted({name})")
    current = lw.env[name]
    if decl.how == "copyto":
        src, _ = _argument((1, "src"), args, kwargs, arg_nodes, keyword_nodes)
        where, _ = _argument((3, "where"), args, kwargs, arg_nodes, keyword_nodes)
        if src is None:
            _refuse(lw, node, what, "pass the source: np.copyto(dst, src)")
        value = src
        if where is not None and not (isinstance(where, ir.Const) and where.value is True):
            # copyto with where=m keeps dst where m is false: dst = where(m, src, dst)
            value = lw.emit_call(NP_WHERE, [where, src, current], node=node)
        _update(lw, name, value, node)
        return ir.Const(None)
    if decl.how == "fill":
        if len(args) != 2 or kwargs:
            _refuse(lw, node, what, "call x.fill(value) with one argument")
        _update(lw, name, args[1], node)
        return ir.Const(None)
    if decl.how == "sort":
        # an in-place sort is the permutation np.sort applies: its adjoint scatters back by argsort
        names = ("axis", "kind", "order")
        sort_kwargs = [(k, a) for k, a in zip(names, args[1:])] + [(k, a) for k, a in kwargs]
        value = lw.emit_call(NP_SORT, [current], sort_kwargs, node=node)
        _update(lw, name, value, node)
        return ir.Const(None)
    if decl.how == "put":
        ind, _ = _argument((1, "ind"), args, kwargs, arg_nodes, keyword_nodes)
        if ind is None:
            ind, _ = _argument((1, "indices"), args, kwargs, arg_nodes, keyword_nodes)
        values, _ = _argument((2, "v"), args, kwargs, arg_nodes, keyword_nodes)
        if values is None:
            values, _ = _argument((2, "values"), args, kwargs, arg_nodes, keyword_nodes)
        mode, _ = _argument((3, "mode"), args, kwargs, arg_nodes, keyword_nodes)
        if ind is None or values is None:
            _refuse(lw, node, what, "pass the indices and the values: np.put(a, ind, v)")
        mode = mode if mode is not None else ir.Const("raise")
        # put writes v cyclically at the flat positions ind; where a position repeats, the last write wins
        index = lw.emit_call(PUT_INDEX, [current, ind, mode], node=node)
        source = lw.emit_call(PUT_SOURCE, [current, ind, values, mode], node=node)
        flat = lw.emit_call(NP_RAVEL, [values], node=node)
        picked = lw.emit_call(operator.getitem, [flat, source], node=node)
        _update(lw, name, picked, node, index)
        return ir.Const(None)
    _refuse(lw, node, what, decl.hint)  # pragma: no cover - every `how` is handled above


def _ufunc_at(lw, node, what, args, kwargs, arg_nodes, keyword_nodes, decl):
    """``np.add.at(a, i, b)``: ``a[...] = a + scatter_add(b, a, i)`` (repeated indices add up);
    ``np.subtract.at`` subtracts. Other ufuncs are refused."""
    ufunc = args[0].value if isinstance(args[0], ir.Ref) else None
    if ufunc not in (np.add, np.subtract) or len(args) != 4 or kwargs:
        _refuse(lw, node, what, "only np.add.at(a, i, b) and np.subtract.at(a, i, b) are differentiated; "
                + decl.hint)
    _, a, index, b = args
    name = _local_target(lw, arg_nodes[1], node, what)
    added = lw.emit_call(SCATTER_ADD, [b, lw.env[name], index], node=node)
    op = operator.add if ufunc is np.add else operator.sub
    value = lw.emit_call(op, [lw.env[name], added], node=node)
    _update(lw, name, value, node)
    return ir.Const(None)


# The position of `out` (after the receiver, for methods) in NumPy builtins that older NumPy
# releases give no signature, so that an output passed by position is never missed.
_FUNCTION_OUT = {"dot": 2, "concatenate": 2}  # np.dot(a, b, out), np.concatenate(arrays, axis, out)
_METHOD_OUT = {
    "dot": 1, "sum": 2, "prod": 2, "mean": 2, "std": 2, "var": 2, "cumsum": 2, "cumprod": 2, "clip": 2, "take": 2,
    "compress": 2, "max": 1, "min": 1, "argmax": 1, "argmin": 1, "all": 1, "any": 1, "round": 1, "choose": 1,
    "trace": 4,
}


def _signature(obj):
    return inspect.signature(obj)


def out_argument(callee: ir.Ref, args: list, kwargs: list):
    """Where a call to a library function writes its result: the ``out=`` keyword's atom, or
    ``"positional"`` for an output passed by position (refused), or None."""
    obj = callee.value
    if module_name(obj).startswith("s2sad") and not isinstance(obj, Method):
        return None  # s2sad's own helpers never write into an `out` they are given
    for k, a in kwargs:
        if k == "out" and not (isinstance(a, ir.Const) and a.value is None):
            return a
    if isinstance(obj, Method):  # x.sum(0, None, y): bind like the ndarray method
        obj = getattr(np.ndarray, obj.name, None)
        args = args[1:]
    if isinstance(obj, np.ufunc):
        return "positional" if len(args) > obj.nin else None
    from_numpy = module_name(obj).startswith("numpy") \
        or getattr(obj, "__objclass__", None) is np.ndarray
    if not from_numpy:
        return None  # a parameter called `out` elsewhere need not be an output array
    try:
        bound = _signature(obj).bind_partial(*(args if getattr(obj, "__objclass__", None) is None
                                                      else [None] + list(args)))
        out = bound.arguments.get("out")
    except (TypeError, ValueError):  # no signature (NumPy < 2.4 builtins): where `out` sits, if known
        table = _METHOD_OUT if getattr(obj, "__objclass__", None) is np.ndarray else _FUNCTION_OUT
        position = table.get(getattr(obj, "__name__", ""))
        out = args[position] if position is not None and len(args) > position else None
    if out is None or (isinstance(out, ir.Const) and out.value is None):
        return None
    return "positional"


def lower_out_call(lw, callee, args, kwargs, node, hint, what):
    """``f(..., out=y)``: compute ``f(...)`` as a new array, then ``y[...] = it``; the call's
    value is the updated ``y`` (NumPy returns `out` itself)."""
    out_node = next((k.value for k in node.keywords if k.arg == "out"), None)
    if out_node is None:
        raise lw.error(WritingCallError, f"{what} writes its result into an array passed by position", node,
                       hint="pass the output by keyword (out=y), or assign the result: y[...] = f(...)")
    name = _local_target(lw, out_node, node, what)
    where = next((a for k, a in kwargs if k == "where"), None)
    is_ufunc = isinstance(callee.value, np.ufunc)
    pure_kwargs = [(k, a) for k, a in kwargs if k != "out" and not (is_ufunc and k == "where")]
    value = lw.emit_call(callee, args, pure_kwargs, node=node)
    if is_ufunc and where is not None and not (isinstance(where, ir.Const) and where.value is True):
        # a ufunc with where=m leaves out unchanged where m is false
        value = lw.emit_call(NP_WHERE, [where, value, lw.env[name]], node=node)
    return _update(lw, name, value, node)
