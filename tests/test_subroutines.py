"""User helpers called more than once, recursive or large become generated functions of their own
(`s2sad/subroutines.py`, `s2sad/routine_pairs.py`): each pair is printed once, and the derivatives
agree with central differences."""

import numpy as np
import pytest

import s2sad
from gradcheck import numeric_grad


# ------------------------------------------------------------------ the functions


def power(x, n):
    return 1.0 if n == 0 else x * power(x, n - 1)


def array_power(x, n):
    """An array recursion: elementwise x ** n by halving."""
    if n == 0:
        return np.ones_like(x)
    half = array_power(x, n // 2)
    if n % 2 == 0:
        return half * half
    return x * half * half


def fib_like(x, n):
    """Two recursive calls, as in fib: 2^n calls at run time, one pair in the code."""
    if n < 2:
        return np.sin(x) if n == 1 else x
    return fib_like(x, n - 1) + 0.5 * fib_like(x, n - 2)


def is_even_poly(x, n):
    return 1.0 if n == 0 else x * is_odd_poly(x, n - 1) + 1.0


def is_odd_poly(x, n):
    return x if n == 0 else np.cos(x) * is_even_poly(x, n - 1)


def recursion_with_a_loop(x, n):
    """Each call's forward half fills a tape of its own, which its reverse half empties."""
    acc = x
    for _ in range(2):
        acc = np.sin(acc) * acc + 0.1
    if n == 0:
        return acc
    return recursion_with_a_loop(acc, n - 1) * 0.5 + acc * acc


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def two_sigmoids(x, w):
    return np.sum(sigmoid(w * x) * sigmoid(x - w))


def running(x, steps):
    """A helper with a loop: its forward half returns the tape its reverse half pops."""
    acc = x
    for _ in range(steps):
        acc = np.sin(acc) * acc + 0.1
    return acc


def loops_twice(x):
    return np.sum(running(x, 3) * running(2.0 * x, 2))


def in_a_loop(x):
    s = 0.0
    for i in range(3):
        s = s + np.sum(sigmoid(x * i) * x)
    return s + np.sum(sigmoid(x))


def n0(x):
    return np.sin(x) * 1.1


def n1(x):
    return n0(x) + n0(0.5 * x)


def n2(x):
    return n1(x) + n1(0.5 * x)


def n3(x):
    return n2(x) + n2(0.5 * x)


def n4(x):
    return n3(x) + n3(0.5 * x)


def n5(x):
    return n4(x) + n4(0.5 * x)


def n6(x):
    return n5(x) + n5(0.5 * x)


def n7(x):
    return n6(x) + n6(0.5 * x)


def n8(x):
    return n7(x) + n7(0.5 * x)


def n9(x):
    return n8(x) + n8(0.5 * x)


def n10(x):
    return n9(x) + n9(0.5 * x)


def n11(x):
    return n10(x) + n10(0.5 * x)


def deep(x):
    return np.sum(n11(x))


def scaled(x, factor=2.0, *, shift=0.0):
    return factor * np.tanh(x) + shift


def with_defaults(x):
    return np.sum(scaled(x) + scaled(x, 3.0, shift=1.0) + scaled(x, factor=0.5))


def pair(x):
    return x * 2.0, np.sin(x)


def tuple_helper_twice(x):
    a, b = pair(x)
    c, d = pair(a)
    return np.sum(a * b + c * d)


def tuple_recursion(x, n):
    return (x, x) if n == 0 else tuple_recursion(np.sin(x), n - 1)


def uses_tuple_recursion(x):
    return tuple_recursion(x, 2)[0]


def square(z):
    return z * z


def written_after_the_call(x):
    """The reverse half of `square` reads its argument, which the caller overwrites after the call:
    the overwritten entry must be put back before `square_bwd` runs."""
    buf = np.zeros(3) + x
    y = square(buf) + square(2.0 * buf)
    buf[0] = 5.0
    return np.sum(y * buf)


def apply(fn, z):
    return fn(z) * 2.0


def passes_a_function(x):
    return np.sum(apply(np.sin, x) + apply(np.cos, x))


def layer(p, z):
    return np.tanh(p["W"] * z + p["b"])


def passes_a_dict(x):
    p = {"W": x, "b": 0.5}
    return np.sum(layer(p, x) + layer(p, 2.0 * x))


def once(z):
    return np.sin(z) * 3.0


def calls_once(x):
    return np.sum(once(x))


def long_helper(z):
    a = z + 1.0
    a = a * 1.01
    a = np.sin(a)
    a = a + 0.1
    a = a * 0.99
    a = np.cos(a)
    a = a - 0.2
    a = a * a
    a = a + z
    a = a * 1.02
    a = np.sin(a)
    a = a + 0.3
    a = a * 0.98
    a = np.cos(a)
    a = a - 0.4
    a = a * a
    a = a + z
    a = a * 1.03
    a = np.sin(a)
    a = a + 0.5
    a = a * 0.97
    a = np.cos(a)
    a = a - 0.6
    a = a * a
    a = a + z
    a = a * 1.04
    a = np.sin(a)
    a = a + 0.7
    a = a * 0.96
    a = np.cos(a)
    a = a - 0.8
    a = a * a
    a = a + z
    a = a * 1.05
    a = np.sin(a)
    a = a + 0.9
    a = a * 0.95
    a = np.cos(a)
    a = a - 1.0
    a = a * a
    return a


def calls_long_once(x):
    return np.sum(long_helper(x))


X = np.array([0.3, -0.7, 1.1])

# name, function, arguments, wrt
CASES = [
    ("power", power, (1.3, 5), 0),
    ("array_power", lambda x: np.sum(array_power(x, 5)), (X,), 0),
    ("fib_like", lambda x: np.sum(fib_like(x, 6)), (X,), 0),
    ("mutual", lambda x: is_even_poly(x, 5), (0.7,), 0),
    ("recursion_with_a_loop", lambda x: np.sum(recursion_with_a_loop(x, 3)), (X,), 0),
    ("two_sigmoids", two_sigmoids, (X, 0.4), (0, 1)),
    ("loops_twice", loops_twice, (X,), 0),
    ("in_a_loop", in_a_loop, (X,), 0),
    ("defaults", with_defaults, (X,), 0),
    ("tuple_helper_twice", tuple_helper_twice, (X,), 0),
    ("written_after_the_call", written_after_the_call, (X,), 0),
    ("passes_a_function", passes_a_function, (X,), 0),
    ("passes_a_dict", passes_a_dict, (X,), 0),
    ("calls_long_once", calls_long_once, (X,), 0),
]


def _fd(f, args, wrt):
    many = isinstance(wrt, tuple)
    got = tuple(numeric_grad(f, args, w) for w in (wrt if many else (wrt,)))
    return got if many else got[0]


def _close(a, b):
    if isinstance(a, tuple):
        assert len(a) == len(b)
        for u, v in zip(a, b):
            _close(u, v)
        return
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name,f,args,wrt", CASES, ids=[c[0] for c in CASES])
def test_gradient_matches_finite_differences(name, f, args, wrt):
    _close(s2sad.grad(f, wrt=wrt)(*args), _fd(f, args, wrt))


@pytest.mark.parametrize("name,f,args,wrt", CASES, ids=[c[0] for c in CASES])
def test_value_and_grad(name, f, args, wrt):
    value, gradient = s2sad.value_and_grad(f, wrt=wrt)(*args)
    np.testing.assert_allclose(value, f(*args))
    _close(gradient, _fd(f, args, wrt))


def _direction(x):
    return np.linspace(0.5, 1.0, np.size(x)).reshape(np.shape(x)) if np.ndim(x) else 0.7


def _shifted(args, wrt, v, h):
    out = list(args)
    out[wrt] = args[wrt] + h * v
    return out


@pytest.mark.parametrize("name,f,args,wrt", CASES, ids=[c[0] for c in CASES])
def test_jvp_matches_finite_differences(name, f, args, wrt):
    w = wrt if isinstance(wrt, int) else wrt[0]
    v, h = _direction(args[w]), 1e-6
    value, tangent = s2sad.jvp(f, wrt=w)(*args, v)
    np.testing.assert_allclose(value, f(*args))
    expected = (f(*_shifted(args, w, v, h)) - f(*_shifted(args, w, v, -h))) / (2 * h)
    np.testing.assert_allclose(tangent, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name,f,args,wrt", CASES, ids=[c[0] for c in CASES])
def test_hvp_matches_finite_differences_of_the_gradient(name, f, args, wrt):
    """Forward over reverse: the tangents of power_fwd and power_bwd (their tape included)."""
    w = wrt if isinstance(wrt, int) else wrt[0]
    v, h = _direction(args[w]), 1e-5
    hv = s2sad.hvp(f, wrt=w)(*args, v)
    g = s2sad.grad(f, wrt=w)
    expected = (g(*_shifted(args, w, v, h)) - g(*_shifted(args, w, v, -h))) / (2 * h)
    np.testing.assert_allclose(hv, expected, rtol=1e-5, atol=1e-7)


def test_higher_derivatives_of_a_recursion():
    x, n = 1.3, 5
    assert s2sad.derivative(power, order=1)(x, n) == pytest.approx(5 * x ** 4)
    assert s2sad.derivative(power, order=3)(x, n) == pytest.approx(60 * x ** 2)


def test_hessian_of_a_helper_called_twice():
    x = np.array([0.3, -0.7, 1.1])
    H = s2sad.hessian(lambda x: two_sigmoids(x, 0.4))(x)
    g = s2sad.grad(lambda x: two_sigmoids(x, 0.4))
    fd = np.array([(g(x + 1e-5 * e) - g(x - 1e-5 * e)) / 2e-5 for e in np.eye(3)])
    np.testing.assert_allclose(H, fd, rtol=1e-5, atol=1e-8)


def _defs(source):
    return [line.split("(")[0][4:] for line in source.splitlines() if line.startswith("def ")]


@pytest.mark.parametrize("f,pairs", [
    (power, ["power_fwd", "power_bwd"]),
    (two_sigmoids, ["sigmoid_fwd", "sigmoid_bwd"]),
    (loops_twice, ["running_fwd", "running_bwd"]),
    (lambda x: is_even_poly(x, 3), ["is_even_poly_fwd", "is_odd_poly_fwd", "is_even_poly_bwd", "is_odd_poly_bwd"]),
], ids=["power", "two_sigmoids", "loops_twice", "mutual"])
def test_each_pair_is_printed_once_before_the_derivative(f, pairs):
    source = s2sad.grad(f).source
    defs = _defs(source)
    assert sorted(defs[:-1]) == sorted(pairs)  # once each, and the derivative last
    assert defs[-1].startswith("grad_")


def test_a_call_reads_like_the_issue_asks():
    source = s2sad.grad(two_sigmoids).source
    assert ", sigmoid_saved = sigmoid_fwd(w * x)" in source and "= sigmoid_bwd(sigmoid_saved" in source
    assert ", t3_dot = sigmoid_jvp(" in s2sad.jvp(two_sigmoids).source


def test_the_tape_of_a_helpers_loop_travels_from_its_forward_half_to_its_reverse_half():
    source = s2sad.grad(loops_twice).source
    assert "tape.append(" in source and "tape = saved[" in source and "tape.pop()" in source


def test_a_helper_called_once_stays_inlined():
    assert _defs(s2sad.grad(calls_once).source) == ["grad_calls_once"]
    assert "# line" in s2sad.grad(calls_once).source and "in once:" in s2sad.grad(calls_once).source


def test_a_large_helper_called_once_is_a_subroutine():
    assert _defs(s2sad.grad(calls_long_once).source)[:2] == ["long_helper_fwd", "long_helper_bwd"]


@pytest.mark.parametrize("f", [tuple_helper_twice, passes_a_function, passes_a_dict],
                         ids=["tuple result", "function argument", "dict argument"])
def test_call_shapes_a_subroutine_does_not_take_are_inlined(f):
    assert len(_defs(s2sad.grad(f).source)) == 1


def test_the_pair_keeps_the_helpers_source_lines():
    source = s2sad.grad(two_sigmoids).source
    fwd = source[source.index("def sigmoid_fwd"):source.index("def sigmoid_bwd")]
    assert "# line " in fwd and " in sigmoid: return 1.0 / (1.0 + np.exp(-z))" in fwd


def test_helpers_nested_eleven_deep_are_cheap():
    """Each level calls the one below twice: inlined, 2^11 copies; as subroutines, one pair a level."""
    g = s2sad.grad(deep)
    assert len(g.source.splitlines()) < 600
    assert _defs(g.source).count("n0_fwd") == 1
    np.testing.assert_allclose(g(X), numeric_grad(deep, (X,), 0), rtol=1e-6, atol=1e-8)


def test_a_recursion_over_its_integer_argument_only_is_not_differentiated_through_it():
    # n is not active: only x gets an adjoint, and the pair takes n as a plain value
    source = s2sad.grad(power).source
    assert "def power_bwd(saved, out_bar)" in source


def test_explain_still_shows_a_multi_called_helper_inlined():
    text = str(s2sad.explain(two_sigmoids, X, 0.4))
    assert text.count("return 1.0 / (1.0 + np.exp(-z))") == 2  # each call's lines, traced
    assert "sigmoid_fwd" not in text


def ident(z):
    return z


def returns_its_argument_then_updated(x):
    buf = np.zeros(3) + x
    y = ident(buf)
    w = ident(2.0 * buf)
    buf[0] = 5.0  # y is buf: NumPy shows the write through y
    return np.sum(y * w * buf)


def returns_its_argument(x):
    return np.sum(ident(x) * ident(np.sin(x)))


def test_a_subroutine_returning_its_argument_is_a_possible_view_of_it():
    # the caller's analyses see that `y` may be `buf`: the update is checked when it runs, never a
    # silent wrong gradient (treating the result as new gave one)
    with pytest.raises(s2sad.InPlaceUpdateError, match="buf"):
        s2sad.grad(returns_its_argument_then_updated)(X)
    _close(s2sad.grad(returns_its_argument)(X), numeric_grad(returns_its_argument, (X,), 0))


def fill_first(z):
    z[0] = 1.0
    return z * 2.0


def changes_its_argument(x):
    a = x.copy()
    b = x * 3.0
    return np.sum(fill_first(a) * fill_first(b))


def test_a_helper_changing_its_argument_stays_inlined():
    assert len(_defs(s2sad.grad(changes_its_argument).source)) == 1
    _close(s2sad.grad(changes_its_argument)(X), numeric_grad(changes_its_argument, (X,), 0))


HELPERS = '''\
import numpy as np


def helper(z):
    return np.sin(z) * 2.0


def power(x, n):
    return 1.0 if n == 0 else x * power(x, n - 1)


def f(x):
    return helper(x) * helper(2.0 * x) + power(x, 3)
'''


def test_redefining_a_subroutine_rebuilds_the_derivative(tmp_path):
    import sys

    from gradcheck import module_from_source

    mod = module_from_source(tmp_path, "subroutine_staleness_model", HELPERS)
    try:
        g = s2sad.grad(mod.f)
        x = 0.4
        _close(g(x), numeric_grad(mod.f, (x,), 0))
        mod.helper = lambda z: z * z * 2.0  # the notebook workflow: the helper's cell run again
        _close(g(x), numeric_grad(mod.f, (x,), 0))
        assert "def lambda_fwd(" in g.source and "def helper_fwd(" not in g.source
    finally:
        sys.modules.pop(mod.__name__, None)


def test_generated_code_calling_subroutines_is_transformed_again():
    """jvp and grad of a generated gradient whose code calls power_fwd / power_bwd (issue 10 §3)."""
    g = s2sad.grad(power)
    x, n = 1.3, 5
    assert s2sad.jvp(g)(x, n, 1.0) == pytest.approx((5 * x ** 4, 20 * x ** 3))
    assert s2sad.grad(g)(x, n) == pytest.approx(20 * x ** 3)
    v = _direction(X)
    gl = s2sad.grad(loops_twice)
    np.testing.assert_allclose(s2sad.jvp(gl)(X, v)[1], s2sad.hvp(loops_twice)(X, v), rtol=1e-10, atol=1e-12)


def apply_twice(fn, z):
    return fn(z) * fn(2.0 * z)


def passes_a_nested_def(x):
    def scaled_sin(v):
        return np.sin(v) * x[0]

    return np.sum(apply_twice(scaled_sin, x) + apply_twice(scaled_sin, x * x))


def test_a_helper_called_twice_with_a_nested_def_is_inlined():
    assert len(_defs(s2sad.grad(passes_a_nested_def).source)) == 1
    _close(s2sad.grad(passes_a_nested_def)(X), numeric_grad(passes_a_nested_def, (X,), 0))


def vector_valued(x):
    return sigmoid(x) * power(x, 3) + sigmoid(2.0 * x)


def test_vjp_and_jacobian_through_subroutines():
    J = np.array([numeric_grad(lambda x: vector_valued(x)[i], (X,), 0) for i in range(3)])
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(s2sad.jacobian(vector_valued, mode=mode)(X), J, rtol=1e-6, atol=1e-8)
    u = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(s2sad.vjp(vector_valued)(X, u), u @ J, rtol=1e-6, atol=1e-8)


def model(params, x):
    h = sigmoid(params["W"] * x + params["b"])
    return np.sum(sigmoid(h * params["W"]))


def test_container_parameters_with_subroutines():
    params = {"W": np.array([0.4, -0.3, 0.8]), "b": 0.1}
    grads = s2sad.grad(model)(params, X)
    assert "def sigmoid_fwd" in s2sad.grad(model).specialize(params, X).source
    for key in params:
        def along(v, key=key):
            return model({**params, key: v}, X)
        np.testing.assert_allclose(grads[key], numeric_grad(along, (params[key],), 0), rtol=1e-6, atol=1e-8)


def test_the_ssa_stage_shows_each_subroutine_once():
    text = s2sad.source(two_sigmoids, stage="ssa")
    assert text.count("def sigmoid(z):") == 1 and text.index("def sigmoid(") < text.index("def two_sigmoids(")
    assert "sigmoid(" in text.split("def two_sigmoids(")[1]


def three_tanh(z):
    return np.tanh(np.tanh(np.tanh(z * 1.1) * 1.1) * 1.1)


def nested_three(x):
    return three_tanh(three_tanh(x))


def calls_nested_twice(x):
    return np.sum(nested_three(x) + nested_three(x * 2.0))


def tanh_steps(z):
    y = z
    for _ in range(2):
        y = np.tanh(y * 1.1)
    return y * z


def calls_tanh_steps_twice(x):
    return np.sum(tanh_steps(x) + tanh_steps(x * 2.0))


def tanh_recursion(z, n):
    if n <= 0:
        return z
    y = z
    for _ in range(n):
        y = np.tanh(y * 1.1)
    return tanh_recursion(y, n - 1) * z


def calls_tanh_recursion(x):
    return np.sum(tanh_recursion(x, 2))


@pytest.mark.parametrize("f", [calls_nested_twice, calls_tanh_steps_twice, calls_tanh_recursion],
                         ids=["nested subroutines", "a loop's tape", "recursion with a loop"])
def test_reverse_mode_over_a_gradient_calling_subroutines(f):
    """The reverse halves of power_fwd / power_bwd: their saved tuples hold the callee's saved tuple and
    the tape, whose adjoints add item by item (``saved_bar[0] += g`` concatenated two lists: wrong
    numbers for nested subroutines), and the tape a fwd half returns is the one its bwd half pops."""
    g = s2sad.grad(f)
    np.testing.assert_allclose(s2sad.jacobian(g, mode="reverse")(X), s2sad.hessian(f)(X), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(s2sad.jacobian(g, mode="reverse")(X),
                               np.array([numeric_grad(lambda x, i=i: g(x)[i], (X,), 0) for i in range(3)]),
                               rtol=1e-5, atol=1e-7)
