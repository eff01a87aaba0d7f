"""The derivative API: jvp, vjp, jacobian, hessian, hvp, derivative, laplacian,
divergence, curl, grad of generated code, has_aux. Checked against finite
differences in float64, the lecture examples, and autograd when installed."""

from __future__ import annotations

import numpy as np
import pytest

import s2sad

RNG = np.random.default_rng(1)


def fd_jacobian(f, x, h=1e-6):
    x = np.asarray(x, dtype=float)
    y0 = np.asarray(f(x))
    J = np.zeros(y0.shape + x.shape)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        J[(...,) + idx] = (np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * h)
    return J


def fd_hessian(f, x, h=1e-4):
    x = np.asarray(x, dtype=float)

    def grad(z):
        return fd_jacobian(f, z, 1e-6)

    return fd_jacobian(grad, x, h)


# ------------------------------------------------------------------ lecture examples


def lecture_1(x):
    """f(x1, x2) = (x1*x2 + sin x1, exp(x1 - x2))."""
    x1 = x[0]
    x2 = x[1]
    return np.array([x1 * x2 + np.sin(x1), np.exp(x1 - x2)])


def lecture_1_args(x1, x2):
    return x1 * x2 + np.sin(x1), np.exp(x1 - x2)


def homework(x):
    """f(x1, x2, x3) = (x1*x2 + x1*x3, ln(x1 + x2))."""
    x1, x2, x3 = x[0], x[1], x[2]
    return np.array([x1 * x2 + x1 * x3, np.log(x1 + x2)])


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_lecture_jacobian(mode):
    x = np.array([1.5, 0.5])
    x1, x2 = x
    expected = np.array([[x2 + np.cos(x1), x1], [np.exp(x1 - x2), -np.exp(x1 - x2)]])
    J = s2sad.jacobian(lecture_1, mode=mode)(x)
    np.testing.assert_allclose(J, expected, rtol=1e-12)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_lecture_jacobian_with_scalar_arguments_and_tuple_output(mode):
    J1, J2 = s2sad.jacobian(lecture_1_args, wrt=(0, 1), mode=mode)(1.5, 0.5)
    J = np.stack([J1, J2], axis=-1)
    expected = np.array([[0.5 + np.cos(1.5), 1.5], [np.exp(1.0), -np.exp(1.0)]])
    np.testing.assert_allclose(J, expected, rtol=1e-12)


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_homework_jacobian(mode):
    x = np.array([1.0, 2.0, 3.0])
    x1, x2, x3 = x
    expected = np.array([[x2 + x3, x1, x1], [1 / (x1 + x2), 1 / (x1 + x2), 0.0]])
    np.testing.assert_allclose(s2sad.jacobian(homework, mode=mode)(x), expected, rtol=1e-12)


def test_auto_mode_is_visible_in_source():
    src = s2sad.jacobian(homework).source
    assert "mode='auto'" in src
    assert "for e in basis(x):" in src and "jvp_homework(x, e)" in src
    assert "for e in basis(flat(value)):" in src and "vjp_homework(x, unflat(e, value))" in src
    assert "def jvp_homework" in src and "def vjp_homework" in src


# ------------------------------------------------------------------ jacobian: both modes agree with FD


def vec_fn(x, A):
    y = A @ x
    for i in range(2):
        y = np.tanh(y) + x[i] * y
    return y


def scalar_to_vector(t):
    return np.array([np.sin(t), np.cos(t) * t, t ** 3])


@pytest.mark.parametrize("f, args", [
    (vec_fn, (RNG.standard_normal(3), RNG.standard_normal((4, 3)))),
    (scalar_to_vector, (0.7,)),
    (lecture_1, (np.array([0.2, -0.4]),)),
])
def test_jacobian_modes_agree_with_finite_differences(f, args):
    rest = args[1:]
    fd = fd_jacobian(lambda x: f(x, *rest), args[0])
    Jf = s2sad.jacobian(f, mode="forward")(*args)
    Jr = s2sad.jacobian(f, mode="reverse")(*args)
    Ja = s2sad.jacobian(f)(*args)
    np.testing.assert_allclose(Jf, Jr, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(Ja, Jf, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(Jf, fd, rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------ vjp


def test_vjp_array_and_tuple_outputs():
    x = np.array([0.3, 0.8])
    v = np.array([1.0, -2.0])
    J = fd_jacobian(lecture_1, x)
    np.testing.assert_allclose(s2sad.vjp(lecture_1)(x, v), v @ J, rtol=1e-6)
    g1, g2 = s2sad.vjp(lecture_1_args, wrt=(0, 1))(0.3, 0.8, (1.0, -2.0))
    np.testing.assert_allclose([g1, g2], v @ J, rtol=1e-6)


# ------------------------------------------------------------------ hessian and hvp


def quartic(x):
    return np.sum(x ** 4) + x[0] * x[1] * x[2]


def with_loop(x):
    s = 0.0
    for i in range(3):
        s = s + np.sin(s + x[i]) * x[(i + 1) % 3]
    return s


def with_branch(x):
    if x[0] > 0:
        y = np.exp(x[1]) * x[0]
    else:
        y = x[1] ** 3
    return y * x[2]


def with_while(x):
    y = x
    k = 0
    while k < 3:
        y = np.tanh(y) * x
        k = k + 1
    return np.sum(y)


def with_inplace(x):
    a = np.zeros(3)
    for i in range(3):
        a[i] = x[i] * x[(i + 2) % 3]
    return np.sum(a * a)


HESSIAN_CASES = [quartic, with_loop, with_branch, with_while, with_inplace]
POINTS = [np.array([0.5, -0.3, 0.9]), np.array([-0.5, 0.4, 1.3])]


@pytest.mark.parametrize("f", HESSIAN_CASES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("k", [0, 1])
def test_hessian_matches_finite_differences(f, k):
    x = POINTS[k]
    H = s2sad.hessian(f)(x)
    np.testing.assert_allclose(H, fd_hessian(f, x), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(H, H.T, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("f", HESSIAN_CASES, ids=lambda f: f.__name__)
def test_hvp_equals_hessian_times_v(f):
    # the reference is independent of s2sad: finite differences of finite differences of f
    x = POINTS[0]
    v = RNG.standard_normal(3)
    np.testing.assert_allclose(s2sad.hvp(f)(x, v), fd_hessian(f, x) @ v, rtol=1e-4, atol=1e-5)


def test_hvp_is_forward_over_reverse():
    src = s2sad.hvp(with_loop).source
    assert "# forward sweep" in src and "# reverse sweep" in src
    assert "x_dot" in src and "tape.append" in src
    assert "hessian" not in src  # H is never built


def test_hvp_with_tuple_wrt():
    def f(a, b):
        return np.sum(a * a * b) + np.sin(b[0])

    a, b = np.array([0.3, 0.4]), np.array([1.2, -0.7])
    va, vb = np.array([1.0, 2.0]), np.array([-1.0, 0.5])
    got = s2sad.hvp(f, wrt=(0, 1))(a, b, va, vb)

    def flat_f(z):
        return f(z[:2], z[2:])

    H = fd_hessian(flat_f, np.concatenate([a, b]))
    expected = H @ np.concatenate([va, vb])
    np.testing.assert_allclose(np.concatenate(got), expected, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------ higher derivatives of scalar functions


def scalar_f(x):
    y = x
    for i in range(2):
        y = np.sin(y) * x + x ** 3
    if x > 0:
        y = y * np.exp(-x)
    return y


def fd_derivative(f, x, order, h=1e-3):
    if order == 0:
        return f(x)
    return (fd_derivative(f, x + h, order - 1, h) - fd_derivative(f, x - h, order - 1, h)) / (2 * h)


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("x", [0.4, -0.7])
def test_derivative_orders(order, x):
    got = s2sad.derivative(scalar_f, order=order)(x)
    np.testing.assert_allclose(got, fd_derivative(scalar_f, x, order), rtol=1e-4, atol=1e-4)


def test_third_derivative_exact_polynomial():
    def p(x):
        return 2.0 * x ** 4 - x ** 3 + 5.0 * x

    assert s2sad.derivative(p, order=3)(1.5) == pytest.approx(48.0 * 1.5 - 6.0, rel=1e-12)
    assert s2sad.derivative(p, order=2)(1.5) == pytest.approx(24.0 * 1.5 ** 2 - 6.0 * 1.5, rel=1e-12)


def test_grad_of_grad():
    g2 = s2sad.grad(s2sad.grad(scalar_f))
    for x in (0.4, -0.7):
        np.testing.assert_allclose(g2(x), fd_derivative(scalar_f, x, 2), rtol=1e-4, atol=1e-4)
    g3 = s2sad.grad(g2)
    np.testing.assert_allclose(g3(0.4), fd_derivative(scalar_f, 0.4, 3), rtol=1e-3, atol=1e-3)


def test_grad_of_grad_with_other_arguments():
    def f(x, y):
        return x * y + np.sin(x) * y ** 2

    assert s2sad.grad(s2sad.grad(f))(0.5, 3.0) == pytest.approx(-np.sin(0.5) * 9.0)
    assert s2sad.grad(s2sad.grad(f), wrt="y")(0.5, 3.0) == pytest.approx(1.0 + 2 * 3.0 * np.cos(0.5))


def test_grad_of_grad_refuses_arrays():
    g = s2sad.grad(quartic)
    with pytest.raises(s2sad.NonScalarOutputError):
        s2sad.grad(g)(np.ones(3))


# ------------------------------------------------------------------ laplacian, divergence, curl


def test_laplacian():
    def f(x):
        return np.sum(x ** 3) + x[0] * x[1]

    x = np.array([0.5, -1.0, 2.0])
    assert s2sad.laplacian(f)(x) == pytest.approx(np.sum(6 * x))
    assert s2sad.laplacian(quartic)(x) == pytest.approx(np.trace(fd_hessian(quartic, x)), rel=1e-4)


def field(p):
    x, y, z = p[0], p[1], p[2]
    return np.array([y * z, x * x * z, np.sin(x * y)])


def test_divergence_and_curl():
    p = np.array([0.3, -0.8, 1.1])
    J = fd_jacobian(field, p)
    assert s2sad.divergence(field)(p) == pytest.approx(np.trace(J), abs=1e-7)
    expected = np.array([J[2, 1] - J[1, 2], J[0, 2] - J[2, 0], J[1, 0] - J[0, 1]])
    np.testing.assert_allclose(s2sad.curl(field)(p), expected, rtol=1e-6, atol=1e-7)


def test_curl_of_gradient_is_zero():
    def potential(p):
        return np.sin(p[0] * p[1]) + p[2] ** 2 * p[0]

    def grad_field(p):
        return np.array([p[1] * np.cos(p[0] * p[1]) + p[2] ** 2, p[0] * np.cos(p[0] * p[1]), 2 * p[2] * p[0]])

    np.testing.assert_allclose(s2sad.curl(grad_field)(np.array([0.2, 0.5, -1.0])), 0.0, atol=1e-12)


def test_curl_refuses_non_3d():
    def f(p):
        return p * 2.0

    with pytest.raises(s2sad.ArgumentError):
        s2sad.curl(f)(np.ones(2))


# ------------------------------------------------------------------ has_aux


def loss_with_aux(w, x):
    pred = x @ w
    return np.sum(pred ** 2), pred


def test_has_aux():
    w, x = RNG.standard_normal(3), RNG.standard_normal((4, 3))
    g, aux = s2sad.grad(loss_with_aux, has_aux=True)(w, x)
    np.testing.assert_allclose(g, 2 * x.T @ (x @ w))
    np.testing.assert_allclose(aux, x @ w)
    (value, aux2), g2 = s2sad.value_and_grad(loss_with_aux, has_aux=True)(w, x)
    assert value == pytest.approx(np.sum((x @ w) ** 2))
    np.testing.assert_allclose(aux2, x @ w)
    np.testing.assert_allclose(g2, g)
    g3, aux3 = s2sad.vjp(loss_with_aux, has_aux=True)(w, x, 2.0)
    np.testing.assert_allclose(g3, 2 * g)


# ------------------------------------------------------------------ differentiate objects, errors, docs


def test_differentiate_properties():
    @s2sad.differentiate
    def f(x):
        return np.sum(np.sin(x) * x)

    x = np.array([0.1, 0.2])
    v = np.array([1.0, -1.0])
    assert f.jvp(x, v)[1] == pytest.approx(float(f.grad(x) @ v))
    np.testing.assert_allclose(f.hvp(x, v), f.hessian(x) @ v)
    np.testing.assert_allclose(f.vjp(x, 1.0), f.grad(x))
    np.testing.assert_allclose(f.jacobian(x), f.grad(x))


def test_errors_are_s2sad_errors():
    with pytest.raises(s2sad.ArgumentError):
        s2sad.jacobian(quartic, mode="sideways")
    with pytest.raises(s2sad.ArgumentError):
        s2sad.derivative(scalar_f, order=0)
    with pytest.raises(s2sad.WrtError):
        s2sad.hessian(loss_with_aux, wrt=("w", "x"))
    with pytest.raises(s2sad.SourceUnavailableError):
        s2sad.jvp(np.frombuffer)  # a C function without a rule (np.sin has one: it works)


def test_public_functions_have_docstrings_with_examples():
    for name in ["jvp", "vjp", "jacobian", "hessian", "hvp", "derivative", "laplacian", "divergence", "curl"]:
        doc = getattr(s2sad, name).__doc__
        assert "Args:" in doc and "Returns:" in doc and "Example:" in doc and ">>>" in doc, name


def test_docstring_examples_run():
    import doctest

    import s2sad.derivatives as module

    result = doctest.testmod(module)
    assert result.failed == 0


# ------------------------------------------------------------------ autograd (optional)


def test_against_autograd():
    ag = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")

    def f_np(x):
        return np.sum(np.sin(x) * np.exp(x[0] * x)) + x[1] ** 3

    def f_ag(x):
        return anp.sum(anp.sin(x) * anp.exp(x[0] * x)) + x[1] ** 3

    x = np.array([0.3, -0.6, 0.9])
    np.testing.assert_allclose(s2sad.hessian(f_np)(x), ag.hessian(f_ag)(x), rtol=1e-10)
    v = np.array([0.7, -1.2, 0.4])
    ag_hvp = ag.grad(lambda z: anp.dot(ag.grad(f_ag)(z), v))  # d/dx (grad f . v) = H v
    np.testing.assert_allclose(s2sad.hvp(f_np)(x, v), ag_hvp(x), rtol=1e-10)

    def F_np(x):
        return np.tanh(x * x[0]) + np.cos(x)

    def F_ag(x):
        return anp.tanh(x * x[0]) + anp.cos(x)

    np.testing.assert_allclose(s2sad.jacobian(F_np, mode="forward")(x), ag.jacobian(F_ag)(x), rtol=1e-10)
    np.testing.assert_allclose(s2sad.jacobian(F_np, mode="reverse")(x), ag.jacobian(F_ag)(x), rtol=1e-10)
