"""Module-level names of an exported module never shadow a builtin.

An exported module holds, side by side, s2sad's helpers (``as_real`` calls
``float(value)``, ``unbroadcast`` calls ``len``) and what the generated code
refers to: the user's globals (``from model import W``), NumPy functions
imported by name, constants captured at export time. In memory these live in
different namespaces; in one module, a user's ``float = 2.5`` or ``from numpy
import max`` imported under its own name would replace the builtin for every
helper too (``max(a, b)`` would become ``np.max(a, axis=b)``). So such a name is
bound under a fresh one (``from model import float as float_``) and the
generated code's reads of it are renamed; the helpers keep the builtins.

Example:
    >>> print(rename_globals("def f(x):\\n    return x * float\\n", {"float": "float_"}), end="")
    def f(x):
        return x * float_
"""

from __future__ import annotations

import ast
import builtins
import symtable

from .errors import S2SADError


def shadows_builtin(name: str, obj) -> bool:
    """Whether binding `obj` to `name` at module level would hide the builtin of that name.

    Example:
        >>> shadows_builtin("float", 2.5), shadows_builtin("float", float), shadows_builtin("W", 1.0)
        (True, False, False)
    """
    missing = object()
    builtin = getattr(builtins, name, missing)
    return builtin is not missing and builtin is not obj


def rename_globals(source: str, renames: dict) -> str:
    """`source` (generated defs) with each global name read in `renames` replaced by its new name.

    Only names the code reads as globals are renamed; comments (``# line 4: ... float``) and
    attributes (``x.float``) keep their text.

    Args:
        source: Python source of one or more defs.
        renames: {old global name: new name}.

    Returns:
        The renamed source (the same text when nothing is renamed).

    Raises:
        S2SADError: a name to rename is also a local variable in some scope of `source`, so a
            textual rename could not tell the two apart.
    """
    wanted = _globals_read(source, set(renames))
    if not wanted:
        return source
    lines = [line.encode("utf-8") for line in source.splitlines(True)]  # ast offsets count UTF-8 bytes
    edits = sorted(((n.lineno, n.col_offset, n.end_col_offset, n.id) for n in ast.walk(ast.parse(source))
                    if isinstance(n, ast.Name) and n.id in wanted), reverse=True)
    for lineno, start, end, name in edits:
        line = lines[lineno - 1]
        lines[lineno - 1] = line[:start] + renames[name].encode("utf-8") + line[end:]
    return b"".join(lines).decode("utf-8")


def local_names(source: str) -> set:
    """The parameters and local variables of the functions in `source`.

    Example:
        >>> sorted(local_names("def f(x, unbroadcast):\\n    y = x\\n    return np.sum(y)\\n"))
        ['unbroadcast', 'x', 'y']
    """
    names = set()
    stack = list(symtable.symtable(source, "<s2sad export>", "exec").get_children())
    while stack:
        table = stack.pop()
        if table.get_type() == "function":
            names |= {sym.get_name() for sym in table.get_symbols() if sym.is_local() or sym.is_parameter()}
        stack.extend(table.get_children())
    return names


def _globals_read(source: str, names: set) -> set:
    """Which of `names` `source`'s functions read as globals; refuses one that some scope binds locally."""
    global_names, local_names = set(), set()
    stack = list(symtable.symtable(source, "<s2sad export>", "exec").get_children())
    while stack:
        table = stack.pop()
        for sym in table.get_symbols():
            if sym.get_name() in names:
                (global_names if sym.is_global() else local_names).add(sym.get_name())
        stack.extend(table.get_children())
    both = global_names & local_names
    if both:
        raise S2SADError(f"the generated code uses {min(both)!r} both as a global and as a local variable, "
                         "and it shadows a Python builtin in the exported module",
                         hint="rename your global (or the variable) so that it is not a builtin's name")
    return global_names
