"""Desugar: refuse what s2sad cannot differentiate, and remove early exits.

Input and output are gast function definitions. After this pass the body has
no ``return`` except one final ``return``, and no ``break`` or ``continue``:

* an ``if`` whose branch always exits takes the rest of the block into its
  other branch (``if c: return a`` / ``return b`` becomes an if/else);
* otherwise exits set a flag (``returned``, ``broke``, ``skip``) and the rest
  of the block is guarded by ``if not flag``;
* a loop that can ``break`` or ``return`` becomes a ``while`` whose condition
  tests the flag first (a ``for`` is rewritten to index its iterable).

Flags are ordinary variables, so later stages see plain structured code.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass

import gast

from .contexts import context_problem, without_contexts
from .errors import UnsupportedSyntaxError, raise_problems
from .list_methods import extends_as_appends, pops_as_rebindings
from .named_exprs import droppable_deletes, movable_walruses, without_deletes, without_named_exprs
from .frontend import ParsedFunction, walk_nodes

# ------------------------------------------------------------ refusing syntax

_REFUSED = {
    gast.Try: ("try/except", "move the error handling outside the differentiated function"),
    gast.With: ("a with statement", "open the context outside the differentiated function"),
    gast.AsyncWith: ("async with", "differentiate synchronous code"),
    gast.AsyncFor: ("async for", "differentiate synchronous code"),
    gast.Await: ("await", "differentiate synchronous code"),
    gast.AsyncFunctionDef: ("an async function", "differentiate synchronous code"),
    gast.Yield: ("yield (a generator)", "return a value (for example a list or an array) instead"),
    gast.YieldFrom: ("yield from (a generator)", "return a value (for example a list or an array) instead"),
    gast.Global: ("a global statement", "pass the value in as an argument and return the new value"),
    gast.Nonlocal: ("a nonlocal statement", "pass the value in as an argument and return the new value"),
    gast.ClassDef: ("a class definition", "define the class at module level"),
    gast.Delete: ("del of an item, an attribute, in a loop or of a name read later",
                  "let the value go out of scope instead of deleting it"),
    gast.Import: ("an import inside the function", "import at module level"),
    gast.ImportFrom: ("an import inside the function", "import at module level"),
    gast.SetComp: ("a set comprehension", "write the loop out"),
    gast.DictComp: ("a dict comprehension", "build the dict with a display, {'a': x, 'b': y}, or dict(a=x, b=y)"),
    gast.Starred: ("a starred expression (*args)", "pass the arguments one by one"),
    gast.Set: ("a set display", "use a tuple or an array"),
    gast.NamedExpr: ("an assignment expression (:=) that is not evaluated first, or every time, in its "
                     "statement (under and/or, in a while test or a comprehension)", "assign on a line of its own"),
    gast.Match: ("a match statement", "use if/elif/else"),
}


def refuse_unsupported(parsed: ParsedFunction, allow_varargs: bool = False) -> None:
    """Raise if the function uses constructs s2sad does not handle: the one problem, or an
    UnsupportedCodeError listing all of them (see :func:`syntax_problems`)."""
    raise_problems(syntax_problems(parsed, allow_varargs), parsed.name, parsed.filename)


def syntax_problems(parsed: ParsedFunction, allow_varargs: bool = False) -> list[UnsupportedSyntaxError]:
    """Every construct in the function that s2sad does not differentiate, in source order.

    Rule templates may take ``*args`` (`allow_varargs`); user functions may not. Nested ``def``s and
    lambdas bound to a name are searched like the rest (they are inlined where called); the inside of a
    refused nested scope (a class, a decorated def, a lambda not bound to a name) is not: it goes away
    with it.

    Example:
        >>> import s2sad.frontend as fe  # doctest: +SKIP
        >>> [p.message for p in syntax_problems(fe.parse_function(f))]  # doctest: +SKIP
        ['s2sad cannot differentiate try/except', 's2sad cannot differentiate a set display']
    """
    fdef = parsed.node
    args = fdef.args
    problems = []
    if (args.vararg is not None and not allow_varargs) or args.kwarg is not None:
        problems.append(UnsupportedSyntaxError(
            f"{parsed.name} takes *args or **kwargs",
            parsed.location(fdef),
            hint="list the parameters explicitly",
        ))
    dropped = droppable_deletes(fdef)  # del name, the name never read again: dropped
    for stmt in fdef.body:
        problems.extend(_problems_under(parsed, stmt, dropped))
    return problems


_NESTED_SCOPES = (gast.Lambda, gast.FunctionDef, gast.AsyncFunctionDef, gast.ClassDef)


def _problems_under(parsed: ParsedFunction, root, allowed=frozenset()) -> list[UnsupportedSyntaxError]:
    """The refused constructs in the tree under `root`, in source (pre-)order."""
    problems = []
    pending = [root]
    named = _named_lambdas(root)
    allowed = allowed | movable_walruses(root)  # if (n := len(x)) > 2: is n = len(x); if n > 2:
    while pending:
        node = pending.pop()
        problem = None if id(node) in allowed else refused_node(parsed, node, named)
        if problem is not None:
            problems.append(problem)
            if isinstance(node, _NESTED_SCOPES):
                continue
        pending.extend(reversed(list(gast.iter_child_nodes(node))))
    return problems


def refused_node(parsed: ParsedFunction, node, named_lambdas=frozenset()) -> UnsupportedSyntaxError | None:
    """The error for `node` itself if s2sad refuses it (not looking at its children), else None.
    `named_lambdas` are the ids of the lambdas bound to a name (``f = lambda ...``), which are allowed."""
    if isinstance(node, gast.With):  # np.errstate(...) and warnings.catch_warnings() are allowed
        return context_problem(parsed, node)
    entry = _REFUSED.get(type(node))
    if isinstance(node, gast.Starred) and isinstance(node.ctx, gast.Store):
        entry = ("starred unpacking (first, *rest = ...)", "index instead: first, rest = x[0], x[1:]")
    if entry is not None:
        what, hint = entry
        return UnsupportedSyntaxError(f"s2sad cannot differentiate {what}", parsed.location(node), hint=hint)
    if isinstance(node, gast.Lambda) and id(node) not in named_lambdas:
        return UnsupportedSyntaxError(
            "s2sad cannot differentiate a lambda that is not assigned to a name", parsed.location(node),
            hint="assign it to a name (f = lambda y: ...) and call it, or write a nested def")
    if isinstance(node, gast.FunctionDef):
        what = _refused_def(node)
        if what:
            return UnsupportedSyntaxError(f"s2sad cannot differentiate a nested function {what}",
                                          parsed.location(node), hint=_DEF_HINTS[what])
    scope_reader = _scope_reader(parsed, node)
    if scope_reader:
        return UnsupportedSyntaxError(
            f"s2sad cannot differentiate {scope_reader}(): it reads the function's variables by name at run time",
            parsed.location(node),
            hint="write the expression out in the function (the generated code renames its variables, "
            "and no derivative flows through a string of code)",
        )
    return None


# Builtins that read (or run code against) the local variables by name: SSA renames those
# variables, and the code in a string has no derivative. `vars` only without an argument.
_SCOPE_READERS = ("eval", "exec", "locals", "vars")


def _scope_reader(parsed: ParsedFunction, node) -> str:
    """The name of the builtin `node` calls if it is one of `_SCOPE_READERS`, else ""."""
    if not (isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and node.func.id in _SCOPE_READERS):
        return ""
    name = node.func.id
    if parsed.globals.get(name, getattr(builtins, name)) is not getattr(builtins, name):
        return ""  # the module defines its own
    return "" if name == "vars" and (node.args or node.keywords) else name


def refused_in(node) -> bool:
    """Does the tree under `node` hold a construct s2sad refuses outright (see `refused_node`)?"""
    named = _named_lambdas(node)
    return any(type(sub) in _REFUSED or (isinstance(sub, gast.Lambda) and id(sub) not in named)
               or (isinstance(sub, gast.FunctionDef) and _refused_def(sub)) for sub in walk_nodes(node))


def _named_lambdas(root) -> set:
    """Ids of the lambdas under `root` written as ``name = lambda ...`` (which lowering inlines), or as
    the function of ``map(lambda ...)`` or the ``key=`` of sorted, max or min (lower_builtins names them)."""
    nodes = walk_nodes(root)
    named = {id(n.value) for n in nodes if isinstance(n, gast.Assign) and len(n.targets) == 1
             and isinstance(n.targets[0], gast.Name) and isinstance(n.value, gast.Lambda)}
    for n in nodes:
        if isinstance(n, gast.Call) and isinstance(n.func, gast.Name):
            if n.func.id == "map" and n.args and isinstance(n.args[0], gast.Lambda):
                named.add(id(n.args[0]))
            if n.func.id in ("sorted", "max", "min"):
                named |= {id(k.value) for k in n.keywords if k.arg == "key" and isinstance(k.value, gast.Lambda)}
    return named


_DEF_HINTS = {
    "with a decorator": "define the decorated function at module level, or drop the decorator",
    "with *args or **kwargs": "list its parameters explicitly",
}


def _refused_def(fdef) -> str:
    """What makes the nested def `fdef` unsupported ('' if nothing)."""
    if fdef.decorator_list:
        return "with a decorator"
    if fdef.args.vararg is not None or fdef.args.kwarg is not None:
        return "with *args or **kwargs"
    return ""


# ---------------------------------------------------------------- gast helpers


def name(ident: str, store: bool = False) -> gast.Name:
    return gast.Name(id=ident, ctx=gast.Store() if store else gast.Load(), annotation=None, type_comment=None)


def const(value) -> gast.Constant:
    return gast.Constant(value=value, kind=None)


def assign(target: str, value, like) -> gast.Assign:
    node = gast.Assign(targets=[name(target, store=True)], value=value, type_comment=None)
    return _locate(node, like)


def _locate(node, like):
    for sub in gast.walk(node):
        if getattr(sub, "lineno", None) is None:
            gast.copy_location(sub, like)
    return node


def negate_any(flags: list[str]):
    """``not (f1 or f2 ...)``."""
    test = name(flags[0]) if len(flags) == 1 else gast.BoolOp(op=gast.Or(), values=[name(f) for f in flags])
    return gast.UnaryOp(op=gast.Not(), operand=test)


def names_in(fdef) -> set[str]:
    found = {a.id for a in fdef.args.args + fdef.args.kwonlyargs + fdef.args.posonlyargs}
    for node in walk_nodes(fdef):
        if isinstance(node, gast.Name):
            found.add(node.id)
    return found


class _Fresh:
    """Picks flag names that collide with nothing in the function."""

    def __init__(self, taken: set[str]):
        self.taken = set(taken)

    def __call__(self, base: str) -> str:
        candidate, k = base, 1
        while candidate in self.taken:
            candidate = f"{base}_{k}"
            k += 1
        self.taken.add(candidate)
        return candidate


# ------------------------------------------------------------ exits analysis


def _exits(stmts, kinds) -> bool:
    """May `stmts` leave the current block by one of `kinds`?"""
    for stmt in stmts:
        if isinstance(stmt, gast.Return) and "return" in kinds:
            return True
        if isinstance(stmt, gast.Break) and "break" in kinds:
            return True
        if isinstance(stmt, gast.Continue) and "continue" in kinds:
            return True
        if isinstance(stmt, gast.If) and (_exits(stmt.body, kinds) or _exits(stmt.orelse, kinds)):
            return True
        if isinstance(stmt, (gast.For, gast.While)) and "return" in kinds and _exits(stmt.body, {"return"}):
            return True
        if isinstance(stmt, (gast.For, gast.While)) and _exits(stmt.orelse, kinds):
            return True  # the else clause runs in the enclosing block: its break or continue is that loop's
    return False


def _always_exits(stmts) -> bool:
    """Does every path through `stmts` end in return, break or continue?"""
    for stmt in stmts:
        if isinstance(stmt, (gast.Return, gast.Break, gast.Continue, gast.Raise)):
            return True
        if isinstance(stmt, gast.If) and _always_exits(stmt.body) and _always_exits(stmt.orelse):
            return True
    return False


def _kinds_in(stmts) -> list[str]:
    kinds = []
    for kind in ("return", "break", "continue"):
        if _exits(stmts, {kind}):
            kinds.append(kind)
    return kinds


@dataclass
class _Flags:
    returned: str
    result: str
    broke: str | None = None
    skip: str | None = None
    simple: bool = False  # one return, the last statement: keep it as it is

    def for_kinds(self, kinds) -> list[str]:
        table = {"return": self.returned, "break": self.broke, "continue": self.skip}
        return [table[k] for k in kinds if table[k] is not None]


# ------------------------------------------------------------------ the pass


def remove_early_exits(parsed: ParsedFunction) -> gast.FunctionDef:
    """Return a copy of the function definition with a single final return."""
    fdef = parsed.node
    body = fdef.body
    if body and isinstance(body[0], gast.Expr) and isinstance(body[0].value, gast.Constant) and isinstance(body[0].value.value, str):
        body = body[1:]  # the docstring
    body = without_contexts(parsed, body)  # with np.errstate(...): the body as it is (contexts.py)
    # if (n := len(x)) > 2: is n = len(x); if n > 2: (and del of a name never read again is dropped)
    body = without_deletes(without_named_exprs(body), droppable_deletes(fdef))
    fresh = _Fresh(names_in(fdef))
    body = extends_as_appends(body, fresh)  # items.extend(other): for v in other: items.append(v)
    body = pops_as_rebindings(fdef, body)  # top = items.pop(): top = items[-1]; items = items[:-1]
    returns = [n for s in body for n in _walk_own(s) if isinstance(n, gast.Return)]
    simple = len(returns) <= 1 and (not returns or (body and body[-1] is returns[0]))
    flags = _Flags(returned=fresh("returned"), result=fresh("result"), simple=simple)
    if simple:
        new_body = _block(body, flags, fresh)
    else:
        like = body[0] if body else fdef
        new_body = [assign(flags.returned, const(False), like), assign(flags.result, const(None), like)]
        new_body += _block(body, flags, fresh)
        new_body.append(_locate(gast.Return(value=name(flags.result)), body[-1] if body else fdef))
    if not new_body or not isinstance(new_body[-1], gast.Return):
        new_body.append(_locate(gast.Return(value=const(None)), body[-1] if body else fdef))
    out = gast.FunctionDef(
        name=fdef.name,
        args=fdef.args,
        body=new_body,
        decorator_list=[],
        returns=None,
        type_comment=None,
        type_params=[],
    )
    return gast.copy_location(out, fdef)


def _walk_own(node):
    """The nodes under `node`, not looking into the functions defined there (their returns are theirs)."""
    pending = [node]
    while pending:
        sub = pending.pop()
        yield sub
        if not isinstance(sub, (gast.FunctionDef, gast.Lambda)) or sub is node:
            pending.extend(gast.iter_child_nodes(sub))


def _block(stmts, flags: _Flags, fresh) -> list:
    out = []
    for k, stmt in enumerate(stmts):
        rest = stmts[k + 1 :]
        if isinstance(stmt, gast.Return):
            if flags.simple:
                out.append(stmt)  # the one final return, reached by every path
                return out
            value = stmt.value if stmt.value is not None else const(None)
            out.append(assign(flags.result, value, stmt))
            out.append(assign(flags.returned, const(True), stmt))
            return out
        if isinstance(stmt, gast.Break):
            out.append(assign(flags.broke, const(True), stmt))
            return out
        if isinstance(stmt, gast.Continue):
            out.append(assign(flags.skip, const(True), stmt))
            return out
        if isinstance(stmt, gast.If):
            kinds = _kinds_in([stmt])
            if not kinds:
                out.append(_if(stmt, _block(stmt.body, flags, fresh), _block(stmt.orelse, flags, fresh)))
                continue
            then_exits, else_exits = _always_exits(stmt.body), _always_exits(stmt.orelse)
            if then_exits and not else_exits:
                out.append(_if(stmt, _block(stmt.body, flags, fresh), _block(stmt.orelse + rest, flags, fresh)))
                return out
            if else_exits and not then_exits:
                out.append(_if(stmt, _block(stmt.body + rest, flags, fresh), _block(stmt.orelse, flags, fresh)))
                return out
            out.append(_if(stmt, _block(stmt.body, flags, fresh), _block(stmt.orelse, flags, fresh)))
            if not (then_exits and else_exits) and rest:
                guard = gast.If(test=negate_any(flags.for_kinds(kinds)), body=_block(rest, flags, fresh), orelse=[])
                out.append(_locate(guard, rest[0]))
            return out
        if isinstance(stmt, (gast.For, gast.While)) and stmt.orelse:
            return out + _block(_else_as_flag(stmt, fresh) + rest, flags, fresh)
        if isinstance(stmt, (gast.For, gast.While)):
            out.extend(_loop(stmt, flags, fresh))
            if _exits(stmt.body, {"return"}) and rest:
                guard = gast.If(test=negate_any([flags.returned]), body=_block(rest, flags, fresh), orelse=[])
                out.append(_locate(guard, rest[0]))
                return out
            continue
        out.append(stmt)
    return out


def _else_as_flag(loop, fresh) -> list:
    """``for ...: body else: rest`` runs `rest` when the loop ends without a break:
    ``completed = True; for ...: body (with completed = False before each break); if completed: rest``
    (without a break, the loop and then `rest`)."""
    plain = gast.For(target=loop.target, iter=loop.iter, body=loop.body, orelse=[], type_comment=None) \
        if isinstance(loop, gast.For) else gast.While(test=loop.test, body=loop.body, orelse=[])
    if not _exits(loop.body, {"break"}):
        return [gast.copy_location(plain, loop)] + loop.orelse
    completed = fresh("completed")
    plain.body = _flag_breaks(loop.body, completed)
    test = _locate(gast.If(test=name(completed), body=loop.orelse, orelse=[]), loop.orelse[0])
    return [assign(completed, const(True), loop), gast.copy_location(plain, loop), test]


def _flag_breaks(stmts, flag: str) -> list:
    """`stmts` with ``flag = False`` before each break of the loop they are the body of (not of a loop inside)."""
    out = []
    for stmt in stmts:
        if isinstance(stmt, gast.Break):
            out += [assign(flag, const(False), stmt), stmt]
        elif isinstance(stmt, gast.If):
            out.append(_if(stmt, _flag_breaks(stmt.body, flag), _flag_breaks(stmt.orelse, flag)))
        elif isinstance(stmt, (gast.For, gast.While)) and stmt.orelse:  # its else clause's break is ours
            inner = gast.For(target=stmt.target, iter=stmt.iter, body=stmt.body, orelse=_flag_breaks(stmt.orelse, flag),
                             type_comment=None) if isinstance(stmt, gast.For) \
                else gast.While(test=stmt.test, body=stmt.body, orelse=_flag_breaks(stmt.orelse, flag))
            out.append(gast.copy_location(inner, stmt))
        else:
            out.append(stmt)
    return out


def _if(like, body, orelse) -> gast.If:
    return gast.copy_location(gast.If(test=like.test, body=body, orelse=orelse), like)


def _loop(loop, outer: _Flags, fresh) -> list:
    kinds = _kinds_in(loop.body)
    breaks = "break" in kinds
    returns = "return" in kinds
    flags = _Flags(outer.returned, outer.result, broke=fresh("broke") if breaks else None, skip=fresh("skip"), simple=outer.simple)
    body = _block(loop.body, flags, fresh)
    if "continue" in kinds:
        body = [assign(flags.skip, const(False), loop)] + body
    if not (breaks or returns):
        if isinstance(loop, gast.For):
            new = gast.For(target=loop.target, iter=loop.iter, body=body, orelse=[], type_comment=None)
        else:
            new = gast.While(test=loop.test, body=body, orelse=[])
        return [gast.copy_location(new, loop)]
    stop_flags = ([flags.broke] if breaks else []) + ([outer.returned] if returns else [])
    keep_going = [gast.UnaryOp(op=gast.Not(), operand=name(f)) for f in stop_flags]
    pre = [assign(flags.broke, const(False), loop)] if breaks else []
    if isinstance(loop, gast.While):
        test = gast.BoolOp(op=gast.And(), values=keep_going + [loop.test])
        return pre + [_locate(gast.While(test=test, body=body, orelse=[]), loop)]
    # A for loop that may stop early becomes: k = 0; while not broke and k < n: target = items[k]; ...; k += 1
    counter = fresh("k")
    items, length, bind_targets = _indexable(loop, counter, fresh)
    pre += items + [assign(counter, const(0), loop)]
    test = gast.BoolOp(
        op=gast.And(),
        values=keep_going + [gast.Compare(left=name(counter), ops=[gast.Lt()], comparators=[length])],
    )
    step = assign(counter, gast.BinOp(left=name(counter), op=gast.Add(), right=const(1)), loop)
    while_body = bind_targets + body + [step]
    return pre + [_locate(gast.While(test=test, body=while_body, orelse=[]), loop)]


def _call(func: str, *args):
    return gast.Call(func=name(func), args=list(args), keywords=[])


def _calls(node, name: str) -> bool:
    """Is `node` a call of the name `name`, without keywords?"""
    return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and node.func.id == name \
        and not node.keywords


def positional_enumerate(it):
    """``enumerate(xs, start=s)`` as ``enumerate(xs, s)`` (any other node as it is)."""
    if isinstance(it, gast.Call) and isinstance(it.func, gast.Name) and it.func.id == "enumerate" \
            and len(it.args) == 1 and [k.arg for k in it.keywords] == ["start"]:
        return gast.copy_location(gast.Call(func=it.func, args=[it.args[0], it.keywords[0].value], keywords=[]), it)
    return it


def _indexable(loop: gast.For, counter: str, fresh):
    """Statements making the iterable indexable, its length, and the target bindings."""
    it = positional_enumerate(loop.iter)
    k = name(counter)
    size = (2 if _calls(it, "enumerate") and len(it.args) in (1, 2) else len(it.args) if _calls(it, "zip") else 0)
    if size and isinstance(loop.target, gast.Name):
        # `for t in zip(a, b)`: as `for (t_0, t_1) in zip(a, b)`, then t = (t_0, t_1)
        parts = [fresh(f"{loop.target.id}_part") for _ in range(size)]
        spread = gast.copy_location(gast.For(target=gast.Tuple(elts=[name(p, store=True) for p in parts],
                                                               ctx=gast.Store()),
                                             iter=it, body=[], orelse=[], type_comment=None), loop)
        pre, length, binds = _indexable(spread, counter, fresh)
        packed = gast.Tuple(elts=[name(p) for p in parts], ctx=gast.Load())
        return pre, length, binds + [_locate(gast.Assign(targets=[loop.target], value=packed, type_comment=None),
                                             loop)]

    def subscript(seq):
        return gast.Subscript(value=seq, slice=k, ctx=gast.Load())

    def bind(target, value):
        node = gast.Assign(targets=[target], value=value, type_comment=None)
        return _locate(node, loop)

    target = loop.target
    if _calls(it, "enumerate") and len(it.args) == 1 and _calls(it.args[0], "zip") and isinstance(target, gast.Tuple) \
            and len(target.elts) == 2 and isinstance(target.elts[1], gast.Tuple):
        # enumerate(zip(a, b)) with i, (u, v): zip(a, b) with u, v, and the counter as i
        zipped = gast.copy_location(gast.For(target=target.elts[1], iter=it.args[0], body=[], orelse=[],
                                             type_comment=None), loop)
        pre, length, binds = _indexable(zipped, counter, fresh)
        return pre, length, [bind(target.elts[0], k)] + binds
    if _calls(it, "enumerate") and len(it.args) == 2 and isinstance(target, gast.Tuple) and len(target.elts) == 2:
        # enumerate(xs, start): the counter plus start, and xs[counter]
        seq_name, start_name = fresh("items"), fresh("start")
        pre = [assign(seq_name, it.args[0], loop), assign(start_name, it.args[1], loop)]
        position = gast.BinOp(left=k, op=gast.Add(), right=name(start_name))
        binds = [bind(target.elts[0], position), bind(target.elts[1], subscript(name(seq_name)))]
        return pre, _call("len", name(seq_name)), binds
    if isinstance(it, gast.Call) and isinstance(it.func, gast.Name) and it.func.id in ("enumerate", "zip") and not it.keywords:
        seqs = []
        pre = []
        for arg in it.args:
            seq_name = fresh("items")
            pre.append(assign(seq_name, arg, loop))
            seqs.append(seq_name)
        if it.func.id == "enumerate" and len(seqs) == 1 and isinstance(loop.target, gast.Tuple) and len(loop.target.elts) == 2:
            length = _call("len", name(seqs[0]))
            binds = [bind(loop.target.elts[0], k), bind(loop.target.elts[1], subscript(name(seqs[0])))]
            return pre, length, binds
        if it.func.id == "zip" and isinstance(loop.target, gast.Tuple) and len(loop.target.elts) == len(seqs):
            length = _call("min", *[_call("len", name(s)) for s in seqs]) if len(seqs) > 1 else _call("len", name(seqs[0]))
            binds = [bind(t, subscript(name(s))) for t, s in zip(loop.target.elts, seqs)]
            return pre, length, binds
    seq_name = fresh("items")
    return [assign(seq_name, it, loop)], _call("len", name(seq_name)), [bind(loop.target, subscript(name(seq_name)))]
