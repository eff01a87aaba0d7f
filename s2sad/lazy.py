"""Generated derivatives called on lazy (Dask) arrays never compute behind the user's back.

A generated derivative is plain NumPy-API code, so on Dask arrays it builds a
task graph and returns lazy gradients; the user computes them, in one
``dask.compute`` that shares the forward sweep's tasks. Only Python itself can
force a value early: ``if loss > 0`` or ``while err > tol`` on a lazy value
calls ``bool()``, which makes Dask compute the graph up to that value there
(and again later, since nothing is kept). While a generated function runs on
Dask arguments, :func:`computes_refused` swaps in a Dask scheduler that raises
:class:`LazyValueError` naming the user's line instead.
"""

from __future__ import annotations

import contextlib
import linecache
import re
import sys

from .errors import Location, S2SADError


class LazyValueError(S2SADError):
    """A generated derivative needed the value of a Dask array (Python ``if``/``while`` on it)."""


def has_dask_collection(values) -> bool:
    """Whether any of `values` (looking inside lists, tuples and dicts) is a Dask collection.

    Dask is never imported here: if the user has not imported it, nothing is lazy.

    Example:
        >>> has_dask_collection([1.0, (2.0, [3.0])])
        False
    """
    dask = sys.modules.get("dask")
    if dask is None:
        return False
    pending = list(values)
    while pending:
        value = pending.pop()
        if isinstance(value, (list, tuple)):
            pending.extend(value)
        elif isinstance(value, dict):
            pending.extend(value.values())
        elif dask.is_dask_collection(value):
            return True
    return False


@contextlib.contextmanager
def computes_refused(values, func):
    """Run the body with Dask computes turned into :class:`LazyValueError` if `values` hold Dask arrays.

    Args:
        values: the arguments of the generated call.
        func: the user's function (for the file of the line the error names).

    ``dask.config.set(scheduler=...)`` takes precedence over a distributed
    ``Client``, and is restored on exit, so the refusal covers the generated
    code and nothing after it.
    """
    if not has_dask_collection(values):
        yield
        return
    import dask

    def refuse(*args, **kwargs):
        raise _refusal(func)

    with dask.config.set(scheduler=refuse):
        yield


_LINE_COMMENT = re.compile(r"#\s*line (\d+)(?: in ([\w.<>]+))?: (.*)$")


def _refusal(func) -> LazyValueError:
    return LazyValueError(
        f"the derivative of {func.__name__} needs the value of a Dask array here to go on (a Python `if` or "
        "`while`, `float()`, a NumPy array indexed by a Dask array, or a NumPy function Dask does not implement), "
        "so Dask would compute the graph up to it now, and again when you compute the gradient",
        _user_line(func),
        hint="keep the choice lazy (np.where(cond, a, b) instead of `if`, a fixed number of iterations instead "
        "of `while err > tol`), or compute the value first and pass it in as a plain argument",
    )


def _user_line(func) -> Location | None:
    """The user's line the innermost generated frame on the stack is running, from its ``# line N:`` comment."""
    frame = sys._getframe(1)
    while frame is not None and not frame.f_code.co_filename.startswith("<s2sad"):
        frame = frame.f_back
    if frame is None:
        return None
    lines = linecache.getlines(frame.f_code.co_filename)
    for text in reversed(lines[: frame.f_lineno]):
        match = _LINE_COMMENT.search(text)
        if match:
            line, callee, source = int(match.group(1)), match.group(2), match.group(3)
            owner = getattr(func, "__globals__", {}).get(callee, func) if callee else func
            code = getattr(owner, "__code__", None) or getattr(func, "__code__", None)
            filename = code.co_filename if code is not None else "<unknown>"
            text = linecache.getline(filename, line).rstrip("\n") or source
            return Location(filename, line, len(text) - len(text.lstrip()), text, callee or func.__name__)
    return None
