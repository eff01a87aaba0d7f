"""Generated IR used as a program again: made pure for reverse mode, or spliced into a caller.

Two uses of a generated function's IR (``g.ir``) that need the same care:

* :func:`pure_for_reverse`: reverse mode over generated code (``vjp(grad(f))``,
  the ``hvp`` of a generated function, a caller of generated code) reads every
  value of the program it reverses after the fact, so no value may change in
  place under it, and the adjoint of a value restored from the tape must flow
  back to the value saved.
* :func:`splice_call`: a call of generated code inside a function being
  differentiated (``np.sum(g(x) ** 2)`` with ``g = s2sad.grad(f)``) is lowered
  to a renamed copy of g's IR, as a call of the user's own helper is inlined.

Generated reverse code accumulates adjoints into arrays it owns
(``add_at(acc, i, v)`` is ``acc[i] += v`` in place, ``zero_in_place(g, i)`` is
``g[i] = 0``): fast, and right in the code that made them. Here they become their
pure forms, ``add_sequences(acc, scatter_add(v, acc, i))`` (``+``, item by item for a
container's adjoint) and ``zero_at(g, i)``, which the
rules in ``rules/helpers.py`` differentiate both ways. The tape becomes a list
value (:func:`tape_as_list`). Where generated code puts back a slice that an
in-place update overwrote (``restore``) or takes back an append (``unappend``),
the updates become pure and the undoing goes (:func:`_nothing_undone`).
"""

from __future__ import annotations

import dataclasses
import operator

from . import ir, runtime
from .errors import Location, NoDerivativeError, S2SADError, raise_problems
from .primitives import list_append, pack_list, restore, setitem, unappend

__all__ = ["pure_for_reverse", "reverse_problems_of", "splice_call"]

_SCATTER_ADD = ir.Ref(("scatter_add",), runtime.scatter_add)
_ZERO_AT = ir.Ref(("zero_at",), runtime.zero_at)
_SET_AT = ir.Ref(("set_at",), runtime.set_at)
_APPENDED = ir.Ref(("appended",), runtime.appended)
_ADD_SEQUENCES = ir.Ref(("add_sequences",), runtime.add_sequences)

_UNDOING = (restore, unappend)  # put back what an in-place update overwrote (reverse sweep only)
_TAPE = "the tape of a loop (values saved in the forward sweep and restored in the reverse sweep)"


def _pure_block(stmts: list, temp, problems: list) -> list:
    """`stmts` with in-place adjoint updates made pure; each construct reverse mode cannot reverse is
    appended to `problems` as ``(what, location)``."""
    out = []
    for stmt in stmts:
        if isinstance(stmt, (ir.Push, ir.Pop)):
            problems.append((_TAPE, stmt.loc))
        elif isinstance(stmt, ir.Assign) and stmt.func.value is runtime.add_at:
            # acc[index] += value, without changing acc: acc + (value placed at index in zeros like acc),
            # item by item where acc is a dict's or list's adjoint (`+` would fail or concatenate)
            acc, index, value = stmt.args
            placed = temp()
            out.append(ir.Assign(placed, _SCATTER_ADD, [value, acc, index], [], stmt.loc))
            out.append(ir.Assign(stmt.target, _ADD_SEQUENCES, [acc, placed], [], stmt.loc))
            continue
        elif isinstance(stmt, ir.Assign) and stmt.func.value is runtime.zero_in_place:
            out.append(ir.Assign(stmt.target, _ZERO_AT, list(stmt.args), list(stmt.kwargs), stmt.loc))
            continue
        elif isinstance(stmt, ir.If):
            stmt = dataclasses.replace(stmt, then_body=_pure_block(stmt.then_body, temp, problems),
                                       else_body=_pure_block(stmt.else_body, temp, problems))
        elif isinstance(stmt, ir.For):
            stmt = dataclasses.replace(stmt, body=_pure_block(stmt.body, temp, problems))
        elif isinstance(stmt, ir.While):
            stmt = dataclasses.replace(stmt, cond_body=_pure_block(stmt.cond_body, temp, problems),
                                       body=_pure_block(stmt.body, temp, problems))
        out.append(stmt)
    return out


def _nothing_undone(stmts: list) -> list:
    """`stmts` with every in-place update of a user's value made pure and the undoing of them dropped.

    Generated code updates an array or list in place (``y[i] = v``, ``lst.append(v)``) and
    puts the old contents back for the reverse sweep (``restore``, ``unappend``); the tape
    saves the array, one object, once per iteration. Made pure (``y_2 = set_at(y_1, i, v)``
    copies, ``lst_2 = appended(lst_1, v)``), every name holds the value it was bound to, which is
    what the undoing restored (analysis refuses an update whose old value another name
    reads): the undoing has nothing left to do. Costs a copy per update.
    """
    out = []
    for stmt in stmts:
        if isinstance(stmt, ir.Assign) and stmt.func.value in _UNDOING:
            continue
        if isinstance(stmt, ir.Assign) and stmt.func.value is setitem:
            stmt = dataclasses.replace(stmt, func=_SET_AT)
        elif isinstance(stmt, ir.Assign) and stmt.func.value is list_append:
            stmt = dataclasses.replace(stmt, func=_APPENDED)
        elif isinstance(stmt, ir.If):
            stmt = dataclasses.replace(stmt, then_body=_nothing_undone(stmt.then_body),
                                       else_body=_nothing_undone(stmt.else_body))
        elif isinstance(stmt, ir.For):
            stmt = dataclasses.replace(stmt, body=_nothing_undone(stmt.body))
        elif isinstance(stmt, ir.While):
            stmt = dataclasses.replace(stmt, cond_body=_nothing_undone(stmt.cond_body),
                                       body=_nothing_undone(stmt.body))
        out.append(stmt)
    return out


def _undoes(stmts: list) -> bool:
    return any(isinstance(s, ir.Assign) and s.func.value in _UNDOING for s in ir.walk(stmts))


def _uses_tape(stmts: list) -> bool:
    return any(isinstance(s, (ir.Push, ir.Pop)) for s in ir.walk(stmts))


def tape_as_list(fn: ir.Function) -> ir.Function:
    """`fn` with its tape made an ordinary list value threaded through the program.

    The tape is one stack: a push appends, a pop takes the last item off. As values,
    ``saved_1 = list_append(saved, v)`` and ``t = saved_1[-1]; saved_2 = saved_1[:-1]``,
    carried through every loop that saves or restores and joined after branches that do.
    Reverse mode differentiates lists (appends, items, slices, item-by-item adjoints),
    so the adjoint of a restored value flows back to the value saved: the tape of the
    adjoint is the adjoint of the tape. Costs O(length) per pop (the slice, and the
    zero list its adjoint builds), so a loop of n iterations reverses in O(n^2).

    A loop whose condition block saves or restores is left as it is (then refused).
    """
    if not _uses_tape(fn.body):
        return fn
    taken = {v.name for v in ir.all_defs(fn.body)} | {p.var.name for p in fn.params}

    def fresh():
        k = 0
        while f"saved_{k}" in taken:
            k += 1
        taken.add(f"saved_{k}")
        return ir.Var(f"saved_{k}", "saved")

    def thread(stmts, state):
        out = []
        for stmt in stmts:
            if isinstance(stmt, ir.Push):
                new = fresh()
                out.append(ir.Assign(new, ir.prim(list_append), [state, stmt.value], [], stmt.loc))
                state = new
            elif isinstance(stmt, ir.Pop):
                new = fresh()
                out.append(ir.Assign(stmt.target, ir.prim(operator.getitem), [state, ir.Const(-1)], [], stmt.loc))
                out.append(ir.Assign(new, ir.prim(operator.getitem), [state, ir.Const(slice(None, -1))], [],
                                     stmt.loc))
                state = new
            elif isinstance(stmt, ir.If) and _uses_tape(stmt.then_body + stmt.else_body):
                then_body, then_state = thread(stmt.then_body, state)
                else_body, else_state = thread(stmt.else_body, state)
                new = fresh()
                out.append(dataclasses.replace(stmt, then_body=then_body, else_body=else_body,
                                               phis=list(stmt.phis) + [ir.Phi(new, then_state, else_state)]))
                state = new
            elif isinstance(stmt, (ir.For, ir.While)) and _uses_tape(stmt.body) and not (
                    isinstance(stmt, ir.While) and _uses_tape(stmt.cond_body)):
                arg, after = fresh(), fresh()
                body, next_state = thread(stmt.body, arg)
                out.append(dataclasses.replace(stmt, body=body,
                                               carried=list(stmt.carried) + [ir.Carried(arg, state, next_state, after)]))
                state = after
            else:
                out.append(stmt)
        return out, state

    start = fresh()
    body, _ = thread(fn.body, start)
    body = [ir.Assign(start, ir.prim(pack_list), [], [], None)] + body
    return ir.verify_pass(ir.Function(fn.name, list(fn.params), body, fn.result, fn.filename, fn.firstline, fn.doc,
                                 dict(fn.exports), fn.result_loc))


def _visible(block: list) -> list:
    """The values a block binds that are visible after it: its own level, and its branches' (as in Python)."""
    found = []
    for stmt in block:
        if isinstance(stmt, ir.If):
            found += _visible(stmt.then_body) + _visible(stmt.else_body)
        found += ir.defs(stmt)
    return found


def join_branch_values(fn: ir.Function) -> ir.Function:
    """`fn` where a value defined in a branch and read after it is read through a phi (None on the other path).

    Generated reverse code replays a branch by testing the same condition again and
    reads the forward branch's values directly (docs/design.md, the IR). Reversed
    again, such a value is read in two branches, and its adjoint meets the join of
    the first one, where the other path has no value to make zeros like. Through the
    phi, the value read later is bound on both paths.
    """
    taken = {v.name for v in ir.all_defs(fn.body)} | {p.var.name for p in fn.params}

    def fresh(var):
        k = 1
        while f"{var.name}_{k}" in taken:
            k += 1
        taken.add(f"{var.name}_{k}")
        return ir.Var(f"{var.name}_{k}", var.base)

    def reads_after(block, after):
        """For each branch of `block`, by position: what the rest of the block and `after` read."""
        found, acc = {}, set(after)
        for k in range(len(block) - 1, -1, -1):
            if isinstance(block[k], ir.If):
                found[k] = set(acc)
            acc |= ir.all_vars_used([block[k]])
        return found

    def join(block, after):
        out, mapping = [], {}
        later_of = reads_after(block, after)
        for k, stmt in enumerate(block):
            later = later_of.get(k, ())
            if mapping:
                stmt = ir.substitute([stmt], mapping)[0]
            if isinstance(stmt, ir.If):
                then_body, then_map = join(stmt.then_body, later)
                else_body, else_map = join(stmt.else_body, later)
                phis = list(stmt.phis)
                for body, held, on_then in ((stmt.then_body, then_map, True), (stmt.else_body, else_map, False)):
                    for v in _visible(body):
                        if v in later and v not in mapping:
                            joined = fresh(v)
                            value = held.get(v, v)
                            phis.append(ir.Phi(joined, value, ir.Const(None)) if on_then
                                        else ir.Phi(joined, ir.Const(None), value))
                            mapping[v] = joined
                stmt = dataclasses.replace(stmt, then_body=then_body, else_body=else_body, phis=phis)
            elif isinstance(stmt, ir.For):
                nexts = {c.next for c in stmt.carried if isinstance(c.next, ir.Var)}
                body, held = join(stmt.body, nexts)
                stmt = dataclasses.replace(stmt, body=body, carried=[
                    dataclasses.replace(c, next=held.get(c.next, c.next)) for c in stmt.carried])
            elif isinstance(stmt, ir.While):
                nexts = {c.next for c in stmt.carried if isinstance(c.next, ir.Var)}
                cond_body, cond_held = join(stmt.cond_body, ir.all_vars_used(stmt.body) | nexts | {stmt.cond})
                rest = ir.substitute(stmt.body, cond_held) if cond_held else stmt.body
                body, held = join(rest, nexts)
                held = {**cond_held, **held}
                stmt = dataclasses.replace(stmt, cond_body=cond_body, cond=cond_held.get(stmt.cond, stmt.cond),
                                           body=body, carried=[dataclasses.replace(c, next=held.get(c.next, c.next))
                                                               for c in stmt.carried])
            out.append(stmt)
        return out, mapping

    if not any(isinstance(s, ir.If) for s in ir.walk(fn.body)):
        return fn
    body, mapping = join(fn.body, {fn.result} if isinstance(fn.result, ir.Var) else set())
    return ir.verify_pass(ir.Function(fn.name, list(fn.params), body, mapping.get(fn.result, fn.result), fn.filename,
                                 fn.firstline, fn.doc, dict(fn.exports), fn.result_loc))


def _temps_after(fn: ir.Function):
    """A maker of temporaries ``t<k>`` that no name of `fn` uses."""
    taken = {v.name for v in ir.all_defs(fn.body)} | {p.var.name for p in fn.params}
    count = [max([int(n[1:]) for n in taken if n[:1] == "t" and n[1:].isdigit()] or [0])]

    def temp():
        count[0] += 1
        while f"t{count[0]}" in taken:
            count[0] += 1
        taken.add(f"t{count[0]}")
        return ir.Var(f"t{count[0]}", "t")

    return temp


def _refusals(problems: list, doing: str, hint: str, where: Location | None = None) -> list:
    """One NoDerivativeError per kind of construct (a loop's tape has a push and a pop per value), at the
    construct's line, else at `where`."""
    first: dict = {}
    for what, loc in problems:
        if first.get(what) is None:
            first[what] = loc or where
    return [NoDerivativeError(f"{doing} cannot reverse {what} yet", loc, hint=hint) for what, loc in first.items()]


_REVERSE_HINT = ("differentiate it in forward mode (s2sad.jvp, s2sad.jacobian(..., mode='forward'), or s2sad.grad "
                 "of a scalar argument), or differentiate the original function directly")


def reverse_problems_of(fn: ir.Function) -> list:
    """The NoDerivativeErrors :func:`pure_for_reverse` would raise for `fn` (empty if none)."""
    if not any(_needs_work(s) for s in ir.walk(fn.body)):
        return []
    fn = tape_as_list(fn)
    problems = [(_TAPE, s.loc) for s in ir.walk(fn.body) if isinstance(s, (ir.Push, ir.Pop))]
    return _refusals(problems, "reverse mode over generated code", _REVERSE_HINT, fn.result_loc)


def _needs_work(stmt) -> bool:
    return isinstance(stmt, (ir.Push, ir.Pop)) or (isinstance(stmt, ir.Assign) and stmt.func.value in (
        runtime.add_at, runtime.zero_in_place, restore, unappend))


def pure_for_reverse(fn: ir.Function, generated: bool = False) -> ir.Function:
    """`fn` ready for reverse mode: its tape a list value (:func:`tape_as_list`), no in-place update of
    an adjoint, and for `generated` code, branch values read after the branch joined
    (:func:`join_branch_values`); `fn` itself when there is nothing to do (a user's function).

    Raises:
        NoDerivativeError: listing each construct that cannot be reversed yet.
    """
    if not generated and not any(_needs_work(s) for s in ir.walk(fn.body)):
        return fn
    problems: list = []
    # its sections ("forward sweep") become part of the new forward sweep: say whose they are
    marked = [ir.Marker(f"{fn.name}: {s.text}") if isinstance(s, ir.Marker) else s for s in fn.body]
    listed = tape_as_list(ir.Function(fn.name, list(fn.params), marked, fn.result, fn.filename, fn.firstline,
                                      fn.doc, dict(fn.exports), fn.result_loc))
    if generated:
        listed = join_branch_values(listed)
    if any(isinstance(s, ir.Assign) and s.func.value in _UNDOING + (runtime.set_at, runtime.appended)
           for s in ir.walk(listed.body)):
        # generated code that undid updates (here, or spliced into this caller): the tape's appends pure
        # too, as its arrays now differ per iteration and forward mode over it would np.copy the tape list
        listed = dataclasses.replace(listed, body=_nothing_undone(listed.body))
    body = _pure_block(listed.body, _temps_after(listed), problems)
    raise_problems(_refusals(problems, "reverse mode over generated code", _REVERSE_HINT, fn.result_loc), fn.name,
                   fn.filename)
    return ir.verify_pass(ir.Function(fn.name, list(fn.params), body, listed.result, fn.filename, fn.firstline, fn.doc,
                                 dict(fn.exports), fn.result_loc))


def splice_call(fn: ir.Function, args: list, kwargs: list, namer, out: list, location: Location | None):
    """Append to `out` a copy of the generated IR `fn` called with `args` and `kwargs` (atoms), every
    name it binds fresh from `namer` (the caller's lowering's); return the atom of its result.

    The copy keeps the statements' own locations (the lines of the function `fn` was made from), drops
    the section markers, and is pure (see :func:`pure_for_reverse`).

    Raises:
        S2SADError: at `location`, for arguments that do not fit `fn`'s parameters.
    """
    params = [p.var for p in fn.params]
    names = [v.name for v in params]
    if len(args) > len(params):
        raise S2SADError(f"{fn.name} takes {len(params)} argument(s) {names}, but this call passes {len(args)}",
                         location, hint=f"pass the arguments {fn.name} takes")
    bound = dict(zip(params, args))
    for key, atom in kwargs:
        if key not in names or params[names.index(key)] in bound:
            raise S2SADError(f"{fn.name} has no parameter {key!r} left to pass by keyword (its parameters are "
                             f"{names})", location, hint=f"pass the arguments {fn.name} takes")
        bound[params[names.index(key)]] = atom
    for param in fn.params:
        if param.var not in bound:
            if param.default is None:
                raise S2SADError(f"this call of {fn.name} leaves out its argument {param.var.name!r}", location,
                                 hint=f"pass every argument of {fn.name}{tuple(names)}")
            bound[param.var] = param.default
    # a loop's tape stays (forward mode takes it, reverse mode makes it a list); updates that are undone
    # later become pure, or the caller's in-place checks would see the undoing
    if _undoes(fn.body):
        fn = dataclasses.replace(fn, body=_nothing_undone(fn.body))
    fn = join_branch_values(fn)  # the caller may be reversed: no value read past its branch
    body = _pure_block([s for s in fn.body if not isinstance(s, ir.Marker)], _temps_after(fn), [])
    fresh = (lambda v: namer.temp() if ir.is_temp(v) else namer.fresh(v.base))
    renamed = {}

    def rename(var):
        renamed[var] = fresh(var)
        return renamed[var]

    out.extend(ir.substitute(body, bound, rename_defs=rename))
    result = fn.result
    if isinstance(result, ir.Var):
        result = renamed.get(result, bound.get(result, result))
    return result
