"""Every error s2sad raises, and where in the user's source it happened.

All exceptions derive from :class:`S2SADError`. Errors found while reading a
function carry a :class:`Location`, and their message shows the file, line,
column, the source line with a caret under the column, and what to do instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """A place in the user's source: file, 1-based line, 0-based column."""

    filename: str
    line: int
    col: int = 0
    text: str = ""  # the source line itself, for the caret display
    function: str = ""  # the function the line belongs to

    def describe(self) -> str:
        where = f'File "{self.filename}", line {self.line}, column {self.col + 1}'
        if self.function:
            where += f", in {self.function}"
        if not self.text:
            return where
        stripped = self.text.lstrip()
        caret_col = max(0, self.col - (len(self.text) - len(stripped)))
        return f"{where}\n    {stripped.rstrip()}\n    {' ' * caret_col}^"


class S2SADError(Exception):
    """Base class of every error s2sad raises.

    Attributes:
        location: where in the user's source the problem is, or None.
        hint: what to do instead, or "".
    """

    def __init__(self, message: str, location: Location | None = None, hint: str = ""):
        self.message = message
        self.location = location
        self.hint = hint
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [self.message]
        if self.location is not None:
            parts.append(self.location.describe())
        if self.hint:
            parts.append(f"Hint: {self.hint}")
        return "\n".join(parts)


class UnsupportedSyntaxError(S2SADError):
    """The function uses a construct s2sad does not differentiate (e.g. `try`)."""


class SourceUnavailableError(S2SADError):
    """The function's source cannot be read (REPL, exec, C extension)."""


class SourceChangedError(SourceUnavailableError):
    """The source file was edited after import: its text is not the code that runs."""


class NoDerivativeError(S2SADError):
    """A call has neither a derivative rule nor Python source to differentiate."""


class RecursionNotSupportedError(S2SADError):
    """The function calls itself, directly or through other functions."""


class NameResolutionError(S2SADError):
    """A name in the function is not defined anywhere s2sad can see."""


class InPlaceUpdateError(S2SADError):
    """An in-place update could change a value s2sad must keep (an alias)."""


class WritingCallError(InPlaceUpdateError):
    """A call writes into one of its arguments (``out=``, ``np.put``, ``x.partition``) in a way
    s2sad does not differentiate."""


class ArgumentError(S2SADError):
    """A differentiated function was called with arguments that cannot work."""


class NonScalarOutputError(ArgumentError):
    """`grad` was asked for a function whose output is not a scalar."""


class WrtError(ArgumentError):
    """`wrt` names no parameter of the function."""


class NonDifferentiablePointError(S2SADError):
    """The derivative code failed (divided by zero, overflowed) where the function itself did not:
    the derivative is infinite or undefined at these arguments."""


class CheckpointError(S2SADError):
    """A loop cannot be checkpointed (``grad(f, checkpoint=...)``): running it again would not
    reproduce it (an in-place update, random numbers)."""


class InternalError(S2SADError):
    """s2sad failed in a way that is its own bug. Please report it with the function."""


class RuleError(S2SADError):
    """A derivative rule is malformed or cannot be applied at a call site."""


class UnsupportedCodeError(S2SADError):
    """Several constructs in a function (or the helpers it calls) stop s2sad at once.

    Raised instead of the first refusal so that one round of edits can fix them all. Its
    message starts with the count and lists every problem, ordered by file and line, each
    with its own location, caret and hint.

    Attributes:
        problems: the individual errors (each an S2SADError subclass such as
            UnsupportedSyntaxError or NoDerivativeError), in the order listed.
    """

    def __init__(self, problems: list[S2SADError], function: str = "", filename: str = ""):
        self.problems = list(problems)
        short = os.path.basename(filename)
        where = f"{function} ({short})" if function and short else function or short or "the function"
        message = f"{len(self.problems)} problems in {where} prevent differentiation:"
        super().__init__(message)

    def _render(self) -> str:
        entries = [self.message]
        for k, problem in enumerate(self.problems, 1):
            text = str(problem).replace("\n", "\n   ")
            entries.append(f"\n{k}. {text}")
        return "\n".join(entries)


class NoDerivativeErrors(UnsupportedCodeError, NoDerivativeError):
    """Several calls without a derivative rule (still caught by ``except NoDerivativeError``)."""


class InPlaceUpdateErrors(UnsupportedCodeError, InPlaceUpdateError):
    """Several unsafe in-place updates (still caught by ``except InPlaceUpdateError``)."""


class UnsupportedSyntaxErrors(UnsupportedCodeError, UnsupportedSyntaxError):
    """Several refused constructs (still caught by ``except UnsupportedSyntaxError``)."""


def _listing_class(problems) -> type:
    """The UnsupportedCodeError to raise: one that is also the problems' kind when they share it."""
    for kind in (NoDerivativeErrors, InPlaceUpdateErrors, UnsupportedSyntaxErrors):
        if all(isinstance(p, kind.__mro__[2]) for p in problems):
            return kind
    return UnsupportedCodeError


def raise_problems(problems: list[S2SADError], function: str = "", filename: str = "") -> None:
    """Raise nothing for no problems, the problem itself for one, else one UnsupportedCodeError.

    Duplicates (a helper inlined twice reports the same line twice) are dropped, and the rest are
    ordered by file (`filename`, the differentiated function's own file, first) and line.

    >>> raise_problems([])  # nothing to report
    """
    unique: dict = {}
    for problem in problems:
        loc = problem.location
        key = (type(problem), problem.message, loc and (loc.filename, loc.line, loc.col))
        unique.setdefault(key, problem)

    def place(problem):
        loc = problem.location
        if loc is None:
            return (2, "", 0, 0)
        return (0 if loc.filename == filename else 1, loc.filename, loc.line, loc.col)

    ordered = sorted(unique.values(), key=place)
    if len(ordered) == 1:
        raise ordered[0]
    if ordered:
        raise _listing_class(ordered)(ordered, function, filename)
