"""End-to-end language coverage (issue 2): every construct, checked against finite differences.

Each program below is ordinary Python/NumPy defined at module level (s2sad reads
its source). The table ``CASES`` pairs each program with seeded float64 inputs
and the argument(s) to differentiate; programs with data-dependent control flow
appear several times, with inputs chosen to take each path.

For every case:
* ``s2sad.grad(f, wrt)`` matches central finite differences (tests/gradcheck.py);
* ``s2sad.value_and_grad(f, wrt)`` returns f's own value and the same gradient.
"""

from __future__ import annotations

import math
import zlib
from math import exp as math_exp

import numpy as np
import pytest
from numpy import cos as npcos

import s2sad
from gradcheck import assert_grad_matches_fd, copy_args, numeric_grad

# ---------------------------------------------------------------------------
# module globals, helpers, closures used by the programs
# ---------------------------------------------------------------------------

SCALE = 2.5
WEIGHTS = np.array([0.5, -1.0, 2.0])


def _h_sq(t):
    return t * t


def _h_horner(c, t):
    s = 0.0
    for i in range(len(c)):
        s = s * t + c[i]
    return s


def _h_inner(a, b):
    return np.sin(a) * b


def _h_outer(a, b):
    return _h_inner(a, b) + _h_inner(b, a) * _h_sq(a)


def _h_branchy(t):
    if t > 0.0:
        return t**2
    return -t


def _h_pair(a, b):
    return a * b, a - b


def _h_fill(v):
    out = np.zeros(len(v))
    for i in range(len(v)):
        out[i] = v[i] * v[i]
    return out


def _h_kw(a, b=1.0, c=2.0):
    return a * b + c * np.sin(a * b)


def make_poly(a, b):
    def poly(x):
        return a * x**2 + b * np.sin(x)

    return poly


def make_weighted(w, helper):
    def weighted(x):
        return helper(np.sum(w * x))

    return weighted


closure_poly = make_poly(1.5, -0.5)
closure_weighted = make_weighted(np.array([0.3, -0.7, 1.1]), _h_sq)


# ---------------------------------------------------------------------------
# arithmetic and unary operators
# ---------------------------------------------------------------------------


def op_add_sub(x, y):
    return x + y - 3.0 * x + 1.5 - y * y


def op_mul_div(x, y):
    return x * y / (1.0 + x * x) - 2.0 / (1.5 + y * y)


def op_floordiv(x, y):
    return (x // 0.7) * x + y // 2.0 + y


def op_mod(x, y):
    return (x % y) * 2.0 + x % 1.3 * y


def op_pow(x, y):
    return x**3 + x**y + 2.0**y + y**0.5


def op_pow_negative_base(x):
    return x**2 + x**3 - 2.0 * x**-1


def op_matmul(A, x):
    return np.sum((A @ x) ** 2)


def op_matmul_2d(A, B):
    C = A @ B
    return np.sum(C * C)


def op_unary(x, y):
    return -x * y + -(x**2) + (+y)


def op_abs(x, y):
    return abs(x) * y + abs(y - 3.0)


def op_abs_array(x):
    return np.sum(abs(x) * x)


def op_broadcast(x, s, A):
    return np.sum(x * s + A * x - s / (1.0 + A * A))


# ---------------------------------------------------------------------------
# math.* and NumPy calls
# ---------------------------------------------------------------------------


def math_funcs(x, y):
    return (
        math.sin(x)
        + math.cos(x) * math.tan(y)
        + math.exp(-x)
        + math.log(y)
        + math.sqrt(y)
        + math.tanh(x) * math.pi
    )


def np_on_scalars(x):
    return np.sin(x) * np.exp(x) + np.sqrt(1.0 + x * x)


def np_trig(x):
    return np.sum(np.sin(x) * np.cos(x) + np.tan(0.5 * x))


def np_exp_log_sqrt(x):
    return np.sum(np.exp(x) + np.log(x) + np.sqrt(x))


def np_tanh(x, y):
    return np.sum(np.tanh(x) * y)


def np_power(x, y):
    return np.sum(np.power(x, 3) + np.power(x, y))


def np_abs(x):
    return np.sum(np.abs(x) * np.cos(x))


def np_max_min(x, y):
    return np.sum(np.maximum(x, y) + np.minimum(x, 0.2) * y)


def np_where(x, y):
    return np.sum(np.where(x > 0.0, x**2, np.sin(x)) + np.where(x > y, x, y))


def np_sum_axis(A):
    return np.sum(np.sum(A, axis=0) ** 2) + np.sum(np.sum(A, axis=1, keepdims=True) * A)


def np_mean_axis(A):
    m0 = np.mean(A, axis=0, keepdims=True)
    m1 = np.mean(A, axis=1)
    return np.sum((A - m0) ** 2) + np.sum(m1**3) + np.mean(A**2)


def np_dot(x, y, A):
    return np.dot(x, y) * np.dot(x, x) + np.sum(np.dot(A, x) ** 2)


def np_matmul(A, B, C):
    return np.sum(np.matmul(A, B) * C)


def np_reshape(x, w):
    return np.sum(np.reshape(x, (2, 3)) * w)


def np_transpose(A, B):
    return np.sum(np.transpose(A) * B) + np.sum(A.T @ A)


# ---------------------------------------------------------------------------
# builtins
# ---------------------------------------------------------------------------


def builtin_max_min(x, y):
    return max(x, y) * min(x, 2.0 * y)


def builtin_sum_list(x, y):
    return sum([x, y * x, x**2])


def builtin_sum_array(v):
    return sum(v * v)


def builtin_len(v):
    return np.sum(v**2) / len(v)


def builtin_float(x, v):
    return float(np.sum(v**2)) * x + float(x) ** 2


def builtin_range_step(x):
    s = 0.0
    for i in range(1, 7, 2):
        s = s + x**i / i
    return s


# ---------------------------------------------------------------------------
# assignment forms
# ---------------------------------------------------------------------------


def reassign(x, y):
    z = x * y
    z = z + np.sin(z)
    z = z * x
    return z


def augassign(x, y):
    z = x
    z += y
    z *= x
    z -= 1.0
    z /= 1.0 + y * y
    z **= 2
    return z


def augassign_array(x, y):
    z = x * 2.0
    z += y
    z *= x
    z -= np.sin(y)
    return np.sum(z)


def tuple_swap(x, y):
    a, b = x * y, x + y
    a, b = b, a
    return a * b**2 + a


def tuple_nested(x, y):
    (a, b), c = (x, y), x * y
    t = (a, b, c)
    return t[0] * t[2] + t[1] ** 2


def cond_expr(x, y):
    z = x * y if x > y else x + y**2
    return z * np.sin(z)


# ---------------------------------------------------------------------------
# branches
# ---------------------------------------------------------------------------


def if_else(x):
    if x > 0.0:
        z = x**2
    else:
        z = -(x**3)
    return z * 2.0


def if_elif_else(x, y):
    if x < -1.0:
        z = np.exp(x) * y
    elif x < 1.0:
        z = np.sin(x) * y**2
    else:
        z = x * y
        z = z * z
    return z + x


def if_no_else(x, y):
    z = x
    if y > 0.0:
        z = z * y
    return z * x


def if_array_cond(x, y):
    if np.sum(x) > 0.0:
        return np.sum(x**2) * y
    return np.sum(np.sin(x)) * y


def if_boolops(x, y):
    if x > 0.0 and y > 0.0:
        z = x * y
    elif x > 0.0 or not y > -1.0:
        z = x - y
    else:
        z = x + y
    return z**2


def chained_compare(x):
    if 0.0 < x < 1.0:
        return x**3
    return 2.0 * x


# ---------------------------------------------------------------------------
# loops
# ---------------------------------------------------------------------------


def for_range_horner(c, x):
    s = 0.0
    for i in range(len(c)):
        s = s * x + c[i]
    return s


def for_nonlinear_carry(x, w):
    z = x
    for i in range(4):
        z = np.sin(z) * w + x
    return z


def for_over_array(x, y):
    s = 0.0
    for v in x:
        s = s + np.sin(v) * y
    return s


def for_over_rows(A, w):
    s = 0.0
    for row in A:
        s = s + np.dot(row, w) ** 2
    return s


def for_over_list(x, y):
    s = 0.0
    for c in [x, y, x * y]:
        s = s + c**2
    return s


def for_enumerate(x):
    s = 0.0
    for i, v in enumerate(x):
        s = s + i * v**2 + v
    return s


def for_zip(x, y):
    s = 0.0
    for a, b in zip(x, y):
        s = s + a * np.sin(b)
    return s


def for_break(x):
    s = 1.0
    for i in range(10):
        s = s * x + 1.0
        if s > 5.0:
            break
    return s * x


def for_continue(x):
    s = 0.0
    for i in range(6):
        if i % 2 == 0:
            continue
        s = s + x**i
    return s


def for_continue_data(x):
    s = 0.0
    for v in x:
        if v < 0.0:
            continue
        s = s + v**2
    return s


def while_grow(x, y):
    z = y
    while z < 10.0:
        z = z * 1.5 + x
    return z * x


def while_counter_break(x):
    i = 0
    s = x
    while i < 20:
        s = s * 1.3 + 0.1 * x
        i += 1
        if s > 5.0:
            break
    return s


def early_return(x, y):
    if x < 0.0:
        return x**2 * y
    z = np.sin(x) * y
    if z > 0.5:
        return z * z
    return z + x


def return_in_loop(x, y):
    s = y
    for i in range(10):
        s = s * x
        if s > 3.0:
            return s * y
    return s - y


def nested_loops(A, x):
    s = 0.0
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            s = s + A[i, j] * x ** (i + j)
    return s


def nested_branches(x, v):
    s = 0.0
    for i in range(len(v)):
        if v[i] > 0.0:
            for j in range(2):
                s = s + np.sin(v[i] * x + j)
        elif v[i] < -0.5:
            s = s - v[i] ** 2 * x
        else:
            s = s * x
    return s


def with_assert(x, y):
    assert y > 0.0, "y must be positive"
    assert x.shape == (3,)
    return np.sum(np.log(y) * x**2)


# ---------------------------------------------------------------------------
# subscripts, attributes, methods
# ---------------------------------------------------------------------------


def sub_int(x):
    return x[0] * x[2] + x[-1] ** 2


def sub_slices(x):
    return np.sum(x[1:4] * x[:3]) + np.sum(x[::2]) + np.sum(x[-3:] ** 2) + x[-2]


def sub_tuple(A):
    return A[0, 1] * A[-1, -1] + np.sum(A[:, 0]) + np.sum(A[1:, :2] ** 2)


def sub_fill_loop(x):
    n = x.shape[0]
    out = np.zeros(n)
    for i in range(n):
        out[i] = x[i] * np.sin(x[i - 1])
    return np.sum(out**2)


def sub_overwrite(x):
    y = x * 2.0
    y[1] = np.sin(y[1]) * y[0]
    y[0] = y[0] * y[2]
    return np.sum(y**2)


def sub_aug_slice(x, w):
    y = x**2
    y[1:3] += x[0:2] * w
    y[0] *= y[3]
    return np.sum(y * y)


def sub_fill_2d(x, v):
    M = np.zeros((2, 2))
    M[0, 0] = x
    M[0, 1] = x * x
    M[1, :] = v
    return np.sum(M @ v)


def sub_aug_loop(x):
    n = x.shape[0]
    acc = np.zeros(n)
    for i in range(n):
        acc[i] += x[i] ** 2
        acc[(i + 1) % n] += np.sin(x[i])
        acc[i] *= x[i]
    return np.sum(acc)


def attr_T_shape(A, B):
    n, m = A.shape
    return np.sum(A.T * B) / (n * m)


def method_sum(A):
    return np.sum(A.sum(axis=1) ** 2) + A.sum() + np.sum(A.mean(axis=0) * A[0])


def method_reshape(x, w):
    return np.sum(x.reshape(2, 3) * w) + np.sum(x.reshape((3, 2)) ** 2)


def method_dot(x, y, A):
    return x.dot(y) ** 2 + np.sum(A.dot(x))


# ---------------------------------------------------------------------------
# keywords, defaults, globals, closures, the user's own functions
# ---------------------------------------------------------------------------


def with_defaults(x, y, scale=2.0, power=3):
    return scale * x**power + y * np.sin(x)


def calls_kwargs(x, y):
    return _h_kw(x, c=3.0, b=y) + _h_kw(y, x) + _h_kw(a=x)


def uses_globals(x):
    return SCALE * np.sum(WEIGHTS * np.sin(x)) + math.pi * np.sum(x)


def uses_imported_aliases(x, y):
    return math_exp(x) * y + npcos(y)


def calls_helper_many(x, y):
    return _h_sq(x) + _h_sq(y) * _h_sq(x + y)


def calls_helper_loop(c, x):
    return _h_horner(c, x) * _h_horner(c, 2.0 * x)


def calls_nested_helpers(x, y):
    return _h_outer(x, y) - _h_outer(y, x)


def calls_branchy_helper(x, y):
    return _h_branchy(x) * y + _h_branchy(y)


def calls_tuple_helper(x, y):
    p, q = _h_pair(x, y)
    return p * q**2


def calls_array_helper(v):
    return np.sum(_h_fill(v) * v)


def calls_closure(x):
    return closure_poly(x) * closure_weighted(np.array([x, x * x, 1.0]))


# ---------------------------------------------------------------------------
# calls with no derivative pass through
# ---------------------------------------------------------------------------


def nd_comparison(x):
    return np.sum((x > 0.0) * x**2)


def nd_floor(x, y):
    return x * np.floor(x) + y * np.floor(2.0 * y)


def nd_argmax(x):
    return x[np.argmax(x)] * 2.0 + np.sum(x)


def nd_len(x):
    return np.sum(x) / len(x) + x[len(x) - 1]


def nd_print(x):
    print("value of x:", x)
    return x**2


# ---------------------------------------------------------------------------
# the lecture examples
# ---------------------------------------------------------------------------


def normal_pdf(x, mu, sigma):
    return 1.0 / (math.sqrt(2.0 * math.pi) * sigma) * math.exp(-((x - mu) ** 2) / (2.0 * sigma**2))


def normal_pdf_np(x, mu, sigma):
    z = (x - mu) / sigma
    return np.exp(-0.5 * z**2) / (np.sqrt(2.0 * np.pi) * sigma)


def lecture_f(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)


def lecture_f_np(x1, x2):
    return np.log(x1) + x1 * x2 - np.sin(x2)


# ---------------------------------------------------------------------------
# the table
# ---------------------------------------------------------------------------


def u(r, lo=-1.5, hi=1.5, shape=None):
    """A float (shape None) or float64 array, uniform in [lo, hi)."""
    if shape is None:
        return float(r.uniform(lo, hi))
    return r.uniform(lo, hi, size=shape)


def case(id, f, make_args, wrt=0, rtol=1e-6, atol=1e-8):
    r = np.random.default_rng(zlib.crc32(id.encode()))
    args = tuple(make_args(r))
    return pytest.param(f, args, wrt, rtol, atol, id=id)


CASES = [
    # operators
    case("add_sub", op_add_sub, lambda r: (u(r), u(r)), (0, 1)),
    case("mul_div", op_mul_div, lambda r: (u(r), u(r)), (0, 1)),
    case("floordiv", op_floordiv, lambda r: (u(r, 0.2, 3.0), u(r, 0.2, 3.0)), (0, 1)),
    case("mod", op_mod, lambda r: (u(r, 2.0, 4.0), u(r, 0.7, 1.2)), (0, 1)),
    case("pow", op_pow, lambda r: (u(r, 0.5, 2.0), u(r, 0.5, 2.0)), (0, 1)),
    case("pow_negative_base", op_pow_negative_base, lambda r: (u(r, -2.0, -0.5),)),
    case("matmul", op_matmul, lambda r: (u(r, shape=(2, 3)), u(r, shape=3)), (0, 1)),
    case("matmul_2d", op_matmul_2d, lambda r: (u(r, shape=(2, 3)), u(r, shape=(3, 4))), (0, 1)),
    case("unary", op_unary, lambda r: (u(r), u(r)), (0, 1)),
    case("abs_pos", op_abs, lambda r: (u(r, 0.2, 1.0), u(r, 0.2, 1.0)), (0, 1)),
    case("abs_neg", op_abs, lambda r: (u(r, -1.0, -0.2), u(r, 3.5, 4.0)), (0, 1)),
    case("abs_array", op_abs_array, lambda r: (u(r, shape=5),)),
    case("broadcast", op_broadcast, lambda r: (u(r, shape=3), u(r), u(r, shape=(2, 3))), (0, 1, 2)),
    # math / numpy
    case("math_funcs", math_funcs, lambda r: (u(r), u(r, 0.3, 1.2)), (0, 1)),
    case("np_on_python_float", np_on_scalars, lambda r: (u(r),)),
    case("np_on_float64_scalar", np_on_scalars, lambda r: (np.float64(u(r)),)),
    case("np_trig", np_trig, lambda r: (u(r, shape=4),)),
    case("np_exp_log_sqrt", np_exp_log_sqrt, lambda r: (u(r, 0.3, 2.0, shape=4),)),
    case("np_tanh", np_tanh, lambda r: (u(r, shape=4), u(r)), (0, 1)),
    case("np_power", np_power, lambda r: (u(r, 0.5, 2.0, shape=3), u(r, shape=3)), (0, 1)),
    case("np_abs", np_abs, lambda r: (u(r, shape=5),)),
    case("np_maximum_minimum", np_max_min, lambda r: (u(r, shape=6), u(r, shape=6)), (0, 1)),
    case("np_where", np_where, lambda r: (u(r, shape=6), u(r, shape=6)), (0, 1)),
    case("np_sum_axis_keepdims", np_sum_axis, lambda r: (u(r, shape=(3, 4)),)),
    case("np_mean_axis_keepdims", np_mean_axis, lambda r: (u(r, shape=(3, 4)),)),
    case("np_dot", np_dot, lambda r: (u(r, shape=3), u(r, shape=3), u(r, shape=(2, 3))), (0, 1, 2)),
    case("np_matmul", np_matmul, lambda r: (u(r, shape=(2, 3)), u(r, shape=(3, 2)), u(r, shape=(2, 2))), (0, 1)),
    case("np_reshape", np_reshape, lambda r: (u(r, shape=6), u(r, shape=(2, 3))), (0, 1)),
    case("np_transpose_and_T", np_transpose, lambda r: (u(r, shape=(2, 3)), u(r, shape=(3, 2))), (0, 1)),
    # builtins
    case("builtin_max_min_a", builtin_max_min, lambda r: (u(r, 1.0, 1.5), u(r, 0.2, 0.4)), (0, 1)),
    case("builtin_max_min_b", builtin_max_min, lambda r: (u(r, 0.2, 0.4), u(r, 1.0, 1.5)), (0, 1)),
    case("builtin_sum_list", builtin_sum_list, lambda r: (u(r), u(r)), (0, 1)),
    case("builtin_sum_array", builtin_sum_array, lambda r: (u(r, shape=4),)),
    case("builtin_len", builtin_len, lambda r: (u(r, shape=5),)),
    case("builtin_float", builtin_float, lambda r: (u(r), u(r, shape=3)), (0, 1)),
    case("builtin_range_step", builtin_range_step, lambda r: (u(r),)),
    # assignment forms
    case("reassign", reassign, lambda r: (u(r), u(r)), (0, 1)),
    case("augassign", augassign, lambda r: (u(r), u(r)), (0, 1)),
    case("augassign_array", augassign_array, lambda r: (u(r, shape=3), u(r, shape=3)), (0, 1)),
    case("tuple_swap", tuple_swap, lambda r: (u(r), u(r)), (0, 1)),
    case("tuple_nested", tuple_nested, lambda r: (u(r), u(r)), (0, 1)),
    case("cond_expr_true", cond_expr, lambda r: (u(r, 1.0, 1.5), u(r, 0.2, 0.5)), (0, 1)),
    case("cond_expr_false", cond_expr, lambda r: (u(r, 0.2, 0.5), u(r, 1.0, 1.5)), (0, 1)),
    # branches
    case("if_else_then", if_else, lambda r: (u(r, 0.2, 1.5),)),
    case("if_else_else", if_else, lambda r: (u(r, -1.5, -0.2),)),
    case("if_elif_else_if", if_elif_else, lambda r: (u(r, -2.0, -1.2), u(r)), (0, 1)),
    case("if_elif_else_elif", if_elif_else, lambda r: (u(r, -0.8, 0.8), u(r)), (0, 1)),
    case("if_elif_else_else", if_elif_else, lambda r: (u(r, 1.2, 2.0), u(r)), (0, 1)),
    case("if_no_else_taken", if_no_else, lambda r: (u(r), u(r, 0.2, 1.5)), (0, 1)),
    case("if_no_else_skipped", if_no_else, lambda r: (u(r), u(r, -1.5, -0.2)), (0, 1)),
    case("if_array_cond_pos", if_array_cond, lambda r: (u(r, 0.1, 1.0, shape=3), u(r)), (0, 1)),
    case("if_array_cond_neg", if_array_cond, lambda r: (u(r, -1.0, -0.1, shape=3), u(r)), (0, 1)),
    case("if_boolops_and", if_boolops, lambda r: (u(r, 0.2, 1.0), u(r, 0.2, 1.0)), (0, 1)),
    case("if_boolops_or", if_boolops, lambda r: (u(r, 0.2, 1.0), u(r, -1.0, -0.2)), (0, 1)),
    case("if_boolops_else", if_boolops, lambda r: (u(r, -1.0, -0.2), u(r, -0.8, 0.8)), (0, 1)),
    case("chained_compare_in", chained_compare, lambda r: (u(r, 0.2, 0.8),)),
    case("chained_compare_out", chained_compare, lambda r: (u(r, 1.2, 2.0),)),
    # loops
    case("for_range_horner", for_range_horner, lambda r: (u(r, shape=4), u(r)), (0, 1)),
    case("for_nonlinear_carry", for_nonlinear_carry, lambda r: (u(r), u(r)), (0, 1)),
    case("for_over_array", for_over_array, lambda r: (u(r, shape=4), u(r)), (0, 1)),
    case("for_over_rows", for_over_rows, lambda r: (u(r, shape=(3, 2)), u(r, shape=2)), (0, 1)),
    case("for_over_list", for_over_list, lambda r: (u(r), u(r)), (0, 1)),
    case("for_enumerate", for_enumerate, lambda r: (u(r, shape=4),)),
    case("for_zip", for_zip, lambda r: (u(r, shape=4), u(r, shape=4)), (0, 1)),
    case("for_break_early", for_break, lambda r: (u(r, 1.8, 2.2),)),
    case("for_break_never", for_break, lambda r: (u(r, 0.2, 0.5),)),
    case("for_continue", for_continue, lambda r: (u(r),)),
    case("for_continue_data", for_continue_data, lambda r: (np.array([0.7, -0.4, 1.3, -1.1, 0.2]) + u(r, -0.05, 0.05, shape=5),)),
    case("while_data_dependent", while_grow, lambda r: (u(r, 0.5, 1.0), u(r, 0.5, 1.0)), (0, 1)),
    case("while_counter_break", while_counter_break, lambda r: (u(r, 0.5, 1.0),)),
    case("while_counter_no_break", while_counter_break, lambda r: (u(r, 0.0001, 0.001),)),
    case("early_return_first", early_return, lambda r: (u(r, -1.5, -0.2), u(r)), (0, 1)),
    case("early_return_second", early_return, lambda r: (u(r, 1.0, 1.4), u(r, 1.0, 1.5)), (0, 1)),
    case("early_return_fallthrough", early_return, lambda r: (u(r, 0.2, 1.0), u(r, 0.1, 0.3)), (0, 1)),
    case("return_in_loop_taken", return_in_loop, lambda r: (u(r, 1.6, 1.7), u(r, 1.0, 1.1)), (0, 1)),
    case("return_in_loop_fallthrough", return_in_loop, lambda r: (u(r, 0.4, 0.6), u(r, 0.9, 1.1)), (0, 1)),
    case("nested_loops", nested_loops, lambda r: (u(r, shape=(3, 2)), u(r, 0.5, 1.5)), (0, 1)),
    case("nested_loops_branches", nested_branches, lambda r: (u(r), np.array([0.8, -1.2, 0.1, 0.5, -0.2])), (0, 1)),
    case("assert", with_assert, lambda r: (u(r, shape=3), u(r, 0.5, 2.0)), (0, 1)),
    # subscripts
    case("subscript_int_negative", sub_int, lambda r: (u(r, shape=4),)),
    case("subscript_slices", sub_slices, lambda r: (u(r, shape=6),)),
    case("subscript_tuple", sub_tuple, lambda r: (u(r, shape=(3, 3)),)),
    case("setitem_fill_loop", sub_fill_loop, lambda r: (u(r, shape=5),)),
    case("setitem_overwrite", sub_overwrite, lambda r: (u(r, shape=3),)),
    case("setitem_aug_slice", sub_aug_slice, lambda r: (u(r, shape=4), u(r, shape=2)), (0, 1)),
    case("setitem_2d", sub_fill_2d, lambda r: (u(r), u(r, shape=2)), (0, 1)),
    case("setitem_aug_loop", sub_aug_loop, lambda r: (u(r, shape=4),)),
    # attributes, methods
    case("attr_T_shape", attr_T_shape, lambda r: (u(r, shape=(2, 3)), u(r, shape=(3, 2))), (0, 1)),
    case("method_sum_mean_axis", method_sum, lambda r: (u(r, shape=(3, 4)),)),
    case("method_reshape", method_reshape, lambda r: (u(r, shape=6), u(r, shape=(2, 3))), (0, 1)),
    case("method_dot", method_dot, lambda r: (u(r, shape=3), u(r, shape=3), u(r, shape=(2, 3))), (0, 1, 2)),
    # keywords, defaults, globals, closures, helpers
    case("defaults", with_defaults, lambda r: (u(r), u(r)), (0, 1)),
    case("defaults_wrt_name", with_defaults, lambda r: (u(r), u(r)), "y"),
    case("defaults_wrt_names", with_defaults, lambda r: (u(r), u(r)), ("y", "x")),
    case("defaults_explicit", with_defaults, lambda r: (u(r), u(r), u(r), 2), ("x", "scale", "y")),
    case("keyword_args_to_helper", calls_kwargs, lambda r: (u(r), u(r)), (0, 1)),
    case("module_globals", uses_globals, lambda r: (u(r, shape=3),)),
    case("imported_aliases", uses_imported_aliases, lambda r: (u(r), u(r)), (0, 1)),
    case("closure_factory", closure_poly, lambda r: (u(r),)),
    case("closure_array_and_helper", closure_weighted, lambda r: (u(r, shape=3),)),
    case("calls_closure", calls_closure, lambda r: (u(r),)),
    case("helper_called_many_times", calls_helper_many, lambda r: (u(r), u(r)), (0, 1)),
    case("helper_with_loop", calls_helper_loop, lambda r: (u(r, shape=3), u(r)), (0, 1)),
    case("helpers_calling_helpers", calls_nested_helpers, lambda r: (u(r), u(r)), (0, 1)),
    case("helper_with_branches", calls_branchy_helper, lambda r: (u(r, 0.2, 1.0), u(r, -1.0, -0.2)), (0, 1)),
    case("helper_returns_tuple", calls_tuple_helper, lambda r: (u(r), u(r)), (0, 1)),
    case("helper_fills_array", calls_array_helper, lambda r: (u(r, shape=4),)),
    # no-derivative calls pass through
    case("nondiff_comparison", nd_comparison, lambda r: (u(r, shape=6),)),
    case("nondiff_floor", nd_floor, lambda r: (u(r, 0.1, 2.9), u(r, 0.1, 2.9)), (0, 1)),
    case("nondiff_argmax", nd_argmax, lambda r: (u(r, shape=5),)),
    case("nondiff_len", nd_len, lambda r: (u(r, shape=4),)),
    case("nondiff_print", nd_print, lambda r: (u(r),)),
    # lecture examples
    case("lecture_normal_pdf", normal_pdf, lambda r: (u(r), u(r), u(r, 0.5, 2.0)), (0, 1, 2)),
    case("lecture_normal_pdf_np", normal_pdf_np, lambda r: (u(r), u(r), u(r, 0.5, 2.0)), (0, 1, 2)),
    case("lecture_f", lecture_f, lambda r: (u(r, 0.5, 3.0), u(r)), (0, 1)),
    case("lecture_f_np", lecture_f_np, lambda r: (u(r, 0.5, 3.0), u(r)), (0, 1)),
]


@pytest.mark.parametrize("f, args, wrt, rtol, atol", CASES)
def test_grad_matches_finite_differences(f, args, wrt, rtol, atol):
    assert_grad_matches_fd(f, args, wrt, rtol=rtol, atol=atol)


@pytest.mark.parametrize("f, args, wrt, rtol, atol", CASES)
def test_value_and_grad(f, args, wrt, rtol, atol):
    expected_value = f(*copy_args(args))
    value, g = s2sad.value_and_grad(f, wrt)(*copy_args(args))
    np.testing.assert_allclose(np.asarray(value, dtype=float), np.asarray(expected_value, dtype=float), rtol=1e-12, atol=1e-14)
    g_alone = s2sad.grad(f, wrt)(*copy_args(args))
    if isinstance(wrt, tuple):
        assert isinstance(g, tuple) and len(g) == len(wrt)
        for a, b in zip(g, g_alone):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    else:
        np.testing.assert_allclose(g, g_alone, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------
# specific values and calling conventions
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("f", [normal_pdf, normal_pdf_np], ids=["math", "numpy"])
def test_lecture_normal_pdf_values(f):
    g = s2sad.grad(f, wrt=(0, 1, 2))(0.5, 0.0, 1.0)
    assert tuple(round(float(v), 3) for v in g) == (-0.176, 0.176, -0.264)


@pytest.mark.parametrize("f", [lecture_f, lecture_f_np], ids=["math", "numpy"])
def test_lecture_log_sin_values(f):
    g = s2sad.grad(f, wrt=(0, 1))(2.0, 5.0)
    assert tuple(round(float(v), 3) for v in g) == (5.5, 1.716)
    assert tuple(round(float(v), 3) for v in s2sad.grad(f, wrt=("x1", "x2"))(2.0, 5.0)) == (5.5, 1.716)


def test_grad_accepts_keyword_arguments_like_f():
    # The gradient function has f's signature: defaults can be overridden by keyword.
    g = s2sad.grad(with_defaults, wrt=("x", "y"))(0.7, -0.3, scale=1.5)
    expected = numeric_grad(lambda x, y: with_defaults(x, y, scale=1.5), (0.7, -0.3), (0, 1))
    np.testing.assert_allclose(g, expected, rtol=1e-6, atol=1e-8)
    g2 = s2sad.grad(with_defaults, wrt="x")(x=0.7, y=-0.3, power=2)
    np.testing.assert_allclose(g2, 2.0 * 2 * 0.7 + -0.3 * np.cos(0.7), rtol=1e-10)


def test_wrt_position_and_name_agree():
    args = (0.4, -1.1)
    by_pos = s2sad.grad(lecture_f_np, wrt=1)(*args)
    by_name = s2sad.grad(lecture_f_np, wrt="x2")(*args)
    np.testing.assert_allclose(by_pos, by_name, rtol=1e-14)
    pair = s2sad.grad(lecture_f_np, wrt=(1, "x1"))(*args)
    np.testing.assert_allclose(pair[0], by_pos, rtol=1e-14)
    np.testing.assert_allclose(pair[1], s2sad.grad(lecture_f_np)(*args), rtol=1e-14)


def test_print_passthrough_prints_once_per_call(capsys):
    s2sad.grad(nd_print)(1.25)
    out = capsys.readouterr().out
    assert out.count("value of x:") == 1


def test_nondifferentiable_result_gives_zero_gradient():
    # floor is piecewise constant: the gradient through it is exactly zero, not an error.
    def floor_only(x):
        return np.floor(x) * 3.0

    assert float(s2sad.grad(floor_only)(1.3)) == 0.0


def test_loop_trip_count_depends_on_data():
    # The same gradient function must be right for inputs that take different numbers of iterations.
    g = s2sad.grad(while_grow, wrt=(0, 1))
    for x, y in [(0.6, 0.7), (0.9, 3.0), (0.7, 9.5), (0.5, 12.0)]:
        expected = numeric_grad(while_grow, (x, y), (0, 1))
        np.testing.assert_allclose(g(x, y), expected, rtol=1e-6, atol=1e-8)


def test_branches_switch_between_calls():
    # One generated function, called on inputs that take each path of if/elif/else.
    g = s2sad.grad(if_elif_else, wrt=(0, 1))
    for x in (-1.7, -0.3, 0.4, 1.6):
        expected = numeric_grad(if_elif_else, (x, 0.8), (0, 1))
        np.testing.assert_allclose(g(x, 0.8), expected, rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------------------
# module globals are read when the gradient runs, not frozen at transformation
# ---------------------------------------------------------------------------

SCALE = 2.0


def scaled_square(x):
    return SCALE * x * x


def test_module_global_is_read_live():
    global SCALE
    g = s2sad.grad(scaled_square)
    assert g(3.0) == pytest.approx(12.0)
    old, SCALE = SCALE, 5.0
    try:
        assert g(3.0) == pytest.approx(30.0)  # d/dx 5 x^2 at 3
    finally:
        SCALE = old
