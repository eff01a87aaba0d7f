"""Every error s2sad raises, and where in the user's source it happened.

All exceptions derive from :class:`S2SADError`. Errors found while reading a
function carry a :class:`Location`, and their message shows the file, line,
column, the source line with a caret under the column, and what to do instead.
"""

from __future__ import annotations

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


class InternalError(S2SADError):
    """s2sad failed in a way that is its own bug. Please report it with the function."""


class RuleError(S2SADError):
    """A derivative rule is malformed or cannot be applied at a call site."""
