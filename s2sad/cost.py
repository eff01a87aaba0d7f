"""What a generated derivative costs: tape bytes, what each loop saves, time against the function.

``s2sad.grad(f).cost(*args)`` runs the derivative once with its tape measured
and times it against ``f``. The report answers "why is my gradient slow or
big": which loop saves what per iteration (the names, as ``.source`` shows
them), how many bytes that comes to, and how the time compares with the
cheap-gradient bound (a reverse sweep costs a small constant times the function,
3 to 4 for the operations s2sad generates).
"""

from __future__ import annotations

import array
import ast
import re
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from .codegen import compile_function
from .runtime import shape_of

# Griewank's cheap-gradient bound: a gradient costs at most this many times the function
CHEAP_GRADIENT_BOUND = 4.0
# the bound per kind of derivative (Griewank & Walther, "Evaluating Derivatives", ch. 4): one reverse
# sweep 4x, one tangent 2.5x, a Hessian-vector product (tangent over adjoint) 10x; a Jacobian or a
# Hessian takes one sweep per row or column, so no constant bounds it: none is shown
BOUNDS = {"grad": CHEAP_GRADIENT_BOUND, "value_and_grad": CHEAP_GRADIENT_BOUND, "vjp": CHEAP_GRADIENT_BOUND,
          "grad_aux": CHEAP_GRADIENT_BOUND, "value_and_grad_aux": CHEAP_GRADIENT_BOUND,
          "vjp_aux": CHEAP_GRADIENT_BOUND, "jvp": 2.5, "hvp": 10.0}
_LIST_SLOT = 8  # bytes a list holds per item (a pointer)
_FLOAT_SLOT = 8  # bytes the float tape (array.array("d")) holds per value
_KIND_SLOT = 1  # bytes the kinds tape (a bytearray) holds per value saved as a float or NumPy scalar


@dataclass
class LoopCost:
    """What one loop of the derivative saves on its tape.

    Attributes:
        line: the loop's line in the user's source (None if unknown).
        text: that line's source.
        names: the values one iteration pushes, as ``.source`` names them.
        pushes: how many values it pushed in the measured run.
        bytes: how many bytes those take.
        iterations: how many iterations it ran: counted for a ``for`` loop; for a ``while`` loop,
            at a push every iteration makes, or at one in each branch of an ``if``; else estimated
            as the pushes over the names (branches that save different values make it inexact).
    """

    line: int | None
    text: str
    names: list
    pushes: int = 0
    bytes: int = 0
    counted_at: list = field(default_factory=list, repr=False)  # generated lines whose counts sum to iterations
    counts: dict = field(default_factory=dict, repr=False)  # generated line -> pushes there

    ran: int | None = field(default=None, repr=False)  # iterations counted (a for loop)
    node: object = field(default=None, repr=False, compare=False)  # the generated loop (ast)

    @property
    def iterations(self) -> int:
        if self.ran is not None:
            return self.ran
        if self.counted_at:
            return sum(self.counts.get(line, 0) for line in self.counted_at)
        return self.pushes // max(1, len(self.names))

    @property
    def bytes_per_iteration(self) -> float:
        return self.bytes / self.iterations if self.iterations else 0.0


@dataclass
class Cost:
    """The report of :meth:`GeneratedFunction.cost`. ``print`` it, or read its fields.

    Attributes:
        tape_bytes: the most bytes the tape held at once (values and list slots).
        pushes: values pushed in all.
        loops: a :class:`LoopCost` per loop that saves values, in the order of ``.source``.
        function_seconds, derivative_seconds: the best time of one call of each.
        ratio: derivative_seconds / function_seconds.
        bound: the bound on that ratio for this kind of derivative (`BOUNDS`): 4 for a gradient or
            a vjp, 2.5 for a jvp, 10 for an hvp; None for a Jacobian or Hessian (one sweep per row).
        hint: one line saying what to look at first.
    """

    tape_bytes: int
    pushes: int
    loops: list = field(default_factory=list)
    function_seconds: float = float("nan")
    derivative_seconds: float = float("nan")
    bound: float | None = CHEAP_GRADIENT_BOUND
    hint: str = ""

    @property
    def ratio(self) -> float:
        return self.derivative_seconds / self.function_seconds if self.function_seconds > 0 else float("nan")

    def __str__(self) -> str:
        lines = [f"tape: {_size(self.tape_bytes)} at most, {self.pushes} values pushed",
                 f"time: function {_seconds(self.function_seconds)}, derivative {_seconds(self.derivative_seconds)}"
                 f" = {self.ratio:.1f}x the function"
                 + (f" (cheap-gradient bound: {self.bound:g}x)" if self.bound is not None else "")]
        for loop in self.loops:
            where = f"line {loop.line}" if loop.line is not None else "a loop"
            lines.append(f"  {where}: {loop.text}")
            lines.append(f"    saves {len(loop.names)} per iteration ({', '.join(loop.names)}): "
                         f"{loop.iterations} iterations, {_size(loop.bytes)}"
                         + (f", {loop.bytes_per_iteration:.0f} bytes per iteration" if loop.iterations else ""))
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return "\n".join(lines)

    __repr__ = __str__


def _size(n: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} bytes"


def _seconds(t: float) -> str:
    if t != t:
        return "?"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if t >= scale:
            return f"{t / scale:.3g} {unit}"
    return f"{t / 1e-9:.3g} ns"


def _nbytes(value) -> int:
    """Bytes one saved value keeps alive: the object (an array's own data included) and its list slot;
    the slot alone for a shape stand-in (`runtime.shape_of`), one object shared by every push."""
    if value.__class__ in _STAND_IN_TYPES and shape_of(value) is value:
        return _LIST_SLOT
    try:
        return sys.getsizeof(value) + _LIST_SLOT
    except TypeError:  # pragma: no cover - objects without a size
        return _LIST_SLOT


_STAND_IN_TYPES = (np.ndarray, np.float64, float)  # (shape_of gives a list or an int back as it is)


class _Measure:
    """What the tapes of one run held: per generated line, how many values were pushed and their
    bytes; the bytes held at once, and the most."""

    def __init__(self):
        self.live = 0
        self.peak = 0
        self.by_line: dict = {}

    def pushed(self, size, values=1):
        line = sys._getframe(2).f_lineno
        count = self.by_line.setdefault(line, [0, 0])
        count[0] += values
        count[1] += size
        self.live += size
        self.peak = max(self.peak, self.live)


class _MeasuredTape(list):
    """The list tape, recording each value's bytes (the object and its list slot) in `measure`."""

    def __init__(self, measure):
        super().__init__()
        self.measure = measure
        self.sizes = []

    def append(self, value):
        size = _nbytes(value)
        self.measure.pushed(size)
        super().append(value)
        self.sizes.append(size)

    def pop(self, *index):
        self.measure.live -= self.sizes.pop(*index)
        return super().pop(*index)


class _MeasuredFloats(array.array):
    """The float tape (``array.array("d")``), recording 8 bytes a value in `measure`."""

    def __new__(cls, typecode, measure):
        tape = super().__new__(cls, typecode)
        tape.measure = measure
        return tape

    def append(self, value):
        self.measure.pushed(_FLOAT_SLOT)
        super().append(value)

    def pop(self, *index):
        self.measure.live -= _FLOAT_SLOT
        return super().pop(*index)


class _MeasuredKinds(bytearray):
    """The kinds tape (a ``bytearray``: is the value saved next to it a Python float), recording one
    byte a value in `measure`, counted as part of that value (not as a value of its own)."""

    def __init__(self, measure):
        super().__init__()
        self.measure = measure

    def append(self, kind):
        self.measure.pushed(_KIND_SLOT, values=0)
        super().append(kind)

    def pop(self, *index):
        self.measure.live -= _KIND_SLOT
        return super().pop(*index)


_TAPE_LINE = re.compile(r"^(\s+)(tape(?:_\d+)?) = \[\]$", re.M)
_FLOAT_TAPE_LINE = re.compile(r"^(\s+)(tape(?:_\d+)?_float(?:s|64)(?:_\d+)?) = array(?:_\d+)?\.array\('d'\)$", re.M)
_KINDS_TAPE_LINE = re.compile(r"^(\s+)(tape(?:_\d+)?_kinds(?:_\d+)?) = bytearray\(\)$", re.M)
_LINE_COMMENT = re.compile(r"#\s*line (\d+)(?: in [^:]*)?: (.*)$")


def _is_push(node, tapes) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "append" \
        and isinstance(node.func.value, ast.Name) and node.func.value.id in tapes


def _counted_at(body, tapes):
    """Generated lines whose push counts sum to the iterations of a loop with this body: a push
    every iteration makes (one at the top level of the body), else one in each branch of an ``if``
    whose two branches both push; None if there is none (a branch that pushes nothing)."""
    for stmt in body:
        if isinstance(stmt, ast.Expr) and _is_push(stmt.value, tapes):
            return [stmt.lineno]
    for stmt in body:
        if isinstance(stmt, ast.If):
            then, orelse = _counted_at(stmt.body, tapes), _counted_at(stmt.orelse, tapes)
            if then is not None and orelse is not None:
                return then + orelse
    return None


def _loops(source: str, tapes, kinds=()) -> tuple[dict, list]:
    """The loops of `source` that push onto one of `tapes` (their names), each with the names it pushes.
    An append to one of `kinds` (a kinds tape: a byte per value beside it) is that loop's too, no name.

    Returns:
        ({line of each ``<tape>.append``: the LoopCost of the loop around it}, the LoopCosts in order).
    """
    lines = source.splitlines()
    per_loop: dict = {}  # id of the ast loop -> its LoopCost
    at_line: dict = {}

    def visit(node, loop):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.For, ast.While)):
                visit(child, child)
                continue
            if loop is not None and _is_push(child, tapes):
                cost = per_loop.get(id(loop))
                if cost is None:
                    cost = per_loop[id(loop)] = LoopCost(*_user_line(lines, loop.lineno), [])
                    cost.counted_at = _counted_at(loop.body, tapes) or []
                    cost.node = loop
                cost.names.append(ast.unparse(child.args[0]) if child.args else "?")
                at_line[child.lineno] = cost
            elif loop is not None and _is_push(child, kinds) and id(loop) in per_loop:
                at_line[child.lineno] = per_loop[id(loop)]
            visit(child, loop)

    visit(ast.parse(source), None)
    return at_line, list(per_loop.values())


def _counting_iterations(source: str, loops) -> str:
    """`source` with the iterable of each ``for`` loop among `loops` wrapped in
    ``measured_iterations(<its line>, ...)``, on the same line (the line numbers stay)."""
    lines = source.splitlines(keepends=True)
    for loop in loops:
        node = loop.node
        if isinstance(node, ast.For) and node.iter.lineno == node.lineno == node.iter.end_lineno:
            text = lines[node.lineno - 1]
            start, end = _char_offset(text, node.iter.col_offset), _char_offset(text, node.iter.end_col_offset)
            lines[node.lineno - 1] = (text[:start] + f"measured_iterations({node.lineno}, {text[start:end]})"
                                      + text[end:])
    return "".join(lines)


def _char_offset(text: str, byte_offset: int) -> int:
    return len(text.encode("utf-8")[:byte_offset].decode("utf-8"))


def _user_line(lines, loop_line):
    """The ``# line N: text`` comment nearest above a generated loop: the user's loop."""
    for k in range(loop_line - 2, -1, -1):
        match = _LINE_COMMENT.search(lines[k])
        if match:
            return int(match.group(1)), match.group(2).strip()
    return None, lines[loop_line - 1].strip()


def _best_times(calls, budget=0.3) -> list:
    """The best time of one call of each of `calls` (functions of no argument), timed in turns
    within about `budget` seconds, so that a busy machine slows them alike."""
    numbers = []
    for call in calls:
        start = time.perf_counter()
        call()
        once = max(time.perf_counter() - start, 1e-7)
        numbers.append(max(1, min(1000, int(budget / (5 * len(calls)) / once))))
    best = [float("inf")] * len(calls)
    for _ in range(5):
        for k, (call, number) in enumerate(zip(calls, numbers)):
            t0 = time.perf_counter()
            for _ in range(number):
                call()
            best[k] = min(best[k], (time.perf_counter() - t0) / number)
    return best


def measure(generated, args, kwargs, primal_args, primal_kwargs, checkpointed, can_checkpoint=True,
            kind="grad") -> Cost:
    """Run `generated` once with its tape measured, and time it against its function.

    Args:
        generated: a GeneratedFunction (already specialized to the arguments' structure).
        args, kwargs: its arguments.
        primal_args, primal_kwargs: the function's own arguments among them.
        checkpointed: whether it was built with ``checkpoint=`` (for the hint).
        can_checkpoint: whether its kind takes ``checkpoint=`` (grad, value_and_grad), for the hint.
        kind: the kind of derivative, for the bound on its time (`BOUNDS`).

    Returns:
        A :class:`Cost`.
    """
    source = generated.source
    tape = None
    matches = [(m, kind_) for pattern, kind_ in ((_TAPE_LINE, "list"), (_FLOAT_TAPE_LINE, "floats"),
                                                 (_KINDS_TAPE_LINE, "kinds"))
               for m in pattern.finditer(source)]
    if matches:
        tape = _Measure()
        names, kinds = set(), set()
        measured_source = source
        for match, kind_ in sorted(matches, key=lambda pair: -pair[0].start()):  # the later first: offsets hold
            (kinds if kind_ == "kinds" else names).add(match.group(2))
            measured_source = (measured_source[:match.start()] + f"{match.group(1)}{match.group(2)} = "
                               f"measured_{kind_}()" + measured_source[match.end():])
        by_line, loops = _loops(source, names, kinds)
        measured_source = _counting_iterations(measured_source, loops)
        ran = {}

        def counted(loop_line, iterable):
            ran.setdefault(loop_line, 0)
            for item in iterable:
                ran[loop_line] += 1
                yield item

        bindings = dict(generated.namespace.bindings)
        bindings["measured_iterations"] = counted
        bindings["measured_list"] = lambda: _MeasuredTape(tape)
        bindings["measured_floats"] = lambda: _MeasuredFloats("d", tape)
        bindings["measured_kinds"] = lambda: _MeasuredKinds(tape)
        instrumented = compile_function(measured_source, generated.ir.name, _Bindings(bindings),
                                        live_globals=getattr(generated._func, "__globals__", None),
                                        filename=f"<s2sad cost of {generated.__name__}>")
        original = generated._func
        generated._func = instrumented
        try:
            generated(*args, **kwargs)
        finally:
            generated._func = original
        for loop in loops:
            if isinstance(loop.node, ast.For):
                loop.ran = ran.get(loop.node.lineno, 0)
        for line, (count, size) in tape.by_line.items():
            loop = by_line.get(line - 1)  # compile_function puts one line (the factory's def) above
            if loop is not None:
                loop.pushes += count
                loop.bytes += size
                if count:
                    loop.counts[line - 1] = count
    else:
        generated(*args, **kwargs)  # its argument checks (an s2sad error) before the function is timed
        loops = []
    measured = tape is not None
    report = Cost(tape_bytes=tape.peak if measured else 0,
                  pushes=sum(c for c, _ in tape.by_line.values()) if measured else 0, loops=loops,
                  bound=BOUNDS.get(kind))
    report.function_seconds, report.derivative_seconds = _best_times(
        [lambda: generated.primal(*primal_args, **primal_kwargs), lambda: generated(*args, **kwargs)])
    report.hint = _hint(report, checkpointed, can_checkpoint)
    return report


class _Bindings:
    """What `compile_function` reads of a Namespace: the names the code is compiled with."""

    def __init__(self, bindings):
        self.bindings = bindings


def _hint(report: Cost, checkpointed, can_checkpoint=True) -> str:
    if not report.loops:
        hint = "no tape: nothing is saved per iteration"
    elif checkpointed:
        hint = (f"checkpointed: the tape held at most {_size(report.tape_bytes)} at once, "
                f"of {report.pushes} values pushed in all")
    else:
        worst = max(report.loops, key=lambda loop: loop.bytes)
        per = worst.bytes_per_iteration
        where = f"loop at line {worst.line}" if worst.line is not None else "a loop"
        values = "value" if len(worst.names) == 1 else "values"
        hint = (f"{where} stores {len(worst.names)} {values} per iteration ({per:.0f} bytes), "
                f"{_size(per * 1e6)} for 1e6 iterations")
        if can_checkpoint:
            hint += ": consider checkpoint='sqrt' for long loops (O(√n) memory for one more forward run)"
    if report.bound is not None and report.ratio == report.ratio and report.ratio > report.bound:
        hint += f"; the derivative takes {report.ratio:.1f}x the function, above the {report.bound:g}x bound"
    return hint


__all__ = ["Cost", "LoopCost", "measure", "CHEAP_GRADIENT_BOUND", "BOUNDS"]
