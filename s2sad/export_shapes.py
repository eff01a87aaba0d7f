"""Exported grad and value_and_grad specialized for the signature of example arguments.

``s2sad.export(f, path, like=args)`` writes, under the public name ``grad_f``, the code that a call
of ``s2sad.grad(f)`` with arguments like `args` runs in memory (``GeneratedFunction.for_shapes``,
what ``s2sad.show(f, example_args=args)`` prints): no ``unbroadcast`` between equal shapes, matrix
adjoints as ``X.T @ g``. That code is right only for arguments of the same **signature**
(:func:`s2sad.shapes.signature`: each argument's kind, dtype and rank, which axes have length 1,
which sizes are equal). The exported module runs without s2sad, so nothing else would stop a call
with other arguments, and a silent wrong gradient is the worst failure. So the specialized function
opens with a guard, and the generic code is exported too, as ``grad_f_generic``::

    def grad_mlp(W1, b1, X):
        # specialized for arguments like the example: W1: float64[n0, n1], b1: float64[n1], ...
        if not (
            type(W1) is np.ndarray and W1.dtype == FLOAT64 and W1.ndim == 2 and W1.shape[0] != 1
            and W1.shape[1] != 1
            and type(b1) is np.ndarray and b1.dtype == FLOAT64 and b1.ndim == 1 and b1.shape[0] == W1.shape[1]
            ...
        ):
            return grad_mlp_generic(W1, b1, X)
        ...

The guard tests exactly what the signature keeps, one argument per line: the exact type (a Python
float is ``type(x) is float``, as in memory, where an int or a subclass takes the general path),
an array's dtype and rank, each size that was 1 is 1, the first size of each symbol is not 1 and
later ones equal the first. It is as cheap as a few attribute reads and comparisons per argument
(a scalar function's guard is ``type(x) is float and type(y) is float``). Sizes the signature does
not relate may be equal or not: the specialized code never relies on two sizes differing.

Example:
    >>> import numpy as np
    >>> for line in argument_checks(("x", "n"), (np.ones((3, 1)), 2)):
    ...     print(line)
    type(x) is np.ndarray and x.dtype == FLOAT64 and x.ndim == 2 and x.shape[0] != 1 and x.shape[1] == 1
    type(n) is int
"""

from __future__ import annotations

import ast
import math

import numpy as np

from .frontend import signature  # f's parameters as s2sad reads f (a wrapper's own, not __wrapped__'s)
from .shapes import Size, of_value


def example_arguments(func, like) -> tuple | None:
    """`like` (a tuple or list of `func`'s arguments, or a dict by name) as positional arguments, or
    None when it cannot be passed positionally (a keyword-only parameter, *args, names `func` lacks).

    Example:
        >>> def f(x, y=2.0):
        ...     return x * y
        >>> example_arguments(f, {"x": 1.0})
        (1.0,)
    """
    if isinstance(like, (tuple, list)):
        return tuple(like)
    if not isinstance(like, dict):
        return None
    params = list(signature(func).parameters.values())
    args = []
    for p in params:
        if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            break
        if p.name not in like:
            break
        args.append(like[p.name])
    return tuple(args) if len(args) == len(like) else None


def full_examples(func, args) -> tuple:
    """`args` followed by the defaults of the parameters they leave out: every value the code was
    specialized for (the build takes a literal default's kind, and the guard checks it the same way)."""
    params = list(signature(func).parameters.values())
    rest = tuple(p.default for p in params[len(args):]
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is not p.empty)
    return tuple(args) + rest


def argument_checks(names, examples, dtype_constant=lambda dtype: dtype.name.upper()) -> list:
    """One guard line per argument: what an argument must be for the signature of `examples` to hold.

    Args:
        names: the generated function's parameter names.
        examples: an example value for each (the call's arguments, then defaults).
        dtype_constant: the name of the module constant holding a dtype (``FLOAT64``).

    Returns:
        A list of Python conditions (each a conjunction for one argument; none for an argument
        the specialized code assumes nothing about).
    """
    sizes: dict = {}  # value size -> Size symbol, as `shapes.signature` numbers them
    first_axis: dict = {}  # Size symbol -> the expression of its first axis
    lines = []
    for name, value in zip(names, examples):
        abstract = of_value(value, sizes)
        if not abstract.known:
            continue  # unknown to the specialization: it assumed nothing about this argument
        kind = type(value)
        if abstract.python or kind is not np.ndarray:  # float, int, bool, or a NumPy scalar such as np.float64
            spelled = kind.__name__ if abstract.python else f"np.{kind.__name__}"
            lines.append(f"type({name}) is {spelled}")
            continue
        dtype = np.dtype(abstract.dtype)
        constant = dtype_constant(dtype)
        checks = [f"type({name}) is np.ndarray", f"{name}.dtype == {constant}", f"{name}.ndim == {len(abstract.shape)}"]
        for axis, size in enumerate(abstract.shape):
            here = f"{name}.shape[{axis}]"
            if isinstance(size, Size):
                if size in first_axis:
                    checks.append(f"{here} == {first_axis[size]}")
                else:
                    first_axis[size] = here
                    checks.append(f"{here} != 1")
            else:  # `signature` makes every other size 1
                checks.append(f"{here} == {size}")
        lines.append(" and ".join(checks))
    return lines


# the names a guard reads; the specialized code must not bind them (a parameter named ``type``)
GUARD_NAMES = frozenset({"type", "np", "float", "int", "bool"})


def leaves_guard_names(source: str) -> bool:
    """Whether the def in `source` binds none of `GUARD_NAMES` (as a parameter or a variable): if it
    did, its guard would read that instead (``type(x)`` would call an argument named ``type``)."""
    fdef = ast.parse(source).body[0]
    bound = {a.arg for a in ast.walk(fdef.args) if isinstance(a, ast.arg)}
    bound |= {n.id for n in ast.walk(fdef) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return GUARD_NAMES.isdisjoint(bound)


def describe(names, examples) -> str:
    """The signature in words: ``x: float64[n0, n1], n: int``."""
    sizes: dict = {}
    parts = []
    for name, value in zip(names, examples):
        abstract = of_value(value, sizes)
        if abstract.known:
            spelled = abstract.describe() if type(value) is np.ndarray or abstract.python else \
                f"np.{type(value).__name__}"
            parts.append(f"{name}: {spelled}")
    return ", ".join(parts)


def guarded(source: str, generic_name: str, checks: list, described: str) -> str:
    """`source` (one generated def) opened by the guard: arguments of another signature go to the
    generic code `generic_name` (which takes the same parameters)."""
    fdef = ast.parse(source).body[0]
    params = [a.arg for a in fdef.args.args]
    indent = " " * fdef.body[0].col_offset
    inner = indent + "    "
    head = _comment(f"specialized for arguments like the example given to export: {described} (each n is a "
                    "size other than 1; the same n, the same size); any other arguments take "
                    f"{generic_name}", indent)
    if checks:
        one_line = f"{indent}if not ({' and '.join(checks)}):"
        if len(one_line) <= _WIDTH:
            head.append(one_line + "\n")
        else:
            head.append(f"{indent}if not (\n")
            for i, check in enumerate(checks):
                head += _wrapped(("and " if i else "") + check, inner)
            head.append(f"{indent}):\n")
        head.append(f"{inner}return {generic_name}({', '.join(params)})\n")
    lines = source.splitlines(True)
    def_end = fdef.lineno  # ast.unparse writes the def on one line
    first = fdef.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        def_end = first.end_lineno  # after the docstring
    return "".join(lines[:def_end] + head + lines[def_end:])


_WIDTH = 110  # the guard's lines are wrapped at this width


def _wrapped(check: str, indent: str) -> list:
    """`check` (conditions joined by `` and ``) on lines of at most `_WIDTH` characters where it can."""
    lines, line = [], ""
    for part in check.split(" and "):
        if line and len(indent) + len(line) + len(part) + 5 > _WIDTH:
            lines.append(f"{indent}{line}\n")
            line = f"and {part}"
        else:
            line = f"{line} and {part}" if line else part
    lines.append(f"{indent}{line}\n")
    return lines


def _comment(text: str, indent: str) -> list:
    """`text` as ``#`` comment lines of at most `_WIDTH` characters (words are never split)."""
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(indent) + len(line) + len(word) + 3 > _WIDTH:
            lines.append(f"{indent}# {line}\n")
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(f"{indent}# {line}\n")
    return lines


# ------------------------------------------------------------------ example arguments as command-line text

_NUMPY_SCALARS = {"float64": np.float64}  # the NumPy scalar a call may pass and still run specialized code


def like_text(args) -> str | None:
    """Example arguments as ``--like`` takes them (:func:`parse_like`): ``0.5, 3, float64[20, 5]``;
    None if one has no such spelling (a container, a float32 scalar, a string ...). A nan or inf is
    written 1.0: only the signature of the examples (a float) matters.

    Example:
        >>> like_text((0.5, 3, np.zeros((20, 5))))
        '0.5, 3, float64[20, 5]'
        >>> like_text((float("nan"), np.float64("inf")))
        '1.0, float64(1.0)'
    """
    parts = []
    for value in args:
        kind = type(value)
        if kind in (float, np.float64) and not np.isfinite(value):
            value = kind(1.0)  # nan and inf have no literal; only the kind of a number matters
        if kind in (float, int):
            parts.append(repr(value))
        elif kind is np.ndarray and value.dtype.kind in "biuf" and value.dtype.isnative:
            parts.append(f"{value.dtype.name}[{', '.join(map(str, value.shape)) or '()'}]")
        elif kind is np.float64:
            parts.append(f"float64({float(value)!r})")
        else:
            return None
    return ", ".join(parts)


def parse_like(text: str) -> tuple:
    """The example arguments written in `text`, comma-separated: Python numbers (``0.5``, ``3``),
    arrays as their dtype and shape (``float64[256, 784]``, ``int64[10]``, ``float64[()]``: ones, as a
    read-only view of one value) and NumPy scalars (``float64(0.5)``). Only the signature of these values matters.

    Raises:
        ValueError: `text` is not in that form (the message says which part).

    Example:
        >>> [np.shape(a) for a in parse_like("0.5, float64[20, 5], int64[3]")]
        [(), (20, 5), (3,)]
    """
    try:
        tree = ast.parse(f"({text},)", mode="eval")
        if isinstance(tree.body, ast.Tuple):
            return tuple(_example_value(node) for node in tree.body.elts)
    except SyntaxError:
        pass
    except (RecursionError, MemoryError):  # the parser's or ours, on text nested thousands deep
        raise ValueError(f"{text[:40]!r}...: nested too deeply") from None
    shown = repr(text) if len(text) <= 80 else f"{text[:40]!r}..."
    raise ValueError(f"{shown} is not a comma-separated list of numbers and DTYPE[SHAPE] arrays")


def _example_value(node):
    shown = ast.unparse(node)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _example_value(node.operand)
        if type(value) in (int, float):
            return -value
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        if not math.isfinite(node.value):  # 1e400: an inf, which the regenerate command cannot write back
            raise ValueError(f"{shown!r} is infinite (only the kind of a number matters: write 1.0)")
        return node.value
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        dtype = _dtype(node.value.id, shown)
        sizes = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if all(isinstance(n, ast.Constant) and type(n.value) is int and n.value >= 0 for n in sizes):
            # ones without allocating them (a view of one value): only the shape and dtype matter
            try:
                return np.broadcast_to(np.ones((), dtype=dtype), tuple(n.value for n in sizes))
            except ValueError as exc:  # more axes or elements than NumPy allows
                raise ValueError(f"{shown!r}: {exc}") from None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _NUMPY_SCALARS \
            and len(node.args) == 1 and not node.keywords:
        value = _example_value(node.args[0])
        if type(value) in (int, float):
            return _NUMPY_SCALARS[node.func.id](value)
    raise ValueError(f"{shown!r}: write a number (0.5, 3), an array as DTYPE[SHAPE] (float64[20, 5]) "
                     "or float64(0.5)")


def _dtype(name: str, shown: str) -> np.dtype:
    try:
        dtype = np.dtype(name)
    except TypeError:
        dtype = None
    if dtype is None or dtype.name != name or dtype.kind not in "biuf":
        raise ValueError(f"{shown!r}: {name!r} is not a NumPy dtype of numbers (float64, int64, bool ...)")
    return dtype
