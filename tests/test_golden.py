"""Golden files: the generated source of a few small functions, pinned.

A change to what s2sad prints shows up here as a diff to review. After an
intended change, regenerate with ``S2SAD_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py``
(exactly ``1``: any other value only compares) and commit the new files with the change.

A golden file could still bless a wrong derivative when it is regenerated, so
each one is also executed as written and compared with central differences of
the original function.
"""

import os
import pathlib

import numpy as np
import pytest

import golden_functions as g
import golden_shapes as gs
import s2sad
from gradcheck import numeric_grad

GOLDEN = pathlib.Path(__file__).parent / "golden"

_rng = np.random.default_rng(5)
_X, _y = _rng.standard_normal((6, 3)), (_rng.random(6) > 0.5).astype(float)
_v, _W, _v3 = _rng.standard_normal(5), _rng.standard_normal((3, 4)) * 0.5, _rng.standard_normal(4)

# name, how to build it, the original function, arguments, wrt positions
CASES = [
    ("grad_lecture_f", lambda: s2sad.grad(g.lecture_f, wrt=(0, 1)), g.lecture_f, (2.0, 5.0), (0, 1)),
    ("grad_logistic", lambda: s2sad.grad(g.logistic, wrt=("w", "b")), g.logistic,
     (np.array([0.3, -0.2, 0.5]), 0.1, _X, _y), (0, 1)),
    ("grad_loop_and_branch", lambda: s2sad.grad(g.loop_and_branch, wrt=("x", "w")), g.loop_and_branch,
     (np.array([0.4, -1.3, 0.8, -0.2]), 1.7), (0, 1)),
    ("grad_fill", lambda: s2sad.grad(g.fill), g.fill, (np.array([0.3, -0.9, 1.4]),), (0,)),
    ("grad_newton_sqrt", lambda: s2sad.grad(g.newton_sqrt), g.newton_sqrt, (2.5,), (0,)),
    # specialized for the arguments' shapes (issue 11 §4): no helper left, matrix products as written by hand
    ("grad_sum_tanh_vector", lambda: s2sad.grad(gs.sum_tanh).for_shapes(_v), gs.sum_tanh, (_v,), (0,)),
    ("grad_layer_matrices", lambda: s2sad.grad(gs.layer, wrt=(0, 1, 2)).for_shapes(_X, _W, _v3), gs.layer,
     (_X, _W, _v3), (0, 1, 2)),
    ("jvp_lecture_f", lambda: s2sad.jvp(g.lecture_f, wrt=(0, 1)), g.lecture_f, (2.0, 5.0), (0, 1)),
    ("hvp_lecture_f", lambda: s2sad.hvp(g.lecture_f, wrt=0), g.lecture_f, (2.0, 5.0), (0,)),
    # a nested def and a lambda closing over W, inlined at each call
    ("grad_closure_layers", lambda: s2sad.grad(g.closure_layers, wrt=("W", "x")), g.closure_layers,
     (np.array([[0.5, -0.3], [0.2, 0.8]]), np.array([0.4, -0.7])), (0, 1)),
    # composed: the jvp of the generated gradient (forward over reverse over the generated program)
    ("jvp_grad_lecture_f", lambda: s2sad.jvp(s2sad.grad(g.lecture_f), wrt=(0, 1)),
     lambda x1, x2: s2sad.grad(g.lecture_f)(x1, x2), (2.0, 5.0), (0, 1)),
    # recursion: the pair power_fwd / power_bwd calls itself (s2sad/routine_pairs.py)
    ("grad_power", lambda: s2sad.grad(g.power), g.power, (1.3, 4), (0,)),
]
IDS = [c[0] for c in CASES]


def update_requested() -> bool:
    """Only an explicit ``S2SAD_UPDATE_GOLDEN=1`` rewrites the files (``0`` or ``no`` must not)."""
    return os.environ.get("S2SAD_UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("name, make, f, args, wrt", CASES, ids=IDS)
def test_generated_source_matches_golden_file(name, make, f, args, wrt):
    path = GOLDEN / f"{name}.py"
    source = make().source
    if update_requested():
        path.write_text(source)
    assert path.exists(), f"no golden file {path}: run with S2SAD_UPDATE_GOLDEN=1 to create it"
    assert source == path.read_text(), f"generated source of {name} changed; review, then regenerate"


def golden_function(name, make):
    """The function the golden file defines, run in the namespace s2sad gives generated code."""
    namespace = dict(make().namespace.bindings)
    namespace.setdefault("np", np)
    exec(compile((GOLDEN / f"{name}.py").read_text(), f"golden/{name}.py", "exec"), namespace)
    return namespace[make().__name__]  # the generated function's own name (grad_sum_tanh for grad_sum_tanh_vector)


def second_difference(f, args, pos, v, h=1e-4):
    """(f(x + h v) - 2 f(x) + f(x - h v)) / h**2: v^T H v for scalar x, i.e. H v / v when x is a number."""
    def at(s):
        shifted = list(args)
        shifted[pos] = args[pos] + s * v
        return f(*shifted)

    return (at(h) - 2.0 * at(0.0) + at(-h)) / h**2


@pytest.mark.parametrize("name, make, f, args, wrt", CASES, ids=IDS)
def test_golden_file_computes_the_right_derivative(name, make, f, args, wrt):
    fn = golden_function(name, make)
    kind = name.split("_", 1)[0]
    if kind == "grad":
        got = fn(*args)
        want = numeric_grad(f, args, wrt=tuple(wrt))
        got = got if isinstance(got, tuple) else (got,)
        for a, b in zip(got, want, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8, err_msg=name)
    elif kind == "jvp":
        tangents = (0.3, -1.1)
        value, value_dot = fn(*args, *tangents)
        grads = numeric_grad(f, args, wrt=tuple(wrt))
        np.testing.assert_allclose(value, f(*args), rtol=1e-12)
        np.testing.assert_allclose(value_dot, sum(t * d for t, d in zip(tangents, grads)), rtol=1e-6)
    else:  # hvp with respect to one scalar: d2f/dx2 * v, against a second difference of f itself
        (pos,) = wrt
        v = 0.7
        np.testing.assert_allclose(fn(*args, v), v * second_difference(f, args, pos, 1.0), rtol=1e-5)


def test_only_an_explicit_1_regenerates(monkeypatch):
    for value, expected in [("1", True), ("0", False), ("", False), ("yes", False), ("true", False)]:
        monkeypatch.setenv("S2SAD_UPDATE_GOLDEN", value)
        assert update_requested() is expected, value
    monkeypatch.delenv("S2SAD_UPDATE_GOLDEN")
    assert update_requested() is False
