"""Finite-difference checks for end-to-end gradient tests.

``numeric_grad`` computes central differences in float64, one element at a
time, for scalar and array arguments. ``assert_grad_matches_fd`` compares it
with ``s2sad.grad(f, wrt)(*args)`` and, on failure, shows the generated source
so the mismatch can be read next to the code that produced it.

Both accept ``wrt`` exactly as ``s2sad.grad`` does: a position, a parameter
name, or a tuple of them (then a tuple of gradients is returned/compared).
"""

from __future__ import annotations

import copy
import importlib.util
import inspect
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

__all__ = [
    "numeric_grad",
    "assert_grad_matches_fd",
    "position_of",
    "copy_args",
    "assert_args_unchanged",
    "module_from_source",
    "snapshot",
    "assert_unchanged",
    "call_unchanged",
]


def position_of(f: Callable, w: int | str) -> int:
    """The positional index of parameter `w` (an int position or a name) of `f`."""
    if isinstance(w, str):
        names = list(inspect.signature(f).parameters)
        return names.index(w)
    return int(w)


def copy_args(args: Sequence[Any]) -> list:
    """Deep copies of the arguments, so that a mutation by the callee is visible."""
    return [copy.deepcopy(a) for a in args]


def assert_args_unchanged(before: Sequence[Any], after: Sequence[Any]) -> None:
    """The gradient function must not modify its arguments."""
    for i, (a, b) in enumerate(zip(before, after)):
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            np.testing.assert_array_equal(
                np.asarray(a), np.asarray(b), err_msg=f"argument {i} was modified in place"
            )
        elif isinstance(a, (float, int, complex, np.generic)):
            assert a == b or (np.isnan(a) and np.isnan(b)), f"argument {i} changed: {a!r} -> {b!r}"


def snapshot(value):
    """A copy of `value` deep enough to see any in-place change: arrays are copied, lists,
    tuples and dicts copied item by item; anything else is kept as it is (immutable)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple)):
        return type(value)(snapshot(v) for v in value) if type(value) in (list, tuple) else \
            [snapshot(v) for v in value]
    if isinstance(value, dict):
        return {k: snapshot(v) for k, v in value.items()}
    return value


def assert_unchanged(before, after, where: str = "argument") -> None:
    """`after` holds what the `snapshot` `before` held: same containers, same array values."""
    if isinstance(before, np.ndarray):
        assert isinstance(after, np.ndarray) and after.shape == before.shape and after.dtype == before.dtype, (
            f"{where} was changed in place: {before!r} -> {after!r}")
        assert np.array_equal(after, before, equal_nan=after.dtype.kind in "fc"), (
            f"{where} was changed in place: {before!r} -> {after!r}")
    elif isinstance(before, (list, tuple)):
        assert len(after) == len(before), f"{where} was changed in place: {before!r} -> {after!r}"
        for k, (b, a) in enumerate(zip(before, after)):
            assert_unchanged(b, a, f"{where}[{k}]")
    elif isinstance(before, dict):
        assert set(after) == set(before), f"{where} was changed in place: {before!r} -> {after!r}"
        for k in before:
            assert_unchanged(before[k], after[k], f"{where}[{k!r}]")


def call_unchanged(fn: Callable, *args, **kwargs):
    """``fn(*args, **kwargs)``, checking that the call changed none of its arguments
    (generated code must never write into the caller's arrays)."""
    before = snapshot((list(args), dict(kwargs)))
    result = fn(*args, **kwargs)
    name = getattr(fn, "__name__", "the generated function")
    assert_unchanged(before[0], list(args), f"an argument of {name}")
    assert_unchanged(before[1], dict(kwargs), f"a keyword argument of {name}")
    return result


def _scalar_output(f: Callable, args: Sequence[Any]) -> float:
    out = np.asarray(f(*copy_args(args)), dtype=np.float64)
    if out.size != 1:
        raise ValueError(f"numeric_grad needs a scalar output, got shape {out.shape}")
    return float(out.reshape(()))


def _fd_one(f: Callable, args: Sequence[Any], pos: int, h: float):
    x = args[pos]
    if isinstance(x, np.ndarray):
        base = np.array(x, dtype=np.float64)
        g = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            step = h * max(1.0, abs(float(base[idx])))
            plus, minus = base.copy(), base.copy()
            plus[idx] += step
            minus[idx] -= step
            a_plus, a_minus = list(args), list(args)
            a_plus[pos], a_minus[pos] = plus, minus
            g[idx] = (_scalar_output(f, a_plus) - _scalar_output(f, a_minus)) / (2.0 * step)
        return g
    if isinstance(x, (float, int, np.floating, np.integer)) and not isinstance(x, bool):
        base = float(x)
        step = h * max(1.0, abs(base))
        a_plus, a_minus = list(args), list(args)
        a_plus[pos], a_minus[pos] = base + step, base - step
        return (_scalar_output(f, a_plus) - _scalar_output(f, a_minus)) / (2.0 * step)
    raise TypeError(f"numeric_grad: cannot perturb argument {pos} of type {type(x).__name__}")


def numeric_grad(f: Callable, args: Sequence[Any], wrt: int | str | tuple = 0, h: float = 1e-6):
    """Central finite differences of scalar-valued `f` at `args` w.r.t. `wrt`.

    The step for element x_i is ``h * max(1, |x_i|)``. Scalar arguments give a
    float; array arguments give an array of the same shape. With a tuple `wrt`
    the result is a tuple, in the same order.
    """
    args = list(args)
    if isinstance(wrt, tuple):
        return tuple(_fd_one(f, args, position_of(f, w), h) for w in wrt)
    return _fd_one(f, args, position_of(f, wrt), h)


def _source_of(g) -> str:
    src = getattr(g, "source", None)
    return src if isinstance(src, str) else "<no .source>"


def assert_grad_matches_fd(
    f: Callable,
    args: Sequence[Any],
    wrt: int | str | tuple = 0,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    h: float = 1e-6,
):
    """Check ``s2sad.grad(f, wrt)(*args)`` against central finite differences.

    Also checks that each gradient has its argument's shape, is finite, and
    that the gradient function left its arguments unchanged. Returns the
    analytic gradient (a tuple when `wrt` is a tuple).
    """
    import s2sad

    args = list(args)
    gf = s2sad.grad(f, wrt)
    before = copy_args(args)
    analytic = call_unchanged(gf, *args)
    assert_args_unchanged(before, args)
    numeric = numeric_grad(f, before, wrt, h=h)

    wrts = wrt if isinstance(wrt, tuple) else (wrt,)
    if isinstance(wrt, tuple):
        assert isinstance(analytic, tuple), (
            f"grad with a tuple wrt must return a tuple, got {type(analytic).__name__}"
        )
        assert len(analytic) == len(wrt), f"expected {len(wrt)} gradients, got {len(analytic)}"
        pairs = list(zip(wrts, analytic, numeric))
    else:
        pairs = [(wrt, analytic, numeric)]

    for w, a, n in pairs:
        arg = before[position_of(f, w)]
        where = f"gradient w.r.t. {w!r} of {getattr(f, '__name__', f)!r}"
        assert np.shape(a) == np.shape(arg), (
            f"{where}: shape {np.shape(a)} differs from the argument's {np.shape(arg)}\n"
            f"generated source:\n{_source_of(gf)}"
        )
        a_arr = np.asarray(a, dtype=np.float64)
        assert np.all(np.isfinite(a_arr)), f"{where} is not finite: {a!r}\n{_source_of(gf)}"
        np.testing.assert_allclose(
            a_arr,
            np.asarray(n, dtype=np.float64),
            rtol=rtol,
            atol=atol,
            err_msg=f"{where} disagrees with finite differences\ngenerated source:\n{_source_of(gf)}",
        )
    return analytic


def module_from_source(directory, name: str, source: str):
    """Write `source` to ``directory/name.py`` and import it as module `name`.

    s2sad reads functions with ``inspect.getsource``, which needs a real file;
    use a fresh `name` for each distinct source (linecache is keyed by path).
    """
    path = Path(directory) / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
