"""Generated IR used as a program again: made pure for reverse mode, or spliced into a caller.

Two uses of a generated function's IR (``g.ir``) that need the same care:

* :func:`pure_for_reverse`: reverse mode over generated code (``vjp(grad(f))``,
  the ``hvp`` of a generated function) reads every value of the program it
  reverses after the fact, so no value may change in place under it.
* :func:`splice_call`: a call of generated code inside a function being
  differentiated (``np.sum(g(x) ** 2)`` with ``g = s2sad.grad(f)``) is lowered
  to a renamed copy of g's IR, as a call of the user's own helper is inlined.
  The copy is made pure as well, since the caller may be reversed; a loop's
  tape stays (forward mode over the caller takes it, reverse mode refuses it).

Generated reverse code accumulates adjoints into arrays it owns
(``add_at(acc, i, v)`` is ``acc[i] += v`` in place, ``zero_in_place(g, i)`` is
``g[i] = 0``): fast, and right in the code that made them. Here they become their
pure forms, ``acc + scatter_add(v, acc, i)`` and ``zero_at(g, i)``, which the
rules in ``rules/helpers.py`` differentiate both ways. What cannot be reversed
yet (the tape of a loop, the restoring of a value overwritten in place, the
taking back of an append) is refused, naming it: reverse mode would otherwise
drop the adjoint that flows from a popped value to the pushed one.
"""

from __future__ import annotations

import dataclasses
import operator

from . import ir, runtime
from .errors import Location, NoDerivativeError, S2SADError, raise_problems
from .primitives import restore, unappend

__all__ = ["pure_for_reverse", "reverse_problems_of", "splice_call"]

_SCATTER_ADD = ir.Ref(("scatter_add",), runtime.scatter_add)
_ZERO_AT = ir.Ref(("zero_at",), runtime.zero_at)

_NOT_REVERSIBLE = {
    restore: "the restoring of a value overwritten in place",
    unappend: "the taking back of a list append",
}
_TAPE = "the tape of a loop (values saved in the forward sweep and restored in the reverse sweep)"


def _pure_block(stmts: list, temp, problems: list) -> list:
    """`stmts` with in-place adjoint updates made pure; each construct reverse mode cannot reverse is
    appended to `problems` as ``(what, location)``."""
    out = []
    for stmt in stmts:
        if isinstance(stmt, (ir.Push, ir.Pop)):
            problems.append((_TAPE, stmt.loc))
        elif isinstance(stmt, ir.Assign) and stmt.func.value is runtime.add_at:
            # acc[index] += value, without changing acc: acc + (value placed at index in zeros like acc)
            acc, index, value = stmt.args
            placed = temp()
            out.append(ir.Assign(placed, _SCATTER_ADD, [value, acc, index], [], stmt.loc))
            out.append(ir.Assign(stmt.target, ir.prim(operator.add), [acc, placed], [], stmt.loc))
            continue
        elif isinstance(stmt, ir.Assign) and stmt.func.value is runtime.zero_in_place:
            out.append(ir.Assign(stmt.target, _ZERO_AT, list(stmt.args), list(stmt.kwargs), stmt.loc))
            continue
        elif isinstance(stmt, ir.Assign) and stmt.func.value in _NOT_REVERSIBLE:
            problems.append((_NOT_REVERSIBLE[stmt.func.value], stmt.loc))
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
    """The NoDerivativeErrors :func:`pure_for_reverse` would raise for `fn` (empty if none): one walk."""
    problems = [(_TAPE, s.loc) if isinstance(s, (ir.Push, ir.Pop)) else (_NOT_REVERSIBLE[s.func.value], s.loc)
                for s in ir.walk(fn.body)
                if isinstance(s, (ir.Push, ir.Pop)) or (isinstance(s, ir.Assign) and s.func.value in _NOT_REVERSIBLE)]
    return _refusals(problems, "reverse mode over generated code", _REVERSE_HINT, fn.result_loc)


def pure_for_reverse(fn: ir.Function) -> ir.Function:
    """`fn` with no in-place update of an adjoint, ready for reverse mode.

    Raises:
        NoDerivativeError: listing each construct that cannot be reversed yet.
    """
    problems: list = []
    # its sections ("forward sweep") become part of the new forward sweep: say whose they are
    marked = [ir.Marker(f"{fn.name}: {s.text}") if isinstance(s, ir.Marker) else s for s in fn.body]
    body = _pure_block(marked, _temps_after(fn), problems)
    raise_problems(_refusals(problems, "reverse mode over generated code", _REVERSE_HINT, fn.result_loc), fn.name,
                   fn.filename)
    return ir.verify(ir.Function(fn.name, list(fn.params), body, fn.result, fn.filename, fn.firstline, fn.doc,
                                 dict(fn.exports), fn.result_loc))


def _tape_at(stmts: list, location) -> list:
    """`stmts` with each tape statement located at `location`."""
    out = []
    for stmt in stmts:
        if isinstance(stmt, (ir.Push, ir.Pop)):
            stmt = dataclasses.replace(stmt, loc=location)
        elif isinstance(stmt, ir.If):
            stmt = dataclasses.replace(stmt, then_body=_tape_at(stmt.then_body, location),
                                       else_body=_tape_at(stmt.else_body, location))
        elif isinstance(stmt, ir.For):
            stmt = dataclasses.replace(stmt, body=_tape_at(stmt.body, location))
        elif isinstance(stmt, ir.While):
            stmt = dataclasses.replace(stmt, cond_body=_tape_at(stmt.cond_body, location),
                                       body=_tape_at(stmt.body, location))
        out.append(stmt)
    return out


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
    # a loop's tape stays: forward mode over the caller takes it, reverse mode refuses it (`reverse_problems_of`)
    # at the call, the line the user can change
    body = _pure_block([s for s in fn.body if not isinstance(s, ir.Marker)], _temps_after(fn), [])
    body = _tape_at(body, location)
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
