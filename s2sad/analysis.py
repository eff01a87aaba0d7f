"""Analyses of the IR: activity, and the safety of in-place updates.

*Activity*: a value is active when it depends on an input we differentiate
(it is *varied*) and some output depends on it (it is *useful*). Only active
values get adjoints or tangents; everything else is plain forward code.

*In-place updates*: ``x[i] = v`` is lowered to ``x_1 = setitem(x, i, v)`` and
generated as an in-place write. That is only faithful when the old ``x`` is
never read again by the program and when ``x`` is an array the function
created itself (not a parameter, nor a view of one). This module checks both
and says what to write instead.
"""

from __future__ import annotations

import operator

from . import ir, runtime
from .errors import InPlaceUpdateError
from .primitives import Attr, Method, identity, list_append, pack_list, pack_tuple, restore, setitem, unappend
from .rules import registry


def _differentiable(stmt: ir.Assign) -> bool:
    return not registry.is_nondifferentiable(stmt.func.value)


def varied_vars(fn: ir.Function, inputs) -> set:
    """Vars that depend (differentiably) on the Vars in `inputs`."""
    varied = set(inputs)

    def atom(a):
        return isinstance(a, ir.Var) and a in varied

    def block(stmts):
        changed = False
        for stmt in stmts:
            if isinstance(stmt, ir.Assign):
                if stmt.target not in varied and _differentiable(stmt) and any(map(atom, ir.uses(stmt))):
                    varied.add(stmt.target)
                    changed = True
            elif isinstance(stmt, ir.If):
                changed |= block(stmt.then_body) | block(stmt.else_body)
                for phi in stmt.phis:
                    if phi.target not in varied and (atom(phi.then_value) or atom(phi.else_value)):
                        varied.add(phi.target)
                        changed = True
            elif isinstance(stmt, (ir.For, ir.While)):
                while True:  # iterate to a fixpoint over the loop-carried values
                    inner = False
                    for c in stmt.carried:
                        if c.arg not in varied and (atom(c.init) or atom(c.next)):
                            varied.add(c.arg)
                            inner = True
                    if isinstance(stmt, ir.While):
                        inner |= block(stmt.cond_body)
                    inner |= block(stmt.body)
                    changed |= inner
                    if not inner:
                        break
                for c in stmt.carried:
                    if c.out not in varied and c.arg in varied:
                        varied.add(c.out)
                        changed = True
            elif isinstance(stmt, ir.Pop):
                pass
        return changed

    while block(fn.body):
        pass
    return varied


def useful_vars(fn: ir.Function, outputs) -> set:
    """Vars some Var in `outputs` depends on (differentiably)."""
    useful = {a for a in outputs if isinstance(a, ir.Var)}

    def mark(a):
        if isinstance(a, ir.Var) and a not in useful:
            useful.add(a)
            return True
        return False

    def block(stmts):
        changed = False
        for stmt in reversed(stmts):
            if isinstance(stmt, ir.Assign):
                if stmt.target in useful and _differentiable(stmt):
                    for a in ir.uses(stmt):
                        changed |= mark(a)
            elif isinstance(stmt, ir.If):
                for phi in stmt.phis:
                    if phi.target in useful:
                        changed |= mark(phi.then_value) | mark(phi.else_value)
                changed |= block(stmt.then_body) | block(stmt.else_body)
            elif isinstance(stmt, (ir.For, ir.While)):
                while True:
                    inner = False
                    for c in stmt.carried:
                        if c.out in useful or c.arg in useful:
                            inner |= mark(c.next) | mark(c.init) | mark(c.arg)
                    inner |= block(stmt.body)
                    if isinstance(stmt, ir.While):
                        inner |= block(stmt.cond_body)
                    changed |= inner
                    if not inner:
                        break
        return changed

    while block(fn.body):
        pass
    return useful


def active_vars(fn: ir.Function, inputs, outputs) -> set:
    """Vars that are both varied by `inputs` and useful to `outputs`."""
    return varied_vars(fn, inputs) & useful_vars(fn, outputs)


# ----------------------------------------------------------- in-place updates

# Calls whose result is a new array that no other name refers to.
_FRESH_METHODS = {"copy", "astype", "sum", "mean", "dot", "cumsum", "cumprod", "prod", "std", "var", "round", "clip"}
_ALIASING_PRIMITIVES = (operator.getitem,)


def _is_fresh_call(stmt: ir.Assign) -> bool:
    func = stmt.func.value
    if func is setitem or func is identity or func in _ALIASING_PRIMITIVES or func is pack_tuple:
        return False
    if isinstance(func, Attr):
        return False
    if isinstance(func, Method):
        return func.name in _FRESH_METHODS
    if func is pack_list:
        return True
    module = getattr(func, "__module__", None) or ""
    name = getattr(func, "__name__", "")
    if module == "_operator" or module == "operator":
        return True  # arithmetic always makes a new array
    if module.startswith("numpy"):
        # NumPy functions that may return a view of their argument
        return name not in {
            "reshape", "ravel", "transpose", "swapaxes", "moveaxis", "squeeze", "expand_dims", "diagonal",
            "asarray", "asanyarray", "atleast_1d", "atleast_2d", "atleast_3d", "broadcast_to", "real", "imag",
            "flip", "fliplr", "flipud", "rot90", "split", "array_split", "hsplit", "vsplit",
        }
    return False


def check_inplace_updates(fn: ir.Function) -> None:
    """Raise InPlaceUpdateError where ``x[i] = v`` would be unfaithful.

    The base of every update must be an array the function created (or an
    update, loop value or branch value of one), and no name may read the old
    version after the update.
    """
    producers: dict = {}
    carried_of: dict = {}
    phi_of: dict = {}
    params = {p.var for p in fn.params}
    for stmt in ir.walk(fn.body):
        if isinstance(stmt, ir.Assign):
            producers[stmt.target] = stmt
        elif isinstance(stmt, (ir.For, ir.While)):
            for c in stmt.carried:
                carried_of[c.arg] = c
                carried_of[c.out] = c
        elif isinstance(stmt, ir.If):
            for phi in stmt.phis:
                phi_of[phi.target] = phi

    def owned(atom, seen=frozenset()) -> bool:
        if not isinstance(atom, ir.Var) or atom in seen:
            return isinstance(atom, ir.Var)  # a cycle through a loop: judged by the other edges
        seen = seen | {atom}
        if atom in params:
            return False
        if atom in producers:
            stmt = producers[atom]
            if stmt.func.value is setitem or stmt.func.value is list_append:
                return owned(stmt.args[0], seen)
            return _is_fresh_call(stmt)
        if atom in carried_of:
            c = carried_of[atom]
            return owned(c.init, seen) and owned(c.next, seen)
        if atom in phi_of:
            phi = phi_of[atom]
            return all(owned(v, seen) for v in (phi.then_value, phi.else_value) if isinstance(v, ir.Var))
        return False

    # positions in program order, to find reads of an old version after an update
    order: dict = {}
    reads: dict = {}
    position = 0

    # each read is recorded with the branches it sits in, as ((id(if), side), ...):
    # a read on the other side of an `if` from an update never sees it
    paths: dict = {}

    def visit(stmts, path=()):
        nonlocal position
        for stmt in stmts:
            position += 1
            here = position
            for a in ir.uses(stmt):
                if isinstance(a, ir.Var):
                    reads.setdefault(a, []).append((here, stmt, path))
            if isinstance(stmt, ir.Assign):
                order[stmt] = here
                paths[stmt] = path
            if isinstance(stmt, ir.If):
                visit(stmt.then_body, path + ((id(stmt), "then"),))
                then_end = position
                visit(stmt.else_body, path + ((id(stmt), "else"),))
                for phi in stmt.phis:
                    if isinstance(phi.then_value, ir.Var):
                        reads.setdefault(phi.then_value, []).append((then_end, stmt, path + ((id(stmt), "then"),)))
                    if isinstance(phi.else_value, ir.Var):
                        reads.setdefault(phi.else_value, []).append((position, stmt, path + ((id(stmt), "else"),)))
                continue
            for child in ir.child_blocks(stmt):
                visit(child, path)
            if isinstance(stmt, (ir.For, ir.While)):
                for c in stmt.carried:
                    if isinstance(c.next, ir.Var):
                        reads.setdefault(c.next, []).append((position, stmt, path))

    def exclusive(a, b) -> bool:
        sides = dict(a)
        return any(key in sides and sides[key] != side for key, side in b)

    visit(fn.body)
    for stmt in ir.walk(fn.body):
        if not (isinstance(stmt, ir.Assign) and stmt.func.value in (setitem, list_append)):
            continue
        base = stmt.args[0]
        if not owned(base):
            name = base.base if isinstance(base, ir.Var) else repr(base)
            raise InPlaceUpdateError(
                f"{name!r} may share its data with a parameter or another array, so updating it in place "
                "would change values s2sad must keep",
                stmt.loc,
                hint=f"make it a new array first, e.g. {name} = {name}.copy() or np.zeros(...)",
            )
        later = [
            s for pos, s, path in reads.get(base, [])
            if pos > order[stmt] and s is not stmt and not exclusive(path, paths[stmt])
        ]
        if later:
            name = base.base if isinstance(base, ir.Var) else repr(base)
            raise InPlaceUpdateError(
                f"another name still refers to {name!r} after this in-place update, and would see it change",
                stmt.loc,
                hint=f"copy before updating if you need the old values: {name}_old = {name}.copy()",
            )


# ----------------------------------------------------------- shared buffers

_VIEW_METHODS = {"reshape", "ravel", "transpose", "swapaxes", "squeeze", "diagonal", "view"}
_VIEW_FUNCTIONS = {"reshape", "ravel", "transpose", "swapaxes", "squeeze", "expand_dims", "moveaxis", "asarray"}


def buffer_chains(fn: ir.Function, views: bool = True):
    """Group values that may be one NumPy buffer: in-place updates and their bases,
    copies, loop-carried values and branch joins (and, with `views`, slices,
    transposes and reshapes of a value).

    Returns:
        ``find(var)``: the representative of var's group (union-find).
    """
    parent: dict = {}

    def find(v):
        parent.setdefault(v, v)
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    def union(a, b):
        if isinstance(a, ir.Var) and isinstance(b, ir.Var):
            parent[find(a)] = find(b)

    for stmt in ir.walk(fn.body):
        if isinstance(stmt, ir.Assign):
            func = stmt.func.value
            in_place = func in (setitem, runtime.add_at, restore, identity, list_append, unappend)
            is_view = views and (
                func is operator.getitem
                or isinstance(func, Attr)
                or (isinstance(func, Method) and func.name in _VIEW_METHODS)
                or (getattr(func, "__module__", "") == "numpy" and getattr(func, "__name__", "") in _VIEW_FUNCTIONS)
            )
            if (in_place or is_view) and stmt.args:
                union(stmt.target, stmt.args[0])
        elif isinstance(stmt, (ir.For, ir.While)):
            for c in stmt.carried:
                for v in (c.init, c.next, c.out):
                    union(c.arg, v)
        elif isinstance(stmt, ir.If):
            for phi in stmt.phis:
                union(phi.target, phi.then_value)
                union(phi.target, phi.else_value)
    return find
