"""Shared helpers of the QA sweeps (tests/test_qa_*.py): comparing results, shifting arguments
along a direction for finite differences, and checking a pinned refusal (error class and line)."""

from __future__ import annotations

import contextlib
import io
import copy
import linecache

import numpy as np
from gradcheck import numeric_grad, position_of

import s2sad


def _close(a, b, rtol, atol):
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        assert isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)) and len(a) == len(b), (a, b)
        for x, y in zip(a, b):
            _close(x, y, rtol, atol)
        return
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def _args(args):
    return copy.deepcopy(list(args))


def _wrts(wrt):
    return wrt if isinstance(wrt, tuple) else (wrt,)


def _tangent(x, rng):
    return rng.standard_normal(np.shape(x)) if isinstance(x, np.ndarray) else float(rng.standard_normal())


def _shift(f, args, wrt, tangents, s):
    a = _args(args)
    for w, t in zip(_wrts(wrt), tangents):
        p = position_of(f, w)
        a[p] = np.asarray(a[p], dtype=np.float64) + s * t if isinstance(a[p], np.ndarray) else float(a[p]) + s * t
    return a


@contextlib.contextmanager
def _refusal_allowed(refuses):
    """Run the block; with `refuses` = (error class, source text of a line) it must raise exactly
    that s2sad error, pointing (file, line, caret) at that line. With None, anything it raises
    propagates."""
    if refuses is None:
        yield
        return
    error, text = refuses
    try:
        yield
    except s2sad.S2SADError as exc:
        assert type(exc) is error, f"expected {error.__name__}, got {type(exc).__name__}: {exc}"
        where = exc.location
        assert where is not None, f"the refusal names no line:\n{exc}"
        shown = linecache.getline(where.filename, where.line).strip()
        assert shown == text == where.text.strip(), f"the refusal points at {shown!r}, not at {text!r}:\n{exc}"
    else:
        raise AssertionError(f"expected a refusal ({error.__name__} at {text!r}), but it computed a result")


def check_case(f, args, wrt, modes, rtol, atol, refuses=None, *, compile_source=False, hessian_from_grad=False):
    """Check the derivatives of `f` at `args` that `modes` names ("grad", "vg", "jvp", "hvp", "hess")
    against central differences in float64, each mode refusing instead with `refuses` when given
    (see `_refusal_allowed`). grad must leave array arguments unchanged.

    Args:
        compile_source: also compile the generated source of grad and jvp.
        hessian_from_grad: the Hessian's columns are central differences of s2sad's gradient (itself
            checked above) and hvp must equal H @ v; otherwise differences of numeric gradients.
    """
    with contextlib.redirect_stdout(io.StringIO()):
        reference = f(*_args(args))
        expected = numeric_grad(f, _args(args), wrt)
        rng = np.random.default_rng(0)
        if "grad" in modes:
            with _refusal_allowed(refuses):
                g = s2sad.grad(f, wrt)
                if compile_source:
                    compile(g.source, "<generated>", "exec")
                given = _args(args)
                _close(g(*given), expected, rtol, atol)
                for before, after in zip(_args(args), given):
                    if isinstance(before, np.ndarray):
                        np.testing.assert_array_equal(before, after)
        if "vg" in modes:
            with _refusal_allowed(refuses):
                value, gradient = s2sad.value_and_grad(f, wrt)(*_args(args))
                _close(value, reference, 1e-9, 1e-12)
                _close(gradient, expected, rtol, atol)
        if "jvp" in modes:
            with _refusal_allowed(refuses):
                j = s2sad.jvp(f, wrt)
                if compile_source:
                    compile(j.source, "<generated>", "exec")
                tangents = [_tangent(args[position_of(f, w)], rng) for w in _wrts(wrt)]
                value, value_dot = j(*_args(args), *tangents)
                _close(value, reference, 1e-9, 1e-12)
                h = 1e-6
                fd = (np.asarray(f(*_shift(f, args, wrt, tangents, h)), dtype=np.float64)
                      - np.asarray(f(*_shift(f, args, wrt, tangents, -h)), dtype=np.float64)) / (2 * h)
                _close(value_dot, fd, rtol, atol)
        w0 = _wrts(wrt)[0]
        p = position_of(f, w0)
        x = np.asarray(args[p], dtype=np.float64)
        if "hvp" in modes:
            with _refusal_allowed(refuses):
                v = _tangent(args[p], rng)
                hv = s2sad.hvp(f, w0)(*_args(args), v)
                h = 1e-4
                fd = (numeric_grad(f, _shift(f, args, w0, [v], h), w0, h=1e-5)
                      - numeric_grad(f, _shift(f, args, w0, [v], -h), w0, h=1e-5)) / (2 * h)
                _close(hv, fd, 1e-3, 1e-4)
        if "hess" in modes:
            with _refusal_allowed(refuses):
                H = np.asarray(s2sad.hessian(f, w0)(*_args(args))).reshape(x.size, x.size)
                cols = []
                if hessian_from_grad:
                    grad_f = s2sad.grad(f, w0)
                    for e in np.eye(x.size):
                        e = e.reshape(x.shape)
                        cols.append(np.ravel((np.asarray(grad_f(*_shift(f, args, w0, [e], 1e-5)))
                                              - np.asarray(grad_f(*_shift(f, args, w0, [e], -1e-5)))) / 2e-5))
                    _close(H, np.stack(cols, axis=1), 1e-4, 1e-5)
                    if "hvp" in modes:
                        v = _tangent(args[p], np.random.default_rng(1))
                        hv = s2sad.hvp(f, w0)(*_args(args), v)
                        _close(np.ravel(hv), H @ np.ravel(v), 1e-8, 1e-10)
                else:
                    for e in np.eye(x.size):
                        e = e.reshape(x.shape)
                        cols.append(((numeric_grad(f, _shift(f, args, w0, [e], 1e-4), w0, h=1e-5)
                                      - numeric_grad(f, _shift(f, args, w0, [e], -1e-4), w0, h=1e-5)) / 2e-4).ravel())
                    _close(H, np.stack(cols, axis=1), 1e-3, 1e-4)
