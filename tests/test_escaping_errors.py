"""Issue 9 §4: every exception that escapes from s2sad or its generated code, where the user's
function itself would not raise it, is an S2SADError naming the user's line; when the user's own
code raises, the user sees their own exception and traceback.

The hostile-input probe at the end calls every transformation of a set of functions with inputs
meant to break them (huge ints, empty and 0-d arrays, bools, None, strings, object arrays,
nan/inf, wrong arity) and allows only two outcomes besides success: a non-internal S2SADError, or
the very exception the function itself raises on that input.
"""

from __future__ import annotations

import inspect
import traceback
import warnings

import numpy as np
import pytest

import s2sad
from gradcheck import numeric_grad
from s2sad.errors import ArgumentError, NoDerivativeError, NonDifferentiablePointError


def marked_line(f, marker="# HERE"):
    lines, start = inspect.getsourcelines(f)
    hits = [start + i for i, text in enumerate(lines) if marker in text]
    assert len(hits) == 1, f"test bug: mark one line of {f.__name__} with {marker!r}"
    return hits[0]


# ---------------------------------------------------------------------------
# the offenders named in issue 9
# ---------------------------------------------------------------------------


def square(x):
    return x * x


def mean(x):
    return np.mean(x)


def mean_rows(x):
    return np.sum(np.mean(x, axis=1))


def einsum_interleaved(a, b):
    return np.sum(np.sin(np.einsum(a, [0, 1], b, [1, 2], [0, 2])))


def einsum_interleaved_implicit(x):
    return np.einsum(x, [0], x, [0])


def einsum_squared(x):
    return np.einsum("ij,jk->ik", x, x.T).sum() ** 2


def nuclear(x):
    return np.linalg.norm(x, "nuc") * np.sum(x)


def matrix_norms(x):
    return np.linalg.norm(x, 2) + np.linalg.norm(x, -1) + np.linalg.norm(x, np.inf, keepdims=True)[0, 0]


def nuclear_twice(x):
    return np.linalg.norm(x, "nuc") ** 2  # HERE


def test_huge_int_is_an_argument_error():
    # was: OverflowError: int too large to convert to float
    with pytest.raises(ArgumentError, match="too large"):
        s2sad.grad(square)(10**400)
    assert s2sad.grad(square)(10**300) == 2.0 * 10**300


@pytest.mark.parametrize("f, x", [(mean, np.zeros(0)), (mean, np.zeros((0, 3))), (mean_rows, np.zeros((3, 0))),
                                  (mean_rows, np.zeros((0, 3)))])
def test_gradient_of_a_mean_of_an_empty_array_is_empty(f, x):
    # was: ZeroDivisionError from `np.size(y) / np.size(a)` in generated code
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = s2sad.grad(f)(x)
    assert g.shape == x.shape


rng = np.random.default_rng(9)


@pytest.mark.parametrize("f, args, wrt", [
    (einsum_interleaved, (rng.standard_normal((2, 3)), rng.standard_normal((3, 4))), (0, 1)),
    (einsum_interleaved_implicit, (rng.standard_normal(3),), (0,)),
    (nuclear, (rng.standard_normal((3, 4)),), (0,)),
    (matrix_norms, (rng.standard_normal((4, 3)),), (0,)),
])
def test_once_refused_derivatives_match_finite_differences(f, args, wrt):
    # were: NotImplementedError from generated code (interleaved einsum, norm(x, 'nuc'))
    got = s2sad.grad(f, wrt)(*args)
    want = numeric_grad(f, args, wrt)
    for g, n in zip(got, want):
        np.testing.assert_allclose(g, n, rtol=1e-6, atol=1e-7)
    tangents = [rng.standard_normal(np.shape(args[w])) for w in wrt]
    _, jvp = s2sad.jvp(f, wrt)(*args, *tangents)
    np.testing.assert_allclose(jvp, sum(np.sum(g * t) for g, t in zip(got, tangents)), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("f", [einsum_squared, einsum_interleaved_implicit])
def test_hvp_through_einsum_matches_finite_differences_of_the_gradient(f):
    # was: NotImplementedError("this higher derivative of np.einsum ...") from generated code
    x = rng.standard_normal((2, 3)) if f is einsum_squared else rng.standard_normal(3)
    v = rng.standard_normal(x.shape)
    grad = s2sad.grad(f)
    want = (grad(x + 1e-6 * v) - grad(x - 1e-6 * v)) / 2e-6
    np.testing.assert_allclose(s2sad.hvp(f)(x, v), want, rtol=1e-5, atol=1e-6)


def test_second_derivative_of_the_nuclear_norm_is_refused_at_the_users_line():
    x = rng.standard_normal((3, 3))
    with pytest.raises(NoDerivativeError) as info:
        s2sad.hvp(nuclear_twice)(x, x)
    assert info.value.location.line == marked_line(nuclear_twice)
    assert "nuc" in str(info.value)


# ---------------------------------------------------------------------------
# whose error is it
# ---------------------------------------------------------------------------


def helper_that_checks(z):
    if z > 10.0:
        raise ValueError("z is too large")  # HERE
    return np.sin(z)


def raises_in_a_helper(x, y):
    s = x * y
    for _ in range(2):
        s = s + helper_that_checks(s)
    return s


def raises_itself(x):
    y = np.exp(x)
    if y > 100.0:
        raise FloatingPointError("overflow ahead")  # HERE
    return y


TRANSFORMS = {
    "grad": lambda f, *a: s2sad.grad(f)(*a),
    "value_and_grad": lambda f, *a: s2sad.value_and_grad(f)(*a),
    "jvp": lambda f, *a: s2sad.jvp(f)(*a, 1.0),
    "vjp": lambda f, *a: s2sad.vjp(f)(*a, 1.0),
    "hvp": lambda f, *a: s2sad.hvp(f)(*a, 1.0),
    "hessian": lambda f, *a: s2sad.hessian(f)(*a),
    "derivative3": lambda f, *a: s2sad.derivative(f, 3)(*a),
}


@pytest.mark.parametrize("transform", sorted(TRANSFORMS))
@pytest.mark.parametrize("f, args, helper", [(raises_in_a_helper, (4.0, 3.0), helper_that_checks),
                                             (raises_itself, (5.0,), raises_itself)])
def test_the_users_own_error_points_at_the_users_line(transform, f, args, helper):
    # was: the traceback ended at `File "<s2sad grad of f>", line N`
    with pytest.raises(Exception) as info:
        TRANSFORMS[transform](f, *args)
    exc = info.value
    assert not isinstance(exc, s2sad.S2SADError)
    last = traceback.extract_tb(exc.__traceback__)[-1]
    assert (last.filename, last.lineno) == (__file__, marked_line(helper))
    assert exc.__context__ is None and exc.__cause__ is None  # s2sad's attempt is not chained to it
    assert not any(frame.filename.startswith("<s2sad") for frame in traceback.extract_tb(exc.__traceback__))


def root_of(x):
    y = x ** 0.5  # HERE
    z = y * 2.0
    return z * y + z


def test_an_infinite_derivative_is_an_s2sad_error_at_the_users_line():
    # the function returns 0.0; the adjoint computes the Python float 0.0 ** -0.5
    assert root_of(0.0) == 0.0
    with pytest.raises(NonDifferentiablePointError) as info:
        s2sad.grad(root_of)(0.0)
    assert info.value.location.line == marked_line(root_of)
    assert isinstance(info.value.__cause__, ZeroDivisionError)


def det_of(x):
    return np.linalg.det(x) * 2.0  # HERE


def test_a_derivative_rule_that_needs_an_inverse_is_an_s2sad_error_at_a_singular_matrix():
    x = np.ones((2, 2))
    with pytest.raises(NonDifferentiablePointError, match="LinAlgError") as info:
        s2sad.grad(det_of)(x)
    assert info.value.location.line == marked_line(det_of)


def doubled(x):
    return x * 2.0


def broken_adjoint(y, x):
    x_bar = y_bar * np.ones(2)[5]  # an s2sad bug, as seen from generated code


def uses_doubled(x):
    return doubled(x) + 1.0  # HERE


@pytest.fixture
def broken_rule():
    from s2sad.rules import registry

    s2sad.adjoint(doubled)(broken_adjoint)
    yield
    registry.ADJOINT_RULES.pop(doubled, None)
    registry._generation[0] += 1


def test_a_failure_of_derivative_code_alone_is_an_internal_error(broken_rule):
    with pytest.raises(s2sad.InternalError, match="IndexError") as info:
        s2sad.grad(uses_doubled)(1.5)
    assert info.value.location.line == marked_line(uses_doubled)
    assert isinstance(info.value.__cause__, IndexError)


def vector_power(x):
    return np.sum(x ** 0.5)


def test_a_complex_result_is_an_argument_error():
    with pytest.raises(ArgumentError, match="complex"):
        s2sad.jacobian(lambda x: x ** 0.5)(-2)


def test_derivative_of_order_n_of_an_array_is_elementwise_and_a_list_is_refused():
    # issue 10 §3: an array argument gives the elementwise derivative (it was refused before)
    np.testing.assert_allclose(s2sad.derivative(square, 2)(np.ones(3)), 2.0 * np.ones(3))
    with pytest.raises(ArgumentError, match="scalar"):
        s2sad.derivative(square, 2)([1.0, 2.0])


@pytest.mark.parametrize("transform", ["jacobian", "hessian"])
def test_jacobian_and_hessian_of_an_empty_array_are_empty(transform):
    x = np.zeros((0,))
    got = getattr(s2sad, transform)(lambda v: np.sum(np.sin(v)))(x)
    assert got.shape == (0, 0) if transform == "hessian" else got.shape == (0,)


# ---------------------------------------------------------------------------
# the hostile-input probe
# ---------------------------------------------------------------------------


def p_sin_sum(x):
    return np.sum(np.sin(x))


def p_loop(x):
    s = 0.0
    for i in range(3):
        s = s + np.tanh(x) * i
    return np.sum(s)


def p_branch(x):
    if np.sum(x) > 0:
        return np.sum(x ** 2)
    return np.sum(-x)


def p_index(x):
    return x[0] * 2.0


def p_stats(x):
    return np.std(x) + np.var(x) + np.mean(x) + np.max(x)


def p_linalg(x):
    return np.linalg.det(x) + np.sum(np.linalg.inv(x)) + np.linalg.norm(x, "nuc")


def p_einsum(x):
    return np.einsum("i,i->", x, x) + np.einsum(x, [0], [])


def p_float(x):
    return float(x) * 2.0


def p_inplace(x):
    y = np.zeros(np.shape(x))
    y[...] = x * 2.0
    return np.sum(np.log(y))


HOSTILE = {
    "huge int": 10**400, "int": 3, "zero": 0.0, "empty": np.zeros(0), "empty 2-d": np.zeros((0, 3)),
    "0-d": np.array(2.0), "bool": True, "bool array": np.array([True, False]), "None": None, "str": "abc",
    "object array": np.array([1.0, 2.0], dtype=object), "nan": float("nan"), "inf": float("inf"),
    "nan array": np.array([np.nan, 1.0]), "list": [1.0, 2.0], "tuple": (1.0, 2.0), "complex": 1j,
    "float32 array": np.ones(3, np.float32), "int array": np.arange(3), "huge array": np.full(3, 1e308),
    "singular": np.ones((2, 2)), "square": np.eye(3) + 1.0, "uint8": np.uint8(3), "bytes": b"x",
    "dict": {"a": 1.0}, "datetime": np.datetime64("2020"),
}


def _seed(x):
    try:
        return np.ones_like(np.asarray(x, dtype=np.float64))
    except (TypeError, ValueError, OverflowError):
        return x


PROBE_TRANSFORMS = {
    "grad": lambda f, x: s2sad.grad(f)(x),
    "jvp": lambda f, x: s2sad.jvp(f)(x, _seed(x)),
    "vjp": lambda f, x: s2sad.vjp(f)(x, _seed(f(x))),
    "hvp": lambda f, x: s2sad.hvp(f)(x, _seed(x)),
    "jacobian": lambda f, x: s2sad.jacobian(f)(x),
    "hessian": lambda f, x: s2sad.hessian(f)(x),
    "derivative": lambda f, x: s2sad.derivative(f, 2)(x),
    "wrong arity": lambda f, x: s2sad.grad(f)(x, 1.0),
}


@pytest.mark.parametrize("f", [p_sin_sum, p_loop, p_branch, p_index, p_stats, p_linalg, p_einsum, p_float,
                               p_inplace], ids=lambda f: f.__name__)
def test_hostile_inputs_raise_s2sad_errors_or_the_functions_own(f):
    escaped = []
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, x in HOSTILE.items():
            try:
                f(x)
                own = None
            except Exception as exc:
                own = type(exc)
            for transform, call in PROBE_TRANSFORMS.items():
                if transform == "vjp" and own is not None:
                    continue  # the probe itself needs f's output for the cotangent
                try:
                    call(f, x)
                except s2sad.InternalError as exc:
                    escaped.append(f"{transform} at {name}: InternalError {exc}"[:300])
                except s2sad.S2SADError:
                    pass
                except Exception as exc:
                    if own is None or not isinstance(exc, own) or transform == "wrong arity":
                        escaped.append(f"{transform} at {name}: {type(exc).__name__} {exc}"[:300])
    assert not escaped, "\n".join(escaped)
