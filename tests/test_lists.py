"""Lists built with append and comprehensions: gradients flow item by item."""

import numpy as np
import pytest

import s2sad
from gradcheck import assert_grad_matches_fd, numeric_grad

def collect(x):
    out = []
    for i in range(len(x)):
        out.append(np.sin(x[i]) * x[i])
    return np.sum(np.array(out) ** 2)

def collect_sum(x, w):
    losses = []
    for v in x:
        losses.append((v * w - 1.0) ** 2)
    return sum(losses) / len(losses)

def comp(x):
    ys = [np.tanh(v) * v for v in x if v > -10]
    return np.sum(np.stack(ys))

def genexp(x):
    return sum(v * v for v in x)

def reads_back(x):
    h = [x[0]]
    for i in range(1, len(x)):
        h.append(h[-1] * 0.5 + x[i] * h[i - 1])
    return h[-1] + h[0] * h[1]



def nested_helper_lists(x):
    pairs = [(v, v * v) for v in x]
    total = 0.0
    for a, b in pairs:
        total = total + a * b
    return total


def append_in_branch(x):
    kept = []
    for v in x:
        if v > 0:
            kept.append(v ** 2)
        else:
            kept.append(-v)
    return np.sum(np.array(kept) * np.arange(len(kept)))


X = np.array([0.3, -0.7, 1.2, 0.5])
CASES = [
    (collect, (X,), (0,)),
    (collect_sum, (X, 0.8), (0, 1)),
    (comp, (X,), (0,)),
    (genexp, (X,), (0,)),
    (reads_back, (X,), (0,)),
    (nested_helper_lists, (X,), (0,)),
    (append_in_branch, (X,), (0,)),
]


@pytest.mark.parametrize("f, args, wrt", CASES, ids=[c[0].__name__ for c in CASES])
def test_list_gradients(f, args, wrt):
    assert_grad_matches_fd(f, args, wrt=wrt)


@pytest.mark.parametrize("f, args, wrt", CASES, ids=[c[0].__name__ for c in CASES])
def test_list_hvp_matches_hessian(f, args, wrt):
    x = args[0]
    v = np.linspace(-1.0, 1.0, x.size)
    rest = args[1:]
    hv = s2sad.hvp(f)(x, *rest, v)
    H = s2sad.hessian(f)(x, *rest)
    np.testing.assert_allclose(hv, H @ v, rtol=1e-8, atol=1e-10)
    # both could share a mistake: compare with central differences of the finite-difference gradient
    h = 1e-4
    fd = (numeric_grad(f, (x + h * v, *rest), h=1e-5) - numeric_grad(f, (x - h * v, *rest), h=1e-5)) / (2 * h)
    np.testing.assert_allclose(hv, fd, rtol=1e-4, atol=1e-5)


def test_comprehension_variables_do_not_leak():
    def f(x):
        v = 2.0
        ys = [v * v for v in x]
        return np.sum(np.array(ys)) * v  # v is still 2.0 here, as in Python 3

    assert s2sad.grad(f)(np.array([1.0, 2.0])) == pytest.approx(np.array([4.0, 8.0]))


def test_append_to_a_parameter_is_refused():
    def f(xs, v):
        xs.append(v)
        return sum(xs)

    with pytest.raises(s2sad.InPlaceUpdateError):
        s2sad.grad(f, wrt=1)([1.0], 2.0)


def list_plus(x):
    a = [x[0], x[1]]
    b = [x[2]]
    c = a + b
    return sum(c) * c[2]


def mlp(params, x):
    W1, W2 = params
    h = np.tanh(W1 @ x)
    return np.sum((W2 @ h) ** 2) + np.sum(params[0] ** 2)


def test_list_concatenation_adjoint_is_split_not_concatenated():
    assert_grad_matches_fd(list_plus, (np.array([0.5, 1.5, -0.7]),))


@pytest.mark.parametrize("container", [list, tuple])
def test_parameters_given_as_a_list_of_arrays(container):
    rng = np.random.default_rng(0)
    W1, W2, x = rng.normal(size=(4, 3)), rng.normal(size=(2, 4)), rng.normal(size=3)
    g = s2sad.grad(mlp)(container([W1, W2]), x)
    assert len(g) == 2
    for k, W in enumerate((W1, W2)):
        def along(Wk, k=k):
            ws = [W1, W2]
            ws[k] = Wk
            return mlp(ws, x)

        from gradcheck import numeric_grad

        np.testing.assert_allclose(g[k], numeric_grad(along, (W,), wrt=0), rtol=1e-6, atol=1e-8)


def concatenates_a_list_parameter(params, x):
    both = params + [x]
    return np.sum(both[0]) * both[2]


def test_concatenating_a_list_parameter_is_a_clear_error():
    # s2sad cannot see that `params` is a list: refused when it runs, never a wrong gradient
    with pytest.raises(s2sad.ArgumentError, match="concatenated"):
        s2sad.grad(concatenates_a_list_parameter, wrt=1)([np.ones(2), np.ones(2)], 2.0)
