# ruff: noqa: E731  (the cases are lambdas, as the peers' suites write them)
"""An outside-style suite modelled on the kinds of test autograd (tests/test_numpy.py,
test_systematic.py, test_linalg.py, test_scalar_ops.py, test_wrappers.py, test_builtins.py,
test_list/dict/tuple.py) and JAX (lax_numpy_test.py, api_test.py) run, written for s2sad.

Every case is checked in reverse mode (grad, or vjp with a random cotangent) and forward mode (jvp
along a random direction) against central differences in float64, and against autograd running the
same source where it can (`peer_harness.check`).
"""

from __future__ import annotations

import itertools
import math
import os

import numpy as np
import pytest
from peer_harness import check

R = np.random.default_rng(7)

# The default run takes every combination's share of a thinned grid (each operation and each shape
# still appear); S2SAD_PEER_FULL=1 runs the whole grid (about 1000 cases, a minute).
FULL = bool(os.environ.get("S2SAD_PEER_FULL"))


def thin(cases, keep_one_in):
    """Every case with S2SAD_PEER_FULL, else one in `keep_one_in` (deterministically, spread over the grid)."""
    cases = list(cases)
    return cases if FULL else cases[::keep_one_in]


def arr(*shape, lo=-1.0, hi=1.0):
    return R.uniform(lo, hi, size=shape) if shape else float(R.uniform(lo, hi))


# ------------------------------------------------------------------ unary elementwise (test_numpy, systematic)

UNARY = {
    "abs": (lambda x: np.abs(x), 0.2, 1.0),
    "fabs": (lambda x: np.fabs(x), 0.2, 1.0),
    "negative": (lambda x: np.negative(x), -1, 1),
    "positive": (lambda x: np.positive(x), -1, 1),
    "exp": (lambda x: np.exp(x), -1, 1),
    "exp2": (lambda x: np.exp2(x), -1, 1),
    "expm1": (lambda x: np.expm1(x), -1, 1),
    "log": (lambda x: np.log(x), 0.2, 2),
    "log2": (lambda x: np.log2(x), 0.2, 2),
    "log10": (lambda x: np.log10(x), 0.2, 2),
    "log1p": (lambda x: np.log1p(x), -0.5, 2),
    "sin": (lambda x: np.sin(x), -2, 2),
    "cos": (lambda x: np.cos(x), -2, 2),
    "tan": (lambda x: np.tan(x), -1, 1),
    "arcsin": (lambda x: np.arcsin(x), -0.8, 0.8),
    "arccos": (lambda x: np.arccos(x), -0.8, 0.8),
    "arctan": (lambda x: np.arctan(x), -2, 2),
    "sinh": (lambda x: np.sinh(x), -1, 1),
    "cosh": (lambda x: np.cosh(x), -1, 1),
    "tanh": (lambda x: np.tanh(x), -1, 1),
    "arcsinh": (lambda x: np.arcsinh(x), -1, 1),
    "arccosh": (lambda x: np.arccosh(x), 1.2, 3),
    "arctanh": (lambda x: np.arctanh(x), -0.8, 0.8),
    "sqrt": (lambda x: np.sqrt(x), 0.2, 2),
    "cbrt": (lambda x: np.cbrt(x), 0.2, 2),
    "square": (lambda x: np.square(x), -1, 1),
    "reciprocal": (lambda x: np.reciprocal(x), 0.3, 2),
    "deg2rad": (lambda x: np.deg2rad(x), -1, 1),
    "rad2deg": (lambda x: np.rad2deg(x), -1, 1),
    "degrees": (lambda x: np.degrees(x), -1, 1),
    "radians": (lambda x: np.radians(x), -1, 1),
    "sinc": (lambda x: np.sinc(x), 0.1, 0.9),
    "real": (lambda x: np.real(x), -1, 1),
    "conj": (lambda x: np.conj(x), -1, 1),
    "sign": (lambda x: np.sign(x) * x, 0.2, 1),
    "floor": (lambda x: np.floor(x) + x, 0.1, 0.9),
    "ceil": (lambda x: np.ceil(x) + x, 0.1, 0.9),
    "rint": (lambda x: np.rint(x) + x, 0.1, 0.4),
    "round": (lambda x: np.round(x) + x, 0.1, 0.4),
    "trunc": (lambda x: np.trunc(x) + x, 0.1, 0.9),
    "fix": (lambda x: np.fix(x) + x, 0.1, 0.9),
    "nan_to_num": (lambda x: np.nan_to_num(x), -1, 1),
    "imag": (lambda x: np.imag(x) + x, -1, 1),
    "attr real imag": (lambda x: x.real * 2.0 + x.imag, -1, 1),
    "np.float64": (lambda x: np.float64(x) * x, -1, 1),
    "np.int64": (lambda x: np.int64(x * 0.0 + 2.0) * x, -1, 1),
    "clip_inside": (lambda x: np.clip(x, -2.0, 2.0), -1, 1),
    "clip_outside": (lambda x: np.clip(x, 0.3, 0.6), -1, 0.2),
    "pow_int": (lambda x: x ** 3, -1, 1),
    "pow_half": (lambda x: x ** 0.5, 0.2, 2),
    "rpow": (lambda x: 2.0 ** x, -1, 1),
    "neg_op": (lambda x: -x, -1, 1),
    "abs_builtin": (lambda x: abs(x), 0.2, 1),
    "logaddexp_c": (lambda x: np.logaddexp(x, 0.5), -1, 1),
}

SHAPES = [(), (3,), (2, 3)]


@pytest.mark.parametrize(("name", "shape"), thin(itertools.product(UNARY, SHAPES), 2), ids=str)
def test_unary(name, shape):
    f, lo, hi = UNARY[name]
    check(f, arr(*shape, lo=lo, hi=hi))


def test_unary_at_a_0d_array():
    check(lambda x: np.sin(x) * np.exp(x), np.array(0.3))


# ------------------------------------------------------------------ binary ops, every broadcast pair

BINARY = {
    "add": (lambda x, y: x + y, (-1, 1), (-1, 1)),
    "sub": (lambda x, y: x - y, (-1, 1), (-1, 1)),
    "mul": (lambda x, y: x * y, (-1, 1), (-1, 1)),
    "div": (lambda x, y: x / y, (-1, 1), (0.5, 2)),
    "pow": (lambda x, y: x ** y, (0.5, 2), (-1, 1)),
    "np.power": (lambda x, y: np.power(x, y), (0.5, 2), (-1, 1)),
    "maximum": (lambda x, y: np.maximum(x, y), (-1, 0), (0.1, 1)),
    "minimum": (lambda x, y: np.minimum(x, y), (-1, 0), (0.1, 1)),
    "fmax": (lambda x, y: np.fmax(x, y), (0.1, 1), (-1, 0)),
    "fmin": (lambda x, y: np.fmin(x, y), (0.1, 1), (-1, 0)),
    "arctan2": (lambda x, y: np.arctan2(x, y), (-1, 1), (0.5, 2)),
    "hypot": (lambda x, y: np.hypot(x, y), (0.5, 1), (0.5, 1)),
    "logaddexp": (lambda x, y: np.logaddexp(x, y), (-1, 1), (-1, 1)),
    "logaddexp2": (lambda x, y: np.logaddexp2(x, y), (-1, 1), (-1, 1)),
    "true_divide": (lambda x, y: np.true_divide(x, y), (-1, 1), (0.5, 2)),
    "mod": (lambda x, y: np.mod(x, y), (2.1, 2.9), (0.9, 1.0)),
    "fmod": (lambda x, y: np.fmod(x, y), (2.1, 2.9), (0.9, 1.0)),
    "remainder_op": (lambda x, y: x % y, (2.1, 2.9), (0.9, 1.0)),
    "copysign": (lambda x, y: np.copysign(x, y), (0.1, 1), (-1, -0.5)),
    "np.add": (lambda x, y: np.add(x, y), (-1, 1), (-1, 1)),
    "np.multiply": (lambda x, y: np.multiply(x, y), (-1, 1), (-1, 1)),
    "np.subtract": (lambda x, y: np.subtract(x, y), (-1, 1), (-1, 1)),
    "np.divide": (lambda x, y: np.divide(x, y), (-1, 1), (0.5, 2)),
    "where": (lambda x, y: np.where(x > 0, x, y), (-1, 1), (-1, 1)),
}

BROADCAST_SHAPES = [(), (1,), (3,), (2, 3), (1, 3), (2, 1)]


def _broadcasts(a, b):
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        return False
    return True


PAIRS = [(a, b) for a, b in itertools.product(BROADCAST_SHAPES, repeat=2) if _broadcasts(a, b)]
FULL_PAIR_OPS = ["add", "sub", "mul", "div", "pow", "maximum", "arctan2", "where"]


@pytest.mark.parametrize(("name", "sa", "sb"), thin(((n, a, b) for (a, b) in PAIRS for n in FULL_PAIR_OPS), 5), ids=str)
def test_binary_every_broadcast_pair(name, sa, sb):
    f, (lo1, hi1), (lo2, hi2) = BINARY[name]
    check(f, arr(*sa, lo=lo1, hi=hi1), arr(*sb, lo=lo2, hi=hi2), wrt=(0, 1))


@pytest.mark.parametrize(("name", "sa", "sb"), thin(
    ((n, a, b) for n in sorted(set(BINARY) - set(FULL_PAIR_OPS)) for a, b in [((), (3,)), ((2, 3), (3,)), ((2, 1), (1, 3))]),
    2), ids=str)
def test_binary(name, sa, sb):
    f, (lo1, hi1), (lo2, hi2) = BINARY[name]
    check(f, arr(*sa, lo=lo1, hi=hi1), arr(*sb, lo=lo2, hi=hi2), wrt=(0, 1))


@pytest.mark.parametrize("wrt", [0, 1])
def test_binary_one_argument(wrt):
    check(lambda x, y: x * np.sin(y) / (1.0 + y ** 2), arr(2, 3), arr(3), wrt=wrt)


# ------------------------------------------------------------------ reductions, every axis and keepdims

X23 = arr(2, 3)
X234 = arr(2, 3, 4)
AXES_2D = [None, 0, 1, -1, (0, 1)]
AXES_3D = [None, 0, 1, 2, -1, (0, 2), (1, 2), (0, 1, 2)]

REDUCTIONS = {
    "sum": lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims),
    "mean": lambda x, axis, keepdims: np.mean(x, axis=axis, keepdims=keepdims),
    "prod": lambda x, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims),
    "max": lambda x, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims),
    "min": lambda x, axis, keepdims: np.min(x, axis=axis, keepdims=keepdims),
    "amax": lambda x, axis, keepdims: np.amax(x, axis=axis, keepdims=keepdims),
    "var": lambda x, axis, keepdims: np.var(x, axis=axis, keepdims=keepdims),
    "std": lambda x, axis, keepdims: np.std(x, axis=axis, keepdims=keepdims),
    "var_ddof": lambda x, axis, keepdims: np.var(x, axis=axis, ddof=1, keepdims=keepdims),
    "std_ddof": lambda x, axis, keepdims: np.std(x, axis=axis, ddof=1, keepdims=keepdims),
    "method_sum": lambda x, axis, keepdims: x.sum(axis=axis, keepdims=keepdims),
    "method_mean": lambda x, axis, keepdims: x.mean(axis=axis, keepdims=keepdims),
    "method_max": lambda x, axis, keepdims: x.max(axis=axis, keepdims=keepdims),
    "method_prod": lambda x, axis, keepdims: x.prod(axis=axis, keepdims=keepdims),
    "method_std": lambda x, axis, keepdims: x.std(axis=axis, keepdims=keepdims),
}


@pytest.mark.parametrize(("name", "axis", "keepdims"),
                         thin(itertools.product(REDUCTIONS, AXES_2D, [False, True]), 3), ids=str)
def test_reduction_2d(name, axis, keepdims):
    f = REDUCTIONS[name]
    check(f, X23, axis, keepdims)


@pytest.mark.parametrize(("name", "axis", "keepdims"), thin(
    itertools.product(["sum", "mean", "prod", "max", "var_ddof"], AXES_3D, [False, True]), 3), ids=str)
def test_reduction_3d(name, axis, keepdims):
    check(REDUCTIONS[name], X234, axis, keepdims)


def test_reductions_with_positional_axis():
    check(lambda x: np.sum(x, 1) + np.mean(x, 0)[0] + np.max(x, -1)[1], X23)


CUMULATIVE = {
    "cumsum": lambda x, axis: np.cumsum(x, axis=axis),
    "cumprod": lambda x, axis: np.cumprod(x, axis=axis),
    "method_cumsum": lambda x, axis: x.cumsum(axis=axis),
    "method_cumprod": lambda x, axis: x.cumprod(axis=axis),
}


@pytest.mark.parametrize("axis", [None, 0, 1, -1], ids=str)
@pytest.mark.parametrize("name", CUMULATIVE)
def test_cumulative(name, axis):
    check(CUMULATIVE[name], X23, axis)


@pytest.mark.parametrize("x", [
    np.array([0.0, 2.0, 3.0]), np.array([0.0, 0.0, 3.0]), np.array([2.0, 0.0, -1.5]), np.zeros(3),
], ids=["one zero", "two zeros", "zero inside", "all zeros"])
def test_prod_with_zeros(x):
    check(lambda x: np.prod(x), x)


def test_cumprod_with_a_zero():
    check(lambda x: np.cumprod(x), np.array([2.0, 0.0, 3.0, 1.5]))


@pytest.mark.parametrize("name", ["max", "min", "amax"])
def test_max_min_with_ties_split_evenly(name):
    # max is not differentiable at a tie; autograd and JAX give each of k tied entries 1/k (a
    # subgradient: the entries sum to 1), and s2sad agrees. Central differences give 1/2 to each.
    import autograd
    import autograd.numpy as anp
    import s2sad
    from peer_harness import with_numpy

    f = REDUCTIONS[name]
    x = np.array([1.0, 3.0, 3.0, -2.0, 3.0]) * (1 if name != "min" else -1)
    g = s2sad.grad(f)(x, None, False)
    np.testing.assert_allclose(g, [0, 1 / 3, 1 / 3, 0, 1 / 3])
    np.testing.assert_allclose(g, autograd.grad(with_numpy(f, anp))(x, None, False))


def test_max_with_ties_along_an_axis():
    check(lambda x: np.max(x, axis=1), np.array([[1.0, 1.0, 0.0], [2.0, -1.0, 2.0]]))


def test_maximum_with_ties():
    check(lambda x, y: np.maximum(x, y), np.array([1.0, 2.0]), np.array([1.0, 0.0]), wrt=(0, 1))


def test_reductions_of_empty_arrays():
    check(lambda x: np.sum(x), np.zeros(0))
    check(lambda x: np.sum(x) + np.sum(x ** 2), np.zeros((0, 3)))
    check(lambda x: np.sum(x, axis=0), np.zeros((0, 3)))


def test_gradient_of_an_empty_argument_is_empty():
    import s2sad

    g = s2sad.grad(lambda x, y: np.sum(x) * y)(np.zeros((2, 0)), 2.0)
    assert g.shape == (2, 0)


# ------------------------------------------------------------------ indexing

X = arr(4, 3)
INDEXING = {
    "int": lambda x: x[1],
    "negative int": lambda x: x[-1],
    "two ints": lambda x: x[1, 2],
    "slice": lambda x: x[1:3],
    "negative step": lambda x: x[::-1],
    "step 2": lambda x: x[::2],
    "column": lambda x: x[:, 1],
    "newaxis": lambda x: x[np.newaxis],
    "None mixed": lambda x: x[None, :, None],
    "ellipsis": lambda x: x[..., 0],
    "ellipsis newaxis": lambda x: x[..., None],
    "fancy repeated": lambda x: x[[0, 2, 0]],
    "fancy 2d index": lambda x: x[np.array([[0, 1], [3, 3]])],
    "fancy pair": lambda x: x[[0, 1, 1], [1, 2, 2]],
    "fancy and slice": lambda x: x[1:, [2, 0, 2]],
    "mask": lambda x: x[x > 0],
    "row mask": lambda x: x[np.array([True, False, True, True])],
    "reversed columns": lambda x: x[1:, ::-1],
    "negative slice": lambda x: x[-3:-1, -2:],
    "T": lambda x: x.T,
    "transpose": lambda x: np.transpose(x),
    "take": lambda x: np.take(x, [0, 3, 3]),
    "take axis": lambda x: np.take(x, [2, 0], axis=1),
    "take_along_axis": lambda x: np.take_along_axis(x, np.array([[0], [2], [1], [1]]), axis=1),
    "argmax index": lambda x: x[np.argmax(x[:, 0])],
    "sorted": lambda x: np.sort(x, axis=0),
    "sorted flat": lambda x: np.sort(x, axis=None),
    "argsort": lambda x: x[0][np.argsort(x[0])],
}


@pytest.mark.parametrize("name", INDEXING)
def test_indexing(name):
    check(INDEXING[name], X)


def test_index_of_a_vector_in_a_loop():
    def f(x):
        s = 0.0
        for i in range(len(x)):
            s = s + x[i] * x[len(x) - 1 - i]
        return s

    check(f, arr(5))


def test_setitem_on_a_local_copy():
    def f(x):
        y = np.zeros_like(x)
        y[0] = x[1] * 2.0
        y[1:] = np.sin(x[:-1])
        return y

    check(f, arr(4))


# ------------------------------------------------------------------ shapes: reshape, stack, split ...

SHAPE_OPS = {
    "reshape": lambda x: x.reshape(3, 2),
    "reshape tuple": lambda x: x.reshape((3, 2)),
    "reshape -1": lambda x: np.reshape(x, (-1,)),
    "ravel": lambda x: np.ravel(x),
    "flatten": lambda x: x.flatten(),
    "swapaxes": lambda x: np.swapaxes(x, 0, 1),
    "moveaxis": lambda x: np.moveaxis(x[None], 0, 2),
    "expand_dims": lambda x: np.expand_dims(x, 1),
    "squeeze": lambda x: np.squeeze(x[:, None, :]),
    "flip": lambda x: np.flip(x, axis=1),
    "fliplr": lambda x: np.fliplr(x),
    "flipud": lambda x: np.flipud(x),
    "rot90": lambda x: np.rot90(x),
    "roll": lambda x: np.roll(x, 1, axis=1),
    "roll flat": lambda x: np.roll(x, 2),
    "tile": lambda x: np.tile(x, (2, 1)),
    "repeat": lambda x: np.repeat(x, 2, axis=0),
    "repeat flat": lambda x: np.repeat(x, 2),
    "broadcast_to": lambda x: np.broadcast_to(x[0], (4, 3)),
    "triu": lambda x: np.triu(x),
    "tril": lambda x: np.tril(x, -1),
    "diagonal": lambda x: np.diagonal(x),
    "trace": lambda x: np.trace(x),
    "diag of vector": lambda x: np.diag(x[0]),
    "diag of matrix": lambda x: np.diag(x),
    "atleast_2d": lambda x: np.atleast_2d(x[0]),
    "concatenate 0": lambda x: np.concatenate([x, 2 * x], axis=0),
    "concatenate 1": lambda x: np.concatenate((x, x[:, :1]), axis=1),
    "concatenate flat": lambda x: np.concatenate([x[0], x[1]]),
    "stack 0": lambda x: np.stack([x, x ** 2]),
    "stack 1": lambda x: np.stack([x, x ** 2], axis=1),
    "stack -1": lambda x: np.stack([x, x ** 2], axis=-1),
    "hstack": lambda x: np.hstack([x, x]),
    "vstack": lambda x: np.vstack([x, x[0]]),
    "dstack": lambda x: np.dstack([x, x]),
    "column_stack": lambda x: np.column_stack([x[0], x[1]]),
    "split": lambda x: np.split(x, 3, axis=1)[1],
    "split sections": lambda x: np.split(x, [1], axis=0)[1] * 2.0,
    "array_split": lambda x: np.array_split(x, 2, axis=1)[0],
    "hsplit": lambda x: np.hsplit(x, 3)[2],
    "vsplit": lambda x: np.vsplit(x, 2)[0],
    "pad": lambda x: np.pad(x, 1),
    "array of rows": lambda x: np.array([x[0], x[1] * 3.0]),
    "array of scalars": lambda x: np.array([x[0, 0], x[1, 2] ** 2, 1.0]),
    "array nested": lambda x: np.array([[x[0, 0], x[0, 1]], [x[1, 1], 2.0]]),
    "asarray": lambda x: np.asarray(x) * 2.0,
}


@pytest.mark.parametrize("name", SHAPE_OPS)
def test_shape_ops(name):
    x = arr(2, 3)
    if name in ("triu", "tril", "diagonal", "trace", "diag of matrix", "rot90"):
        x = arr(3, 3)
    check(SHAPE_OPS[name], x)


def test_split_unpacked():
    def f(x):
        a, b = np.split(x, 2)
        return np.sum(a * b) + np.sum(a)

    check(f, arr(4))


# ------------------------------------------------------------------ products

PRODUCTS = {
    "matmul": (lambda a, b: a @ b, (2, 3), (3, 4)),
    "matmul mv": (lambda a, b: a @ b, (2, 3), (3,)),
    "matmul vm": (lambda a, b: a @ b, (3,), (3, 4)),
    "matmul vv": (lambda a, b: a @ b, (3,), (3,)),
    "matmul batched": (lambda a, b: a @ b, (2, 2, 3), (3, 2)),
    "np.matmul": (lambda a, b: np.matmul(a, b), (2, 3), (3, 2)),
    "dot": (lambda a, b: np.dot(a, b), (2, 3), (3, 4)),
    "dot vv": (lambda a, b: np.dot(a, b), (3,), (3,)),
    "dot scalar": (lambda a, b: np.dot(a, b), (), (3,)),
    "dot nd": (lambda a, b: np.dot(a, b), (2, 2, 3), (3, 2)),
    "method dot": (lambda a, b: a.dot(b), (2, 3), (3,)),
    "inner": (lambda a, b: np.inner(a, b), (2, 3), (4, 3)),
    "outer": (lambda a, b: np.outer(a, b), (3,), (4,)),
    "tensordot": (lambda a, b: np.tensordot(a, b, axes=1), (2, 3), (3, 4)),
    "tensordot 2": (lambda a, b: np.tensordot(a, b, axes=([0, 1], [1, 0])), (2, 3), (3, 2)),
    "einsum ij,jk": (lambda a, b: np.einsum("ij,jk->ik", a, b), (2, 3), (3, 4)),
    "einsum trace": (lambda a, b: np.einsum("ij,ji", a, b), (2, 3), (3, 2)),
    "einsum batch": (lambda a, b: np.einsum("bij,bj->bi", a, b), (2, 2, 3), (2, 3)),
    "kron": (lambda a, b: np.kron(a, b), (2, 2), (2, 3)),
    "cross": (lambda a, b: np.cross(a, b), (2, 3), (2, 3)),
    "vdot": (lambda a, b: np.vdot(a, b), (2, 3), (2, 3)),
}


@pytest.mark.parametrize("name", PRODUCTS)
def test_products(name):
    f, sa, sb = PRODUCTS[name]
    check(f, arr(*sa), arr(*sb), wrt=(0, 1))


# ------------------------------------------------------------------ linalg (test_linalg)


def spd(n):
    a = arr(n, n)
    return a @ a.T + n * np.eye(n)


LINALG = {
    "inv": (lambda a: np.linalg.inv(a), lambda: spd(3)),
    "det": (lambda a: np.linalg.det(a), lambda: arr(3, 3)),
    "det 2x2": (lambda a: np.linalg.det(a), lambda: arr(2, 2)),
    "det batched": (lambda a: np.linalg.det(a), lambda: arr(2, 3, 3)),
    "slogdet": (lambda a: np.linalg.slogdet(a)[1], lambda: arr(3, 3)),
    "slogdet unpacked": (lambda a: np.linalg.slogdet(a)[0] * np.linalg.slogdet(a)[1], lambda: spd(3)),
    "cholesky": (lambda a: np.linalg.cholesky(0.5 * (a + a.T)), lambda: spd(3)),
    "eigh values": (lambda a: np.linalg.eigh(0.5 * (a + a.T))[0], lambda: spd(3)),
    "eigh vectors": (lambda a: np.abs(np.linalg.eigh(0.5 * (a + a.T))[1]), lambda: spd(3)),
    "eigvalsh": (lambda a: np.linalg.eigvalsh(a), lambda: spd(3)),
    "svd s": (lambda a: np.linalg.svd(a)[1], lambda: arr(3, 3)),
    "svd s tall": (lambda a: np.linalg.svd(a, full_matrices=False)[1], lambda: arr(3, 2)),
    "svd u": (lambda a: np.abs(np.linalg.svd(a, full_matrices=False)[0]), lambda: arr(3, 2)),
    "svd compute_uv": (lambda a: np.linalg.svd(a, compute_uv=False), lambda: arr(2, 3)),
    "svdvals sum": (lambda a: np.sum(np.linalg.svd(a, full_matrices=False)[1] ** 2), lambda: arr(3, 3)),
    "norm": (lambda a: np.linalg.norm(a), lambda: arr(2, 3)),
    "norm fro": (lambda a: np.linalg.norm(a, "fro"), lambda: arr(2, 3)),
    "norm vector 1": (lambda a: np.linalg.norm(a, 1), lambda: arr(4)),
    "norm vector 3": (lambda a: np.linalg.norm(a, ord=3), lambda: arr(4)),
    "norm vector inf": (lambda a: np.linalg.norm(a, np.inf), lambda: np.array([0.3, -2.0, 1.0])),
    "norm axis": (lambda a: np.linalg.norm(a, axis=1), lambda: arr(2, 3)),
    "norm axis keepdims": (lambda a: np.linalg.norm(a, axis=0, keepdims=True), lambda: arr(2, 3)),
    "norm nuc": (lambda a: np.linalg.norm(a, "nuc"), lambda: arr(3, 3)),
    "norm 2 matrix": (lambda a: np.linalg.norm(a, 2), lambda: arr(3, 3)),
    "pinv": (lambda a: np.linalg.pinv(a), lambda: arr(3, 2)),
    "matrix_power": (lambda a: np.linalg.matrix_power(a, 3), lambda: arr(2, 2)),
    "matrix_power 0": (lambda a: np.linalg.matrix_power(a, 0), lambda: arr(2, 2)),
    "matrix_power -2": (lambda a: np.linalg.matrix_power(a, -2), lambda: spd(3)),
    "inv batched": (lambda a: np.linalg.inv(a), lambda: np.stack([spd(2), spd(2)])),
}


@pytest.mark.parametrize("name", LINALG)
def test_linalg(name):
    f, make = LINALG[name]
    check(f, make(), rtol=1e-4, atol=1e-6)


def test_solve_both_arguments():
    check(lambda a, b: np.linalg.solve(a, b), spd(3), arr(3), wrt=(0, 1))
    check(lambda a, b: np.linalg.solve(a, b), spd(3), arr(3, 2), wrt=(0, 1))


def test_lower_triangle_readers_against_central_differences():
    # NumPy's cholesky and eigh read only the lower triangle: the gradient of the function NumPy
    # computes is lower-triangular (autograd and JAX symmetrize instead, a different function)
    check(lambda a: np.linalg.cholesky(a), spd(3), against_autograd=False)
    check(lambda a: np.linalg.eigh(a)[0], spd(3), against_autograd=False)


def test_cholesky_solve_loss():
    def f(a, b):
        a = 0.5 * (a + a.T)
        L = np.linalg.cholesky(a)
        z = np.linalg.solve(L, b)
        return np.sum(z ** 2) + 2.0 * np.sum(np.log(np.diag(L)))

    check(f, spd(3), arr(3), wrt=(0, 1), rtol=1e-4)


# ------------------------------------------------------------------ argument kinds: ints, bools, 0-d, float32


def test_int_argument_gets_a_float_gradient():
    import s2sad

    g = s2sad.grad(lambda x: x * x * 1.5)(3)
    assert g == 9.0 and isinstance(g, float)
    g = s2sad.grad(lambda x: np.sum(x ** 2))(np.array([1, 2, 3]))
    np.testing.assert_allclose(g, [2.0, 4.0, 6.0])
    assert g.dtype.kind == "f"


def test_zero_d_array_argument():
    import s2sad

    g = s2sad.grad(lambda x: np.sin(x) * 2.0)(np.array(0.5))
    np.testing.assert_allclose(g, 2 * np.cos(0.5))
    assert np.shape(g) == ()


def test_float32_arguments():
    import s2sad

    x = np.array([0.5, 1.5], dtype=np.float32)
    g = s2sad.grad(lambda x: np.sum(np.sin(x) * x))(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, np.cos(x) * x + np.sin(x), rtol=1e-5)


def test_bool_argument_is_not_differentiated():
    import s2sad

    with pytest.raises(s2sad.S2SADError):
        s2sad.grad(lambda x: x * 2.0)(True)


def test_complex_argument_is_refused():
    import s2sad

    with pytest.raises(s2sad.S2SADError):
        s2sad.grad(lambda x: np.real(x * x))(1.0 + 2.0j)


def test_complex_intermediate_is_refused():
    import s2sad

    with pytest.raises(s2sad.S2SADError):
        s2sad.grad(lambda x: np.real(np.exp(1j * x)))(0.3)


def test_non_scalar_output_is_refused_by_grad():
    import s2sad

    with pytest.raises(s2sad.S2SADError):
        s2sad.grad(lambda x: x * 2.0)(np.ones(3))


# ------------------------------------------------------------------ wrappers (test_wrappers, api_test)


def _kw(x, y=2.0, *, scale=1.0):
    return scale * np.sum(x ** y)


def test_keyword_arguments_at_the_call():
    import s2sad

    x = arr(3, lo=0.5, hi=1.5)
    g = s2sad.grad(_kw)(x, y=3.0, scale=2.0)
    np.testing.assert_allclose(g, 2.0 * 3.0 * x ** 2)
    g = s2sad.grad(_kw, wrt="y")(x, y=3.0)
    np.testing.assert_allclose(g, np.sum(x ** 3 * np.log(x)))
    g = s2sad.grad(_kw, wrt="y")(x)
    np.testing.assert_allclose(g, np.sum(x ** 2 * np.log(x)))


def test_value_and_grad():
    import s2sad

    f = lambda x: np.sum(np.tanh(x))
    x = arr(3)
    v, g = s2sad.value_and_grad(f)(x)
    np.testing.assert_allclose(v, f(x))
    np.testing.assert_allclose(g, 1 - np.tanh(x) ** 2)


def test_has_aux():
    import s2sad

    def f(x):
        return np.sum(x ** 2), x * 3.0

    x = arr(3)
    g, aux = s2sad.grad(f, has_aux=True)(x)
    np.testing.assert_allclose(g, 2 * x)
    np.testing.assert_allclose(aux, 3 * x)


def _cubic(x):
    return x ** 3 + np.sin(x) * x


@pytest.mark.parametrize("x", [0.3, -1.2])
def test_higher_derivatives_of_a_scalar_function(x):
    import s2sad

    d1 = s2sad.grad(_cubic)
    d2 = s2sad.grad(d1)
    d3 = s2sad.grad(d2)
    np.testing.assert_allclose(d1(x), 3 * x ** 2 + np.cos(x) * x + np.sin(x))
    np.testing.assert_allclose(d2(x), 6 * x - np.sin(x) * x + 2 * np.cos(x))
    np.testing.assert_allclose(d3(x), 6 - np.cos(x) * x - 3 * np.sin(x))
    for n, expected in [(2, d2(x)), (3, d3(x))]:
        np.testing.assert_allclose(s2sad.derivative(_cubic, order=n)(x), expected)


def _rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def test_hessian_and_hvp_against_autograd():
    import autograd
    import autograd.numpy as anp
    import s2sad
    from peer_harness import with_numpy

    x = arr(4)
    h = s2sad.hessian(_rosen)(x)
    np.testing.assert_allclose(h, autograd.hessian(with_numpy(_rosen, anp))(x), rtol=1e-10)
    v = arr(4)
    np.testing.assert_allclose(s2sad.hvp(_rosen)(x, v), h @ v, rtol=1e-10)


def _vector_fn(x):
    return np.array([x[0] * x[1], np.sin(x[2]), x[0] ** 2]) + np.tanh(x[:3])


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_jacobian_against_autograd(mode):
    import autograd
    import autograd.numpy as anp
    import s2sad
    from peer_harness import with_numpy

    x = arr(3)
    np.testing.assert_allclose(
        s2sad.jacobian(_vector_fn, mode=mode)(x), autograd.jacobian(with_numpy(_vector_fn, anp))(x))


def test_grad_of_a_function_not_depending_on_x():
    import s2sad

    assert s2sad.grad(lambda x, y: y * 2.0)(1.5, 3.0) == 0.0
    np.testing.assert_array_equal(s2sad.grad(lambda x, y: np.sum(y))(np.ones(3), np.ones(2)), np.zeros(3))


def test_grad_of_a_constant():
    import s2sad

    assert s2sad.grad(lambda x: 3.0)(1.5) == 0.0


# ------------------------------------------------------------------ containers, closures (test_list/dict/tuple)


def _list_arg(xs):
    return xs[0] * np.sin(xs[1]) + np.sum(xs[2])


def _dict_arg(p):
    return np.sum(p["w"] * p["b"]) + p["c"] ** 2


def _tuple_arg(t):
    a, (b, c) = t
    return a * b + np.sum(c * a)


def test_list_dict_tuple_arguments():
    import s2sad

    xs = [0.5, 0.3, arr(3)]
    g = s2sad.grad(_list_arg)(xs)
    assert isinstance(g, list)
    np.testing.assert_allclose(g[0], np.sin(0.3))
    np.testing.assert_allclose(g[1], 0.5 * np.cos(0.3))
    np.testing.assert_allclose(g[2], np.ones(3))
    p = {"w": arr(3), "b": arr(3), "c": 1.5}
    g = s2sad.grad(_dict_arg)(p)
    np.testing.assert_allclose(g["w"], p["b"])
    np.testing.assert_allclose(g["b"], p["w"])
    np.testing.assert_allclose(g["c"], 3.0)
    c = arr(2)
    g = s2sad.grad(_tuple_arg)((0.7, (1.5, c)))
    assert isinstance(g, tuple)
    np.testing.assert_allclose(g[0], 1.5 + np.sum(c))
    np.testing.assert_allclose(g[1][0], 0.7)
    np.testing.assert_allclose(g[1][1], 0.7 * np.ones(2))


def _returns_list(x):
    return [x * 2.0, np.sin(x)]


def _returns_dict_item(x):
    d = {"a": x ** 2, "b": [x, 3.0 * x]}
    return d["a"] + d["b"][1]


def _list_built_in_a_loop(x):
    out = []
    for i in range(3):
        out.append(x[i] * x[i + 1])
    return np.sum(np.array(out)) + out[0] * out[2]


def _tuple_return(x):
    return x ** 2, np.sum(x)


def test_containers_inside():
    check(_returns_dict_item, 0.7)
    check(_list_built_in_a_loop, arr(4))
    check(_tuple_return, arr(3))
    check(_returns_list, arr(2))


def _closure_maker(a):
    def inner(x):
        return np.sin(a * x) + a
    return inner


def test_closure_over_a_value():
    check(_closure_maker(1.7), arr(3))


def _uses_nested(x, a):
    def inner(y):
        return np.sin(a * y) * a

    return np.sum(inner(x) + inner(2.0 * x))


def test_nested_function_reads_enclosing_argument():
    check(_uses_nested, arr(3), 0.8, wrt=(0, 1))


def _fanout(x):
    y = np.sin(x)
    return np.sum(y * y * y + y)


def test_fanout():
    check(_fanout, arr(3))


# ------------------------------------------------------------------ builtins and scalar ops (test_scalar_ops, test_builtins)

SCALAR = {
    "builtin sum": lambda x: sum([x, 2.0 * x, x ** 2]),
    "builtin max": lambda x: max(x, 0.5) + max([x * 2.0, -x]),
    "builtin min": lambda x: min(x, 0.5) * 3.0,
    "builtin pow": lambda x: pow(x, 3),
    "builtin abs": lambda x: abs(x - 3.0),
    "float()": lambda x: float(x) * x,
    "math.sin": lambda x: math.sin(x) * math.exp(x) + math.sqrt(x),
    "divmod part": lambda x: x // 1.0 + x,
    "if on value": lambda x: x ** 2 if x > 0 else -x,
    "chain": lambda x: np.tanh(np.exp(np.sin(x))) / (1.0 + x * x),
    "int power negative": lambda x: x ** -2,
    "x**0": lambda x: x ** 0 + x,
}


@pytest.mark.parametrize("name", SCALAR)
def test_scalar(name):
    check(SCALAR[name], 1.3)


def test_isinstance_sees_the_argument():
    # autograd's boxes fail isinstance(x, float); s2sad runs the program as written
    check(lambda x: x * 2.0 if isinstance(x, float) else x, 1.3, against_autograd=False)


# ------------------------------------------------------------------ more of autograd's test_numpy

A564 = arr(5, 6, 4)
NUMPY_MORE = {
    "index ints 3d": (lambda x: x[3, 0, 1], A564),
    "index slice 3d": (lambda x: x[::-1, 2:4, :], A564),
    "index list 3d": (lambda x: x[[0, 1, 2], :, :], A564),
    "index mixed 3d": (lambda x: x[3, 2:, [1, 3]], A564),
    "slice fanout": (lambda x: x[::-1, 2:4, :] + x[::-1, 3:5, :], A564),
    "slice of slice": (lambda x: x[2:6][1:3], arr(7)),
    "reshape 3d": (lambda x: x.reshape((5 * 4, 6)), A564),
    "reshape nolist": (lambda x: x.reshape(5 * 4, 6), A564),
    "ravel 3d": (lambda x: x.ravel(), A564),
    "concatenate consts": (lambda x: np.concatenate((B564, x, B564), 1), A564),
    "trace offset": (lambda x: np.trace(x, offset=2), arr(4, 5)),
    "trace negative offset": (lambda x: np.trace(x, offset=-1), arr(5, 4)),
    "trace extra dims": (lambda x: np.trace(x, offset=1), arr(3, 4, 2)),
    "diagonal last axes": (lambda x: np.diagonal(x, axis1=-1, axis2=-2), arr(3, 4, 4)),
    "triu k": (lambda x: np.triu(x, k=2), arr(5, 5)),
    "tril k": (lambda x: np.tril(x, k=2), arr(5, 5)),
    "clip keywords": (lambda x: np.clip(x, a_min=0.1, a_max=1.1), arr(3, 3, lo=-0.5, hi=2)),
    "clip method": (lambda x: x.clip(0.1, 0.6), arr(3, 3)),
    "1d array of scalars": (lambda x: np.array([x, x * 1.0, x + 2.5]), 3.0),
    "2d array of scalars": (lambda x: np.array([[x, x * 1.0, x + 2.5], [x ** 2, x, x / 2.0]]), 3.0),
    "array fanout": (lambda x: np.array([x, x * 1.0, x + 2.5]) + np.array([x, x * 1.0, x + 2.5]), 3.0),
    "array from scalar": (lambda x: np.array(x), 3.0),
    "array from arrays": (lambda x: np.array([x, x]), arr(3, 2)),
    "array from arrays 2": (lambda x: np.array([[2 * x, x + 1], [x, x]]), arr(3, 2)),
    "r_": (lambda x: np.r_[x, x], arr(3, 2)),
    "r_ const": (lambda x: np.r_[x, C32], arr(3, 2)),
    "r_ range": (lambda x: np.r_[x, C10, 1:10], arr(10)),
    "c_": (lambda x: np.c_[x, C32, x], arr(3, 2)),
    "no relation": (lambda x: C32, arr(3, 2)),
    "append list": (lambda x: np.append([1.0, 2.0], x), 4.0),
    "append array": (lambda x: np.append(x, 4.0), arr(3)),
    "where const mask": (lambda x, y: np.where(MASK45, x, y), arr(4, 5)),
    "squeeze func": (lambda x: np.squeeze(x), arr(5, 1, 4)),
    "squeeze method": (lambda x: x.squeeze(), arr(5, 1, 4)),
    "repeat axis1": (lambda x: np.repeat(x, 2, axis=1), arr(5, 3, 4)),
    "repeat rep1": (lambda x: np.repeat(x, 1, axis=1), arr(5, 3, 4)),
    "repeat 1d": (lambda x: np.repeat(x, 2, axis=0), arr(5)),
    "expand_dims 2": (lambda x: np.expand_dims(x, 2), arr(5, 1, 4)),
    "tensordot positional": (lambda x: np.tensordot(x * np.ones((2, 2)), x * np.ones((2, 2)), 2), 1.0),
    "multi index": (lambda x: np.sum(x[[0, 0]]), arr(3)),
    "dot of slices": (lambda x: np.dot(x[:2], x[2:]), arr(4)),
    "cast to int index": (lambda w: w[:, :-1][np.int64(w[:, -1] * 0.0 + 1.0)].sum(), arr(5, 10)),
    "nan_to_num of nan": (lambda x: np.sum(np.sin(np.nan_to_num(x + NANS))), arr(4)),
    "sum of a list": (lambda x, y: sum([x, y]), arr(3, 2)),
    "dot float": (lambda x, y: np.dot(x, y), arr(4, 3)),
    "len": (lambda x: x * len(x), arr(3, 2)),
    "item": (lambda x: x[0, 1:2].item() * x, arr(3, 2)),
    "outer of T": (lambda x, y: np.outer(x.T, y.T), arr(4)),
}
B564 = arr(5, 6, 4)
C32 = arr(3, 2)
C10 = arr(10)
MASK45 = arr(4, 5) > 0
NANS = np.array([0.0, np.nan, np.inf, -np.inf])


@pytest.mark.parametrize("name", NUMPY_MORE)
def test_numpy_more(name):
    f, x = NUMPY_MORE[name]
    n = f.__code__.co_argcount
    args = (x,) if n == 1 else (x, {"where const mask": arr(4, 5), "sum of a list": arr(3, 2),
                                     "dot float": 1.7, "outer of T": arr(3)}[name])
    check(f, *args, wrt=tuple(range(n)) if n > 1 else 0)


# ------------------------------------------------------------------ right, or refused at the line
# NumPy functions a peer suite may call. Each must give the derivative central differences give, or
# be refused with an s2sad error (never an internal error, never a wrong number). eig/eigvals are
# refused (complex); several of the others have rules now (tests/rule_cases_statistics.py).

M33 = arr(3, 3) + 3 * np.eye(3)
V4 = arr(4)
RIGHT_OR_REFUSED = {
    "multi_dot": (lambda x: np.linalg.multi_dot([x, x, x]), M33),
    "lstsq": (lambda x: np.linalg.lstsq(x, np.ones(3), rcond=None)[0], M33),
    "eig": (lambda x: np.real(np.linalg.eig(x)[0]), M33),
    "eigvals": (lambda x: np.real(np.linalg.eigvals(x)), M33),
    "tensorsolve": (lambda x: np.linalg.tensorsolve(x, np.ones(3)), M33),
    "cond": (lambda x: np.linalg.cond(x), M33),
    "ediff1d": (lambda x: np.ediff1d(x), V4),
    "gradient": (lambda x: np.gradient(x), V4),
    "trapezoid": (lambda x: np.trapezoid(x), V4),
    "percentile": (lambda x: np.percentile(x, 30.0), V4),
    "nanstd": (lambda x: np.nanstd(x), V4),
    "select": (lambda x: np.select([x < 0, x >= 0], [x ** 2, np.sin(x)]), V4),
    "vectorize": (lambda x: np.vectorize(lambda v: v ** 2)(x), V4),
    "apply_along_axis": (lambda x: np.apply_along_axis(np.sum, 0, x), M33),
    "insert": (lambda x: np.insert(x, 1, 5.0), V4),
    "block": (lambda x: np.block([[x, x], [x, x]]), M33),
    "x.flat": (lambda x: x.flat[2], M33),
    "i0": (lambda x: np.i0(x), V4),
    "frexp": (lambda x: np.frexp(x)[0], V4),
}


@pytest.mark.parametrize("name", RIGHT_OR_REFUSED)
def test_right_or_refused(name):
    import s2sad

    f, x = RIGHT_OR_REFUSED[name]
    try:
        check(f, x, rtol=1e-4, atol=1e-5)
    except s2sad.S2SADError as error:
        assert not isinstance(error, s2sad.InternalError), error
        assert error.location is not None and error.location.line > 0, error


@pytest.mark.parametrize("f", [
    lambda x: x[np.triu_indices_from(x, 1)],
    lambda x: x[np.tril_indices_from(x)] * 2.0,
    lambda x: x[np.diag_indices_from(x)],
    lambda x: np.linalg.matrix_rank(x) * x,
    lambda x: np.diagflat(x[0]),
    lambda x: np.diagflat(x[:2, :2], 1),
], ids=["triu_indices_from", "tril_indices_from", "diag_indices_from", "matrix_rank", "diagflat", "diagflat k"])
def test_index_helpers_and_diagflat(f):
    check(f, M33)
