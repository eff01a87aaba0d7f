"""Internal errors and wrong results left over from the aliasing review (issue of the last stop):
each test fails on the code before its fix."""

import ast
import functools

import numpy as np
import pytest
from gradcheck import numeric_grad

import s2sad
from s2sad.rules import registry


def _pushes_shapes_that_differ(x):
    s = 0.0
    for i in range(3):
        v = np.sin(x[:i + 1])  # the loop saves a value of another length each time
        s = s + np.sum(v * v) * x[i]
    return s


_GRAD_OF_IT = s2sad.grad(_pushes_shapes_that_differ)
_WEIGHTS = np.array([1.0, 2.0, 3.0])


def _calls_a_generated_gradient(x):
    return np.sum(_GRAD_OF_IT(x) * _WEIGHTS)


def test_hvp_over_a_generated_gradient_whose_tape_holds_values_of_different_shapes():
    # reverse mode over the spliced gradient makes its tape a list; forward mode over that copied
    # the list with np.copy (an array, or a ValueError for items of different shapes: InternalError)
    x, v = np.array([0.3, 0.5, 0.9]), np.array([1.0, -0.5, 0.25])
    hvp = s2sad.hvp(_calls_a_generated_gradient)(x, v)
    h = 1e-5
    grad = s2sad.grad(_calls_a_generated_gradient)
    np.testing.assert_allclose(hvp, (grad(x + h * v) - grad(x - h * v)) / (2 * h), rtol=1e-6, atol=1e-8)
    tangent = s2sad.jvp(s2sad.grad(_calls_a_generated_gradient))(x, v)[1]
    np.testing.assert_allclose(tangent, hvp, rtol=1e-10)


class _Doubler:
    def __call__(self, x):
        return 2.0 * x


def _object_whose_module_is(module, on_class):
    cls = type("Doubler", (_Doubler,), {"__module__": module} if on_class else {})
    obj = cls()
    if not on_class:
        obj.__module__ = module
    return obj


MODULES = [None, 7, ["not", "hashable"], b"numpy"]


def _uses_the_doubler(x):
    return np.sum(_DOUBLER(x) * x)


_DOUBLER = None


@pytest.mark.parametrize("on_class", [True, False], ids=["class", "instance"])
@pytest.mark.parametrize("module", MODULES, ids=repr)
def test_a_callable_whose_module_is_not_a_string_is_refused_clearly(module, on_class, monkeypatch):
    obj = _object_whose_module_is(module, on_class)
    monkeypatch.setitem(globals(), "_DOUBLER", obj)
    x = np.array([1.0, 2.0])
    attempts = [lambda: s2sad.grad(obj)(1.5), lambda: s2sad.jvp(obj)(1.5, 1.0), lambda: s2sad.show(obj),
                lambda: s2sad.grad(_uses_the_doubler)(x), lambda: s2sad.jvp(_uses_the_doubler)(x, x),
                lambda: s2sad.hvp(_uses_the_doubler)(x, x), lambda: s2sad.explain(_uses_the_doubler, x)]
    for attempt in attempts:
        with pytest.raises(s2sad.S2SADError) as caught:
            attempt()
        assert not isinstance(caught.value, s2sad.InternalError), caught.value
        assert caught.value.hint


@pytest.mark.parametrize("module", MODULES, ids=repr)
def test_a_callable_whose_module_is_not_a_string_is_differentiated_with_its_rule(module, monkeypatch):
    obj = _object_whose_module_is(module, on_class=False)
    monkeypatch.setitem(globals(), "_DOUBLER", obj)

    @s2sad.adjoint(obj)
    def doubler_adjoint(y, x):
        x_bar = 2.0 * y_bar

    x = np.array([1.0, 2.0])
    try:
        gradient = s2sad.grad(_uses_the_doubler)(x)
    finally:
        registry.ADJOINT_RULES.pop(obj, None)
    np.testing.assert_allclose(gradient, numeric_grad(_uses_the_doubler, [x]), rtol=1e-7)


def _four(a, b, c, d=1.0):
    return a * b * a + c * d * d


@pytest.mark.parametrize("bound, header, call, wrt, expected", [
    # binding b by keyword makes b and every later parameter keyword-only (the partial's signature)
    ({"b": 2.0}, "def grad__four(a, *, b=2.0, c, d=1.0):", ((1.5,), {"c": 3.0}), "a", 2 * 1.5 * 2.0),
    ({"b": 2.0}, "def grad__four(a, *, b=2.0, c, d=1.0):", ((1.5,), {"c": 3.0}), "c", 1.0),
    ({"c": 2.0}, "def grad__four(a, b, *, c=2.0, d=1.0):", ((1.5, 3.0), {}), "a", 2 * 1.5 * 3.0),
    ({"c": 2.0}, "def grad__four(a, b, *, c=2.0, d=1.0):", ((1.5, 3.0), {"d": 0.5}), "d", 2 * 2.0 * 0.5),
])
def test_a_partial_with_keywords_keeps_its_keyword_only_parameters(bound, header, call, wrt, expected):
    p = functools.partial(_four, **bound)
    g = s2sad.grad(p, wrt=wrt)
    source = s2sad.grad(p).source
    assert source.splitlines()[0] == header
    ast.parse(source)
    args, kwargs = call
    np.testing.assert_allclose(g(*args, **kwargs), expected, rtol=1e-12)
    with pytest.raises(TypeError):
        p(*args, 3.0, **kwargs)  # one positional argument more: the partial itself refuses it
    with pytest.raises(s2sad.ArgumentError, match="positional"):
        g(*args, 3.0, **kwargs)  # and so does its gradient, rather than binding a keyword-only parameter


def _keyword_only(x, *, y=0.5, z):
    return x * y * z * x


@pytest.mark.parametrize("operator_, expected", [
    (lambda: s2sad.grad(_keyword_only)(1.5, z=2.0), 2 * 1.5 * 0.5 * 2.0),
    (lambda: s2sad.grad(_keyword_only, wrt="z")(1.5, z=2.0), 1.5 * 0.5 * 1.5),
    (lambda: s2sad.jvp(_keyword_only)(1.5, 1.0, z=2.0)[1], 2 * 1.5 * 0.5 * 2.0),
    (lambda: s2sad.hvp(_keyword_only)(1.5, 1.0, z=2.0), 2 * 0.5 * 2.0),
    (lambda: s2sad.vjp(_keyword_only)(1.5, 1.0, z=2.0), 2 * 1.5 * 0.5 * 2.0),
])
def test_keyword_only_parameters_stay_keyword_only(operator_, expected):
    np.testing.assert_allclose(operator_(), expected, rtol=1e-12)
    assert s2sad.grad(_keyword_only).source.startswith("def grad__keyword_only(x, *, y=0.5, z):")
    with pytest.raises(s2sad.ArgumentError):
        s2sad.grad(_keyword_only)(1.5, 0.5, 2.0)


def _appends_in_a_loop(x):
    out = [x[0]]
    for i in range(2):
        out.append(np.sin(out[-1]) * x[i + 1])  # the reverse sweep reads the list: saved, appends undone
    return out[-1] * out[0]


def _appends_without_reading(x):
    out = []
    for i in range(2):
        out.append(x[i] * 2.0)
    return out[0] * out[1] * x[2]


_GRAD_APPENDS_IN_A_LOOP = s2sad.grad(_appends_in_a_loop)
_GRAD_APPENDS_WITHOUT_READING = s2sad.grad(_appends_without_reading)


def _calls_gradient_of_appends_in_a_loop(x):
    return np.sum(_GRAD_APPENDS_IN_A_LOOP(x) * x)


def _calls_gradient_of_appends_without_reading(x):
    return np.sum(_GRAD_APPENDS_WITHOUT_READING(x) * x)


@pytest.mark.parametrize("f", [_appends_in_a_loop, _appends_without_reading, _calls_gradient_of_appends_in_a_loop,
                               _calls_gradient_of_appends_without_reading])
def test_explain_traces_lists_appended_to_in_loops(f):
    # a generated gradient spliced in has a tape (pushes and pops), appends made pure (`appended`) and
    # item-by-item sums of list adjoints (`add_sequences`): explain raised InternalError, NoDerivativeError
    x = np.array([0.3, 0.5, 0.9])
    explanation = s2sad.explain(f, x)
    np.testing.assert_allclose(explanation.gradient, numeric_grad(f, [x]), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(explanation.gradient, s2sad.grad(f)(x), rtol=1e-12)
    assert "append" in str(explanation)
