"""Print the evaluation traces of the lecture's worked examples (and render one graph).

Run:  python examples/lecture_traces.py            # the traces
      python examples/lecture_traces.py --graph    # also write docs/explain-graph.svg (needs Graphviz)

Each trace lists the forward values v1 … vn (inputs first, then one row per
operation, as in the notes), then the adjoints v̄n … v̄1 with, for every use of
a value, upstream gradient × local gradient = contribution, and the sum where a
value is used twice.
"""

import os
import sys

import numpy as np

import s2sad


def lecture_f(x1, x2):
    """The running example: f(x1, x2) = ln(x1) + x1*x2 - sin(x2)."""
    return np.log(x1) + x1 * x2 - np.sin(x2)


def normal_pdf(x, mu, sigma):
    """The normal density N(x; mu, sigma^2)."""
    return np.exp(-((x - mu) ** 2) / (2 * sigma ** 2)) / (sigma * np.sqrt(2 * np.pi))


def logistic_loss(t0, t1, t2, x1, x2):
    """The logistic regression loss -log(sigmoid(theta . x)) for one example with label 1."""
    return -np.log(1 / (1 + np.exp(-(t0 + t1 * x1 + t2 * x2))))


def gates(x, y, z):
    """f = (x + y) * z: the add gate distributes, the mul gate switches."""
    return (x + y) * z


def add_max_mul(x, y, z, w):
    """f = 2 * (x*y + max(z, w)): the max gate routes the gradient to the larger input."""
    return 2 * (x * y + max(z, w))


def power_loop(x, n):
    """A loop: s <- s + x*s + sin(x), n times."""
    s = 0.0
    for i in range(n):
        s = s + x * s + np.sin(x)
    return s


EXAMPLES = [
    ("ln(x1) + x1*x2 - sin(x2) at (2, 5)", lecture_f, (2.0, 5.0), (0, 1)),
    ("the normal PDF at (0.5, 0, 1)", normal_pdf, (0.5, 0.0, 1.0), (0, 1, 2)),
    ("the logistic loss, theta = (2, 1, 1.5), x = (1, 2)", logistic_loss, (2.0, 1.0, 1.5, 1.0, 2.0), (0, 1, 2)),
    ("(x + y) * z at (-2, 5, -4)", gates, (-2.0, 5.0, -4.0), (0, 1, 2)),
    ("2 * (x*y + max(z, w)) at (3, -4, 2, -1)", add_max_mul, (3.0, -4.0, 2.0, -1.0), (0, 1, 2, 3)),
    ("a loop, 6 iterations", power_loop, (0.5, 6), 0),
]


def main(argv):
    for title, f, args, wrt in EXAMPLES:
        print("=" * 78)
        print(title)
        print("=" * 78)
        explanation = s2sad.explain(f, *args, wrt=wrt)
        print(explanation)
        generated = s2sad.grad(f, wrt=wrt)(*args)  # the generated gradient agrees
        assert np.allclose(np.array(explanation.gradient, dtype=float), np.array(generated, dtype=float))
        print()
    if "--graph" in argv:
        here = os.path.dirname(os.path.abspath(__file__))
        for name, (_, f, args, wrt) in [("explain-graph", EXAMPLES[0]), ("explain-graph-gates", EXAMPLES[4])]:
            for ext in ("svg", "png"):
                path = os.path.join(here, "..", "docs", f"{name}.{ext}")
                s2sad.graph(f, *args, wrt=wrt).render(path)
                print("wrote", os.path.normpath(path))


if __name__ == "__main__":
    main(sys.argv[1:])
