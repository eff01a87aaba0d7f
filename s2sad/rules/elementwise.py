"""Rules for NumPy's floating-point ufuncs and other elementwise functions.

Unary ufuncs keep their argument's shape, so their adjoints need no
``unbroadcast``; binary ufuncs broadcast, so each contribution is summed back
to its operand's shape. ``np.add``, ``np.multiply``, ``np.power``, ... share
their templates with the Python operators in ``operators``.

Real arguments only. Ufunc arguments are positional (``x``, ``x1``, ``x2`` as
in NumPy's documentation); ``out=`` and ``where=`` are refused.
"""

from __future__ import annotations

import numpy as np

from ..primitives import Method
from ..runtime import unbroadcast, zeros_like
from .registry import adjoint, returns_tuple, tangent


# ---------------------------------------------------------------------------
# Trigonometric functions and their inverses
# ---------------------------------------------------------------------------


@adjoint(np.sin)
def sin(y, x):
    # d/dx sin x = cos x
    x_bar = y_bar * np.cos(x)


@tangent(np.sin)
def sin_tangent(y, x):
    y_dot = x_dot * np.cos(x)


@adjoint(np.cos)
def cos(y, x):
    # d/dx cos x = -sin x
    x_bar = -y_bar * np.sin(x)


@tangent(np.cos)
def cos_tangent(y, x):
    y_dot = -x_dot * np.sin(x)


@adjoint(np.tan)
def tan(y, x):
    # d/dx tan x = 1 + tan^2 x
    x_bar = y_bar * (1.0 + y * y)


@tangent(np.tan)
def tan_tangent(y, x):
    y_dot = x_dot * (1.0 + y * y)


@adjoint(np.arcsin)
def arcsin(y, x):
    # d/dx arcsin x = 1 / sqrt(1 - x^2)
    x_bar = y_bar / np.sqrt(1.0 - x * x)


@tangent(np.arcsin)
def arcsin_tangent(y, x):
    y_dot = x_dot / np.sqrt(1.0 - x * x)


@adjoint(np.arccos)
def arccos(y, x):
    # d/dx arccos x = -1 / sqrt(1 - x^2)
    x_bar = -y_bar / np.sqrt(1.0 - x * x)


@tangent(np.arccos)
def arccos_tangent(y, x):
    y_dot = -x_dot / np.sqrt(1.0 - x * x)


@adjoint(np.arctan)
def arctan(y, x):
    # d/dx arctan x = 1 / (1 + x^2)
    x_bar = y_bar / (1.0 + x * x)


@tangent(np.arctan)
def arctan_tangent(y, x):
    y_dot = x_dot / (1.0 + x * x)


@adjoint(np.arctan2)
def arctan2(y, x1, x2):
    """Undefined at the origin."""
    # y = atan2(x1, x2): dy/dx1 = x2 / (x1^2 + x2^2), dy/dx2 = -x1 / (x1^2 + x2^2)
    x1_bar = unbroadcast(y_bar * x2 / (x1 * x1 + x2 * x2), x1)
    x2_bar = unbroadcast(-y_bar * x1 / (x1 * x1 + x2 * x2), x2)


@tangent(np.arctan2, elementwise=True)
def arctan2_tangent(y, x1, x2):
    y_dot = x1_dot * x2 / (x1 * x1 + x2 * x2) - x2_dot * x1 / (x1 * x1 + x2 * x2)


@adjoint(np.hypot)
def hypot(y, x1, x2):
    """The gradient at the origin is taken as 0."""
    # y = sqrt(x1^2 + x2^2): dy/dx1 = x1 / y, dy/dx2 = x2 / y   (y replaced by 1 where y == 0)
    x1_bar = unbroadcast(y_bar * x1 / np.where(y == 0, 1.0, y), x1)
    x2_bar = unbroadcast(y_bar * x2 / np.where(y == 0, 1.0, y), x2)


@tangent(np.hypot, elementwise=True)
def hypot_tangent(y, x1, x2):
    y_dot = x1_dot * x1 / np.where(y == 0, 1.0, y) + x2_dot * x2 / np.where(y == 0, 1.0, y)


@adjoint(np.sinc)
def sinc(y, x):
    """Near 0 the derivative is its Taylor series, so that its own derivatives are right there too."""
    # sinc x = sin(pi x) / (pi x): d/dx sinc x = (cos(pi x) - sinc x) / x. That quotient cancels
    # near 0 (its derivative divides by x^2: -pi^2 instead of -pi^2/3 at x = 1e-9, 0 at x = 0),
    # so for |x| < 0.01 it is the series -pi^2 x/3 (1 - p/10 + p^2/280 - p^3/15120), p = (pi x)^2,
    # whose next term is below 1e-16 there; the quotient is taken at 1 instead (no inf to mask)
    small = np.abs(x) < 0.01
    away = np.where(small, 1.0, x)
    p = (np.pi * x) * (np.pi * x)
    series = (-np.pi * np.pi / 3.0) * x * (1.0 - p / 10.0 + p * p / 280.0 - p * p * p / 15120.0)
    x_bar = y_bar * np.where(small, series, (np.cos(np.pi * away) - np.sinc(away)) / away)


@tangent(np.sinc)
def sinc_tangent(y, x):
    small = np.abs(x) < 0.01
    away = np.where(small, 1.0, x)
    p = (np.pi * x) * (np.pi * x)
    series = (-np.pi * np.pi / 3.0) * x * (1.0 - p / 10.0 + p * p / 280.0 - p * p * p / 15120.0)
    y_dot = x_dot * np.where(small, series, (np.cos(np.pi * away) - np.sinc(away)) / away)


@adjoint(np.deg2rad, np.radians)
def deg2rad(y, x):
    # d/dx (pi / 180) x = pi / 180
    x_bar = y_bar * (np.pi / 180.0)


@tangent(np.deg2rad, np.radians)
def deg2rad_tangent(y, x):
    y_dot = x_dot * (np.pi / 180.0)


@adjoint(np.rad2deg, np.degrees)
def rad2deg(y, x):
    # d/dx (180 / pi) x = 180 / pi
    x_bar = y_bar * (180.0 / np.pi)


@tangent(np.rad2deg, np.degrees)
def rad2deg_tangent(y, x):
    y_dot = x_dot * (180.0 / np.pi)


# ---------------------------------------------------------------------------
# Hyperbolic functions and their inverses
# ---------------------------------------------------------------------------


@adjoint(np.sinh)
def sinh(y, x):
    # d/dx sinh x = cosh x
    x_bar = y_bar * np.cosh(x)


@tangent(np.sinh)
def sinh_tangent(y, x):
    y_dot = x_dot * np.cosh(x)


@adjoint(np.cosh)
def cosh(y, x):
    # d/dx cosh x = sinh x
    x_bar = y_bar * np.sinh(x)


@tangent(np.cosh)
def cosh_tangent(y, x):
    y_dot = x_dot * np.sinh(x)


@adjoint(np.tanh)
def tanh(y, x):
    # d/dx tanh x = 1 - tanh^2 x
    x_bar = y_bar * (1.0 - y * y)


@tangent(np.tanh)
def tanh_tangent(y, x):
    y_dot = x_dot * (1.0 - y * y)


@adjoint(np.arcsinh)
def arcsinh(y, x):
    # d/dx arcsinh x = 1 / sqrt(x^2 + 1)
    x_bar = y_bar / np.sqrt(x * x + 1.0)


@tangent(np.arcsinh)
def arcsinh_tangent(y, x):
    y_dot = x_dot / np.sqrt(x * x + 1.0)


@adjoint(np.arccosh)
def arccosh(y, x):
    # d/dx arccosh x = 1 / sqrt(x^2 - 1)   (x > 1)
    x_bar = y_bar / np.sqrt(x * x - 1.0)


@tangent(np.arccosh)
def arccosh_tangent(y, x):
    y_dot = x_dot / np.sqrt(x * x - 1.0)


@adjoint(np.arctanh)
def arctanh(y, x):
    # d/dx arctanh x = 1 / (1 - x^2)
    x_bar = y_bar / (1.0 - x * x)


@tangent(np.arctanh)
def arctanh_tangent(y, x):
    y_dot = x_dot / (1.0 - x * x)


# ---------------------------------------------------------------------------
# Exponentials and logarithms
# ---------------------------------------------------------------------------


@adjoint(np.exp)
def exp(y, x):
    # d/dx e^x = e^x
    x_bar = y_bar * y


@tangent(np.exp)
def exp_tangent(y, x):
    y_dot = x_dot * y


@adjoint(np.exp2)
def exp2(y, x):
    # d/dx 2^x = 2^x ln 2
    x_bar = y_bar * y * np.log(2.0)


@tangent(np.exp2)
def exp2_tangent(y, x):
    y_dot = x_dot * y * np.log(2.0)


@adjoint(np.expm1)
def expm1(y, x):
    # d/dx (e^x - 1) = e^x = y + 1
    x_bar = y_bar * (y + 1.0)


@tangent(np.expm1)
def expm1_tangent(y, x):
    y_dot = x_dot * (y + 1.0)


@adjoint(np.log)
def log(y, x):
    # d/dx ln x = 1 / x
    x_bar = y_bar / x


@tangent(np.log)
def log_tangent(y, x):
    y_dot = x_dot / x


@adjoint(np.log2)
def log2(y, x):
    # d/dx log2 x = 1 / (x ln 2)
    x_bar = y_bar / (x * np.log(2.0))


@tangent(np.log2)
def log2_tangent(y, x):
    y_dot = x_dot / (x * np.log(2.0))


@adjoint(np.log10)
def log10(y, x):
    # d/dx log10 x = 1 / (x ln 10)
    x_bar = y_bar / (x * np.log(10.0))


@tangent(np.log10)
def log10_tangent(y, x):
    y_dot = x_dot / (x * np.log(10.0))


@adjoint(np.log1p)
def log1p(y, x):
    # d/dx ln(1 + x) = 1 / (1 + x)
    x_bar = y_bar / (1.0 + x)


@tangent(np.log1p)
def log1p_tangent(y, x):
    y_dot = x_dot / (1.0 + x)


@adjoint(np.logaddexp)
def logaddexp(y, x1, x2):
    # y = ln(e^x1 + e^x2): dy/dx1 = e^(x1 - y), dy/dx2 = e^(x2 - y)
    x1_bar = unbroadcast(y_bar * np.exp(x1 - y), x1)
    x2_bar = unbroadcast(y_bar * np.exp(x2 - y), x2)


@tangent(np.logaddexp, elementwise=True)
def logaddexp_tangent(y, x1, x2):
    y_dot = x1_dot * np.exp(x1 - y) + x2_dot * np.exp(x2 - y)


@adjoint(np.logaddexp2)
def logaddexp2(y, x1, x2):
    # y = log2(2^x1 + 2^x2): dy/dx1 = 2^(x1 - y), dy/dx2 = 2^(x2 - y)
    x1_bar = unbroadcast(y_bar * np.exp2(x1 - y), x1)
    x2_bar = unbroadcast(y_bar * np.exp2(x2 - y), x2)


@tangent(np.logaddexp2, elementwise=True)
def logaddexp2_tangent(y, x1, x2):
    y_dot = x1_dot * np.exp2(x1 - y) + x2_dot * np.exp2(x2 - y)


# ---------------------------------------------------------------------------
# Powers and roots
# ---------------------------------------------------------------------------


@adjoint(np.sqrt)
def sqrt(y, x):
    """The derivative is infinite at 0."""
    # d/dx sqrt x = 1 / (2 sqrt x)
    x_bar = y_bar / (2.0 * y)


@tangent(np.sqrt)
def sqrt_tangent(y, x):
    y_dot = x_dot / (2.0 * y)


@adjoint(np.cbrt)
def cbrt(y, x):
    """The derivative is infinite at 0."""
    # d/dx x^(1/3) = 1 / (3 x^(2/3)) = 1 / (3 y^2)
    x_bar = y_bar / (3.0 * y * y)


@tangent(np.cbrt)
def cbrt_tangent(y, x):
    y_dot = x_dot / (3.0 * y * y)


@adjoint(np.square)
def square(y, x):
    # d/dx x^2 = 2 x
    x_bar = y_bar * 2.0 * x


@tangent(np.square)
def square_tangent(y, x):
    y_dot = x_dot * 2.0 * x


@adjoint(np.reciprocal)
def reciprocal(y, x):
    # d/dx 1/x = -1/x^2 = -y^2
    x_bar = -y_bar * y * y


@tangent(np.reciprocal)
def reciprocal_tangent(y, x):
    y_dot = -x_dot * y * y


@adjoint(np.float_power)
def float_power(y, x1, x2):
    """d/dx2 x1**x2 is taken as 0 where x1 == 0, and is nan where x1 < 0."""
    # d(a**b)/da = b a**(b-1),  d(a**b)/db = a**b log a   (see np.power)
    x1_bar = unbroadcast(y_bar * x2 * np.float_power(x1, np.where(x2 == 0, 1, x2 - 1)), x1)
    x2_bar = unbroadcast(y_bar * y * np.log(np.where(x1 == 0, 1.0, x1)), x2)


@tangent(np.float_power, elementwise=True)
def float_power_tangent(y, x1, x2):
    y_dot = x1_dot * x2 * np.float_power(x1, np.where(x2 == 0, 1, x2 - 1)) + x2_dot * y * np.log(
        np.where(x1 == 0, 1.0, x1)
    )


# ---------------------------------------------------------------------------
# Absolute value, sign transfer, conjugation
# ---------------------------------------------------------------------------


@adjoint(np.absolute, np.fabs)
def absolute(y, x):
    """Real arguments only; the derivative at 0 is taken as 0."""
    # d|x|/dx = sign(x)
    x_bar = y_bar * np.sign(x)


@tangent(np.absolute, np.fabs)
def absolute_tangent(y, x):
    y_dot = x_dot * np.sign(x)


@adjoint(np.copysign)
def copysign(y, x1, x2):
    """Not differentiable in x2 (piecewise constant); d/dx1 is taken as 0 at x1 == 0."""
    # y = |x1| s with s = +-1 the sign bit of x2: dy/dx1 = sign(x1) s
    x1_bar = unbroadcast(y_bar * np.sign(x1) * np.copysign(1.0, x2), x1)


@tangent(np.copysign, elementwise=True)
def copysign_tangent(y, x1, x2):
    y_dot = x1_dot * np.sign(x1) * np.copysign(1.0, x2)


@adjoint(np.conjugate)
def conjugate(y, x):
    """Real arguments only (the identity)."""
    # conj x = x for real x
    x_bar = y_bar


@tangent(np.conjugate)
def conjugate_tangent(y, x):
    y_dot = x_dot


# ---------------------------------------------------------------------------
# Maximum and minimum (elementwise)
# ---------------------------------------------------------------------------
# The weight of x1 is [x1 == y] * (1 - [x2 == y] / 2): 1 where x1 is chosen, 1/2 at a
# tie, 0 where x2 is chosen. It serves maximum/minimum (which propagate nan: both
# weights 0 there) and fmax/fmin (which ignore nan: the other operand gets weight 1).


@adjoint(np.maximum, np.minimum, np.fmax, np.fmin)
def maximum(y, x1, x2):
    """At a tie (x1 == x2) each operand receives half of the adjoint."""
    # dy/dx1 = [x1 == y] (1 - [x2 == y] / 2), dy/dx2 = [x2 == y] (1 - [x1 == y] / 2)
    x1_bar = unbroadcast(y_bar * ((x1 == y) * (1.0 - 0.5 * (x2 == y))), x1)
    x2_bar = unbroadcast(y_bar * ((x2 == y) * (1.0 - 0.5 * (x1 == y))), x2)


@tangent(np.maximum, np.minimum, np.fmax, np.fmin, elementwise=True)
def maximum_tangent(y, x1, x2):
    y_dot = x1_dot * ((x1 == y) * (1.0 - 0.5 * (x2 == y))) + x2_dot * ((x2 == y) * (1.0 - 0.5 * (x1 == y)))


# ---------------------------------------------------------------------------
# Selection and clipping
# ---------------------------------------------------------------------------


@adjoint(np.where)
def where(z, condition, x, y):
    """Three-argument form; np.where(condition) (indices) is refused. Not differentiable in condition."""
    # z = x where condition else y: dz/dx = [condition], dz/dy = [not condition]
    x_bar = unbroadcast(np.where(condition, z_bar, 0.0), x)
    y_bar = unbroadcast(np.where(condition, 0.0, z_bar), y)


@tangent(np.where, elementwise=True)
def where_tangent(z, condition, x, y):
    z_dot = np.where(condition, x_dot, 0.0) + np.where(condition, 0.0, y_dot)


@adjoint(np.clip)
def clip(y, a, a_min=None, a_max=None):
    """The gradient goes to a where a_min <= a <= a_max (bounds included), else to the bound
    that was applied. The keyword aliases min=/max= are refused."""
    # y = a where y == a; a_min where a < a_min; a_max where y is neither (a > a_max)
    a_bar = unbroadcast(np.where(y == a, y_bar, 0.0), a)
    a_min_bar = unbroadcast(np.where((y != a) & (y == a_min), y_bar, 0.0), a_min)
    a_max_bar = unbroadcast(np.where((y != a) & (y != a_min), y_bar, 0.0), a_max)


@tangent(np.clip, elementwise=True)
def clip_tangent(y, a, a_min=None, a_max=None):
    y_dot = (
        np.where(y == a, a_dot, 0.0)
        + np.where((y != a) & (y == a_min), a_min_dot, 0.0)
        + np.where((y != a) & (y != a_min), a_max_dot, 0.0)
    )


@adjoint(np.nan_to_num)
def nan_to_num(y, x, copy=True, nan=0.0, posinf=None, neginf=None):
    """Differentiable in x where x is finite (0 elsewhere) and in the fill values nan, posinf, neginf."""
    # y = x where x is finite, else the fill value for nan, +inf or -inf
    x_bar = np.where(np.isfinite(x), y_bar, 0.0)
    nan_bar = unbroadcast(np.where(np.isnan(x), y_bar, 0.0), nan)
    posinf_bar = unbroadcast(np.where(np.isposinf(x), y_bar, 0.0), posinf)
    neginf_bar = unbroadcast(np.where(np.isneginf(x), y_bar, 0.0), neginf)


@tangent(np.nan_to_num, elementwise=True)
def nan_to_num_tangent(y, x, copy=True, nan=0.0, posinf=None, neginf=None):
    y_dot = (
        np.where(np.isfinite(x), x_dot, 0.0)
        + np.where(np.isnan(x), nan_dot, 0.0)
        + np.where(np.isposinf(x), posinf_dot, 0.0)
        + np.where(np.isneginf(x), neginf_dot, 0.0)
    )


# ---------------------------------------------------------------------------
# Random samplers with location and scale: pathwise derivatives
# ---------------------------------------------------------------------------
# A sample y = loc + scale * z (normal) or y = low + (high - low) * u (uniform) is
# differentiated with the random draw z (u) held fixed, recovered from y.
# Method("normal") / Method("uniform") are numpy.random.Generator's methods.


@adjoint(np.random.normal)
def normal(y, loc=0.0, scale=1.0, size=None):
    """Pathwise derivative (the draw z = (y - loc) / scale held fixed); needs scale != 0."""
    # y = loc + scale z: dy/dloc = 1, dy/dscale = z = (y - loc) / scale
    loc_bar = unbroadcast(y_bar, loc)
    scale_bar = unbroadcast(y_bar * (y - loc) / scale, scale)


@tangent(np.random.normal, elementwise=True)
def normal_tangent(y, loc=0.0, scale=1.0, size=None):
    y_dot = loc_dot + scale_dot * (y - loc) / scale


@adjoint(Method("normal"))
def generator_normal(y, rng, loc=0.0, scale=1.0, size=None):
    """Generator.normal; pathwise derivative (the draw z = (y - loc) / scale held fixed); needs scale != 0."""
    # y = loc + scale z: dy/dloc = 1, dy/dscale = z = (y - loc) / scale
    loc_bar = unbroadcast(y_bar, loc)
    scale_bar = unbroadcast(y_bar * (y - loc) / scale, scale)


@tangent(Method("normal"), elementwise=True)
def generator_normal_tangent(y, rng, loc=0.0, scale=1.0, size=None):
    y_dot = loc_dot + scale_dot * (y - loc) / scale


@adjoint(np.random.uniform)
def uniform(y, low=0.0, high=1.0, size=None):
    """Pathwise derivative (the draw u = (y - low) / (high - low) held fixed); needs high != low."""
    # y = low + (high - low) u: dy/dlow = 1 - u, dy/dhigh = u
    low_bar = unbroadcast(y_bar * (1.0 - (y - low) / (high - low)), low)
    high_bar = unbroadcast(y_bar * (y - low) / (high - low), high)


@tangent(np.random.uniform, elementwise=True)
def uniform_tangent(y, low=0.0, high=1.0, size=None):
    y_dot = low_dot * (1.0 - (y - low) / (high - low)) + high_dot * (y - low) / (high - low)


@adjoint(Method("uniform"))
def generator_uniform(y, rng, low=0.0, high=1.0, size=None):
    """Generator.uniform; pathwise derivative (the draw u = (y - low) / (high - low) held fixed)."""
    # y = low + (high - low) u: dy/dlow = 1 - u, dy/dhigh = u
    low_bar = unbroadcast(y_bar * (1.0 - (y - low) / (high - low)), low)
    high_bar = unbroadcast(y_bar * (y - low) / (high - low), high)


@tangent(Method("uniform"), elementwise=True)
def generator_uniform_tangent(y, rng, low=0.0, high=1.0, size=None):
    y_dot = low_dot * (1.0 - (y - low) / (high - low)) + high_dot * (y - low) / (high - low)


# ---------------------------------------------------------------------------
# Scaling by powers of two, and splitting a number into parts
# ---------------------------------------------------------------------------


@adjoint(np.ldexp)
def ldexp(y, x1, x2):
    """x1 * 2**x2 with an integer x2 (not differentiated: NumPy refuses a float x2)."""
    # dy/dx1 = 2**x2, applied by ldexp itself (exact, no overflow of 2**x2 before the product)
    x1_bar = unbroadcast(np.ldexp(y_bar, x2), x1)


@tangent(np.ldexp, elementwise=True)
def ldexp_tangent(y, x1, x2):
    y_dot = np.ldexp(x1_dot, x2)


@adjoint(np.frexp)
def frexp(y, x):
    """(mantissa, exponent) with x = mantissa * 2**exponent; the exponent is piecewise constant."""
    # mantissa = x * 2**-exponent: d mantissa/dx = 2**-exponent
    x_bar = np.ldexp(zeros_like(y[0]) if y_bar[0] is None else y_bar[0], -y[1])


@tangent(np.frexp)
def frexp_tangent(y, x):
    y_dot = (np.ldexp(x_dot, -y[1]), np.zeros(np.shape(y[1])))


@adjoint(np.modf)
def modf(y, x):
    """(fractional part, integral part): derivative 1 and 0."""
    # x = frac + int with int piecewise constant: d frac/dx = 1
    x_bar = zeros_like(y[0]) if y_bar[0] is None else y_bar[0]


@tangent(np.modf)
def modf_tangent(y, x):
    y_dot = (x_dot, np.zeros(np.shape(y[1])))


returns_tuple(np.frexp, np.modf)


@adjoint(np.real_if_close)
def real_if_close(y, a, tol=100):
    """The identity on real input (complex input is refused, as everywhere)."""
    a_bar = y_bar


@tangent(np.real_if_close)
def real_if_close_tangent(y, a, tol=100):
    y_dot = a_dot
