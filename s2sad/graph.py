"""The computational graph of one call, as the lecture draws it, in Graphviz DOT.

Nodes are operations (``v3 = log(v1)``), inputs (boxes) and the output
(a double octagon, with an arrow to "f"). Each edge ``vi -> vj`` carries two
labels, as in the lecture's pictures: the forward value of ``vi`` (green,
above) and the gradient flowing back along that edge, ``v̄j · ∂vj/∂vi`` (red,
below). A value used twice has two outgoing edges, and its adjoint is the sum
of their red labels. Values that do not depend on the differentiated inputs
are grey. Iterations a long loop leaves out of the trace are collapsed into
one "… left-out loop iterations" node.

The graph is built from an :class:`s2sad.explain.Explanation`, so it shows the
same numbers as the trace. ``.dot`` is the DOT text and needs nothing;
``.render(path)`` and ``_repr_svg_`` need the Graphviz ``dot`` program (on
Debian/Ubuntu: ``apt-get install graphviz``).
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess

from .errors import ArgumentError, S2SADError
from .formatting import _fmt

GREEN = "#1a7f37"
RED = "#cf222e"


class GraphvizMissingError(S2SADError):
    """The Graphviz `dot` program is not installed, so a graph cannot be rendered."""


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class Graph:
    """The computational graph of one call of a function.

    Attributes:
        explanation: the :class:`~s2sad.explain.Explanation` it was built from.
        dot: the Graphviz DOT source text.
    """

    def __init__(self, explanation):  # an s2sad.explain.Explanation (explain imports graph, not back)
        self.explanation = explanation
        self.dot = self._build()

    def _build(self) -> str:
        e = self.explanation
        d = e.digits
        output = e._output
        lines = [
            f"digraph {_quote(e.function)} {{",
            "  rankdir=LR;",
            '  node [fontname="Helvetica", fontsize=11, shape=ellipse];',
            '  edge [fontname="Helvetica", fontsize=10];',
            (f'  label=<{html.escape(e._title())}<br/><font point-size="10"><font color="{GREEN}">value</font> '
             f'above each edge, <font color="{RED}">gradient</font> below</font>>; labelloc=t;'),
        ]
        hidden_used = False
        shown = [n for n in e._nodes if n.shown]
        for n in shown:
            value = _fmt(n.value, d)
            if n.is_input:
                name = n.var.name
                wrt = name in e.wrt
                style = 'style=filled, fillcolor="#ddf4ff"' if wrt else 'style=filled, fillcolor="#eeeeee", color=grey'
                label = f"{name} = {value}\n{n.name} (input)"
                lines.append(f"  {n.name} [shape=box, {style}, label={_quote(label)}];")
            else:
                label = e.operation(n)
                if n.var is not None and n.var.base not in ("t", ""):
                    label += f"\n({n.var.base})"
                attrs = [f"label={_quote(label)}"]
                if n is output:
                    attrs.append('shape=doubleoctagon, style=filled, fillcolor="#fff8c5"')
                elif not n.active:
                    attrs.append("color=grey, fontcolor=grey")
                lines.append(f"  {n.name} [{', '.join(attrs)}];")
        for consumer in shown:
            if consumer.is_input:
                continue
            by_source = {}
            for a in list(consumer.args) + [a for _, a in consumer.kwargs]:
                if hasattr(a, "contributions"):
                    by_source.setdefault(id(a), (a, []))[1].append(a)
            for src, slots in by_source.values():
                grads = [c[3] for c in src.contributions if c[0] is consumer]
                for k in range(len(slots)):
                    tail = src.name if src.shown else "hidden"
                    hidden_used = hidden_used or not src.shown
                    lines.append(f"  {tail} -> {consumer.name} [{self._edge_label(src.value, grads[k] if k < len(grads) else None, src.active)}];")
        into_hidden = []
        for consumer in e._nodes:
            if consumer.shown or consumer.is_input:
                continue
            for a in list(consumer.args) + [a for _, a in consumer.kwargs]:
                if hasattr(a, "contributions") and a.shown and a.name not in into_hidden:
                    into_hidden.append(a.name)
                    grads = [c[3] for c in a.contributions if c[0] is not None and not c[0].shown]
                    total = None
                    for g in grads:
                        total = g if total is None else total + g
                    lines.append(f"  {a.name} -> hidden [{self._edge_label(a.value, total, a.active)}];")
        if output is not None:
            lines.append('  f [shape=plaintext, label="f"];')
            lines.append(f"  {output.name} -> f [{self._edge_label(output.value, output.adjoint, True)}];")
        if hidden_used or any(not n.shown for n in e._nodes):
            lines.append('  hidden [shape=note, color=grey, fontcolor=grey, label="… left-out loop iterations"];')
        lines.append("}")
        return "\n".join(lines) + "\n"

    def _edge_label(self, value, grad, active) -> str:
        d = self.explanation.digits
        parts = [f'<font color="{GREEN}">{html.escape(_fmt(value, d))}</font>']
        if grad is not None and active:
            parts.append(f'<font color="{RED}">{html.escape(_fmt(grad, d))}</font>')
        color = "black" if active else "grey"
        return f"label=<{'<br/>'.join(parts)}>, color={color}"

    def render(self, path: str, format: str | None = None) -> str:
        """Write the graph to `path` through Graphviz's ``dot`` program.

        Args:
            path: the file to write; its extension picks the format (``.svg``, ``.png``, ``.pdf``).
            format: the Graphviz output format, overriding the extension.

        Returns:
            `path`.

        Raises:
            GraphvizMissingError: ``dot`` is not installed (install Graphviz: ``apt-get install graphviz``).
            ArgumentError: the format is unknown.

        Example:
            >>> s2sad.graph(f, 2.0, 5.0).render("docs/graph.svg")  # doctest: +SKIP
        """
        fmt = format or os.path.splitext(path)[1].lstrip(".").lower()
        if fmt not in ("svg", "png", "pdf", "jpg", "jpeg", "gif", "dot"):
            raise ArgumentError(f"cannot render a graph to {path!r}: unknown format {fmt!r}",
                                hint="use a .svg, .png or .pdf file name, or format='svg'")
        if fmt == "dot":
            with open(path, "w") as fh:
                fh.write(self.dot)
            return path
        data = self._run_dot(fmt)
        with open(path, "wb") as fh:
            fh.write(data)
        return path

    def _run_dot(self, fmt: str) -> bytes:
        exe = shutil.which("dot")
        if exe is None:
            raise GraphvizMissingError(
                "rendering a graph needs the Graphviz `dot` program, which is not installed",
                hint="install Graphviz (Debian/Ubuntu: `apt-get install graphviz`; macOS: `brew install graphviz`), "
                "or use the DOT text in `.dot` with any Graphviz viewer",
            )
        try:
            done = subprocess.run([exe, f"-T{fmt}"], input=self.dot.encode("utf-8"), capture_output=True,
                                  timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise GraphvizMissingError(f"running Graphviz `dot` failed: {exc}") from None
        if done.returncode != 0:
            raise S2SADError(f"Graphviz `dot` could not render the graph: {done.stderr.decode(errors='replace')}")
        return done.stdout

    def _repr_svg_(self):
        """SVG for notebooks; None (plain repr) when Graphviz is not installed."""
        if shutil.which("dot") is None:
            return None
        return self._run_dot("svg").decode("utf-8")

    def __str__(self) -> str:
        return self.dot

    def __repr__(self) -> str:
        return f"<s2sad graph of {self.explanation._title()}; .dot is the DOT text, .render(path) draws it>"


__all__ = ["Graph", "GraphvizMissingError"]
