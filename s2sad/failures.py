"""When generated code raises: whose error is it, and where in the user's source?

A generated function can fail for two reasons. Either the user's function
itself fails on these arguments (``raise ValueError``, a shape mismatch, a
singular matrix), and then the user must see *their* exception, pointing at
*their* file and line; or the derivative code fails where the function does
not (the gradient of ``log`` at 0 divides by zero, a rule that is not
implemented for these arguments, an s2sad bug), and then the user must see an
:class:`~s2sad.errors.S2SADError` naming the line of their source the failing
derivative code came from.

Telling the two apart by inspecting the generated line is guesswork (a tangent
line and its primal line sit side by side), so :func:`users_own_error` asks
the one authority: it runs the user's function once more on the same
arguments. This happens only on the failure path, which costs a second run of
the function (and of its side effects, such as printing) when it fails.
"""

from __future__ import annotations

import linecache
import os
import re

import numpy as np

from . import ir
from .errors import ArgumentError, InternalError, Location, NoDerivativeError, NonDifferentiablePointError, S2SADError

_OWN_ERROR = "__s2sad_users_own_error__"  # set on an exception the user's function raised itself
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
# the comment codegen writes above the statements of one source line
_LINE_COMMENT = re.compile(r"^\s*# line (\d+)(?: in ([\w.<>]+))?: (.*)$")
_OTHER_COMMENT = re.compile(r"^\s*# ")


def users_own_error(primal, args, kwargs, generated_exc):
    """The exception `primal(*args, **kwargs)` raises, marked as the user's own, or None.

    Args:
        primal: the user's function.
        args, kwargs: the arguments the generated function received for primal's parameters.
        generated_exc: what the generated code raised (being handled now; it is not chained
            to the user's exception, which is shown as if the function had been called alone).

    Returns:
        ``(exception, None)``, the exception with its traceback trimmed to start
        in `primal`; or ``(None, value)`` if the call returned `value`.
    """
    try:
        value = primal(*args, **kwargs)
    except Exception as exc:  # the user's function fails here too: it is their error
        try:
            setattr(exc, _OWN_ERROR, True)
        except AttributeError:  # pragma: no cover - exceptions with __slots__
            pass
        link = exc
        while link is not None:  # raised while `generated_exc` was being handled: unchain it
            if link.__context__ is generated_exc:
                link.__context__ = None
            link = link.__context__
        tb = exc.__traceback__
        return exc.with_traceback(tb.tb_next if tb is not None and tb.tb_next is not None else tb), None
    return None, value


def is_users_own(exc) -> bool:
    """True if `exc` came from running the user's function (see :func:`users_own_error`)."""
    return getattr(exc, _OWN_ERROR, False)


def failing_location(exc, generated_filename: str, fn: ir.Function | None, primal) -> Location | None:
    """The user's source line behind the innermost generated line that `exc` passed through.

    The generated source says, above each group of statements, which line of
    the user's source they come from (``# line 12: z = x * y``, or ``# line 3
    in helper: ...`` for an inlined helper); the IR's Locations give that
    line's file.
    """
    lineno = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == generated_filename:
            lineno = tb.tb_lineno
        tb = tb.tb_next
    if lineno is None:
        return None
    lines = linecache.getlines(generated_filename)
    if fn is not None and 0 < lineno <= len(lines) and _is_final_return(lines[lineno - 1]):
        # the final `return` has no comment of its own, yet folds in the last statement's expression
        defining = [s for s in fn.body if fn.result in ir.defs(s)]
        loc = getattr(defining[-1], "loc", None) if defining else None
        return loc if loc is not None and loc.text else None
    for text in reversed(lines[: lineno - 1]):
        match = _LINE_COMMENT.match(text)
        if match:
            return _location(int(match.group(1)), match.group(2), match.group(3), fn, primal)
        if _OTHER_COMMENT.match(text):  # "# reverse sweep" and the like: no source line
            return None
    return None


def _is_final_return(text: str) -> bool:
    # compile_function nests the generated function in a factory: its body is indented 8 spaces,
    # and only the final return (desugar leaves one) sits at that depth
    return text.startswith(" " * 8 + "return") and not text.startswith(" " * 9)


def _location(line, function, text, fn, primal) -> Location:
    main = primal.__code__.co_filename if hasattr(primal, "__code__") else "<unknown>"
    if fn is not None:
        for stmt in ir.walk(fn.body):
            loc = getattr(stmt, "loc", None)
            if loc is not None and loc.line == line and (function is None or loc.function == function):
                return loc
    text = linecache.getline(main, line).rstrip("\n") or text
    col = len(text) - len(text.lstrip())
    return Location(main, line, col, text, function or primal.__name__)


def derivative_failure(exc, kind: str, primal, location: Location | None, value) -> S2SADError:
    """The S2SADError for `exc`, raised by derivative code where the user's function runs fine
    and returns `value`."""
    what = f"the generated {kind} of {primal.__name__}"
    if _is_complex(value):
        return ArgumentError(f"{primal.__name__} returned a complex value at these arguments, so {what} "
                             f"failed ({type(exc).__name__}: {exc}); s2sad differentiates real functions",
                             location, hint="pass arguments where the function is real (e.g. no negative base "
                             "with a fractional power), or split it into real and imaginary parts")
    if isinstance(exc, NotImplementedError):
        message = str(exc).removeprefix("s2sad: ")
        return NoDerivativeError(f"{what} cannot differentiate this line: {message}", location,
                                 hint="rewrite the line with operations s2sad differentiates (the message says which)")
    if isinstance(exc, (ZeroDivisionError, OverflowError, FloatingPointError)):
        return NonDifferentiablePointError(
            f"{what} failed with {type(exc).__name__} ({exc}) at these arguments, where "
            f"{primal.__name__} itself does not fail: its derivative is infinite or undefined here",
            location,
            hint="evaluate the derivative at a point where the function is differentiable (e.g. away from 0 "
            "for log, sqrt or division), or use NumPy arrays/floats so that such values become inf or nan",
        )
    if isinstance(exc, np.linalg.LinAlgError):
        return NonDifferentiablePointError(
            f"{what} failed with LinAlgError ({exc}) at these arguments, where {primal.__name__} itself does "
            "not fail: the derivative rule of a linear-algebra call on this line needs a nonsingular "
            "(or full-rank, or positive definite) matrix", location,
            hint="evaluate the derivative where the matrix is nonsingular, or write the computation so that "
            "its derivative does not need an inverse (e.g. slogdet instead of det)")
    inside = _raised_inside_s2sad(exc)
    return InternalError(
        f"{what} failed with {type(exc).__name__}: {exc}, although {primal.__name__} itself runs on these "
        f"arguments{' (in s2sad code)' if inside else ''}. This is a bug in s2sad; please report it with the "
        "function and the arguments.",
        location,
    )


def _raised_inside_s2sad(exc) -> bool:
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    return last is not None and os.path.abspath(last.tb_frame.f_code.co_filename).startswith(_PACKAGE_DIR)


def _is_complex(value) -> bool:
    if isinstance(value, (tuple, list)):
        return any(_is_complex(v) for v in value)
    return isinstance(value, complex) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") == "c")
