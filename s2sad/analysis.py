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
from dataclasses import dataclass, field

from . import ir, runtime
from .errors import InPlaceUpdateError, raise_problems
from .primitives import (Attr, Method, identity, list_append, module_name, pack_dict, pack_list, pack_namedtuple,
                         pack_tuple, restore, setitem, unappend)
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


def _no_copy(stmt: ir.Assign) -> bool:
    """``x.astype(t, copy=False)``, ``np.array(x, copy=False)``: may return `x` itself."""
    return any(k == "copy" and isinstance(a, ir.Const) and a.value is not True for k, a in stmt.kwargs)


def _is_fresh_call(stmt: ir.Assign) -> bool:
    func = stmt.func.value
    if _no_copy(stmt):
        return False
    if getattr(func, "returns_new_value", False) is True:  # a subroutine (s2sad/subroutines.py)
        return True
    if func is setitem or func is identity or func in _ALIASING_PRIMITIVES or func in (pack_tuple, pack_dict,
                                                                                          pack_namedtuple):
        return False
    if isinstance(func, Attr):
        return False
    if isinstance(func, Method):
        return func.name in _FRESH_METHODS
    if func is pack_list:
        return True
    module = module_name(func)
    name = getattr(func, "__name__", "")
    if module == "_operator" or module == "operator":
        return True  # arithmetic always makes a new array
    if module.startswith("numpy"):
        # NumPy functions that may return a view of their argument
        return name not in {
            "reshape", "ravel", "transpose", "swapaxes", "moveaxis", "squeeze", "expand_dims", "diagonal",
            "asarray", "asanyarray", "atleast_1d", "atleast_2d", "atleast_3d", "broadcast_to", "real", "imag",
            "flip", "fliplr", "flipud", "rot90", "split", "array_split", "hsplit", "vsplit", "real_if_close",
        }
    return False


def check_inplace_updates(fn: ir.Function) -> None:
    """Raise InPlaceUpdateError where ``x[i] = v`` would be unfaithful (all such updates listed in one
    UnsupportedCodeError when there are several; see :func:`inplace_problems`)."""
    raise_problems(inplace_problems(fn), fn.name, fn.filename)


def _owned(atom, producers, carried_of, phi_of, params, seen) -> bool:
    """Is `atom` an array the function made itself (or an update, loop value or branch value of one)?"""
    if not isinstance(atom, ir.Var) or atom in seen:
        return isinstance(atom, ir.Var)  # a cycle through a loop: judged by the other edges
    seen = seen | {atom}
    if atom in params:
        return False
    if atom in producers:
        stmt = producers[atom]
        if stmt.func.value is setitem or stmt.func.value is list_append:
            return _owned(stmt.args[0], producers, carried_of, phi_of, params, seen)
        return _is_fresh_call(stmt)
    if atom in carried_of:
        c = carried_of[atom]
        return _owned(c.init, producers, carried_of, phi_of, params, seen) \
            and _owned(c.next, producers, carried_of, phi_of, params, seen)
    if atom in phi_of:
        phi = phi_of[atom]
        return all(_owned(v, producers, carried_of, phi_of, params, seen)
                   for v in (phi.then_value, phi.else_value) if isinstance(v, ir.Var))
    return False


def inplace_problems(fn: ir.Function) -> list[InPlaceUpdateError]:
    """An InPlaceUpdateError for every ``x[i] = v`` that would be unfaithful, in program order.

    The base of every update must be an array the function created (or an
    update, loop value or branch value of one), and no name may read the old
    version after the update.
    """
    problems = []
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

    def owned(atom) -> bool:  # (module-level recursion: a closure calling itself is a reference cycle)
        return _owned(atom, producers, carried_of, phi_of, params, frozenset())

    trace = _program_order(fn)
    order, reads, paths = trace.position, trace.reads, trace.path_of

    for stmt in ir.walk(fn.body):
        if not (isinstance(stmt, ir.Assign) and stmt.func.value in (setitem, list_append)):
            continue
        base = stmt.args[0]
        if not owned(base):
            name = base.base if isinstance(base, ir.Var) else repr(base)
            problems.append(InPlaceUpdateError(
                f"{name!r} may share its data with a parameter or another array, so updating it in place "
                "would change values s2sad must keep",
                stmt.loc,
                hint=f"make it a new array first, e.g. {name} = {name}.copy() or np.zeros(...)",
            ))
            continue
        later = [
            s for pos, s, path in reads.get(base, [])
            if pos > order[stmt] and s is not stmt and not _exclusive(path, paths[stmt])
        ]
        if later:
            name = base.base if isinstance(base, ir.Var) else repr(base)
            problems.append(InPlaceUpdateError(
                f"another name still refers to {name!r} after this in-place update, and would see it change",
                stmt.loc,
                hint=f"copy before updating if you need the old values: {name}_old = {name}.copy()",
            ))
    return problems


@dataclass
class _Order:
    """Where each statement and value sits in program order, and where each value is read.

    A read is recorded with the branches it sits in, as ``((id(if), side), ...)``:
    a read on the other side of an ``if`` from an update never sees it.
    """

    position: dict = field(default_factory=dict)  # Assign -> its position
    path_of: dict = field(default_factory=dict)  # Assign -> its branch path
    defined_at: dict = field(default_factory=dict)  # Var -> position of its definition
    reads: dict = field(default_factory=dict)  # Var -> [(position, statement, path)]
    producer: dict = field(default_factory=dict)  # Var -> the Assign that binds it
    loops_of: dict = field(default_factory=dict)  # Assign -> ids of the loops around it
    defined_in: dict = field(default_factory=dict)  # Var -> ids of the loops around its definition
    read_loops: dict = field(default_factory=dict)  # Var -> [(position, ids of the loops around the read)]


def _program_order(fn: ir.Function) -> _Order:
    trace = _Order()
    for p in fn.params:
        trace.defined_at[p.var] = 0
        trace.defined_in[p.var] = ()
    _visit_in_order(fn.body, trace, [0])
    return trace


# module-level, not closures that call themselves: those would keep the trace alive in a
# reference cycle until the cyclic GC runs (and make that run long on a long function)


def _read_in_order(trace: _Order, var, pos, stmt, path, loops):
    if isinstance(var, ir.Var):
        trace.reads.setdefault(var, []).append((pos, stmt, path))
        trace.read_loops.setdefault(var, []).append((pos, path, loops))


def _visit_in_order(stmts, trace: _Order, counter: list, path=(), loops=()):
    read = _read_in_order
    for stmt in stmts:
        counter[0] += 1
        here = counter[0]
        for a in ir.uses(stmt):
            read(trace, a, here, stmt, path, loops)
        if isinstance(stmt, ir.Assign):
            trace.position[stmt] = here
            trace.path_of[stmt] = path
            trace.loops_of[stmt] = loops
            trace.defined_at[stmt.target] = here
            trace.defined_in[stmt.target] = loops
            trace.producer[stmt.target] = stmt
        if isinstance(stmt, ir.If):
            _visit_in_order(stmt.then_body, trace, counter, path + ((id(stmt), "then"),), loops)
            then_end = counter[0]
            _visit_in_order(stmt.else_body, trace, counter, path + ((id(stmt), "else"),), loops)
            for phi in stmt.phis:  # a branch's phi inputs are read after its last statement
                read(trace, phi.then_value, then_end + 0.5, stmt, path + ((id(stmt), "then"),), loops)
                read(trace, phi.else_value, counter[0] + 0.5, stmt, path + ((id(stmt), "else"),), loops)
                trace.defined_at[phi.target] = counter[0]
                trace.defined_in[phi.target] = loops
            continue
        if isinstance(stmt, (ir.For, ir.While)):
            inner = loops + (id(stmt),)
            if isinstance(stmt, ir.For):
                trace.defined_at[stmt.index] = here
                trace.defined_in[stmt.index] = inner
            for c in stmt.carried:
                trace.defined_at[c.arg] = here
                trace.defined_in[c.arg] = inner
            for child in ir.child_blocks(stmt):
                _visit_in_order(child, trace, counter, path, inner)
            if isinstance(stmt, ir.While):
                read(trace, stmt.cond, counter[0] + 0.5, stmt, path, inner)
            for c in stmt.carried:  # yielded after the body's last statement
                read(trace, c.next, counter[0] + 0.5, stmt, path, inner)
                trace.defined_at[c.out] = counter[0]
                trace.defined_in[c.out] = loops
            continue
        for child in ir.child_blocks(stmt):
            _visit_in_order(child, trace, counter, path, loops)


def _read_after(trace: _Order, var, update) -> bool:
    """Is `var` read after `update` runs: later in the program, or in a later iteration of a
    loop around the update that `var` was defined outside of?"""
    here, path, loops = trace.position[update], trace.path_of[update], trace.loops_of[update]
    outside = [loop for loop in loops if loop not in trace.defined_in.get(var, ())]
    for pos, read_path, read_loops in trace.read_loops.get(var, []):
        if _exclusive(read_path, path):
            continue
        if pos > here or any(loop in read_loops for loop in outside):
            return True
    return False


def _exclusive(a, b) -> bool:
    """Are two branch paths on different sides of one `if`?"""
    sides = dict(a)
    return any(key in sides and sides[key] != side for key, side in b)


# ------------------------------------------------------------ views and aliases


def _may_alias(fn: ir.Function):
    """Union-find of values that may share memory: views, copies of names, loop and branch
    joins, updates, and containers with what they contain."""
    find = buffer_chains(fn, views=True)
    parent_union = []
    for stmt in ir.walk(fn.body):
        if isinstance(stmt, ir.Assign) and stmt.func.value in (pack_list, pack_tuple, pack_dict, pack_namedtuple,
                                                                list_append):
            for a in stmt.args:
                if isinstance(a, ir.Var):
                    parent_union.append((stmt.target, a))
    # buffer_chains returns only `find`; rebuild with the container edges on top
    groups: dict = {}

    def root(v):
        r = find(v)
        while r in groups and groups[r] != r:
            r = groups[r]
        return r

    for a, b in parent_union:
        ra, rb = root(a), root(b)
        if ra != rb:
            groups[ra] = rb
    return root


def _definite_view(stmt) -> bool:
    """Does `stmt` make a view of its argument whatever the shapes (``a[1:3]``, ``a.T``,
    ``a.reshape(...)``)? An integer index (a copy of an element of a 1-D array, a view
    of a row otherwise) is left to the run-time check."""
    if stmt is None:
        return False
    func = stmt.func.value
    if func is operator.getitem:
        index = stmt.args[1]
        if not isinstance(index, ir.Const):
            return False
        items = index.value if isinstance(index.value, tuple) else (index.value,)
        return any(isinstance(i, slice) or i is None or i is Ellipsis for i in items)
    if isinstance(func, Attr):
        return func.name in ("T", "mT", "real", "imag", "flat")
    if isinstance(func, Method):
        return func.name in _VIEW_METHODS
    return module_name(func) == "numpy" and getattr(func, "__name__", "") in _VIEW_FUNCTIONS


def guard_inplace_updates(fn: ir.Function) -> ir.Function:
    """Make sure no value can see an in-place update that SSA says it does not.

    ``b = a[1:3]; a[1] = 0; use(b)``: in NumPy ``b`` sees the write; in SSA it
    would not, and the gradient would be wrong. Such programs are refused with
    the line to change. Where only the run time can tell (``prev = A[i]`` is a
    copy for a 1-D ``A`` but a view of a row of a 2-D one; ``old = cur`` in a loop
    is the same array only if the loop never ran), the update is preceded by
    ``not_a_view(prev, A, ...)``, which raises if the two share memory.

    Returns:
        `fn`, or a copy with those run-time checks inserted.
    """
    problems = inplace_problems(fn)  # raised together with the views found below
    trace = _program_order(fn)
    root = _may_alias(fn)
    members: dict = {}
    for v in trace.defined_at:
        members.setdefault(root(v), []).append(v)
    checks: dict = {}  # id(update) -> values to check before it
    for stmt in ir.walk(fn.body):
        if not (isinstance(stmt, ir.Assign) and stmt.func.value is setitem):
            continue
        base, here = stmt.args[0], trace.position[stmt]
        for v in members.get(root(base), []):
            if v is base or v == stmt.target or trace.defined_at.get(v, 0) >= here:
                continue
            if not _read_after(trace, v, stmt):
                continue
            producer = trace.producer.get(v)
            if _definite_view(producer):
                name = v.base if not ir.is_temp(v) else "a value"
                made = f" (made at line {producer.loc.line})" if producer.loc else ""
                problems.append(InPlaceUpdateError(
                    f"{name!r}{made} is a view of {base.base!r}, which is updated in place here before {name!r} "
                    "is read again: NumPy would show the change through it, and the derivative could not follow",
                    stmt.loc,
                    hint=f"take a copy where {name!r} is made (`.copy()`), or update a copy of {base.base!r}",
                ))
                continue
            # a value that may or may not share memory (an element or a row, a list holding arrays,
            # the same array under another name on some paths): checked when the update runs
            checks.setdefault(id(stmt), []).append(v)
    raise_problems(problems, fn.name, fn.filename)
    if not checks:
        return fn
    return _insert_checks(fn, checks)


def _insert_checks(fn, checks):
    numbers = [int(v.name[1:]) for v in ir.all_defs(fn.body) if ir.is_temp(v)]
    counter = [max(numbers, default=0)]

    def temp():
        counter[0] += 1
        return ir.Var(f"t{counter[0]}", "t")

    def block(stmts):
        out = []
        for stmt in stmts:
            for attr in ("then_body", "else_body", "body", "cond_body"):
                child = getattr(stmt, attr, None)
                if isinstance(child, list):
                    setattr(stmt, attr, block(child))
            for v in checks.get(id(stmt), []):
                text = stmt.loc.text.strip() if stmt.loc is not None else ""
                where = ir.Const(f"line {stmt.loc.line if stmt.loc else '?'}: {text}")
                out.append(ir.Assign(temp(), NOT_A_VIEW, [v, stmt.args[0], where], [], stmt.loc))
            out.append(stmt)
        return out

    body = block(fn.body)  # statements are shared with `fn`; only the block lists are new
    new = ir.Function(fn.name, list(fn.params), body, fn.result, fn.filename, fn.firstline, fn.doc,
                      dict(fn.exports), fn.result_loc)
    return ir.verify_pass(new)


NOT_A_VIEW = ir.Ref(("not_a_view",), runtime.not_a_view)


# ----------------------------------------------------------- shared buffers

# Calls that return a view of their first argument (for some or all shapes).
_VIEW_METHODS = {"reshape", "ravel", "transpose", "swapaxes", "squeeze", "diagonal", "view"}
_VIEW_FUNCTIONS = {
    "reshape", "ravel", "transpose", "swapaxes", "squeeze", "expand_dims", "moveaxis", "asarray", "asanyarray",
    "diagonal", "flip", "fliplr", "flipud", "rot90", "atleast_1d", "atleast_2d", "atleast_3d", "broadcast_to",
    "real", "imag", "matrix_transpose", "permute_dims", "split", "array_split", "hsplit", "vsplit", "dsplit",
    "unstack", "real_if_close",
}


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
            in_place = func in (setitem, runtime.add_at, restore, identity, list_append, unappend,
                                runtime.zero_in_place)
            is_view = views and (
                _no_copy(stmt)
                or func is operator.getitem
                or isinstance(func, Attr)
                or (isinstance(func, Method) and func.name in _VIEW_METHODS)
                or (module_name(func) == "numpy" and getattr(func, "__name__", "") in _VIEW_FUNCTIONS)
            )
            if (in_place or is_view) and stmt.args:
                union(stmt.target, stmt.args[0])
            if views and getattr(func, "returns_new_value", None) is False:
                for arg in stmt.args:  # a subroutine that may return (a view of) any of its arguments
                    union(stmt.target, arg)
        elif isinstance(stmt, (ir.For, ir.While)):
            for c in stmt.carried:
                for v in (c.init, c.next, c.out):
                    union(c.arg, v)
        elif isinstance(stmt, ir.If):
            for phi in stmt.phis:
                union(phi.target, phi.then_value)
                union(phi.target, phi.else_value)
    return find
