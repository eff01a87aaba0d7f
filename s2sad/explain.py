"""Explain: the lecture's evaluation trace (forward values, then adjoints) for one call.

``s2sad.explain(f, *args)`` runs ``f`` on concrete arguments by *interpreting
its SSA IR* (the same IR every transformation starts from), records every value
it computes, then runs reverse mode over that record, one edge at a time:

* the **forward trace** has one row per computed value, numbered ``v1 … vn``
  like the lecture (the inputs first), with the operation as written
  (``v3 = log(v1)``), its value and the source line it came from;
* the **reverse trace** has one row per adjoint ``v̄k = ∂f/∂vk``, in reverse
  order: for each use of ``vk`` the upstream gradient ``v̄j``, the local
  gradient ``∂vj/∂vk`` and their product; a value used twice (fan-out) gets
  two contributions and their sum.

Local gradients are not a second implementation of calculus: each comes from
the value's registered adjoint rule (the template in ``s2sad/rules/``),
executed on the concrete numbers with ``y_bar = 1`` (the local gradient) and
with ``y_bar`` = the upstream adjoint (the product), exactly as
``s2sad/check.py`` runs templates. For arrays the local gradient is a Jacobian
that is not printed; the product (a vector-Jacobian product) is.

Control flow is shown as it ran: the branch taken, and each loop iteration's
rows (long loops keep the first iterations and the last one and say how many
were left out: ``… 7 more iterations``). Values are numbered in the order the
lecture writes them: within one source line, operations are listed by their
depth in the expression (``ln x1``, ``x1*x2`` and ``sin x2`` before the sums),
which is a valid evaluation order; ``order="ssa"`` keeps the IR's order.

The same data is available as rows (:attr:`Explanation.forward`,
:attr:`Explanation.reverse`), as markdown (:meth:`Explanation.to_markdown`),
as HTML in notebooks, and as a computational graph (:func:`s2sad.graph`).
"""

from __future__ import annotations

import html
import inspect
import linecache
import numbers
import operator
import unicodedata
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import ir, runtime
from .api import InternalError, _as_real, resolve_wrt
from .check import _run_adjoint_template
from .errors import ArgumentError, Location, NoDerivativeError, S2SADError, raise_problems
from .formatting import _fmt
from .frontend import parse_function, signature, unwrap
from .generated_ir import tape_as_list
from .graph import Graph
from .lower import normalize
from .primitives import identity, list_append, pack_list, pack_tuple, setitem
from .rules import registry

BAR = "\u0304"  # combining macron: v̄


# --------------------------------------------------------------------------- rows


@dataclass
class ForwardRow:
    """One row of the forward evaluation trace.

    Attributes:
        kind: "input", "op" (a computed value), "branch" (which branch ran),
            "iteration" (a loop iteration starts), "more" (iterations left out).
        name: the value's lecture name ``v3`` ("" for control rows).
        source_name: the name in the user's code (``z``), "" for temporaries.
        op: the operation as written, ``v3 = log(v1)``; for control rows, the text.
        value: the computed value (None for control rows).
        line: the source line number, or None.
        source: the text of that source line.
        is_output: the function's result.
        shown: printed in the text (False inside left-out loop iterations).
        iteration: the loop iterations this row belongs to, outermost first
            (``(("i", 0),)``), empty outside loops.
    """

    kind: str
    name: str
    source_name: str
    op: str
    value: Any
    line: int | None
    source: str
    is_output: bool = False
    shown: bool = True
    iteration: tuple = ()


@dataclass
class Contribution:
    """One term of an adjoint: ``upstream × local = product``, along one edge.

    Attributes:
        to: the value that uses this one (``v4`` in ``v̄2 += v̄4 · ∂v4/∂v2``),
            or "seed" for the output's own adjoint.
        upstream: the adjoint of `to` (``v̄4``).
        local: the local gradient ``∂to/∂this`` (None for arrays: a Jacobian).
        product: the contribution to this adjoint (a vector-Jacobian product for arrays).
    """

    to: str
    upstream: Any
    local: Any
    product: Any


@dataclass
class ReverseRow:
    """One row of the reverse trace: the adjoint ``v̄k`` of one value.

    Attributes:
        kind: "seed" (the output), "adjoint", or "more" (iterations left out).
        name: the adjoint's name, ``v̄3``.
        of: the value's name, ``v3``.
        source_name: the value's name in the user's code, or "".
        contributions: one per use of the value (two or more at a fan-out).
        value: the adjoint: the sum of the contributions.
        line: the source line of the value.
        shown: printed in the text.
        iteration: as in :class:`ForwardRow`.
        text: for "more" rows, the text printed.
    """

    kind: str
    name: str
    of: str
    source_name: str
    contributions: list
    value: Any
    line: int | None
    shown: bool = True
    iteration: tuple = ()
    text: str = ""


# ------------------------------------------------------------------ the record


class _Lit:
    """A value that is not a recorded node: a constant, a global, a loop index."""

    __slots__ = ("label", "value")

    def __init__(self, value, label=None):
        self.value = value
        self.label = label


class _Node:
    """One computed value of the run (an input or one executed Assign)."""

    __slots__ = (
        "active",
        "adjoint",
        "args",
        "contributions",
        "depth",
        "is_input",
        "iteration",
        "kwargs",
        "loc",
        "name",
        "position",
        "shown",
        "stmt",
        "uses",
        "value",
        "var",
    )

    def __init__(self, value, stmt=None, args=(), kwargs=(), var=None, iteration=(), loc=None):
        self.value = value
        self.stmt = stmt
        self.args = list(args)
        self.kwargs = list(kwargs)
        self.var = var
        self.iteration = iteration
        self.loc = loc
        self.is_input = stmt is None
        self.active = False
        self.name = ""
        self.shown = True
        self.depth = 0
        self.position = 0
        self.adjoint = None
        self.contributions = []  # [(consumer node or None for the seed, upstream, local, product)]
        self.uses = 0


@dataclass
class _Event:
    """A control-flow event in the record: a branch taken, a loop, a left-out stretch."""

    kind: str  # "branch" | "loop"
    stmt: Any
    text: str = ""
    body: list = field(default_factory=list)  # branch: events; loop: list of iterations (lists of events)
    labels: list = field(default_factory=list)  # loop: the text of each iteration's header
    exit: list = field(default_factory=list)  # while: the final, failing test
    iteration: tuple = ()


def _short_path(ref: ir.Ref) -> ir.Ref:
    """``np.log`` -> ``log``, as the lecture writes it."""
    path = ref.path
    if len(path) >= 2 and path[0] in ("np", "numpy", "math", "jnp"):
        return ir.Ref(path[1:], ref.value, ref.value)
    return ref


class _Interpreter:
    """Runs a function's SSA IR on concrete values and records every value it computes."""

    MAX_VALUES = 20000

    def __init__(self, fn: ir.Function, func):
        self.fn = fn
        self.func = func
        self.nodes: list[_Node] = []

    def atom(self, atom, env):
        if isinstance(atom, ir.Var):
            return env[atom]
        if isinstance(atom, ir.Const):
            return _Lit(atom.value)
        if isinstance(atom, ir.Ref):
            return _Lit(atom.value, atom.dotted)
        raise InternalError(f"explain: unexpected atom {atom!r}")

    def block(self, stmts, env, events, iteration):
        for stmt in stmts:
            if isinstance(stmt, ir.Assign):
                self.assign(stmt, env, events, iteration)
            elif isinstance(stmt, ir.If):
                cond = self.atom(stmt.cond, env)
                taken = self.truth(cond.value, stmt)
                event = _Event("branch", stmt, iteration=iteration)
                event.text = "then" if taken else "else"
                events.append(event)
                self.block(stmt.then_body if taken else stmt.else_body, env, event.body, iteration)
                for phi in stmt.phis:
                    env[phi.target] = self.atom(phi.then_value if taken else phi.else_value, env)
            elif isinstance(stmt, ir.For):
                self.for_loop(stmt, env, events, iteration)
            elif isinstance(stmt, ir.While):
                self.while_loop(stmt, env, events, iteration)
            elif isinstance(stmt, ir.Assert):
                test = self.atom(stmt.test, env).value
                if not self.truth(test, stmt):
                    msg = self.atom(stmt.msg, env).value if stmt.msg is not None else ""
                    raise ArgumentError(f"assertion failed while explaining {self.fn.name}: {msg}", stmt.loc)
            elif isinstance(stmt, ir.Raise):
                exc = self.atom(stmt.exc, env).value if stmt.exc is not None else None
                raise ArgumentError(f"{self.fn.name} raised {exc!r} on these arguments", stmt.loc)
            elif isinstance(stmt, ir.Marker):
                continue
            else:
                raise InternalError(f"explain cannot interpret {type(stmt).__name__} statements")

    def truth(self, value, stmt):
        try:
            return bool(value)
        except Exception as exc:  # noqa: BLE001 - any failure of the user's value is reported
            raise ArgumentError(
                f"the condition at line {stmt.loc.line if stmt.loc else '?'} is not a single truth value "
                f"({type(exc).__name__}: {exc})",
                stmt.loc,
                hint="branch on a scalar, e.g. with .any() / .all(), or use np.where",
            ) from None

    def assign(self, stmt: ir.Assign, env, events, iteration):
        func = stmt.func.value
        args = [self.atom(a, env) for a in stmt.args]
        kwargs = [(k, self.atom(a, env)) for k, a in stmt.kwargs]
        if func is identity:  # y = x: the same value under a new name
            env[stmt.target] = args[0]
            return
        values = [a.value for a in args]
        if func is setitem and isinstance(values[0], (np.ndarray, list)):
            # SSA: x[i] = v makes a new value; keep the old one intact for the record
            values[0] = values[0].copy()
        if func is list_append or func is runtime.appended:
            values[0] = list(values[0])  # the same: items.append(v) is a new, longer list here
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                result = func(*values, **{k: a.value for k, a in kwargs})
        except S2SADError:
            raise
        except Exception as exc:  # noqa: BLE001 - the user's code failed: report where
            raise ArgumentError(
                f"{self.fn.name} raised {type(exc).__name__} while explaining it: {exc}",
                stmt.loc,
                hint="explain runs your function on the arguments you gave; check that it runs on them",
            ) from None
        node = _Node(result, stmt, args, kwargs, stmt.target, iteration, stmt.loc)
        self.record(node)
        env[stmt.target] = node
        events.append(node)

    def record(self, node):
        if len(self.nodes) >= self.MAX_VALUES:
            raise ArgumentError(
                f"{self.fn.name} computes more than {self.MAX_VALUES} values on these arguments; "
                "too many to explain",
                node.loc,
                hint="explain a smaller instance (fewer loop iterations)",
            )
        self.nodes.append(node)

    def loop_header(self, stmt, k, index_text):
        return f"iteration {k + 1}" + (f": {index_text}" if index_text else "")

    def for_loop(self, stmt: ir.For, env, events, iteration):
        iterable = self.atom(stmt.iterable, env)
        event = _Event("loop", stmt, iteration=iteration)
        events.append(event)
        try:
            items = list(iterable.value)
        except TypeError as exc:
            raise ArgumentError(f"cannot iterate over {type(iterable.value).__name__}: {exc}", stmt.loc) from None
        if stmt.reverse:
            items.reverse()
        for c in stmt.carried:
            env[c.arg] = self.atom(c.init, env)
        base = stmt.index.base or stmt.index.name
        for k, item in enumerate(items):
            inner = iteration + ((base, k),)
            body = []
            if isinstance(iterable, _Node) and not isinstance(iterable.value, range):
                # iterating over a computed value: the index is iterable[k], a value of its own
                index_node = _Node(item, ir.Assign(stmt.index, ir.prim(operator.getitem), [], [], stmt.loc),
                                   [iterable, _Lit(k)], [], stmt.index, inner, stmt.loc)
                self.record(index_node)
                env[stmt.index] = index_node
                body.append(index_node)
                header = self.loop_header(stmt, k, "")
            else:
                env[stmt.index] = _Lit(item, base)
                header = self.loop_header(stmt, k, f"{base} = {_fmt(item)}")
            self.block(stmt.body, env, body, inner)
            nexts = [self.atom(c.next, env) for c in stmt.carried]
            for c, nxt in zip(stmt.carried, nexts):
                env[c.arg] = nxt
            event.body.append(body)
            event.labels.append(header)
        for c in stmt.carried:
            env[c.out] = env[c.arg]

    def while_loop(self, stmt: ir.While, env, events, iteration):
        event = _Event("loop", stmt, iteration=iteration)
        events.append(event)
        for c in stmt.carried:
            env[c.arg] = self.atom(c.init, env)
        k = 0
        while True:
            inner = iteration + (("while", k),)
            body = []
            self.block(stmt.cond_body, env, body, inner)
            if not self.truth(self.atom(stmt.cond, env).value, stmt):
                event.exit = body
                break
            self.block(stmt.body, env, body, inner)
            nexts = [self.atom(c.next, env) for c in stmt.carried]
            for c, nxt in zip(stmt.carried, nexts):
                env[c.arg] = nxt
            event.body.append(body)
            event.labels.append(self.loop_header(stmt, k, ""))
            k += 1
        for c in stmt.carried:
            env[c.out] = env[c.arg]


# ------------------------------------------------------------------ formatting


def _is_scalar(value) -> bool:
    if not isinstance(value, (numbers.Number, np.generic, np.ndarray)):
        return False  # tuples (eigh's (w, V)), lists, None
    return np.ndim(value) == 0


def _width(text: str) -> int:
    return sum(0 if unicodedata.combining(ch) else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _bar(name: str) -> str:
    """``v3`` -> ``v̄3`` (the lecture's adjoint notation)."""
    return name[0] + BAR + name[1:] if name else name


# ------------------------------------------------------------------ the explanation


class Explanation:
    """The forward and reverse evaluation traces of one call of a function.

    Attributes:
        function: the function's name.
        args: the arguments, as given.
        wrt: the names of the parameters differentiated.
        value: the function's value.
        gradient: the gradient, shaped like ``s2sad.grad(f, wrt)(*args)``.
        forward: the forward trace, a list of :class:`ForwardRow`.
        reverse: the reverse trace, a list of :class:`ReverseRow`.

    ``str(explanation)`` is the text table; :meth:`to_markdown` and
    ``_repr_html_`` give tables; :meth:`graph` the computational graph.
    """

    def __init__(self, function, params, args, wrt, value, gradient, forward, reverse, nodes, output, digits,
                 many):
        self.function = function
        self.params = params
        self.args = args
        self.wrt = wrt
        self.value = value
        self.gradient = gradient
        self.forward = forward
        self.reverse = reverse
        self._nodes = nodes
        self._output = output
        self.digits = digits
        self._many = many

    # -- data helpers

    def row(self, name: str) -> ForwardRow:
        """The forward row of value `name` (``"v3"``) or of a source name (``"z"``, its last version).

        Raises:
            KeyError: no value has that name.
        """
        rows = [r for r in self.forward if r.kind in ("input", "op") and r.name == name]
        if not rows:
            rows = [r for r in self.forward if r.kind in ("input", "op") and r.source_name == name]
        if not rows:
            raise KeyError(name)
        return rows[-1]

    def adjoint(self, name: str) -> ReverseRow:
        """The reverse row of value `name` (``"v3"`` or a source name such as ``"x1"``).

        Raises:
            KeyError: the value has no adjoint (it does not influence the output).
        """
        rows = [r for r in self.reverse if r.kind != "more" and r.of == name]
        if not rows:
            rows = [r for r in self.reverse if r.kind != "more" and r.source_name == name]
        if not rows:
            raise KeyError(name)
        return rows[-1]

    def operation(self, node) -> str:
        """The operation one node of the trace performs, as the trace prints it: ``v3 = log(v1)``."""
        return _operation(node)

    def graph(self):
        """The computational graph of this run (see :func:`s2sad.graph`)."""
        return Graph(self)

    # -- text

    def _title(self) -> str:
        args = ", ".join(f"{p}={_fmt(a, self.digits)}" for p, a in zip(self.params, self.args))
        wrt = ", ".join(self.wrt)
        return f"{self.function}({args}), gradient with respect to {wrt}"

    def _fwd_cells(self, r: ForwardRow):
        tags = (["input"] if r.kind == "input" else []) + (["output"] if r.is_output else [])
        label = " ".join([r.source_name] * bool(r.source_name) + [f"({', '.join(tags)})"] * bool(tags))
        return [r.name, label, r.op, _fmt(r.value, self.digits), "" if r.line is None else str(r.line)]

    def _rev_lines(self, r: ReverseRow):
        """(adjoint, equation, value) text triples for one reverse row."""
        d = self.digits
        label = f"{r.name} ({r.source_name})" if r.source_name else r.name
        if r.kind == "seed":
            return [(label, "  seed: ∂f/∂f", _fmt(r.value, d))]
        out = []
        many = len(r.contributions) > 1
        for k, c in enumerate(r.contributions):
            head = label if k == 0 else ""
            sign = "  " if k == 0 else "+ "
            local = _fmt(c.local, d) if c.local is not None else "(Jacobian)"
            eq = f"{sign}{_bar(c.to)} · ∂{c.to}/∂{r.of} = {_fmt(c.upstream, d)} × {local}"
            out.append((head, eq, _fmt(c.product, d)))
        if many:
            out.append(("", f"  sum of {len(r.contributions)} contributions", _fmt(r.value, d)))
        return out

    def __str__(self) -> str:
        lines = [f"explain {self._title()}", "", "Forward evaluation trace"]
        header = ["v", "name", "operation", "value", "line"]
        cells, last_line = [], None
        for r in self.forward:
            if not r.shown:
                continue
            if r.kind in ("input", "op"):
                if r.line != last_line and r.source and r.kind == "op":
                    cells.append(("comment", f"# line {r.line}: {r.source.strip()}"))
                last_line = r.line if r.kind == "op" else last_line
                cells.append(("row", self._fwd_cells(r)))
            else:
                cells.append(("comment", "-- " + r.op if r.kind != "more" else r.op))
                if r.kind == "branch":
                    last_line = None
        widths = [max([_width(h) for h in [header[i]]] + [_width(c[1][i]) for c in cells if c[0] == "row"])
                  for i in range(5)]
        indent = "  "

        def fmt_row(cols):
            return indent + "  ".join(_pad(c, w) for c, w in zip(cols, widths)).rstrip()

        lines.append(fmt_row(header))
        for kind, c in cells:
            lines.append(indent + c if kind == "comment" else fmt_row(c))
        lines += ["", "Reverse trace (adjoints v̄ = ∂f/∂v, last value first)"]
        triples = []
        for r in self.reverse:
            if not r.shown:
                continue
            if r.kind == "more":
                triples.append(("more", r.text))
            else:
                triples.extend(("row", t) for t in self._rev_lines(r))
        w0 = max([_width("adjoint")] + [_width(t[0]) for k, t in triples if k == "row"])
        w1 = max([_width("upstream × local")] + [_width(t[1]) for k, t in triples if k == "row"])
        lines.append(indent + _pad("adjoint", w0) + "  " + _pad("  upstream × local", w1) + "  = product")
        for kind, t in triples:
            if kind == "more":
                lines.append(indent + t)
            else:
                lines.append(indent + _pad(t[0], w0) + "  " + _pad(t[1], w1) + "  = " + t[2])
        lines += ["", "Gradient"]
        for name, g in self._gradient_items():
            lines.append(f"  ∂f/∂{name} = {_fmt(g, self.digits)}   (v̄{self.params.index(name) + 1})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<s2sad explanation of {self._title()}; print() it>"

    # -- markdown / HTML

    def _tables(self):
        fwd_rows = []
        for r in self.forward:
            if not r.shown:
                continue
            if r.kind in ("input", "op"):
                fwd_rows.append(("row", self._fwd_cells(r)[:4] + [f"{r.line}: {r.source.strip()}" if r.line else ""]))
            else:
                fwd_rows.append(("note", r.op))
        rev_rows = []
        for r in self.reverse:
            if not r.shown:
                continue
            if r.kind == "more":
                rev_rows.append(("note", r.text))
            else:
                for a, eq, v in self._rev_lines(r):
                    rev_rows.append(("row", [a, eq.strip(), v]))
        return fwd_rows, rev_rows

    def to_markdown(self) -> str:
        """The two traces as markdown tables.

        Returns:
            Markdown text: a title, the forward table, the reverse table, the gradient.
        """
        def cell(text):
            return str(text).replace("|", "\\|")

        fwd_rows, rev_rows = self._tables()
        out = [f"**{cell(self._title())}**", "", "Forward evaluation trace", "",
               "| v | name | operation | value | line |", "|---|---|---|---|---|"]
        for kind, c in fwd_rows:
            out.append("| " + " | ".join(cell(x) for x in c) + " |" if kind == "row"
                       else f"| | | *{cell(c)}* | | |")
        out += ["", "Reverse trace (adjoints, last value first)", "",
                "| adjoint | upstream × local | product |", "|---|---|---|"]
        for kind, c in rev_rows:
            out.append("| " + " | ".join(cell(x) for x in c) + " |" if kind == "row" else f"| | *{cell(c)}* | |")
        out += [""] + [f"∂f/∂{n} = {cell(_fmt(g, self.digits))}  " for n, g in self._gradient_items()]
        return "\n".join(out)

    def _gradient_items(self):
        grads = self.gradient if self._many else (self.gradient,)
        return list(zip(self.wrt, grads))

    def _repr_html_(self) -> str:
        e = html.escape
        fwd_rows, rev_rows = self._tables()
        parts = [f"<p><b>{e(self._title())}</b></p>", "<p>Forward evaluation trace</p>",
                 "<table><tr><th>v</th><th>name</th><th>operation</th><th>value</th><th>line</th></tr>"]
        for kind, c in fwd_rows:
            if kind == "row":
                parts.append("<tr>" + "".join(f"<td><code>{e(x)}</code></td>" for x in c) + "</tr>")
            else:
                parts.append(f"<tr><td colspan='5'><i>{e(c)}</i></td></tr>")
        parts.append("</table><p>Reverse trace (adjoints, last value first)</p>"
                     "<table><tr><th>adjoint</th><th>upstream × local</th><th>product</th></tr>")
        for kind, c in rev_rows:
            if kind == "row":
                parts.append("<tr>" + "".join(f"<td><code>{e(x)}</code></td>" for x in c) + "</tr>")
            else:
                parts.append(f"<tr><td colspan='3'><i>{e(c)}</i></td></tr>")
        parts.append("</table><p>" + "<br/>".join(e(f"∂f/∂{n} = {_fmt(g, self.digits)}")
                                                 for n, g in self._gradient_items()) + "</p>")
        return "".join(parts)


# ------------------------------------------------------------------ building


def _flatten(events, max_iterations, out, shown=True):
    """Events -> a flat list of nodes and marker tuples ("branch"/"iteration"/"more", text, stmt, shown)."""
    for ev in events:
        if isinstance(ev, _Node):
            ev.shown = shown
            out.append(ev)
        elif ev.kind == "branch":
            stmt = ev.stmt
            line = stmt.loc.line if stmt.loc else None
            src = stmt.loc.text.strip() if stmt.loc and stmt.loc.text else "if"
            out.append(("branch", f"line {line}: {src}  -> {'true: then branch' if ev.text == 'then' else 'false: else branch'}",
                        stmt, shown, ev.iteration))
            _flatten(ev.body, max_iterations, out, shown)
        else:
            stmt = ev.stmt
            line = stmt.loc.line if stmt.loc else None
            src = stmt.loc.text.strip() if stmt.loc and stmt.loc.text else "loop"
            n = len(ev.body)
            out.append(("loop", f"line {line}: {src}  ({n} iteration{'s' if n != 1 else ''})", stmt, shown,
                        ev.iteration))
            keep = set(range(n)) if n <= max_iterations else set(range(max_iterations - 1)) | {n - 1}
            skipped = False
            for k, (body, label) in enumerate(zip(ev.body, ev.labels)):
                visible = shown and k in keep
                if not visible and shown and not skipped:
                    left = n - len(keep)
                    span = f"iteration {k + 1}" if left == 1 else f"iterations {k + 1}–{k + left}"
                    text = f"… {left} more iteration{'s' if left != 1 else ''} ({span} left out)"
                    out.append(("more", text, stmt, True, ev.iteration))
                    skipped = True
                out.append(("iteration", f"{label}", stmt, visible, ev.iteration))
                _flatten(body, max_iterations, out, visible)
            if ev.exit:
                out.append(("iteration", "loop test fails: exit", stmt, shown, ev.iteration))
                _flatten(ev.exit, max_iterations, out, shown)


def _lecture_order(flat):
    """Within each run of values from one source line, list shallower operations first (stable)."""
    out, run = [], []

    def flush():
        ids = {id(n) for n in run}
        for n in run:
            n.depth = 1 + max([a.depth for a in n.args if isinstance(a, _Node) and id(a) in ids] + [0])
        out.extend(sorted(run, key=lambda n: n.depth))
        run.clear()

    for item in flat:
        if isinstance(item, _Node) and (not run or (item.loc and run[-1].loc and item.loc.line == run[-1].loc.line
                                                    and item.iteration == run[-1].iteration)):
            run.append(item)
        else:
            flush()
            if isinstance(item, _Node):
                run.append(item)
            else:
                out.append(item)
    flush()
    return out


def _operation(node: _Node) -> str:
    """``v3 = log(v1)``."""
    def as_atom(a):
        if isinstance(a, _Node):
            return ir.Var(a.name)
        if a.label is not None:
            return ir.Var(a.label)
        return ir.Const(a.value) if not isinstance(a.value, np.ndarray) else ir.Var(_fmt(a.value))

    stmt = node.stmt
    if stmt.func.value is operator.getitem and not stmt.args:  # a loop index over a computed value
        return f"{node.name} = {node.args[0].name}[{node.args[1].value}]  (loop index {stmt.target.base})"
    fake = ir.Assign(ir.Var(node.name), _short_path(stmt.func), [as_atom(a) for a in node.args],
                     [(k, as_atom(a)) for k, a in node.kwargs])
    text = ir.format_call(fake)
    return f"{node.name} = {text}"


def _add(a, b):
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):  # a list's adjoint: item by item
        return tuple(_add(p, q) for p, q in zip(a, b))
    return a + b


class _Backward:
    """Reverse mode over the record, one edge at a time, with each edge's local gradient."""

    def run(self, order, output: _Node):
        output.adjoint = runtime.scalar_seed(output.value)
        output.contributions.append((None, None, None, output.adjoint))
        for node in reversed(order):
            if node.adjoint is None or node.is_input or not node.active:
                continue
            self.propagate(node)

    def give(self, node, consumer, upstream, local, product):
        if product is None:
            return
        node.contributions.append((consumer, upstream, local, product))
        node.adjoint = _add(node.adjoint, product)

    def propagate(self, node: _Node):
        func = node.stmt.func.value
        g = node.adjoint
        args = node.args
        if func is operator.getitem and not node.stmt.args:  # loop index over a computed value
            self.route(args[0], node, g, args[1].value)
            return
        if func is list_append or func is runtime.appended:  # the last adjoint is the value's, the rest the list's
            items, value = args
            parts = tuple(g)
            if isinstance(value, _Node) and value.active and parts and parts[-1] is not None:
                self.give(value, node, parts[-1], 1.0 if _is_scalar(parts[-1]) else None, parts[-1])
            if isinstance(items, _Node) and items.active and len(parts) > 1:
                self.give(items, node, parts[:-1], None, parts[:-1])
            return
        if func is setitem and isinstance(args[0], _Node) and isinstance(args[0].value, list):
            parts, index = list(g), args[1].value  # items[i] = v on a list: v gets the i-th adjoint
            value = args[2]
            if isinstance(value, _Node) and value.active and parts[index] is not None:
                self.give(value, node, parts[index], 1.0 if _is_scalar(parts[index]) else None, parts[index])
            if args[0].active:
                parts[index] = None
                self.give(args[0], node, tuple(parts), None, tuple(parts))
            return
        if func is operator.add and all(isinstance(a, _Node) and isinstance(a.value, (list, tuple)) for a in args):
            parts, n = tuple(g), len(args[0].value)  # list + list: split the adjoint where they were joined
            for a, piece in ((args[0], parts[:n]), (args[1], parts[n:])):
                if a.active:
                    self.give(a, node, piece, None, piece)
            return
        if func is runtime.add_sequences:  # item-by-item sum of lists (adjoints in generated code): linear
            for a in args:
                if isinstance(a, _Node) and a.active:
                    self.give(a, node, g, None, g)
            return
        if func in (pack_tuple, pack_list):
            for k, a in enumerate(args):
                if isinstance(a, _Node) and a.active and g[k] is not None:
                    self.give(a, node, g[k], 1.0 if _is_scalar(g[k]) else None, g[k])
            return
        if func is operator.getitem and isinstance(args[0], _Node) and isinstance(args[0].value, (tuple, list)):
            self.route(args[0], node, g, args[1].value)
            return
        rule = registry.adjoint_rule(func)
        if rule is None:
            if registry.is_nondifferentiable(func):
                return
            raise NoDerivativeError(
                f"{node.stmt.func.dotted} has no derivative rule, so its local gradient cannot be shown",
                node.loc,
                hint=f"register one with @s2sad.adjoint({node.stmt.func.dotted}), or declare it "
                "s2sad.nondifferentiable",
            )
        sig = inspect.signature(rule.template)
        try:
            bound = sig.bind(node.value, *[a.value for a in args], **{k: a.value for k, a in node.kwargs})
        except TypeError as exc:
            raise NoDerivativeError(
                f"the call to {node.stmt.func.dotted} does not match its derivative rule "
                f"{rule.template.__name__}{sig}: {exc}", node.loc) from None
        bound.apply_defaults()
        sources = {}  # parameter -> node, or list of nodes for *args
        atoms = inspect.signature(rule.template).bind(None, *args, **dict(node.kwargs)).arguments
        for pname, param in sig.parameters.items():
            if pname == rule.result_name or pname not in atoms:
                continue
            value = atoms[pname]
            if param.kind is inspect.Parameter.VAR_POSITIONAL:
                if any(isinstance(a, _Node) and a.active for a in value):
                    sources[pname] = list(value)
            elif isinstance(value, _Node) and value.active:
                sources[pname] = value
        if not sources:
            return
        values = dict(bound.arguments)
        products = self.run_rule(rule, node, g, values, list(sources))
        locals_ = {}
        if _is_scalar(node.value) and _is_scalar(g):
            one = np.ones_like(g) if isinstance(g, (np.ndarray, np.generic)) else 1.0
            locals_ = self.run_rule(rule, node, one, values, list(sources))
        for pname, src in sources.items():
            product = products.get(pname)
            if product is None:
                continue
            local = locals_.get(pname)
            if isinstance(src, list):
                for k, a in enumerate(src):
                    if isinstance(a, _Node) and a.active:
                        loc_k = local[k] if local is not None and _is_scalar(local[k]) and _is_scalar(a.value) else None
                        self.give(a, node, g, loc_k, product[k])
            else:
                if local is not None and not (_is_scalar(local) and _is_scalar(src.value)):
                    local = None
                self.give(src, node, g, local, product)

    def run_rule(self, rule, node, y_bar, values, active):
        try:
            return _run_adjoint_template(rule, node.value, y_bar, values, active)
        except S2SADError:
            raise
        except Exception as exc:  # noqa: BLE001 - a rule failing on these values is reported
            raise NoDerivativeError(
                f"the derivative rule {rule.template.__name__} for {node.stmt.func.dotted} failed on these "
                f"values ({type(exc).__name__}: {exc})", node.loc) from None

    def route(self, src, node, g, index):
        if not (isinstance(src, _Node) and src.active):
            return
        if isinstance(src.value, (tuple, list)):
            parts = [None] * len(src.value)
            parts[index] = g
            self.give(src, node, g, 1.0 if _is_scalar(g) else None, tuple(parts))
        else:
            product = runtime.scatter_add(g, src.value, index)
            self.give(src, node, g, None, product)


def explain(f, *args, wrt=0, max_iterations: int = 3, digits: int = 5, order: str = "lecture") -> Explanation:
    """The lecture's evaluation traces of ``f(*args)``: values forward, adjoints backward.

    Args:
        f: a Python function whose source s2sad can read (as for :func:`s2sad.grad`).
        *args: the concrete arguments to evaluate it at (every parameter without a default).
        wrt: the parameter(s) to differentiate with respect to: a position, a name, a tuple of them,
            or None for every parameter whose argument is a real number or a float array.
        max_iterations: loops show at most this many iterations (the first ones and the last);
            the rest are summarized as "… N more iterations".
        digits: significant digits printed for numbers.
        order: "lecture" lists the operations of one source line by depth (as hand-written traces do),
            "ssa" in the IR's order. Either is a valid evaluation order.

    Returns:
        An :class:`Explanation`: print it for the two traces, or read ``.forward`` / ``.reverse``
        (lists of :class:`ForwardRow` / :class:`ReverseRow`), ``.value``, ``.gradient``,
        ``.to_markdown()``, ``.graph()``.

    Raises:
        S2SADError: the function cannot be read or lowered, the arguments do not fit it, it fails on
            them, or a value it computes has no derivative rule.

    Example:
        >>> import numpy as np, s2sad
        >>> def f(x1, x2):
        ...     return np.log(x1) + x1 * x2 - np.sin(x2)
        >>> e = s2sad.explain(f, 2.0, 5.0, wrt=(0, 1))
        >>> e.row("v5").op, round(float(e.row("v5").value), 3)
        ('v5 = sin(v2)', -0.959)
        >>> [round(float(g), 3) for g in e.gradient]
        [5.5, 1.716]
    """
    try:
        return _explain(f, args, wrt, max_iterations, digits, order)
    except S2SADError:
        raise
    except RecursionError as exc:
        raise InternalError(f"s2sad ran out of recursion depth while explaining: {exc}") from None
    except Exception as exc:  # an s2sad bug
        name = getattr(f, "__name__", repr(f))
        raise InternalError(
            f"s2sad failed while explaining {name} ({type(exc).__name__}: {exc}). "
            "This is a bug in s2sad; please report it with the function."
        ) from exc


def _explain(f, args, wrt, max_iterations, digits, order):
    if order not in ("lecture", "ssa"):
        raise ArgumentError(f"order must be 'lecture' or 'ssa', got {order!r}")
    if not isinstance(max_iterations, int) or max_iterations < 1:
        raise ArgumentError(f"max_iterations must be a positive integer, got {max_iterations!r}")
    func = unwrap(f)
    if not inspect.isfunction(func):
        parse_function(func)  # raises SourceUnavailableError saying what was passed
    sig = signature(func)
    try:
        bound = sig.bind(*args)
    except TypeError as exc:
        raise ArgumentError(f"explain({func.__name__}, ...): the arguments do not fit {func.__name__}{sig}: {exc}",
                            hint="pass one value per parameter, in order") from None
    bound.apply_defaults()
    values = list(bound.arguments.values())
    names = list(bound.arguments)
    if wrt is None:
        positions = tuple(i for i, v in enumerate(values) if _is_real(v))
        many = True
        if not positions:
            raise ArgumentError(f"explain({func.__name__}, ...): no argument is a real number or float array, "
                                "so there is nothing to differentiate")
    else:
        positions, many = resolve_wrt(func, wrt)
        for p in positions:
            values[p] = _as_real(values[p], func, p)
    from .analysis import active_vars, guard_inplace_updates
    from .simplify import simplify
    from .unseen_effects import unseen_method_calls

    fn = guard_inplace_updates(simplify(normalize(func, subroutines_allowed=False)))  # the checks grad makes;
    # every helper inlined, so each of its lines is shown
    fn = tape_as_list(fn)  # generated code spliced in saves on a tape: here a list, traced like any other
    params = [p.var for p in fn.params]
    if len(params) != len(values):
        raise ArgumentError(f"{func.__name__} takes {len(params)} parameters, got {len(values)} values")
    wrt_vars = [params[p] for p in positions]
    raise_problems(unseen_method_calls(fn, wrt_vars, active_vars(fn, wrt_vars, [fn.result])), fn.name, fn.filename)
    interp = _Interpreter(fn, func)
    env, events = {}, []
    def_line = linecache.getline(fn.filename, fn.firstline).rstrip("\n")
    first = Location(fn.filename, fn.firstline, 0, def_line, fn.name)
    input_nodes = []
    for k, (var, value) in enumerate(zip(params, values)):
        node = _Node(value, None, (), (), var, (), first)
        node.active = k in positions
        interp.record(node)
        env[var] = node
        input_nodes.append(node)
    interp.block(fn.body, env, events, ())
    result = interp.atom(fn.result, env)

    flat = []
    _flatten(events, max_iterations, flat)
    if order == "lecture":
        flat = _lecture_order(flat)
    order_nodes = list(input_nodes) + [x for x in flat if isinstance(x, _Node)]
    for k, node in enumerate(order_nodes):
        node.name = f"v{k + 1}"
        node.position = k
    # activity forward: a value is active when it depends on a wrt input through differentiable operations
    for node in order_nodes:
        if node.is_input:
            continue
        func_value = node.stmt.func.value
        if registry.is_nondifferentiable(func_value):
            continue
        node.active = any(isinstance(a, _Node) and a.active for a in node.args + [a for _, a in node.kwargs])

    output = result if isinstance(result, _Node) else None
    if output is not None and output.active:
        if not _is_scalar(output.value):
            raise ArgumentError(
                f"explain shows the gradient of a scalar function, but {func.__name__} returned "
                f"{type(output.value).__name__} of shape {np.shape(output.value)}",
                fn.result_loc, hint="return the scalar loss, e.g. loss.sum()")
        _Backward().run(order_nodes, output)
        _refuse_rounding_stores(order_nodes)

    grads = []
    for p in positions:
        node = input_nodes[p]
        grads.append(node.adjoint if node.adjoint is not None else runtime.zeros_like(node.value))
    gradient = tuple(grads) if many else grads[0]

    forward = _forward_rows(input_nodes, flat, output, names, fn)
    reverse = _reverse_rows(order_nodes, output)
    e = Explanation(func.__name__, names, list(args) + values[len(args):], [names[p] for p in positions],
                    result.value, gradient, forward, reverse, order_nodes, output, digits, many)
    return e


def _refuse_rounding_stores(nodes) -> None:
    """As generated code does (``float_destination``): a differentiated value stored into an integer
    or boolean array is rounded, so the identity adjoint the trace would show is wrong."""
    for node in nodes:
        if node.is_input or node.stmt.func.value is not setitem or node.adjoint is None or len(node.args) != 3:
            continue
        value, kind = node.args[2], getattr(getattr(node.value, "dtype", None), "kind", "f")
        if isinstance(value, _Node) and value.active and kind in "biu":
            raise NoDerivativeError(
                f"this stores a differentiated value into an array of dtype {node.value.dtype}, which rounds it: "
                "the derivative through the store is 0 or undefined", node.loc,
                hint="make the array float (np.zeros(n) without an integer dtype, or x.astype(float) before "
                "updating it)")


def _is_real(v) -> bool:
    if isinstance(v, (bool, np.bool_)):
        return False
    if isinstance(v, (numbers.Real, np.floating, np.integer)):
        return True
    return isinstance(v, np.ndarray) and np.issubdtype(v.dtype, np.floating)


def _source_name(var) -> str:
    if var is None or var.base in ("t", ""):
        return ""
    return var.base


def _forward_rows(input_nodes, flat, output, names, fn):
    rows = []
    for node, name in zip(input_nodes, names):
        rows.append(ForwardRow("input", node.name, name, f"{node.name} = {name}", node.value, fn.firstline,
                               node.loc.text if node.loc else "", is_output=node is output))
    for item in flat:
        if isinstance(item, _Node):
            loc = item.loc
            rows.append(ForwardRow("op", item.name, _source_name(item.var), _operation(item), item.value,
                                   loc.line if loc else None, loc.text if loc else "", is_output=item is output,
                                   shown=item.shown, iteration=item.iteration))
        else:
            kind, text, stmt, shown, iteration = item
            kind = "iteration" if kind == "loop" else kind
            rows.append(ForwardRow(kind, "", "", text, None, stmt.loc.line if stmt.loc else None,
                                   stmt.loc.text if stmt.loc else "", shown=shown, iteration=iteration))
    return rows


def _reverse_rows(order_nodes, output):
    rows = []
    if output is None or output.adjoint is None:
        return rows
    pending_more = None
    for node in reversed(order_nodes):
        if node.adjoint is None or not node.contributions:
            continue
        contributions = [Contribution(c[0].name if c[0] is not None else "seed", c[1], c[2], c[3])
                         for c in reversed(node.contributions)] if node is not output else []
        if node is not output:
            contributions.sort(key=lambda c: int(c.to[1:]))
        kind = "seed" if node is output else "adjoint"
        row = ReverseRow(kind, _bar(node.name), node.name, _source_name(node.var) or (
            node.var.name if node.is_input else ""), contributions, node.adjoint,
            node.loc.line if node.loc else None, shown=node.shown, iteration=node.iteration)
        if not node.shown and pending_more is None:
            pending_more = ReverseRow("more", "", "", "", [], None, None, True, node.iteration,
                                      text="… adjoints of left-out loop iterations (see the forward trace)")
            rows.append(pending_more)
        if node.shown:
            pending_more = None
        rows.append(row)
    return rows


__all__ = ["Contribution", "Explanation", "ForwardRow", "ReverseRow", "explain", "graph"]

# `s2sad.explain` is this function once the package is imported (it shadows the module name);
# keep `s2sad.explain.explain(...)`, the module-style spelling, working too.
explain.explain = explain
explain.Explanation = Explanation


def graph(f, *args, wrt=0, max_iterations: int = 3, digits: int = 4) -> Graph:
    """The computational graph of ``f(*args)``, with values and gradients on the edges.

    Args:
        f: a Python function whose source s2sad can read.
        *args: the arguments to evaluate it at.
        wrt: the parameter(s) to differentiate (as in :func:`s2sad.explain`; None for every real argument).
        max_iterations: loop iterations drawn before the rest are collapsed into one node.
        digits: significant digits on the labels.

    Returns:
        A :class:`Graph`: ``.dot`` (DOT text), ``.render(path)`` (SVG/PNG via Graphviz), ``_repr_svg_``.

    Example:
        >>> import s2sad
        >>> def f(x, y, z):
        ...     return (x + y) * z
        >>> g = s2sad.graph(f, -2.0, 5.0, -4.0, wrt=None)
        >>> g.dot.startswith('digraph "f"')
        True
    """
    return Graph(explain(f, *args, wrt=wrt, max_iterations=max_iterations, digits=digits))


# `s2sad.graph` is this function once the package is imported; keep `s2sad.graph.graph(...)` and
# `s2sad.graph.Graph` working too.
graph.graph = graph
graph.Graph = Graph
