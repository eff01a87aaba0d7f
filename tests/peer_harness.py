"""Checks for the peer-style suites (tests/test_peer_*.py), in the manner of autograd's
``check_grads`` and JAX's ``check_grads``: a function is differentiated in reverse mode (grad for
a scalar value, vjp with a random cotangent otherwise) and in forward mode (jvp along a random
direction), and both are compared with central differences in float64 and, where autograd can
run the same source (its ``np`` rebound to ``autograd.numpy``), with autograd's gradient.
"""

from __future__ import annotations

import copy
import types

import numpy as np

import s2sad

try:  # a peer to agree with, when installed
    import autograd
    import autograd.numpy as anp
except ImportError:  # pragma: no cover - the checks against finite differences still run
    autograd = anp = None


def positions(f, wrt):
    names = list(f.__code__.co_varnames[: f.__code__.co_argcount])
    return [names.index(w) if isinstance(w, str) else w for w in (wrt if isinstance(wrt, tuple) else (wrt,))]


def _as_tuple(value, many):
    return tuple(value) if many else (value,)


def _float(x):
    return np.asarray(x, dtype=np.float64)


def _shifted(args, pos, direction, s):
    a = copy.deepcopy(list(args))
    for p, d in zip(pos, direction):
        a[p] = _float(a[p]) + s * d if np.ndim(a[p]) or isinstance(a[p], np.ndarray) else float(a[p]) + s * d
    return a


def directional_fd(f, args, pos, direction, h=1e-6):
    """d/ds f(args + s * direction) at s = 0 by central differences (float64)."""
    plus = f(*_shifted(args, pos, direction, h))
    minus = f(*_shifted(args, pos, direction, -h))
    if isinstance(plus, (tuple, list)):
        return tuple((_float(p) - _float(m)) / (2 * h) for p, m in zip(plus, minus))
    return (_float(plus) - _float(minus)) / (2 * h)


def _inner(a, b):
    if isinstance(a, (tuple, list)):
        return sum(_inner(x, y) for x, y in zip(a, b))
    return float(np.sum(_float(a) * _float(b)))


def _random_like(value, rng):
    if isinstance(value, (tuple, list)):
        return type(value)(_random_like(v, rng) for v in value)
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        return rng.standard_normal(np.shape(value))
    return float(rng.standard_normal())


def close(a, b, rtol=1e-5, atol=1e-6, what=""):
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        assert isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)), (what, a, b)
        assert len(a) == len(b), (what, a, b)
        for x, y in zip(a, b):
            close(x, y, rtol, atol, what)
        return
    assert np.shape(a) == np.shape(b), f"{what}: shape {np.shape(a)} != {np.shape(b)}"
    np.testing.assert_allclose(_float(a), _float(b), rtol=rtol, atol=atol, err_msg=what)


def with_numpy(f, module):
    """`f` with its global ``np`` bound to `module` (the same code and closure)."""
    return types.FunctionType(f.__code__, dict(f.__globals__, np=module), f.__name__, f.__defaults__, f.__closure__)


def autograd_vjp(f, args, pos, out_bar):
    """autograd's vector-Jacobian product of `f` (or None when autograd cannot run it)."""
    if autograd is None:
        return None
    g = with_numpy(f, anp)

    def scalar(*xs):
        a = list(args)
        for p, x in zip(pos, xs):
            a[p] = x
        out = g(*a)
        if isinstance(out, (tuple, list)):
            return sum(anp.sum(o * b) for o, b in zip(out, out_bar))
        return anp.sum(out * out_bar)

    try:
        return tuple(autograd.grad(scalar, k)(*[args[p] for p in pos]) for k in range(len(pos)))
    except Exception:  # noqa: BLE001 - autograd lacks the primitive: finite differences decide alone
        return None


def _usable(peer, args):
    """autograd's answer is a reference only where it is finite and shaped like the argument: its
    np.where and keepdims norm give unreduced shapes, and prod with a zero or norm(inf) give nan,
    where central differences (checked first) confirm s2sad's finite value."""
    return all(np.shape(g) == np.shape(a) and np.all(np.isfinite(_float(g))) for g, a in zip(peer, args))


def check(f, *args, wrt=0, rtol=1e-5, atol=1e-6, modes=("rev", "fwd"), seed=0, against_autograd=True):
    """s2sad's reverse and forward derivatives of `f` at `args` agree with central differences
    and with autograd. The arguments must not change, and gradients have their arguments' shapes."""
    rng = np.random.default_rng(seed)
    pos = positions(f, wrt)
    many = isinstance(wrt, tuple)
    before = copy.deepcopy(list(args))
    value = f(*copy.deepcopy(list(args)))
    scalar = not isinstance(value, (tuple, list)) and np.ndim(value) == 0
    if "rev" in modes:
        if scalar:
            got = _as_tuple(s2sad.grad(f, wrt)(*args), many)
            out_bar = 1.0
        else:
            out_bar = _random_like(value, rng)
            got = _as_tuple(s2sad.vjp(f, wrt)(*args, out_bar), many)
        for p, g in zip(pos, got):
            assert np.shape(g) == np.shape(args[p]), f"gradient of argument {p}: shape {np.shape(g)}"
        # <out_bar, J e_k> for every entry k, by central differences
        for p, g in zip(pos, got):
            x = _float(args[p])
            fd = np.zeros(np.shape(x))
            for idx in np.ndindex(*np.shape(x)):
                e = np.zeros(np.shape(x))
                e[idx] = 1.0
                direction = [e if k == p else np.zeros(np.shape(args[k])) for k in pos]
                direction = [d if np.ndim(args[k]) or isinstance(args[k], np.ndarray) else float(d)
                             for d, k in zip(direction, pos)]
                fd[idx] = _inner(directional_fd(f, args, pos, direction), out_bar)
            close(g, fd, rtol, atol, f"reverse mode, argument {p}, against central differences")
        peer = autograd_vjp(f, args, pos, out_bar) if against_autograd else None
        if peer is not None and _usable(peer, [args[p] for p in pos]):
            close(got, tuple(_float(x) for x in peer), rtol, atol, "reverse mode against autograd")
    if "fwd" in modes:
        direction = [_random_like(args[p], rng) for p in pos]
        out, out_dot = s2sad.jvp(f, wrt)(*args, *direction)
        close(out, value, 1e-12, 1e-12, "jvp's value")
        close(out_dot, directional_fd(f, args, pos, direction), rtol, atol, "jvp against central differences")
    for k, (a, b) in enumerate(zip(before, args)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=f"argument {k} changed")
