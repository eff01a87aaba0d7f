"""Frontend: a function object -> its gast AST, and a resolver for its free names.

This is the only stage that touches ``inspect``. It finds the source, parses
it with gast (one AST across Python versions), and records where every line
came from so later errors and comments can quote it.
"""

from __future__ import annotations

import builtins
import functools
import inspect
import linecache
import textwrap
from dataclasses import dataclass, field

import gast

from .errors import Location, SourceUnavailableError, UnsupportedSyntaxError

_MISSING = object()


@dataclass
class ParsedFunction:
    """A user function's AST with everything needed to read it.

    Attributes:
        func: the function object.
        node: its ``gast.FunctionDef`` (a lambda is turned into one).
        filename: the file it came from.
        line_offset: add to an AST line number to get the line in `filename`.
        col_offset: add to an AST column to get the column in the file.
        globals: the function's module namespace.
        closure: free variables of the function, name -> value.
    """

    func: object
    node: gast.FunctionDef
    filename: str
    line_offset: int
    col_offset: int
    globals: dict
    closure: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.node.name

    def location(self, node) -> Location:
        """The file location of an AST node (or of the function if it has none)."""
        line = getattr(node, "lineno", None) or self.node.lineno
        col = getattr(node, "col_offset", 0) or 0
        file_line = line + self.line_offset
        text = linecache.getline(self.filename, file_line).rstrip("\n")
        return Location(self.filename, file_line, col + self.col_offset, text, self.name)

    def resolve(self, name: str):
        """The object a free name denotes (closure, then globals, then builtins).

        Returns ``_MISSING`` when the name is bound nowhere.
        """
        if name in self.closure:
            return self.closure[name]
        if name in self.globals:
            return self.globals[name]
        return getattr(builtins, name, _MISSING)


def unwrap(func):
    """The plain Python function behind decorators s2sad knows to look through."""
    seen = set()
    while id(func) not in seen:
        seen.add(id(func))
        if isinstance(func, functools.partial):
            raise SourceUnavailableError(
                f"cannot differentiate the functools.partial object {func!r}",
                hint="differentiate the underlying function and pass the fixed arguments yourself, "
                "or write a small `def` that calls it",
            )
        inner = getattr(func, "__wrapped__", None) or getattr(func, "__s2sad_function__", None)
        if inner is None:
            break
        func = inner
    if inspect.ismethod(func):
        raise SourceUnavailableError(
            f"cannot differentiate the bound method {func!r}",
            hint="differentiate a plain function that takes the object's data as arguments",
        )
    return func


def parse_function(func) -> ParsedFunction:
    """Read and parse the source of `func`.

    Raises:
        SourceUnavailableError: no Python source can be found (C function,
            REPL, ``exec``), with what to do instead.
    """
    func = unwrap(func)
    if not inspect.isfunction(func):
        kind = "a builtin or C extension function" if callable(func) else "not a function"
        raise SourceUnavailableError(
            f"{getattr(func, '__name__', repr(func))} is {kind}; s2sad differentiates Python source",
            hint="pass a Python function defined in a file; to use a NumPy function, "
            "call it inside one (def f(x): return np.sin(x))",
        )
    code = func.__code__
    try:
        lines, start = inspect.getsourcelines(func)
    except (OSError, TypeError) as exc:
        raise SourceUnavailableError(
            f"cannot read the source of {func.__qualname__} (defined in {code.co_filename!r}): {exc}",
            hint="define the function in a .py file (or a notebook cell) rather than with exec() or at "
            "an interactive prompt that keeps no source",
        ) from None
    raw = "".join(lines)
    source = textwrap.dedent(raw)
    col_offset = (len(lines[0]) - len(lines[0].lstrip())) if lines else 0
    try:
        module = gast.parse(source)
    except SyntaxError:
        # A lambda inside a larger expression: getsourcelines returns the whole
        # statement's lines, which may not parse on their own once cut out.
        module = gast.parse("(\n" + source + "\n)") if func.__name__ == "<lambda>" else None
        if module is None:
            raise SourceUnavailableError(
                f"the source of {func.__qualname__} could not be parsed on its own",
                Location(code.co_filename, start, 0, lines[0].rstrip() if lines else "", func.__name__),
                hint="define the function with a plain `def` statement",
            ) from None
        start -= 1
    node = _find_definition(module, func, start)
    filename = code.co_filename
    closure = {}
    if func.__closure__:
        for name, cell in zip(code.co_freevars, func.__closure__):
            try:
                closure[name] = cell.cell_contents
            except ValueError:  # an empty cell: the name is not bound yet
                pass
    return ParsedFunction(func, node, filename, start - 1, col_offset, func.__globals__, closure)


def _find_definition(module, func, start) -> gast.FunctionDef:
    code = func.__code__
    if func.__name__ != "<lambda>":
        for node in gast.walk(module):
            if isinstance(node, (gast.FunctionDef, gast.AsyncFunctionDef)) and node.name == func.__name__:
                if isinstance(node, gast.AsyncFunctionDef):
                    line = node.lineno + start - 1
                    text = linecache.getline(code.co_filename, line).rstrip("\n")
                    raise UnsupportedSyntaxError(
                        f"{func.__name__} is an async function",
                        Location(code.co_filename, line, len(text) - len(text.lstrip()), text, func.__name__),
                        hint="differentiate a plain (synchronous) function",
                    )
                return node
    lambdas = [
        node
        for node in gast.walk(module)
        if isinstance(node, gast.Lambda) and [a.id for a in node.args.args] == list(code.co_varnames[: code.co_argcount])
    ]
    if len(lambdas) != 1:
        raise SourceUnavailableError(
            f"cannot tell which lambda on line {code.co_firstlineno} of {code.co_filename} is {func!r}",
            hint="give the function a name with `def` (one lambda per line also works)",
        )
    lam = lambdas[0]
    ret = gast.Return(value=lam.body)
    gast.copy_location(ret, lam.body)
    fdef = gast.FunctionDef(
        name="<lambda>", args=lam.args, body=[ret], decorator_list=[], returns=None, type_comment=None, type_params=[]
    )
    return gast.copy_location(fdef, lam)
