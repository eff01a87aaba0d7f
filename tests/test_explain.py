"""s2sad.explain / s2sad.graph: the lecture's evaluation traces, checked against the worked examples."""

import math
import shutil

import numpy as np
import pytest

import s2sad
from s2sad.explain import Explanation, ForwardRow, ReverseRow

# --------------------------------------------------------------------------- the lecture's functions


def lecture_f(x1, x2):
    return np.log(x1) + x1 * x2 - np.sin(x2)


def normal_pdf(x, mu, sigma):
    return np.exp(-((x - mu) ** 2) / (2 * sigma ** 2)) / (sigma * np.sqrt(2 * np.pi))


def logistic_loss(t0, t1, t2, x1, x2):
    return -np.log(1 / (1 + np.exp(-(t0 + t1 * x1 + t2 * x2))))


def gates(x, y, z):
    return (x + y) * z


def add_max_mul(x, y, z, w):
    return 2 * (x * y + max(z, w))


def looped(x, n):
    s = 0.0
    for i in range(n):
        s = s + x * s + np.sin(x)
    return s


def doubling(x):
    while x < 10:
        x = x * 2
    return x


def branchy(x):
    if x > 0:
        y = x * x
    else:
        y = -x
    return y


def array_fn(x, w):
    h = np.tanh(x * w)
    return np.sum(h ** 2)


def rows_fn(X, w):
    s = 0.0
    for row in X:
        s = s + np.dot(row, w)
    return s


def vector_out(x):
    return x * 2


def divide(x):
    return 1 / x


class _NoRule:
    def __call__(self, x):
        return x * 3


no_rule = _NoRule()


def uses_no_rule(x):
    return no_rule(x) + 1


def close(a, b, tol):
    return abs(float(a) - float(b)) <= tol


def assert_matches_grad(f, args, wrt):
    """Cross-check: explain's gradient is s2sad.grad's."""
    e = s2sad.explain(f, *args, wrt=wrt)
    expected = s2sad.grad(f, wrt=wrt)(*args)
    got = e.gradient
    if isinstance(wrt, tuple):
        assert len(got) == len(expected)
        for g, x in zip(got, expected):
            np.testing.assert_allclose(g, x, rtol=1e-10, atol=1e-12)
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    return e


# --------------------------------------------------------------------------- worked examples


def test_lecture_function_forward_trace():
    e = assert_matches_grad(lecture_f, (2.0, 5.0), (0, 1))
    assert isinstance(e, Explanation)
    assert all(isinstance(r, ForwardRow) for r in e.forward)
    assert [r.name for r in e.forward] == ["v1", "v2", "v3", "v4", "v5", "v6", "v7"]
    assert e.row("v1").source_name == "x1" and e.row("v2").source_name == "x2"
    expect = {"v3": ("v3 = log(v1)", 0.693), "v4": ("v4 = v1 * v2", 10), "v5": ("v5 = sin(v2)", -0.959),
              "v6": ("v6 = v3 + v4", 10.693), "v7": ("v7 = v6 - v5", 11.652)}
    for name, (op, value) in expect.items():
        row = e.row(name)
        assert row.op == op
        assert close(row.value, value, 5e-4), (name, row.value)
        assert row.line == lecture_f.__code__.co_firstlineno + 1
        assert "np.log(x1) + x1 * x2" in row.source
    assert e.row("v7").is_output
    assert close(e.value, 11.652, 5e-4)


def test_lecture_function_reverse_trace():
    e = s2sad.explain(lecture_f, 2, 5, wrt=(0, 1))  # ints are fine, as in the notes
    assert all(isinstance(r, ReverseRow) for r in e.reverse)
    assert [r.of for r in e.reverse] == ["v7", "v6", "v5", "v4", "v3", "v2", "v1"]
    assert e.reverse[0].kind == "seed" and e.reverse[0].value == 1
    assert close(e.adjoint("v5").value, -1, 0)
    x2 = e.adjoint("x2")
    assert x2.name == "v̄2"
    # fan-out: x2 is used by v4 = v1*v2 and v5 = sin(v2): two contributions, summed
    assert [c.to for c in x2.contributions] == ["v4", "v5"]
    (a, b) = x2.contributions
    assert (a.upstream, a.local, a.product) == (1.0, 2, 2)
    assert close(b.upstream, -1, 0) and close(b.local, math.cos(5), 1e-12) and close(b.product, -math.cos(5), 1e-12)
    assert close(x2.value, 1.716, 5e-4)
    x1 = e.adjoint("x1")
    assert [c.to for c in x1.contributions] == ["v3", "v4"]
    assert close(x1.contributions[0].local, 0.5, 0) and close(x1.contributions[1].local, 5, 0)
    assert close(x1.value, 5.5, 1e-12)
    for r in e.reverse[1:]:
        for c in r.contributions:
            assert close(c.upstream * c.local, c.product, 1e-12)
    assert [round(float(g), 3) for g in e.gradient] == [5.5, 1.716]


def test_lecture_function_prints_like_the_notes():
    text = str(s2sad.explain(lecture_f, 2.0, 5.0, wrt=(0, 1)))
    for piece in ["Forward evaluation trace", "v3 = log(v1)", "0.69315", "v4 = v1 * v2", "v5 = sin(v2)",
                  "-0.95892", "10.693", "11.652", "Reverse trace", "v̄2 (x2)", "v̄4 · ∂v4/∂v2 = 1 × 2",
                  "sum of 2 contributions", "= 1.7163", "= 5.5", "∂f/∂x1 = 5.5", "∂f/∂x2 = 1.7163",
                  "# line", "return np.log(x1) + x1 * x2 - np.sin(x2)"]:
        assert piece in text, piece
    lines = text.splitlines()
    assert lines.index(next(l for l in lines if "v̄7" in l)) < lines.index(next(l for l in lines if "v̄1 (x1)" in l))


def _sum_rows(text):
    """(value printed on each "sum of N contributions" row, the N products printed above it)."""
    lines = text.splitlines()
    out = []
    for k, line in enumerate(lines):
        if "sum of" in line and "contributions" in line:
            n = int(line.split("sum of")[1].split()[0])
            products = [float(lines[j].rsplit("=", 1)[1]) for j in range(k - n, k)]
            out.append((float(line.rsplit("=", 1)[1]), products))
    return out


@pytest.mark.parametrize("f, args", [(lecture_f, (2.0, 5.0)), (looped, (0.5, 6)), (normal_pdf, (0.5, 0.2, 1.3))],
                         ids=["lecture_f", "looped", "normal_pdf"])
def test_sum_rows_print_the_sum_of_the_contributions(f, args):
    rows = _sum_rows(str(s2sad.explain(f, *args, wrt=None if f is normal_pdf else 0)))
    assert rows
    for total, products in rows:
        assert close(total, sum(products), 5e-4 * max(1.0, abs(total))), (total, products)


def test_lecture_sum_rows_are_the_partial_derivatives():
    x1, x2 = 2.0, 5.0
    rows = _sum_rows(str(s2sad.explain(lecture_f, x1, x2, wrt=(0, 1))))
    # df/dx2 = x1 - cos x2 (from v4 = v1 v2 and v5 = sin v2); df/dx1 = 1/x1 + x2 (from log and the product)
    assert [round(total, 4) for total, _ in rows] == [round(x1 - math.cos(x2), 4), round(1 / x1 + x2, 4)]


def test_normal_pdf_gradient():
    e = assert_matches_grad(normal_pdf, (0.5, 0.0, 1.0), (0, 1, 2))
    assert [round(float(g), 3) for g in e.gradient] == [-0.176, 0.176, -0.264]
    assert close(e.value, 0.3521, 1e-4)
    assert s2sad.explain(normal_pdf, 0.5, 0, 1, wrt=None).wrt == ["x", "mu", "sigma"]


def test_logistic_loss_local_gradients_along_the_chain():
    args = (2.0, 1.0, 1.5, 1.0, 2.0)
    e = assert_matches_grad(logistic_loss, args, (0, 1, 2))
    # the chain from the loss back to the exponent: neg, log, 1/u, 1+, exp, neg
    ops = [r.op.split(" = ", 1)[1] for r in e.forward if r.kind == "op"]
    assert ops[-6:] == ["-v9", "exp(v10)", "1 + v11", "1 / v12", "log(v13)", "-v14"]
    assert e.row("v10").value == -6  # the exponent is -6, as on the slides
    chain = ["v14", "v13", "v12", "v11", "v10", "v9"]  # each receives one contribution from the next value
    locals_ = [e.adjoint(name).contributions[0].local for name in chain]
    expected = [-1, 1 / 0.9975, -0.9951, 1, math.exp(-6), -1]
    for got, want in zip(locals_, expected):
        assert close(got, want, 5e-4), (got, want)
    assert close(locals_[4], 0.0025, 5e-5)
    g0, g1, g2 = e.gradient
    assert close(g0, -0.00247, 5e-6) and close(g2, -0.0049, 5e-5) and close(g1, g0 * 1.0, 1e-15)
    assert close(g2, 2 * g0, 1e-15)


def test_add_distributes_mul_switches():
    e = assert_matches_grad(gates, (-2.0, 5.0, -4.0), (0, 1, 2))
    assert e.row("v4").value == 3 and e.row("v5").value == -12
    q = e.adjoint("v4")
    assert q.contributions[0].local == -4 and q.value == -4  # mul switches: dq gets z
    assert [float(g) for g in e.gradient] == [-4.0, -4.0, 3.0]  # add distributes -4 to both
    assert e.adjoint("z").contributions[0].local == 3


def test_add_distributes_max_routes_mul_switches():
    e = assert_matches_grad(add_max_mul, (3.0, -4.0, 2.0, -1.0), (0, 1, 2, 3))
    add = e.row("v7")
    assert add.op == "v7 = v5 + v6"
    assert e.adjoint("v5").value == 2 and e.adjoint("v6").value == 2  # add distributes
    assert e.adjoint("z").value == 2 and e.adjoint("w").value == 0  # max routes to the larger
    assert e.adjoint("x").value == -8 and e.adjoint("y").value == 6  # mul switches
    assert e.adjoint("x").contributions[0].local == -4


# --------------------------------------------------------------------------- control flow


def test_loop_rows_per_iteration_capped():
    e = assert_matches_grad(looped, (0.5, 6), 0)
    ops = [r for r in e.forward if r.kind == "op"]
    assert len(ops) == 1 + 6 * 4  # range(n), then 4 values per iteration
    shown = [r for r in ops if r.shown]
    assert len(shown) == 1 + 3 * 4  # first two iterations and the last
    more = [r for r in e.forward if r.kind == "more"]
    assert len(more) == 1 and "3 more iterations" in more[0].op
    its = [r.op for r in e.forward if r.kind == "iteration" and r.shown]
    assert "iteration 1: i = 0" in its and "iteration 6: i = 5" in its
    assert all(r.iteration and r.iteration[0][0] == "i" for r in ops[1:])
    text = str(e)
    assert "… 3 more iterations" in text and "iteration 2: i = 1" in text and "iteration 3: i = 2" not in text
    assert e.row("s").is_output  # the last version of s
    full = s2sad.explain(looped, 0.5, 6, max_iterations=10)
    assert not [r for r in full.forward if r.kind == "more"] and all(r.shown for r in full.forward)


def test_while_loop_and_branches():
    e = assert_matches_grad(doubling, (1.5,), 0)
    assert float(e.gradient) == 8.0 and float(e.value) == 12.0
    assert "loop test fails: exit" in str(e)
    pos = assert_matches_grad(branchy, (0.5,), 0)
    neg = assert_matches_grad(branchy, (-0.5,), 0)
    assert any(r.kind == "branch" and "then branch" in r.op for r in pos.forward)
    assert any(r.kind == "branch" and "else branch" in r.op for r in neg.forward)
    assert pos.row("y").op == "v3 = v1 * v1" and neg.row("y").op == "v3 = -v1"
    assert [c.to for c in pos.adjoint("x").contributions] == ["v3", "v3"]  # x * x: two uses


def test_arrays_show_values_and_vector_jacobian_products():
    x, w = np.array([0.1, -0.2, 0.3]), np.array([1.0, 2.0, 3.0])
    e = assert_matches_grad(array_fn, (x, w), (0, 1))
    assert any(c.local is None for r in e.reverse for c in r.contributions)  # a Jacobian: not printed
    assert "(Jacobian)" in str(e)
    X = np.arange(6.0).reshape(3, 2)
    assert_matches_grad(rows_fn, (X, np.array([1.0, -1.0])), (0, 1))


def test_ssa_order_option():
    e = s2sad.explain(lecture_f, 2.0, 5.0, order="ssa")
    assert e.row("v5").op == "v5 = v3 + v4" and e.row("v6").op == "v6 = sin(v2)"
    assert float(e.gradient) == 5.5


# --------------------------------------------------------------------------- other views


def test_markdown_and_html():
    e = s2sad.explain(lecture_f, 2.0, 5.0, wrt=(0, 1))
    md = e.to_markdown()
    assert "| v | name | operation | value | line |" in md and "| v3 |" in md and "v3 = log(v1)" in md
    assert "| adjoint | upstream × local | product |" in md and "1.7163" in md
    page = e._repr_html_()
    assert page.count("<table>") == 2 and "v3 = log(v1)" in page and "1.7163" in page
    assert "explanation of lecture_f" in repr(e)


def test_graph_dot():
    g = s2sad.graph(lecture_f, 2.0, 5.0, wrt=(0, 1))
    dot = g.dot
    assert dot.startswith('digraph "lecture_f" {')
    assert 'v3 [label="v3 = log(v1)"]' in dot
    assert "v1 [shape=box" in dot and "(input)" in dot  # inputs marked
    assert "v7 [label=\"v7 = v6 - v5\", shape=doubleoctagon" in dot and "v7 -> f" in dot  # output marked
    # edges carry the forward value (green) and the gradient along the edge (red)
    assert 'v2 -> v5 [label=<<font color="#1a7f37">5</font><br/><font color="#cf222e">-0.2837</font>>' in dot
    assert 'v1 -> v3 [label=<<font color="#1a7f37">2</font><br/><font color="#cf222e">0.5</font>>' in dot
    assert dot.count("->") == 9
    assert s2sad.explain(lecture_f, 2.0, 5.0).graph().dot.count("->") == 9
    loop_dot = s2sad.graph(looped, 0.5, 6).dot
    assert "left-out loop iterations" in loop_dot


def _edge_gradients(dot):
    """{(tail, head): the gradient (red) number on each edge}."""
    import re

    edges = {}
    for tail, head, red in re.findall(r'^\s*(\w+) -> (\w+) \[label=<.*?<font color="#cf222e">([^<]+)</font>', dot, re.MULTILINE):
        edges[(tail, head)] = float(red)
    return edges


def test_graph_edge_into_left_out_iterations_carries_their_summed_gradient():
    x, n = 0.5, 6
    edges = _edge_gradients(s2sad.graph(looped, x, n).dot)
    # s_{k+1} = s_k (1 + x) + sin x, 6 iterations, 3 of them left out (the 3rd to the 5th).
    # The edges out of x carry every use of x; together they are df/dx.
    out_of_x = [g for (tail, _), g in edges.items() if tail == "v1"]
    df_dx = (looped(x + 1e-6, n) - looped(x - 1e-6, n)) / 2e-6
    assert ("v1", "hidden") in edges and len(out_of_x) == 7
    assert close(sum(out_of_x), df_dx, 2e-3 * abs(df_dx)), (out_of_x, df_dx)
    # s after the 2nd iteration feeds the left-out ones twice (s and x * s): df/ds2 = (1 + x)^4 in all
    assert close(edges[("v11", "hidden")], (1 + x) ** 4, 1e-3)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")
def test_graph_renders(tmp_path):
    g = s2sad.graph(gates, -2.0, 5.0, -4.0, wrt=None)
    svg = g.render(str(tmp_path / "g.svg"))
    with open(svg) as fh:
        assert "<svg" in fh.read()
    png = g.render(str(tmp_path / "g.png"))
    with open(png, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in g._repr_svg_()


def test_graph_without_graphviz(monkeypatch, tmp_path):
    import sys

    import s2sad.graph as graph_module  # noqa: F401  (the module, through sys.modules)

    module = sys.modules["s2sad.graph"]
    monkeypatch.setattr(module.shutil, "which", lambda name: None)
    g = s2sad.graph(gates, -2.0, 5.0, -4.0)
    with pytest.raises(s2sad.S2SADError, match="apt-get install graphviz"):
        g.render(str(tmp_path / "g.svg"))
    assert g._repr_svg_() is None
    with pytest.raises(s2sad.S2SADError, match="unknown format"):
        g.render(str(tmp_path / "g.xyz"))


# --------------------------------------------------------------------------- errors


def test_errors_are_s2sad_errors():
    with pytest.raises(s2sad.ArgumentError, match="do not fit"):
        s2sad.explain(lecture_f, 2.0)
    with pytest.raises(s2sad.WrtError):
        s2sad.explain(lecture_f, 2.0, 5.0, wrt="z")
    with pytest.raises(s2sad.ArgumentError, match="ZeroDivisionError"):
        s2sad.explain(divide, 0.0)
    with pytest.raises(s2sad.ArgumentError, match="scalar"):
        s2sad.explain(vector_out, np.ones(3))
    with pytest.raises(s2sad.NoDerivativeError, match="no derivative rule"):
        s2sad.explain(uses_no_rule, 2.0)
    with pytest.raises(s2sad.SourceUnavailableError):
        s2sad.explain(len, [1.0])
    with pytest.raises(s2sad.ArgumentError, match="max_iterations"):
        s2sad.explain(lecture_f, 2.0, 5.0, max_iterations=0)
    with pytest.raises(s2sad.ArgumentError, match="bool"):
        s2sad.explain(lecture_f, True, 5.0)


def test_module_style_spelling():
    assert s2sad.explain.explain(lecture_f, 2.0, 5.0).gradient == 5.5
    assert "digraph" in s2sad.graph.graph(lecture_f, 2.0, 5.0).dot
