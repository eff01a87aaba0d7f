"""Frontend: a function object -> its gast AST, and a resolver for its free names.

This is the only stage that touches ``inspect``. It finds the source, parses
it with gast (one AST across Python versions), and records where every line
came from so later errors and comments can quote it.
"""

from __future__ import annotations

import __future__
import ast
import builtins
import copy
import functools
import inspect
import linecache
import operator
import textwrap
import types
import weakref
from dataclasses import dataclass, field

import gast
import numpy as np

from .errors import Location, SourceChangedError, SourceUnavailableError, UnsupportedSyntaxError

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
        cells: free variables of the function, name -> closure cell.
        assumptions: what the transformation read from the running program,
            as ``(kind, holder, key, value)``: ``("global", module dict, name,
            value)`` (``_MISSING`` for a builtin), ``("cell", cell, name, value)``,
            ``("attr", object, attribute, value)``. Shared by the functions
            inlined into one transformation; see :mod:`s2sad.guards`.
    """

    func: object
    node: gast.FunctionDef
    filename: str
    line_offset: int
    col_offset: int
    globals: dict
    closure: dict = field(default_factory=dict)
    cells: dict = field(default_factory=dict)
    assumptions: list = field(default_factory=list)

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
            self.assumptions.append(("cell", self.cells[name], name, self.closure[name]))
            return self.closure[name]
        value = self.globals.get(name, _MISSING)
        self.assumptions.append(("global", self.globals, name, value))  # a builtin: while no global hides it
        if value is not _MISSING:
            return value
        return getattr(builtins, name, _MISSING)


def walk_nodes(root) -> list:
    """Every node under `root` (itself included) in the order of ``ast.walk`` (breadth first), as a list.

    The same nodes in the same order as ``gast.walk``, at about half the cost: no generator per node
    and per field (a long function is walked several times while it is parsed and lowered).

    Example:
        >>> [type(n).__name__ for n in walk_nodes(gast.parse("y = x"))]
        ['Module', 'Assign', 'Name', 'Name', 'Store', 'Load']
    """
    nodes = [root]
    append = nodes.append
    node_type = ast.AST
    k = 0
    while k < len(nodes):
        node = nodes[k]
        k += 1
        for name in node._fields:
            try:
                value = getattr(node, name)
            except AttributeError:
                continue
            if isinstance(value, node_type):
                append(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, node_type):
                        append(item)
    return nodes


def unwrap(func):
    """The Python function s2sad reads to transform `func`.

    * an ``@s2sad.differentiate`` function: the function inside it;
    * a callable with a registered derivative rule (``np.tanh``, ``np.var``, a
      function with ``@s2sad.adjoint``): a generated one-line function calling
      it (:func:`rule_caller`), so the rule is used and NumPy's source is never read;
    * a ``functools.partial`` object: a generated function of the partial's remaining parameters
      that calls the function with the bound arguments (:func:`partial_caller`);
    * a ``functools.lru_cache``/``cache`` wrapper: the cached function (the cache
      returns what the function returns);
    * anything else as it is. A decorator's wrapper stays the wrapper: its body
      (which calls the wrapped function) is what runs, so it is what s2sad reads.

    Example:
        >>> import numpy as np
        >>> unwrap(np.tanh).__name__
        'tanh'
    """
    seen = set()
    while id(func) not in seen:
        seen.add(id(func))
        if isinstance(func, functools.partial):
            return partial_caller(func)
        inner = getattr(func, "__s2sad_function__", None)
        if inner is None and isinstance(func, _LRU_CACHE_WRAPPER):
            inner = func.__wrapped__
        if inner is None:
            break
        func = inner
    if _has_rule(func):
        return rule_caller(func)
    if inspect.ismethod(func):  # obj.method: the function with its first argument bound, as a partial
        return partial_caller(functools.partial(func.__func__, func.__self__))
    return func


_LRU_CACHE_WRAPPER = type(functools.lru_cache(None)(len))


def _has_rule(func) -> bool:
    from .rules import registry  # rules are data the frontend consults; imported late (they import lowering)

    return registry.adjoint_rule(func) is not None or registry.tangent_rule(func) is not None


_RULE_CALLERS: dict = {}


def rule_caller(primal):
    """A Python function with the parameters of `primal`'s rule that just calls `primal`.

    ``grad(np.var)`` transforms ``def var(a, axis=None, ...): return np.var(a, axis, ...)``,
    whose one call is then differentiated by the rule. The source is registered in
    ``linecache`` so the frontend reads it like any file. One per primal and rule set.

    Example:
        >>> import numpy as np
        >>> print(rule_caller(np.tanh).__s2sad_source__, end="")
        def tanh(x):
            return np.tanh(x)
    """
    from .rules import registry

    key = (primal, registry.generation())
    if key not in _RULE_CALLERS:
        _RULE_CALLERS[key] = _make_rule_caller(primal, registry)
    return _RULE_CALLERS[key]


_PARTIAL_CALLERS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def partial_caller(bound):
    """A Python function with the parameters of the ``functools.partial`` object `bound` (as
    ``inspect.signature(bound)`` shows them) that calls ``bound.func`` with the bound arguments.

    So every operator differentiates the partial as the function it is: ``wrt`` names its remaining
    parameters, and a keyword bound by the partial stays a (keyword-only) parameter with that default.
    The source is registered in ``linecache``; one caller per partial object.

    Example:
        >>> import functools, numpy as np
        >>> def power(x, k):
        ...     return x ** k
        >>> print(partial_caller(functools.partial(power, k=3.0)).__s2sad_source__, end="")
        def power(x, *, k=3.0):
            return power_func(x, k=k)
    """
    caller = _PARTIAL_CALLERS.get(bound)
    if caller is None:
        caller = _PARTIAL_CALLERS[bound] = _make_partial_caller(bound)
    return caller


def _make_partial_caller(bound):
    func = bound.func
    name = getattr(func, "__name__", None)
    name = name if isinstance(name, str) and name.isidentifier() else "partial"
    if _has_rule(func):  # call it as grad(np.sum) would: with the parameters of its rule
        func = rule_caller(func)
        bound = functools.partial(func, *bound.args, **bound.keywords)
    try:
        params = list(inspect.signature(bound).parameters.values())
    except (TypeError, ValueError):
        params = None
    if params is None or any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        raise SourceUnavailableError(
            f"s2sad cannot tell the parameters of the partial {bound!r}" + ("" if params is None else
                                                                           " (its function takes *args or **kwargs)"),
            hint="write a small def that calls the function with the fixed arguments, and differentiate that")
    callee = f"{name}_func"
    scope = {"np": __import__("numpy"), f"{name}_func": func}
    call = []
    for k, value in enumerate(bound.args):
        scope[f"{name}_arg{k}"] = value
        call.append(f"{name}_arg{k}")
    call += [f"{p.name}={p.name}" if p.kind is p.KEYWORD_ONLY else p.name for p in params]
    caller = _caller(name, params, callee, call, scope, f"<s2sad call of the partial {name} at {id(bound):#x}>")
    caller.__s2sad_partial__ = bound
    return caller


def _caller(name, params, callee, call, scope, filename):
    """Compile ``def name(<params>): return callee(<call>)`` in `scope`, its source registered in
    ``linecache`` as `filename`. A default that is not a literal is bound in `scope` under
    ``<param>_default_value``: not ``<param>_default``, the name generated code gives a parameter's
    default (a global of that name holding the same object would be read as the caller's live global
    and left unbound)."""
    signature = []
    for p in params:
        text = p.name
        if p.default is not p.empty:
            if _is_literal(p.default):
                text += f"={p.default!r}"
            else:
                scope[f"{p.name}_default_value"] = p.default
                text += f"={p.name}_default_value"
        signature.append(text)
    kinds = [p.kind for p in params]
    if p_only := kinds.count(inspect.Parameter.POSITIONAL_ONLY):
        signature.insert(p_only, "/")
    if inspect.Parameter.KEYWORD_ONLY in kinds:
        signature.insert(kinds.index(inspect.Parameter.KEYWORD_ONLY) + (1 if p_only else 0), "*")
    source = f"def {name}({', '.join(signature)}):\n    return {callee}({', '.join(call)})\n"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), scope)
    caller = scope[name]
    caller.__s2sad_source__ = source
    return caller


def _numpy_path(primal):
    """``np.linalg.norm`` for numpy.linalg.norm: the dotted name generated code can call it by."""
    import numpy as np

    name = getattr(primal, "__name__", None)
    for path, module in (("np", np), ("np.linalg", np.linalg), ("np.fft", np.fft)):
        if name and getattr(module, name, None) is primal:
            return f"{path}.{name}"
    return None


def _make_rule_caller(primal, registry):
    import numpy as np

    rule = registry.adjoint_rule(primal) or registry.tangent_rule(primal)
    name = getattr(primal, "__name__", None) or "primal"
    if not name.isidentifier():
        name = "primal"
    params = list(inspect.signature(rule.template).parameters.values())[1:]  # after the result
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        raise SourceUnavailableError(
            f"{name} has a derivative rule, but s2sad cannot tell which arguments to pass it",
            hint=f"call it inside a function of your own: def f(x): return {_numpy_path(primal) or name}(x)",
        )
    scope = {"np": np}
    callee = _numpy_path(primal)
    if callee is None:
        callee = f"{name}_primal"
        scope[callee] = primal
    try:  # NumPy's own positional order, where it differs from the rule's (linspace's retstep)
        own = [p.name for p in inspect.signature(primal).parameters.values()
               if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):  # a ufunc: no signature, the rule's order is its order
        own = None
    call = []
    by_keyword = False
    for i, p in enumerate(params):
        by_keyword = by_keyword or p.kind is p.KEYWORD_ONLY or (
            own is not None and (i >= len(own) or own[i] != p.name) and p.kind is not p.POSITIONAL_ONLY)
        call.append(f"{p.name}={p.name}" if by_keyword else p.name)
    caller = _caller(name, params, callee, call, scope, f"<s2sad call of {callee}>")
    caller.__s2sad_primal__ = primal
    return caller


def _is_literal(value) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    return isinstance(value, tuple) and all(_is_literal(v) for v in value)


def _not_a_function(func) -> str:
    """What `func`, which is not a Python function, is: for the message refusing it."""
    if inspect.isclass(func):
        return f"{func.__qualname__} is a class"
    if inspect.isbuiltin(func) or inspect.ismethoddescriptor(func) or isinstance(func, np.ufunc):
        return f"{getattr(func, '__name__', repr(func))} is a builtin or C extension function"
    if callable(func):
        return f"{_short_repr(func)} is a callable {type(func).__name__} object, not a function"
    return f"{_short_repr(func)} is not a function"


def _short_repr(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_function(func, assumptions: list | None = None) -> ParsedFunction:
    """Read and parse the source of `func`.

    Args:
        func: the function (or a wrapper :func:`unwrap` looks through).
        assumptions: the list to record what was read in (a fresh one if None);
            the code, defaults and closure of `func` are recorded first.

    Raises:
        SourceUnavailableError: no Python source can be found (C function,
            REPL, ``exec``), with what to do instead.
    """
    func = unwrap(func)
    if not inspect.isfunction(func):
        if callable(func) and inspect.isfunction(getattr(type(func), "__call__", None)):
            raise SourceUnavailableError(
                f"an object of the class {type(func).__qualname__} is called through its __call__ method; "
                "s2sad reads functions, not methods",
                hint="differentiate a plain function that takes the object's data as arguments "
                "(def f(x, w): ...), or register a rule for the object with @s2sad.adjoint",
            )
        raise SourceUnavailableError(
            f"{_not_a_function(func)}; s2sad differentiates Python source",
            hint="pass a Python function defined in a file; to use a NumPy function, a class or a callable "
            "object, call it inside one (def f(x): return np.sin(x))",
        )
    code = func.__code__
    try:
        linecache.lazycache(code.co_filename, func.__globals__)  # a zipped module's source, via its loader
        lines, start = inspect.getsourcelines(code)  # the code that runs, not what __wrapped__ names
    except (OSError, TypeError) as exc:
        raise SourceUnavailableError(
            f"cannot read the source of {func.__qualname__} (defined in {code.co_filename!r}): {exc}",
            hint="define the function in a .py file (or a notebook cell) rather than with exec() or at "
            "an interactive prompt that keeps no source",
        ) from None
    _refuse_edited_source(func, lines, start)
    if code.co_name == "<lambda>":
        return _parsed(func, _lambda_definition(func), 0, 0, assumptions)
    raw = "".join(lines)
    source = textwrap.dedent(raw)
    col_offset = (len(lines[0]) - len(lines[0].lstrip())) if lines else 0
    try:
        module = gast.parse(source)
    except SyntaxError:
        raise SourceUnavailableError(
            f"the source of {func.__qualname__} could not be parsed on its own",
            Location(code.co_filename, start, 0, lines[0].rstrip() if lines else "", func.__name__),
            hint="define the function with a plain `def` statement",
        ) from None
    return _parsed(func, _find_definition(module, func, start), start - 1, col_offset, assumptions)


def _parsed(func, node, line_offset, col_offset, assumptions) -> ParsedFunction:
    """The ParsedFunction of `func` whose definition is `node`, recording what it was read from."""
    code = func.__code__
    filename = code.co_filename
    closure, cells = {}, {}
    if func.__closure__:
        for name, cell in zip(code.co_freevars, func.__closure__):
            try:
                closure[name] = cell.cell_contents
                cells[name] = cell
            except ValueError:  # an empty cell: the name is not bound yet
                pass
    assumptions = [] if assumptions is None else assumptions
    # (keyword-only defaults matter only to a function that has keyword-only parameters)
    attrs = ("__code__", "__defaults__", "__kwdefaults__")[: 3 if code.co_kwonlyargcount else 2]
    assumptions += [("attr", func, attr, getattr(func, attr)) for attr in attrs]
    parsed = ParsedFunction(func, node, filename, line_offset, col_offset, func.__globals__, closure, cells,
                            assumptions)
    forwarded = _forwarded_signature(func)
    if forwarded is not None:
        parsed.node = _forwarding_specialized(parsed, forwarded)
    return parsed


_FUTURE_FLAGS = functools.reduce(operator.or_, (getattr(__future__, f).compiler_flag for f in __future__.all_feature_names))


def _refuse_edited_source(func, lines, start) -> None:
    """Refuse when the source found for `func` is not the source of the code that runs.

    A file edited after its module was imported shows the new text while the
    old code runs; differentiating the text would give the derivative of a
    function nobody calls. The found lines are compiled again in a scope with
    the same free variables and at the same line, and must give an equal code
    object (same bytecode, constants, names, lines).
    """
    code = func.__code__
    fresh = _compile_like(code, lines, start)
    if fresh is None:
        return  # a layout this check cannot reproduce: nothing is claimed either way
    for candidate in _code_objects(fresh):
        if candidate.co_name == code.co_name and candidate.co_firstlineno == code.co_firstlineno:
            if candidate == code or (_rewritten_by_pytest(code) and _same_outline(candidate, code)):
                return
    text = lines[0].rstrip("\n") if lines else ""
    raise SourceChangedError(
        f"the source of {func.__qualname__} in {code.co_filename} has changed since it was imported: "
        "the text on disk is not the code that runs",
        Location(code.co_filename, start, len(text) - len(text.lstrip()), text, code.co_name),
        hint="reload the module (importlib.reload, or restart the kernel) so that the code that runs is the "
        "code on disk, then transform the function again",
    )


def _compile_like(code, lines, start):
    """Compile `lines` (from line `start` of the file) as `code` was: same line numbers, free variables."""
    indent = len(lines[0]) - len(lines[0].lstrip()) if lines else 0
    freevars = code.co_freevars
    if "__class__" in freevars:  # a method using super(): its class cannot be rebuilt here
        return None
    if code.co_flags & inspect.CO_NESTED:
        header = f"def __s2sad_scope__({', '.join(freevars)}):\n"  # its parameters become the free variables
    elif freevars:
        return None
    else:
        header = "if True:\n" if indent else ""  # a method: indented, but not nested in a function
    if header and (not indent or start < 2):
        return None
    text = "\n" * (start - 1 - bool(header)) + header + "".join(lines)
    # CPython 3.11 compiles `np.sin(x)` differently when the module imports `np`: say what it imports
    text += "".join(f"\nimport __s2sad_module__ as {name}" for name in _module_imports(code.co_filename))
    try:
        return compile(text, code.co_filename, "exec", flags=code.co_flags & _FUTURE_FLAGS, dont_inherit=True)
    except (SyntaxError, ValueError):
        return None


_IMPORTS: dict = {}


def _module_imports(filename) -> list[str]:
    """Names the module in `filename` binds by import statements at its top level (not in defs)."""
    lines = linecache.getlines(filename)
    cached = _IMPORTS.get(filename)
    if cached is not None and cached[0] is lines:
        return cached[1]
    names: list[str] = []
    try:
        body = ast.parse("".join(lines)).body
    except (SyntaxError, ValueError):
        body = []
    pending = list(body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names += [alias.asname or alias.name.split(".")[0] for alias in node.names if alias.name != "*"]
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.expr)):
            pending += [child for child in ast.iter_child_nodes(node)
                        if isinstance(child, (ast.stmt, ast.excepthandler, ast.match_case))]
    names = sorted(set(names))
    _IMPORTS[filename] = (lines, names)
    return names


def _code_objects(code):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _rewritten_by_pytest(code) -> bool:
    """pytest rewrites the asserts of test modules, so their code differs from a plain compile."""
    return any(name.startswith("@py") for name in code.co_names + code.co_varnames)


def _same_outline(fresh, code) -> bool:
    """What an assert rewrite keeps: the lines, and every constant, name and local of the text."""
    def hashable(consts):
        return {c for c in consts if not isinstance(c, types.CodeType) and _hashable(c)}

    return (hashable(fresh.co_consts) <= hashable(code.co_consts) and set(fresh.co_names) <= set(code.co_names)
            and set(fresh.co_varnames) <= set(code.co_varnames)
            and {line for *_, line in fresh.co_lines()} <= {line for *_, line in code.co_lines()} | {None})


def _hashable(value) -> bool:
    try:
        hash(value)
        return True
    except TypeError:
        return False


def signature(func) -> inspect.Signature:
    """The parameters s2sad gives the Python function `func`.

    Its own, except for a decorator's wrapper that takes ``(*args, **kwargs)``
    and carries ``__wrapped__`` (``functools.wraps``): it passes its arguments on,
    so it takes those of the function it wraps.

    Example:
        >>> import functools
        >>> def double(fn):
        ...     @functools.wraps(fn)
        ...     def wrapper(*args, **kwargs):
        ...         return 2 * fn(*args, **kwargs)
        ...     return wrapper
        >>> str(signature(double(lambda x, y=1.0: x * y)))
        '(x, y=1.0)'
    """
    forwarded = _forwarded_signature(func)
    return forwarded if forwarded is not None else inspect.signature(func, follow_wrapped=False)


def _forwarded_signature(func):
    """The wrapped function's signature if `func` is a ``(*args, **kwargs)`` wrapper, else None."""
    wrapped = getattr(func, "__wrapped__", None)
    if wrapped is None:
        return None
    kinds = [p.kind for p in inspect.signature(func, follow_wrapped=False).parameters.values()]
    if kinds not in ([inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD],
                     [inspect.Parameter.VAR_POSITIONAL]):
        return None
    wrapped = unwrap(wrapped)
    try:
        return signature(wrapped) if inspect.isfunction(wrapped) else inspect.signature(wrapped)
    except (TypeError, ValueError):
        return None


def _forwarding_specialized(parsed: ParsedFunction, params: inspect.Signature):
    """A ``(*args, **kwargs)`` wrapper rewritten to take `params` and pass them on.

    ``def wrapper(*args, **kwargs): return 2 * fn(*args, **kwargs)`` wrapping
    ``fn(x, y)`` becomes ``def wrapper(x, y): return 2 * fn(x, y)``. Any other
    use of ``args``/``kwargs`` is refused: s2sad would have to guess what it means.
    """
    fdef = parsed.node
    star = fdef.args.vararg.id
    stars = fdef.args.kwarg.id if fdef.args.kwarg is not None else None
    values = list(params.parameters.values())
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in values):
        raise UnsupportedSyntaxError(
            f"{parsed.name} wraps {parsed.func.__wrapped__.__name__}, which takes *args or **kwargs",
            parsed.location(fdef), hint="list the parameters of the wrapped function explicitly")
    fdef = copy.deepcopy(fdef)
    used = {n.id for n in gast.walk(fdef) if isinstance(n, gast.Name)} - {star, stars}
    for p in values:
        if p.name in used:
            raise UnsupportedSyntaxError(
                f"{parsed.name} passes its arguments on to {parsed.func.__wrapped__.__name__}, whose parameter "
                f"{p.name!r} has the name of a variable of the wrapper", parsed.location(fdef),
                hint="rename the wrapper's variable, or give the wrapper explicit parameters")
    for node in gast.walk(fdef):
        if isinstance(node, gast.Call) and _forwards(node, star, stars):
            node.args = [_load(p.name) for p in values if p.kind is not p.KEYWORD_ONLY]
            node.keywords = [gast.keyword(arg=p.name, value=_load(p.name)) for p in values
                             if p.kind is p.KEYWORD_ONLY]
    for node in gast.walk(fdef):
        if isinstance(node, gast.Name) and node.id in (star, stars) and node is not fdef.args.vararg \
                and node is not fdef.args.kwarg:
            raise UnsupportedSyntaxError(
                f"{parsed.name} uses {node.id} other than passing it on whole (f(*{star}"
                + (f", **{stars}" if stars else "") + "))", parsed.location(node),
                hint="give the wrapper the wrapped function's parameters explicitly")

    def arg(p):
        return gast.Name(id=p.name, ctx=gast.Param(), annotation=None, type_comment=None)

    fdef.args = gast.arguments(
        args=[arg(p) for p in values if p.kind is p.POSITIONAL_OR_KEYWORD],
        posonlyargs=[arg(p) for p in values if p.kind is p.POSITIONAL_ONLY],
        vararg=None, kwonlyargs=[arg(p) for p in values if p.kind is p.KEYWORD_ONLY],
        kw_defaults=[None for p in values if p.kind is p.KEYWORD_ONLY], kwarg=None, defaults=[])
    return fdef


def _forwards(call, star, stars) -> bool:
    """``f(*args, **kwargs)``: a call passing the wrapper's arguments on unchanged."""
    if len(call.args) != 1 or not isinstance(call.args[0], gast.Starred) \
            or not isinstance(call.args[0].value, gast.Name) or call.args[0].value.id != star:
        return False
    if stars is None:
        return not call.keywords
    return len(call.keywords) == 1 and call.keywords[0].arg is None \
        and isinstance(call.keywords[0].value, gast.Name) and call.keywords[0].value.id == stars


def _load(name):
    return gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None)


def _find_definition(module, func, start) -> gast.FunctionDef:
    code = func.__code__
    if code.co_name != "<lambda>":
        for node in gast.walk(module):
            if isinstance(node, (gast.FunctionDef, gast.AsyncFunctionDef)) and node.name == code.co_name:
                if isinstance(node, gast.AsyncFunctionDef):
                    line = node.lineno + start - 1
                    text = linecache.getline(code.co_filename, line).rstrip("\n")
                    raise UnsupportedSyntaxError(
                        f"{func.__name__} is an async function",
                        Location(code.co_filename, line, len(text) - len(text.lstrip()), text, func.__name__),
                        hint="differentiate a plain (synchronous) function",
                    )
                return node
    raise SourceUnavailableError(  # pragma: no cover - getsourcelines found the block of this very def
        f"cannot find the definition of {func.__qualname__} in {code.co_filename}",
        hint="define the function with a plain `def` statement")


_MODULE_TREES: dict = {}


def _file_tree(filename):
    """The gast tree of the whole file (or notebook cell) `filename`, cached while linecache holds the
    same lines; None when it does not parse."""
    lines = linecache.getlines(filename)
    cached = _MODULE_TREES.get(filename)
    if cached is not None and cached[0] is lines:
        return cached[1]
    try:
        tree = gast.parse("".join(lines)) if lines else None
    except (SyntaxError, ValueError):
        tree = None
    _MODULE_TREES[filename] = (lines, tree)
    return tree


def _lambda_definition(func) -> gast.FunctionDef:
    """The lambda `func` as a ``def`` with one return, found in its file's tree.

    A lambda can sit anywhere in an expression (a dict display over several lines, a call's
    arguments, a default value), where its lines do not parse on their own: so the whole file is
    parsed, and the lambda is the one starting on its code's first line whose parameters are its
    parameters. Several such lambdas on one line are told apart by where the compiled code's
    instructions come from (``co_positions``). Anything else is refused, never guessed.
    """
    code = func.__code__
    tree = _file_tree(code.co_filename)
    params = list(code.co_varnames[: code.co_argcount + code.co_kwonlyargcount])
    candidates = [] if tree is None else [
        node for node in gast.walk(tree)
        if isinstance(node, gast.Lambda) and node.lineno == code.co_firstlineno
        and [a.id for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs] == params]
    if len(candidates) > 1:
        candidates = [node for node in candidates if _holds_code(node, code)]
    text = linecache.getline(code.co_filename, code.co_firstlineno).rstrip("\n")
    where = Location(code.co_filename, code.co_firstlineno, len(text) - len(text.lstrip()), text, "<lambda>")
    if len(candidates) != 1:
        reason = "its file could not be read or parsed" if tree is None else \
            f"cannot tell which lambda on line {code.co_firstlineno} it is"
        raise SourceUnavailableError(
            f"cannot read the source of the lambda {func.__qualname__}: {reason}", where,
            hint="define the function with `def` and pass that (def f(x): return ...)")
    lam = candidates[0]
    ret = gast.copy_location(gast.Return(value=lam.body), lam.body)
    fdef = gast.FunctionDef(
        name="<lambda>", args=lam.args, body=[ret], decorator_list=[], returns=None, type_comment=None, type_params=[]
    )
    return gast.copy_location(fdef, lam)


def _holds_code(lam, code) -> bool:
    """Do all of `code`'s instructions that have a source position lie inside the lambda node `lam`?"""
    spots = [(line, col) for line, end_line, col, end_col in code.co_positions()  # zero width: RESUME, RETURN
             if line is not None and col is not None and (line, col) != (end_line, end_col)]
    start, end = (lam.lineno, lam.col_offset), (lam.end_lineno, lam.end_col_offset)
    return bool(spots) and all(start <= spot <= end for spot in spots)
