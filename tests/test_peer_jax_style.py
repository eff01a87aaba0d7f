"""The second half of the peer-style suite: what autograd's test_graphs/test_wrappers/test_list/
test_dict/test_tuple and JAX's api_test check about derivatives of derivatives, containers in and
out, and the calling conventions, written for s2sad. References are autograd's answers (the same
source with np rebound to autograd.numpy) or closed forms."""

from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from gradcheck import numeric_grad
from peer_harness import with_numpy

import s2sad

R = np.random.default_rng(11)
X3 = R.normal(size=3)
SPD = (lambda a: a @ a.T + 3 * np.eye(3))(R.normal(size=(3, 3)))


def close(a, b):
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), (a, b)
        for k in a:
            close(a[k], b[k])
    elif isinstance(a, (tuple, list)):
        assert type(a) is type(b) and len(a) == len(b), (a, b)
        for x, y in zip(a, b):
            close(x, y)
    else:
        assert np.shape(a) == np.shape(b), (np.shape(a), np.shape(b))
        np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=1e-7, atol=1e-9)


# ------------------------------------------------------------------ Hessians against autograd


def tanh_rev(x):
    return np.sum(np.tanh(x) ** 2 * x[::-1])


def softmax_ce(x):
    e = np.exp(x - np.max(x))
    return np.sum(np.log(e / np.sum(e)) * np.arange(3.0))


def logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def norm_cubed(x):
    return np.linalg.norm(x) ** 3


def abs_cubed(x):
    return np.sum(np.abs(x) ** 3)


def sort_weighted(x):
    return np.sum(np.sort(x) * np.arange(3.0) * x)


def where_branches(x):
    return np.sum(np.where(x > 0, x ** 3, np.sin(x)))


def std_var(x):
    return np.std(x) * np.var(x, ddof=1)


def max_min(x):
    return np.max(x) ** 2 + np.min(x * x)


def product(x):
    return np.prod(x)


def det(a):
    return np.linalg.det(a)


def inv_squared(a):
    return np.sum(np.linalg.inv(a) ** 2)


def sqrt_hypot(x):
    return np.sqrt(x ** 2 + 1.0)


HESSIANS = [
    (tanh_rev, X3), (softmax_ce, X3), (logsumexp, X3), (norm_cubed, X3), (abs_cubed, X3),
    (sort_weighted, X3), (where_branches, X3), (std_var, X3), (max_min, X3), (product, X3),
    (det, R.normal(size=(3, 3))), (inv_squared, SPD), (sqrt_hypot, 1.3),
]


@pytest.mark.parametrize(("f", "x"), HESSIANS, ids=lambda v: getattr(v, "__name__", ""))
def test_hessian_against_autograd(f, x):
    expected = autograd.hessian(with_numpy(f, anp))(x)
    close(s2sad.hessian(f)(x), expected)


def solve_squared(a, b):
    return np.sum(np.linalg.solve(a, b) ** 2)


def test_hessian_of_one_argument_of_two():
    close(s2sad.hessian(solve_squared, 1)(SPD, X3), autograd.hessian(with_numpy(solve_squared, anp), 1)(SPD, X3))


@pytest.mark.parametrize("x", [np.array([0.0, 2.0, 3.0]), np.array([2.0, 0.0, 0.0])], ids=["one zero", "two zeros"])
@pytest.mark.parametrize("f", [product, lambda x: np.sum(np.cumprod(x) ** 2)], ids=["prod", "cumprod"])
def test_second_derivatives_of_products_at_an_exact_zero_are_refused(f, x):
    # the rule's zero count is piecewise constant there: differentiated again it lost the term of the
    # zero entry, and the Hessian came out wrong and not even symmetric; now refused at the line
    # the first derivative is exact (autograd's prod gives nan there and it has no cumprod rule)
    np.testing.assert_allclose(s2sad.grad(f)(x), numeric_grad(f, [x]), atol=1e-6)
    with pytest.raises(s2sad.NoDerivativeError, match="second derivative of np.c?u?m?prod"):
        s2sad.hessian(f)(x)
    with pytest.raises(s2sad.NoDerivativeError, match="second derivative"):
        s2sad.derivative(f, 2)(x)


# ------------------------------------------------------------------ derivatives of derivatives (test_graphs)


def cubic_sin(x):
    return np.sin(x) * x ** 3


def two_args(x, y):
    return np.sin(x * y) * y


GRAD_CUBIC = s2sad.grad(cubic_sin)
GRAD_TANH_REV = s2sad.grad(tanh_rev)


def test_third_derivative():
    ag = with_numpy(cubic_sin, anp)
    close(s2sad.grad(s2sad.grad(GRAD_CUBIC))(0.7), autograd.grad(autograd.grad(autograd.grad(ag)))(0.7))
    close(s2sad.derivative(cubic_sin, 3)(0.7), autograd.grad(autograd.grad(autograd.grad(ag)))(0.7))
    close(s2sad.derivative(cubic_sin, 4)(0.7),
          autograd.grad(autograd.grad(autograd.grad(autograd.grad(ag))))(0.7))


def test_third_derivative_other_args_and_mixed_partials():
    ag = with_numpy(two_args, anp)
    close(s2sad.grad(s2sad.grad(s2sad.grad(two_args)))(0.7, 1.3),
          autograd.grad(autograd.grad(autograd.grad(ag)))(0.7, 1.3))
    close(s2sad.grad(s2sad.grad(two_args, 0), 1)(0.7, 1.3), autograd.grad(autograd.grad(ag, 0), 1)(0.7, 1.3))


def test_operators_over_a_gradient():
    h = autograd.hessian(with_numpy(tanh_rev, anp))(X3)
    v = np.array([1.0, -2.0, 0.5])
    close(s2sad.jacobian(GRAD_TANH_REV)(X3), h)
    close(s2sad.jvp(GRAD_TANH_REV)(X3, v)[1], h @ v)
    close(s2sad.vjp(GRAD_TANH_REV)(X3, v), h.T @ v)
    close(s2sad.hvp(tanh_rev)(X3, v), h @ v)


def gradient_inside(y):
    return np.sum(GRAD_TANH_REV(y) * np.array([1.0, 2.0, 3.0]))


def test_a_gradient_called_inside_a_differentiated_function():
    h = autograd.hessian(with_numpy(tanh_rev, anp))(X3)
    close(s2sad.grad(gradient_inside)(X3), h.T @ np.array([1.0, 2.0, 3.0]))


# ------------------------------------------------------------------ containers in and out (test_list/dict/tuple)


def list_getter(xs):
    return xs[0] * xs[1] + np.sum(xs[2:][0])


def list_slices(xs):
    ys = xs[1:]
    return ys[0] * ys[-1] + xs[0]


def list_loop(xs):
    s = 0.0
    for x in xs:
        s = s + np.sin(x)
    return s


def list_enumerate(xs):
    s = 0.0
    for i, x in enumerate(xs):
        s = s + i * x ** 2
    return s


def list_mean(xs):
    return sum(xs) / len(xs)


def nested_list(xs):
    return xs[0][0] * xs[1][1][0]


def dict_items(d):
    s = 0.0
    for k, v in d.items():
        s = s + np.sum(v ** 2)
    return s


def dict_values(d):
    return sum(d.values())


def dict_keys(d):
    s = 0.0
    for k in d:
        s = s + d[k] * 2.0
    return s


def tuple_reversed(t):
    u = t[::-1]
    return u[0] * 2.0 + u[1]


CONTAINER_ARGS = [
    (list_getter, [1.5, 2.0, R.normal(size=3)]),
    (list_slices, [1.0, 2.0, 3.0, 4.0]),
    (list_loop, [1.0, 2.0, 3.0]),
    (list_enumerate, [1.0, 2.0, 3.0]),
    (list_mean, [1.0, 2.0, 3.0]),
    (nested_list, [[1.0, 2.0], [3.0, [4.0]]]),
    (dict_items, {"a": R.normal(size=2), "b": 1.5}),
    (dict_values, {"a": 1.0, "b": 2.0}),
    (dict_keys, {"a": 1.0, "b": 2.0}),
    (tuple_reversed, (1.0, 2.0)),
]


@pytest.mark.parametrize(("f", "arg"), CONTAINER_ARGS, ids=lambda v: getattr(v, "__name__", ""))
def test_container_arguments_against_autograd(f, arg):
    close(s2sad.grad(f)(arg), autograd.grad(with_numpy(f, anp))(arg))


def tuple_out(x):
    return (x, x ** 2)


def list_out(x):
    return [x, x * 3.0]


def dict_out(x):
    return {"a": x * 2.0, "b": np.sin(x)}


def test_container_results():
    x = np.array([0.5, -1.0])
    close(s2sad.vjp(tuple_out)(x, (np.ones(2), np.ones(2))), 1.0 + 2 * x)
    close(s2sad.vjp(list_out)(1.0, [1.0, 1.0]), 4.0)
    close(s2sad.vjp(dict_out)(0.5, {"a": 1.0, "b": 1.0}), 2.0 + np.cos(0.5))
    close(s2sad.jvp(dict_out)(0.5, 1.0), ({"a": 1.0, "b": np.sin(0.5)}, {"a": 2.0, "b": np.cos(0.5)}))
    close(s2sad.jacobian(tuple_out)(x), np.concatenate([np.eye(2), np.diag(2 * x)]))


def loss_and_stats(x):
    return np.sum(x ** 2), {"n": np.sum(x)}


def test_has_aux_with_a_dict():
    close(s2sad.grad(loss_and_stats, has_aux=True)(X3), (2 * X3, {"n": np.sum(X3)}))
    close(s2sad.value_and_grad(loss_and_stats, has_aux=True)(X3), ((np.sum(X3 ** 2), {"n": np.sum(X3)}), 2 * X3))


# ------------------------------------------------------------------ calling conventions (api_test)


def keyword_only(x, *, a=2.0):
    return x ** a


def with_default(x, y=3.0):
    return x * y


def test_keywords_defaults_and_wrt_tuples():
    close(s2sad.grad(keyword_only)(1.5, a=3.0), 3 * 1.5 ** 2)
    close(s2sad.grad(with_default, wrt=(0, 1))(2.0), (3.0, 2.0))
    close(s2sad.grad(with_default, wrt="y")(2.0, y=4.0), 2.0)
    v, g = s2sad.value_and_grad(two_args, wrt=(0, 1))(0.7, 1.3)
    ag = with_numpy(two_args, anp)
    close(v, two_args(0.7, 1.3))
    close(g, (autograd.grad(ag, 0)(0.7, 1.3), autograd.grad(ag, 1)(0.7, 1.3)))


def test_argument_kinds():
    ag = with_numpy(tanh_rev, anp)
    close(s2sad.grad(cubic_sin)(2), autograd.grad(with_numpy(cubic_sin, anp))(2.0))
    close(s2sad.grad(tanh_rev)(np.array([1, 2, 3])), ag(np.array([1.0, 2.0, 3.0])) * 0 + autograd.grad(ag)(
        np.array([1.0, 2.0, 3.0])))
    g = s2sad.grad(cubic_sin)(np.float32(0.7))
    assert g.dtype == np.float32
    close(s2sad.jvp(cubic_sin)(0.7, 1), (cubic_sin(0.7), autograd.grad(with_numpy(cubic_sin, anp))(0.7)))
    close(s2sad.grad(tanh_rev)(np.zeros(0)), np.zeros(0))
    close(s2sad.hessian(tanh_rev)(np.zeros(0)), np.zeros((0, 0)))
    close(s2sad.jacobian(lambda x: x * 2.0)(np.zeros(0)), np.zeros((0, 0)))


def test_power_at_zero():
    def power(x, y):
        return x ** y

    close(s2sad.grad(power, 1)(0.0, 2.0), 0.0)  # d/dy 0**y = 0 log 0: 0 for y > 0, as JAX
    close(s2sad.grad(power, 0)(0.0, 2.0), 0.0)
    close(s2sad.grad(power, 0)(0.0, 1.0), 1.0)
    close(s2sad.grad(power, 0)(-2.0, 3.0), 12.0)
    close(s2sad.grad(power, 0)(0.0, 0.0), 0.0)


def test_refusals_are_s2sad_errors():
    def dict_comprehension(x):
        d = {k: v * 2.0 for k, v in {"a": x}.items()}
        return d["a"]

    def varargs(*args):
        return args[0] * args[1]

    for f, args in [(dict_comprehension, (1.5,)), (varargs, (2.0, 3.0))]:
        with pytest.raises(s2sad.UnsupportedSyntaxError):
            s2sad.grad(f)(*args)
    with pytest.raises(s2sad.NoDerivativeError, match="full_matrices=False"):
        s2sad.grad(lambda a: np.sum(np.linalg.svd(a)[1]))(R.normal(size=(3, 2)))
    with pytest.raises(s2sad.NoDerivativeError, match="second derivative"):
        s2sad.hessian(lambda a: np.sum(np.linalg.matrix_power(a, 2)))(SPD)


# ------------------------------------------------------------------ wrong calls are s2sad errors (api_test)


def two_params(x, y=2.0):
    return np.sum(np.sin(x) * y)


WRONG_CALLS = {
    "wrt out of range": (s2sad.WrtError, lambda: s2sad.grad(two_params, 5)(1.0)),
    "wrt unknown name": (s2sad.WrtError, lambda: s2sad.grad(two_params, "z")(1.0)),
    "too many arguments": (s2sad.ArgumentError, lambda: s2sad.grad(two_params)(1.0, 2.0, 3.0)),
    "unknown keyword": (s2sad.ArgumentError, lambda: s2sad.grad(two_params)(1.0, z=2.0)),
    "None": (s2sad.ArgumentError, lambda: s2sad.grad(two_params)(None)),
    "a string": (s2sad.ArgumentError, lambda: s2sad.grad(two_params)("a")),
    "an object array": (s2sad.ArgumentError, lambda: s2sad.grad(two_params)(np.array([1.0], dtype=object))),
    "np.matrix": (s2sad.ArgumentError, lambda: s2sad.grad(two_params)(np.matrix([[1.0, 2.0]]))),
    "tangent of the wrong shape": (s2sad.ArgumentError, lambda: s2sad.jvp(two_params)(np.ones(3), np.ones(2))),
    "cotangent of the wrong shape": (s2sad.ArgumentError, lambda: s2sad.vjp(tuple_out)(np.ones(3), (np.ones(3), np.ones(2)))),
    "hvp direction of the wrong shape": (s2sad.ArgumentError, lambda: s2sad.hvp(two_params)(np.ones(3), np.ones(4))),
    "hessian of a vector": (s2sad.NonScalarOutputError, lambda: s2sad.hessian(tuple_out)(np.ones(3))),
    "grad of a list": (s2sad.NonScalarOutputError, lambda: s2sad.grad(list_out)(1.5)),
    "grad of a complex number": (s2sad.NonScalarOutputError, lambda: s2sad.grad(lambda x: x * 1j)(1.5)),
    "derivative of order 0": (s2sad.ArgumentError, lambda: s2sad.derivative(two_params, 0)(1.0)),
}


@pytest.mark.parametrize("name", WRONG_CALLS)
def test_wrong_calls_are_refused_with_s2sad_errors(name):
    error, call = WRONG_CALLS[name]
    with pytest.raises(error):
        call()


def test_numpy_functions_themselves():
    close(s2sad.grad(np.sin)(1.5), np.cos(1.5))
    close(s2sad.grad(np.sum)(np.ones(3)), np.ones(3))
    close(s2sad.grad(float)(1.0), 1.0)
