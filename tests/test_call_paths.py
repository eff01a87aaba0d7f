"""The plain call path of a generated derivative gives what the general path gives (issue 11 §1).

``GeneratedFunction.__call__`` takes a short path when every argument is
positional and exactly a float, int, np.float64 or ndarray (float64 where it is
differentiated), and the general path (``_call_general``) otherwise. These are
correctness tests: for every kind of argument, both paths return the same
values, types and dtypes, and raise the same errors. None of them times anything.
"""

from __future__ import annotations

import collections

import numpy as np
import pytest

import s2sad
from s2sad.api import GeneratedFunction, _plain_arguments
from gradcheck import numeric_grad


def poly(x, y):
    return x * x * y + np.sin(x) * y


def total(x, w):
    return np.sum(np.tanh(x) * w)


def scaled(x, scale=2.0):
    return scale * x * x


def keyword_only(x, *, k=3.0):
    return k * x * x


def reciprocal(x):
    return 1.0 / (x - 1.0)


def loss_of_dict(p, x):
    return np.sum(p["w"] * x) + p["b"] ** 2


Pair = collections.namedtuple("Pair", "a b")


def loss_of_pair(p):
    return p.a * p.b


class Sub(np.ndarray):
    """An ndarray subclass: never plain."""


VECTOR = np.array([0.3, -0.7, 1.1])

# (label, derivative, positional arguments); the general path must give the same answer for each
CASES = [
    ("float", lambda: s2sad.grad(poly), (0.7, 1.3)),
    ("int", lambda: s2sad.grad(poly), (2, 3)),
    ("int wrt both", lambda: s2sad.grad(poly, wrt=(0, 1)), (2, 3)),
    ("np.float64", lambda: s2sad.grad(poly), (np.float64(0.7), np.float64(1.3))),
    ("np.float32 scalar", lambda: s2sad.grad(poly), (np.float32(0.7), 1.3)),
    ("np.int64 scalar", lambda: s2sad.grad(poly), (np.int64(2), 1.3)),
    ("float64 array", lambda: s2sad.grad(total), (VECTOR, VECTOR + 1.0)),
    ("float32 array", lambda: s2sad.grad(total), (VECTOR.astype(np.float32), VECTOR)),
    ("int array", lambda: s2sad.grad(total), (np.array([1, 2, 3]), VECTOR)),
    ("big-endian array", lambda: s2sad.grad(total), (VECTOR.astype(">f8"), VECTOR)),
    ("0-d array", lambda: s2sad.grad(poly), (np.array(0.7), 1.3)),
    ("ndarray subclass", lambda: s2sad.grad(total), (VECTOR.view(Sub), VECTOR)),
    ("list of floats", lambda: s2sad.grad(total), ([0.3, -0.7, 1.1], VECTOR)),
    ("int non-wrt array", lambda: s2sad.grad(total), (VECTOR, np.array([1, 2, 3]))),
    ("default left out", lambda: s2sad.grad(scaled), (1.5,)),
    ("default given", lambda: s2sad.grad(scaled), (1.5, 4)),
    ("wrt a defaulted parameter, left out", lambda: s2sad.grad(scaled, wrt="scale"), (1.5,)),
    ("keyword-only left out", lambda: s2sad.grad(keyword_only), (1.5,)),
    ("value_and_grad", lambda: s2sad.value_and_grad(poly), (0.7, 1.3)),
    ("value_and_grad int", lambda: s2sad.value_and_grad(poly, wrt=(0, 1)), (2, 1)),
    ("vjp", lambda: s2sad.vjp(total), (VECTOR, VECTOR, 1.0)),
    ("vjp int seed", lambda: s2sad.vjp(total), (VECTOR, VECTOR, 2)),
    ("dict", lambda: s2sad.grad(loss_of_dict), ({"w": VECTOR, "b": 0.5}, VECTOR)),
    ("namedtuple", lambda: s2sad.grad(loss_of_pair), (Pair(2.0, 3.0),)),
]


def same(a, b) -> bool:
    """Equal values of the same types and dtypes, containers compared leaf by leaf."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (np.ndarray, np.generic)):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    return a == b


@pytest.mark.parametrize("label, make, args", CASES, ids=[c[0] for c in CASES])
def test_both_paths_give_the_same_result(label, make, args):
    g = make()
    through_call = g(*args)
    general = g._call_general(args, {})
    assert same(through_call, general), (through_call, general)


@pytest.mark.parametrize("label, make, args", [c for c in CASES if c[0] in ("float", "int", "float64 array")],
                         ids=["float", "int", "float64 array"])
def test_the_gradient_is_right(label, make, args):
    np.testing.assert_allclose(make()(*args), numeric_grad(poly if label != "float64 array" else total,
                                                           [np.float64(a) if isinstance(a, int) else a
                                                            for a in args]), rtol=1e-6, atol=1e-8)


def test_plain_arguments_take_the_plain_path(monkeypatch):
    def general(self, args, kwargs):
        raise AssertionError("took the general path")

    g, v = s2sad.grad(poly, wrt=(0, 1)), s2sad.vjp(total)
    g(0.5, 2.0)  # built (and any first-call work done) before the general path is forbidden
    monkeypatch.setattr(GeneratedFunction, "_call_general", general)
    assert g(0.5, 2) == (2 * 0.5 * 2 + np.cos(0.5) * 2, 0.5 * 0.5 + np.sin(0.5))
    assert type(s2sad.grad(scaled)(3)) is float  # the int became a float, as the general path makes it
    v(VECTOR, VECTOR, 1.0)
    assert s2sad.grad(scaled)(np.float64(1.0)) == 4.0


def test_the_plain_path_passes_ints_as_floats(monkeypatch):
    g = s2sad.grad(poly)
    received = []

    def compiled(*args):
        received.append(args)
        return 0.0

    monkeypatch.setattr(g, "_func", compiled)
    monkeypatch.setattr(g, "_variants", None)  # the generic code, not one specialized for the shapes
    g(2, 3)
    g._call_general((2, 3), {})
    assert [[type(a) for a in args] for args in received] == [[float, int], [float, int]]


@pytest.mark.parametrize("args", [(np.asmatrix([[1.0, 2.0]]), 1.0), (1.0, np.asmatrix([[1.0]])),
                                  (True, 1.0), (1 + 2j, 1.0), (np.array([1j, 2.0]), 1.0), (10 ** 400, 1.0),
                                  (None, 1.0), ("x", 1.0)])
def test_plain_arguments_leave_the_rest_to_the_general_path(args):
    assert _plain_arguments(args, [0]) is None


@pytest.mark.parametrize("args", [(np.asmatrix([[1.0, 2.0]]), 1.0), (1.0, np.asmatrix([[2.0]])),
                                  (True, 1.0), (1 + 2j, 1.0), (np.array([1j, 2.0]), 1.0), (10 ** 400, 1.0),
                                  ("x", 1.0)],
                         ids=["matrix", "matrix not differentiated", "bool", "complex", "complex array",
                              "huge int", "str"])
def test_refusals_still_happen(args):
    with pytest.raises(s2sad.S2SADError) as through_call:
        s2sad.grad(poly)(*args)
    with pytest.raises(s2sad.S2SADError) as general:
        s2sad.grad(poly)._call_general(args, {})
    assert type(through_call.value) is type(general.value)
    assert str(through_call.value) == str(general.value)


def test_keywords_take_the_general_path_and_agree():
    g = s2sad.grad(scaled)
    assert same(g(1.5, scale=3.0), g(1.5, 3.0))
    assert same(s2sad.grad(keyword_only)(1.5, k=2.0), 6.0)


def test_the_users_own_error_is_raised_unchained_on_both_paths():
    g = s2sad.grad(reciprocal)
    for call in (lambda: g(1.0), lambda: g._call_general((1.0,), {})):
        with pytest.raises(ZeroDivisionError) as info:
            call()
        assert info.value.__cause__ is None and info.value.__context__ is None


def test_wrong_arity_is_an_argument_error():
    with pytest.raises(s2sad.ArgumentError, match="pass the arguments"):
        s2sad.grad(poly)(1.0, 2.0, 3.0)


# ---------------------------------------------------------------- staleness on the plain path


def _inner(x):
    return x * x


def _inner_cubed(x):
    return x * x * x


def outer(x):
    return _inner(x) + 1.0


def make_closure(c):
    def f(x):
        return c * x

    def rebind(value):
        nonlocal c
        c = value

    return f, rebind


def test_a_redefined_helper_is_seen_on_the_plain_path(monkeypatch):
    g = s2sad.grad(outer)
    assert g(3.0) == 6.0
    monkeypatch.setitem(globals(), "_inner", _inner_cubed)
    assert g(3.0) == 27.0
    assert g(3) == 27.0


def test_a_rebound_closure_cell_is_seen_on_the_plain_path():
    f, rebind = make_closure(2.0)
    g = s2sad.grad(f)
    assert g(1.0) == 2.0
    rebind(5.0)
    assert g(1.0) == 5.0


def test_changed_defaults_are_seen_on_the_plain_path(monkeypatch):
    g = s2sad.grad(scaled)
    assert g(1.0) == 4.0
    monkeypatch.setattr(scaled, "__defaults__", (10.0,))
    assert g(1.0) == 20.0


def test_cached_request_is_the_same_object():
    assert s2sad.grad(poly) is s2sad.grad(poly)


# ---------------------------------------------------------------- the signature cache of the general path
# The general path caches each function's signatures (s2sad.api._signatures); the cache must miss when
# the function's __code__, __defaults__ or __kwdefaults__ change, or these give the old parameters.


def shifted(x, shift=1.0):
    return (x + shift) ** 3


def shifted_kw(x, *, shift=1.0):
    return (x + shift) ** 3


def two_parameters(x, y):
    return x * y * y


def three_parameters(a, b, c):
    return a * b + c * c * c


@pytest.mark.parametrize("derivative", ["grad", "jvp"])
@pytest.mark.parametrize("func, attribute, new", [(shifted, "__defaults__", (4.0,)),
                                                  (shifted_kw, "__kwdefaults__", {"shift": 4.0})],
                         ids=["defaults", "kwdefaults"])
def test_changed_defaults_are_seen_after_keyword_calls(monkeypatch, derivative, func, attribute, new):
    generated = getattr(s2sad, derivative)(func)
    extra = (1.0,) if derivative == "jvp" else ()  # a jvp takes a tangent and gives (value, tangent)

    def d(*args, **kwargs):
        result = generated(*args, *extra, **kwargs)
        return result[1] if derivative == "jvp" else result

    for _ in range(2):  # the second call uses the cache
        np.testing.assert_allclose(d(0.5, shift=2.0), 3 * 2.5 ** 2)
        np.testing.assert_allclose(d(0.5), 3 * 1.5 ** 2)
    monkeypatch.setattr(func, attribute, new)
    for kwargs in ({}, {"shift": 2.0}):
        expected = numeric_grad(lambda x: func(x, **kwargs), [0.5])
        np.testing.assert_allclose(d(0.5, **kwargs), expected, rtol=1e-6)


def test_a_kwdefault_changed_in_place_is_seen(monkeypatch):
    d = s2sad.jvp(shifted_kw)
    np.testing.assert_allclose(d(0.5, 1.0)[1], 3 * 1.5 ** 2)
    monkeypatch.setitem(shifted_kw.__kwdefaults__, "shift", 4.0)
    np.testing.assert_allclose(d(0.5, 1.0)[1], numeric_grad(shifted_kw, [0.5]), rtol=1e-6)


def test_a_replaced_code_with_another_signature_is_seen(monkeypatch):
    g = s2sad.grad(two_parameters, wrt="y")
    np.testing.assert_allclose(g(x=2.0, y=3.0), 12.0)
    np.testing.assert_allclose(g(2.0, y=3.0), 12.0)
    monkeypatch.setattr(two_parameters, "__code__", three_parameters.__code__)
    # the parameter at position 1 is now b; keywords name the new parameters
    result = g(a=2.0, b=3.0, c=0.5)
    np.testing.assert_allclose(result, numeric_grad(three_parameters, [2.0, 3.0, 0.5], wrt=1), rtol=1e-6)


class _Scaled:
    def __init__(self):
        self.a = 3.0

    @s2sad.differentiate
    def f(self, x):
        return self.a * np.sum(x ** 3)


def test_method_derivatives_count_wrt_after_self():
    """Every derivative of a bound @differentiate method is taken w.r.t. the parameter after
    ``self`` (the old .jvp/.vjp/.jacobian/.hessian/.hvp took wrt=0 as ``self`` and refused)."""
    m, x, v = _Scaled(), np.array([0.5, -1.0]), np.array([1.0, 2.0])
    grad = 9.0 * x ** 2
    np.testing.assert_allclose(m.f.grad(x), grad)
    np.testing.assert_allclose(m.f.jvp(x, v)[1], grad @ v)
    np.testing.assert_allclose(m.f.jacobian(x), grad)
    np.testing.assert_allclose(m.f.hessian(x), np.diag(18.0 * x))
    np.testing.assert_allclose(m.f.hvp(x, v), 18.0 * x * v)
    eps = 1e-6
    fd = np.array([(m.f(x + eps * e) - m.f(x - eps * e)) / (2 * eps) for e in np.eye(2)])
    np.testing.assert_allclose(m.f.grad(x), fd, rtol=1e-6)


def _stack_twice(x, y):
    return np.concatenate([x * 2.0, y])


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_jacobian_with_respect_to_an_empty_array(mode):
    """No column to compute: the Jacobian is (len(value), 0) in every mode (forward mode ran no
    jvp and failed with an InternalError on the unset value)."""
    jac = s2sad.jacobian(_stack_twice, mode=mode)(np.zeros(0), np.ones(3))
    assert jac.shape == (3, 0)
    np.testing.assert_allclose(s2sad.jacobian(_stack_twice, mode=mode)(np.ones(2), np.ones(1)),
                               [[2.0, 0.0], [0.0, 2.0], [0.0, 0.0]])


def bias_sum(x, b=0.0, scale=1.0):
    return np.sum(np.tanh(x + b) * x) * scale


X_BIAS, B_BIAS = np.linspace(-1.0, 1.0, 12).reshape(4, 3), np.full((4, 3), 0.3)


@pytest.mark.parametrize("args, kwargs, positional, specialized", [
    ((X_BIAS,), {"b": B_BIAS}, (X_BIAS, B_BIAS), True),
    ((), {"x": X_BIAS, "b": B_BIAS}, (X_BIAS, B_BIAS), True),
    ((X_BIAS, B_BIAS), {"scale": 1.5}, (X_BIAS, B_BIAS, 1.5), True),
    ((X_BIAS,), {"scale": 1.5}, (X_BIAS, 0.0, 1.5), False),  # b left to its default before scale: general path
], ids=["x, b=", "x=, b=", "x, b, scale=", "x, scale="])
def test_keyword_calls_run_the_code_for_the_shapes_and_agree(args, kwargs, positional, specialized):
    g = s2sad.grad(bias_sum, wrt=(0, 1))
    g._variants.clear()  # the call keys remembered (the derivative is cached across tests)
    got = g(*args, **kwargs)
    np.testing.assert_allclose(got[0], numeric_grad(bias_sum, positional, wrt=0), rtol=1e-6)
    np.testing.assert_allclose(got[1], numeric_grad(bias_sum, positional, wrt=1), rtol=1e-6, atol=1e-8)
    assert np.shape(got[1]) == np.shape(positional[1])
    # by position they take the plain path, to the code for their shapes (a call key remembered)
    assert len(g._variants) == (1 if specialized else 0)
