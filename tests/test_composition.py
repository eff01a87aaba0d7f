"""Closed under composition (issue 10 §3): every operator takes generated code, generated code can be
called inside a function being differentiated, and derivative(order=n) takes arrays.

Each composition runs over a list of base functions (scalar, vector, with a loop, with a branch) and is
compared with central finite differences in float64 of something one level lower (the gradient s2sad
makes of the base function, itself checked against differences of the base function elsewhere), so
the references never need a difference of a difference.
"""

import numpy as np
import pytest

import s2sad
from s2sad.rules import registry

# ------------------------------------------------------------------ base functions


def scalar_fn(x):
    return np.sin(x) * x ** 3 + np.exp(0.5 * x)


def vector_fn(x):
    return np.sum(np.sin(x) * x ** 2) + np.prod(x)


def loop_fn(x):
    s = 1.0
    for i in range(x.shape[0]):
        s = s * np.cos(x[i]) + x[i] ** 2  # s is carried: the gradient keeps a tape
    return s


def damped_fn(x):
    s = 0.0
    for i in range(x.shape[0]):
        s = s * 0.5 + np.sin(x[i])  # the order of the iterations matters (reversed loops reversed again)
    return s * s


def while_fn(x):
    y = x
    while np.sum(y * y) > 0.5:
        y = 0.7 * y + 0.1 * np.sin(y)  # the gradient counts the iterations and keeps a tape
    return np.sum(y ** 3)


def fill_fn(x):
    out = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = np.tanh(x[i]) * x[i]  # the gradient's loop keeps no tape: reverse mode over it works
    return np.sum(out * out)


def branch_fn(x):
    if np.sum(x) > 0:
        y = np.sum(x ** 3) * np.sum(x)
    else:
        y = np.sum(np.cos(x))
    return y


def branch_else_fn(x):
    return branch_fn(x)  # at a point where the else branch runs


def indexed_fn(x):
    return x[0] ** 2 * x[1] + np.sin(x[2]) * x[0]  # the gradient accumulates in place: x_bar[1] += ...


def recurrence_fn(x):
    y = np.zeros(3)
    for i in range(3):
        y[i] = np.sin(x[i]) * y[i - 1] + x[i]  # the gradient saves y[i] and puts it back (restore)
    return np.sum(y * y)


def append_fn(x):
    vals = []
    s = 0.5
    for i in range(x.shape[0]):
        vals.append(np.sin(x[i]) * s + x[i])  # the gradient takes the append back (unappend)
        s = s + vals[-1] * x[i]
    return s * vals[1]


def overwrites(x):
    y = x * 1.0
    a = np.sum(y * y)
    y[0] = 0.0  # the gradient puts the old y[0] back for the reverse sweep (restore)
    return a + np.sum(np.sin(y))


X_VEC = np.array([0.3, 0.7, 1.1])
POINTS = {scalar_fn: 0.7, vector_fn: X_VEC, loop_fn: X_VEC, damped_fn: X_VEC, while_fn: X_VEC, fill_fn: X_VEC,
          branch_fn: X_VEC, branch_else_fn: -X_VEC, indexed_fn: X_VEC, recurrence_fn: X_VEC, append_fn: X_VEC,
          overwrites: X_VEC}


def direction(x, seed):
    return np.random.default_rng(seed).standard_normal(np.shape(x)) if np.ndim(x) else 0.6 + 0.1 * seed


def fd_jacobian(fun, x, h=1e-6):
    """Central differences of `fun` at `x`: shape fun(x).shape + x.shape."""
    x = np.asarray(x, dtype=float)
    cols = []
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = h
        e = e.reshape(x.shape)
        cols.append((np.asarray(fun(x + e), dtype=float) - np.asarray(fun(x - e), dtype=float)) / (2 * h))
    out = np.stack(cols, -1)
    return out.reshape(np.shape(fun(x)) + x.shape)


def hessian_fd(f, x):
    """The Hessian of f: differences of s2sad's gradient of f."""
    return fd_jacobian(s2sad.grad(f), x)


def close(got, want, tol=1e-6):
    np.testing.assert_allclose(np.asarray(got, dtype=float), np.asarray(want, dtype=float), rtol=tol, atol=tol)


def times(H, v):
    """H @ v for a Hessian of a scalar or vector argument."""
    return H * v if np.ndim(v) == 0 else H @ v


# ------------------------------------------------------------------ operators applied to generated code


def jvp_of_grad(f, x):  # forward over reverse
    v = direction(x, 1)
    close(s2sad.jvp(s2sad.grad(f))(x, v)[1], times(hessian_fd(f, x), v))


def vjp_of_grad(f, x):  # reverse over reverse
    u = direction(x, 2)
    close(s2sad.vjp(s2sad.grad(f))(x, u), times(hessian_fd(f, x).T, u))


def jacobian_of_grad(f, x):  # the Hessian, as the Jacobian of the generated gradient
    close(s2sad.jacobian(s2sad.grad(f))(x), hessian_fd(f, x))


def jvp_of_jvp(f, x):  # forward over forward: d/dt jvp_f(x + t u, v) = (J u, u^T H v)
    v, u = direction(x, 3), direction(x, 4)
    (value, value_dot), (value_dot_again, second) = s2sad.jvp(s2sad.jvp(f))(x, v, u)
    close(value, f(x))
    close(second, np.sum(u * times(hessian_fd(f, x), v)))


def vjp_of_vjp(f, x):  # reverse over reverse with a cotangent: d/dx (out_bar * grad f(x)) . u
    u = direction(x, 5)
    close(s2sad.vjp(s2sad.vjp(f))(x, 1.5, u), 1.5 * times(hessian_fd(f, x).T, u))


def reverse_jacobian_of_grad(f, x):  # the Hessian, one reverse sweep over the gradient per row
    close(s2sad.jacobian(s2sad.grad(f), mode="reverse")(x), hessian_fd(f, x))


def grad_of_grad_wrt_other(f, x):
    """grad of a generated function with a scalar output: G(x, a) = d/da f(a x), differentiated in x."""
    G = s2sad.grad(lambda_free_scaled(f), wrt=1)
    close(s2sad.grad(G)(x, 0.8), fd_jacobian(lambda y: G(y, 0.8), x))


def hvp_of_generated(f, x):
    G = s2sad.grad(lambda_free_scaled(f), wrt=1)
    v = direction(x, 6)
    close(s2sad.hvp(G)(x, 0.8, v), times(fd_jacobian(lambda y: s2sad.grad(G)(y, 0.8), x), v))


def hessian_of_generated(f, x):
    G = s2sad.grad(lambda_free_scaled(f), wrt=1)
    close(s2sad.hessian(G)(x, 0.8), fd_jacobian(lambda y: s2sad.grad(G)(y, 0.8), x))


def value_and_grad_of_generated(f, x):
    G = s2sad.grad(lambda_free_scaled(f), wrt=1)
    value, gradient = s2sad.value_and_grad(G)(x, 0.8)
    close(value, G(x, 0.8))
    close(gradient, fd_jacobian(lambda y: G(y, 0.8), x))


def check_grad_of_generated(f, x):
    assert s2sad.check_grad(s2sad.grad(lambda_free_scaled(f), wrt=1), x, 0.8) < 1e-5


_SCALED = {}


def lambda_free_scaled(f):
    """``f(a * x)`` as a def (s2sad reads it), one per base function."""
    if f not in _SCALED:
        def scaled(x, a):
            return f(a * x)

        _SCALED[f] = scaled
    return _SCALED[f]


# ------------------------------------------------------------------ generated code called inside


def grad_calling_generated(f, x):
    g = s2sad.grad(f)

    def h(x):
        return np.sum(g(x) ** 2) + np.sum(x * x)

    close(s2sad.grad(h)(x), fd_jacobian(h, x))


def hvp_calling_generated(f, x):
    g = s2sad.grad(f)

    def h(x):
        return np.sum(np.sin(g(x)))

    v = direction(x, 7)
    close(s2sad.hvp(h)(x, v), times(fd_jacobian(s2sad.grad(h), x), v))


def jvp_calling_generated(f, x):
    g = s2sad.grad(f)

    def h(x):
        return g(x) * 2.0 + x

    v = direction(x, 8)
    value, value_dot = s2sad.jvp(h)(x, v)
    close(value, h(x))
    close(value_dot, times(fd_jacobian(h, x), v))


COMPOSITIONS = [jvp_of_grad, vjp_of_grad, jacobian_of_grad, jvp_of_jvp, vjp_of_vjp, grad_of_grad_wrt_other,
                hvp_of_generated, hessian_of_generated, value_and_grad_of_generated, check_grad_of_generated,
                grad_calling_generated, hvp_calling_generated, jvp_calling_generated]
# every composition over the four kinds of base function; the other bases (a loop whose order matters, a while
# loop, a loop without a tape, the other branch, in-place accumulation) through a few compositions
CASES = [(f, c) for f in (scalar_fn, vector_fn, loop_fn, branch_fn) for c in COMPOSITIONS] + [
    (f, c) for f in (damped_fn, while_fn, fill_fn, branch_else_fn, indexed_fn)
    for c in (vjp_of_grad, jvp_of_jvp, grad_calling_generated, hvp_of_generated)] + [
    # generated code that puts back what an in-place update overwrote, reversed again and called inside
    (f, c) for f in (recurrence_fn, append_fn, overwrites)
    for c in (vjp_of_grad, reverse_jacobian_of_grad, vjp_of_vjp, grad_of_grad_wrt_other, hessian_of_generated,
              grad_calling_generated, hvp_calling_generated, jvp_calling_generated)]


@pytest.mark.parametrize("f, compose", [pytest.param(f, c, id=f"{f.__name__}-{c.__name__}") for f, c in CASES])
def test_composition_matches_finite_differences(f, compose):
    compose(f, POINTS[f])


def test_grad_of_grad_for_arrays_says_the_gradient_is_not_a_scalar():
    with pytest.raises(s2sad.NonScalarOutputError, match="scalar"):
        s2sad.grad(s2sad.grad(vector_fn))(X_VEC)


def test_grad_of_grad_of_a_scalar_function_still_matches():
    close(s2sad.grad(s2sad.grad(scalar_fn))(0.7), fd_jacobian(s2sad.grad(scalar_fn), 0.7))


def test_three_levels():
    # vjp of jvp of grad: reverse over forward over reverse
    def f(x):
        return np.sum(np.tanh(x) * x)

    x, v, u = X_VEC, direction(X_VEC, 1), direction(X_VEC, 2)
    third = s2sad.vjp(s2sad.jvp(s2sad.grad(f)), wrt=0)(x, v, (np.zeros(3), u))
    want = fd_jacobian(lambda y: s2sad.jvp(s2sad.grad(f))(y, v)[1], x).T @ u
    close(third, want)


def test_against_autograd():
    ag = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")

    def f(x):
        return np.sum(np.sin(x) * x ** 2) + np.prod(x)

    def f_ag(x):
        return anp.sum(anp.sin(x) * x ** 2) + anp.prod(x)

    close(s2sad.jacobian(s2sad.grad(f))(X_VEC), ag.hessian(f_ag)(X_VEC), 1e-10)
    u = direction(X_VEC, 3)
    close(s2sad.vjp(s2sad.grad(f))(X_VEC, u), ag.hessian(f_ag)(X_VEC).T @ u, 1e-10)


# ------------------------------------------------------------------ refusals and staleness


def test_a_driver_has_no_ir_to_transform():
    H = s2sad.hessian(vector_fn)
    with pytest.raises(s2sad.S2SADError, match="driver"):
        s2sad.jvp(H)

    def h(x):
        return np.sum(H(x))

    with pytest.raises(s2sad.S2SADError, match="driver") as info:
        s2sad.grad(h)
    assert info.value.location is not None and "H(x)" in info.value.location.text


def test_reverse_over_a_restore_makes_the_updates_pure():
    # y[i] = v becomes a copy with the item set, and nothing is put back
    source = s2sad.vjp(s2sad.grad(recurrence_fn)).source
    assert "set_at(" in source
    # reverse mode over it (autograd's Hessian as a second reference)
    ag = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")

    def f_ag(x):
        y = anp.zeros(0)
        for i in range(3):
            y = anp.concatenate([y, [anp.sin(x[i]) * (y[i - 1] if i else 0.0) + x[i]]])
        return anp.sum(y * y)

    close(s2sad.jacobian(s2sad.grad(recurrence_fn), mode="reverse")(X_VEC), ag.hessian(f_ag)(X_VEC), 1e-10)


def test_a_loops_tape_is_reversed_as_a_list():
    g = s2sad.grad(loop_fn)
    source = s2sad.vjp(g).source
    assert "saved.append(" in source and "tape.pop()" in source  # the inner tape a list, the outer its own
    close(s2sad.vjp(g)(X_VEC, np.ones(3)), hessian_fd(loop_fn, X_VEC).T @ np.ones(3))


SCALE = 2.0


def scaled_square(x):
    return SCALE * np.sum(x ** 2)


def test_caller_rebuilds_when_the_called_generated_code_is_stale():
    global SCALE
    g = s2sad.grad(scaled_square)

    def h(x):
        return np.sum(g(x) * x)  # = 2 SCALE |x|^2, gradient 4 SCALE x

    gh = s2sad.grad(h)
    close(gh(X_VEC), 4 * SCALE * X_VEC)
    old = SCALE
    try:
        SCALE = 3.0
        close(gh(X_VEC), 4 * 3.0 * X_VEC)
        # built after the change, from g's IR, which holds the value SCALE had when g was built
        close(s2sad.jvp(g)(X_VEC, np.ones(3))[1], 2 * 3.0 * np.ones(3))

        def h2(x):
            return np.sum(g(x) * x)

        close(s2sad.grad(h2)(X_VEC), 4 * 3.0 * X_VEC)
    finally:
        SCALE = old


def test_a_call_of_generated_code_with_wrong_arguments_is_refused_at_the_call():
    g = s2sad.grad(vector_fn)

    def h(x):
        return np.sum(g(x, x))

    with pytest.raises(s2sad.S2SADError, match="takes 1 argument") as info:
        s2sad.grad(h)
    assert "g(x, x)" in info.value.location.text


def test_no_rule_names_an_argument_like_another_arguments_adjoint():
    # the template of check_cotangent(out_bar, out) once named out's adjoint `out_bar`, which is the other
    # argument: reverse over a vjp then sent the cotangent into the output (a wrong Hessian-vector product)
    for table in (registry.ADJOINT_RULES, registry.TANGENT_RULES):
        for rule in table.values():
            import inspect
            names = list(inspect.signature(rule.template).parameters)
            clashes = [n for n in names for m in names if n in (m + "_bar", m + "_dot")]
            assert not clashes, (rule.template.__name__, clashes)


# ------------------------------------------------------------------ derivative(order=n) of arrays


def elementwise(x):
    return np.sin(x) * x ** 3


@pytest.mark.parametrize("order", [1, 2, 3])
def test_derivative_of_an_array_is_elementwise(order):
    got = s2sad.derivative(elementwise, order=order)(X_VEC)
    want = [s2sad.derivative(elementwise, order=order)(float(v)) for v in X_VEC]
    close(got, want, 1e-12)
    lower = (lambda x: elementwise(x)) if order == 1 else s2sad.derivative(elementwise, order=order - 1)
    close(got, np.diagonal(fd_jacobian(lower, X_VEC)))


def test_derivative_of_a_non_elementwise_function_is_along_all_ones():
    def f(x):
        return np.sum(x) * x ** 2

    close(s2sad.derivative(f)(X_VEC), fd_jacobian(f, X_VEC) @ np.ones(3))
    second = s2sad.derivative(f, order=2)(X_VEC)
    close(second, fd_jacobian(s2sad.derivative(f), X_VEC) @ np.ones(3))


def test_derivative_of_generated_code():
    g = s2sad.grad(vector_fn)
    close(s2sad.derivative(g)(X_VEC), hessian_fd(vector_fn, X_VEC) @ np.ones(3))


# ------------------------------------------------------------------ matrix inputs


def matrix_fn(A):
    return np.sum(np.tanh(A @ A.T)) + np.trace(A) ** 2


def matrix_map(A):
    return np.sin(A) @ A.T


A = np.array([[0.3, -0.5, 0.8], [1.1, 0.2, -0.4]])


def test_hessian_of_a_matrix_input():
    H = s2sad.hessian(matrix_fn)(A)
    assert H.shape == A.shape + A.shape
    close(H, fd_jacobian(s2sad.grad(matrix_fn), A))


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_jacobian_of_a_matrix_input(mode):
    J = s2sad.jacobian(matrix_map, mode=mode)(A)
    assert J.shape == (2, 2) + A.shape
    close(J, fd_jacobian(matrix_map, A))
