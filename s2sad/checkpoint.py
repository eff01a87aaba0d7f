"""Checkpointing: O(√n) memory for the tape of a long ``for`` loop, for about one more forward run.

The adjoint program of ``for i in range(n)`` saves what each iteration's reverse
reads: memory grows as n. With checkpointing, the forward sweep saves only the
loop-carried values at the start of each segment of ``k`` iterations (a
*snapshot*) and no tape. The reverse sweep takes the segments last first: it
restores the segment's snapshot, runs the segment forward again *with* its tape,
then reverses it. With ``k = ⌈√n⌉`` the memory is ⌈n/k⌉ snapshots plus one
segment's tape, O(√n), and the loop body runs twice forward instead of once.

The gradient is the same to the last bit: the segment runs the same operations
on the same values as the first forward sweep did.

It applies to ``for`` loops over ``range(...)`` at the top level of the
function (nested loops and branches inside them come along). A loop whose body
updates an array or list in place, or calls something that does not give the
same result twice (random numbers, ``print``), is refused: running it again
would not reproduce it; so is one reading an array or list that is updated in place
after it and not put back by the reverse sweep (the segments would read the new
value). ``while`` loops, and loops inside branches or other
loops, keep their full tape.

The transformation works on the adjoint IR that `reverse` built: the forward
loop F (with pushes) and its reverse loop R (``for i in reversed(t)``, same
``t``) become::

    per_segment = segment_length(len(t), checkpoint)
    for start in range(0, len(t), per_segment):       # carried: F's state
        push(state)                                     # the snapshot
        for i in t[start:start + per_segment]: F's body without pushes
    ...
    for start in reversed(range(0, len(t), per_segment)):   # carried: R's adjoints
        state = pop()
        for i in t[start:start + per_segment]: F's body (a renamed copy, with pushes)
        for i in reversed(t[start:start + per_segment]): R's body
"""

from __future__ import annotations

import operator

from . import ir, runtime
from .analysis import buffer_chains
from .errors import ArgumentError, CheckpointError
from .lower import Namer
from .primitives import list_append, module_name, restore, setitem, unappend
from .reverse import with_holders
from .simplify import is_pure


def check_option(checkpoint) -> None:
    """Refuse anything but None, ``"sqrt"`` or a positive int, saying what is accepted."""
    if checkpoint is None or (isinstance(checkpoint, str) and checkpoint == "sqrt"):
        return
    if checkpoint is True:
        raise ArgumentError("checkpoint=True does not say how much to keep",
                            hint='pass checkpoint="sqrt", or an int: the number of snapshots to keep at most')
    if isinstance(checkpoint, int) and not isinstance(checkpoint, bool) and checkpoint >= 1:
        return
    raise ArgumentError(f"checkpoint={checkpoint!r} is not a checkpointing option",
                        hint='pass checkpoint="sqrt" (√n snapshots of a loop of n iterations), an int '
                        "(that many snapshots at most), or None (the full tape)")


_LEN = ir.Ref(("len",), len)
_RANGE = ir.Ref(("range",), range)
_SLICE = ir.Ref(("slice",), slice)
_SEGMENT_LENGTH = ir.Ref(("segment_length",), runtime.segment_length)


def checkpoint_loops(fn: ir.Function, checkpoint) -> ir.Function:
    """Rewrite each top-level ``for`` loop over a range that keeps a tape to checkpoint it.

    Args:
        fn: an adjoint program from `reverse.reverse_function` (forward sweep, then reverse sweep).
        checkpoint: ``"sqrt"`` or an int (see `segment_length`); None leaves `fn` as it is.

    Returns:
        The rewritten function (verified).
    """
    if checkpoint is None:
        return fn
    ranges = {s.target for s in fn.body if isinstance(s, ir.Assign) and s.func.value is range}
    forward = [s for s in fn.body if isinstance(s, ir.For) and not s.reverse and s.iterable in ranges
               and any(isinstance(p, ir.Push) for p in ir.walk(s.body))]
    reverse = [s for s in fn.body if isinstance(s, ir.For) and s.reverse]
    # two loops may run over one range (``for e in v`` twice): the reverse loop of F is the one
    # whose pops (its nested loops' included) restore what F's pushes saved
    popped = [({p.of for p in ir.walk(r.body) if isinstance(p, ir.Pop)}, r) for r in reverse]
    pairs = []
    for f in forward:
        pushed = {p.value for p in ir.walk(f.body) if isinstance(p, ir.Push)}
        matches = [r for restored, r in popped if r.iterable == f.iterable and restored & pushed]
        if len(matches) == 1:
            pairs.append((f, matches[0]))
    if not pairs:
        return fn
    namer = Namer(v.name for v in ir.all_defs(fn.body))
    namer.taken.update(p.var.name for p in fn.params)
    namer.taken.update(v.name for v in ir.all_vars_used(fn.body))
    namer.temps = max([int(v.name[1:]) for v in ir.all_defs(fn.body) if v.base == "t" and v.name[1:].isdigit()]
                      or [0])
    replaced = {}
    for f, r in pairs:
        _refuse_unrepeatable(f, r)
        _refuse_overwritten_later(fn, f)
        setup, new_f, segments = _forward_in_segments(f, checkpoint, namer)
        replaced[id(f)] = setup + [new_f]
        replaced[id(r)] = [_reverse_in_segments(f, r, new_f, segments, namer)]
    body = [s for stmt in fn.body for s in replaced.get(id(stmt), [stmt])]
    out = ir.Function(fn.name, fn.params, body, fn.result, fn.filename, fn.firstline, fn.doc, fn.exports,
                      fn.result_loc)
    return ir.verify_pass(out)


def _refuse_unrepeatable(f: ir.For, r: ir.For) -> None:
    for stmt in ir.walk(f.body):
        if not isinstance(stmt, ir.Assign):
            continue
        func = stmt.func.value
        if func in (setitem, list_append):
            raise CheckpointError(
                "checkpointing cannot run this loop again: it updates an array or list in place",
                stmt.loc or f.loc,
                hint="build the values without the in-place update (np.where, np.concatenate, a list "
                "built in one display), or differentiate without checkpoint=")
        if not is_pure(stmt) and module_name(func) != runtime.__name__:
            raise CheckpointError(
                "checkpointing cannot run this loop again: a call in it may not give the same result twice",
                stmt.loc or f.loc,
                hint="draw random numbers before the loop and pass them in, or differentiate without checkpoint=")
    for stmt in ir.walk(r.body):
        if isinstance(stmt, ir.Assign) and stmt.func.value in (restore, unappend):  # pragma: no cover - as above
            raise CheckpointError("checkpointing cannot run this loop again: it updates an array in place",
                                  stmt.loc or r.loc, hint="differentiate without checkpoint=")


def _refuse_overwritten_later(fn: ir.Function, f: ir.For) -> None:
    """Refuse a loop that reads an array or list which the function updates in place after it,
    unless the reverse sweep puts the old value back before it reaches the loop: the segments run
    again there and would read the new value."""
    find = buffer_chains(fn, views=True)
    holders = with_holders(fn, find)
    read = {find(v) for v in ir.free_vars([f])}
    later = fn.body[next(k for k, s in enumerate(fn.body) if s is f) + 1:]
    undone = {s.args[0] for s in ir.walk(later) if isinstance(s, ir.Assign) and s.func.value in (restore, unappend)}
    for stmt in ir.walk(later):
        if isinstance(stmt, ir.Assign) and stmt.func.value in (setitem, list_append) \
                and stmt.target not in undone and holders({find(stmt.args[0])}) & read:
            raise CheckpointError(
                "checkpointing cannot run this loop again: an array or list it reads is updated in place "
                "after it", stmt.loc or f.loc,
                hint="update a copy after the loop (a = a.copy()), or differentiate without checkpoint=")


def _without_pushes(stmts: list) -> list:
    """`stmts` with every tape push taken out (nested blocks included)."""
    out = []
    for s in stmts:
        if isinstance(s, ir.Push):
            continue
        if isinstance(s, ir.If):
            s = ir.If(s.cond, _without_pushes(s.then_body), _without_pushes(s.else_body), s.phis, s.loc)
        elif isinstance(s, ir.For):
            s = ir.For(s.index, s.iterable, _without_pushes(s.body), s.carried, s.reverse, s.loc)
        elif isinstance(s, ir.While):
            s = ir.While(_without_pushes(s.cond_body), s.cond, _without_pushes(s.body), s.carried, s.loc)
        out.append(s)
    return out


def _piece(iterable, start, per_segment, namer, loc) -> tuple[list, ir.Var]:
    """``iterable[start:start + per_segment]``: the statements and the Var holding it."""
    end, cut, piece = namer.temp(), namer.temp(), namer.fresh("segment")
    return [
        ir.Assign(end, ir.prim(operator.add), [start, per_segment], [], loc),
        ir.Assign(cut, _SLICE, [start, end], [], loc),
        ir.Assign(piece, ir.prim(operator.getitem), [iterable, cut], [], loc),
    ], piece


def _forward_in_segments(f: ir.For, checkpoint, namer):
    """The forward loop as segments, each saving the loop's state when it starts and no tape.

    Returns (statements before the loop, the loop, (segment starts, per_segment))."""
    loc = f.loc
    steps, per_segment, starts = namer.fresh("steps"), namer.fresh("per_segment"), namer.fresh("segments")
    setup = [
        ir.Assign(steps, _LEN, [f.iterable], [], loc),
        ir.Assign(per_segment, _SEGMENT_LENGTH, [steps, ir.Const(checkpoint)], [], loc),
        ir.Assign(starts, _RANGE, [ir.Const(0), steps, per_segment], [], loc),
    ]
    start = namer.fresh("start")
    state = [namer.fresh(c.arg.base) for c in f.carried]
    piece_stmts, piece = _piece(f.iterable, start, per_segment, namer, loc)
    inner_outs = [namer.fresh(c.out.base) for c in f.carried]
    inner = ir.For(f.index, piece, _without_pushes(f.body),
                   [ir.Carried(c.arg, s, c.next, o) for c, s, o in zip(f.carried, state, inner_outs)], False, loc)
    body = [ir.Push(s, loc) for s in state] + piece_stmts + [inner]
    outer = ir.For(start, starts, body,
                   [ir.Carried(s, c.init, o, c.out) for c, s, o in zip(f.carried, state, inner_outs)], False, loc)
    return setup, outer, (starts, per_segment)


def _reverse_in_segments(f: ir.For, r: ir.For, new_f: ir.For, segments, namer) -> ir.For:
    """The reverse loop as segments, last first: restore the snapshot, run the segment forward
    with its tape, reverse it."""
    loc = r.loc
    starts, per_segment = segments
    start = namer.fresh("start")
    snapshot = [ir.Pop(namer.fresh(s.arg.base), loc, s.arg) for s in reversed(new_f.carried)][::-1]
    piece_stmts, piece = _piece(f.iterable, start, per_segment, namer, loc)

    copies = {}

    def rename(v):
        copies[v] = namer.fresh(v.base) if v.base != "t" else namer.temp()
        return copies[v]

    again = ir.For(f.index, piece, f.body,
                   [ir.Carried(c.arg, p.target, c.next, c.out) for c, p in zip(f.carried, snapshot)], False, loc)
    again = ir.substitute([again], {}, rename_defs=rename)[0]
    for s in ir.walk(r.body):  # a pop now restores what the copy pushed (the name it reads best under)
        if isinstance(s, ir.Pop) and s.of in copies:
            s.of = copies[s.of]
    adjoints = [namer.fresh(c.arg.base) for c in r.carried]
    inner_outs = [namer.fresh(c.out.base) for c in r.carried]
    back = ir.For(r.index, piece, r.body,
                  [ir.Carried(c.arg, a, c.next, o) for c, a, o in zip(r.carried, adjoints, inner_outs)], True, loc)
    body = list(reversed(snapshot)) + piece_stmts + [again, back]
    return ir.For(start, starts, body,
                  [ir.Carried(a, c.init, o, c.out) for c, a, o in zip(r.carried, adjoints, inner_outs)], True, loc)
