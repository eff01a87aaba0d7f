"""What a generated derivative costs: tape bytes, what each loop saves, time against the function.

``s2sad.grad(f).cost(*args)`` runs the derivative once with its tape measured
and times it against ``f``. The report answers "why is my gradient slow or
big": which loop saves what per iteration (the names, as ``.source`` shows
them), how many bytes that comes to, and how the time compares with the
cheap-gradient bound (a reverse sweep costs a small constant times the function,
3 to 4 for the operations s2sad generates).
"""

from __future__ import annotations

import ast
import re
import sys
import time
from dataclasses import dataclass, field

from .codegen import compile_function

# Griewank's cheap-gradient bound: a gradient costs at most this many times the function
CHEAP_GRADIENT_BOUND = 4.0
_LIST_SLOT = 8  # bytes a list holds per item (a pointer)


@dataclass
class LoopCost:
    """What one loop of the derivative saves on its tape.

    Attributes:
        line: the loop's line in the user's source (None if unknown).
        text: that line's source.
        names: the values one iteration pushes, as ``.source`` names them.
        pushes: how many values it pushed in the measured run.
        bytes: how many bytes those take.
        iterations: how many iterations pushed (the pushes over the names per iteration).
    """

    line: int | None
    text: str
    names: list
    pushes: int = 0
    bytes: int = 0

    @property
    def iterations(self) -> int:
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
        bound: the cheap-gradient bound the ratio is measured against.
        hint: one line saying what to look at first.
    """

    tape_bytes: int
    pushes: int
    loops: list = field(default_factory=list)
    function_seconds: float = float("nan")
    derivative_seconds: float = float("nan")
    bound: float = CHEAP_GRADIENT_BOUND
    hint: str = ""

    @property
    def ratio(self) -> float:
        return self.derivative_seconds / self.function_seconds if self.function_seconds > 0 else float("nan")

    def __str__(self) -> str:
        lines = [f"tape: {_size(self.tape_bytes)} at most, {self.pushes} values pushed",
                 f"time: function {_seconds(self.function_seconds)}, derivative {_seconds(self.derivative_seconds)}"
                 f" = {self.ratio:.1f}x the function (cheap-gradient bound: {self.bound:g}x)"]
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
    """Bytes one saved value keeps alive: the object (an array's own data included) and its list slot."""
    try:
        return sys.getsizeof(value) + _LIST_SLOT
    except TypeError:  # pragma: no cover - objects without a size
        return _LIST_SLOT


class _MeasuredTape(list):
    """A tape that records, per generated line, how many values were pushed and their bytes."""

    def __init__(self):
        super().__init__()
        self.sizes = []
        self.live = 0
        self.peak = 0
        self.by_line: dict = {}

    def append(self, value):
        size = _nbytes(value)
        line = sys._getframe(1).f_lineno
        count = self.by_line.setdefault(line, [0, 0])
        count[0] += 1
        count[1] += size
        super().append(value)
        self.sizes.append(size)
        self.live += size
        self.peak = max(self.peak, self.live)

    def pop(self, *index):
        self.live -= self.sizes.pop(*index)
        return super().pop(*index)


_TAPE_LINE = re.compile(r"^(\s+)(tape(?:_\d+)?) = \[\]$", re.M)
_LINE_COMMENT = re.compile(r"#\s*line (\d+)(?: in [^:]*)?: (.*)$")


def _loops(source: str, tape: str) -> tuple[dict, list]:
    """The loops of `source` that push onto `tape`, each with the names it pushes.

    Returns:
        ({line of each ``tape.append``: the LoopCost of the loop around it}, the LoopCosts in order).
    """
    lines = source.splitlines()
    per_loop: dict = {}  # id of the ast loop -> its LoopCost
    at_line: dict = {}

    def visit(node, loop):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.For, ast.While)):
                visit(child, child)
                continue
            if loop is not None and isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute) \
                    and child.func.attr == "append" and isinstance(child.func.value, ast.Name) \
                    and child.func.value.id == tape:
                cost = per_loop.get(id(loop))
                if cost is None:
                    cost = per_loop[id(loop)] = LoopCost(*_user_line(lines, loop.lineno), [])
                cost.names.append(ast.unparse(child.args[0]) if child.args else "?")
                at_line[child.lineno] = cost
            visit(child, loop)

    visit(ast.parse(source), None)
    return at_line, list(per_loop.values())


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


def measure(generated, args, kwargs, primal_args, primal_kwargs, checkpointed, can_checkpoint=True) -> Cost:
    """Run `generated` once with its tape measured, and time it against its function.

    Args:
        generated: a GeneratedFunction (already specialized to the arguments' structure).
        args, kwargs: its arguments.
        primal_args, primal_kwargs: the function's own arguments among them.
        checkpointed: whether it was built with ``checkpoint=`` (for the hint).
        can_checkpoint: whether its kind takes ``checkpoint=`` (grad, value_and_grad), for the hint.

    Returns:
        A :class:`Cost`.
    """
    source = generated.source
    match = _TAPE_LINE.search(source)
    tape = None
    if match is not None:
        tape = _MeasuredTape()
        name = match.group(2)
        measured_source = source[:match.start()] + f"{match.group(1)}{name} = measured_tape()" + source[match.end():]
        bindings = dict(generated.namespace.bindings)
        bindings["measured_tape"] = lambda: tape
        instrumented = compile_function(measured_source, generated.ir.name, _Bindings(bindings),
                                        live_globals=getattr(generated._func, "__globals__", None),
                                        filename=f"<s2sad cost of {generated.__name__}>")
        original = generated._func
        generated._func = instrumented
        try:
            generated(*args, **kwargs)
        finally:
            generated._func = original
        by_line, loops = _loops(source, name)
        for line, (count, size) in tape.by_line.items():
            loop = by_line.get(line - 1)  # compile_function puts one line (the factory's def) above
            if loop is not None:
                loop.pushes += count
                loop.bytes += size
    else:
        generated(*args, **kwargs)  # its argument checks (an s2sad error) before the function is timed
        loops = []
    measured = tape is not None
    report = Cost(tape_bytes=tape.peak if measured else 0,
                  pushes=sum(c for c, _ in tape.by_line.values()) if measured else 0, loops=loops)
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
    if report.ratio == report.ratio and report.ratio > report.bound:
        hint += f"; the derivative takes {report.ratio:.1f}x the function, above the {report.bound:g}x bound"
    return hint


__all__ = ["Cost", "LoopCost", "measure", "CHEAP_GRADIENT_BOUND"]
