"""Ordinary Python, as a student or a scientist writes it: each program's derivatives match central
differences in float64 (grad and jvp; value_and_grad and hvp on some), or s2sad refuses it with an
S2SADError naming the line and saying what to write instead.

The programs use Python's own builtins and statements (reversed, sorted, map, divmod, enumerate, zip,
while with break, early returns, tuple swaps, list methods, comprehensions ...) rather than NumPy.
"""

import math

import numpy as np
import pytest
from qa_harness import check_case

import s2sad

X4 = np.array([0.5, -1.2, 2.0, 0.3])
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
    (update_each_row_of_a_list, (X4,)),
    (scale_each_row_with_enumerate, (X4,)),
    (update_each_row_of_a_matrix, (X4,)),
    (running_sum_with_the_last_value, (X4,)),
    (running_array_with_the_last_value, (X4,)),
    (running_best_of_numbers, (X4,)),
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


REFUSED = [
    (starred_unpacking, (X4,), s2sad.UnsupportedSyntaxError, "first, *rest = x", "x[0], x[1:]"),
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
        s2sad.grad(f)(*args)
    assert caught.value.location.text.strip() == line
    assert hint in str(caught.value)
