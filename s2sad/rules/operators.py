"""Rules for Python's arithmetic operators, numeric builtins and the `math` module.

The arithmetic rules are shared with the NumPy ufuncs that do the same thing
(``a + b`` is ``operator.add``, ``np.add(a, b)`` is ``numpy.add``): one template
for both keys. Both work on Python numbers and on broadcasting arrays; each
argument's contribution is summed back to its own shape with ``unbroadcast``.

``a @ b`` (``operator.matmul``) lives with ``np.matmul`` in ``linalg``.
``a // b`` and the comparisons are in ``nondiff``.

Parameter names follow ``numpy`` (``x1``, ``x2``) for the shared arithmetic
templates; operators and ufuncs take their operands positionally, so the names
only show in generated code. ``math`` templates use ``math``'s own names.
"""

from __future__ import annotations

import builtins
import math
import operator

import numpy as np

from ..runtime import unbroadcast
from .registry import adjoint, tangent


# ---------------------------------------------------------------------------
# Arithmetic: + - * / ** % and unary - +   (operators and their ufuncs)
# ---------------------------------------------------------------------------


@adjoint(operator.add, np.add)
def add(y, x1, x2):
    # d(a + b)/da = 1, d(a + b)/db = 1
    x1_bar = unbroadcast(y_bar, x1)
    x2_bar = unbroadcast(y_bar, x2)


@tangent(operator.add, np.add, elementwise=True)
def add_tangent(y, x1, x2):
    y_dot = x1_dot + x2_dot


@adjoint(operator.sub, np.subtract)
def subtract(y, x1, x2):
    # d(a - b)/da = 1, d(a - b)/db = -1
    x1_bar = unbroadcast(y_bar, x1)
    x2_bar = unbroadcast(-y_bar, x2)


@tangent(operator.sub, np.subtract, elementwise=True)
def subtract_tangent(y, x1, x2):
    y_dot = x1_dot - x2_dot


@adjoint(operator.mul, np.multiply)
def multiply(y, x1, x2):
    # d(a * b)/da = b, d(a * b)/db = a
    x1_bar = unbroadcast(y_bar * x2, x1)
    x2_bar = unbroadcast(y_bar * x1, x2)


@tangent(operator.mul, np.multiply, elementwise=True)
def multiply_tangent(y, x1, x2):
    y_dot = x1_dot * x2 + x1 * x2_dot


@adjoint(operator.truediv, np.divide)
def divide(y, x1, x2):
    # d(a / b)/da = 1 / b, d(a / b)/db = -a / b**2 = -(a / b) / b
    x1_bar = unbroadcast(y_bar / x2, x1)
    x2_bar = unbroadcast(-y_bar * y / x2, x2)


@tangent(operator.truediv, np.divide, elementwise=True)
def divide_tangent(y, x1, x2):
    y_dot = x1_dot / x2 - x2_dot * y / x2


def slope_exponent(b, a):
    """The exponent of d(a**b)/da = b a**(b-1): b - 1, or 1 where b == 0 and a == 0 (so a**0 has slope
    0, not 0 * inf, at a = 0). Only there does it differ from b - 1: where b == 0 and a != 0 the slope's
    derivative in b is a**(b-1) = 1/a, which a**1 would get wrong in second derivatives.

    A Python number stays a Python number, so a float32 base keeps its dtype.
    """
    if isinstance(b, (int, float)) and b != 0:
        return b - 1
    if isinstance(b, (int, float)) and isinstance(a, (int, float)):
        return 1 if a == 0 else b - 1
    if isinstance(b, (int, float)):  # b == 0 with an array base: keep the base's float dtype
        exponent = np.where(a == 0, 1, -1)
        return exponent.astype(a.dtype) if getattr(a, "dtype", np.dtype(int)).kind == "f" else exponent
    return np.where((b == 0) & (a == 0), 1, b - 1)


# simplify folds slope_exponent(2, x) to 1: a literal exponent is no variable, so its derivative in b
# is never taken and the base need not be read (0 gives 1: the slope 0 * a**1 is 0 at every a)
slope_exponent.literal_value = lambda b: (1 if b == 0 else b - 1) \
    if isinstance(b, (int, float)) and not isinstance(b, bool) else None


@adjoint(slope_exponent)
def slope_exponent_adjoint(y, b, a):
    # y = b - 1 (1 at the single point a == b == 0): dy/db = 1, dy/da = 0
    b_bar = unbroadcast(y_bar, b)


@tangent(slope_exponent, elementwise=True)
def slope_exponent_tangent(y, b, a):
    y_dot = b_dot


@adjoint(operator.pow, np.power)
def power(y, x1, x2):
    """d/db a**b = a**b log(a) is taken as 0 where a == 0, and is nan where a < 0."""
    # d(a**b)/da = b a**(b-1)   (exponent b-1 replaced by 1 where b == 0 and a == 0, so a**0 has slope 0 at a = 0)
    # d(a**b)/db = a**b log a   (log's argument replaced by 1 where a == 0, where a**b = 0)
    x1_bar = unbroadcast(y_bar * x2 * x1 ** slope_exponent(x2, x1), x1)
    x2_bar = unbroadcast(y_bar * y * np.log(np.where(x1 == 0, 1.0, x1)), x2)


@tangent(operator.pow, np.power, elementwise=True)
def power_tangent(y, x1, x2):
    y_dot = x1_dot * x2 * x1 ** slope_exponent(x2, x1) + x2_dot * y * np.log(
        np.where(x1 == 0, 1.0, x1)
    )


@adjoint(operator.mod, np.remainder, np.fmod)
def remainder(y, x1, x2):
    """Differentiable away from the jumps, where x1 / x2 is an integer."""
    # a % b = a - q b with q = floor(a / b) (fmod: trunc(a / b)), constant between jumps:
    # d/da = 1, d/db = -q; q is recovered exactly as rint((a - y) / b)
    x1_bar = unbroadcast(y_bar, x1)
    x2_bar = unbroadcast(-y_bar * np.rint((x1 - y) / x2), x2)


@tangent(operator.mod, np.remainder, np.fmod, elementwise=True)
def remainder_tangent(y, x1, x2):
    y_dot = x1_dot - x2_dot * np.rint((x1 - y) / x2)


@adjoint(operator.neg, np.negative)
def negative(y, x):
    # d(-a)/da = -1
    x_bar = -y_bar


@tangent(operator.neg, np.negative)
def negative_tangent(y, x):
    y_dot = -x_dot


@adjoint(operator.pos, np.positive)
def positive(y, x):
    # d(+a)/da = 1
    x_bar = y_bar


@tangent(operator.pos, np.positive)
def positive_tangent(y, x):
    y_dot = x_dot


# ---------------------------------------------------------------------------
# Builtins: abs, max, min, pow, float, sum
# ---------------------------------------------------------------------------


@adjoint(builtins.abs)
def abs_(y, x):
    """Real arguments only; the derivative at 0 is taken as 0."""
    # d|x|/dx = sign(x)
    x_bar = y_bar * np.sign(x)


@tangent(builtins.abs)
def abs_tangent(y, x):
    y_dot = x_dot * np.sign(x)


@adjoint(builtins.max)
def max_(y, a, b):
    """Two arguments only. At a tie (a == b) each argument receives half of the adjoint."""
    # d max(a, b)/da = [a == y] * (1 - [b == y] / 2): 1 if a is the max, 1/2 at a tie, else 0
    a_bar = y_bar * ((a == y) * (1.0 - 0.5 * (b == y)))
    b_bar = y_bar * ((b == y) * (1.0 - 0.5 * (a == y)))


@tangent(builtins.max)
def max_tangent(y, a, b):
    y_dot = a_dot * ((a == y) * (1.0 - 0.5 * (b == y))) + b_dot * ((b == y) * (1.0 - 0.5 * (a == y)))


@adjoint(builtins.min)
def min_(y, a, b):
    """Two arguments only. At a tie (a == b) each argument receives half of the adjoint."""
    # d min(a, b)/da = [a == y] * (1 - [b == y] / 2): 1 if a is the min, 1/2 at a tie, else 0
    a_bar = y_bar * ((a == y) * (1.0 - 0.5 * (b == y)))
    b_bar = y_bar * ((b == y) * (1.0 - 0.5 * (a == y)))


@tangent(builtins.min)
def min_tangent(y, a, b):
    y_dot = a_dot * ((a == y) * (1.0 - 0.5 * (b == y))) + b_dot * ((b == y) * (1.0 - 0.5 * (a == y)))


@adjoint(builtins.pow)
def pow_(y, base, exp):
    """Two-argument pow only (three-argument pow is integer arithmetic).
    d/dexp base**exp is taken as 0 where base == 0, and is nan where base < 0."""
    # d(b**e)/db = e b**(e-1),  d(b**e)/de = b**e log b   (see np.power)
    base_bar = unbroadcast(y_bar * exp * np.power(base, slope_exponent(exp, base)), base)
    exp_bar = unbroadcast(y_bar * y * np.log(np.where(base == 0, 1.0, base)), exp)


@tangent(builtins.pow, elementwise=True)
def pow_tangent(y, base, exp):
    y_dot = base_dot * exp * np.power(base, slope_exponent(exp, base)) + exp_dot * y * np.log(
        np.where(base == 0, 1.0, base)
    )


@adjoint(builtins.float)
def float_(y, x=0.0):
    """float(x) of a number or a one-element array: the identity."""
    # d float(x)/dx = 1 (reshaped back to x's shape when x is a one-element array)
    x_bar = y_bar if np.ndim(x) == 0 else np.reshape(y_bar, np.shape(x))


@tangent(builtins.float)
def float_tangent(y, x=0.0):
    y_dot = float(x_dot)


def spread_to_items(g, items):
    """The adjoint of ``sum(items)``: each item receives `g` summed down to its own shape.

    Returns a list or tuple like `items`.
    """
    out = []
    for item in items:
        g_item = g
        shape = np.shape(item)
        if np.shape(g_item) != shape:
            lead = np.ndim(g_item) - len(shape)
            if lead > 0:
                g_item = np.sum(g_item, axis=tuple(range(lead)))
            axes = tuple(i for i, n in enumerate(shape) if n == 1 and np.shape(g_item)[i] != 1)
            if axes:
                g_item = np.sum(g_item, axis=axes, keepdims=True)
            g_item = np.reshape(g_item, shape)
            if not shape and isinstance(item, (float, int)) and not isinstance(item, bool):
                g_item = g_item.item()
        out.append(g_item)
    return type(items)(out) if isinstance(items, (tuple, list)) else out


def gather_items(items_g, g):
    """The adjoint of :func:`spread_to_items` in `g`: the sum of `items_g`, each broadcast to `g`'s shape."""
    total = np.zeros(np.shape(g))
    for item_g in items_g:
        total = total + item_g
    return total if np.ndim(g) else (total.item() if isinstance(g, float) else total)


@adjoint(builtins.sum)
def sum_(y, iterable, start=0):
    """Sum of a list or tuple of numbers or arrays (which may broadcast)."""
    # d sum(items)/d item_i = 1 (summed back to item_i's shape); d/dstart = 1
    iterable_bar = spread_to_items(y_bar, iterable)
    start_bar = unbroadcast(y_bar, start)


@tangent(builtins.sum, elementwise=True)
def sum_tangent(y, iterable, start=0):
    y_dot = sum(iterable_dot) + start_dot


@adjoint(math.fsum)
def fsum_(y, iterable):
    """math.fsum of a list of numbers: a sum (rounded once), so each item's derivative is 1."""
    iterable_bar = spread_to_items(y_bar, iterable)


@tangent(math.fsum)
def fsum_tangent(y, iterable):
    y_dot = math.fsum(iterable_dot)


@adjoint(math.prod)
def prod_(y, iterable, start=1):
    """math.prod of numbers: d/dx_k is the product of the others (exact when some are zero)."""
    iterable_bar = [y_bar * start * math.prod(iterable[:k]) * math.prod(iterable[k + 1:])
                    for k in range(len(iterable))]
    start_bar = y_bar * math.prod(iterable)


@tangent(math.prod)
def prod_tangent(y, iterable, start=1):
    y_dot = sum([iterable_dot[k] * start * math.prod(iterable[:k]) * math.prod(iterable[k + 1:])
                 for k in range(len(iterable))]) + start_dot * math.prod(iterable)


@adjoint(builtins.tuple)
def tuple_(y, iterable):
    """tuple(xs) of a list (a generator or map is a list by then): the same items."""
    # each item is itself: the tuple's adjoint, item by item, is the list's
    iterable_bar = y_bar


@tangent(builtins.tuple)
def tuple_tangent(y, iterable):
    y_dot = tuple(iterable_dot)


@adjoint(spread_to_items)
def spread_to_items_adjoint(y, g, items):
    # spread_to_items is linear in g; its transpose sums the items' adjoints (broadcast up to g)
    g_bar = gather_items(y_bar, g)


@tangent(spread_to_items)
def spread_to_items_tangent(y, g, items):
    y_dot = spread_to_items(g_dot, items)


@adjoint(gather_items)
def gather_items_adjoint(y, items_g, g):
    # gather_items is linear in items_g; its transpose spreads back to each item's shape
    items_g_bar = spread_to_items(y_bar, items_g)


@tangent(gather_items)
def gather_items_tangent(y, items_g, g):
    y_dot = gather_items(items_g_dot, g)


# ---------------------------------------------------------------------------
# math: trigonometric and hyperbolic functions
# ---------------------------------------------------------------------------


@adjoint(math.sin)
def math_sin(y, x):
    # d/dx sin x = cos x
    x_bar = y_bar * math.cos(x)


@tangent(math.sin)
def math_sin_tangent(y, x):
    y_dot = x_dot * math.cos(x)


@adjoint(math.cos)
def math_cos(y, x):
    # d/dx cos x = -sin x
    x_bar = -y_bar * math.sin(x)


@tangent(math.cos)
def math_cos_tangent(y, x):
    y_dot = -x_dot * math.sin(x)


@adjoint(math.tan)
def math_tan(y, x):
    # d/dx tan x = 1 + tan^2 x
    x_bar = y_bar * (1.0 + y * y)


@tangent(math.tan)
def math_tan_tangent(y, x):
    y_dot = x_dot * (1.0 + y * y)


@adjoint(math.asin)
def math_asin(y, x):
    # d/dx asin x = 1 / sqrt(1 - x^2)
    x_bar = y_bar / math.sqrt(1.0 - x * x)


@tangent(math.asin)
def math_asin_tangent(y, x):
    y_dot = x_dot / math.sqrt(1.0 - x * x)


@adjoint(math.acos)
def math_acos(y, x):
    # d/dx acos x = -1 / sqrt(1 - x^2)
    x_bar = -y_bar / math.sqrt(1.0 - x * x)


@tangent(math.acos)
def math_acos_tangent(y, x):
    y_dot = -x_dot / math.sqrt(1.0 - x * x)


@adjoint(math.atan)
def math_atan(y, x):
    # d/dx atan x = 1 / (1 + x^2)
    x_bar = y_bar / (1.0 + x * x)


@tangent(math.atan)
def math_atan_tangent(y, x):
    y_dot = x_dot / (1.0 + x * x)


@adjoint(math.atan2)
def math_atan2(z, y, x):
    """Undefined at the origin (division by zero there)."""
    # z = atan2(y, x): dz/dy = x / (x^2 + y^2), dz/dx = -y / (x^2 + y^2)
    y_bar = z_bar * x / (x * x + y * y)
    x_bar = -z_bar * y / (x * x + y * y)


@tangent(math.atan2)
def math_atan2_tangent(z, y, x):
    z_dot = y_dot * x / (x * x + y * y) - x_dot * y / (x * x + y * y)


@adjoint(math.sinh)
def math_sinh(y, x):
    # d/dx sinh x = cosh x
    x_bar = y_bar * math.cosh(x)


@tangent(math.sinh)
def math_sinh_tangent(y, x):
    y_dot = x_dot * math.cosh(x)


@adjoint(math.cosh)
def math_cosh(y, x):
    # d/dx cosh x = sinh x
    x_bar = y_bar * math.sinh(x)


@tangent(math.cosh)
def math_cosh_tangent(y, x):
    y_dot = x_dot * math.sinh(x)


@adjoint(math.tanh)
def math_tanh(y, x):
    # d/dx tanh x = 1 - tanh^2 x
    x_bar = y_bar * (1.0 - y * y)


@tangent(math.tanh)
def math_tanh_tangent(y, x):
    y_dot = x_dot * (1.0 - y * y)


@adjoint(math.asinh)
def math_asinh(y, x):
    # d/dx asinh x = 1 / sqrt(x^2 + 1)
    x_bar = y_bar / math.sqrt(x * x + 1.0)


@tangent(math.asinh)
def math_asinh_tangent(y, x):
    y_dot = x_dot / math.sqrt(x * x + 1.0)


@adjoint(math.acosh)
def math_acosh(y, x):
    # d/dx acosh x = 1 / sqrt(x^2 - 1)   (x > 1)
    x_bar = y_bar / math.sqrt(x * x - 1.0)


@tangent(math.acosh)
def math_acosh_tangent(y, x):
    y_dot = x_dot / math.sqrt(x * x - 1.0)


@adjoint(math.atanh)
def math_atanh(y, x):
    # d/dx atanh x = 1 / (1 - x^2)
    x_bar = y_bar / (1.0 - x * x)


@tangent(math.atanh)
def math_atanh_tangent(y, x):
    y_dot = x_dot / (1.0 - x * x)


@adjoint(math.degrees)
def math_degrees(y, x):
    # d/dx (180 / pi) x = 180 / pi
    x_bar = y_bar * (180.0 / math.pi)


@tangent(math.degrees)
def math_degrees_tangent(y, x):
    y_dot = x_dot * (180.0 / math.pi)


@adjoint(math.radians)
def math_radians(y, x):
    # d/dx (pi / 180) x = pi / 180
    x_bar = y_bar * (math.pi / 180.0)


@tangent(math.radians)
def math_radians_tangent(y, x):
    y_dot = x_dot * (math.pi / 180.0)


# ---------------------------------------------------------------------------
# math: exponentials, logarithms, powers
# ---------------------------------------------------------------------------


@adjoint(math.exp)
def math_exp(y, x):
    # d/dx e^x = e^x
    x_bar = y_bar * y


@tangent(math.exp)
def math_exp_tangent(y, x):
    y_dot = x_dot * y


@adjoint(math.expm1)
def math_expm1(y, x):
    # d/dx (e^x - 1) = e^x = y + 1
    x_bar = y_bar * (y + 1.0)


@tangent(math.expm1)
def math_expm1_tangent(y, x):
    y_dot = x_dot * (y + 1.0)


@adjoint(math.log)
def math_log(y, x, base=None):
    """math.log(x) and math.log(x, base); differentiable in both."""
    # y = ln x / ln b: dy/dx = 1 / (x ln b), dy/db = -y / (b ln b)
    x_bar = y_bar / (x * (1.0 if base is None else math.log(base)))
    base_bar = -y_bar * y / (base * math.log(base))


@tangent(math.log)
def math_log_tangent(y, x, base=None):
    y_dot = x_dot / (x * (1.0 if base is None else math.log(base))) - base_dot * y / (base * math.log(base))


@adjoint(math.log2)
def math_log2(y, x):
    # d/dx log2 x = 1 / (x ln 2)
    x_bar = y_bar / (x * math.log(2.0))


@tangent(math.log2)
def math_log2_tangent(y, x):
    y_dot = x_dot / (x * math.log(2.0))


@adjoint(math.log10)
def math_log10(y, x):
    # d/dx log10 x = 1 / (x ln 10)
    x_bar = y_bar / (x * math.log(10.0))


@tangent(math.log10)
def math_log10_tangent(y, x):
    y_dot = x_dot / (x * math.log(10.0))


@adjoint(math.log1p)
def math_log1p(y, x):
    # d/dx ln(1 + x) = 1 / (1 + x)
    x_bar = y_bar / (1.0 + x)


@tangent(math.log1p)
def math_log1p_tangent(y, x):
    y_dot = x_dot / (1.0 + x)


@adjoint(math.sqrt)
def math_sqrt(y, x):
    """The derivative is infinite at 0 (a ZeroDivisionError with Python floats)."""
    # d/dx sqrt x = 1 / (2 sqrt x)
    x_bar = y_bar / (2.0 * y)


@tangent(math.sqrt)
def math_sqrt_tangent(y, x):
    y_dot = x_dot / (2.0 * y)


@adjoint(math.pow)
def math_pow(z, x, y):
    """d/dy x**y is taken as 0 where x == 0, and is nan where x < 0."""
    # z = x**y: dz/dx = y x**(y-1), dz/dy = x**y log x   (see np.power)
    x_bar = z_bar * y * np.power(x, np.where(y == 0, 1, y - 1))
    y_bar = z_bar * z * np.log(np.where(x == 0, 1.0, x))


@tangent(math.pow)
def math_pow_tangent(z, x, y):
    z_dot = x_dot * y * np.power(x, np.where(y == 0, 1, y - 1)) + y_dot * z * np.log(
        np.where(x == 0, 1.0, x)
    )


@adjoint(math.hypot)
def math_hypot(r, x, y):
    """Two arguments only. The gradient at the origin is taken as 0."""
    # r = sqrt(x^2 + y^2): dr/dx = x / r, dr/dy = y / r
    x_bar = r_bar * (x / r if r != 0 else 0.0)
    y_bar = r_bar * (y / r if r != 0 else 0.0)


@tangent(math.hypot)
def math_hypot_tangent(r, x, y):
    r_dot = x_dot * (x / r if r != 0 else 0.0) + y_dot * (y / r if r != 0 else 0.0)


# ---------------------------------------------------------------------------
# math: absolute value, sign transfer, remainders, error function
# ---------------------------------------------------------------------------


@adjoint(math.fabs)
def math_fabs(y, x):
    """The derivative at 0 is taken as 0."""
    # d|x|/dx = sign(x)
    x_bar = y_bar * np.sign(x)


@tangent(math.fabs)
def math_fabs_tangent(y, x):
    y_dot = x_dot * np.sign(x)


@adjoint(math.copysign)
def math_copysign(z, x, y):
    """Not differentiable in y (piecewise constant); d/dx is taken as 0 at x == 0."""
    # z = |x| s with s = +-1 the sign of y: dz/dx = sign(x) s
    x_bar = z_bar * np.sign(x) * math.copysign(1.0, y)


@tangent(math.copysign)
def math_copysign_tangent(z, x, y):
    z_dot = x_dot * np.sign(x) * math.copysign(1.0, y)


@adjoint(math.fmod)
def math_fmod(z, x, y):
    """Differentiable away from the jumps, where x / y is an integer."""
    # z = x - q y with q = trunc(x / y): dz/dx = 1, dz/dy = -q; q = rint((x - z) / y)
    x_bar = z_bar
    y_bar = -z_bar * np.rint((x - z) / y)


@tangent(math.fmod)
def math_fmod_tangent(z, x, y):
    z_dot = x_dot - y_dot * np.rint((x - z) / y)


@adjoint(math.erf)
def math_erf(y, x):
    # d/dx erf x = 2 / sqrt(pi) exp(-x^2)
    x_bar = y_bar * (2.0 / math.sqrt(math.pi)) * math.exp(-x * x)


@tangent(math.erf)
def math_erf_tangent(y, x):
    y_dot = x_dot * (2.0 / math.sqrt(math.pi)) * math.exp(-x * x)


@adjoint(math.erfc)
def math_erfc(y, x):
    # d/dx erfc x = -2 / sqrt(pi) exp(-x^2)
    x_bar = -y_bar * (2.0 / math.sqrt(math.pi)) * math.exp(-x * x)


@tangent(math.erfc)
def math_erfc_tangent(y, x):
    y_dot = -x_dot * (2.0 / math.sqrt(math.pi)) * math.exp(-x * x)
