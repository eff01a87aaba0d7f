"""User helpers that become generated functions of their own (subroutines), rather than inlined.

Inlining makes one copy of a helper per call: nested helpers that each call the
one below twice give 2^depth copies, and recursion cannot be inlined at all. So
a helper that is **called from more than one place, is recursive, or is large**
(`LARGE_HELPER` statements) is lowered once to its own :class:`ir.Function`, and
each call is one ``Assign`` whose ``func`` is a :class:`Ref` to a
:class:`Subroutine` holding that IR.

The transformations turn such a call into calls of *derived routines*
(:class:`Derived`), created here by key and generated later, by
``routine_pairs``, from the callee's IR:

* reverse mode: ``y, saved = f_fwd(x, n)`` in the forward sweep and
  ``x_bar = f_bwd(saved, y_bar)`` in the reverse sweep;
* forward mode: ``y, y_dot = f_jvp(x, n, x_dot)``.

A derived routine is keyed by its base routine, its kind and which arguments
are active (``mask``), and is created before it is generated, so a recursive
helper's ``power_fwd`` refers to itself.

This module holds the objects and the planning (which helpers become
subroutines); it imports only the stages before lowering.
"""

from __future__ import annotations

import gast

from . import ir
from .analysis import buffer_chains, _is_fresh_call
from .frontend import _MISSING, parse_function, walk_nodes
from .errors import S2SADError
from .primitives import list_append, setitem

# A helper with at least this many statements becomes a subroutine even if it is called once:
# its derivative is then read (and compiled) once as a function of its own.
LARGE_HELPER = 40


class Routine:
    """A function the generated code defines next to the main one (before it)."""

    name: str = "routine"

    def __repr__(self) -> str:
        return f"<routine {self.name}>"


class Subroutine(Routine):
    """A user helper lowered once: ``ir`` is its :class:`ir.Function` (set once lowered).

    A call of one never changes its arguments (`changes_an_argument`, else the helper is inlined).
    When it may return an argument or a view of one, ``returns_new_value`` is False and the caller's
    analyses treat its result as a possible view of every argument (``analysis.buffer_chains``).
    """

    returns_new_value = True  # read by analysis._is_fresh_call and analysis.buffer_chains

    def __init__(self, func, name: str):
        self.func = func
        self.name = name
        self.ir = None
        self.usable = True  # False: a call shape it does not cover; the calls are inlined instead
        self.derived: dict = {}  # (kind, mask) -> Derived

    def __call__(self, *args):
        """Runs the helper itself (what the call means, for code that interprets the IR)."""
        return self.func(*args)


class Derived(Routine):
    """``kind`` ("fwd", "bwd", "jvp") of the routine `base`, for the active arguments `mask`."""

    def __init__(self, base: Routine, kind: str, mask: tuple):
        self.base = base
        self.kind = kind
        self.mask = mask
        self.name = f"{base.name}_{kind}"
        self.derived: dict = {}


def derived(base: Routine, kind: str, mask) -> Derived:
    """The one :class:`Derived` routine of `base` for `kind` and `mask` (made on first request)."""
    key = (kind, tuple(bool(m) for m in mask))
    found = base.derived.get(key)
    if found is None:
        found = base.derived[key] = Derived(base, kind, key[1])
    return found


def is_routine_call(stmt) -> bool:
    func = getattr(getattr(stmt, "func", None), "value", None)
    return isinstance(func, Routine)


def subroutines_of(fn: ir.Function) -> list:
    """The subroutines `fn` calls, directly or through other subroutines, in the order first met."""
    found, pending, seen = [], [fn], set()
    while pending:
        for stmt in ir.walk(pending.pop(0).body):
            routine = getattr(getattr(stmt, "func", None), "value", None)
            if isinstance(routine, Subroutine) and id(routine) not in seen:
                seen.add(id(routine))
                found.append(routine)
                pending.append(routine.ir)
    return found


# ------------------------------------------------------------ primitives of split derivatives


def current_tape():
    """Stands for the tape of the running generated function (a forward half returns it)."""
    raise AssertionError("rendered as the tape's name")  # pragma: no cover


def use_tape(tape):
    """Stands for ``tape = <tape>``: a reverse half pops from the tape its forward half filled."""
    raise AssertionError("rendered as an assignment")  # pragma: no cover


def still_read(*values):
    """Stands for nothing in the generated code: the reverse sweep reads these values again (inside the
    saved values of a call), so an in-place update after the call must be undone before it."""
    return None


# ------------------------------------------------------------ what a subroutine may do


def changes_an_argument(fn: ir.Function) -> bool:
    """Does `fn` write into the buffer of one of its parameters? (The caller's SSA would not see it.)"""
    find = buffer_chains(fn, views=True)
    params = {find(p.var) for p in fn.params}
    return any(isinstance(stmt, ir.Assign) and stmt.func.value in (setitem, list_append)
               and isinstance(stmt.args[0], ir.Var) and find(stmt.args[0]) in params for stmt in ir.walk(fn.body))


def returns_new_value(fn: ir.Function) -> bool:
    """Is the result of `fn` certainly a new value (not a parameter, a view of one, or a global)?"""
    definers = {s.target: s for s in ir.walk(fn.body) if isinstance(s, ir.Assign)}
    phis = {p.target: p for s in ir.walk(fn.body) if isinstance(s, ir.If) for p in s.phis}

    def new(atom, seen) -> bool:
        if isinstance(atom, ir.Const):
            return True
        if not isinstance(atom, ir.Var) or atom in seen:
            return isinstance(atom, ir.Var)  # a cycle of phis: decided by its other inputs
        seen.add(atom)
        if atom in phis:
            return new(phis[atom].then_value, seen) and new(phis[atom].else_value, seen)
        stmt = definers.get(atom)
        if stmt is None:
            return False  # a parameter, or a loop's value
        return _is_fresh_call(stmt)

    return new(fn.result, set())


def recursive_call(parsed, calls: dict, is_helper):
    """The first call in `parsed` of a helper that leads back to it (where it recurses)."""
    local = _assigned(parsed.node)
    for node in walk_nodes(parsed.node):
        if isinstance(node, gast.Call) and any(
                _reaches_from(calls, callee, parsed.func) for callee in _callees_of_call(parsed, node, is_helper, local)):
            return node
    return parsed.node


def _reaches_from(calls: dict, start, goal) -> bool:
    stack, seen = [start], set()
    while stack:
        func = stack.pop()
        if func is goal:
            return True
        if func not in seen:
            seen.add(func)
            stack.extend(calls.get(func, ()))
    return False


# ------------------------------------------------------------ planning


def _statement_count(node) -> int:
    return sum(isinstance(n, gast.stmt) for n in walk_nodes(node))


def _assigned(node) -> set:
    return {n.id for n in walk_nodes(node) if isinstance(n, gast.Name) and isinstance(n.ctx, (gast.Store, gast.Param))}


def _callees(parsed, is_helper) -> list:
    """The helpers `parsed` calls, once per call site (resolved like the lowering resolves them)."""
    local = _assigned(parsed.node)
    found = []
    for node in walk_nodes(parsed.node):
        if isinstance(node, gast.Call):
            found += _callees_of_call(parsed, node, is_helper, local)
    return found


def _callees_of_call(parsed, node, is_helper, local) -> list:
    """The helper the call `node` calls, as a list of none or one."""
    func, path = node.func, []
    while isinstance(func, gast.Attribute):
        path.insert(0, func.attr)
        func = func.value
    if not isinstance(func, gast.Name) or func.id in local:
        return []
    try:
        obj = parsed.closure[func.id] if func.id in parsed.closure else parsed.globals.get(func.id, _MISSING)
        for attr in path:
            obj = getattr(obj, attr)
    except Exception:  # noqa: BLE001 - anything unusual is left to the lowering to report
        return []
    inner = getattr(obj, "__s2sad_function__", None)
    if inner is not None and is_helper(inner):
        obj = inner
    return [obj] if obj is not _MISSING and is_helper(obj) else []


def plan(parsed, is_helper) -> tuple:
    """The helpers (function objects) that become subroutines when `parsed` is lowered, and the
    call graph (function -> the helpers it calls, once per call site).

    A helper does when it is called from two or more call sites in the program
    text (each helper's text counted once: a helper inside a subroutine is
    lowered once with it), when it is part of a cycle of calls (recursion), or
    when it has `LARGE_HELPER` statements or more. The main function itself is
    one only when it calls itself (its recursive calls).
    """
    main = parsed.func
    texts = {main: parsed}
    calls: dict = {}
    order = [main]
    for func in order:
        callees = _callees(texts[func], is_helper)
        calls[func] = callees
        for callee in callees:
            if callee not in texts:
                try:
                    texts[callee] = parse_function(callee)
                except S2SADError:
                    calls[callee] = []  # the lowering reports it at the call
                    texts[callee] = None
                    continue
                order.append(callee)
    counts: dict = {}
    for func, callees in calls.items():
        for callee in callees:
            counts[callee] = counts.get(callee, 0) + 1
    chosen = set()
    for func in order:
        if calls_itself(calls, func):
            chosen.add(func)
        elif func is not main and (counts.get(func, 0) >= 2 or _statement_count(texts[func].node) >= LARGE_HELPER):
            chosen.add(func)
    return chosen, calls


def calls_itself(calls: dict, func) -> bool:
    """Is `func` part of a cycle of calls (recursive, directly or through other helpers)?"""
    return any(_reaches_from(calls, callee, func) for callee in calls.get(func, ()))


__all__ = ["Subroutine", "Derived", "Routine", "derived", "plan", "calls_itself", "is_routine_call", "subroutines_of", "LARGE_HELPER"]
