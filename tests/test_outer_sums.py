"""A loop's sum of outer products (the adjoint of ``W @ h`` in a recurrent network) is one matrix
product after the loop in the specialized gradient (s2sad/outer_sums.py): same numbers as the
generic code and central differences, and no ``np.outer`` per iteration in the code the call runs."""

from __future__ import annotations

import numpy as np
import pytest

import s2sad
from gradcheck import numeric_grad


def rnn(h, W, xs):
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + xs[t])
    return np.sum(h * h)


def rnn_two_weights(h, W, U, xs):
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t])
    return np.sum(np.sin(h))


def rnn_backwards(h, W, xs):
    for t in range(xs.shape[0] - 1, -1, -1):
        h = np.tanh(h @ W + xs[t] * h)
    return np.sum(h)


def _args(*shapes):
    rng = np.random.default_rng(len(shapes) + sum(map(len, shapes)))
    return tuple(rng.normal(size=s) / np.sqrt(s[-1]) for s in shapes)


CASES = [
    (rnn, (1,), _args((4,), (4, 4), (5, 4))),
    (rnn, (0, 1), _args((3,), (3, 3), (6, 3))),
    (rnn, (1,), _args((3,), (3, 3), (0, 3))),  # no iteration: W_bar stays zero
    (rnn_two_weights, (1, 2), _args((4,), (4, 4), (4, 2), (5, 2))),
]
# not proven here (the pass keeps np.outer), checked for the numbers only
KEPT = [(rnn_backwards, (0, 1), _args((3,), (3, 3), (4, 3)))]


@pytest.mark.parametrize("f, wrt, args", CASES + KEPT,
                         ids=[f"{f.__name__}-{a[-1].shape[0]}steps-wrt{w}" for f, w, a in CASES + KEPT])
def test_outer_product_sums_match_differences_and_the_generic_code(f, wrt, args):
    grad = s2sad.grad(f, wrt=wrt)
    got = grad(*args)
    source = grad.for_shapes(*args).source
    rewritten = any(args is a for _, _, a in CASES)
    assert ("np.outer" not in source and "np.transpose(" in source) == rewritten, source
    expected = numeric_grad(f, args, wrt=wrt)
    generic = grad._func(*args)
    for g, e, old, i in zip(got, expected, generic, wrt):
        assert np.shape(g) == np.shape(args[i]) and np.asarray(g).dtype == np.float64
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8, err_msg=source)
        np.testing.assert_allclose(g, old, rtol=1e-12, atol=1e-14)


def test_the_generic_code_keeps_its_helpers():
    """Without shapes (the code for any arguments) nothing is deferred."""
    h, W, xs = _args((3,), (3, 3), (4, 3))
    grad = s2sad.grad(rnn, wrt=1)
    np.testing.assert_allclose(grad(h, W, xs), numeric_grad(rnn, (h, W, xs), wrt=1), rtol=1e-6, atol=1e-8)
    assert "np.transpose(" not in grad.source  # the generic code, for any arguments
