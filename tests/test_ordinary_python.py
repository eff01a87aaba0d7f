"""Ordinary Python, as a student or a scientist writes it: each program's derivatives match central
differences in float64 (grad and jvp; value_and_grad and hvp on some), or s2sad refuses it with an
S2SADError naming the line and saying what to write instead.

The programs use Python's own builtins and statements (reversed, sorted, map, divmod, enumerate, zip,
while with break, early returns, tuple swaps, list methods, comprehensions ...) rather than NumPy.
"""

import math
import warnings

import numpy as np
import pytest
from qa_harness import check_case

import s2sad

X4 = np.array([0.5, -1.2, 2.0, 0.3])
SCALE = 1.5
COEFFS = (0.5, -1.0, 2.0)
X5 = np.array([0.7, 1.9, -0.4, 1.3, 0.2])


# ---------------------------------------------------------------- builtins written out

def reversed_range_loop(x):
    s = 0.0
    for i in reversed(range(len(x))):
        s = s * 0.5 + x[i]
    return s


def reversed_range_with_step(x):
    s = 0.0
    for i in reversed(range(0, len(x), 2)):
        s = s * 0.5 + x[i] ** 2
    return s


def reversed_array_loop(x):
    s = 0.0
    for v in reversed(x):
        s = s * 0.5 + v
    return s


def reversed_list_of_scalars(x):
    vals = [x[0], x[1] * 2.0, x[2] * x[3]]
    s = 0.0
    for v in reversed(vals):
        s = s * 0.7 + v * v
    return s


def reversed_in_an_expression(x):
    backwards = list(reversed(x))
    return backwards[0] * x[0] + sum(reversed([x[1], x[2] ** 2]))


def zip_with_reversed(x):
    return sum(u * v for u, v in zip(x, reversed(x)))


def reversed_range_break(x):
    s = 0.0
    for i in reversed(range(len(x))):
        if x[i] > 1.5:
            break
        s = s + x[i] * (i + 1)
    return s


def sorted_scalars(x):
    vals = [x[0], x[1] * 2.0, x[2], x[3] - 1.0]
    s = sorted(vals)
    return s[0] * 3.0 + s[1] * s[2] - s[-1]


def sorted_array_reverse(x):
    top = sorted(x, reverse=True)
    return top[0] * 2.0 + top[1]


def sorted_with_a_key(x):
    by_size = sorted(x, key=abs)
    return by_size[0] + by_size[-1] ** 2


def sum_of_sorted(x):
    return sum(sorted([x[0], 2.0 * x[1], x[2] * x[3]])[1:])


def _square(v):
    return v * v


def map_of_a_helper(x):
    return sum(map(_square, x))


def map_of_numpy(x):
    s = 0.0
    for v in map(np.sin, x):
        s = s + v * v
    return s


def map_of_two_sequences(x):
    return sum(map(math.hypot, x, x * 2.0 + 1.0))


def map_of_a_nested_def(x, c):
    def scaled(v):
        return c * v + v ** 3

    return max(map(scaled, x)) + sum(list(map(scaled, x)))


def list_of_an_array(x):
    vals = list(x)
    vals.append(x[0] * x[1])
    return vals[-1] + vals[2] * vals[3]


def divmod_of_numbers(x):
    q, r = divmod(x[0] * 3.0, 0.7)
    return q * x[1] + r * r


def divmod_of_an_array(x):
    q, r = divmod(x, 0.7)
    return np.sum(q * x + r ** 2)


def enumerate_zip(x):
    y = x * 2.0 + 1.0
    s = 0.0
    for i, (u, v) in enumerate(zip(x, y)):
        s = s + i * u * v
    return s


def enumerate_zip_break(x, y):
    s = 0.0
    for i, (u, v) in enumerate(zip(x, y)):
        if u > 1.5:
            break
        s = s + i * u * v + u
    return s


def enumerate_zip_return(x):
    for i, (u, v) in enumerate(zip(x, x[1:])):
        if u * v < -1.0:
            return u * v * i
    return np.sum(x)


# ---------------------------------------------------------------- an item of a list replaced

def replace_a_row_of_a_list_of_lists(x):
    rows = [[x[0], x[1]], [x[2]]]
    a = rows[0][0] * rows[1][0]
    rows[0] = [x[3], x[3] * 2.0]
    return a + rows[0][0] * rows[0][1]


def replace_a_row_read_before(x):
    rows = [[x[0], x[1]], [x[2], x[3], x[0]]]
    t = rows[0]
    s = t[0] * t[1]
    rows[0] = [s, s]
    return s * rows[1][2] + rows[0][1] * np.sum(np.array(rows[1]))


def replace_an_array_in_a_list_of_arrays(x):
    params = [np.outer(x, x), x[:2]]
    params[0] = params[0] * 2.0
    return np.sum(params[0]) + np.sum(params[1] ** 2)


def replace_a_row_by_a_shorter_row(x):
    rows = [[x[0], x[1]], [x[2]]]
    a = rows[0][0] * rows[1][0]
    rows[0] = [x[3] * 2.0]
    return a + rows[0][0] * rows[1][0]


def replace_a_row_by_a_longer_row(x):
    rows = [[x[0]], [x[2], x[1]]]
    rows[0] = [x[3] * 2.0, x[1], x[0] * x[2]]
    return rows[0][0] * rows[1][1] + rows[0][2]


def replace_rows_of_other_lengths_in_a_loop(x):
    rows = [[x[0], x[1]], [x[2]], [x[3], x[3]]]
    s = 0.0
    for k in range(3):
        s = s + rows[k][0] * x[k]
        rows[k] = [s * x[k]] if k == 1 else [s, s * s, x[0]]
        s = s + sum(rows[k])
    return s


def replace_arrays_in_a_loop(x):
    params = [np.outer(x, x), x[:2] * 1.0]
    for k in range(2):
        params[k % 2] = params[k % 2] * x[k] + 1.0
    return np.sum(params[0]) + np.sum(params[1] ** 2)


# ---------------------------------------------------------------- in-place updates that alias nothing read

def update_each_row_of_a_list(x):
    rows = [x * 1.0, x ** 2]
    s = 0.0
    for r in rows:
        r += 1.0
        s = s + np.sum(r * r)
    return s


def scale_each_row_with_enumerate(x):
    rows = [x * 1.0, x[::-1] * 2.0, np.sin(x)]
    s = 0.0
    for i, r in enumerate(rows):
        r *= x[i]
        s = s + np.sum(r) * (i + 1)
    return s


def update_each_row_of_a_matrix(x):
    m = np.outer(x, x[:3])
    s = 0.0
    for row in m:
        row -= x[:3]
        s = s + np.sum(row ** 2)
    return s


def running_sum_with_the_last_value(x):
    acc = 0.0
    last = 0.0
    for i in range(len(x)):
        acc += x[i]
        last = acc
    return last * 2.0 + acc


def running_array_with_the_last_value(x):
    acc = np.zeros(2)
    last = acc
    s = 0.0
    for i in range(len(x)):
        s = s + np.sum(last)
        acc += x[i] * x[:2]
        last = acc
    return np.sum(last) * 2.0 + s


def running_best_of_numbers(x):
    s = 0.0
    best = -10.0
    for v in x:
        s += v * v - 1.0
        if s > best:
            best = s
    return best + s


# ---------------------------------------------------------------- what a student or a scientist writes
def while_break(x):
    s, k = 0.0, 0
    while True:
        s = s + x[k] ** 2
        k += 1
        if k >= len(x) or s > 3.0:
            break
    return s


def for_else(x):
    s = 0.0
    for v in x:
        if v > 10.0:
            break
        s += v * v
    else:
        s = s * 2.0
    return s


def for_else_taken(x):
    s = 0.0
    for v in x:
        if v > 1.5:
            s = s - v
            break
        s += v * v
    else:
        s = s * 2.0
    return s


def while_else(x):
    k = 0
    s = 1.0
    while k < 3:
        s = s * x[k]
        k += 1
    else:
        s = s + 1.0
    return s


def nested_function(x):
    def poly(v):
        return COEFFS[0] + COEFFS[1] * v + COEFFS[2] * v * v
    return sum(poly(v) for v in x)


def range_steps(x):
    s = 0.0
    for i in range(1, len(x), 2):
        s += x[i] * x[i - 1]
    for j in range(len(x) - 1, -1, -1):
        s = s * 0.5 + x[j]
    return s


def tuple_swap_fibonacci(x):
    a, b = x[0], x[1]
    for _ in range(5):
        a, b = b, a + b * 0.5
    return a * b


def subscript_augassign(x):
    y = np.zeros(3)
    for i in range(len(x)):
        y[i % 3] += x[i] ** 2
    y[1] *= 2.0
    return np.sum(y * y)


def dict_augassign(x):
    d = {"a": x[0], "b": x[1]}
    d["a"] += x[2]
    return d["a"] * d["b"]


def list_augassign(x):
    vals = [x[0], x[1], x[2]]
    vals[0] += 1.0
    vals[2] *= vals[1]
    return vals[0] * vals[2]


def list_append_pop(x):
    stack = []
    for v in x:
        stack.append(v * 2.0)
    top = stack.pop()
    return top * stack[-1]


def list_insert(x):
    vals = [x[1], x[2]]
    vals.insert(0, x[0])
    return vals[0] * vals[1] + vals[2]


def list_pop_at_and_insert(x):
    vals = [x[1], x[2], x[3]]
    vals.insert(0, x[0] * 3.0)
    first = vals.pop(1)
    vals.pop()
    return first * vals[0] + sum(vals) * vals[-1]


def pop_in_an_expression(x):
    stack = [x[0], x[1], x[2]]
    s = 0.0
    while len(stack) > 1:
        s = s + stack.pop() * stack[0]
    return s


def pop_of_a_list_another_name_holds(x):
    a = [x[0], x[1]]
    b = a
    a.pop()
    return b[-1]


def comprehension_with_condition(x):
    pos = [v * v for v in x if v > 0]
    return sum(pos) + len(pos)


def conditional_expression(x):
    s = 0.0
    for v in x:
        s += v if v > 0 else -0.5 * v
    return s


def any_all(x):
    if any(v > 1.5 for v in x):
        return np.sum(x ** 2)
    if all(v > 0 for v in x):
        return np.sum(x)
    return 0.0


def min_max_key(x):
    pairs = [(x[0], 1.0), (x[1], 2.0), (x[2], 3.0)]
    best = max(pairs, key=lambda p: p[0])
    return best[0] * best[1]


def max_with_default_key(x):
    return max(x, key=abs) * min(x[0], x[1])


def abs_and_math(x):
    return abs(x[0]) + math.sqrt(x[2]) + math.exp(x[1]) * math.log(x[2]) + math.atan2(x[0], x[3])


def math_functions(x):
    s = 0.0
    for v in x:
        s += math.sin(v) * math.cos(v) + math.tanh(v) + math.hypot(v, 1.0)
    return s


def chained_comparison(x):
    s = 0.0
    for v in x:
        if -1.0 < v < 1.0:
            s += v ** 3
        else:
            s += v
    return s


def early_return_in_loop(x):
    for i in range(len(x)):
        if x[i] > 1.5:
            return x[i] * i
    return np.sum(x)


def global_constant(x):
    return SCALE * np.sum(x ** 2) + COEFFS[1] * x[0]


def default_argument(x, scale=2.0):
    return scale * np.sum(x)


def keyword_only(x, *, power=3):
    return np.sum(x ** power)


def star_args(*xs):
    return xs[0] * xs[1]


def nested_loops(x):
    s = 0.0
    for i in range(len(x)):
        for j in range(i):
            s += x[i] * x[j]
    return s


def while_newton(x):
    # Newton's iteration for the square root of a, x[2] > 0
    a = x[2]
    r = a
    k = 0
    while abs(r * r - a) > 1e-12 and k < 50:
        r = 0.5 * (r + a / r)
        k += 1
    return r


def continue_in_loop(x):
    s = 0.0
    for v in x:
        if v < 0:
            continue
        s += math.sqrt(v)
    return s


def enumerate_start(x):
    s = 0.0
    for i, v in enumerate(x, 1):
        s += i * v
    return s


def zip_three(x):
    a, b, c = x[:3], x[1:] * 2.0, np.ones(3)
    return sum(u * v + w for u, v, w in zip(a, b, c))


def pow_builtin_and_round(x):
    return pow(x[0], 2) + round(3.7) * x[1] + pow(2.0, x[2])


def ternary_chain(x):
    v = x[0]
    return v * v if v > 1 else (2 * v if v > 0 else -v)


def string_keys_loop(x):
    params = {"w": x[0], "b": x[1]}
    s = 0.0
    for k in params:
        s += params[k] ** 2
    for k, v in params.items():
        s += v
    return s


def tuple_return_unpack(x):
    def stats(v):
        return np.mean(v), np.std(v)
    m, sd = stats(x)
    return m * sd


def in_place_list_of_scalars_loop(x):
    vals = [0.0] * 3
    for i in range(3):
        vals[i] = x[i] * (i + 1)
    return sum(vals)


def list_extend(x):
    vals = [x[0]]
    vals.extend([x[1], x[2]])
    return vals[0] * vals[2]


def list_extend_in_a_loop(x):
    out = []
    for k in range(2):
        out.extend(v * (k + 1.0) for v in x)
    other = [x[3], x[0] * x[1]]
    out.extend(other)
    return sum(out) * out[5] + other[1]


def list_extend_by_itself(x):
    vals = [x[0]]
    vals.extend(vals)
    return vals[1]


def list_sum_start(x):
    return sum([x[0], x[1]], 10.0)


def bool_flag_loop(x):
    found = False
    s = 0.0
    for v in x:
        if not found and v > 1.0:
            found = True
            s += v * 10
        else:
            s += v
    return s


def len_of_list_comp(x):
    items = [v for v in x]
    return items[len(items) - 1] * len(items)


def integer_division_loop(x):
    s = 0.0
    n = len(x)
    for i in range(n // 2):
        s += x[i] * x[n - 1 - i]
    return s


def min_of_generator(x):
    return min(v * v for v in x) + max(abs(v) for v in x)


def float_conversion(x):
    return float(x[0]) * float(len(x)) + int(2.7) * x[1]


def fstring_print(x):
    s = np.sum(x)
    msg = f"sum is {s:.3f}"
    return s * len(msg)


def assert_inside(x):
    assert len(x) == 4, "four values"
    return np.prod(x)


def nested_def_closure_update(x):
    total = 0.0
    def add(v, t):
        return t + v * v
    for v in x:
        total = add(v, total)
    return total


def lambda_named(x):
    sq = lambda v: v * v
    return sq(x[0]) + sq(x[1])


def map_lambda(x):
    return sum(map(lambda v: v * v, x))


def sorted_key_lambda(x):
    return sorted(x, key=lambda v: -v)[0]


def sorted_key_lambda_reading_a_local(x):
    c = x[0] * 0.5
    near = sorted(x, key=lambda v: abs(v - c), reverse=True)
    return near[0] * near[1] + max(x, key=lambda v: (v - c) ** 2) + min(x[0], x[1], x[2], key=lambda v: -v)


def sorted_key_nested_def(x):
    def score(v):
        return v * v - v
    return sorted(x, key=score)[-1] * 2.0 + max(map(lambda v, w: v * w, x, x[::-1]))


def walrus(x):
    if (n := len(x)) > 2:
        return x[0] * n
    return x[0]


def walrus_in_statements(x):
    total = 0.0
    for v in x:
        if (sq := v * v) > 0.2:
            total = total + sq * (w := v + 1.0) + w
    y = (m := np.max(x)) * 2.0 + m
    return total + y + (t := x[0] * x[1]) * t


def walrus_in_a_comprehension(x):
    return sum(y for v in x if (y := v * v) > 0.2)


def walrus_in_a_while_test(x):
    s, k = 0.0, 0
    while (s := s + x[k]) < 3.0:
        k = k + 1
    return s


def try_except(x):
    try:
        return x[0] / x[1]
    except ZeroDivisionError:
        return 0.0


def global_statement(x):
    global SCALE
    return SCALE * x[0]


def del_statement(x):
    y = x * 2
    del y
    return np.sum(x)


def del_of_names_read_before(x):
    y = x * 2
    z = np.sum(y * y)
    del y
    if z > 1.0:
        w, v = z * 2.0, z
        z = z + w * v
        del w, v
    return z + np.sum(x)


def del_then_bound_again(x):
    y = x * 2
    del y
    y = x * 3
    return np.sum(y)


def del_in_a_loop(x):
    s = 0.0
    for v in x:
        t = v * v
        s = s + t
        del t
    return s


def set_display(x):
    s = {1, 2}
    return x[0] * len(s)


def list_remove(x):
    vals = [x[0], x[1]]
    vals.remove(x[0])
    return vals[0]


def reversed_sorted(x):
    return list(reversed(sorted(x)))[0] * 2.0


def math_fsum(x):
    return math.fsum([x[0], x[1] * 2.0]) + math.fsum(v * v for v in x) * x[2]


def math_prod(x):
    return math.prod([x[0], x[1], 2.0]) * x[3] + math.prod(v + 1.0 for v in x) + math.prod([x[0], 0.0, x[1]], start=x[2])


def tuple_of_generator(x):
    t = tuple(v * v for v in x)
    return t[1] + sum(t)


def tuple_of_a_list_a_map_and_rows(x):
    t = tuple([x[0], x[1] * x[2]])
    u = tuple(map(np.sin, x))
    rows = tuple(np.outer(x, x))
    return t[0] * t[1] + u[2] * t[1] * sum(u) + np.sum(rows[1] * rows[2]) + len(u)


def dict_comp(x):
    d = {k: x[k] for k in range(3)}
    return d[0] * d[2]


def starred_call(x):
    args = (x[0], x[1])
    return math.hypot(*args)

def search_or_default(x):
    for v in x:
        if v > 1.5:
            found = v * v
            break
    else:
        return np.sum(x)
    return found * 3.0


def else_breaks_outer(x):
    s = 0.0
    for i in range(3):
        for v in x:
            if v > 1.8 - i:
                s += v
                break
        else:
            s -= 1.0
            break
        s = s * x[i]
    return s


def while_else_with_break(x):
    k = 0
    s = 0.0
    while k < len(x):
        s += x[k] ** 2
        if s > 2.0:
            break
        k += 1
    else:
        s = -s
    return s + k


def for_else_continue(x):
    s = 0.0
    for i in range(len(x)):
        for j in range(i):
            if x[j] > x[i]:
                break
        else:
            s += x[i] * (i + 1)
            continue
        s -= x[i]
    return s


def enumerate_start_break(x):
    s = 0.0
    for i, v in enumerate(x, 2):
        if v > 1.5:
            break
        s += i * v * v
    return s


def _neg(v):
    return -v


def max_key_abs(x):
    return max(x, key=abs) * min(x[0], x[1]) + min(x, key=abs)


def max_of_args_key(x):
    return max(x[0], x[1] * 2.0, x[2], key=_neg) * 3.0


def min_key_of_generator(x):
    return min((v * v for v in x), key=_neg)


def pairs_loop(x):
    pts = [(x[0], x[1]), (x[2], x[3])]
    s = 0.0
    for a, b in pts:
        s += a * b
    return s


def dict_items_loop(x):
    w = {"a": x[0], "b": x[1] * 2.0}
    s = 0.0
    for k, v in w.items():
        s += v * v
    return s


def recursive_power(x):
    def power(v, n):
        if n == 0:
            return 1.0
        return v * power(v, n - 1)
    return power(x[0], 3) + x[1]


def item_call(x):
    return x.sum().item() * x[0] + float(np.max(x))


def nested_lists_sum(x):
    grid = [[x[0], x[1]], [x[2], x[3]]]
    total = 0.0
    for row in grid:
        for v in row:
            total += v * v
    return total


def list_of_lists_comprehension(x):
    grid = [[x[i] * x[j] for j in range(2)] for i in range(2)]
    return grid[0][1] + grid[1][1]


def while_two_conditions(x):
    k, s = 0, 0.0
    while k < len(x) and s < 2.0:
        s += abs(x[k])
        k += 1
    return s


def index_of_max(x):
    best = 0
    for i in range(1, len(x)):
        if x[i] > x[best]:
            best = i
    return x[best] * 2.0


def running_mean(x):
    mean = 0.0
    for n, v in enumerate(x, 1):
        mean += (v - mean) / n
    return mean


def clamp_loop(x):
    out = []
    for v in x:
        out.append(min(max(v, -1.0), 1.0))
    return sum(out)


def slicing_lists(x):
    vals = [x[0], x[1], x[2], x[3]]
    head, tail = vals[:2], vals[2:]
    return sum(head) * sum(tail) + vals[-1]


def swap_in_list(x):
    vals = [x[0], x[1], x[2]]
    vals[0], vals[2] = vals[2], vals[0]
    return vals[0] * 2.0 + vals[2]


def numpy_scalars(x):
    a = np.float64(x[0])
    b = np.sqrt(a * a + 1.0)
    return float(b) + x[1]


def polynomial_horner(x):
    coeffs = [1.0, -2.0, 0.5, 3.0]
    y = 0.0
    for c in coeffs:
        y = y * x[0] + c
    return y


def bubble_sort(x):
    vals = [x[0], x[1], x[2], x[3]]
    n = len(vals)
    for i in range(n):
        for j in range(n - 1 - i):
            if vals[j] > vals[j + 1]:
                vals[j], vals[j + 1] = vals[j + 1], vals[j]
    return vals[0] * 1.0 + vals[3] * 2.0


def nonlocal_counter(x):
    total = 0.0
    def add(v):
        nonlocal total
        total += v
    for v in x:
        add(v)
    return total


def tuple_compare(x):
    a = (x[0], 1)
    b = (x[1], 2)
    return x[2] if a < b else x[3]


def range_len_list(x):
    vals = list(range(3))
    s = 0.0
    for i in vals:
        s += x[i] * i
    return s


def zip_strict(x):
    return sum(a * b for a, b in zip(x, x[::-1]))


def reversed_enumerate(x):
    s = 0.0
    for i, v in reversed(list(enumerate(x))):
        s = s * 0.5 + i * v
    return s


def sorted_pairs(x):
    pairs = sorted([(x[0], 0), (x[1], 1), (x[2], 2)])
    return pairs[0][0] + pairs[-1][0] * 2.0


def dict_get_default(x):
    d = {"a": x[0]}
    return d.get("a", 0.0) * d.get("b", 2.0)


def augassign_tuple_item(x):
    t = (x[0], x[1])
    s = t[0]
    s += t[1]
    return s * s


def zip_name_target(x):
    s = 0.0
    for pair in zip(x, x[::-1]):
        s += pair[0] * pair[1]
    return s


def enumerate_name_target(x):
    s = 0.0
    for item in enumerate(x, 1):
        s += item[0] * item[1] ** 2
    return s


def zip_name_target_break(x):
    s = 0.0
    for pair in zip(x, x[::-1]):
        if pair[0] > 1.5:
            break
        s += pair[0] * pair[1]
    return s


def enumerate_name_target_return(x):
    for item in enumerate(x, 1):
        if item[1] > 1.5:
            return item[0] * item[1] ** 2
    return np.sum(x)


def enum_start_kw(x):
    s = 0.0
    for i, v in enumerate(x, start=1):
        s += i * v
    return s


def enum_start_kw_break(x):
    s = 0.0
    for i, v in enumerate(x, start=1):
        if v > 1.5:
            break
        s += i * v * v
    return s


def sorted_key_none(x):
    return sorted(x, key=None)[0] * 2.0 + sorted(x, key=None, reverse=True)[0]


# ---------------------------------------------------------------- iterators Python reads lazily

def generator_read_after_a_change(x):
    c = 2.0
    g = (c * v for v in x)
    c = 3.0
    return sum(g)


def map_read_after_a_change(x):
    c = 2.0

    def scale(v):
        return c * v

    m = map(scale, x)
    c = 3.0
    return sum(m)


def generator_over_a_list_appended_to(x):
    vals = [x[0], x[1]]
    g = (v * 2.0 for v in vals)
    vals.append(x[2])
    return sum(g)


def generator_read_at_once(x):
    c = 2.0
    g = (v * c for v in x)
    t = sum(g)
    c = 5.0
    return t * c


def generator_in_a_loop(x):
    s = 0.0
    for i in range(2):
        g = (v * x[i] for v in x)
        s = s + sum(g)
    return s


def map_bound_to_a_name(x):
    def square(v):
        return v * v

    m = map(square, x)
    return sum(m)


# ---------------------------------------------------------------- functions held in a container

def _shifted_sine(v):
    return np.sin(v) + 1.0


LAYERS = [_square, _shifted_sine, np.tanh]
STAGES = (np.sin, _square)
ACTIVATIONS = {"square": _square, "sin": np.sin, "tanh": np.tanh}
ACTIVATION_NAMES = ("tanh", "square")


def loop_over_a_list_of_functions(x):
    for layer in LAYERS:
        x = layer(x)
    return np.sum(x)


def loop_over_a_tuple_of_functions(x):
    s = x[0]
    for stage in STAGES:
        s = stage(s) * 2.0
    return s


def function_from_a_dict_by_literal_key(x):
    return np.sum(ACTIVATIONS["tanh"](x) * ACTIVATIONS["square"](x)) + LAYERS[1](x[0])


def function_from_a_dict_by_loop_key(x):
    s = 0.0
    for name in ("square", "sin"):
        s = s + np.sum(ACTIVATIONS[name](x))
    for name in ACTIVATION_NAMES:
        x = ACTIVATIONS[name](x) + 0.5
    return s + np.sum(x)


def loop_over_the_keys_of_a_dict_of_functions(x):
    s = 0.0
    for name in ACTIVATIONS:
        s = s + np.sum(ACTIVATIONS[name](x) * x)
    return s


def loop_over_a_local_list_of_functions(x):
    fs = [_square, np.cos, _shifted_sine]
    y = x
    for f in fs:
        y = f(y) * x
    return np.sum(y) + fs[1](x[0])


def enumerate_and_zip_over_functions(x):
    s = 0.0
    for i, layer in enumerate(LAYERS):
        x = layer(x) * (i + 1.0)
        s = s + np.sum(x)
    ws = [x[0], x[1] * 2.0, 0.5]
    for layer, w, v in zip(LAYERS, ws, x):
        x = layer(x) * w + v
    return s + np.sum(x)


def layers_in_an_outer_loop(x):
    s = 0.0
    for k in range(2):
        for layer in LAYERS:
            x = layer(x) + s
        s = s + np.sum(x)
    return s


def _closure_over_layers():
    layers = [np.sin, _square]

    def closure_over_a_list_of_functions(x):
        for layer in layers:
            x = layer(x)
        return np.sum(x * x)
    return closure_over_a_list_of_functions


class _Model:
    def __init__(self):
        self.layers = [np.tanh, _square]
        self.w = 2.0

    def loss(self, x):
        for layer in self.layers:
            x = layer(x) * self.w
        return np.sum(x)


# ---------------------------------------------------------------- contexts that only change error reports

def under_errstate(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(x > 0, np.log(np.abs(x)), 0.0)
    return np.sum(r * x)


def under_catch_warnings_with_a_return(x):
    s = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for v in x:
            s = s + v * v
            if v > 1.5:
                return s
    return s * 2.0


def errstate_in_a_loop(x):
    s = 0.0
    for v in x:
        with np.errstate(over="ignore"), warnings.catch_warnings():
            s = s + np.exp(v) * v
    return s


WORKS = [
    (reversed_range_loop, (X4,)),
    (reversed_range_with_step, (X5,)),
    (reversed_array_loop, (X4,)),
    (reversed_list_of_scalars, (X4,)),
    (reversed_in_an_expression, (X4,)),
    (zip_with_reversed, (X4,)),
    (reversed_range_break, (X4,)),
    (reversed_range_break, (np.array([0.5, -1.2, 0.8, 0.3]),)),
    (sorted_scalars, (X4,)),
    (sorted_array_reverse, (X5,)),
    (sorted_with_a_key, (X4,)),
    (sum_of_sorted, (X4,)),
    (map_of_a_helper, (X4,)),
    (map_of_numpy, (X4,)),
    (map_of_two_sequences, (X4,)),
    (map_of_a_nested_def, (X4, 1.3)),
    (list_of_an_array, (X4,)),
    (divmod_of_numbers, (X4,)),
    (divmod_of_an_array, (np.array([0.75, 1.9, -0.45, 1.3, 0.2]),)),
    (enumerate_zip, (X4,)),
    (enumerate_zip_break, (X4, X5)),
    (enumerate_zip_break, (np.array([0.5, -1.2]), X5)),
    (enumerate_zip_return, (X4,)),
    (enumerate_zip_return, (np.array([0.5, 1.2, 2.0, 0.3]),)),
    (replace_a_row_of_a_list_of_lists, (X4,)),
    (replace_a_row_read_before, (X4,)),
    (replace_an_array_in_a_list_of_arrays, (X4,)),
    (replace_arrays_in_a_loop, (X4,)),
    (replace_a_row_by_a_shorter_row, (X4,)),
    (walrus, (X4,)),
    (tuple_of_generator, (X4,)),
    (math_fsum, (X4,)),
    (math_prod, (X4,)),
    (tuple_of_a_list_a_map_and_rows, (X4,)),
    (list_extend, (X4,)),
    (list_append_pop, (X4,)),
    (list_insert, (X4,)),
    (list_pop_at_and_insert, (X4,)),
    (list_extend_in_a_loop, (X4,)),
    (del_statement, (X4,)),
    (del_of_names_read_before, (X4,)),
    (walrus_in_statements, (X4,)),
    (map_lambda, (X4,)),
    (sorted_key_lambda, (X4,)),
    (min_max_key, (X4,)),
    (sorted_key_lambda_reading_a_local, (X4,)),
    (sorted_key_nested_def, (X4,)),
    (under_errstate, (X4,)),
    (under_catch_warnings_with_a_return, (X4,)),
    (errstate_in_a_loop, (X4,)),
    (loop_over_a_list_of_functions, (X4,)),
    (loop_over_a_tuple_of_functions, (X4,)),
    (function_from_a_dict_by_literal_key, (X4,)),
    (function_from_a_dict_by_loop_key, (X4,)),
    (loop_over_the_keys_of_a_dict_of_functions, (X4,)),
    (loop_over_a_local_list_of_functions, (X4,)),
    (layers_in_an_outer_loop, (X4,)),
    (enumerate_and_zip_over_functions, (X4,)),
    (_closure_over_layers(), (X4,)),
    (_Model().loss, (X4,)),
    (replace_a_row_by_a_longer_row, (X4,)),
    (replace_rows_of_other_lengths_in_a_loop, (X4,)),
    (update_each_row_of_a_list, (X4,)),
    (scale_each_row_with_enumerate, (X4,)),
    (update_each_row_of_a_matrix, (X4,)),
    (running_sum_with_the_last_value, (X4,)),
    (running_array_with_the_last_value, (X4,)),
    (running_best_of_numbers, (X4,)),
    # what a student or a scientist writes
    (while_break, (X4,)),
    (for_else, (X4,)),
    (for_else_taken, (X4,)),
    (for_else_taken, (np.array([0.5, 1.2, 0.9, 0.3]),)),
    (while_else, (X4,)),
    (search_or_default, (X4,)),
    (search_or_default, (np.array([0.5, 1.2, 0.9, 0.3]),)),
    (else_breaks_outer, (X4,)),
    (else_breaks_outer, (np.array([0.5, 1.2, 0.9, 0.3]),)),
    (while_else_with_break, (X4,)),
    (while_else_with_break, (np.array([0.5, 1.2, 0.9, 0.3]),)),
    (for_else_continue, (X4,)),
    (for_else_continue, (np.array([1.9, 0.2, -0.4, 1.1]),)),
    (nested_function, (X4,)),
    (range_steps, (X5,)),
    (tuple_swap_fibonacci, (X4,)),
    (subscript_augassign, (X5,)),
    (list_augassign, (X4,)),
    (comprehension_with_condition, (X4,)),
    (conditional_expression, (X4,)),
    (any_all, (X4,)),
    (any_all, (np.array([0.5, 1.2, 0.9, 0.3]),)),
    (any_all, (np.array([0.5, -1.2, 0.9, 0.3]),)),
    (max_with_default_key, (X4,)),
    (max_key_abs, (X4,)),
    (max_of_args_key, (X4,)),
    (min_key_of_generator, (X4,)),
    (abs_and_math, (X4,)),
    (math_functions, (X4,)),
    (chained_comparison, (X4,)),
    (early_return_in_loop, (X4,)),
    (early_return_in_loop, (np.array([0.5, 1.2, 0.9, 0.3]),)),
    (global_constant, (X4,)),
    (default_argument, (X4,)),
    (keyword_only, (X4,)),
    (nested_loops, (X5,)),
    (while_newton, (X4,)),
    (continue_in_loop, (X4,)),
    (enumerate_start, (X4,)),
    (enumerate_start_break, (X4,)),
    (enumerate_start_break, (np.array([0.5, 1.2, 0.9, 0.3]),)),
    (zip_three, (X4,)),
    (pow_builtin_and_round, (X4,)),
    (ternary_chain, (X4,)),
    (ternary_chain, (np.array([1.5, 0.2]),)),
    (ternary_chain, (np.array([-0.5, 0.2]),)),
    (string_keys_loop, (X4,)),
    (tuple_return_unpack, (X4,)),
    (in_place_list_of_scalars_loop, (X4,)),
    (list_sum_start, (X4,)),
    (bool_flag_loop, (X4,)),
    (len_of_list_comp, (X4,)),
    (integer_division_loop, (X5,)),
    (min_of_generator, (X4,)),
    (float_conversion, (X4,)),
    (fstring_print, (X4,)),
    (assert_inside, (X4,)),
    (nested_def_closure_update, (X4,)),
    (lambda_named, (X4,)),
    (reversed_sorted, (X4,)),
    (generator_read_at_once, (X4,)),
    (generator_in_a_loop, (X4,)),
    (map_bound_to_a_name, (X4,)),
    (pairs_loop, (X4,)),
    (dict_items_loop, (X4,)),
    (item_call, (X4,)),
    (nested_lists_sum, (X4,)),
    (list_of_lists_comprehension, (X4,)),
    (while_two_conditions, (X4,)),
    (index_of_max, (X4,)),
    (running_mean, (X4,)),
    (clamp_loop, (X4,)),
    (slicing_lists, (X4,)),
    (swap_in_list, (X4,)),
    (numpy_scalars, (X4,)),
    (polynomial_horner, (X4,)),
    (bubble_sort, (X4,)),
    (tuple_compare, (X4,)),
    (range_len_list, (X4,)),
    (zip_strict, (X4,)),
    (reversed_enumerate, (X4,)),
    (sorted_pairs, (X4,)),
    (dict_get_default, (X4,)),
    (augassign_tuple_item, (X4,)),
    (zip_name_target, (X4,)),
    (enumerate_name_target, (X4,)),
    (zip_name_target_break, (X4,)),
    (enumerate_name_target_return, (X4,)),
    (zip_name_target_break, (np.array([0.5, 1.2, 0.9, 0.3]),)),
    (enumerate_name_target_return, (np.array([0.5, 1.2, 0.9, 0.3]),)),
    (tuple_compare, (np.array([1.5, 0.2, 0.9, 0.3]),)),
    (enum_start_kw, (X4,)),
    (enum_start_kw_break, (X4,)),
    (enum_start_kw_break, (np.array([0.5, 1.2, 0.9, 0.3]),)),
    (sorted_key_none, (X4,)),
]


# ---------------------------------------------------------------- the same, where the update is seen: refused
# (NumPy's in-place update reaches a value read later, which `r = r + v` would not change)

def the_same_array_twice_in_the_list(x):
    a = x * 1.0
    rows = [a, a]
    s = 0.0
    for r in rows:
        r += 1.0
        s = s + np.sum(r * r)
    return s


def a_view_of_a_row_in_the_list(x):
    a = x * 1.0
    rows = [a, a[1:]]
    s = 0.0
    for r in rows:
        r *= 2.0
        s = s + np.sum(r * r)
    return s


def the_list_read_after_the_loop(x):
    rows = [x * 1.0, x ** 2]
    for r in rows:
        r += 1.0
    return np.sum(rows[0] * rows[1])


def the_list_read_in_the_loop(x):
    rows = [x * 1.0, x ** 2]
    s = 0.0
    for r in rows:
        r += 1.0
        s = s + np.sum(rows[0])
    return s


def the_loop_run_twice(x):
    rows = [x * 1.0, x ** 2]
    s = 0.0
    for _ in range(2):
        for r in rows:
            r += 1.0
            s = s + np.sum(r * r)
    return s


def an_item_read_under_its_own_name(x):
    a = x * 1.0
    rows = [a, x ** 2]
    s = 0.0
    for r in rows:
        r += 1.0
        s = s + np.sum(r * r)
    return s + np.sum(a)


def the_last_value_read_after_the_update(x):
    acc = np.zeros(2)
    last = acc
    s = 0.0
    for i in range(len(x)):
        acc += x[i] * x[:2]
        s = s + np.sum(last)
        last = acc
    return s


def the_last_value_updated_after_the_loop(x):
    acc = np.zeros(2)
    last = acc
    for i in range(len(x)):
        acc += x[i] * x[:2]
        last = acc
    acc += x[:2]
    return np.sum(last * x[:2])


def the_last_value_rebound_in_a_branch(x):
    acc = np.zeros(2)
    last = acc
    s = 0.0
    for i in range(len(x)):
        s = s + np.sum(last)
        acc += x[i] * x[:2]
        if x[i] > 0:
            last = acc
    return s


SEEN = [the_same_array_twice_in_the_list, a_view_of_a_row_in_the_list, the_list_read_after_the_loop,
        the_list_read_in_the_loop, the_loop_run_twice, an_item_read_under_its_own_name,
        the_last_value_read_after_the_update, the_last_value_updated_after_the_loop,
        the_last_value_rebound_in_a_branch]


@pytest.mark.parametrize("f", SEEN, ids=[f.__name__ for f in SEEN])
def test_an_update_another_value_sees_is_refused(f):
    with pytest.raises(s2sad.InPlaceUpdateError) as caught:
        s2sad.grad(f)(X4.copy())
    assert caught.value.location is not None and caught.value.hint


# ---------------------------------------------------------------- refused, with the line and a hint

def starred_unpacking(x):
    first, *rest = x
    return first * np.sum(rest)


def a_local_list_of_functions_changed(x):
    fs = [_square, np.sin]
    gs = fs
    gs[0] = np.cos
    for f in fs:
        x = f(x)
    return np.sum(x)


def a_function_picked_by_a_computed_key(x):
    k = int(x[0] > 0)
    return LAYERS[k](x[1])


def a_loop_over_functions_with_break(x):
    for layer in LAYERS:
        if np.sum(x) > 3.0:
            break
        x = layer(x)
    return np.sum(x)


def under_errstate_raising(x):
    with np.errstate(all="raise"):
        y = x * 2.0
    return np.sum(y)


def with_a_file(x):
    with open(__file__) as source:
        y = x * len(source.readline())
    return np.sum(y)


REFUSED = [
    (starred_unpacking, (X4,), s2sad.UnsupportedSyntaxError, "first, *rest = x", "x[0], x[1:]"),
    # the derivative runs under the caller's error state: it would go on where the function raises
    (under_errstate_raising, (X4,), s2sad.UnsupportedSyntaxError, 'with np.errstate(all="raise"):',
     "np.isfinite"),
    (with_a_file, (X4,), s2sad.UnsupportedSyntaxError, "with open(__file__) as source:", "outside the differentiated"),
    # the list may have changed (gs is fs): only a list that is never changed is unrolled
    (a_local_list_of_functions_changed, (X4,), s2sad.UnsupportedSyntaxError, "x = f(x)", "module-level name"),
    (a_function_picked_by_a_computed_key, (X4,), s2sad.UnsupportedSyntaxError, "return LAYERS[k](x[1])",
     "loop over the container itself"),
    (a_loop_over_functions_with_break, (X4,), s2sad.UnsupportedSyntaxError, "x = layer(x)", "with no break"),
    (star_args, (0.5, 1.5), s2sad.UnsupportedSyntaxError, "def star_args(*xs):", "list the parameters"),
    (starred_call, (X4,), s2sad.UnsupportedSyntaxError, "return math.hypot(*args)", "one by one"),
    (del_then_bound_again, (X4,), s2sad.UnsupportedSyntaxError, "del y", "out of scope"),
    (del_in_a_loop, (X4,), s2sad.UnsupportedSyntaxError, "del t", "out of scope"),
    (dict_augassign, (X4,), s2sad.InPlaceUpdateError, 'd["a"] += x[2]', "build a new dict"),
    (dict_comp, (X4,), s2sad.UnsupportedSyntaxError, "d = {k: x[k] for k in range(3)}", "dict(a=x"),
    (global_statement, (X4,), s2sad.UnsupportedSyntaxError, "global SCALE", "pass the value in"),
    (set_display, (X4,), s2sad.UnsupportedSyntaxError, "s = {1, 2}", "a tuple or an array"),
    (try_except, (X4,), s2sad.UnsupportedSyntaxError, "try:", "outside the differentiated function"),
    (walrus_in_a_comprehension, (X4,), s2sad.UnsupportedSyntaxError, "return sum(y for v in x if (y := v * v) > 0.2)",
     "on a line of its own"),
    (walrus_in_a_while_test, (X4,), s2sad.UnsupportedSyntaxError, "while (s := s + x[k]) < 3.0:",
     "on a line of its own"),
    (pop_in_an_expression, (X4,), s2sad.InPlaceUpdateError, "s = s + stack.pop() * stack[0]", "build a new value"),
    (pop_of_a_list_another_name_holds, (X4,), s2sad.InPlaceUpdateError, "a.pop()", "build a new value"),
    (list_extend_by_itself, (X4,), s2sad.InPlaceUpdateError, "vals.extend(vals)", "build a new value"),
    (list_remove, (X4,), s2sad.InPlaceUpdateError, "vals.remove(x[0])", "build a new value"),
    (nonlocal_counter, (X4,), s2sad.UnsupportedSyntaxError, "nonlocal total", "return the new value"),
    (recursive_power, (X4,), s2sad.RecursionNotSupportedError, "return v * power(v, n - 1)", ""),
    # the iterator would see the change when it is read (the gradient was that of c = 2.0)
    (generator_read_after_a_change, (X4,), s2sad.UnsupportedSyntaxError, "g = (c * v for v in x)",
     "make it a list here"),
    (map_read_after_a_change, (X4,), s2sad.UnsupportedSyntaxError, "m = map(scale, x)", "make it a list here"),
    (generator_over_a_list_appended_to, (X4,), s2sad.UnsupportedSyntaxError, "g = (v * 2.0 for v in vals)",
     "make it a list here"),
]


def _ids(cases):
    return [f"{c[0].__name__}-{i}" for i, c in enumerate(cases)]


@pytest.mark.parametrize("k, f, args", [(k, *c) for k, c in enumerate(WORKS)], ids=_ids(WORKS))
def test_derivatives_match_central_differences(k, f, args):
    """grad, value_and_grad and jvp of every program; hvp of every third (one more transformation)."""
    wrt = tuple(range(len(args))) if len(args) > 1 else 0
    modes = ("grad", "vg", "jvp") if k % 3 else ("grad", "vg", "jvp", "hvp")
    check_case(f, args, wrt, modes, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("f, args, error, line, hint", REFUSED, ids=_ids(REFUSED))
def test_refused_at_the_line_with_a_hint(f, args, error, line, hint):
    with pytest.raises(error) as caught:
        s2sad.grad(f, wrt=0)(*args)
    assert caught.value.location.text.strip() == line
    assert hint in str(caught.value)


def test_changing_the_functions_in_the_container_rebuilds_the_derivative():
    """An unrolled loop rests on LAYERS' items and length, a call of ACTIVATIONS["tanh"] on that item:
    each change is seen on the next call."""
    saved = list(LAYERS)
    grad = s2sad.grad(loop_over_a_list_of_functions)
    picked = s2sad.grad(function_from_a_dict_by_literal_key)
    picked(X4)
    try:
        for layers in ([_square, np.cos, np.tanh], [_square, np.cos, np.tanh, np.sin], [np.sin]):
            LAYERS[:] = layers
            assert np.allclose(grad(X4), _central_difference(loop_over_a_list_of_functions, X4), atol=1e-6)
        LAYERS[:] = saved
        ACTIVATIONS["tanh"] = np.sin
        assert np.allclose(picked(X4), _central_difference(function_from_a_dict_by_literal_key, X4), atol=1e-6)
    finally:
        LAYERS[:] = saved
        ACTIVATIONS["tanh"] = np.tanh


def _central_difference(f, x, h=1e-6):
    return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(len(x))])


def test_catch_warnings_leaves_the_filters_as_they_were():
    """warnings.simplefilter in a catch_warnings() block is dropped with the block: calling the
    derivative must not change the caller's warning filters."""
    before = list(warnings.filters)
    s2sad.grad(under_catch_warnings_with_a_return)(X4)
    assert warnings.filters == before
