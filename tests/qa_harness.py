"""Shared helpers of the QA sweeps (tests/test_qa_*.py): comparing results, shifting arguments
along a direction for finite differences, and checking a pinned refusal (error class and line)."""

from __future__ import annotations

import contextlib
import copy
import linecache

import numpy as np
from gradcheck import position_of

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
