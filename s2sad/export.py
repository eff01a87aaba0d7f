"""Ahead-of-time export: write generated derivatives to a module that runs without s2sad.

``export(f, path, wrt=0, modes=("grad",))`` writes one Python module defining
``grad_<name>``, ``value_and_grad_<name>``, ``vjp_<name>`` (and the forward-mode
kinds and drivers: jvp, hvp, hessian, jacobian, laplacian, divergence, curl) for
the function ``f``. The module is the
readable generated code of ``.source``, plus what that code refers to:

* modules (``np``, ``math``, ``numpy.linalg`` ...) become ``import`` lines;
* s2sad's own runtime helpers (``unbroadcast``, ``add_at`` ...) and the helper
  functions rule tables call are copied in verbatim (``inspect.getsource``),
  with whatever they in turn refer to; s2sad itself is never imported;
* NumPy and ``math`` functions bound under their own names are imported from
  NumPy / ``math``;
* the user's own globals (data constants, functions called in positions that
  are not differentiated) are imported from the user's module, or from the
  module of an inlined helper that reads them (``from mymodel import W``). A
  function defined in a script run as ``__main__`` is imported from the
  script's file stem, which the header says;
* a name that would shadow a builtin the helpers call is bound under another
  (``from mymodel import float as float_``: ``export_names.py``);
* closure values and constants folded into the code are written as literals,
  when a literal is the same value (exact types, at most ``MAX_LITERAL_SIZE``
  numbers); anything else is refused with a hint.

With example arguments (``like=``), grad and value_and_grad are the code specialized for
their signature, guarded, with the generic code as the fallback (``export_shapes.py``).

The header records the s2sad version, the function and file it was generated
from, the SHA-256 of the source of every user function that went into the
derivative, and the command that regenerates the file. :func:`check` re-hashes
those sources (reading the files, importing nothing) and reports a stale file.

Exporting is deterministic: the same function, ``wrt``, modes and output path
give a byte-identical file.
"""

from __future__ import annotations

import ast
import builtins
import functools
import hashlib
import importlib
import importlib.util
import inspect
import keyword
import math
import os
import re
import shlex
import stat
import symtable
import sys
import textwrap
import types

import numpy as np

from . import ir
from .errors import S2SADError
from .primitives import module_name
from .export_shapes import (argument_checks, describe, example_arguments, full_examples, guarded,
                            leaves_guard_names, like_text, parse_like)
from .export_names import local_names, rename_globals, shadows_builtin
from .export_seeds import AS_TANGENT_SOURCE, arguments_stub, seed_wrapper, trailing_seeds
# signature: f's parameters as s2sad reads f (a wrapper's own, not __wrapped__'s);
# _refuse_edited_source: the text hashed in the header must be the code that runs
from .frontend import _refuse_edited_source, signature
from .routine_pairs import routine_ir, routines_called
from .safe_io import FileSafetyError, escape_comment, file_kind, read_regular, unescape_comment, write_atomically

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

#: The kinds of derivative reverse mode builds (``api.build``).
REVERSE_MODES = ("grad", "value_and_grad", "vjp")
#: Forward-mode kinds, exported when this s2sad provides them (``s2sad.jvp`` ...).
FORWARD_MODES = ("jvp", "hvp", "hessian")
#: Drivers over jvp/vjp (``s2sad.jacobian`` ...): generated code calling generated code, exported alike.
DRIVER_MODES = ("jacobian", "laplacian", "divergence", "curl")
MODES = REVERSE_MODES + FORWARD_MODES + DRIVER_MODES
#: Kinds of derivative s2sad has in memory that export does not write, with what to do instead.
NOT_EXPORTED = {
    "derivative": "in memory, s2sad.derivative of an array argument runs other code (along all ones) than of a "
                  "number, and an exported function could not tell which to run: export jvp and pass a tangent "
                  "(1.0, or np.ones_like(x))",
}


class ExportError(S2SADError):
    """A derivative cannot be written to a standalone module (or an exported file cannot be checked)."""


# ------------------------------------------------------------------ the runtime-argument helper

_AS_REAL_SOURCE = '''\
def as_real(value):
    """A differentiable argument as a real number: ints become floats, number lists arrays.

    The in-memory derivatives of s2sad convert their arguments the same way.
    """
    if isinstance(value, (bool, complex)) or isinstance(value, (np.ndarray, np.generic)) and np.iscomplexobj(value):
        raise TypeError(f"a differentiable argument must be real, got {type(value).__name__}")
    if isinstance(value, np.matrix):  # its `*` is a matrix product: rules written for arrays would be wrong
        raise TypeError("a differentiable argument is an np.matrix, whose * is a matrix product; pass np.asarray(m)")
    if isinstance(value, (int, np.integer)):
        return float(value)
    if isinstance(value, np.ndarray) and (np.issubdtype(value.dtype, np.integer) or value.dtype == np.bool_):
        return value.astype(np.float64)
    if isinstance(value, (list, tuple)) and not hasattr(type(value), "_fields") and value and all(
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in value
    ):  # a namedtuple stays a container
        return np.asarray(value, dtype=np.float64)
    if isinstance(value, (float, np.ndarray, np.generic, list, tuple, dict)) or hasattr(value, "__array_function__"):
        return value  # a float (array), a container of them, or another library's array (Dask)
    raise TypeError(f"a differentiable argument must be a float (array), got {type(value).__name__}")
'''


_REFUSE_MATRIX_SOURCE = '''\
def refuse_matrix(*values):
    """Refuse an np.matrix among the other arguments, as s2sad's in-memory derivatives do: its * is a
    matrix product, so the generated code, written for arrays, would compute something else."""
    for value in values:
        if isinstance(value, np.matrix):
            raise TypeError("an argument is an np.matrix, whose * is a matrix product; pass np.asarray(m)")
'''


_ERROR_CLASS_SOURCE = '''\
class {name}(ValueError):
    """s2sad's {original}, as a plain ValueError in exported code."""

    def __init__(self, message, location=None, hint=""):
        super().__init__(f"{{message}} (hint: {{hint}})" if hint else message)
'''


# ------------------------------------------------------------------ loading functions (CLI)


def load_function(spec: str):
    """The function named by ``MODULE:FUNCTION``.

    MODULE is a dotted module importable from the current directory, or a path
    to a ``.py`` file (imported as a module named after its file stem, with its
    directory put on ``sys.path``). FUNCTION may be dotted (``Model.loss``).
    """
    if ":" not in spec:
        raise ExportError(f"expected MODULE:FUNCTION, got {spec!r}", hint="e.g. mymodel:loss or path/to/model.py:loss")
    module_part, func_part = spec.rsplit(":", 1)
    if not module_part or not func_part:
        raise ExportError(f"expected MODULE:FUNCTION, got {spec!r}", hint="e.g. mymodel:loss or path/to/model.py:loss")
    shown = escape_comment(module_part)
    if not _DOTTED.match(func_part):
        raise ExportError(f"{escape_comment(func_part)!r} is not a function name (in {escape_comment(spec)!r})",
                          hint="e.g. mymodel:loss or mymodel:Model.loss")
    if module_part.endswith(".py") or os.sep in module_part or "/" in module_part:
        path = os.path.abspath(module_part)
        if not module_part.endswith(".py"):
            raise ExportError(f"{shown} is not a .py file", hint="name a Python source file, e.g. src/model.py:loss, "
                              "or a dotted module name")
        if not os.path.isfile(path):
            raise ExportError(f"no such file: {shown}")
        name = os.path.splitext(os.path.basename(path))[0]
        if not name.isidentifier():
            raise ExportError(f"{shown}: the file stem {escape_comment(name)!r} is not a valid module name",
                              hint="rename the file to a Python identifier (letters, digits, _)")
        directory = os.path.dirname(path)
        if directory not in sys.path:
            sys.path.insert(0, directory)
        # a file is executed afresh each time (it may have been edited since it was last loaded)
        loader_spec = importlib.util.spec_from_file_location(name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise ExportError(f"cannot import {shown} as a Python module")
        module = importlib.util.module_from_spec(loader_spec)
        previous = sys.modules.get(name)
        sys.modules[name] = module
        try:
            loader_spec.loader.exec_module(module)
        except BaseException as exc:
            if previous is None:
                del sys.modules[name]
            else:
                sys.modules[name] = previous
            raise ExportError(f"importing {shown} failed: {type(exc).__name__}: {exc}") from exc
    else:
        if not _DOTTED.match(module_part):
            raise ExportError(f"{shown!r} is neither a dotted module name nor a path to a .py file",
                              hint="e.g. mymodel:loss or path/to/model.py:loss")
        if os.getcwd() not in sys.path and "" not in sys.path:
            sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(module_part)
        except ModuleNotFoundError as exc:
            if exc.name and module_part.startswith(exc.name) or exc.name == module_part:
                raise ExportError(f"no module named {module_part!r} (from the current directory {os.getcwd()})",
                                  hint="give a dotted module name importable from here, or a path to a .py file"
                                  ) from exc
            raise ExportError(f"importing {module_part} failed: {exc}") from exc
        except BaseException as exc:
            raise ExportError(f"importing {module_part} failed: {type(exc).__name__}: {exc}") from exc
    obj = module
    for part in func_part.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ExportError(f"{shown} has no attribute {func_part!r}") from None
        except Exception as exc:  # a property or module __getattr__ that fails
            raise ExportError(f"reading {shown}:{func_part} failed: {type(exc).__name__}: {exc}") from exc
    if not callable(obj):
        raise ExportError(f"{shown}:{func_part} is {type(obj).__name__}, not a function",
                          hint="name a function defined with def")
    return obj


# ------------------------------------------------------------------ source hashes


def _find_def(tree, qualname: str | None = None, name: str | None = None, line: int | None = None):
    """The (qualname, node) of a def: by dotted qualname, or the innermost `name` spanning `line`."""
    found = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                q = f"{prefix}{child.name}"
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    if qualname is not None and q == qualname:
                        found.append((q, child))
                    elif name is not None and child.name == name and line is not None and \
                            _def_start(child) <= line <= child.end_lineno:
                        found.append((q, child))
                visit(child, q + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    if not found:
        return None, None
    return found[-1] if name is not None else found[0]


def _def_start(node) -> int:
    return min([node.lineno] + [d.lineno for d in node.decorator_list])


def _def_text(lines: list, node) -> str:
    text = "".join(lines[_def_start(node) - 1:node.end_lineno])
    return textwrap.dedent(text).replace("\r\n", "\n")


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _read_tree(filename):
    """(lines, ast) of a source file: a regular file of bounded size, UTF-8 (else FileSafetyError)."""
    data = read_regular(filename)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileSafetyError(f"{filename} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # universal newlines, as open() reads it
    # lines as Python counts them: str.splitlines would also break at \x0c, \x1c, \u2028 ... in a
    # comment or string, and the def's line numbers would then select the wrong text to hash
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines, ast.parse(text, filename)


def function_source_hash(filename: str, qualname: str) -> str:
    """SHA-256 of the (dedented) source of the def `qualname` in `filename`, decorators included."""
    lines, tree = _read_tree(filename)
    _, node = _find_def(tree, qualname=qualname)
    if node is None:
        raise ExportError(f"{filename} defines no function {qualname}")
    return _hash(_def_text(lines, node))


def _in_package(filename: str) -> bool:
    return os.path.abspath(filename).startswith(_PACKAGE_DIR + os.sep)


def _with_callees(gens) -> list:
    """`gens` and the generated derivatives they call (the hvp a hessian driver calls), each once."""
    from .api import GeneratedFunction

    out, stack = [], list(gens)
    while stack:
        gen = stack.pop(0)
        if any(gen is g for g in out):
            continue
        out.append(gen)
        namespace = getattr(gen, "namespace", None)
        values = namespace if isinstance(namespace, dict) else getattr(namespace, "bindings", None) or {}
        stack += [v for v in values.values() if isinstance(v, GeneratedFunction)]
    return out


def _inlined_locations(gens) -> list:
    """[(abs filename, function name, line)] of the user code each generated derivative in `gens` was made from."""
    wanted = []
    for gen in _with_callees(gens):
        fn_ir = getattr(gen, "ir", None)
        if fn_ir is None:
            continue
        bodies = [fn_ir.body] + [routine_ir(r).body for r in routines_called(fn_ir)]  # and its subroutines'
        for stmt in (s for body in bodies for s in ir.walk(body)):
            loc = getattr(stmt, "loc", None)
            if loc is None or not loc.function or not loc.filename or loc.filename.startswith("<"):
                continue
            key = (os.path.abspath(loc.filename), loc.function, loc.line)
            if key not in wanted:
                wanted.append(key)
    return wanted


def _inlined_modules(gens, home) -> list:
    """The user modules (other than `home`) whose functions were inlined into `gens`, by name: their
    globals are imported from them, as `home`'s are (``from helpers import OFFSET``)."""
    files = {filename for filename, _, _ in _inlined_locations(gens) if not _in_package(filename)}
    found = {}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None) if _is_user_module(module) else None
        if path and module is not home and os.path.abspath(path) in files and name == module.__name__:
            found[name] = module
    return [found[name] for name in sorted(found)]


def _sources_of(func, gens) -> list:
    """[(abs filename, qualname, sha256)]: `func` first, then every user function inlined into `gens`."""
    code = func.__code__
    filename = os.path.abspath(code.co_filename)
    if func.__name__ == "<lambda>":
        raise ExportError("export needs a function defined with def (a lambda has no name to export or check)",
                          hint="define it with def")
    try:
        lines, tree = _read_tree(filename)
    except (OSError, SyntaxError) as exc:
        raise ExportError(f"cannot read the source file of {func.__qualname__}: {exc}") from exc
    q, node = _find_def(tree, name=code.co_name, line=code.co_firstlineno)  # a decorator's wrapper: its own def
    if node is None:
        raise ExportError(f"cannot find the def of {func.__qualname__} in {filename}")
    _refuse_edited_source(func, lines[_def_start(node) - 1:node.end_lineno], _def_start(node))
    out = [(filename, q, _hash(_def_text(lines, node)))]
    seen = {(filename, q)}
    wanted = _inlined_locations(gens)
    trees = {filename: (lines, tree)}
    for fname, name, line in wanted:
        if _in_package(fname):
            continue
        if fname not in trees:
            try:
                trees[fname] = _read_tree(fname)
            except (OSError, SyntaxError):
                continue
        flines, ftree = trees[fname]
        q, node = _find_def(ftree, name=name, line=line)
        if node is None or (fname, q) in seen:
            continue
        seen.add((fname, q))
        helper = _function_at(fname, node.name, _def_start(node))
        if helper is not None:  # a derivative made before the file was edited, and kept, is of the old code
            _refuse_edited_source(helper, flines[_def_start(node) - 1:node.end_lineno], _def_start(node))
        out.append((fname, q, _hash(_def_text(flines, node))))
    return out[:1] + sorted(out[1:])


def _function_at(filename: str, name: str, start: int):
    """The function of a user module whose def `name` starts at line `start` of `filename`, or None."""
    for module in list(sys.modules.values()):
        if not _is_user_module(module) or os.path.abspath(module.__file__) != filename:
            continue
        for value in list(vars(module).values()):
            code = getattr(value, "__code__", None)
            if inspect.isfunction(value) and code.co_name == name and code.co_firstlineno == start \
                    and os.path.abspath(code.co_filename) == filename:
                return value
    return None


# ------------------------------------------------------------------ literals


#: The most numbers a value that is not a module global may have to be written into the exported file.
MAX_LITERAL_SIZE = 10_000


def _literal(value, depth=0):
    """Python source for a constant, or None if it has no faithful literal spelling.

    Types are matched exactly: a subclass (an IntEnum, a namedtuple, a masked array, an np.matrix)
    behaves otherwise than the literal of its base type would.
    """
    kind = type(value)
    if depth > 50:
        return None
    if value is None or kind in (bool, str, bytes, int) or value is Ellipsis:
        return repr(value)
    if kind is float:
        if math.isnan(value) or math.isinf(value):
            return f"float({repr(value)!r})"
        return repr(value)
    if kind is complex:
        return f"complex({_literal(value.real)}, {_literal(value.imag)})"
    if kind in (tuple, list):
        items = [_literal(v, depth + 1) for v in value]
        if any(i is None for i in items):
            return None
        if kind is tuple:
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        return "[" + ", ".join(items) + "]"
    if kind is slice:
        parts = [_literal(v, depth + 1) for v in (value.start, value.stop, value.step)]
        return None if any(p is None for p in parts) else f"slice({', '.join(parts)})"
    if not isinstance(value, (np.ndarray, np.generic)) or not _exact_in_python(value.dtype):
        return None
    dtype = "np.bool_" if value.dtype.kind == "b" else f"np.{value.dtype.name}"  # np.bool is NumPy 2 only
    if kind is np.ndarray:
        if value.size == 0:  # [] would lose the shape (0, 3)
            return f"np.zeros({value.shape!r}, dtype={dtype})"
        body = _literal(value.tolist(), depth + 1)
        return None if body is None else f"np.array({body}, dtype={dtype})"
    if isinstance(value, np.generic):
        inner = _literal(value.item(), depth + 1)
        return None if inner is None else f"{dtype}({inner})"
    return None


def _exact_in_python(dtype) -> bool:
    """Whether `dtype`'s numbers survive ``tolist()`` and back: not long double (more bits than a float)."""
    return dtype.kind in "biu" or dtype.kind == "f" and dtype.itemsize <= 8 or dtype.kind == "c" and dtype.itemsize <= 16


# ------------------------------------------------------------------ generated units


def _free_names(source: str) -> list:
    """Global names the (single) function in `source` reads, in order of first appearance: in its body,
    and in its defaults (``def grad_f(x, w=w_default)``), which are read where the def runs."""
    table = symtable.symtable(source, "<s2sad export>", "exec")
    names = [sym.get_name() for sym in table.get_symbols() if sym.is_referenced() and not sym.is_assigned()]
    for child in table.get_children():
        stack = [child]
        while stack:
            t = stack.pop()
            for sym in t.get_symbols():
                if sym.is_global() and sym.is_referenced() and sym.get_name() not in names:
                    names.append(sym.get_name())
            stack.extend(t.get_children())
    # order by first appearance in the text, for a stable and readable order
    positions = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and node.id in names:
            key = (node.lineno, node.col_offset)
            if node.id not in positions or key < positions[node.id]:
                positions[node.id] = key
    return sorted(names, key=lambda n: (positions.get(n, (0, 0)), n))


def _first_def(source: str) -> str:
    """The first top-level def of `source` (a driver's ``.source`` is followed by the parts it calls)."""
    tree = ast.parse(source)
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    if len(defs) <= 1:
        return source
    lines = source.splitlines(True)
    return "".join(lines[_def_start(defs[0]) - 1:defs[0].end_lineno])


def _routine_defs(obj) -> list:
    """``[(name, source)]`` of the subroutines a generated derivative defines before its own def
    (``sigmoid_fwd``, ``sigmoid_bwd``: see s2sad/routine_pairs.py), in the order printed."""
    source = getattr(obj, "source", None)
    main = getattr(getattr(obj, "ir", None), "name", None)
    if not isinstance(source, str) or main is None:
        return []
    tree = ast.parse(source)
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    if len(defs) <= 1 or defs[-1].name != main:
        return []
    lines = source.splitlines(True)
    return [(d.name, "".join(lines[_def_start(d) - 1:d.end_lineno])) for d in defs[:-1]]


def _main_def(obj, source: str) -> str:
    """The def of the derivative itself: the last one after its subroutines, else the first
    (a driver's ``.source`` is followed by the parts it calls)."""
    routines = _routine_defs(obj)
    if not routines:
        return _first_def(source)
    lines = source.splitlines(True)
    last = [n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)][-1]
    return "".join(lines[_def_start(last) - 1:last.end_lineno])


def _is_s2sad_compiled(obj) -> bool:
    code = getattr(obj, "__code__", None)
    return code is not None and code.co_filename.startswith("<s2sad")


def _unit_of(obj):
    """(source, bindings, globals, aliases) of a generated derivative (GeneratedFunction or compiled)."""
    source = getattr(obj, "source", None)
    namespace = getattr(obj, "namespace", None)
    if isinstance(source, str) and namespace is not None:
        primal = getattr(obj, "primal", None)
        globs = getattr(primal, "__globals__", None) or getattr(getattr(obj, "_func", None), "__globals__", {})
        if isinstance(namespace, dict):  # a driver (hessian, jacobian): its namespace is a plain dict,
            bindings, roots, globs = dict(namespace), {}, {}  # its whole scope: any other name is a builtin
        else:
            bindings = dict(namespace.bindings)
            roots = {name: root for (root, _), name in namespace.aliases.items()}
        return _main_def(obj, source), bindings, globs, roots
    if _is_s2sad_compiled(obj):
        import linecache

        entry = linecache.cache.get(obj.__code__.co_filename)
        if entry is None:
            raise ExportError(f"the source of the generated function {obj.__name__} is no longer available")
        lines = entry[2]
        body = textwrap.dedent("".join(lines[1:-1]))
        bindings = {}
        for name, cell in zip(obj.__code__.co_freevars, obj.__closure__ or ()):
            bindings[name] = cell.cell_contents
        return body, bindings, obj.__globals__, {}
    raise ExportError(f"cannot export {obj!r}: it is not a generated derivative")


_API_CHECKS = ("scalar_seed", "not_a_view", "check_cotangent", "check_structure")  # in memory they raise s2sad's own errors


def _is_api_scalar_seed(obj) -> bool:
    """A run-time check as the API binds it in memory (a closure raising s2sad errors)."""
    return inspect.isfunction(obj) and obj.__name__ in _API_CHECKS and obj.__module__ == "s2sad.api"


def _numpy_or_math_path(obj, root_name):
    """('numpy.linalg', 'norm') if `obj` is that attribute of numpy (or a submodule) or math."""
    import numpy

    candidates = [("numpy", numpy), ("math", math)]
    for sub in ("linalg", "fft", "random", "polynomial"):
        mod = getattr(numpy, sub, None)
        if isinstance(mod, types.ModuleType):
            candidates.append((f"numpy.{sub}", mod))
    for attr in dict.fromkeys([root_name, getattr(obj, "__name__", None)]):
        if not attr:
            continue
        for modname, mod in candidates:
            try:
                if getattr(mod, attr, None) is obj:
                    return modname, attr
            except Exception:  # pragma: no cover - exotic module attributes
                continue
    return None


def _module_import_name(module) -> tuple[str, str]:
    """(name to import, note) for a user module; a __main__ script is imported by its file stem."""
    name = module.__name__
    if name != "__main__":
        return name, ""
    path = getattr(module, "__file__", None)
    if not path:
        raise ExportError("the function is defined in an interactive __main__ module, which cannot be imported",
                          hint="define it in a .py file (a module) and export it from there")
    stem = os.path.splitext(os.path.basename(path))[0]
    if not stem.isidentifier():
        raise ExportError(f"the script {path} is run as __main__ and its stem {stem!r} is not a module name")
    return stem, f"{name} is the script {os.path.basename(path)}, imported here as module {stem!r}"


def _is_user_module(module) -> bool:
    if not isinstance(module, types.ModuleType):
        return False
    path = getattr(module, "__file__", None)
    if not path or module.__name__ == "s2sad" or module.__name__.startswith("s2sad."):
        return False
    path = os.path.abspath(path)
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}:
        lib = os.path.join(os.path.abspath(prefix), "lib")
        if path.startswith(lib + os.sep):
            return False
    return "site-packages" not in path and "dist-packages" not in path


class _Module:
    """The export being assembled: imports, inlined helpers, constants, generated functions."""

    def __init__(self, user_modules, taken: set):
        self.user_modules = user_modules  # modules searched for user globals, in order
        self.taken = taken  # names a fresh module-level name must avoid (shared with the guards' `_fresh`)
        self.renames: dict = {}  # a name that would shadow a builtin -> the one it is bound under (export_names)
        self.bound: dict = {}  # name -> object it must denote in the module
        self.imports: dict = {}  # import line -> None (ordered set)
        self.from_imports: dict = {}  # module -> {"name" or "name as alias": None}
        self.helpers: list = []  # (name, source)
        self.constants: list = []  # (name, source line, comment)
        self.notes: list = []
        self.units: dict = {}  # generated function name -> {"label", "source", "coerce"}, in output order

    def bind(self, name, obj, root=None, globs=None, who=""):
        if name in self.bound:
            if self.bound[name] is obj or (_is_api_scalar_seed(obj) and _is_api_scalar_seed(self.bound[name])):
                return
            raise ExportError(f"two different objects are both called {name!r} in the exported code ({who})",
                              hint="rename one of them in your source")
        self.bound[name] = obj
        self.resolve(name, obj, root or name, globs or {}, who)

    def need_numpy(self):
        if "np" in self.bound and self.bound["np"] is not np:
            raise ExportError("the exported code needs numpy as 'np', but 'np' names something else")
        if "np" not in self.bound:
            self.bound["np"] = np
            self.imports["import numpy as np"] = None

    def unshadowed(self, name, obj) -> str:
        """The module-level name to bind `obj` under for the generated code's `name`: a fresh one
        (``float_``) if `name` is a builtin's, which s2sad's helpers in the same module call."""
        if not shadows_builtin(name, obj):
            return name
        if name not in self.renames:
            self.renames[name] = _fresh(f"{name}_", self.taken)
            self.bound[self.renames[name]] = obj  # taken for the names chosen later (as_real ...)
        return self.renames[name]

    def resolve(self, name, obj, root, globs, who):
        from . import runtime

        if _is_api_scalar_seed(obj):
            obj = getattr(runtime, obj.__name__)  # exported, the check raises a plain ValueError
        builtin = root if getattr(builtins, root, _MISSING) is obj else getattr(obj, "__name__", None)
        if isinstance(builtin, str) and getattr(builtins, builtin, _MISSING) is obj:  # len, or count = len
            if name != builtin:
                self.constants.append((self.unshadowed(name, obj), builtin, "builtin"))
            return
        if isinstance(obj, types.ModuleType):
            modname = obj.__name__
            if modname == "s2sad" or modname.startswith("s2sad."):
                raise ExportError(f"the generated code refers to the module {modname} ({who})")
            if modname == "__main__":
                modname, note = _module_import_name(obj)
                self.notes.append(note)
            name = self.unshadowed(name, obj)
            self.imports[f"import {modname}" if name == modname else f"import {modname} as {name}"] = None
            return
        if inspect.isfunction(obj) and module_name(obj).startswith("s2sad"):
            if _is_s2sad_compiled(obj):
                self.inline_generated(name, obj, who)
                return
            self.inline_helper(name, obj, who)
            return
        if hasattr(obj, "source") and hasattr(obj, "namespace"):
            self.inline_generated(name, obj, who)
            return
        if isinstance(obj, type) and issubclass(obj, S2SADError):
            self.helpers.append((name, _ERROR_CLASS_SOURCE.format(name=name, original=obj.__name__)))
            return
        if module_name(obj).startswith("s2sad"):
            raise ExportError(f"cannot export {name!r} ({type(obj).__name__} from {obj.__module__}) that {who} "
                              "refers to", hint="please report this: generated code should only call helpers")
        name = self.unshadowed(name, obj)  # from here on, what is bound is the user's or NumPy's
        found = _numpy_or_math_path(obj, root) if callable(obj) or isinstance(obj, type) else None
        if found is not None:
            modname, attr = found
            self.from_imports.setdefault(modname, {})[attr if attr == name else f"{attr} as {name}"] = None
            return
        for module in self.user_modules + self._owner_modules(obj):
            try:
                if getattr(module, root, _MISSING) is obj:
                    modname, note = _module_import_name(module)
                    if note and note not in self.notes:
                        self.notes.append(note)
                    self.from_imports.setdefault(modname, {})[root if root == name else f"{root} as {name}"] = None
                    return
            except Exception:  # pragma: no cover
                continue
        if isinstance(obj, (np.ndarray, list, dict, types.FunctionType)):  # a default or closure value that is
            for module in self.user_modules + self._owner_modules(obj):  # a module global: imported, not copied
                found_as = next((k for k, v in list(vars(module).items()) if v is obj and _DOTTED.match(k)), None)
                if found_as is not None:
                    modname, _ = _module_import_name(module)
                    self.from_imports.setdefault(modname, {})[f"{found_as} as {name}"] = None
                    return
        size = obj.size if isinstance(obj, np.ndarray) else len(obj) if type(obj) in (list, tuple) else 0
        if size > MAX_LITERAL_SIZE:
            kind = "an array" if isinstance(obj, np.ndarray) else f"a {type(obj).__name__}"
            raise ExportError(f"{name!r}, which {who} refers to, is {kind} of {size} items and not a global of "
                              f"your module; export writes such values into the file, up to {MAX_LITERAL_SIZE}",
                              hint="make it a module-level global of your module (the exported module then imports "
                              "it), or pass it to the function as an argument")
        text = _literal(obj)
        if text is not None:
            if "np." in text:
                self.need_numpy()
            self.constants.append((name, text, f"the value {who} captured at export time"))
            return
        raise ExportError(
            f"cannot export the value of {name!r} ({type(obj).__name__}) that {who} refers to: it is not a global "
            "of an importable module and has no literal form",
            hint="make it a module-level global of your module",
        )

    def _owner_modules(self, obj):
        modname = getattr(obj, "__module__", None)
        module = sys.modules.get(modname) if isinstance(modname, str) else None
        if module is None or module in self.user_modules or not _is_user_module(module):
            return []
        return [module]

    def inline_helper(self, name, func, who):
        if func.__closure__:
            raise ExportError(f"cannot inline the s2sad helper {func.__qualname__}: it is a closure")
        try:
            source = textwrap.dedent(inspect.getsource(func))
        except (OSError, TypeError) as exc:  # pragma: no cover
            raise ExportError(f"cannot read the source of the s2sad helper {func.__qualname__}: {exc}") from exc
        if func.__name__ != name:
            source = re.sub(rf"^def {re.escape(func.__name__)}\(", f"def {name}(", source, count=1)
        self.helpers.append((name, source))
        for dep in sorted(_free_names(source)):
            if dep == name:
                continue
            value = func.__globals__.get(dep, _MISSING)
            if value is _MISSING:
                if hasattr(builtins, dep):
                    continue
                raise ExportError(f"the s2sad helper {func.__name__} refers to {dep!r}, which is undefined")
            self.bind(dep, value, dep, func.__globals__, f"the s2sad helper {func.__name__}")

    def inline_generated(self, name, obj, who):
        source, bindings, globs, roots = _unit_of(obj)
        self.add_routines(obj, bindings, globs, roots)
        tree = ast.parse(source)
        fname = tree.body[0].name if tree.body and isinstance(tree.body[0], ast.FunctionDef) else name
        if fname in self.units and self.units[fname]["gen"] is not obj and self.units[fname]["source"] != source:
            # the jacobian of f with respect to x and w calls one per argument, each a def jacobian_f of its own
            raise ExportError(f"{who} calls {name}, whose def is named {fname} like another function of the "
                              "exported code, so the module could not define both",
                              hint="export a jacobian with respect to one argument at a time, each to its own file")
        if fname not in self.units:
            self.units[fname] = {"label": f"{fname}, which {who} calls", "source": source, "coerce": False,
                                 "gen": obj}
            self.bound.setdefault(fname, obj)
            self.add_unit(source, bindings, globs, roots, f"the generated {fname}",
                          defined=[n for n, _ in _routine_defs(obj)])
        if fname != name:
            self.constants.append((self.unshadowed(name, obj), fname, "generated function"))

    def add_routines(self, gen, bindings, globs, roots):
        """The subroutines `gen` defines, each a unit of its own before `gen`'s (once, if several
        derivatives share one)."""
        routines = _routine_defs(gen)
        for name, source in routines:
            if name in self.units:
                if self.units[name]["source"] != source:
                    raise ExportError(f"two exported derivatives define different subroutines named {name}",
                                      hint="export the modes one per file")
                continue
            if name in self.bound:
                raise ExportError(f"the name {name} of a generated subroutine is already used in the exported code")
            self.bound[name] = gen
            self.units[name] = {"label": f"{name}, a subroutine of the derivatives below", "source": source,
                                "coerce": False, "gen": None}
            self.add_unit(source, bindings, globs, roots, f"the generated {name}", defined=[n for n, _ in routines])

    def add_unit(self, source, bindings, globs, roots, who, defined=()):
        helpers = {name for name, obj in bindings.items()
                   if isinstance(obj, types.ModuleType) or module_name(obj).startswith("s2sad")}
        clash = sorted(local_names(source) & helpers)
        if clash:  # in memory the code runs with both; written out, the local would hide the helper
            raise ExportError(f"{who} has a parameter or variable named {clash[0]!r}, which is also the name of "
                              f"what the generated code calls (s2sad's {clash[0]}), so the exported code could not "
                              "call it", hint=f"rename {clash[0]!r} in your function")
        for free in _free_names(source):
            if free in defined:
                continue  # a subroutine defined in the exported module too
            if free in bindings:
                self.bind(free, bindings[free], roots.get(free, free), globs, who)
            elif free in globs:
                self.bind(free, globs[free], free, globs, who)
            elif hasattr(builtins, free):
                continue
            else:
                raise ExportError(f"{who} refers to {free!r}, which is not defined anywhere")


_MISSING = object()


# ------------------------------------------------------------------ building derivatives


def _build(func, mode, wrt, like=None):
    from . import api

    if mode in REVERSE_MODES:
        return _specialized(api.build(func, mode, wrt), like)
    if mode in FORWARD_MODES + DRIVER_MODES:
        import s2sad

        maker = getattr(s2sad, mode, None)
        if maker is None:
            raise ExportError(f"mode {mode!r} needs forward mode, which this version of s2sad does not have",
                              hint=f"export one of {', '.join(REVERSE_MODES)}")
        gen = _specialized(maker(func, wrt=wrt), like)
        if not (hasattr(gen, "source") or _is_s2sad_compiled(gen)):
            raise ExportError(f"s2sad.{mode} did not return generated code that can be exported")
        return gen
    raise ExportError(f"unknown mode {mode!r}", hint=f"use one of {', '.join(MODES)}")


def _specialized(gen, like):
    """For containers, the code generated for the structure of the example arguments `like` (a tuple,
    or a dict by name); it checks that structure when it runs."""
    if like is None or not hasattr(gen, "specialize"):
        return gen
    args, kwargs = (list(like), {}) if isinstance(like, (tuple, list)) else ([], dict(like))
    return gen.specialize(*args, **kwargs)


def _check_like(func, like) -> None:
    """Refuse example arguments `like` that are not a tuple (list) or dict of arguments `func` takes:
    code made for them would silently be the generic code."""
    name = func.__name__
    if not isinstance(like, (tuple, list, dict)):
        raise ExportError(f"like must be a tuple of {name}'s arguments (or a dict of them by name), got "
                          f"{type(like).__name__}", hint="write like=(x,) for a function of one argument")
    args, kwargs = (like, {}) if isinstance(like, (tuple, list)) else ((), like)
    try:
        signature(func).bind(*args, **kwargs)
    except TypeError as exc:
        raise ExportError(f"the example arguments (like=) do not fit {name}{signature(func)}: {exc}",
                          hint=f"give {name}'s own arguments, as you would call it (no seeds or tangents)") from None


def _shape_specialized(func, gen, like):
    """``(specialized derivative, example values of all its parameters)`` for the example arguments
    `like`, when a call with them runs specialized code in memory (grad and value_and_grad with plain
    arguments: see ``GeneratedFunction.for_shapes``); None when it runs the generic code."""
    from .api import _plain_arguments

    if like is None or gen.kind not in ("grad", "value_and_grad") or not hasattr(gen, "for_shapes"):
        return None
    args = example_arguments(func, like)
    plain = None if args is None else _plain_arguments(args, gen._wrt_positions)  # ints made floats
    if plain is None:
        return None
    spec = gen.for_shapes(*plain)
    if spec is gen or not isinstance(getattr(spec, "source", None), str) or not leaves_guard_names(spec.source):
        return None
    generic_routines, own = dict(_routine_defs(gen)), dict(_routine_defs(spec))
    if any(generic_routines.get(name, text) != text for name, text in own.items()):
        return None  # both define a subroutine of that name, differently: keep the generic code alone
    return spec, full_examples(func, plain)


def _names_in(gens) -> set:
    """Every name the sources of `gens` (and of their specialized variants' runtime) may bind."""
    from . import runtime

    names = set(vars(runtime)) | set(vars(builtins))
    for _, gen in gens:
        source = getattr(gen, "source", None)
        if isinstance(source, str):
            names |= _all_names(source)
        namespace = getattr(gen, "namespace", None)
        names |= set(getattr(namespace, "bindings", None) or {})
    return names


def _fresh(name, taken: set) -> str:
    k, candidate = 1, name
    while candidate in taken:
        k += 1
        candidate = f"{name}_{k}"
    taken.add(candidate)
    return candidate


def _add_shape_specialized(module, fname, label, gen, spec, examples, taken, dtypes) -> None:
    """Units for a derivative specialized for the example's signature: under the public name
    `fname`, the specialized code opened by a guard (`export_shapes.guarded`); under
    ``<fname>_generic``, the generic code, which the guard calls for any other arguments."""
    spec_source, spec_bindings, spec_globs, spec_roots = _unit_of(spec)
    source, bindings, globs, roots = _unit_of(gen)
    taken |= _all_names(spec_source)
    generic_name = _fresh(f"{fname}_generic", taken)
    params = _params_of(spec_source)

    def dtype_constant(dtype) -> str:
        if dtype not in dtypes:
            dtypes[dtype] = _fresh(dtype.name.upper(), taken)
        return dtypes[dtype]

    checks = argument_checks(params, examples, dtype_constant)
    generic_source = re.sub(rf"^def {re.escape(fname)}\(", f"def {generic_name}(", source, count=1, flags=re.M)
    if module.bound.get(fname, gen) is not gen or generic_name in module.bound:
        raise ExportError(f"the name {fname} of the generated derivative is already used in the exported code")
    module.add_routines(spec, spec_bindings, spec_globs, spec_roots)
    module.add_routines(gen, bindings, globs, roots)
    module.bound[fname] = spec
    module.bound[generic_name] = gen
    defined = [n for n, _ in _routine_defs(spec) + _routine_defs(gen)] + [generic_name, "np", *dtypes.values()]
    module.need_numpy()
    module.add_unit(spec_source, spec_bindings, spec_globs, spec_roots, fname, defined=defined)
    module.add_unit(source, bindings, globs, roots, generic_name, defined=defined)
    # renamed before the guard is added: the guard's `float` is the builtin (export_names)
    guarded_source = guarded(_renamed(spec_source, module.renames), generic_name, checks, describe(params, examples))
    module.units[fname] = {"label": f"{label}, for arguments like the example", "source": guarded_source,
                           "coerce": False, "gen": spec, "renamed": True}
    module.units[generic_name] = {"label": f"{label}, generic: for arguments of any other signature",
                                  "source": generic_source, "coerce": True, "gen": gen}


def _renamed(source: str, renames: dict) -> str:
    """`source` reading the user's globals that shadow builtins under their module-level names."""
    try:
        return rename_globals(source, renames)
    except S2SADError as exc:
        raise ExportError(exc.message, hint=exc.hint) from None


def _function_name(source) -> str:
    return ast.parse(source).body[0].name


def _wrt_text(func, wrt) -> tuple[str, list]:
    from .api import resolve_wrt

    positions, many = resolve_wrt(func, wrt)
    names = list(signature(func).parameters)
    chosen = [names[i] for i in positions]
    return ",".join(chosen) + ("," if many and len(chosen) == 1 else ""), chosen


def _rel(path, start) -> str:
    """`path` relative to `start` when they share a directory below the root, else absolute."""
    path, start = os.path.abspath(path), os.path.abspath(start)
    try:
        common = os.path.commonpath([path, start])
    except ValueError:  # different drives
        return path
    if os.path.dirname(common) == common:  # only the root in common
        return path
    return os.path.relpath(path, start).replace(os.sep, "/")


def _add_coercion(source: str, params: list, helper: str, others: list = (), no_matrix: str = "") -> str:
    """Insert ``x = as_real(x)`` for each differentiated parameter after the def line, and before it
    ``refuse_matrix(a, b)`` for the `others` (in memory an np.matrix is refused wherever it is passed)."""
    lines = source.splitlines(True)
    fdef = ast.parse(source).body[0]
    indent = " " * fdef.body[0].col_offset
    what = ["differentiable ones as floats"] if params else []
    what += ["no np.matrix (its * is a matrix product)"] if others else []
    head = [f"{indent}# arguments as in memory: {', '.join(what)}\n"]
    head += [f"{indent}{no_matrix}({', '.join(others)})\n"] if others else []
    head += [f"{indent}{p} = {helper}({p})\n" for p in params]
    def_end = fdef.lineno  # ast.unparse writes the def on one line
    first = fdef.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        def_end = first.end_lineno  # after the docstring
    return "".join(lines[:def_end] + head + lines[def_end:])


def export_source(f, wrt=0, modes=("grad",), path=None, command=None, like=None) -> str:
    """The text :func:`export` writes (see there). `path` is where it will be written (for the header)."""
    from . import __version__
    from .frontend import unwrap

    if isinstance(f, functools.partial):
        name = getattr(f.func, "__name__", "f")
        raise ExportError("export needs a function defined with def in a .py file, and a functools.partial has "
                          "no source of its own (it can be differentiated in memory)",
                          hint=f"export a def in your module that calls it, e.g. def {name}_fixed(x): "
                          f"return {name}(x, ...) with the bound arguments written out")
    func = unwrap(f)
    if not inspect.isfunction(func):
        raise ExportError(f"export needs a Python function, got {type(f).__name__}",
                          hint="pass a function defined in a .py file: export(f, path)")
    if func.__name__ == "<lambda>":
        raise ExportError("export needs a function defined with def (a lambda has no name to export or check)",
                          hint="define it with def")
    if func.__code__.co_filename.startswith("<") or sys.modules.get(module_name(func)) is None:
        raise ExportError(f"export needs a function defined in a .py file, and {getattr(f, '__name__', f)!r} "
                          "has no source file of its own (NumPy's own functions, code made by exec)",
                          hint="export a def in your module that calls it, e.g. def f(x): return np.sin(x)")
    if isinstance(modes, str):
        modes = (modes,)
    if not isinstance(modes, (tuple, list)) or not all(isinstance(mode, str) for mode in modes):
        raise ExportError(f"modes must be a mode's name or a tuple of them, got {escape_comment(repr(modes))}",
                          hint=f"e.g. modes=('grad', 'hvp'); the modes: {', '.join(MODES)}")
    modes = list(dict.fromkeys(modes))
    if not modes:
        raise ExportError("modes=() asks for nothing to export", hint=f"use some of {', '.join(MODES)}")
    for mode in modes:
        if mode in NOT_EXPORTED:
            raise ExportError(f"export does not write the mode {mode!r}", hint=NOT_EXPORTED[mode])
        if mode not in MODES:
            raise ExportError(f"unknown mode {mode!r}", hint=f"use one of {', '.join(MODES)}")
    wrt_spec, wrt_names = _wrt_text(func, wrt)
    if like is not None:
        _check_like(func, like)
    gens = [(mode, _build(func, mode, wrt, like)) for mode in modes]

    home = sys.modules.get(module_name(func))
    if home is None:
        raise ExportError(f"the module {func.__module__!r} of {func.__qualname__} is not imported")
    user_modules = [home] + _inlined_modules([g for _, g in gens], home)
    specialized_names = _names_in(gens)  # the exported module's names, for fresh ones (`_fresh`)
    module = _Module(user_modules, specialized_names)
    names = []
    dtype_names: dict = {}  # dtype -> the module constant the guards compare with (FLOAT64)
    for mode, gen in gens:
        source, bindings, globs, roots = _unit_of(gen)
        fname = _function_name(source)
        names.append(fname)
        label = f"{mode} of {func.__qualname__} with respect to {', '.join(wrt_names)}"
        if fname in module.units:  # already there: called by a mode before it (hvp by hessian)
            module.units[fname].update(label=label, coerce=True)
            continue
        if module.bound.get(fname, gen) is not gen:
            raise ExportError(f"the name {fname} of the generated {mode} is already used in the exported code")
        shaped = _shape_specialized(func, gen, like)
        if shaped is not None:  # the code for the example's signature, falling back on the generic code
            _add_shape_specialized(module, fname, label, gen, *shaped, taken=specialized_names, dtypes=dtype_names)
            continue
        module.add_routines(gen, bindings, globs, roots)
        module.bound[fname] = gen
        module.units[fname] = {"label": label, "source": source, "coerce": True, "gen": gen}
        module.add_unit(source, bindings, globs, roots, fname, defined=[n for n, _ in _routine_defs(gen)])
    for dtype, name in dtype_names.items():
        module.need_numpy()
        module.constants.append((name, f"np.dtype({dtype.name!r})", "the dtype the specialized code was made for"))
    _add_seed_wrappers(module)
    for unit in module.units.values():
        if not unit.get("renamed"):
            unit["source"] = _renamed(unit["source"], module.renames)
    taken = set(module.bound) | {n for u in module.units.values() for n in _all_names(u["source"])}
    coerce, helper_name, matrix_name = wrt_names, _fresh("as_real", taken), _fresh("refuse_matrix", taken)
    for unit in module.units.values():  # the public functions refuse an np.matrix anywhere, as in memory
        unit["others"] = [p for p in _params_of(unit["source"], keyword_only=True) if p not in coerce] if unit["coerce"] else []
    if any(unit["others"] for unit in module.units.values()):
        module.need_numpy()
        module.helpers.insert(0, (matrix_name, _REFUSE_MATRIX_SOURCE.replace(
            "def refuse_matrix(", f"def {matrix_name}(", 1)))
    if coerce:
        module.need_numpy()
        module.helpers.insert(0, (helper_name, _AS_REAL_SOURCE.replace("def as_real(", f"def {helper_name}(", 1)))

    out_dir = os.path.dirname(os.path.abspath(path)) if path else os.getcwd()
    sources = _sources_of(func, [g for _, g in gens])
    main_file = sources[0][0]
    modname, _ = _module_import_name(home)
    described = f"module {modname}" if home.__name__ != "__main__" else f"script {os.path.basename(main_file)}"
    if command is None:
        spec_module = modname if home.__name__ != "__main__" else _rel(main_file, os.getcwd())
        out_arg = _rel(path, os.getcwd()) if path else "OUT.py"
        # the name the module binds f to (a decorated f is its wrapper, whose def has another name; a
        # closure is bound under the name of the global that holds it: closure = make(...))
        bound_as = sorted(k for k, v in list(vars(home).items()) if v is f and _DOTTED.match(k))
        qual = f.__name__ if f.__name__ in bound_as else bound_as[0] if bound_as else sources[0][1]
        examples = None if like is None else example_arguments(func, like)
        spelled = None if examples is None else like_text(examples)
        command = regenerate_command(f"{spec_module}:{qual}", wrt_spec, modes, out_arg, like=spelled)
        if like is not None and spelled is None:
            module.notes.append("the example arguments (like=) have no --like spelling (containers, keywords, "
                                "float32 scalars ...), so the command above leaves them out: regenerate with "
                                "s2sad.export(..., like=...) to get this file")

    # every field is escaped: a newline in a path or name must not end its comment line (and run)
    qualname = escape_comment(func.__qualname__)
    header = [f"# Generated by s2sad {__version__} from {qualname} in "
              f"{escape_comment(_rel(main_file, out_dir))} ({escape_comment(described)}). Do not edit: regenerate it.",
              f"# Derivatives of {qualname} with respect to {', '.join(wrt_names)}: {', '.join(names)}."]
    for filename, qual, digest in sources:
        header.append(f"# source sha256: {digest} {escape_comment(qual)} in {escape_comment(_rel(filename, out_dir))}")
    body = []
    users = sorted(m for m in module.from_imports if m.split(".")[0] not in ("numpy", "math"))  # the user's
    body.append('"""Derivatives of {} generated by s2sad; they need only NumPy{}."""'.format(
        func.__qualname__ if re.fullmatch(r"[\w.<>]+", func.__qualname__) else "the function in the header",
        " and " + ", ".join(users) if users else ""))
    body.append("")
    body += _import_lines(module)
    body.append("")
    body.append(f"__all__ = [{', '.join(repr(n) for n in sorted(names))}]")
    if module.constants:
        body.append("")
        for name, value, comment in module.constants:
            body.append(f"{name} = {value}  # {escape_comment(comment)}")
    if module.helpers:
        body.append("")
        body.append("")
        body.append("# " + "-" * 30 + " helpers the generated code calls (copied from s2sad)")
    for name, source in module.helpers:
        body.append("")
        body.append("")
        body.append(source.rstrip("\n"))
    for unit in module.units.values():
        body.append("")
        body.append("")
        body.append(f"# {'-' * 30} {escape_comment(unit['label'])}")
        for extra in ("arguments", "wrapper"):  # f's signature, and the public jvp/hvp/vjp taking it
            if unit.get(extra):
                body += [unit[extra].rstrip("\n"), "", ""]
        source = unit["source"]
        if unit["coerce"] and (coerce or unit["others"]):
            source = _add_coercion(source, coerce, helper_name, unit["others"], matrix_name)
        code = _lint_clean(_drop_unused_results(source))
        body.append(code.rstrip("\n"))
    body_text = "\n".join(body) + "\n"
    # the hash of everything below the header: check reports an export edited by hand
    header.append(f"# body sha256: {_hash(body_text)}")
    header.append(f"# regenerate: {escape_comment(command)}")
    header.append("# check it is up to date (e.g. in CI): python -m s2sad check <this file>")
    header += [f"# note: {escape_comment(n)}" for n in module.notes + _needs_s2sad(module)]
    return "\n".join(header) + "\n" + body_text


def _needs_s2sad(module) -> list:
    """Notes for the user modules the export imports that import s2sad themselves: importing the
    exported module imports them, so it then needs s2sad too (``@s2sad.differentiate`` in model.py)."""
    notes = []
    for modname in sorted({line.split()[1] for line in module.imports} | set(module.from_imports)):
        user = sys.modules.get(modname)
        if not _is_user_module(user):
            continue
        binds = sorted(name for name, value in list(vars(user).items()) if _is_s2sad_object(value))
        if binds:
            notes.append(f"{modname} imports s2sad (it binds {', '.join(binds[:3])}), so importing this module "
                         f"needs s2sad too; to run without it, move what this module imports from {modname} "
                         "into a module that does not import s2sad")
    return notes


def _is_s2sad_object(value) -> bool:
    """Whether `value` (a global of a user module) is s2sad, or something from it (grad, a differentiated function)."""
    if isinstance(value, types.ModuleType):
        owner = value.__name__
    elif inspect.isfunction(value) or isinstance(value, type):
        owner = getattr(value, "__module__", None)
    else:
        owner = type(value).__module__
    return isinstance(owner, str) and (owner == "s2sad" or owner.startswith("s2sad."))


def header_notes(path) -> list:
    """The ``# note:`` lines of the header of the export `path` (as written: escaped), e.g. for the
    command line to repeat them."""
    header, _ = _split_header(read_regular(os.fspath(path)))
    return [line[len("# note: "):] for line in header if line.startswith("# note: ")]


def _add_seed_wrappers(module) -> None:
    """Make each jvp, hvp and vjp unit take f's arguments as f does, then its seeds (see export_seeds).

    The generated function is renamed ``<name>_positional``; the unit gets a
    wrapper under the public name, and the first one the stub with f's signature.
    """
    wrapped = [(fname, unit) for fname, unit in module.units.items() if trailing_seeds(unit.get("gen")) is not None]
    if not wrapped:
        return
    taken = set(module.bound) | {n for u in module.units.values() for n in _all_names(u["source"])}

    def fresh(name):
        candidate = _fresh(name, taken)
        module.bound[candidate] = _MISSING  # reserved
        return candidate

    stubs, tangent_helper = {}, None
    for fname, unit in wrapped:
        gen = unit["gen"]
        primal = gen.primal
        if id(primal) not in stubs:
            stub_name = fresh(f"{primal.__name__}_arguments")
            stub, defaults = arguments_stub(stub_name, primal)
            for name, value in defaults.items():
                module.bind(name, value, name, {}, f"the default of {name[:-len('_default')]} of {primal.__name__}")
            stubs[id(primal)] = stub_name
            unit["arguments"] = stub
        tangent_of = None
        if gen.kind in ("jvp", "hvp"):
            if tangent_helper is None:
                tangent_helper = fresh("as_tangent")
                module.need_numpy()
                module.helpers.append((tangent_helper, AS_TANGENT_SOURCE.replace(
                    "def as_tangent(", f"def {tangent_helper}(", 1)))
            primal_params = list(signature(primal).parameters)
            tangent_of = dict(zip(_params_of(unit["source"])[len(primal_params):],
                                  [primal_params[p] for p in gen._wrt_positions]))
        positional = fresh(f"{fname}_positional")
        params = _params_of(unit["source"])
        unit["source"] = re.sub(rf"^def {re.escape(fname)}\(", f"def {positional}(", unit["source"], count=1,
                                flags=re.M)
        unit["wrapper"] = seed_wrapper(fname, positional, stubs[id(primal)], params, trailing_seeds(gen), primal,
                                       tangent_of, tangent_helper)


def _params_of(source: str, keyword_only: bool = False) -> list:
    """The parameter names of the first def in `source`: the positional ones, and the keyword-only too if
    asked (generated defs have no positional-only parameters)."""
    args = ast.parse(source).body[0].args
    return [a.arg for a in args.args + (args.kwonlyargs if keyword_only else [])]


def _drop_unused_results(source: str) -> str:
    """``t1 = print(x)`` -> ``print(x)`` when nothing reads ``t1`` (a call kept for its effect).

    Generated code keeps impure calls whose results are unused (``print``, the
    seed's scalar check); binding their result to a name nothing reads is what
    linters flag as an unused variable (F841).
    """
    tree = ast.parse(source)
    loads = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Store)}
    lines = source.splitlines(True)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id not in loads and isinstance(node.value, ast.Call):
            i = node.lineno - 1
            prefix = f"{node.targets[0].id} = "
            col = node.col_offset
            if lines[i][col:col + len(prefix)] == prefix:
                lines[i] = lines[i][:col] + lines[i][col + len(prefix):]
    return "".join(lines)


_LINE_COMMENT = re.compile(r"^(\s*# line \d+[^:]*: )(.*)$")
_DIRECTIVE = re.compile(r"#(\s*)(?=(noqa|ruff\s*:|isort\s*:|fmt\s*:|type\s*:|pragma))", re.I)


def _lint_clean(source: str) -> str:
    """Two rewrites that keep exported files clean under linters without changing what runs.

    * A source line quoted in a ``# line N: ...`` comment may carry the user's own
      ``# noqa`` (or ``# isort:``...) comment; it is made inert (``# ~noqa``).
    * ``if not a == b:`` (a branch whose then-block is empty) reads ``if a != b:``.
    """
    lines = source.splitlines(True)
    for i, line in enumerate(lines):
        m = _LINE_COMMENT.match(line.rstrip("\n"))
        if m and "#" in m.group(2):
            lines[i] = m.group(1) + _DIRECTIVE.sub(lambda d: "#" + d.group(1) + "~", m.group(2)) + "\n"
    tree = ast.parse("".join(lines))
    flip = {ast.Eq: ast.NotEq, ast.NotEq: ast.Eq}
    for node in ast.walk(tree):
        if isinstance(node, (ast.If, ast.While)) and isinstance(node.test, ast.UnaryOp) \
                and isinstance(node.test.op, ast.Not) and isinstance(node.test.operand, ast.Compare) \
                and len(node.test.operand.ops) == 1 and type(node.test.operand.ops[0]) in flip \
                and node.test.lineno == node.test.end_lineno:
            cmp = node.test.operand
            new = ast.unparse(ast.Compare(cmp.left, [flip[type(cmp.ops[0])]()], cmp.comparators))
            i = node.test.lineno - 1
            line = lines[i]
            lines[i] = line[:node.test.col_offset] + new + line[node.test.end_col_offset:]
    return "".join(lines)


def _all_names(source) -> set:
    return {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)} | {
        a.arg for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef) for a in n.args.args}


def _member_key(member: str):
    """isort's order of imported names: CONSTANTS, then Classes, then the rest, each by name."""
    name = member.split(" as ")[0]
    kind = 0 if len(name) > 1 and name.isupper() else 1 if name[:1].isupper() else 2
    return (kind, name.lower(), name, member)


def _classify(modname: str) -> int:
    """0 for the standard library, 1 for installed packages, 2 for the user's own modules."""
    top = modname.split(".")[0]
    if top in getattr(sys, "stdlib_module_names", ()) or top in ("math", "builtins"):
        return 0
    module = sys.modules.get(top)
    if module is not None and not _is_user_module(module):
        return 1
    return 2


def _from_import_lines(modname: str, members) -> list:
    """``from M import ...`` lines as isort writes them: the plain names on one line, each ``a as b``
    on its own, ordered by their first name."""
    plain = sorted((m for m in members if " as " not in m), key=_member_key)
    statements = [(_member_key(m), f"from {modname} import {m}") for m in members if " as " in m]
    if plain:
        statements.append((_member_key(plain[0]), f"from {modname} import {', '.join(plain)}"))
    return [line for _, line in sorted(statements)]


def _import_lines(module) -> list:
    """Import lines in the order isort (ruff's I001) wants; each user module in a block of its own."""
    groups = {0: ([], []), 1: ([], []), 2: ([], [])}
    for line in module.imports:
        modname = line.split()[1]
        groups[_classify(modname)][0].append(line)
    for modname, members in module.from_imports.items():
        groups[_classify(modname)][1].extend(_from_import_lines(modname, members))
    lines = []
    for kind in (0, 1):
        straight = sorted(groups[kind][0], key=lambda x: (x.split()[1].lower(), x))
        froms = sorted(groups[kind][1], key=lambda x: (x.split()[1].lower(), x))
        if straight or froms:
            if lines:
                lines.append("")
            lines += straight + froms
    user = sorted(groups[2][0], key=lambda x: x.split()[1]) + sorted(groups[2][1], key=lambda x: x.split()[1])
    for line in user:
        if lines:
            lines += ["", "# isort: split"]  # ruff may see the user's module as first or third party
        lines.append(line)
    return lines


def regenerate_command(spec: str, wrt, modes, out: str, force: bool = False, like: str | None = None) -> str:
    """The shell command that regenerates an export, every argument quoted for a POSIX shell.

    Args:
        spec: ``MODULE:FUNCTION`` as the command line takes it.
        wrt: the ``--wrt`` text (``"x,w"``), or None to leave it out.
        modes: the modes, each written as ``--mode M``.
        out: the output path.
        force: add ``--force`` (to replace an export that was edited by hand).
        like: the ``--like`` text (example arguments, ``export_shapes.parse_like``), or None.

    Returns:
        One line, e.g. ``python -m s2sad export model:loss --wrt x,w --mode grad -o grad_loss.py``.

    Example:
        >>> regenerate_command("model:loss", "x", ["grad"], "my out.py")
        "python -m s2sad export model:loss --wrt x --mode grad -o 'my out.py'"
    """
    if out.startswith("-"):
        out = "./" + out  # not an option
    parts = ["python", "-m", "s2sad", "export", spec]
    if wrt is not None:
        parts += ["--wrt", str(wrt)]
    for mode in modes:
        parts += ["--mode", mode]
    if like is not None:
        parts += ["--like", like]
    parts += ["-o", out]
    if force:
        parts.append("--force")
    return " ".join(shlex.quote(p) for p in parts)


def export(f, path, wrt=0, modes=("grad",), command=None, like=None, force=False, parents=False) -> str:
    """Write the derivatives of `f` to the Python module `path`, which runs without s2sad.

    The file is written whole or not at all (a temporary file in the same
    directory renamed over `path`). It never replaces the source of the
    function or of a helper it differentiates, follows no symbolic link to a
    file s2sad did not generate, and replaces an existing file only if s2sad
    generated it and nobody edited it since, unless ``force=True``.

    Args:
        f: a Python function (defined with ``def`` in a module or script file).
        path: the ``.py`` file to write; its stem must be a module name that shadows no module
            (not ``grad-loss.py``, ``random.py``, or the user's ``model.py``).
        wrt: as for :func:`s2sad.grad`: a position, a name, or a tuple of them.
        modes: which derivatives to define: "grad" (``grad_<name>``),
            "value_and_grad", "vjp", "jvp", "hvp", "hessian", "jacobian",
            "laplacian", "divergence", "curl" (not "derivative": see ``NOT_EXPORTED``).
        command: the regenerate command to record in the header (the CLI passes
            its own command line; by default one is written).
        like: example arguments of `f` (a tuple, or a dict by name). "grad" and
            "value_and_grad" are then written for their signature (kinds, dtypes, ranks,
            axes of length 1, equal sizes: the code ``s2sad.show(f, example_args=like)``
            prints), opened by a guard that sends arguments of any other signature to the
            generic code, written too as ``<name>_generic`` (``export_shapes.py``). When
            differentiated arguments are containers (dicts, lists, tuples, namedtuples), the
            code is generated for their structure, and refuses another structure when run.
        force: replace `path` even if s2sad did not generate it or it was edited by hand.
        parents: create the directory of `path` (and its parents) if missing.

    Returns:
        The path written.

    Raises:
        ExportError: the derivatives cannot be exported, or `path` cannot be (or must not be) written.

    Example:
        >>> import s2sad
        >>> s2sad.export(loss, "grad_loss.py", wrt=("x", "w"))  # doctest: +SKIP
        'grad_loss.py'
    """
    try:
        path_text = os.fspath(path)
    except TypeError:
        raise ExportError(f"the output path must be a str or os.PathLike, got {type(path).__name__}",
                          hint='e.g. s2sad.export(f, "grad_f.py")') from None
    if not isinstance(path_text, str) or not path_text or "\0" in path_text:
        raise ExportError(f"the output path must be a non-empty file name, got {escape_comment(repr(path))}",
                          hint='e.g. s2sad.export(f, "grad_f.py")')
    _refuse_module_name(path_text)
    text = export_source(f, wrt=wrt, modes=modes, path=path_text, command=command, like=like)
    _refuse_sources(os.path.realpath(path_text), text, path_text)
    _refuse_imported(os.path.realpath(path_text), text, path_text)
    target, mode = _output_target(path_text, force)
    shown = escape_comment(path_text)
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        if os.path.lexists(directory):
            raise ExportError(f"cannot write {shown}: {escape_comment(directory)} is not a directory")
        if not parents:
            raise ExportError(f"cannot write {shown}: the directory {escape_comment(directory)} does not exist",
                              hint="create it first, or pass --parents (parents=True) to create it")
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as exc:
            raise ExportError(f"cannot create the directory {escape_comment(directory)}: {exc.strerror or exc}",
                              hint="create it yourself, or write somewhere you may") from None
    try:
        write_atomically(target, text.encode("utf-8"), mode)
    except OSError as exc:
        raise ExportError(f"cannot write {shown}: {exc.strerror or exc}",
                          hint="check that the directory exists and is writable") from None
    return path


def _output_target(path: str, force: bool):
    """(file to replace, its permission bits or None) for writing `path`; refuses what must not be replaced.

    A symbolic link is followed only to a file s2sad generated (and nobody edited).
    """
    shown = escape_comment(path)
    target = os.path.abspath(path)
    if path.endswith(("/", os.sep)):
        raise ExportError(f"cannot write {shown}: it names a directory", hint="give a file name: DIR/grad_f.py")
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return target, None
    except OSError as exc:
        raise ExportError(f"cannot write {shown}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(info.st_mode):
        real = os.path.realpath(target)
        status = _export_status(real) if os.path.isfile(real) else "missing"
        if status != "generated":
            what = "a missing file" if status == "missing" else "a file s2sad did not generate" \
                if status == "other" else "an export edited by hand"
            raise ExportError(f"cannot write {shown}: it is a symbolic link to {what} ({escape_comment(real)}), "
                              "and s2sad does not write through it",
                              hint="remove the link, or write to another file")
        return real, stat.S_IMODE(os.stat(real).st_mode)
    if stat.S_ISDIR(info.st_mode):
        raise ExportError(f"cannot write {shown}: it is a directory", hint="give a file name: DIR/grad_f.py")
    if not stat.S_ISREG(info.st_mode):
        raise ExportError(f"cannot write {shown}: it is {file_kind(info.st_mode)}, not a regular file",
                          hint="write to a regular .py file")
    status = _export_status(target)
    if status == "other" and not force:
        raise ExportError(f"refusing to overwrite {shown}: s2sad did not generate it",
                          hint="choose another file name, or pass --force (force=True) to replace it")
    if status == "modified" and not force:
        raise ExportError(f"refusing to overwrite {shown}: it was edited by hand since s2sad generated it",
                          hint="move your edits elsewhere, or pass --force (force=True) to discard them")
    return target, stat.S_IMODE(info.st_mode)


def _refuse_sources(target: str, text: str, path: str) -> None:
    """Refuse (even with force) to write over a source file whose function the export hashes."""
    base = os.path.dirname(os.path.abspath(path))
    header, _ = _split_header(text.encode("utf-8"))
    for _, qual, filename in _source_records(header, base):
        same = os.path.realpath(filename) == os.path.realpath(target)
        if not same and os.path.exists(target) and os.path.exists(filename):
            same = os.path.samefile(filename, target)
        if same:
            raise ExportError(f"refusing to write over {escape_comment(path)}: it is the source of {qual}, "
                              "which the export is generated from",
                              hint="write the derivatives to another file, e.g. grad_<module>.py")


def _refuse_module_name(path: str) -> None:
    """Refuse an output that could not be imported as a module: not ``.py``, or a stem such as
    ``grad-loss`` or ``class`` that an import statement cannot name."""
    if path.endswith(("/", os.sep)) or os.path.isdir(path):
        return  # refused as a directory when the target is examined
    stem, suffix = os.path.splitext(os.path.basename(path))
    if suffix != ".py":
        raise ExportError(f"cannot write {escape_comment(path)}: the exported module must be a .py file",
                          hint="name the output like grad_loss.py")
    if not stem.isidentifier() or keyword.iskeyword(stem):
        raise ExportError(f"cannot write {escape_comment(path)}: {escape_comment(stem)!r} is not a module name, "
                          "so the exported module could not be imported",
                          hint="use letters, digits and _ (not first a digit, not a Python keyword): grad_loss.py")
    # a file named like a module would be imported instead of it by code run from its directory (yours too)
    loaded = getattr(sys.modules.get(stem), "__file__", None)
    is_earlier_export = loaded is not None and os.path.abspath(loaded) == os.path.abspath(path)
    if (stem in sys.stdlib_module_names or stem in sys.modules) and not is_earlier_export:
        what = "the standard library module" if stem in sys.stdlib_module_names else "the module"
        raise ExportError(f"refusing to write {escape_comment(path)}: it would shadow {what} {stem} for code run "
                          "from its directory", hint=f"name the output otherwise, e.g. grad_{stem}.py")


def _refuse_imported(target: str, text: str, path: str) -> None:
    """Refuse (even with force) an output that the exported module itself imports: a module of the same
    name (it would import itself instead) or the file of one (the user's module, a package's __init__)."""
    imported = []
    for node in ast.parse(text).body:
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.append(node.module)
    stem = os.path.splitext(os.path.basename(target))[0]
    for name in imported:
        module = sys.modules.get(name)
        filename = getattr(module, "__file__", None)
        same = filename is not None and os.path.exists(target) and os.path.samefile(filename, target)
        if same or name.split(".")[0] == stem:
            raise ExportError(f"refusing to write {escape_comment(path)}: the exported module imports {name}, "
                              f"{'which is that file' if same else 'and would import itself instead'}",
                              hint=f"name the output otherwise, e.g. grad_{stem}.py")


def _export_status(path: str) -> str:
    """"generated" (an unedited s2sad export), "modified" (one edited by hand) or "other"."""
    try:
        data = read_regular(path)
    except FileSafetyError:
        return "other"
    except OSError as exc:
        raise ExportError(f"cannot read {escape_comment(path)} to see whether s2sad generated it: "
                          f"{exc.strerror or exc}") from None
    header, body = _split_header(data)
    if not header or not header[0].startswith(_GENERATED_MARK):
        return "other"
    recorded = _body_digest(header)
    if recorded is not None and hashlib.sha256(body).hexdigest() != recorded:
        return "modified"
    return "generated"


# ------------------------------------------------------------------ staleness


_GENERATED_MARK = "# Generated by s2sad"
_SOURCE_LINE = re.compile(r"^# source sha256: ([0-9a-f]{64}) (\S+) in (.+)$")
_BODY_LINE = re.compile(r"^# body sha256: ([0-9a-f]{64})$")
_REGEN_LINE = re.compile(r"^# regenerate: (.+)$")
_DOTTED = re.compile(r"^[^\W\d]\w*(\.[^\W\d]\w*)*$")
_LIKE_TEXT = re.compile(r"^[\w\[\]()., +-]+$")  # numbers, DTYPE[SHAPE], float64(x): nothing a shell reads
_WRT_TEXT = re.compile(r"^(all|none|(-?\d+|[^\W\d]\w*)(,(-?\d+|[^\W\d]\w*))*,?)$")

#: check's problem for an export whose code below the header no longer hashes as recorded.
MODIFIED = "the generated code was edited by hand since the export"


def _split_header(data: bytes):
    """(header lines, body bytes): the leading ``#`` lines of an exported file, and everything after."""
    header, pos = [], 0
    while data.startswith(b"#", pos):
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end
        header.append(data[pos:end].decode("utf-8", errors="replace"))
        pos = end + 1
    return header, data[pos:]


def _body_digest(header):
    return next((m.group(1) for m in map(_BODY_LINE.match, header) if m), None)


def _source_records(header, base):
    """[(sha256, qualname, absolute filename)] recorded in the header (paths relative to `base`)."""
    records = []
    for match in filter(None, map(_SOURCE_LINE.match, header)):
        digest, qual, rel = match.groups()
        rel = unescape_comment(rel)
        filename = rel if os.path.isabs(rel) else os.path.normpath(os.path.join(base, rel))
        records.append((digest, unescape_comment(qual), filename))
    return records


def _rebuilt_command(header, path: str, force: bool):
    """The regenerate command for the export `path`, rebuilt from the header's one after checking each part.

    The recorded command is only read: the function spec, ``--wrt`` and the
    modes must each have their expected form, and the output is `path` itself;
    anything else (an option the CLI does not write, a stray character) gives
    None rather than a command someone might paste.
    """
    recorded = next((m.group(1) for m in map(_REGEN_LINE.match, header) if m), None)
    if recorded is None:
        return None
    try:
        tokens = shlex.split(unescape_comment(recorded))
    except ValueError:
        return None
    if tokens[:4] != ["python", "-m", "s2sad", "export"] or len(tokens) < 5 or ":" not in tokens[4]:
        return None
    spec = tokens[4]
    module_part, func_part = spec.rsplit(":", 1)
    if not _DOTTED.match(func_part) or not (_DOTTED.match(module_part) or module_part.endswith(".py")) \
            or module_part.startswith("-") or not spec.isprintable():
        return None
    wrt, modes, like, i = None, [], None, 5
    while i < len(tokens):
        option = tokens[i]
        if option == "--wrt" and i + 1 < len(tokens) and _WRT_TEXT.match(tokens[i + 1]):
            wrt, i = tokens[i + 1], i + 2
        elif option == "--like" and i + 1 < len(tokens) and _LIKE_TEXT.match(tokens[i + 1]):
            try:
                like = like_text(parse_like(tokens[i + 1]))  # written again as s2sad writes it
            except ValueError:
                return None
            i += 2
        elif option == "--mode" and i + 1 < len(tokens) and tokens[i + 1] in MODES:
            i += 1
            while i < len(tokens) and tokens[i] in MODES:
                modes.append(tokens[i])
                i += 1
        elif option in ("-o", "--output") and i + 1 < len(tokens):
            i += 2  # replaced by the file being checked
        elif option in ("-q", "--quiet", "--parents", "--force"):
            i += 1
        else:
            return None
    if not os.fspath(path).isprintable():
        return None
    return regenerate_command(spec, wrt, modes or ["grad"], os.fspath(path), force=force, like=like)


def check(path) -> list:
    """Problems that make the exported file `path` stale ([] when it is up to date).

    Reads the sources named in the header and compares their SHA-256 with the
    recorded ones, and the code below the header with its recorded SHA-256 (an
    export edited by hand is reported, as :data:`MODIFIED`). Imports nothing,
    and reads only regular files of bounded size (never a FIFO or a device).
    The regenerate command it suggests is rebuilt from checked parts, never
    copied from the header.

    Raises:
        ExportError: `path` cannot be read or is not an s2sad export.
    """
    try:
        path = os.fsdecode(os.fspath(path))
    except TypeError:
        raise ExportError(f"check needs a path, got {type(path).__name__}") from None
    shown = escape_comment(path)
    if "\0" in path:
        raise ExportError(f"cannot read {shown}: a file name cannot hold a null byte")
    try:
        data = read_regular(path)
    except FileSafetyError as exc:
        raise ExportError(f"cannot check: {exc.message}", hint="name an exported .py file") from None
    except OSError as exc:
        raise ExportError(f"cannot read {shown}: {exc.strerror or exc}") from None
    header, body = _split_header(data)
    if not header or not header[0].startswith(_GENERATED_MARK):
        raise ExportError(f"{shown} is not a module exported by s2sad (no s2sad header)")
    base = os.path.dirname(os.path.abspath(path))
    records = _source_records(header, base)
    if not records:
        raise ExportError(f"{shown} has an s2sad header but records no source hash",
                          hint="regenerate it with python -m s2sad export")
    problems = []
    recorded_body = _body_digest(header)
    modified = recorded_body is not None and hashlib.sha256(body).hexdigest() != recorded_body
    if modified:
        problems.append(MODIFIED)
    for digest, qual, filename in records:
        rel = escape_comment(_rel(filename, base))
        try:
            current = function_source_hash(filename, qual)
        except FileNotFoundError:
            problems.append(f"{rel}: the source file is missing")
            continue
        except FileSafetyError as exc:
            problems.append(f"{rel}: cannot check it: {exc.message}")
            continue
        except OSError as exc:
            problems.append(f"{rel}: cannot read it: {exc.strerror or exc}")
            continue
        except SyntaxError as exc:
            problems.append(f"{rel}: cannot parse it ({exc.msg}, line {exc.lineno})")
            continue
        except ValueError as exc:  # e.g. a null byte in the file
            problems.append(f"{rel}: cannot parse it ({exc})")
            continue
        except ExportError:
            problems.append(f"{rel}: no function {escape_comment(qual)} any more")
            continue
        if current != digest:
            problems.append(f"{rel}: {escape_comment(qual)} changed since the export")
    if problems:
        regen = _rebuilt_command(header, path, force=modified)
        problems.append(f"regenerate with: {regen}" if regen else
                        "regenerate it with python -m s2sad export (the header's command is not in the form "
                        "s2sad writes, so it is not repeated here)")
    return problems


__all__ = ["export", "export_source", "check", "load_function", "function_source_hash", "regenerate_command",
           "header_notes", "ExportError", "MODES", "MODIFIED"]
