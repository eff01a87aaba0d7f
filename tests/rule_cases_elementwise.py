"""Check cases for the rules in operators, elementwise, reductions and helpers.

Every registered rule appears in at least one case (tests/test_rules.py checks
that). Inputs come from one seeded generator; domains are chosen where each
function is differentiable; shapes include broadcasting operands, scalars,
negative and tuple axes, keepdims and non-contiguous views.
"""

from __future__ import annotations

import builtins
import math
import operator

import numpy as np

from s2sad import runtime
from s2sad.check import Case
from s2sad.primitives import Method
from s2sad.rules.operators import gather_items, spread_to_items
from s2sad.rules.operators import slope_exponent
from s2sad.rules.reductions import diff_adjoint, exclusive_cumsum, first_order_at_zeros, matrix_norm_direction, \
    pair_products_times, products_of_the_others, running_products_bar, running_products_dot, slice_sums, sums_of_the_others

rng = np.random.default_rng(0)


def normal(*shape):
    return rng.normal(size=shape)


def uniform(lo, hi, *shape):
    return rng.uniform(lo, hi, size=shape)


def strided(array):
    """A non-contiguous view with the same values: every other column of a wider array."""
    wide = np.empty(array.shape[:-1] + (2 * array.shape[-1],))
    wide[..., ::2] = array
    view = wide[..., ::2]
    assert not view.flags.c_contiguous
    return view


CASES: list[Case] = []


def add(primal, *args, id="", **kwargs):
    CASES.append(Case(primal, args, kwargs, id=id or ""))


def add_case(case):
    CASES.append(case)


# ---------------------------------------------------------------------------
# Unary ufuncs: (3, 4), a strided view, a Python float
# ---------------------------------------------------------------------------

UNARY = {
    np.sin: (-3, 3), np.cos: (-3, 3), np.tan: (-1.2, 1.2),
    np.arcsin: (-0.9, 0.9), np.arccos: (-0.9, 0.9), np.arctan: (-3, 3),
    np.sinh: (-2, 2), np.cosh: (-2, 2), np.tanh: (-2, 2),
    np.arcsinh: (-3, 3), np.arccosh: (1.2, 3), np.arctanh: (-0.9, 0.9),
    np.exp: (-2, 2), np.exp2: (-2, 2), np.expm1: (-2, 2),
    np.log: (0.2, 3), np.log2: (0.2, 3), np.log10: (0.2, 3), np.log1p: (-0.8, 3),
    np.sqrt: (0.2, 3), np.cbrt: (0.2, 3), np.square: (-2, 2), np.reciprocal: (0.3, 3),
    np.sinc: (-2, 2), np.deg2rad: (-90, 90), np.radians: (-90, 90),
    np.rad2deg: (-2, 2), np.degrees: (-2, 2),
    np.absolute: (-2, 2), np.fabs: (-2, 2), np.negative: (-2, 2), np.positive: (-2, 2),
    np.conjugate: (-2, 2),
}
for f, (lo, hi) in UNARY.items():
    name = getattr(f, "__name__", repr(f))
    add(f, uniform(lo, hi, 3, 4), id=f"np.{name}-3x4")
    add(f, strided(uniform(lo, hi, 2, 3)), id=f"np.{name}-strided")
    add(f, float(uniform(lo, hi)), id=f"np.{name}-float")

add(np.cbrt, -uniform(0.2, 3, 4), id="np.cbrt-negative")
add(np.sinc, np.array([0.0, 0.5, -1.5]), id="np.sinc-at-zero")
add(np.absolute, np.array([0.0, 1.5, -2.0]), id="np.absolute-at-zero")

# ---------------------------------------------------------------------------
# Binary ufuncs and operators: broadcasting (3,4)x(4,), (3,1)x(1,4), scalars
# ---------------------------------------------------------------------------

BINARY = {
    operator.add: ((-2, 2), (-2, 2)), np.add: ((-2, 2), (-2, 2)),
    operator.sub: ((-2, 2), (-2, 2)), np.subtract: ((-2, 2), (-2, 2)),
    operator.mul: ((-2, 2), (-2, 2)), np.multiply: ((-2, 2), (-2, 2)),
    operator.truediv: ((-2, 2), (0.5, 2)), np.divide: ((-2, 2), (0.5, 2)),
    operator.pow: ((0.5, 2), (-2, 2)), np.power: ((0.5, 2), (-2, 2)),
    np.float_power: ((0.5, 2), (-2, 2)),
    operator.mod: ((-5, 5), (1.1, 2.0)), np.remainder: ((-5, 5), (1.1, 2.0)),
    np.fmod: ((-5, 5), (1.1, 2.0)),
    np.arctan2: ((-2, 2), (-2, 2)), np.hypot: ((-2, 2), (-2, 2)),
    np.logaddexp: ((-2, 2), (-2, 2)), np.logaddexp2: ((-2, 2), (-2, 2)),
    np.maximum: ((-2, 2), (-2, 2)), np.minimum: ((-2, 2), (-2, 2)),
    np.fmax: ((-2, 2), (-2, 2)), np.fmin: ((-2, 2), (-2, 2)),
    np.copysign: ((-2, 2), (-2, 2)),
}
for f, ((lo1, hi1), (lo2, hi2)) in BINARY.items():
    name = getattr(f, "__name__", repr(f))
    add(f, uniform(lo1, hi1, 3, 4), uniform(lo2, hi2, 4), id=f"{name}-3x4-4")
    add(f, uniform(lo1, hi1, 3, 1), strided(uniform(lo2, hi2, 1, 4)), id=f"{name}-3x1-1x4strided")
    add(f, float(uniform(lo1, hi1)), uniform(lo2, hi2, 2, 3), id=f"{name}-float-2x3")
    add(f, uniform(lo1, hi1, 2, 3).T, float(uniform(lo2, hi2)), id=f"{name}-transposed-float")
    add(f, float(uniform(lo1, hi1)), float(uniform(lo2, hi2)), id=f"{name}-floats")

# ties split evenly between the operands (central differences see exactly 1/2)
tie1 = np.array([1.0, -0.5, 2.0, 0.25])
tie2 = np.array([1.0, 0.5, -2.0, 0.25])
for f in (np.maximum, np.minimum, np.fmax, np.fmin):
    add(f, tie1, tie2, id=f"{f.__name__}-ties")
add(np.fmax, np.array([np.nan, 1.0, 2.0]), np.array([0.5, np.nan, 3.0]), id="fmax-nan")
add(np.fmin, np.array([np.nan, 1.0, 2.0]), np.array([0.5, np.nan, 3.0]), id="fmin-nan")
add(np.hypot, np.array([0.0, 1.0]), np.array([0.0, 2.0]), id="hypot-origin")

# power corner cases: integer exponents with negative bases, exponent 0 at base 0
add_case(Case(np.power, (uniform(-2, 2, 3, 4), np.array([0, 1, 2, 3])), id="power-int-exponent"))
add_case(Case(operator.pow, (np.array([0.0, 1.5, -1.0]), 2), id="pow-square-negative-base"))
add_case(Case(np.power, (np.array([0.0, 0.0, 2.0]), np.array([0.0, 2.0, 0.0])), wrt=[0], id="power-zero-base"))
add_case(Case(np.power, (np.array([0.0, 2.0]), np.array([2.5, 0.0])), wrt=[1], id="power-zero-base-exponent"))
# the exponent of a**b's slope: b - 1, in b (a only says where a == b == 0)
add_case(Case(slope_exponent, (normal(3, 4), uniform(0.5, 1.5, 3, 4)), wrt=[0], id="slope_exponent"))
add_case(Case(slope_exponent, (0.0, -1.5), wrt=[0], id="slope_exponent-zero"))
add_case(Case(operator.pow, (np.array([0.0, 2.0]), 0), id="pow-exponent-zero"))
add_case(Case(operator.truediv, (uniform(-2, 2, 3), 4), id="truediv-by-int"))
add_case(Case(operator.mul, (3, uniform(-2, 2, 3)), id="mul-int-array"))

# unary operators
for f in (operator.neg, operator.pos):
    add(f, uniform(-2, 2, 3, 4), id=f"{f.__name__}-3x4")
    add(f, float(uniform(-2, 2)), id=f"{f.__name__}-float")

# ---------------------------------------------------------------------------
# where, clip, nan_to_num
# ---------------------------------------------------------------------------

cond = rng.uniform(size=(3, 4)) > 0.5
add(np.where, cond, normal(3, 4), normal(4), id="where-3x4-4")
add(np.where, cond[:, :1], normal(3, 1), 2.0, id="where-3x1-float")
add(np.where, True, normal(3), normal(2, 3), id="where-scalar-cond")

add(np.clip, normal(3, 4), -0.5, 0.5, id="clip-floats")
add(np.clip, normal(3, 4), uniform(-1, 0, 4), uniform(0, 1, 3, 1), id="clip-array-bounds")
add(np.clip, normal(3, 4), None, 0.3, id="clip-no-min")
add(np.clip, normal(3, 4), -0.3, None, id="clip-no-max")
add(np.clip, strided(normal(2, 5)), -0.5, 0.5, id="clip-strided")
add(Method("clip"), normal(3, 4), -0.5, 0.5, id="clip-method")

# fill values replace inf: finite differences cannot see through 1.8e308
add(np.nan_to_num, np.array([1.0, np.nan, np.inf, -np.inf, -2.0]), nan=0.5, posinf=2.0, neginf=-3.0,
    id="nan_to_num")
add_case(Case(np.nan_to_num, (np.array([1.0, np.nan, np.inf, -np.inf]),), {"posinf": 1.5, "neginf": -1.5},
              wrt=[0, "posinf", "neginf"], id="nan_to_num-posinf"))
add(np.nan_to_num, normal(3, 4), id="nan_to_num-finite")

# ---------------------------------------------------------------------------
# Random samplers (pathwise derivatives): reseed before every evaluation
# ---------------------------------------------------------------------------

add_case(Case(np.random.normal, (normal(3), uniform(0.5, 2, 2, 3)), reset=lambda: np.random.seed(7),
              id="random.normal"))
add_case(Case(np.random.uniform, (normal(3), uniform(2, 3, 2, 3)), reset=lambda: np.random.seed(7),
              id="random.uniform"))
_gen = np.random.default_rng(11)
_gen_state = _gen.bit_generator.state


def _reset_gen():
    _gen.bit_generator.state = _gen_state


add_case(Case(Method("normal"), (_gen, normal(3), 1.5), kwargs={"size": (2, 3)}, reset=_reset_gen,
              id="Generator.normal"))
add_case(Case(Method("uniform"), (_gen, -1.0, uniform(1, 2, 4)), reset=_reset_gen, id="Generator.uniform"))

# ---------------------------------------------------------------------------
# Builtins
# ---------------------------------------------------------------------------

add(builtins.abs, -1.25, id="abs-float")
add(builtins.abs, np.float64(0.75), id="abs-np-float")
add(builtins.abs, 0.0, id="abs-zero")
add(builtins.max, 1.5, -0.25, id="max-floats")
add(builtins.max, -1.5, 0.25, id="max-floats-2")
add(builtins.max, 0.5, 0.5, id="max-tie")
add(builtins.min, 1.5, -0.25, id="min-floats")
add(builtins.min, 0.5, 0.5, id="min-tie")
add(builtins.pow, 1.7, 2.3, id="pow-floats")
add(builtins.pow, uniform(0.5, 2, 3), 3, id="pow-array-int")
add(builtins.float, 2.5, id="float-float")
add(builtins.float, np.float64(-1.5), id="float-np-float")
add(builtins.float, np.array(0.75), id="float-0d-array")
add(builtins.sum, [normal(3, 4), normal(4), 1.5], id="sum-list-broadcast")
add(builtins.sum, (0.5, 1.25, -2.0), id="sum-tuple-floats")
add(builtins.sum, [normal(3), normal(3)], 2.0, id="sum-with-start")
add(builtins.tuple, [normal(3), normal(3)], id="tuple-of-a-list")
add(builtins.tuple, [0.5, 1.25, -2.0], id="tuple-of-floats")
add(math.fsum, [0.5, 1.25, -2.0], id="fsum-floats")
add(math.prod, [0.5, 1.25, -2.0], id="prod-floats")
add(math.prod, [0.5, 0.0, -2.0], start=1.5, id="prod-a-zero-start")

# ---------------------------------------------------------------------------
# math
# ---------------------------------------------------------------------------

MATH = {
    math.sin: (-3, 3), math.cos: (-3, 3), math.tan: (-1.2, 1.2),
    math.asin: (-0.9, 0.9), math.acos: (-0.9, 0.9), math.atan: (-3, 3),
    math.sinh: (-2, 2), math.cosh: (-2, 2), math.tanh: (-2, 2),
    math.asinh: (-3, 3), math.acosh: (1.2, 3), math.atanh: (-0.9, 0.9),
    math.exp: (-2, 2), math.expm1: (-2, 2), math.log: (0.2, 3), math.log2: (0.2, 3),
    math.log10: (0.2, 3), math.log1p: (-0.8, 3), math.sqrt: (0.2, 3),
    math.degrees: (-2, 2), math.radians: (-90, 90), math.fabs: (-2, 2),
    math.erf: (-2, 2), math.erfc: (-2, 2),
}
for f, (lo, hi) in MATH.items():
    add(f, float(uniform(lo, hi)), id=f"math.{f.__name__}")
    add(f, float(uniform(lo, hi)), id=f"math.{f.__name__}-2")

add(math.log, 2.5, 3.0, id="math.log-base")
add(math.log, 0.7, 10, id="math.log-int-base")
add(math.atan2, 0.3, -1.2, id="math.atan2")
add(math.atan2, -0.7, 0.4, id="math.atan2-2")
add(math.pow, 1.3, 2.7, id="math.pow")
add_case(Case(math.pow, (0.0, 2.5), wrt=[1], id="math.pow-zero-base"))
add(math.hypot, 0.3, -1.2, id="math.hypot")
add(math.hypot, 0.0, 0.0, id="math.hypot-origin")
add(math.copysign, 1.3, -2.0, id="math.copysign")
add(math.copysign, -0.4, 3.0, id="math.copysign-2")
add(math.fmod, 5.3, 1.7, id="math.fmod")
add(math.fmod, -5.3, 1.7, id="math.fmod-negative")

# ---------------------------------------------------------------------------
# Reductions: axis None / int / negative / tuple, keepdims, strided
# ---------------------------------------------------------------------------

AXES = [
    ((3, 4), {}),
    ((3, 4), {"axis": 0}),
    ((3, 4), {"axis": -1, "keepdims": True}),
    ((2, 3, 4), {"axis": (0, 2)}),
    ((2, 3, 4), {"axis": (-1, 1), "keepdims": True}),
    ((2, 3, 4), {"keepdims": True}),
]
for f in (np.sum, np.mean, np.prod, np.max, np.amax, np.min, np.amin, np.ptp, np.median,
          np.nansum, np.nanmean, np.nanmax, np.nanmin, np.var, np.std):
    name = getattr(f, "__name__", repr(f))
    for shape, kw in AXES:
        add(f, uniform(0.5, 1.5, *shape) * rng.choice([-1.0, 1.0], size=shape), id=f"{name}-{shape}-{kw}", **kw)
    add(f, strided(normal(3, 4)), axis=1, id=f"{name}-strided")

for f in (np.mean, np.sum):
    add(f, normal(3, 4), dtype=np.float64, axis=0, id=f"{f.__name__}-dtype")
for shape, kw in AXES[:5]:
    add(products_of_the_others, uniform(0.5, 1.5, *shape) * rng.choice([-1.0, 1.0], size=shape), kw.get("axis"),
        id=f"products_of_the_others-{shape}-{kw.get('axis')}")
    add_case(Case(slice_sums, (normal(*shape), normal(*shape), kw.get("axis")), {}, wrt=[0],
                  id=f"slice_sums-{shape}-{kw.get('axis')}"))
    add_case(Case(sums_of_the_others, (normal(*shape), normal(*shape), kw.get("axis")), {}, wrt=[0],
                  id=f"sums_of_the_others-{shape}-{kw.get('axis')}"))
    add_case(Case(pair_products_times, (normal(*shape), uniform(0.5, 1.5, *shape), kw.get("axis")), {}, wrt=[0],
                  id=f"pair_products_times-{shape}-{kw.get('axis')}"))
# a tiny entry (the others' products still normal) and an underflowing one (the products without dividing)
add(products_of_the_others, np.array([1.0, -0.5, 1e-300]), None, id="products_of_the_others-tiny")
add(products_of_the_others, np.array([[1e-200, 2.0, 1e-200], [1.0, 3.0, -2.0]]), 1, id="products_of_the_others-underflow")
add_case(Case(first_order_at_zeros, (normal(3, 4), uniform(0.5, 1.5, 3, 4), "np.prod"), {}, wrt=[0], id="first_order_at_zeros"))

# methods reuse the function rules
add(Method("sum"), normal(3, 4), 1, id="method-sum")
add(Method("mean"), normal(3, 4), axis=-1, keepdims=True, id="method-mean")
add(Method("prod"), normal(3, 4), id="method-prod")
add(Method("max"), normal(3, 4), 0, id="method-max")
add(Method("min"), normal(3, 4), id="method-min")
add(Method("std"), normal(3, 4), ddof=1, id="method-std")
add(Method("var"), normal(3, 4), axis=0, id="method-var")
add(Method("cumsum"), normal(3, 4), 1, id="method-cumsum")
add(Method("cumprod"), normal(3, 4), id="method-cumprod")
add(Method("trace"), normal(3, 4), id="method-trace")
add(Method("conj"), normal(3, 4), id="method-conj")

# prod and cumprod with zeros (one and two per slice)
zeros_2d = np.array([[1.5, 0.0, 2.0, -1.0], [0.0, 0.0, 3.0, 0.5], [1.0, 2.0, 0.5, -3.0]])
add(np.prod, zeros_2d, axis=1, id="prod-zeros-axis1")
add(np.prod, zeros_2d, axis=0, keepdims=True, id="prod-zeros-axis0")
add(np.prod, zeros_2d, id="prod-zeros-all")
add(np.prod, np.array([2.0, 0.0, 3.0]), id="prod-one-zero")
add(np.cumprod, zeros_2d, axis=1, id="cumprod-zeros-axis1")
add(np.cumprod, zeros_2d, axis=0, id="cumprod-zeros-axis0")
add(np.cumprod, zeros_2d, id="cumprod-zeros-flat")
add(np.cumprod, np.array([[1e-200, 1e-200, 3e-150], [0.5, 2.0, -1.5]]), axis=1, id="cumprod-underflow")
for axis, reverse in ((0, False), (1, True), (-1, False)):
    add_case(Case(exclusive_cumsum, (normal(3, 4), axis, reverse), wrt=[0], id=f"exclusive_cumsum-{axis}-{reverse}"))
for axis in (0, 1):
    entries = uniform(0.5, 1.5, 3, 4) * rng.choice([-1.0, 1.0], size=(3, 4))
    add_case(Case(running_products_bar, (normal(3, 4), entries, axis), wrt=[0, 1], id=f"running_products_bar-{axis}"))
    add_case(Case(running_products_dot, (normal(3, 4), entries, axis), wrt=[0, 1], id=f"running_products_dot-{axis}"))
add(np.cumprod, normal(2, 3, 4), axis=-2, id="cumprod-3d")
add(np.cumprod, strided(normal(3, 4)), axis=1, id="cumprod-strided")
add(np.cumsum, normal(3, 4), id="cumsum-flat")
add(np.cumsum, normal(2, 3, 4), axis=-1, id="cumsum-axis-1")
add(np.cumsum, strided(normal(3, 4)), axis=0, id="cumsum-strided")

# ties in max/min: two maximizers, each gets half (what central differences see)
ties = np.array([[1.0, 3.0, 3.0, 0.5], [2.0, -1.0, 0.0, 2.0], [-4.0, -4.0, 1.0, 1.0]])
for f in (np.max, np.min, np.amax, np.amin, np.nanmax, np.nanmin, np.ptp):
    add(f, ties, axis=1, id=f"{f.__name__}-ties")
with_nan = np.array([[1.0, np.nan, 3.0], [np.nan, 2.0, -1.0]])
for f in (np.nansum, np.nanmean, np.nanmax, np.nanmin):
    add(f, with_nan, axis=1, id=f"{f.__name__}-nan")
    add(f, with_nan, id=f"{f.__name__}-nan-all")

# median: odd and even counts, ties
add(np.median, normal(5), id="median-odd")
add(np.median, normal(6), id="median-even")
add(np.median, np.array([1.0, 2.0, 2.0, 5.0]), id="median-even-tie")
add(np.median, normal(4, 5), axis=-1, keepdims=True, id="median-rows")

# var/std with ddof, std of a constant
for f in (np.var, np.std):
    add(f, normal(3, 4), axis=1, ddof=1, id=f"{f.__name__}-ddof1")
    add(f, normal(3, 4), ddof=2, keepdims=True, id=f"{f.__name__}-ddof2")
add(np.std, np.full((2, 3), 1.5), axis=1, id="std-constant")

# average with weights
add(np.average, normal(3, 4), id="average-plain")
add(np.average, normal(3, 4), axis=1, weights=uniform(0.5, 2, 4), id="average-1d-weights")
add(np.average, normal(3, 4), axis=-2, weights=uniform(0.5, 2, 3), keepdims=True, id="average-1d-weights-kd")
add(np.average, normal(3, 4), axis=0, weights=uniform(0.5, 2, 3, 4), id="average-full-weights")
add(np.average, normal(3, 4), weights=uniform(0.5, 2, 3, 4), id="average-all-weights")
add(np.average, normal(2, 3, 4), axis=(0, 2), weights=uniform(0.5, 2, 2, 3, 4), id="average-tuple-axis")

# diff
add(np.diff, normal(6), id="diff")
add(np.diff, normal(3, 5), n=2, id="diff-n2")
add(np.diff, normal(4, 3), 1, 0, id="diff-axis0-positional")
add(np.diff, normal(2, 4, 3), n=3, axis=-2, id="diff-n3-axis-2")

# trace
add(np.trace, normal(3, 3), id="trace")
add(np.trace, normal(3, 5), offset=1, id="trace-offset")
add(np.trace, normal(4, 3), offset=-2, id="trace-negative-offset")
add(np.trace, normal(2, 3, 4), axis1=1, axis2=2, id="trace-3d")
add(np.trace, normal(3, 2, 4), 1, 2, 0, id="trace-3d-swapped")
add(np.trace, strided(normal(3, 3)), id="trace-strided")

# norms
add(np.linalg.norm, normal(5), id="norm")
add(np.linalg.norm, normal(3, 4), id="norm-fro-default")
add(np.linalg.norm, normal(3, 4), "fro", id="norm-fro")
add(np.linalg.norm, normal(3, 4), axis=1, id="norm-axis1")
add(np.linalg.norm, normal(3, 4), axis=-2, keepdims=True, id="norm-axis-2-kd")
add(np.linalg.norm, normal(2, 3, 4), None, (0, 2), id="norm-fro-axes")
add(np.linalg.norm, normal(2, 3, 4), "fro", (2, 1), True, id="norm-fro-axes-kd")
for p in (1, 2, np.inf, -np.inf, 3, 0.5, -1.5):
    add(np.linalg.norm, normal(3, 4), p, 1, id=f"norm-ord{p}-axis1")
    add(np.linalg.norm, normal(5), p, id=f"norm-ord{p}")
add(np.linalg.norm, np.array([0.5, -2.0, 2.0, 1.0]), np.inf, id="norm-inf-tie")
add(np.linalg.norm, np.array([0.5, -2.0, 2.0, 1.0]), 0, id="norm-ord0")
add(np.linalg.norm, np.zeros(3), id="norm-at-zero")
add(np.linalg.norm, np.zeros((2, 3)), axis=1, id="norm-at-zero-rows")
add(np.linalg.norm, strided(normal(3, 4)), axis=0, id="norm-strided")
# matrix norms (issue 9: these raised NotImplementedError from generated code)
for p in ("nuc", 2, -2, 1, -1, np.inf, -np.inf):
    add(np.linalg.norm, normal(3, 4), p, id=f"norm-matrix-{p}")
    add(np.linalg.norm, normal(2, 3, 4), p, (2, 0), True, id=f"norm-matrix-{p}-axes-kd")

for case in CASES:
    if case.primal is np.linalg.norm:
        case.wrt = [0]

# its own derivative is zero for the piecewise-linear norms (and refused for the SVD norms)
for p in (1, -1, np.inf, -np.inf):
    add_case(Case(matrix_norm_direction, (normal(3, 4), p, None), {}, wrt=[0], id=f"matrix_norm_direction-{p}"))

# np.full: the fill value
add(np.full, (3, 4), 2.5, id="full-float")
add(np.full, (3, 4), normal(4), id="full-broadcast")
add(np.full, 3, np.float64(1.5), id="full-int-shape")

# ---------------------------------------------------------------------------
# Helpers (differentiated in g only)
# ---------------------------------------------------------------------------


def helper(primal, *args, id, **kwargs):
    CASES.append(Case(primal, args, kwargs, wrt=[0], id=id))


helper(runtime.unbroadcast, normal(3, 4), normal(4), id="unbroadcast-3x4-4")
helper(runtime.unbroadcast, normal(3, 4), normal(3, 1), id="unbroadcast-3x4-3x1")
helper(runtime.unbroadcast, normal(2, 3, 4), 1.5, id="unbroadcast-to-float")
helper(runtime.unbroadcast, normal(3, 4), normal(3, 4), id="unbroadcast-same")
helper(runtime.unreduce, normal(3), normal(3, 4), axis=1, id="unreduce-axis1")
helper(runtime.unreduce, normal(1, 3, 1), normal(2, 3, 4), (0, -1), True, id="unreduce-keepdims")
helper(runtime.unreduce, normal(3), normal(2, 3, 4), axis=(0, 2), id="unreduce-tuple")
helper(runtime.unreduce, 1.5, normal(3, 4), id="unreduce-all")
helper(runtime.unreduce, normal(4), normal(3, 4), id="unreduce-as-broadcast")
helper(runtime.scatter_add, normal(2, 4), np.zeros((3, 4)), np.array([0, 0]), id="scatter_add-repeat")
helper(runtime.scatter_add, normal(2, 2), np.zeros((3, 4)), (slice(1, None), slice(None, None, 2)), id="scatter_add-slices")
helper(runtime.scatter_add, 1.5, np.zeros((3, 4)), (1, 2), id="scatter_add-element")
helper(runtime.scatter_add, normal(4), np.zeros((3, 4)), (np.array([0, 2, 2, 1]), np.array([1, 3, 3, 0])), id="scatter_add-fancy")
helper(runtime.scatter_add, normal(3), (np.zeros(3), np.zeros(2)), 0, id="scatter_add-tuple")
helper(runtime.zero_at, normal(3, 4), (slice(None), 1), id="zero_at-column")
helper(runtime.zero_at, normal(5), np.array([True, False, True, False, False]), id="zero_at-mask")
helper(runtime.zero_at_like, [normal(3), normal(3)], 1, normal(3), id="zero_at_like-list")
helper(spread_to_items, normal(3, 4), [normal(3, 4), normal(4), 1.5, normal(3, 1)], id="spread_to_items")
helper(gather_items, [normal(3, 4), normal(4), 1.5, normal(3, 1)], normal(3, 4), id="gather_items")
helper(gather_items, [0.5, -1.0], 2.0, id="gather_items-floats")
helper(diff_adjoint, normal(5), 1, -1, id="diff_adjoint")
helper(diff_adjoint, normal(3, 2), 2, 1, id="diff_adjoint-n2")
helper(diff_adjoint, normal(2, 3), 3, 0, id="diff_adjoint-n3-axis0")


# the run-time view guard is the identity on its first argument
from s2sad.runtime import not_a_view  # noqa: E402

CASES.append(Case(not_a_view, (np.linspace(0.1, 0.9, 4), np.zeros(3), "here"), wrt=[0], id="not_a_view"))

from s2sad.runtime import check_cotangent  # noqa: E402

CASES.append(Case(check_cotangent, (np.linspace(0.1, 0.9, 4), np.zeros(4)), wrt=[0], id="check_cotangent"))
# the output only gives the shape: its adjoint is zero (the rule once named `out`'s adjoint like the cotangent)
CASES.append(Case(check_cotangent, (np.linspace(0.1, 0.9, 4), np.linspace(1.0, 2.0, 4)), wrt=[0, 1],
                  id="check_cotangent-both"))

from s2sad.runtime import detach, fresh_copy, own, zero_in_place  # noqa: E402

CASES.append(Case(zero_in_place, (np.linspace(0.1, 0.9, 4), slice(1, 3)), wrt=[0], id="zero_in_place"))
CASES.append(Case(detach, (np.linspace(0.1, 0.9, 4), np.zeros(2)), wrt=[0], id="detach"))
CASES.append(Case(own, (np.linspace(0.1, 0.9, 4),), wrt=[0], id="own"))
CASES.append(Case(fresh_copy, (np.linspace(0.1, 0.9, 4),), wrt=[0], id="fresh_copy"))
