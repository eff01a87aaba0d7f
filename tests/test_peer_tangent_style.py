"""Programs in the style of a source-to-source AD tool's own test suite (Tangent's list of test
functions: arithmetic, `if`/`while`/`for` in many shapes, nested loops, `break`/`continue`, early
return, tuple unpacking, lists and dicts, NumPy calls, `range` forms, augmented assignments, inline
ifs, calls to the user's helpers, higher order), written for s2sad.

Each program is checked in reverse mode (grad, by position and by name, value_and_grad), forward
mode (jvp along a random direction) and, where it is twice differentiable at the inputs, second
order (hessian, hvp), all against central differences in float64. The inputs include points on
both sides of every branch (never exactly on a kink).
"""

import numpy as np
import pytest

import s2sad

from gradcheck import numeric_grad


# ---------------------------------------------------------------- arithmetic and assignment

def identity(a):
    return a


def negate(a):
    return -a


def rebind(a):
    b = a
    c = b
    return c * 1.0


def add_one(a):
    return a + 1


def fma(a, b, c):
    return a * b + c


def fma_steps(a, b, c):
    t = a * b
    t = t + c
    return t


def binops(a, b):
    return a / 3.0 + 3.0 / a - (a - 2.0) * (2.0 - b) + a / a + b * b - b ** 2.5


def name_like_a_gradient(a):
    da = a * a
    a_bar = da * 2.0
    return a_bar + da


def cube_product(a):
    return a * a * a


def cube_power(a):
    return a ** 3


def power_both(a, b):
    return a ** b


def augmented(a, b):
    x = a * b
    x += a
    x *= x
    x -= b
    x /= 2.0 + b * b
    x **= 2
    return x


def two_outputs(a):
    return 3.0 * a, a * a


# ---------------------------------------------------------------- if

def reassign_in_if(a):
    if a > 0:
        a = a * 3.0
    else:
        a = a * 2.0
    return a


def if_in_if(a):
    if a > 0:
        if a < 10:
            a = a * a
    else:
        a = 3.0 * a
    return a


def elif_chain(a):
    if a > 1:
        a = a * 3.0
    elif 0 > a:
        a = a * a
    elif a > 0.5:
        a = np.sin(a)
    else:
        a = 1.5 * a
    return a


def noisy_conditions(a):
    if a * a / 3.0 > 0.5:
        b = 3.0
    else:
        b = 4.0
    a = a * b
    if a < b - a * b:
        a = a * a
    elif a > b + 3.0 * a:
        if a / 2.0 < 0:
            a = a / b
        else:
            a = a * b
    else:
        a = -a
    return a


def ifs_in_sequence(a):
    if a > 0:
        a = a * a
    a = a + a
    if a < 0:
        a = 3.0 * a
    return a


def two_arg_branch(a, b):
    if a > b:
        a = a * a
    else:
        a = a * b
    return a


def inline_ifs(a, b):
    c = a * b if a > b else a + b
    return (c if c > 0 else -c) * (a if 0 < a < 2 else b)


def boolean_ops(a, b):
    if a > 0 and b > 0 or a < -1:
        return a * b
    if not a > b:
        return a - b
    return a + b


def branch_defines_value(a):
    if a > 0:
        t = np.exp(a)
    else:
        t = np.cos(a)
    return t * a


# ---------------------------------------------------------------- loops

def loops_in_sequence(a, n):
    for i in range(n):
        a = a * 1.1
    a = 2.0 * a
    for i in range(n + 1):
        a = a * a * 0.5
    return a


def if_then_loop(a, n):
    if a > 0:
        a = a * a
    a = 2.0 * a
    for i in range(n):
        a = np.sin(a) + a
    return a


def loop_then_if(a, n):
    for i in range(n):
        a = a * a
    a = 2.0 * a
    if a > 0:
        a = a * a
    return a


def power_by_loop(a):
    out = 1
    for i in range(3):
        out = out * a
    return out


def power_by_loop_from_a(a):
    out = a
    for i in range(3 - 1):
        out = out * a
    return out


def repeated_square(a, n):
    for i in range(n):
        a = a * a
    return a


def if_in_loop(a):
    for i in range(3):
        if a < 2:
            a = a * a + 0.5
    return a


def loop_in_if(a):
    if a < 2:
        for i in range(3):
            a = a * a
    return a


def nested_loops(a):
    for i in range(2):
        for j in range(3):
            a = a * 0.5 + np.sin(a * j)
    return a


def triangular_loops(a):
    s = 0.0
    for i in range(4):
        for j in range(i):
            s = s + a ** (i - j)
    return s


def range_forms(a):
    s = a
    for i in range(2, 8, 3):
        s = s * i + a
    for i in range(5, 0, -2):
        s = s - a / i
    for i in range(0):
        s = s * 100.0
    return s


def loop_index_used(a):
    s = 0.0
    for i in range(4):
        s = s + a * i + np.cos(a + i)
    return s


def while_halving(a):
    while np.abs(a) > 0.1:
        a = a * 0.5
    return a


def while_counter(a, n):
    i = 0
    while i < n:
        a = a * np.cos(a)
        i += 1
    return a


def while_with_break(a):
    k = 0
    while True:
        a = a * 1.5
        k += 1
        if a > 4.0 or k > 20:
            break
    return a


def loop_break(x):
    s = 0.0
    for v in x:
        if v > 2.0:
            break
        s = s + v * v
    return s


def loop_continue(x):
    s = 0.0
    for v in x:
        if v < 0:
            continue
        s = s + np.sin(v)
    return s


def break_in_enumerate_zip(x, y):
    s = 0.0
    for i, (u, v) in enumerate(zip(x, y)):
        if u > 1.5:
            break
        s = s + i * u * v + u
    return s


def early_return(a):
    if a > 1:
        return a * a
    b = a * 3.0
    if b < 0:
        return -b
    return b + a


def return_in_loop(a):
    for i in range(5):
        a = a * 1.5
        if a > 3.0:
            return a - i
    return a


def return_in_nested_loops(a):
    for i in range(3):
        for j in range(3):
            if a * (i + j) > 2.0:
                return a * i - j
    return a ** 3


def loop_over_array(x):
    s = 0.0
    for v in x:
        s = s + v * s + v
    return s


def loop_enumerate_zip(x, y):
    s = 0.0
    for i, (u, v) in enumerate(zip(x, y)):
        s = s + i * u * v
    for i, u in enumerate(x):
        s = s + u * y[i] ** 2
    for u, v in zip(x, reversed(y)):
        s = s + u * v * v
    for i in reversed(range(len(x))):
        s = s * 0.5 + x[i]
    return s


def fill_by_index(x):
    y = np.zeros_like(x)
    for i in range(len(x)):
        y[i] = x[i] * x[i - 1]
    return np.sum(y)


def fill_rows(x):
    h = np.zeros((len(x), 3))
    for t in range(len(h)):
        h[t] = x[t] * np.arange(3.0)
    return np.sum(h * h)


def recurrence(inputs, W):
    h = np.zeros((4, 3))
    for t in range(3):
        h[t + 1] = np.tanh(np.dot(inputs[t], W) + h[t])
    return np.sum(h[1:])


def carried_pair(a, b):
    x, y = a, b
    for i in range(4):
        x, y = y, x * y + 0.1
    return x + y


# ---------------------------------------------------------------- calls

def _times(a, b):
    return a * b


def _plus(a, b):
    return a + b


def calls_saxpy(a, b, c):
    return _plus(_times(a, b), c)


def call_in_branch(a, b):
    if a > b:
        o = _times(a, b)
    else:
        o = _times(b, a + 1.0)
    return o


def call_in_loop(a, n):
    for i in range(n):
        a = _times(a, np.cos(a))
    return a


def nested_call(a, b):
    return calls_saxpy(a, b, a)


def chain_of_calls(a):
    b = _times(a, a)
    c = _times(b, b)
    return _times(c, a)


def nested_def(a, n):
    def scale(u, v):
        return u * v + 0.5

    for i in range(n):
        a = scale(a, np.sin(a))
    return a


def lambda_call(a):
    sq = lambda u: u * u  # noqa: E731
    return sq(a) + sq(a + 1.0)


# ---------------------------------------------------------------- tuples, lists, dicts, subscripts

def unpack_tuple(abc):
    a, b, c = abc
    return a * b + c


def dict_reads(d):
    return d["a"] * d["b"] + d["c"]


def dict_built(a, b, c):
    d = dict(a=a, b=b, c=c)
    e = {"x": a * b, "y": c}
    return d["a"] * d["b"] + d["c"] + e["x"] * e["y"]


def pick_from_pack(a, b, c, i):
    x = a, b, c
    return x[i]


def nested_dict_reads(p):
    return p["i"]["j"] * p["i"]["k"]


def list_display(a):
    b = [1.0, a * a, 2.0]
    return np.sum(b)


def list_append(a):
    xs = []
    for i in range(3):
        xs.append(a * i + a * a)
    return xs[0] + xs[1] * xs[2]


def list_comprehension(x):
    return np.sum([v * 3.0 + v * v for v in x])


def subscripts(x):
    a = x[0]
    b = x[1]
    return a * b + x[-1] * x[1:].sum()


def extended_slices(x):
    return np.sum(x[::2, np.newaxis] * x[1::2])


def write_then_read(x):
    y = x ** 2.0
    z = y.copy()
    z[0] = y[1] * y[2]
    return np.sum(z * y)


# ---------------------------------------------------------------- numpy

def numpy_reductions(x):
    return np.sum(x) * np.mean(x) + np.max(x) + np.prod(x)


def numpy_elementwise(a):
    return np.exp(np.exp(a) * 0.1) + np.sqrt(a) + np.tanh(a) + np.log(a) + np.arctan2(a, 2.0)


def logistic_regression(inputs, label, W, b):
    h1 = np.dot(inputs, W) + b
    prediction = 0.5 * (np.tanh(h1) + 1)
    probabilities = prediction * label + (1 - prediction) * (1 - label)
    return -np.sum(np.log(probabilities))


def bilinear(x, h, U, W, b):
    y = np.dot(x, W)
    y = y + np.dot(h, U)
    y = y + b
    return np.sum(np.tanh(y))


def cast_sum(x):
    return np.sum(np.array(x)) * np.sum(x ** 2)


def overwrite_with_reduction(x):
    x = np.sum(x)
    x = x * x
    return x


def polar_radius(a, b):
    r = np.sqrt(a ** 2.0 + b ** 2.0)
    theta = np.arctan2(b, a)
    return r * theta


def matrix_program(A, x):
    y = A @ x
    z = A.T @ y
    return np.linalg.norm(z) + np.trace(A @ A)


# ---------------------------------------------------------------- the cases

def _v(*values):
    return np.array(values, dtype=np.float64)


_rng = np.random.default_rng(7)
_inputs = _rng.standard_normal((3, 2))
_W = _rng.standard_normal((2, 3)) * 0.5

# (function, arguments, the positions differentiated, twice differentiable there)
CASES = [
    (identity, (1.3,), (0,), True),
    (negate, (-0.4,), (0,), True),
    (rebind, (2.0,), (0,), True),
    (add_one, (0.3,), (0,), True),
    (fma, (1.1, -0.7, 2.0), (0, 1, 2), True),
    (fma_steps, (1.1, -0.7, 2.0), (0, 1, 2), True),
    (binops, (1.3, 0.6), (0, 1), True),
    (name_like_a_gradient, (0.8,), (0,), True),
    (cube_product, (-1.2,), (0,), True),
    (cube_power, (0.7,), (0,), True),
    (power_both, (1.7, 2.3), (0, 1), True),
    (augmented, (0.9, 0.4), (0, 1), True),
    (two_outputs, (0.6,), (0,), False),
    (reassign_in_if, (1.5,), (0,), True),
    (reassign_in_if, (-1.5,), (0,), True),
    (if_in_if, (0.5,), (0,), True),
    (if_in_if, (11.0,), (0,), True),
    (if_in_if, (-2.0,), (0,), True),
    (elif_chain, (1.2,), (0,), True),
    (elif_chain, (-0.3,), (0,), True),
    (elif_chain, (0.7,), (0,), True),
    (elif_chain, (0.2,), (0,), True),
    (noisy_conditions, (-2.0,), (0,), True),
    (noisy_conditions, (0.5,), (0,), True),
    (noisy_conditions, (3.0,), (0,), True),
    (noisy_conditions, (-0.2,), (0,), True),
    (ifs_in_sequence, (0.8,), (0,), True),
    (ifs_in_sequence, (-0.8,), (0,), True),
    (two_arg_branch, (1.0, 0.5), (0, 1), True),
    (two_arg_branch, (0.5, 1.0), (0, 1), True),
    (inline_ifs, (1.5, 0.5), (0, 1), True),
    (inline_ifs, (-1.5, 0.5), (0, 1), True),
    (inline_ifs, (0.3, -2.5), (0, 1), True),
    (boolean_ops, (0.5, 0.7), (0, 1), True),
    (boolean_ops, (-2.0, 0.7), (0, 1), True),
    (boolean_ops, (-0.5, 0.7), (0, 1), True),
    (boolean_ops, (0.5, -0.7), (0, 1), True),
    (branch_defines_value, (0.4,), (0,), True),
    (branch_defines_value, (-0.4,), (0,), True),
    (loops_in_sequence, (0.6, 3), (0,), True),
    (loops_in_sequence, (0.6, 0), (0,), True),
    (if_then_loop, (0.5, 3), (0,), True),
    (if_then_loop, (-0.5, 2), (0,), True),
    (loop_then_if, (0.9, 2), (0,), True),
    (loop_then_if, (-0.9, 1), (0,), True),
    (power_by_loop, (1.4,), (0,), True),
    (power_by_loop_from_a, (1.4,), (0,), True),
    (repeated_square, (1.1, 3), (0,), True),
    (repeated_square, (1.1, 0), (0,), True),
    (if_in_loop, (1.1,), (0,), True),
    (if_in_loop, (0.3,), (0,), True),
    (loop_in_if, (1.1,), (0,), True),
    (loop_in_if, (2.5,), (0,), True),
    (nested_loops, (0.7,), (0,), True),
    (triangular_loops, (1.3,), (0,), True),
    (range_forms, (0.8,), (0,), True),
    (loop_index_used, (0.4,), (0,), True),
    (while_halving, (3.0,), (0,), True),
    (while_halving, (-0.05,), (0,), True),
    (while_counter, (0.7, 4), (0,), True),
    (while_with_break, (0.5,), (0,), True),
    (while_with_break, (-0.5,), (0,), True),
    (loop_break, (_v(0.5, 1.5, 3.0, 0.2),), (0,), True),
    (loop_continue, (_v(0.5, -1.5, 3.0, 0.2),), (0,), True),
    (break_in_enumerate_zip, (_v(0.5, -1.2, 2.0, 0.3), _v(2.0, -1.4, 5.0, 1.6)), (0, 1), True),
    (break_in_enumerate_zip, (_v(0.5, -1.2), _v(2.0, -1.4, 5.0)), (0, 1), True),
    (early_return, (1.5,), (0,), True),
    (early_return, (-0.5,), (0,), True),
    (early_return, (0.5,), (0,), True),
    (return_in_loop, (0.5,), (0,), True),
    (return_in_loop, (-0.5,), (0,), True),
    (return_in_nested_loops, (0.7,), (0,), True),
    (return_in_nested_loops, (0.1,), (0,), True),
    (loop_over_array, (_v(0.3, -0.2, 0.5),), (0,), True),
    (loop_enumerate_zip, (_v(0.3, -0.2, 0.5), _v(1.0, 2.0, 3.0)), (0, 1), True),
    (fill_by_index, (_v(0.3, -0.2, 0.5, 1.1),), (0,), True),
    (fill_rows, (_v(0.3, -0.2, 0.5),), (0,), True),
    (recurrence, (_inputs, _W), (0, 1), True),
    (carried_pair, (0.5, 0.7), (0, 1), True),
    (calls_saxpy, (1.1, -0.7, 2.0), (0, 1, 2), True),
    (call_in_branch, (1.0, 0.5), (0, 1), True),
    (call_in_branch, (0.5, 1.0), (0, 1), True),
    (call_in_loop, (0.8, 3), (0,), True),
    (nested_call, (0.8, 1.7), (0, 1), True),
    (chain_of_calls, (0.9,), (0,), True),
    (nested_def, (0.8, 3), (0,), True),
    (lambda_call, (0.8,), (0,), True),
    (unpack_tuple, ((1.5, 2.0, -0.5),), (0,), False),
    (dict_reads, ({"a": 1.5, "b": 2.0, "c": -0.5},), (0,), False),
    (dict_built, (1.5, 2.0, -0.5), (0, 1, 2), True),
    (pick_from_pack, (1.5, 2.0, -0.5, 1), (0, 1, 2), True),
    (nested_dict_reads, ({"i": {"j": 1.5, "k": -2.0}},), (0,), False),
    (list_display, (0.7,), (0,), True),
    (list_append, (0.7,), (0,), True),
    (list_comprehension, (_v(0.3, -0.2, 0.5),), (0,), True),
    (subscripts, (_v(0.3, -0.2, 0.5, 2.0),), (0,), True),
    (extended_slices, (_v(0.3, -0.2, 0.5, 2.0),), (0,), True),
    (write_then_read, (_v(0.3, -0.2, 0.5),), (0,), True),
    (numpy_reductions, (_v(0.3, 1.2, 0.5),), (0,), True),
    (numpy_elementwise, (0.6,), (0,), True),
    (logistic_regression, (_inputs, _v(1.0, 0.0, 1.0), _W[:, 0].copy(), 0.1), (2, 3), True),
    (bilinear, (_v(0.3, -0.2), _v(0.5, 0.1, 0.2), _W.T @ _W * 0.3, _W, _v(0.1, 0.0, -0.1)), (0, 1, 3, 4),
     True),
    (cast_sum, (_v(0.3, -0.2, 0.5),), (0,), True),
    (overwrite_with_reduction, (_v(0.3, -0.2, 0.5),), (0,), True),
    (polar_radius, (0.8, 0.6), (0, 1), True),
    (matrix_program, (_inputs[:2] @ _W[:, :2] + np.eye(2), _v(0.4, -0.7)), (0, 1), True),
]

IDS = [f"{f.__name__}-{i}" for i, (f, *_) in enumerate(CASES)]


def _flat(value):
    """The float64 leaves of a number, array or (nested) container, in order, as one vector."""
    if isinstance(value, dict):
        return np.concatenate([_flat(value[k]) for k in sorted(value)])
    if isinstance(value, (tuple, list)):
        return np.concatenate([_flat(v) for v in value]) if value else np.zeros(0)
    return np.asarray(value, dtype=np.float64).ravel()


def _step(value, direction, s):
    """`value` moved by s * direction (same structure)."""
    if isinstance(value, dict):
        return {k: _step(value[k], direction[k], s) for k in value}
    if isinstance(value, (tuple, list)):
        return type(value)(_step(v, d, s) for v, d in zip(value, direction))
    if isinstance(value, np.ndarray):
        return value + s * direction
    return float(value) + s * direction


def _direction(value, rng):
    if isinstance(value, dict):
        return {k: _direction(value[k], rng) for k in value}
    if isinstance(value, (tuple, list)):
        return type(value)(_direction(v, rng) for v in value)
    if isinstance(value, np.ndarray):
        return rng.standard_normal(value.shape)
    return float(rng.standard_normal())


def _directional(f, args, positions, directions, h=1e-6):
    """Central difference of f along `directions` (one per differentiated position)."""
    def moved(s):
        a = list(args)
        for p, d in zip(positions, directions):
            a[p] = _step(a[p], d, s)
        return _flat(f(*a))
    return (moved(h) - moved(-h)) / (2 * h)


def _names(f, positions):
    return tuple(f.__code__.co_varnames[p] for p in positions)


def _close(actual, expected, rtol=1e-5, atol=1e-7):
    np.testing.assert_allclose(_flat(actual), _flat(expected), rtol=rtol, atol=atol)


def _fd_gradient(f, args, p):
    x = args[p]
    if isinstance(x, (dict, tuple, list)):
        # a container argument: one directional difference per basis leaf
        flat = _flat(x)
        out = np.zeros_like(flat)
        for k in range(flat.size):
            e = np.zeros_like(flat)
            e[k] = 1.0
            out[k] = _directional(f, args, (p,), (_unflat(e, x),))[0]
        return out
    return numeric_grad(f, args, p)


def _unflat(vector, like):
    parts, at = [], 0

    def take(v):
        nonlocal at
        if isinstance(v, dict):
            return {k: take(v[k]) for k in sorted(v)}
        if isinstance(v, (tuple, list)):
            return type(v)(take(u) for u in v)
        n = np.size(v)
        chunk = vector[at:at + n]
        at += n
        return chunk.reshape(np.shape(v)) if isinstance(v, np.ndarray) else float(chunk[0])
    parts.append(take(like))
    return parts[0]


@pytest.mark.parametrize("f, args, positions, twice", CASES, ids=IDS)
def test_grad_by_position_and_by_name(f, args, positions, twice):
    if not np.ndim(f(*args)) == 0 or isinstance(f(*args), tuple):
        pytest.skip("not a scalar function")
    by_position = s2sad.grad(f, wrt=positions)(*args)
    by_name = s2sad.grad(f, wrt=_names(f, positions))(*args)
    assert isinstance(by_position, tuple) and len(by_position) == len(positions)
    for p, g, g_named in zip(positions, by_position, by_name):
        _close(g, _fd_gradient(f, args, p))
        _close(g_named, g, rtol=0, atol=0)
    single = s2sad.grad(f, wrt=positions[0])(*args)
    _close(single, by_position[0], rtol=0, atol=0)


@pytest.mark.parametrize("f, args, positions, twice", CASES, ids=IDS)
def test_value_and_grad_gives_the_value_too(f, args, positions, twice):
    if isinstance(f(*args), tuple):
        pytest.skip("not a scalar function")
    value, gradients = s2sad.value_and_grad(f, wrt=positions)(*args)
    _close(value, f(*args), rtol=1e-12, atol=0)
    for p, g in zip(positions, gradients):
        _close(g, _fd_gradient(f, args, p))


@pytest.mark.parametrize("f, args, positions, twice", CASES, ids=IDS)
def test_jvp_matches_a_directional_difference(f, args, positions, twice):
    rng = np.random.default_rng(len(IDS))
    directions = [_direction(args[p], rng) for p in positions]
    value, value_dot = s2sad.jvp(f, wrt=positions)(*args, *directions)
    _close(value, f(*args), rtol=1e-12, atol=0)
    _close(value_dot, _directional(f, args, positions, directions))


SECOND_ORDER = [c for c in CASES if c[3]]


@pytest.mark.parametrize("f, args, positions, twice", SECOND_ORDER, ids=[f"{c[0].__name__}-{i}" for i, c in
                                                                     enumerate(SECOND_ORDER)])
def test_hvp_and_hessian_match_differences_of_the_gradient(f, args, positions, twice):
    p = positions[0]
    gradient = s2sad.grad(f, wrt=p)

    def moved(s, d):
        a = list(args)
        a[p] = _step(a[p], d, s)
        return _flat(gradient(*a))

    rng = np.random.default_rng(3)
    v = _direction(args[p], rng)
    expected = (moved(1e-5, v) - moved(-1e-5, v)) / 2e-5
    _close(s2sad.hvp(f, wrt=p)(*args, v), expected, rtol=1e-4, atol=1e-6)
    hessian = np.asarray(s2sad.hessian(f, wrt=p)(*args)).reshape(expected.size, expected.size)
    _close(hessian @ _flat(v), expected, rtol=1e-4, atol=1e-6)
