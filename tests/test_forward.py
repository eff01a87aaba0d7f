"""Forward mode (s2sad.forward / s2sad.jvp): tangent code checked against finite differences.

Same coverage as reverse mode: straight-line code, broadcasting, loops,
branches, while loops, calls to user functions, in-place updates, tuples; and
forward mode applied to generated adjoint code (with its tape).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import s2sad
from gradcheck import numeric_grad
from s2sad import ir
from s2sad.forward import forward_function
from s2sad.lower import normalize
from s2sad.reverse import reverse_function
from s2sad.simplify import simplify

RNG = np.random.default_rng(0)


def fd_jvp(f, args, wrt, tangents, h=1e-6):
    """Central differences of f along the tangents of the wrt arguments."""

    def shifted(s):
        new = list(args)
        for p, t in zip(wrt, tangents):
            new[p] = np.asarray(args[p], dtype=float) + s * np.asarray(t, dtype=float)
            if np.ndim(args[p]) == 0:
                new[p] = float(new[p])
        return f(*new)

    plus, minus = shifted(h), shifted(-h)
    if isinstance(plus, tuple):
        return tuple((np.asarray(p) - np.asarray(m)) / (2 * h) for p, m in zip(plus, minus))
    return (np.asarray(plus) - np.asarray(minus)) / (2 * h)


def check_jvp(f, args, wrt=(0,)):
    wrt = tuple(wrt)
    tangents = [RNG.standard_normal(np.shape(args[p])) if np.ndim(args[p]) else float(RNG.standard_normal())
                for p in wrt]
    jvp = s2sad.jvp(f, wrt if len(wrt) > 1 else wrt[0])
    value, value_dot = jvp(*args, *tangents)
    expected = f(*args)
    fd = fd_jvp(f, args, wrt, tangents)
    if isinstance(expected, tuple):
        for v, e, d, g in zip(value, expected, value_dot, fd):
            np.testing.assert_allclose(v, e, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(d, g, rtol=1e-5, atol=1e-6, err_msg=jvp.source)
    else:
        np.testing.assert_allclose(value, expected, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(value_dot, fd, rtol=1e-5, atol=1e-6, err_msg=jvp.source)
    return jvp


# ------------------------------------------------------------------ programs


def straight(x, y):
    z = x * y
    w = z + np.sin(x) / y
    return np.exp(w) - np.log(y)


def broadcasting(a, b):
    return np.sum(a * b + b) + np.sum(np.tanh(a - 1.0))


def only_one_active(x, c):
    return x + c  # c inactive: x_dot is spread to the result's shape


def loop_for(x, n):
    s = 0.0
    for i in range(n):
        s = s * np.cos(x) + x ** 2 / (i + 1)
    return s


def loop_while(x):
    y = x
    k = 0
    while k < 4:
        y = np.sin(y) + x
        k = k + 1
    return y


def branches(x, y):
    if x > y:
        z = x * y
    else:
        z = x - y * y
    if z > 0:
        return np.sqrt(z)
    return z * z


def helper(u, v):
    return u * np.exp(-v)


def calls_user_function(x, y):
    return helper(x, y) + helper(y, x) * 2.0


def inplace(x):
    a = np.zeros(3)
    for i in range(3):
        a[i] = x[i] * x[(i + 1) % 3]
    a[0] = a[0] + 1.0
    return np.sum(a * x)


def inplace_slice(x):
    b = x * 2.0
    b[1:] = np.sin(x[:-1])
    return b


def tuples(x, y):
    t = (x * y, x + y)
    a, b = t
    return a * b, np.exp(a)


def array_out(x):
    return np.stack([x[0] * x[1], np.sin(x[2]), x[0] ** 3])


def matrix_vector(A, x):
    return np.tanh(A @ x).sum()


CASES = [
    (straight, (0.3, 1.7), (0,)),
    (straight, (0.3, 1.7), (0, 1)),
    (straight, (np.array([0.1, 0.2]), 1.5), (0, 1)),
    (broadcasting, (RNG.standard_normal((2, 3)), RNG.standard_normal(3)), (0, 1)),
    (broadcasting, (RNG.standard_normal((2, 3)), RNG.standard_normal(3)), (1,)),
    (only_one_active, (RNG.standard_normal(3), RNG.standard_normal((2, 3))), (0,)),
    (only_one_active, (0.5, RNG.standard_normal((2, 3))), (0,)),
    (loop_for, (0.4, 5), (0,)),
    (loop_for, (np.array([0.4, -0.2]), 3), (0,)),
    (loop_while, (0.7,), (0,)),
    (branches, (2.0, 0.5), (0, 1)),
    (branches, (0.5, 2.0), (0, 1)),
    (branches, (-3.0, 2.0), (0,)),
    (calls_user_function, (0.3, 0.8), (0, 1)),
    (inplace, (np.array([0.3, -1.2, 2.0]),), (0,)),
    (inplace_slice, (np.array([0.3, -1.2, 2.0]),), (0,)),
    (tuples, (0.3, 1.1), (0, 1)),
    (array_out, (np.array([0.3, -1.2, 2.0]),), (0,)),
    (matrix_vector, (RNG.standard_normal((3, 2)), RNG.standard_normal(2)), (0, 1)),
]


@pytest.mark.parametrize("f, args, wrt", CASES, ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)])
def test_jvp_matches_finite_differences(f, args, wrt):
    check_jvp(f, args, wrt)


def test_jvp_does_not_modify_arguments():
    x = np.array([0.3, -1.2, 2.0])
    v = np.ones(3)
    x0, v0 = x.copy(), v.copy()
    s2sad.jvp(inplace_slice)(x, v)
    s2sad.jvp(only_one_active)(x, np.ones((2, 3)), v)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(v, v0)


# ------------------------------------------------------------------ readability


def test_jvp_reads_like_the_forward_trace():
    src = s2sad.jvp(straight, wrt=("x", "y")).source
    lines = [line.strip() for line in src.splitlines()]
    assert "z = x * y" in lines
    assert "z_dot = x_dot * y + x * y_dot" in lines
    assert lines.index("z_dot = x_dot * y + x * y_dot") == lines.index("z = x * y") + 1
    assert "tape" not in src  # forward mode needs no tape


def test_inactive_terms_are_dropped():
    src = s2sad.jvp(straight, wrt="x").source
    assert "y_dot" not in src
    assert "zeros" not in src


def test_loop_carries_tangents():
    src = s2sad.jvp(loop_for).source
    assert "s_dot" in src and "for i in range(n):" in src


def test_inplace_tangent_is_updated_in_place():
    src = s2sad.jvp(inplace).source
    assert "a_dot[i] =" in src


# ------------------------------------------------------------------ the IR transformation


def test_forward_function_ir_verifies():
    for f, _, wrt in CASES:
        fn = forward_function(normalize(f), list(wrt))
        ir.verify(fn)
        ir.verify(simplify(fn))


@pytest.mark.parametrize("f, args", [
    (straight, (0.3, 1.7)),
    (loop_for, (0.4, 5)),
    (loop_while, (0.7,)),
    (branches, (2.0, 0.5)),
    (inplace, (np.array([0.3, -1.2, 2.0]),)),
])
def test_forward_over_reverse_on_adjoint_ir(f, args):
    """The tangent of the generated gradient is H v: checked against finite differences of the
    generated gradient, and against second differences of f itself (independent of s2sad)."""
    g = s2sad.grad(f)
    adjoint = simplify(reverse_function(normalize(f), [0]))
    fn = simplify(forward_function(adjoint, [0], output="tangent"))
    ir.verify(fn)
    from s2sad.codegen import compile_function, to_source

    source, namespace = to_source(fn)
    compiled = compile_function(source, fn.name, namespace)
    v = RNG.standard_normal(np.shape(args[0])) if np.ndim(args[0]) else 0.7
    got = compiled(*args, v)
    fd = fd_jvp(g, args, (0,), (v,))
    np.testing.assert_allclose(got, fd, rtol=1e-5, atol=1e-6, err_msg=source)
    fd_of_fd = fd_jvp(lambda *a: numeric_grad(f, a, 0, h=1e-5), args, (0,), (v,), h=1e-4)
    np.testing.assert_allclose(got, fd_of_fd, rtol=1e-4, atol=1e-5, err_msg=source)


def test_math_module_functions():
    def f(x):
        return math.sin(x) * math.exp(x) + math.sqrt(x)

    check_jvp(f, (0.8,))


def test_missing_tangent_rule_is_a_clear_error():
    def f(x):
        return np.nextafter(x, 2.0)  # a C function with no rule

    with pytest.raises(s2sad.S2SADError):
        s2sad.jvp(f)(1.0, 1.0)
