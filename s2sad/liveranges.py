"""Live ranges of SSA values as intervals over program positions.

Leaving SSA needs to know which values are alive at the same time. Building
the interference graph pair by pair costs O(N^2) for a long function, because
in reverse mode every forward value stays alive into the reverse sweep. Here
each value instead gets a short list of intervals, found by one backward scan
over the program laid out in order, and two values interfere exactly when one
is defined at a position where the other is alive (or both at the same one).

Positions number the program's events in execution order (an ``If`` is its
test, the then-branch, the then-end where the phi inputs are read, the else
branch, the else-end, and the join where the phis are bound; a loop is its
header reading the initial values, the top binding the index and block
arguments, the body, the body end yielding the next values, and the exit
binding the results). Parameters are bound at the very first position.

The liveness is the classic backward data flow (live before = live after,
minus what is bound, plus what is read) with the conventions of this IR:

* a loop body sees its free values and the values live after the loop at every
  position, since the back edge can bring control back to any of them; a value
  still alive at the top of the body is alive at its end too;
* an ``If``'s branches start from what is alive after it plus their own phi
  input; before the ``If`` the union of both branches is alive;
* nothing is alive after a ``raise``;
* a temporary folded into the expression that reads it is no value of its
  own: reading it reads what it reads.

The scan keeps one open interval per live value, so crossing code that does
not mention a value costs nothing: the work is linear in the size of the
program, plus the values alive at each ``raise``.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from . import ir


@dataclass
class LiveRanges:
    """Where each value is bound and alive.

    ``occupied[v]`` is a sorted list of disjoint ``(start, end)`` position
    intervals (inclusive) where `v` is bound or alive after the event at that
    position; ``defined[v]`` is the position that binds `v`.
    """

    occupied: dict = field(default_factory=dict)
    defined: dict = field(default_factory=dict)

    def interferes(self, a, b) -> bool:
        """Can `a` and `b` not share a Python name?"""
        return covers(self.occupied.get(b, ()), self.defined[a]) or covers(self.occupied.get(a, ()), self.defined[b])


def covers(intervals, position) -> bool:
    """Does one of the sorted disjoint `intervals` contain `position`?"""
    k = bisect.bisect_right(intervals, (position, float("inf"))) - 1
    return k >= 0 and intervals[k][1] >= position


def next_free(intervals, position) -> int:
    """The first position at or after `position` that no interval covers."""
    k = bisect.bisect_right(intervals, (position, float("inf"))) - 1
    if k >= 0 and intervals[k][1] >= position:
        return intervals[k][1] + 1
    return position


def merge_intervals(intervals) -> list:
    """Sort `intervals` and join those that overlap or touch."""
    out = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1] + 1:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def insert_interval(intervals, start, end):
    """Add ``(start, end)`` to the sorted disjoint `intervals`, in place, joining what it touches."""
    lo = bisect.bisect_left(intervals, (start, float("-inf")))
    if lo > 0 and intervals[lo - 1][1] >= start - 1:
        lo -= 1
    hi = lo
    while hi < len(intervals) and intervals[hi][0] <= end + 1:
        hi += 1
    if hi > lo:
        start, end = min(start, intervals[lo][0]), max(end, intervals[hi - 1][1])
    intervals[lo:hi] = [(start, end)]


def any_in(positions, intervals) -> bool:
    """Does one of the sorted `positions` fall inside one of `intervals`?"""
    if len(positions) <= len(intervals):
        return any(covers(intervals, p) for p in positions)
    for start, end in intervals:
        k = bisect.bisect_left(positions, start)
        if k < len(positions) and positions[k] <= end:
            return True
    return False


def expand_folded(atom, folded) -> list:
    """The named values reading `atom` reads: a folded temporary reads what its expression reads."""
    if not isinstance(atom, ir.Var):
        return []
    if atom not in folded:
        return [atom]
    out, stack = [], [atom]
    while stack:  # iterative: a folded expression can be thousands of terms deep
        v = stack.pop()
        if v in folded:
            stack.extend(a for a in reversed(ir.uses(folded[v])) if isinstance(a, ir.Var))
        else:
            out.append(v)
    return out


def live_ranges(fn: ir.Function, folded: dict) -> LiveRanges:
    """The live ranges of every value `fn` binds that is not folded away."""
    return _Scan(folded).function(fn)


class _Scan:
    """One backward scan; its state lives only as long as the scan."""

    def __init__(self, folded):
        self.folded = folded
        self.position = 0  # decreases as the scan walks backward
        self.open: dict = {}  # live value -> the last position of its open interval
        self.pieces: dict = {}  # value -> closed intervals, in any order
        self.defined: dict = {}
        self.journal: list = []  # (value, was it open before) at each open/close, for If and loops to inspect

    # ------------------------------------------------------------ primitives

    def next_position(self) -> int:
        self.position -= 1
        return self.position

    def emit(self, var, start, end):
        if start <= end:
            self.pieces.setdefault(var, []).append((start, end))

    def open_until(self, var, end):
        if var not in self.open:
            self.journal.append((var, False))
            self.open[var] = end

    def close_at(self, var, start):
        if var in self.open:
            self.journal.append((var, True))
            self.emit(var, start, self.open.pop(var))

    def bind(self, var, position):
        self.defined[var] = position
        self.emit(var, position, position)
        self.close_at(var, position)

    def read(self, atom, position):
        """`atom` is read by the event at `position`: alive after every earlier position."""
        for v in expand_folded(atom, self.folded):
            self.open_until(v, position - 1)

    def first_states(self, start) -> dict:
        """For each value the journal mentions from `start`: was it open before then?"""
        states: dict = {}
        for var, was_open in self.journal[start:]:
            states.setdefault(var, was_open)
        return states

    # ------------------------------------------------------------ program

    def function(self, fn: ir.Function) -> LiveRanges:
        self.read(fn.result, 0)
        self.block(fn.body)
        start = self.next_position()
        for p in fn.params:
            self.bind(p.var, start)
        for var in list(self.open):  # alive on entry without a binding (a branch's value read later)
            self.close_at(var, start)
        ranges = LiveRanges(defined=self.defined)
        for var, pieces in self.pieces.items():
            ranges.occupied[var] = merge_intervals(pieces)
        return ranges

    def block(self, stmts):
        for stmt in reversed(stmts):
            self.statement(stmt)

    def statement(self, stmt):
        if isinstance(stmt, ir.Marker):
            return
        if isinstance(stmt, ir.Assign) and stmt.target in self.folded:
            return  # read where its one reader reads it
        if isinstance(stmt, ir.If):
            self.if_(stmt)
        elif isinstance(stmt, (ir.For, ir.While)):
            self.loop(stmt)
        elif isinstance(stmt, ir.Raise):
            here = self.next_position()
            for var in list(self.open):  # nothing after a raise runs
                self.close_at(var, here + 1)
            for a in ir.uses(stmt):
                self.read(a, here)
        else:
            here = self.next_position()
            if isinstance(stmt, (ir.Assign, ir.Pop)):
                self.bind(stmt.target, here)
            for a in ir.uses(stmt):
                self.read(a, here)

    def if_(self, stmt: ir.If):
        join = self.next_position()
        for phi in stmt.phis:
            self.bind(phi.target, join)
        # else-branch: what is alive after the If, plus the else inputs of the phis
        else_end = self.next_position()
        mark_else = len(self.journal)
        for phi in stmt.phis:
            self.read(phi.else_value, else_end)
        self.block(stmt.else_body)
        then_end = self.next_position()
        else_start = then_end + 1
        after_if = self.first_states(mark_else)  # was it alive after the If?
        in_else = {var: var in self.open for var in after_if}
        # then-branch: back to what is alive after the If
        for var, was_open in after_if.items():
            if var in self.open:
                self.close_at(var, else_start)
            if was_open:
                self.open_until(var, then_end)
        mark_then = len(self.journal)
        for phi in stmt.phis:
            self.read(phi.then_value, then_end)
        self.block(stmt.then_body)
        test = self.next_position()
        # before the If: alive in either branch
        for var, was_open in self.first_states(mark_then).items():
            if var not in self.open and in_else.get(var, was_open):
                self.open_until(var, test)
        for var in in_else:
            if var not in self.open and in_else[var]:
                self.open_until(var, test)
        self.read(stmt.cond, test)

    def loop(self, stmt):
        exit_ = self.next_position()
        for c in stmt.carried:
            self.bind(c.out, exit_)
        body_end = self.next_position()
        for c in stmt.carried:
            self.read(c.next, body_end)
        body_all = stmt.body + (stmt.cond_body if isinstance(stmt, ir.While) else [])
        inner = set(ir.all_defs(body_all)) | {c.arg for c in stmt.carried}
        if isinstance(stmt, ir.For):
            inner.add(stmt.index)
            self.read(stmt.iterable, body_end)  # read again at every iteration's top
        # a value defined outside the loop and read inside is alive all through it
        reads = _reads_inside(body_all, self.folded)
        if isinstance(stmt, ir.While):
            reads += expand_folded(stmt.cond, self.folded)
        for v in reads:
            if v not in inner:
                self.open_until(v, body_end - 1)
        mark_body = len(self.journal)
        self.block(stmt.body)
        if isinstance(stmt, ir.While):
            test = self.next_position()
            self.read(stmt.cond, test)
            for c in stmt.carried:
                self.open_until(c.arg, test - 1)
            self.block(stmt.cond_body)
        top = self.next_position()
        # alive at the top of the body, so alive at its end too (the back edge)
        args = {c.arg for c in stmt.carried} | ({stmt.index} if isinstance(stmt, ir.For) else set())
        for var, was_open in self.first_states(mark_body).items():
            if not was_open and var in self.open and var not in args:
                self.emit(var, self.defined.get(var, top), body_end - 1)
            elif was_open and var not in self.open and var not in inner:
                self.open_until(var, top)  # killed by a raise in the body, yet alive before the loop
        if isinstance(stmt, ir.For):
            self.bind(stmt.index, top)
        for c in stmt.carried:
            self.bind(c.arg, top)
        header = self.next_position()
        for c in stmt.carried:
            self.read(c.init, header)


def _reads_inside(stmts, folded) -> list:
    """Every value the statements read anywhere inside them (phi inputs and yields included)."""
    found = []
    for stmt in ir.walk(stmts):
        atoms = list(ir.uses(stmt))
        if isinstance(stmt, ir.If):
            atoms += [v for p in stmt.phis for v in (p.then_value, p.else_value)]
        if isinstance(stmt, (ir.For, ir.While)):
            atoms += [c.next for c in stmt.carried]
        for a in atoms:
            found.extend(expand_folded(a, folded))
    return found
