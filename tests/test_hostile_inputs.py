"""Hostile use: operators applied to things that are not functions, code s2sad does not take, and
arguments of the wrong kind at call time.

The rule every case here holds to: the result is right (checked against central differences in
float64), or an `s2sad.S2SADError` subclass is raised with a hint (and, where there is a user
function, its file and line); or the user's function itself raises, and the same exception passes
through. Never an internal traceback, a hang, or a silently wrong value.
"""

import copy
import functools
import math
import warnings
from math import exp as math_exp

import numpy as np
import numpy as jnp
import pytest
from numpy import cos as cosine
from numpy import sin

import s2sad

from gradcheck import numeric_grad

# ---------------------------------------------------------------- checking helpers


def _fd_gradient(f, args, p):
    return numeric_grad(f, copy.deepcopy(list(args)), p)


def _close(actual, expected):
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64),
                               rtol=1e-5, atol=1e-7)


def _refusal(error, snippet=None):
    """`error` is an s2sad error with a hint; with `snippet`, it points at the user's line holding it."""
    assert isinstance(error, s2sad.S2SADError), f"{type(error).__name__}: {error}"
    assert not isinstance(error, s2sad.InternalError), str(error)
    assert error.hint, f"no hint: {error}"
    if snippet is not None:
        assert error.location is not None, f"no location: {error}"
        assert snippet in error.location.text, (snippet, error.location)
        assert error.location.filename == __file__


def _all_operators_agree_or_refuse(f, args, p=0, snippet=None):
    """grad, value_and_grad, jvp and hvp of `f` at `args`: each right, or an s2sad refusal."""
    expected = _fd_gradient(f, args, p)
    v = np.ones(np.shape(args[p]))
    results = {
        "grad": lambda: s2sad.grad(f, p)(*copy.deepcopy(args)),
        "value_and_grad": lambda: s2sad.value_and_grad(f, p)(*copy.deepcopy(args))[1],
        "jvp": lambda: s2sad.jvp(f, p)(*copy.deepcopy(args), v)[1],
    }
    for name, run in results.items():
        try:
            value = run()
        except s2sad.S2SADError as error:
            _refusal(error, snippet)
            continue
        _close(value, np.sum(expected * v) if name == "jvp" else expected)


# ---------------------------------------------------------------- 1. things that are not functions


def _generator(x):
    yield x * 2.0


async def _coroutine(x):
    return x * 2.0


class _Model:
    def __init__(self):
        self.w = 3.0

    def loss(self, x):
        return self.w * x * x

    @staticmethod
    def static_loss(x):
        return 4.0 * x * x

    @classmethod
    def class_loss(cls, x):
        return 5.0 * x * x * x

    def __call__(self, x):
        return x * 2.0


def _star_args(*args):
    return args[0] * 2.0


def _star_kwargs(x, **options):
    return x * 2.0


_namespace = {}
exec("def made_by_exec(x):\n    return x * 2.0\n", _namespace)

NOT_FUNCTIONS = {
    "None": None, "an int": 3, "a string": "x * 2", "a class": _Model, "a callable object": _Model(),
    "len": len, "a builtin method": [].append, "np.vectorize": np.vectorize(lambda x: x * 2.0),
    "a generator function": _generator, "an async function": _coroutine, "*args": _star_args,
    "**kwargs": _star_kwargs, "made by exec": _namespace["made_by_exec"],
}

OPERATORS = {
    "grad": lambda f: s2sad.grad(f)(1.5),
    "value_and_grad": lambda f: s2sad.value_and_grad(f)(1.5),
    "jvp": lambda f: s2sad.jvp(f)(1.5, 1.0),
    "vjp": lambda f: s2sad.vjp(f)(1.5, 1.0),
    "hvp": lambda f: s2sad.hvp(f)(1.5, 1.0),
    "hessian": lambda f: s2sad.hessian(f)(np.array([1.5])),
    "jacobian": lambda f: s2sad.jacobian(f)(np.array([1.5])),
    "derivative": lambda f: s2sad.derivative(f, 2)(1.5),
    "differentiate": lambda f: s2sad.differentiate(f).grad(1.5),
    "source": lambda f: s2sad.source(f),
    "explain": lambda f: s2sad.explain(f, 1.5),
    "check_grad": lambda f: s2sad.check_grad(f, 1.5),
}


@pytest.mark.parametrize("operator", OPERATORS)
def test_what_is_not_a_python_function_is_refused_with_a_hint(operator):
    for name, thing in NOT_FUNCTIONS.items():
        if operator == "differentiate" and thing is None:
            continue  # differentiate(None) is the decorator's factory form: @differentiate(wrt=...)
        with pytest.raises(s2sad.S2SADError) as info:
            OPERATORS[operator](thing)
        _refusal(info.value)
        if name in ("a class", "a callable object", "np.vectorize"):  # said as what it is
            assert "builtin" not in str(info.value), str(info.value)


def test_export_of_what_is_not_a_function_is_refused_with_a_hint(tmp_path):
    for thing in (None, len, _Model(), np.add):
        with pytest.raises(s2sad.S2SADError) as info:
            s2sad.export(thing, str(tmp_path / "out.py"))
        _refusal(info.value)


_model = _Model()


@pytest.mark.parametrize("f", [_model.loss, _Model.class_loss, _Model.static_loss, np.sin, math.sin, np.sum,
                               functools.partial(lambda x, k: x ** k, k=3.0)],
                         ids=["bound method", "classmethod", "staticmethod", "np.sin", "math.sin", "np.sum",
                              "partial"])
def test_methods_numpy_functions_and_partials_are_differentiated(f):
    x = 1.3

    def plain(v):
        return f(v)

    expected = numeric_grad(plain, [x], 0)
    _close(s2sad.grad(f)(x), expected)
    _close(s2sad.value_and_grad(f)(x)[1], expected)
    _close(s2sad.jvp(f)(x, 1.0)[1], expected)
    _close(s2sad.differentiate(f).grad(x), expected)
    second = numeric_grad(lambda v: s2sad.grad(f)(v), [x], 0)
    _close(s2sad.hvp(f)(x, 1.0), second)


def test_a_bound_method_reads_the_objects_attributes_when_it_runs():
    model = _Model()
    gradient = s2sad.grad(model.loss)
    assert gradient(1.0) == 6.0
    model.w = 10.0
    assert gradient(1.0) == 20.0 and s2sad.grad(model.loss, wrt="x")(1.0) == 20.0
    with pytest.raises(s2sad.WrtError):
        s2sad.grad(model.loss, wrt="self")


# ---------------------------------------------------------------- 2. code s2sad refuses, at its line


def uses_global(x):
    global _COUNT
    _COUNT = 1
    return x * 2.0


def uses_nonlocal(x):
    total = 0.0

    def add(v):
        nonlocal total
        total = total + v
    add(x)
    return total


def uses_try(x):
    try:
        y = x * 2.0
    except ValueError:
        y = x
    return y


def uses_try_finally(x):
    try:
        y = x * 2.0
    finally:
        pass
    return y


def uses_with(x):
    with open(__file__):
        y = np.log(x)
    return y


def uses_del(x):
    y = x * x
    z = y + x
    del y
    y = z * 2.0
    return y


def uses_walrus(x):
    if x > 0.0 and (y := x * x) > 1.0:
        return y * x
    return y


def uses_match(x, k):
    match k:
        case 0:
            return x * x
        case _:
            return x


def uses_star_unpacking(x):
    first, *rest = x
    return first * np.sum(rest)


def uses_star_call(x):
    args = (x, 2.0)
    return np.power(*args)


def uses_eval(x):
    return eval("x * 2.0")


def uses_exec(x):
    y = x * 2.0
    exec("y = 1.0")
    return y


def uses_locals(x):
    return locals()["x"] * 2.0


def uses_yield(x):
    yield x * 2.0


def uses_import(x):
    import math as m
    return m.sin(x)


def uses_class(x):
    class Local:
        pass
    return x * 2.0


def uses_lambda_argument(x):
    return sum(filter(lambda v: v > 0.0, [x, 2.0 * x]))


def uses_while_else(x):
    i = 0
    while i < 3:
        x = x * 1.1
        i += 1
    else:
        x = x + 1.0
    return x


def writes_its_argument(x):
    x[0] = x[0] * 2.0
    return np.sum(x * x)


def calls_a_method_of_its_own_object(x):
    return _model.loss(x)


def calls_a_callable_object(x):
    return _CALLABLE(x)


_CALLABLE = _Model()


REFUSED = [
    (uses_global, "global _COUNT"),
    (uses_nonlocal, "nonlocal total"),
    (uses_try, "try:"),
    (uses_try_finally, "try:"),
    (uses_with, "with open(__file__)"),
    (uses_del, "del y"),
    (uses_walrus, "y := x * x"),
    (uses_match, "match k"),
    (uses_star_unpacking, "first, *rest = x"),
    (uses_star_call, "np.power(*args)"),
    (uses_eval, 'eval("x * 2.0")'),
    (uses_exec, 'exec("y = 1.0")'),
    (uses_locals, 'locals()["x"]'),
    (uses_yield, "yield x * 2.0"),
    (uses_import, "import math as m"),
    (uses_class, "class Local"),
    (uses_lambda_argument, "filter(lambda v: v > 0.0"),
    (writes_its_argument, "x[0] = x[0] * 2.0"),
    (calls_a_method_of_its_own_object, "_model.loss(x)"),
    (calls_a_callable_object, "_CALLABLE(x)"),
]


@pytest.mark.parametrize("f, snippet", REFUSED, ids=[f.__name__ for f, _ in REFUSED])
def test_unsupported_code_is_refused_at_its_line_with_a_hint(f, snippet):
    args = (np.array([0.5, 1.5, 2.5]),) if f in (uses_star_unpacking, writes_its_argument) else (1.3,)
    if f is uses_match:
        args = (1.3, 0)
    for make in (s2sad.grad, s2sad.value_and_grad, s2sad.jvp, s2sad.hvp):
        with pytest.raises(s2sad.S2SADError) as info:
            generated = make(f)
            generated(*args, *([np.ones(np.shape(args[0]))] if make in (s2sad.jvp, s2sad.hvp) else []))
        _refusal(info.value, snippet)


def test_eval_would_have_given_a_zero_gradient():
    """`eval` reads `x` by name: the generated code saw a constant string and gave 0.0 before."""
    assert np.isclose(uses_eval(1.0 + 1e-3) - uses_eval(1.0), 2e-3)
    with pytest.raises(s2sad.UnsupportedSyntaxError, match="eval"):
        s2sad.grad(uses_eval)


def recurses_forever(x):
    return recurses_forever(x * 0.5) + x


def recurses_to_a_base(x, n):
    if n == 0:
        return x
    return recurses_to_a_base(x * x, n - 1)


def test_recursion_without_a_base_case_fails_like_the_function_itself():
    with pytest.raises(RecursionError):
        recurses_forever(1.0)
    for make in (s2sad.grad, s2sad.jvp):
        with pytest.raises(RecursionError):
            make(recurses_forever)(1.0, *([1.0] if make is s2sad.jvp else []))
    _close(s2sad.grad(recurses_to_a_base)(1.3, 3), 8 * 1.3 ** 7)


# ---------------------------------------------------------------- 3. arguments of the wrong kind


def scalar_function(x):
    return x * x + np.sin(x)


def array_function(x):
    return np.sum(x * x + np.sin(x))


def two_parameters(x, y):
    return x * y + np.sin(x)


BAD_ARGUMENTS = {
    "str": "abc", "None": None, "mixed list": [1.0, "a", 2], "object array": np.array([1.0, 2.0], dtype=object),
    "complex array": np.array([1 + 1j, 2.0]), "complex": 1 + 2j, "bool": True, "bytes": b"ab", "set": {1.0},
    "dict": {"a": 1.0}, "datetime": np.datetime64("2020"), "huge int": 10 ** 400,
    "ragged list": [[1.0, 2.0], [3.0]], "nan": float("nan"), "inf": float("inf"), "int": 3,
    "int array": np.arange(3), "0-d array": np.array(1.5), "empty": np.zeros(0), "large array": np.ones((12, 12)),
    "list of floats": [1.0, 2.0], "float32": np.float32(1.5),
}


@pytest.mark.parametrize("f", [scalar_function, array_function])
def test_arguments_of_the_wrong_kind_give_the_right_result_or_a_refusal(f):
    problems = []
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for name, value in BAD_ARGUMENTS.items():
            # a list of numbers is taken as the vector it spells (s2sad's call path converts it)
            primal = np.asarray(value, np.float64) if name == "list of floats" else value
            try:
                f(copy.deepcopy(primal))
                own = None
            except Exception as exc:  # the function's own failure may pass through
                own = type(exc)
            tangent = np.ones(np.shape(value)) if isinstance(value, np.ndarray) else 1.0
            for label, run in {
                "grad": lambda: s2sad.grad(f)(copy.deepcopy(value)),
                "value_and_grad": lambda: s2sad.value_and_grad(f)(copy.deepcopy(value))[1],
                "jvp": lambda: s2sad.jvp(f)(copy.deepcopy(value), tangent)[1],
                "hvp": lambda: s2sad.hvp(f)(copy.deepcopy(value), tangent),
            }.items():
                try:
                    result = run()
                except s2sad.S2SADError as error:
                    if isinstance(error, s2sad.InternalError) or not error.hint:
                        problems.append(f"{label}({name}): {type(error).__name__} {error}")
                    continue
                except Exception as exc:
                    if own is None or not isinstance(exc, own):
                        problems.append(f"{label}({name}): {type(exc).__name__} {exc}")
                    continue
                if own is not None:
                    problems.append(f"{label}({name}) gave {result!r} where the function raises {own.__name__}")
                elif label != "hvp" and not isinstance(value, bool) and np.all(np.isfinite(primal)):
                    x = np.asarray(primal, np.float64) if isinstance(primal, np.ndarray) else float(primal)
                    if label == "jvp":  # a directional difference (the value may be an array)
                        expected = (f(x + 1e-6 * tangent) - f(x - 1e-6 * tangent)) / 2e-6
                    else:
                        expected = numeric_grad(f, [x], 0)
                    if not np.allclose(np.asarray(result, np.float64), expected, rtol=1e-4, atol=1e-6):
                        problems.append(f"{label}({name}) = {result!r}, finite differences {expected!r}")
    assert not problems, "\n".join(problems)


WRONG_CALLS = {
    "no arguments": lambda: s2sad.grad(two_parameters)(),
    "one argument short": lambda: s2sad.grad(two_parameters)(1.0),
    "one too many": lambda: s2sad.grad(two_parameters)(1.0, 2.0, 3.0),
    "an unexpected keyword": lambda: s2sad.grad(two_parameters)(1.0, 2.0, w=3.0),
    "a parameter twice": lambda: s2sad.grad(two_parameters)(1.0, 2.0, x=3.0),
    "jvp without its tangent": lambda: s2sad.jvp(two_parameters)(1.0, 2.0),
    "jvp with a tangent too many": lambda: s2sad.jvp(two_parameters)(1.0, 2.0, 1.0, 1.0),
    "jvp with a tangent of the wrong shape": lambda: s2sad.jvp(array_function)(np.ones(3), np.ones(4)),
    "hvp with v of the wrong shape": lambda: s2sad.hvp(array_function)(np.ones(3), np.ones(2)),
    "vjp with a cotangent of the wrong shape": lambda: s2sad.vjp(scalar_function)(np.ones(3), np.ones(2)),
    "wrt out of range": lambda: s2sad.grad(two_parameters, wrt=5),
    "wrt negative out of range": lambda: s2sad.grad(two_parameters, wrt=-3),
    "wrt duplicated": lambda: s2sad.grad(two_parameters, wrt=(0, 0)),
    "wrt duplicated by name": lambda: s2sad.grad(two_parameters, wrt=(0, "x")),
    "wrt by a wrong name": lambda: s2sad.grad(two_parameters, wrt="z"),
    "wrt a float": lambda: s2sad.grad(two_parameters, wrt=1.0),
    "wrt None": lambda: s2sad.grad(two_parameters, wrt=None),
    "wrt empty": lambda: s2sad.grad(two_parameters, wrt=()),
    "wrt True": lambda: s2sad.grad(two_parameters, wrt=True),
    "wrt nested": lambda: s2sad.grad(two_parameters, wrt=((0,),)),
    "jvp wrt out of range": lambda: s2sad.jvp(two_parameters, wrt=2),
    "hvp wrt by a wrong name": lambda: s2sad.hvp(two_parameters, wrt="q"),
    "jacobian wrt duplicated": lambda: s2sad.jacobian(two_parameters, wrt=(1, 1)),
    "derivative of order 0": lambda: s2sad.derivative(scalar_function, 0),
    "derivative of order 1.5": lambda: s2sad.derivative(scalar_function, 1.5),
    "jacobian in an unknown mode": lambda: s2sad.jacobian(array_function, mode="sideways"),
    "an unknown checkpoint": lambda: s2sad.grad(scalar_function, checkpoint="bogus"),
    "has_aux without aux": lambda: s2sad.grad(scalar_function, has_aux=True)(1.0),
    "an unknown stage": lambda: s2sad.show(scalar_function, stage=3),
    "explain without arguments": lambda: s2sad.explain(scalar_function),
}


@pytest.mark.parametrize("call", WRONG_CALLS)
def test_wrong_calls_and_wrt_are_refused_with_a_hint(call):
    with pytest.raises(s2sad.S2SADError) as info:
        WRONG_CALLS[call]()
    _refusal(info.value)


def test_wrt_forms_that_mean_a_parameter_are_taken():
    x, y = 1.3, 0.7
    dx, dy = y + np.cos(x), x
    _close(s2sad.grad(two_parameters, wrt=-1)(x, y), dy)
    _close(s2sad.grad(two_parameters, wrt=np.int64(1))(x, y), dy)
    _close(s2sad.grad(two_parameters, wrt=[0, 1])(x, y), (dx, dy))
    _close(s2sad.grad(two_parameters, wrt=("y", 0))(x, y), (dy, dx))
    _close(s2sad.grad(two_parameters)(x=x, y=y), dx)


# ---------------------------------------------------------------- 4. what the function returns


def returns_none(x):
    y = x * 2.0  # noqa: F841


def returns_a_vector(x):
    return x * 2.0


def returns_a_tuple(x):
    return x, x * x


def returns_a_string(x):
    return "x"


def returns_an_int(x):
    return 3


def returns_a_bool(x):
    return x > 0


@pytest.mark.parametrize("f", [returns_none, returns_a_vector, returns_a_tuple, returns_a_string])
def test_grad_of_what_is_not_a_number_is_refused_at_the_return(f):
    for make in (s2sad.grad, s2sad.value_and_grad, s2sad.hvp):
        with pytest.raises(s2sad.NonScalarOutputError) as info:
            make(f)(np.array([1.0, 2.0]), *([np.ones(2)] if make is s2sad.hvp else []))
        _refusal(info.value)
        assert info.value.location is not None


@pytest.mark.parametrize("f", [returns_an_int, returns_a_bool])
def test_a_constant_or_boolean_result_has_a_zero_gradient(f):
    assert s2sad.grad(f)(1.5) == 0.0
    assert s2sad.value_and_grad(f)(1.5) == (f(1.5), 0.0)
    assert s2sad.jvp(f)(1.5, 1.0)[1] == 0.0


# ---------------------------------------------------------------- 5. mutation and state that changes


def scales_its_argument_in_place(x):
    x *= 2.0
    return np.sum(x * x)


def test_an_argument_scaled_in_place_gives_the_original_value_and_gradient():
    """The function doubles the caller's array; the generated code computes the same value and the
    gradient at the array the caller passed, and never writes into its arguments (tests/conftest.py)."""
    x = np.array([1.0, 2.0])
    value, gradient = s2sad.value_and_grad(scales_its_argument_in_place)(x)
    assert value == scales_its_argument_in_place(np.array([1.0, 2.0]))
    _close(gradient, [8.0, 16.0])
    np.testing.assert_array_equal(x, [1.0, 2.0])


def scales_one_and_reads_the_other(x, y):
    x *= 2.0
    return np.sum(x * y)


def test_the_same_array_passed_twice_to_a_function_that_updates_one_in_place_is_refused():
    """f(a, a): `x *= 2.0` doubles y too (one array). The generated `x = x * 2.0` would not: the value
    and gradient were silently those of f(a, a.copy()) (10.0 instead of 20.0 here)."""
    a = np.array([1.0, 2.0])
    assert scales_one_and_reads_the_other(a.copy(), a.copy()) == 10.0
    same = a.copy()
    assert scales_one_and_reads_the_other(same, same) == 20.0
    for make in (s2sad.grad, s2sad.value_and_grad, s2sad.jvp):
        with pytest.raises(s2sad.InPlaceUpdateError) as info:
            make(scales_one_and_reads_the_other, (0, 1))(a, a, *([a, a] if make is s2sad.jvp else []))
        _refusal(info.value, "x *= 2.0")
    value, gradients = s2sad.value_and_grad(scales_one_and_reads_the_other, (0, 1))(a, a.copy())
    assert value == 10.0
    _close(gradients, (2.0 * a, 2.0 * a))
    assert s2sad.value_and_grad(scales_one_and_reads_the_other, (0, 1))(1.5, 1.5) == (4.5, (3.0, 3.0))


FACTOR = 2.0
HELPER = None


def reads_a_global(x):
    return x * FACTOR


def calls_a_global_helper(x):
    return HELPER(x)


def _double(x):
    return x * 2.0


def _square(x):
    return x * x


def test_globals_that_change_between_calls_are_read_when_the_derivative_runs(monkeypatch):
    gradient = s2sad.grad(reads_a_global)
    assert gradient(1.0) == 2.0
    monkeypatch.setattr(f"{__name__}.FACTOR", 5.0)
    assert gradient(1.0) == 5.0 and s2sad.jvp(reads_a_global)(1.0, 1.0) == (5.0, 5.0)
    monkeypatch.setattr(f"{__name__}.HELPER", _double)
    gradient = s2sad.grad(calls_a_global_helper)
    assert gradient(3.0) == 2.0
    monkeypatch.setattr(f"{__name__}.HELPER", _square)
    assert gradient(3.0) == 6.0 and s2sad.hvp(calls_a_global_helper)(3.0, 1.0) == 2.0


# ---------------------------------------------------------------- 6. names, aliases and builtins


def a_function_whose_names_go_on_and_on_and_on_for_a_very_long_time_indeed_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx(
        the_input_value_with_a_really_long_name_for_no_good_reason_whatsoever_at_all_yyyyyyyyyyyyyyyyyyyyyyyyyyyy):
    an_intermediate_value_with_an_equally_long_and_descriptive_name_that_goes_on_and_on_zzzzzzzzzzzzzzzzzz = (
        the_input_value_with_a_really_long_name_for_no_good_reason_whatsoever_at_all_yyyyyyyyyyyyyyyyyyyyyyyyyyyy ** 2)
    return an_intermediate_value_with_an_equally_long_and_descriptive_name_that_goes_on_and_on_zzzzzzzzzzzzzzzzzz * 3.0


def unicode_names(θ):
    λ = θ * θ
    σ_bar = λ + np.sin(θ)
    return σ_bar * 2.0


def shadows_builtins(x):
    sum = x * 2.0  # noqa: A001
    max = lambda a, b: a + b  # noqa: E731,A001
    return max(sum * sum, x)


def numpy_under_another_name(x):
    return jnp.sum(jnp.sin(x)) + cosine(x[0]) * sin(x[1])


def math_functions(x):
    return (math.sin(x) + math_exp(x) * math.sqrt(x) + math.log(x) + math.pow(x, 3) + math.hypot(x, 2.0)
            + math.atan2(x, 1.0) + math.tanh(x))


def python_builtins(x, y):
    return (abs(x - 3.0) * max(x, y) + min(x, y * 2.0, 5.0) + sum([x, x * y, 3.0]) + pow(x, 3) + pow(2.0, y)
            + round(x) * y + (x // 0.7) * x + (x % 0.7) ** 2 + float(x) * int(y) + divmod(x, 0.7)[1] * y)


def builtins_on_arrays(x):
    q, r = divmod(x, 0.7)
    s = 0.0
    for v in reversed(x):
        s = s * 0.5 + v
    return sum(x) * max(x) + abs(x).sum() + min(x) * len(x) + np.sum(q * x + r ** 2) + s


NAMED = [
    (uses_while_else, (1.3,)),  # a loop's else clause runs when it ends without a break
    (a_function_whose_names_go_on_and_on_and_on_for_a_very_long_time_indeed_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx,
     (1.3,)),
    (unicode_names, (1.3,)),
    (shadows_builtins, (1.3,)),
    (numpy_under_another_name, (np.array([0.3, -1.2, 2.0]),)),
    (math_functions, (1.3,)),
    (python_builtins, (1.3, 0.4)),
    (python_builtins, (-2.2, 1.9)),
    (builtins_on_arrays, (np.array([0.3, -1.2, 2.0]),)),
]


@pytest.mark.parametrize("f, args", NAMED, ids=[f"{f.__name__[:20]}-{i}" for i, (f, _) in enumerate(NAMED)])
def test_names_aliases_and_builtins_on_traced_values(f, args):
    for p in range(len(args)):
        expected = _fd_gradient(f, args, p)
        _close(s2sad.grad(f, p)(*args), expected)
        _close(s2sad.value_and_grad(f, p)(*args)[1], expected)
        v = np.ones(np.shape(args[p]))
        _close(s2sad.jvp(f, p)(*args, v)[1], np.sum(expected * v))
    assert s2sad.grad(f).source.isascii() or f is unicode_names
