"""Functions made inside the code (issue 10 §2): lambdas wherever they are written, nested ``def``s and
lambdas closing over local variables, and ``functools.partial``.

Every derivative is checked against central finite differences; every refusal is pinned to its
error class and to the line marked ``# ERR`` in this file.
"""

from __future__ import annotations

import functools
import inspect
import sys

import numpy as np
import pytest
from gradcheck import assert_grad_matches_fd, numeric_grad

import s2sad
from s2sad.errors import (
    NameResolutionError,
    RecursionNotSupportedError,
    S2SADError,
    SourceUnavailableError,
    UnsupportedSyntaxError,
)

# ------------------------------------------------------------ lambdas passed to s2sad, wherever written

# A lambda inside a multi-line expression: its lines do not parse on their own.
LAMBDAS_IN_A_DICT = {
    "hess": lambda: s2sad.hessian(lambda W: np.sum(np.tanh(W) ** 2))(np.ones((2, 2))),
    "square": lambda x: x * x,
}
TWO_ON_ONE_LINE = [lambda x: x * x * x, lambda x: 3.0 * x]
CUBE = lambda x: x ** 3; SHIFTED = lambda x: np.sin(x) + 1.0  # noqa: E702,E731
CONTINUED = (lambda x:
             x * np.sin(x))
GRAD_OF_CONTINUED = lambda: s2sad.grad(  # noqa: E731
    lambda x: x ** 2 * np.cos(x))


def _with_default(f=lambda x: np.exp(-x) * x):
    return f


def _attach(f):
    def decorator(g):
        g.attached = f
        return g
    return decorator


@_attach(lambda x: x / (1.0 + x * x))
def _decorated_target(x):
    return x


@pytest.mark.parametrize("f", [
    LAMBDAS_IN_A_DICT["square"], TWO_ON_ONE_LINE[0], TWO_ON_ONE_LINE[1], CUBE, SHIFTED, CONTINUED,
    _with_default(), _decorated_target.attached,
], ids=["in_dict", "first_of_two", "second_of_two", "two_statements_first", "two_statements_second",
        "continuation_line", "default_argument", "decorator_argument"])
def test_a_lambda_anywhere_in_a_file_is_differentiated(f):
    assert_grad_matches_fd(f, [0.7])


def test_a_lambda_passed_inside_a_multi_line_dict_display():
    expected = np.zeros((2, 2, 2, 2))
    d2 = 2 * (1 - 3 * np.tanh(1.0) ** 2) * (1 - np.tanh(1.0) ** 2)  # d²/dw² tanh(w)²
    for i in range(2):
        for j in range(2):
            expected[i, j, i, j] = d2
    np.testing.assert_allclose(LAMBDAS_IN_A_DICT["hess"](), expected, rtol=1e-10)


def test_a_lambda_on_the_line_after_the_call():
    x = 0.4
    np.testing.assert_allclose(GRAD_OF_CONTINUED()(x), 2 * x * np.cos(x) - x * x * np.sin(x), rtol=1e-12)


def test_jacobian_of_a_lambda_written_in_the_call():
    x = np.array([0.1, 0.2, 0.3])
    np.testing.assert_allclose(s2sad.jacobian(lambda x: np.sin(x))(x), np.diag(np.cos(x)), rtol=1e-12)


def test_a_lambda_that_cannot_be_told_apart_is_refused_with_a_hint():
    twins = eval("[lambda x: x * x, lambda x: x * x]")  # no file to read at all
    with pytest.raises(SourceUnavailableError) as info:
        s2sad.grad(twins[0])(1.0)
    assert "def" in info.value.hint


# ------------------------------------------------------------ nested defs and lambdas closing over locals


def nested_def(x):
    a = 2.0

    def h(y):
        return a * y * x

    return h(x) + h(2 * x)


def bound_lambda(x):
    sq = lambda y: y * y * x  # noqa: E731
    return sq(x)


def rebound_before_the_call(x):
    a = 1.0
    h = lambda y: a * y  # noqa: E731
    a = x * x  # the call below reads this a (late binding)
    return h(x)


def called_in_a_loop(x):
    s = 0.0
    c = 1.0
    g = lambda y: c * np.sin(y)  # noqa: E731
    for i in range(3):
        c = c + x * i  # each call reads the c of its iteration
        s = s + g(x)
    return s


def called_in_a_while_loop(x):
    s = x
    k = 0

    def step(v):
        return np.tanh(v) * x + k

    while k < 3:
        s = step(s)
        k = k + 1
    return s


def defined_in_a_loop(x):
    s = 0.0
    for i in range(3):
        def h(y, w=float(i)):  # the default is evaluated at each definition
            return w * y * y
        s = s + h(x)
    return s


def default_at_definition(x):
    a = x

    def h(y, b=a * a):  # b = x² here, not the 5.0 a holds at the call
        return b * y

    a = 5.0
    return h(x)


def with_exits_and_branches(x):
    def clip(y, top=1.0):
        if y > top:
            return top * np.sqrt(y)
        for k in range(2):
            y = y * x
        return y

    return clip(x) + clip(3.0 * x, top=2.0)


def nested_calls_nested(x):
    def inner(y):
        return np.sin(y) * x

    def outer(y):
        return inner(y) * inner(2 * y)

    return outer(x)


def keyword_and_defaults(x):
    scale = 3.0
    h = lambda y, k=2.0, *, shift=0.5: scale * y ** k + shift  # noqa: E731
    return h(x) + h(x, k=3.0, shift=x) + h(y=x)


def defined_in_a_branch(x):
    if x > 0:
        h = lambda y: y * y * x  # noqa: E731
        z = h(x)
    else:
        z = x
    return z


def _helper_with_a_closure(v, w):
    def mix(t):
        return w * t + np.cos(t)

    return mix(v) * mix(w)


def nested_in_a_helper(x):
    return _helper_with_a_closure(x, 2.0 * x)


def on_arrays(W, x):
    act = lambda z: np.tanh(z)  # noqa: E731

    def layer(v):
        return act(W @ v)

    return np.sum(layer(layer(x)) ** 2)


def _apply_twice(f, x):  # this x is not the x the closure reads
    return f(x) + f(2.0 * x)


def _apply_with(y, fn):
    return fn(y) + fn(y, k=3.0)


def closure_passed_to_a_helper(x):
    scale = x * x
    h = lambda v: np.sin(v) * scale + x  # noqa: E731
    return _apply_twice(h, 3.0 * x) * _apply_twice(h, x)  # helper called twice, with other x's


def closure_passed_by_keyword(x):
    def h(v, k=2.0):
        return v ** k * x

    return _apply_with(np.cos(x), fn=h)


def partial_passed_to_a_helper(x):
    p = functools.partial(two, k=x)
    return _apply_twice(p, 0.5 * x)


def partial_written_in_a_helpers_call(x):
    def h(a, v):
        return a * np.sin(v)

    return _apply_twice(functools.partial(h, x), 0.5 * x) + _apply_twice(functools.partial(np.power, x), x)


CLOSURE_CASES = [nested_def, bound_lambda, rebound_before_the_call, called_in_a_loop, called_in_a_while_loop,
                 defined_in_a_loop, default_at_definition, with_exits_and_branches, nested_calls_nested,
                 keyword_and_defaults, defined_in_a_branch, nested_in_a_helper, closure_passed_to_a_helper,
                 closure_passed_by_keyword, partial_passed_to_a_helper, partial_written_in_a_helpers_call]


@pytest.mark.parametrize("f", CLOSURE_CASES, ids=lambda f: f.__name__)
def test_nested_functions_against_finite_differences(f):
    assert_grad_matches_fd(f, [0.7])


@pytest.mark.parametrize("f", [nested_def, rebound_before_the_call, called_in_a_loop, default_at_definition],
                         ids=lambda f: f.__name__)
def test_jvp_and_hvp_of_nested_functions(f):
    x, h = 0.7, 1e-5
    value, tangent = s2sad.jvp(f)(x, 1.0)
    assert value == pytest.approx(f(x), rel=1e-12)
    assert tangent == pytest.approx(numeric_grad(f, [x]), rel=1e-6)
    second = (numeric_grad(f, [x + h]) - numeric_grad(f, [x - h])) / (2 * h)
    assert s2sad.hvp(f)(x, 1.0) == pytest.approx(second, rel=1e-4)


def test_nested_functions_on_arrays():
    rng = np.random.default_rng(0)
    W, x = rng.normal(size=(3, 3)) * 0.5, rng.normal(size=3)
    assert_grad_matches_fd(on_arrays, [W, x], wrt=(0, 1))


def test_late_binding_is_what_python_computes():
    # the closure reads a at the call: x², so the value is x³ and the derivative 3x²
    assert rebound_before_the_call(0.7) == pytest.approx(0.7 ** 3)
    assert s2sad.grad(rebound_before_the_call)(0.7) == pytest.approx(3 * 0.7 ** 2)
    # the default is read at the definition: h(x) = x² · x
    assert s2sad.grad(default_at_definition)(0.7) == pytest.approx(3 * 0.7 ** 2)


def test_generated_code_of_a_nested_function_reads_as_the_source():
    text = s2sad.grad(nested_def).source
    assert "in h: return a * y * x" in text  # the inlined lines keep their own source
    assert "in sq: sq = lambda y: y * y * x" in s2sad.grad(bound_lambda).source


# ------------------------------------------------------------ refusals, each at the line marked ERR


def uses_nonlocal(x):
    a = x

    def h(y):
        nonlocal a  # ERR
        a = a + y
        return a

    return h(x)


def returns_the_closure(x):
    h = lambda y: y * x  # noqa: E731
    return h  # ERR


def stores_the_closure(x):
    h = lambda y: y * x  # noqa: E731
    return (h, x)[1]  # ERR


def passes_the_closure_on(x):
    h = lambda y: y * x  # noqa: E731
    return np.sum(np.vectorize(h)(x))  # ERR


def recursive_closure(x):
    """A recursive nested def is a generated function pair only when it returns an array or number."""
    def power(y, n):
        if n == 0:
            return 1.0, y
        return power(y, n - 1)  # ERR

    return power(x, 3)[0]


def generator_closure(x):
    def gen(y):
        yield y  # ERR

    return sum(gen(x))


def defined_on_one_branch(x):
    if x > 0:
        h = lambda y: y * y  # noqa: E731
    else:
        h = lambda y: y  # noqa: E731
    return h(x)  # ERR


def used_after_its_loop(x):
    for i in range(2):
        h = lambda y: y * i  # noqa: E731
    return h(x)  # ERR


def called_before_its_definition_in_the_loop(x):
    s = x
    for i in range(2):
        if i > 0:
            s = h(s)  # ERR
        h = lambda y: y * i  # noqa: E731
    return s


def appends_to_an_enclosing_list(x):
    out = []

    def record(y):
        out.append(y)
        return y

    record(x)  # ERR
    return out[0] * x


def writes_an_enclosing_array(x):
    a = np.zeros(2)

    def put(y):
        a[0] = y
        return y

    put(x)  # ERR
    return a[0] * x


def decorated_closure(x):
    @functools.lru_cache  # ERR-ALT
    def h(y):  # ERR
        return y

    return h(x)


def lambda_not_bound_to_a_name(x):
    return sum(filter(lambda v: v > 0, [x, 2 * x]))  # ERR


def reads_a_later_variable(x):
    h = lambda y: y * late  # noqa: E731  # ERR
    z = h(x)
    late = 2.0
    return z * late


def _give_back(f):
    return f  # ERR


def helper_returns_the_closure(x):
    h = lambda y: y * x  # noqa: E731
    return _give_back(h)(x)


def _vectorized(f, x):
    return np.sum(np.vectorize(f)(x))  # ERR


def helper_passes_the_closure_to_numpy(x):
    h = lambda y: y * x  # noqa: E731
    return _vectorized(h, x)


def _err_line(f, marker="# ERR"):
    lines, start = inspect.getsourcelines(f)
    return [start + k for k, text in enumerate(lines) if text.rstrip().endswith(marker)]


REFUSALS = [  # (function, error, the function holding the ERR line if not the first)
    (uses_nonlocal, UnsupportedSyntaxError),
    (returns_the_closure, UnsupportedSyntaxError),
    (stores_the_closure, UnsupportedSyntaxError),
    (passes_the_closure_on, UnsupportedSyntaxError),
    (recursive_closure, RecursionNotSupportedError),
    (generator_closure, UnsupportedSyntaxError),
    (defined_on_one_branch, UnsupportedSyntaxError),
    (used_after_its_loop, UnsupportedSyntaxError),
    (called_before_its_definition_in_the_loop, UnsupportedSyntaxError),
    (appends_to_an_enclosing_list, UnsupportedSyntaxError),
    (writes_an_enclosing_array, UnsupportedSyntaxError),
    (decorated_closure, UnsupportedSyntaxError),
    (lambda_not_bound_to_a_name, UnsupportedSyntaxError),
    (reads_a_later_variable, NameResolutionError),
    (helper_returns_the_closure, UnsupportedSyntaxError, _give_back),
    (helper_passes_the_closure_to_numpy, UnsupportedSyntaxError, _vectorized),
]


@pytest.mark.parametrize("f, error, where", [(*case, None)[:3] for case in REFUSALS],
                         ids=[case[0].__name__ for case in REFUSALS])
def test_refusals_name_their_line_and_say_what_to_do(f, error, where):
    with pytest.raises(error) as info:
        s2sad.grad(f)(0.7)
    where = where or f
    assert info.value.location.line in _err_line(where) + _err_line(where, "# ERR-ALT"), str(info.value)
    assert info.value.hint
    assert "^" in str(info.value)


# ------------------------------------------------------------ functools.partial


def two(x, k):
    return k * x ** 2 + np.sin(x * k)


PARTIAL_K = functools.partial(two, k=3.0)
PARTIAL_X = functools.partial(two, 2.0)  # binds x: the partial's parameter is k
MODULE_PARTIAL = functools.partial(two, k=3.0)
PARTIAL_OF_LAMBDA = functools.partial(lambda y, c: c * y ** 3, c=2.0)
COLUMN_SUMS = functools.partial(np.sum, axis=0)


def local_partial(x):
    p = functools.partial(two, k=3.0)
    return p(x)


def local_partial_of_an_active_value(x):
    p = functools.partial(two, k=x)  # the bound argument depends on x
    return p(x) + p(2.0, k=x * x)  # a keyword at the call replaces the bound one


def partial_called_where_written(x):
    return functools.partial(two, 1.5)(x)


def partial_of_a_partial(x):
    p = functools.partial(two, k=x)
    q = functools.partial(p, 0.5)
    return q()


def partial_of_a_local_lambda(x):
    scaled = lambda y, c: c * np.exp(y)  # noqa: E731
    p = functools.partial(scaled, c=x)
    return p(x)


def module_partial(x):
    return MODULE_PARTIAL(x) + PARTIAL_OF_LAMBDA(x)


def partial_of_a_numpy_function(W):
    sums = functools.partial(np.sum, axis=0)
    return np.sum(sums(W * W) ** 2) + np.sum(COLUMN_SUMS(np.sin(W)))


@pytest.mark.parametrize("f", [local_partial, local_partial_of_an_active_value, partial_called_where_written,
                               partial_of_a_partial, partial_of_a_local_lambda, module_partial,
                               PARTIAL_K, PARTIAL_X, PARTIAL_OF_LAMBDA],
                         ids=["local", "active_bound_value", "called_where_written", "partial_of_partial",
                              "of_a_local_lambda", "module_level", "grad_of_partial_keyword",
                              "grad_of_partial_positional", "grad_of_partial_of_a_lambda"])
def test_partials_against_finite_differences(f):
    assert_grad_matches_fd(f, [0.7])


def test_partial_of_a_numpy_function_with_a_rule():
    W = np.random.default_rng(1).normal(size=(3, 2))
    assert_grad_matches_fd(partial_of_a_numpy_function, [W])
    np.testing.assert_allclose(s2sad.jacobian(COLUMN_SUMS)(np.ones((2, 2))).reshape(2, 4),
                               [[1, 0, 1, 0], [0, 1, 0, 1]])


def test_every_operator_takes_a_partial_with_its_own_parameters():
    x, h = 0.7, 1e-6
    assert str(inspect.signature(PARTIAL_K)) == "(x, *, k=3.0)"
    dx = numeric_grad(PARTIAL_K, [x])
    dk = (PARTIAL_K(x, k=3.0 + h) - PARTIAL_K(x, k=3.0 - h)) / (2 * h)
    d2 = (numeric_grad(PARTIAL_K, [x + 1e-5]) - numeric_grad(PARTIAL_K, [x - 1e-5])) / 2e-5
    assert s2sad.grad(PARTIAL_K)(x) == pytest.approx(dx, rel=1e-7)
    assert s2sad.grad(PARTIAL_K, wrt="k")(x) == pytest.approx(dk, rel=1e-7)  # wrt: the partial's own names
    assert s2sad.grad(PARTIAL_K, wrt=("x", "k"))(x, k=2.0) == pytest.approx(
        (numeric_grad(functools.partial(two, k=2.0), [x]), (two(x, 2.0 + h) - two(x, 2.0 - h)) / (2 * h)), rel=1e-7)
    assert s2sad.value_and_grad(PARTIAL_K)(x) == pytest.approx((PARTIAL_K(x), dx), rel=1e-7)
    assert s2sad.jvp(PARTIAL_K)(x, 1.0) == pytest.approx((PARTIAL_K(x), dx), rel=1e-7)
    assert s2sad.vjp(PARTIAL_K)(x, 1.0) == pytest.approx(dx, rel=1e-7)
    assert s2sad.hvp(PARTIAL_K)(x, 1.0) == pytest.approx(d2, rel=1e-4)
    assert s2sad.hessian(PARTIAL_K)(x) == pytest.approx(d2, rel=1e-4)
    assert s2sad.jacobian(PARTIAL_K)(x) == pytest.approx(dx, rel=1e-7)
    assert s2sad.derivative(PARTIAL_K)(x) == pytest.approx(dx, rel=1e-7)
    assert s2sad.derivative(PARTIAL_K, order=2)(x) == pytest.approx(d2, rel=1e-4)
    assert s2sad.grad(PARTIAL_X)(0.4) == pytest.approx(numeric_grad(PARTIAL_X, [0.4]), rel=1e-7)  # wrt k
    s2sad.check_grad(PARTIAL_K, x)
    assert "def grad_two(x, *, k=3.0)" in s2sad.source(PARTIAL_K)  # the partial makes k keyword-only
    assert str(s2sad.explain(PARTIAL_K, x)).startswith("explain two(x=0.7, k=3), gradient with respect to x")


def test_a_rebound_module_level_partial_is_noticed(monkeypatch):
    g = s2sad.grad(module_partial)
    before = g(0.7)
    monkeypatch.setattr(sys.modules[__name__], "MODULE_PARTIAL", functools.partial(two, k=5.0))
    assert g(0.7) != pytest.approx(before)
    assert g(0.7) == pytest.approx(numeric_grad(module_partial, [0.7]), rel=1e-6)


def test_a_partial_of_a_function_taking_star_args_is_refused():
    def spread(*xs):
        return xs[0]

    with pytest.raises(SourceUnavailableError) as info:
        s2sad.grad(functools.partial(spread, 1.0))(2.0)
    assert "def" in info.value.hint


def weighted(x, w, scale=1.0, *, shift=0.0):
    return scale * np.sum(w * np.sin(x) ** 2) + shift * np.sum(x)


def test_a_partial_binding_an_array_by_keyword_is_differentiated():
    # the array becomes the default of w; it was bound as the global w_default of the partial's caller,
    # the very name generated code gives that default, so it was taken for a live global and not bound
    # (InternalError NameError: name 'w_default' is not defined)
    w, x = np.array([1.0, 2.0, 3.0]), np.array([0.3, -0.4, 0.9])
    bound = functools.partial(weighted, w=w, scale=2.0, shift=0.5)
    assert_grad_matches_fd(bound, [x])
    assert s2sad.grad(bound, wrt="scale")(x) == pytest.approx(numeric_grad(
        lambda s: weighted(x, w, s, shift=0.5), [2.0]), rel=1e-6)
    np.testing.assert_allclose(s2sad.jacobian(s2sad.grad(bound))(x), s2sad.hessian(bound)(x), rtol=1e-9)


# ------------------------------------------------------------ export


EXPORTED_MODULE = '''
import numpy as np


def loss(w, x):
    scale = 2.0

    def unit(v):
        return np.tanh(scale * v * w)

    act = lambda v: unit(v) ** 2  # noqa: E731
    return np.sum(act(x) + unit(2.0 * x))
'''


def test_an_exported_gradient_of_a_function_with_a_nested_def_runs(tmp_path, monkeypatch):
    from s2sad.export import export

    (tmp_path / "user_closures.py").write_text(EXPORTED_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "user_closures", raising=False)
    import user_closures

    export(user_closures.loss, tmp_path / "exported_closures.py", wrt=(0, 1))
    monkeypatch.delitem(sys.modules, "exported_closures", raising=False)
    import exported_closures

    x = np.array([0.3, -0.2, 0.5])
    dw, dx = exported_closures.grad_loss(0.8, x)
    assert dw == pytest.approx(numeric_grad(user_closures.loss, [0.8, x], wrt=0), rel=1e-6)
    np.testing.assert_allclose(dx, numeric_grad(user_closures.loss, [0.8, x], wrt=1), rtol=1e-6)


# ------------------------------------------------------------ `y += v` on a name the caller also holds


def _adds_into(a, v):
    y = a
    y += v  # NumPy adds into a itself: the caller's array changes
    return y


def helper_adds_into_the_callers_array(x):
    a = x * 1.0
    r = _adds_into(a, x)
    return np.sum(r * a)


def closure_adds_into_an_enclosing_array(x):
    a = x * 1.0

    def h(v):
        y = a
        y += v
        return y

    r = h(x)
    return np.sum(r * a)


@pytest.mark.parametrize("f", [helper_adds_into_the_callers_array, closure_adds_into_an_enclosing_array],
                         ids=lambda f: f.__name__)
def test_an_inlined_augmented_assignment_into_a_callers_array_is_refused_not_wrong(f):
    # was silently wrong (the caller's `a` seen unchanged: gradient [2, 2.8] for [4, 5.6])
    with pytest.raises(s2sad.InPlaceUpdateError, match="also named a"):
        s2sad.grad(f)(np.array([0.5, 0.7]))
    assert_grad_matches_fd(f, [0.5])  # numbers are not shared: y += v only rebinds y


def _sum_times(a, y):
    return np.sum(a * y)


def _add_into(arr, v):
    arr += v  # NumPy adds into the caller's array
    return v


def closure_reads_an_array_added_into_by_an_alias(x):
    a = x * 1.0
    h = lambda y: np.sum(a * y)  # noqa: E731  (reads a when called: after b += x)
    b = a
    b += x
    return h(x)


def closure_reads_an_array_a_helper_added_into(x):
    a = x * 1.0
    h = lambda y: np.sum(a * y)  # noqa: E731
    _add_into(a, x)
    return h(x)


def partial_holds_an_array_added_into(x):
    a = x * 1.0
    p = functools.partial(_sum_times, a)  # holds the array itself
    a += x
    return p(x)


def default_holds_an_array_added_into(x):
    a = x * 1.0

    def h(y, a=a):
        return np.sum(a * y)

    a += x
    return h(x)


@pytest.mark.parametrize("f", [closure_reads_an_array_added_into_by_an_alias,
                               closure_reads_an_array_a_helper_added_into, partial_holds_an_array_added_into,
                               default_holds_an_array_added_into], ids=lambda f: f.__name__)
def test_adding_into_an_array_a_local_function_reads_later_is_refused_not_wrong(f):
    # the read inside the local function (or the value a partial or default holds) was not seen as a
    # later read: the array's update was lost, silently (gradient [1, 1.4] for [2, 2.8] at [0.5, 0.7])
    with pytest.raises(s2sad.InPlaceUpdateError):
        s2sad.grad(f)(np.array([0.5, 0.7]))
    assert_grad_matches_fd(f, [0.5])  # numbers are not shared: y += v only rebinds y


# ------------------------------------------------------------ another name for a local function; loops


BIND = functools.partial  # functools.partial under another name


def another_name(x):
    h = lambda y: y * x  # noqa: E731
    g = h
    s = 0.0
    for i in range(2):
        k = g
        s = s + k(x) * i
    return s + g(2.0 * x)


def renamed_partial_in_a_loop(x):
    s = 0.0
    for i in range(3):
        p = BIND(np.multiply, x * i)
        s = s + p(x)
    return s


@pytest.mark.parametrize("f", [another_name, renamed_partial_in_a_loop], ids=lambda f: f.__name__)
def test_local_functions_under_other_names_and_in_loops(f):
    assert_grad_matches_fd(f, [0.7])


def test_exporting_a_partial_says_to_export_a_def():
    from s2sad.export import ExportError, export_source

    with pytest.raises(ExportError, match="functools.partial") as info:
        export_source(PARTIAL_K)
    assert "def two_fixed(x)" in info.value.hint


def _adds_into_its_parameter(a, v):
    a += v  # NumPy adds into the caller's array
    return a


def helper_adds_into_its_parameter(x):
    a = x * 1.0
    r = _adds_into_its_parameter(a, x)
    return np.sum(r * a)


def subroutine_adds_into_the_callers_array(x):
    a = x * 1.0
    r = _adds_into(a, x)  # called twice, yet inlined: it adds into its parameter
    b = x * 2.0
    r2 = _adds_into(b, x)
    return np.sum(r * a + r2 * b)


def closure_adds_into_its_free_variable(x):
    a = x * 1.0

    def bump(v):
        y = a
        y += v
        return y * 1.0

    return np.sum(bump(x) * a)


def closure_called_twice_adds_into_its_free_variable(x):
    a = x * 1.0

    def bump(v):  # called twice, yet inlined: it adds into its free variable
        y = a
        y += v
        return y * 1.0

    return np.sum(bump(x) * a + bump(2.0 * x))


@pytest.mark.parametrize("f", [helper_adds_into_its_parameter, subroutine_adds_into_the_callers_array,
                               closure_adds_into_its_free_variable, closure_called_twice_adds_into_its_free_variable],
                         ids=lambda f: f.__name__)
def test_adding_into_a_callers_array_is_refused_not_wrong(f):
    # were silently wrong: the gradient of the program where the caller's array did not change
    with pytest.raises(s2sad.InPlaceUpdateError, match="the caller"):
        s2sad.grad(f)(np.array([0.5, 0.7]))
    assert_grad_matches_fd(f, [0.5])


# ------------------------------------------------------------ nested functions as generated function pairs
# A nested def or lambda called twice, recursive or large is a pair like a module-level helper
# (s2sad/nested_routines.py): the enclosing names it reads come first, with their values at the call.


def closure_over_weights_twice(W, x):
    scale = np.sum(x) * 0.5

    def layer(v):
        return np.tanh(W @ v) * scale

    a = layer(x)
    scale = 2.0 - scale  # rebound between the calls: the second call reads this (late binding)
    return np.sum(layer(a) ** 2)


def recursive_nested(x):
    scale = 1.5 * x

    def fact(k, y):
        return y if k == 0 else y * scale * fact(k - 1, y)

    return fact(3, x)


def recursive_nested_over_an_array(W, x):
    def unroll(k, v):
        return v if k == 0 else unroll(k - 1, np.sin(W @ v))

    return np.sum(unroll(3, x))


def lambda_called_twice(x):
    w = x * 0.5
    wave = lambda v: np.sin(v * w)  # noqa: E731
    return wave(x) * wave(x + 1.0)


def nested_twice_on_a_tuple(x):
    first = lambda p: p[0] * np.exp(p[1])  # noqa: E731  (takes a tuple: inlined at each call)
    return first((x, 0.3)) + first((x * x, x))


_W = np.array([[0.4, -0.3], [0.2, 0.5]])
_X = np.array([0.3, -0.6])
PAIR_CASES = [(closure_over_weights_twice, (_W, _X), (0, 1), ["layer_fwd", "layer_bwd"]),
              (recursive_nested, (0.7,), 0, ["fact_fwd", "fact_bwd"]),
              (recursive_nested_over_an_array, (_W, _X), (0, 1), ["unroll_fwd", "unroll_bwd"]),
              (lambda_called_twice, (0.7,), 0, ["wave_fwd", "wave_bwd"]),
              (nested_twice_on_a_tuple, (0.7,), 0, [])]


@pytest.mark.parametrize("f, args, wrt, pairs", PAIR_CASES, ids=[c[0].__name__ for c in PAIR_CASES])
def test_nested_function_pairs_against_finite_differences(f, args, wrt, pairs):
    assert_grad_matches_fd(f, list(args), wrt=wrt)
    assert _def_names(s2sad.grad(f, wrt=wrt).source) == pairs + [f"grad_{f.__name__}"]  # each pair printed once


@pytest.mark.parametrize("f, args, wrt, pairs", PAIR_CASES, ids=[c[0].__name__ for c in PAIR_CASES])
def test_jvp_and_hvp_of_nested_function_pairs(f, args, wrt, pairs):
    w, h = (wrt if isinstance(wrt, int) else wrt[-1]), 1e-5
    v = np.linspace(0.5, 1.0, np.size(args[w])).reshape(np.shape(args[w]))

    def at(step):
        return [a + step * v if k == w else a for k, a in enumerate(args)]

    value, tangent = s2sad.jvp(f, wrt=w)(*args, v)
    np.testing.assert_allclose(value, f(*args), rtol=1e-12)
    np.testing.assert_allclose(tangent, (f(*at(h)) - f(*at(-h))) / (2 * h), rtol=1e-6, atol=1e-9)
    g = s2sad.grad(f, wrt=w)
    np.testing.assert_allclose(s2sad.hvp(f, wrt=w)(*args, v), (g(*at(h)) - g(*at(-h))) / (2 * h),
                               rtol=1e-5, atol=1e-8)
    assert _def_names(s2sad.jvp(f, wrt=w).source)[:-1] == [p.replace("_fwd", "_jvp") for p in pairs[:1]]


def test_a_nested_pair_takes_its_free_variables_at_each_call():
    source = s2sad.grad(closure_over_weights_twice, wrt=(0, 1)).source
    assert "def layer_fwd(W, scale, v):" in source
    assert source.count("= layer_fwd(W, scale, ") == 2  # each call passes the scale it reads then
    assert source.index("= layer_fwd(W, scale, x)") < source.index("scale = 2.0 - scale") < source.index(
        "= layer_fwd(W, scale, a)")
    W_bar = s2sad.grad(closure_over_weights_twice, wrt=0)(_W, _X)  # x not active in the first call: 2 pairs
    np.testing.assert_allclose(W_bar, numeric_grad(closure_over_weights_twice, [_W, _X], 0), rtol=1e-6)


def _def_names(source):
    return [line.split("(")[0][4:] for line in source.splitlines() if line.startswith("def ")]
