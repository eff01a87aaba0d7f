"""The IR: structured SSA three-address code, as small dataclasses.

A statement applies one primitive to atoms and binds one new name. Atoms are
:class:`Var` (a name bound in the function), :class:`Const` (a literal) and
:class:`Ref` (a name from outside the function: a global, a closure cell, a
builtin, or a module attribute such as ``np.sin``, resolved to its object).

Control flow is structured, as in MLIR's ``scf`` dialect:

* :class:`If` has two blocks and a list of :class:`Phi` outputs, each choosing
  the value one branch or the other produced.
* :class:`For` and :class:`While` have a body block and a list of
  :class:`Carried` values: the block argument the body sees, its initial value,
  the value the body yields for the next iteration, and the value after the loop.
  Values defined inside a loop body are not visible after the loop.

Every :class:`Var` is assigned exactly once in a function (:func:`verify`
checks it). Names carry a ``base`` (the source name, ``z`` for ``z_2``) that the
code generator uses to give values readable Python names.
"""

from __future__ import annotations

import operator
import os
from dataclasses import dataclass, field
from typing import Iterator, Union

from .errors import Location, S2SADError
from .primitives import Attr, Method, identity, list_append, pack_dict, pack_list, pack_namedtuple, pack_tuple, setitem

# --------------------------------------------------------------------------- atoms


@dataclass(frozen=True)
class Var:
    """A value bound in the function. ``name`` is unique; ``base`` is the source name."""

    name: str
    base: str = field(default="", compare=False, hash=False)
    of: "Var | None" = field(default=None, compare=False, hash=False, repr=False)  # adjoint/tangent of

    def __repr__(self) -> str:
        return self.name

    # written out rather than generated: Vars are hashed millions of times on a long function
    def __hash__(self) -> int:
        return hash(self.name)

    def __eq__(self, other) -> bool:
        return other.__class__ is self.__class__ and self.name == other.name


@dataclass(frozen=True)
class Const:
    """A literal: a number, string, None, Ellipsis, or a slice/tuple of literals."""

    value: object

    def __repr__(self) -> str:
        return repr(self.value)


class Ref:
    """A name from outside the function, resolved to the object it denotes.

    ``path`` is how the source spells it (``("np", "sin")``), ``value`` the
    object, ``root`` the object bound to ``path[0]`` (the module ``numpy``). A
    primitive with no spelling of its own (``Method("sum")``) has ``path == ()``.
    """

    __slots__ = ("path", "value", "root")

    def __init__(self, path: tuple[str, ...], value: object, root: object = None):
        self.path = tuple(path)
        self.value = value
        self.root = value if root is None and len(self.path) == 1 else root

    def _key(self):
        return (self.path, id(self.value))

    def __eq__(self, other) -> bool:
        return isinstance(other, Ref) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    @property
    def dotted(self) -> str:
        return ".".join(self.path) if self.path else repr(self.value)

    def __repr__(self) -> str:
        return self.dotted


Atom = Union[Var, Const, Ref]


def is_temp(var) -> bool:
    """A temporary the lowering made up (``t7``), as opposed to a user's variable named ``t``."""
    return isinstance(var, Var) and var.base == "t" and var.name[1:].isdigit() and var.name[0] == "t"


def prim(value) -> Ref:
    """A :class:`Ref` to a primitive that codegen prints as syntax (operators, ``x.T``)."""
    return Ref((), value)


# ---------------------------------------------------------------------- statements


@dataclass(eq=False)
class Assign:
    """``target = func(*args, **kwargs)`` where ``func`` is a resolved :class:`Ref`."""

    target: Var
    func: Ref
    args: list
    kwargs: list = field(default_factory=list)  # [(name, atom)]
    loc: Location | None = None


@dataclass(eq=False)
class Phi:
    """At the join after an :class:`If`: ``target`` is ``then_value`` or ``else_value``."""

    target: Var
    then_value: Atom
    else_value: Atom


@dataclass(eq=False)
class If:
    cond: Atom
    then_body: list
    else_body: list
    phis: list = field(default_factory=list)
    loc: Location | None = None


@dataclass(eq=False)
class Carried:
    """A loop-carried value: block argument ``arg``, ``init`` before the first
    iteration, ``next`` yielded by the body, ``out`` after the loop."""

    arg: Var
    init: Atom
    next: Atom
    out: Var


@dataclass(eq=False)
class For:
    """``for index in iterable`` (``reversed(iterable)`` when ``reverse``)."""

    index: Var
    iterable: Atom
    body: list
    carried: list = field(default_factory=list)
    reverse: bool = False
    loc: Location | None = None


@dataclass(eq=False)
class While:
    """Runs ``cond_body`` then tests ``cond``; while true runs ``body``."""

    cond_body: list
    cond: Atom
    body: list
    carried: list = field(default_factory=list)
    loc: Location | None = None


@dataclass(eq=False)
class Assert:
    test: Atom
    msg: Atom | None = None
    loc: Location | None = None


@dataclass(eq=False)
class Raise:
    """``raise exc``: the function stops here with an exception (no derivative flows)."""

    exc: Atom | None = None
    loc: Location | None = None


@dataclass(eq=False)
class Push:
    """Save ``value`` on the tape (forward sweep, inside loops only). ``tape`` is "" for the
    list tape, or the kind of a typed tape (`typed_tapes`: "float", "float64")."""

    value: Atom
    loc: Location | None = None
    tape: str = ""


@dataclass(eq=False)
class Pop:
    """Restore the last value saved on the tape into ``target``.

    ``of`` is the forward value that was pushed; the code generator gives both
    the same name where it can, so the reverse sweep reads like the forward one.
    """

    target: Var
    loc: Location | None = None
    of: Var | None = None
    tape: str = ""  # the tape its push saved on (see Push)


@dataclass(eq=False)
class Marker:
    """A section label in generated code (``forward sweep``)."""

    text: str


Stmt = Union[Assign, If, For, While, Assert, Raise, Push, Pop, Marker]


@dataclass(eq=False)
class Param:
    var: Var
    default: Atom | None = None  # Const or Ref; None when the parameter has no default
    keyword_only: bool = False  # after `*` in the user's def (codegen keeps the `*` where it can)


@dataclass(eq=False)
class Function:
    name: str
    params: list
    body: list
    result: Atom
    filename: str = "<unknown>"
    firstline: int = 1
    doc: str | None = None
    exports: dict = field(default_factory=dict)  # source name -> atom bound at the end (rule templates)
    result_loc: Location | None = None  # where the value is returned


# ------------------------------------------------------------------ traversal


def walk(block: list) -> Iterator[Stmt]:
    """Every statement in `block` and its nested blocks, in program order."""
    for stmt in block:
        yield stmt
        if stmt.__class__ is not Assign:  # most statements: no blocks inside (a fast path on long functions)
            for child in child_blocks(stmt):
                yield from walk(child)


def child_blocks(stmt: Stmt) -> list:
    if isinstance(stmt, If):
        return [stmt.then_body, stmt.else_body]
    if isinstance(stmt, For):
        return [stmt.body]
    if isinstance(stmt, While):
        return [stmt.cond_body, stmt.body]
    return []


def defs(stmt: Stmt) -> list:
    """Vars this statement binds at its own level (not inside its blocks)."""
    if isinstance(stmt, (Assign, Pop)):
        return [stmt.target]
    if isinstance(stmt, If):
        return [phi.target for phi in stmt.phis]
    if isinstance(stmt, (For, While)):
        return [c.out for c in stmt.carried]
    return []


def uses(stmt: Stmt) -> list:
    """Atoms this statement reads at its own level (not inside its blocks).

    For loops this includes the carried ``init`` values (read before the loop)
    but not ``next`` values (read at the end of the body); see `body_end_uses`.
    """
    if isinstance(stmt, Assign):
        return list(stmt.args) + [a for _, a in stmt.kwargs]
    if isinstance(stmt, If):
        return [stmt.cond]
    if isinstance(stmt, For):
        return [stmt.iterable] + [c.init for c in stmt.carried]
    if isinstance(stmt, While):
        return [c.init for c in stmt.carried]
    if isinstance(stmt, Assert):
        return [stmt.test] + ([stmt.msg] if stmt.msg is not None else [])
    if isinstance(stmt, Push):
        return [stmt.value]
    if isinstance(stmt, Raise):
        return [stmt.exc] if stmt.exc is not None else []
    return []


def all_vars_used(block: list) -> set:
    """Every Var read anywhere in `block`, including phi inputs and loop yields."""
    found = set()
    for stmt in walk(block):
        for atom in uses(stmt):
            if isinstance(atom, Var):
                found.add(atom)
        if isinstance(stmt, If):
            for phi in stmt.phis:
                found.update(a for a in (phi.then_value, phi.else_value) if isinstance(a, Var))
        if isinstance(stmt, (For, While)):
            found.update(c.next for c in stmt.carried if isinstance(c.next, Var))
        if isinstance(stmt, While) and isinstance(stmt.cond, Var):
            found.add(stmt.cond)
    return found


def all_defs(block: list) -> list:
    """Every Var bound anywhere in `block`, in execution order: a loop's index and
    block arguments, then its body, then its results; a branch's bodies, then its phis."""
    found = []
    for stmt in block:
        if stmt.__class__ is Assign:  # the common case, first
            found.append(stmt.target)
            continue
        if isinstance(stmt, For):
            found.append(stmt.index)
        if isinstance(stmt, (For, While)):
            found.extend(c.arg for c in stmt.carried)
        for child in child_blocks(stmt):
            found.extend(all_defs(child))
        found.extend(defs(stmt))
    return found


# ------------------------------------------------------------------- verify


class IRError(S2SADError):
    """The IR broke an invariant: a bug in s2sad, never the user's fault."""


def verify(fn: Function) -> Function:
    """Check the SSA invariants of `fn`; return it unchanged or raise IRError.

    * every Var is bound exactly once in the whole function;
    * every Var is bound before it is read, in a scope that can see it: a loop
      body's values are visible only inside it (and through its carried
      ``out`` values after it); an ``If``'s branch values stay visible after it,
      as in Python, because the reverse sweep replays the same branch;
    * atoms are Var, Const or Ref; calls are Refs; blocks are lists of statements.
    """
    bound: set = set()
    params = set()
    for p in fn.params:
        _bind_once(p.var, bound, None, f"parameter {p.var.name}")
        params.add(p.var)
    final = _verified_block(fn.body, params, bound)
    _check_atom(fn.result, final, None, "return")
    return fn


def verify_pass(fn: Function) -> Function:
    """`verify` the output of one pass when ``S2SAD_VERIFY_PASSES`` is set (the test suite sets it);
    otherwise return `fn` as it is: code generation verifies the IR it prints once, and checking
    after every pass costs a few percent of a long function's transform. Returns `fn`."""
    return verify(fn) if os.environ.get("S2SAD_VERIFY_PASSES") else fn


# module-level functions, not closures calling themselves (a reference cycle kept until the GC runs);
# the message's "where" is built only for an error: building it for every statement cost more than the checks


def _where(stmt, detail=""):
    if stmt is None:
        return detail
    return f"{type(stmt).__name__} at {stmt.loc.line if getattr(stmt, 'loc', None) else '?'}{detail}"


def _bind_once(var, bound, stmt, detail=""):
    if not isinstance(var, Var):
        raise IRError(f"{_where(stmt, detail)}: binds {var!r}, which is not a Var")
    if var in bound:
        raise IRError(f"{_where(stmt, detail)}: {var.name} is bound twice (SSA broken)")
    bound.add(var)


def _check_atom(atom, visible, stmt, detail=""):
    if isinstance(atom, Var):
        if atom not in visible:
            raise IRError(f"{_where(stmt, detail)}: {atom.name} is read before it is bound, or out of scope")
    elif not isinstance(atom, (Const, Ref)):
        raise IRError(f"{_where(stmt, detail)}: {atom!r} is not an atom")


def _verified_block(stmts, visible: set, bound: set) -> set:
    """The Vars visible after `stmts`, given those visible before (raises IRError)."""
    visible = set(visible)
    for stmt in stmts:
        if stmt.__class__ is Assign:  # the common case, inline
            if not isinstance(stmt.func, Ref):
                raise IRError(f"{_where(stmt)}: call target {stmt.func!r} is not a Ref")
            for atom in stmt.args:
                if atom.__class__ is not Var or atom not in visible:
                    _check_atom(atom, visible, stmt)
            for _, atom in stmt.kwargs:
                if atom.__class__ is not Var or atom not in visible:
                    _check_atom(atom, visible, stmt)
            target = stmt.target
            if target.__class__ is not Var or target in bound:
                _bind_once(target, bound, stmt)
            bound.add(target)
            visible.add(target)
            continue
        for atom in uses(stmt):
            _check_atom(atom, visible, stmt)
        if isinstance(stmt, If):
            then_vis = _verified_block(stmt.then_body, visible, bound)
            else_vis = _verified_block(stmt.else_body, visible, bound)
            for phi in stmt.phis:
                _check_atom(phi.then_value, then_vis, stmt, " (phi, then)")
                _check_atom(phi.else_value, else_vis, stmt, " (phi, else)")
            visible |= then_vis | else_vis
        elif isinstance(stmt, (For, While)):
            inner = set(visible)
            if isinstance(stmt, For):
                _bind_once(stmt.index, bound, stmt)
                inner.add(stmt.index)
            for c in stmt.carried:
                _bind_once(c.arg, bound, stmt)
                inner.add(c.arg)
            if isinstance(stmt, While):
                inner = _verified_block(stmt.cond_body, inner, bound)
                _check_atom(stmt.cond, inner, stmt, " (condition)")
            end = _verified_block(stmt.body, inner, bound)
            for c in stmt.carried:
                _check_atom(c.next, end, stmt, " (yield)")
        elif not isinstance(stmt, (Assert, Raise, Push, Pop, Marker)):
            raise IRError(f"{_where(stmt)}: unknown statement {stmt!r}")
        for var in defs(stmt):
            _bind_once(var, bound, stmt)
            visible.add(var)
    return visible


# ------------------------------------------------------------------- printer

BINARY_OPERATORS = {
    operator.add: "+",
    operator.sub: "-",
    operator.mul: "*",
    operator.truediv: "/",
    operator.floordiv: "//",
    operator.mod: "%",
    operator.pow: "**",
    operator.matmul: "@",
    operator.lt: "<",
    operator.le: "<=",
    operator.gt: ">",
    operator.ge: ">=",
    operator.eq: "==",
    operator.ne: "!=",
    operator.is_: "is",
    operator.is_not: "is not",
    operator.and_: "&",
    operator.or_: "|",
    operator.xor: "^",
}
UNARY_OPERATORS = {operator.neg: "-", operator.pos: "+", operator.not_: "not ", operator.invert: "~"}


def format_atom(atom) -> str:
    if isinstance(atom, Const):
        return format_const(atom.value)
    return repr(atom)


def format_const(value) -> str:
    if isinstance(value, slice):
        parts = ["" if v is None else format_const(v) for v in (value.start, value.stop)]
        text = ":".join(parts)
        return text + (":" + format_const(value.step) if value.step is not None else "")
    if value is Ellipsis:
        return "..."
    return repr(value)


def format_call(stmt: Assign) -> str:
    """The right-hand side of an Assign as Python-like text."""
    func = stmt.func.value
    args = [format_atom(a) for a in stmt.args]
    kwargs = [f"{k}={format_atom(a)}" for k, a in stmt.kwargs]
    if func in BINARY_OPERATORS and len(args) == 2:
        return f"{args[0]} {BINARY_OPERATORS[func]} {args[1]}"
    if func in UNARY_OPERATORS and len(args) == 1:
        return f"{UNARY_OPERATORS[func]}{args[0]}"
    if func is operator.getitem:
        return f"{args[0]}[{args[1]}]"
    if func is setitem:
        return f"{args[0]}[{args[1]}] = {args[2]}"
    if func is list_append:
        return f"{args[0]}.append({args[1]})"
    if func is pack_tuple:
        return f"({', '.join(args)}{',' if len(args) == 1 else ''})"
    if func is pack_list:
        return f"[{', '.join(args)}]"
    if func is pack_dict:
        return "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(stmt.args[0].value, args[1:])) + "}"
    if func is pack_namedtuple:
        return f"{args[0]}({', '.join(args[1:])})"
    if func is identity:
        return args[0]
    if isinstance(func, Attr):
        return f"{args[0]}.{func.name}"
    if isinstance(func, Method):
        return f"{args[0]}.{func.name}({', '.join(args[1:] + kwargs)})"
    return f"{stmt.func.dotted}({', '.join(args + kwargs)})"


def format_function(fn: Function) -> str:
    """The IR as Python-like text (what ``s2sad.show(f, stage="ssa")`` prints)."""
    lines = []
    params = ", ".join(
        p.var.name + (f"={format_atom(p.default)}" if p.default is not None else "") for p in fn.params
    )
    lines.append(f"def {fn.name}({params}):")
    _format_block(fn.body, 1, lines, [None])
    lines.append(f"    return {format_atom(fn.result)}")
    return "\n".join(lines)


def _carried_text(carried) -> str:
    return ", ".join(f"{c.arg!r} = {format_atom(c.init)} -> {format_atom(c.next)} -> {c.out!r}" for c in carried)


def _format_block(stmts, depth, lines, last_line):
    pad = "    " * depth
    if not stmts:
        lines.append(pad + "pass")
    for stmt in stmts:
        loc = getattr(stmt, "loc", None)
        if loc is not None and loc.line != last_line[0] and loc.text:
            lines.append(f"{pad}# line {loc.line}: {loc.text.strip()}")
            last_line[0] = loc.line
        if isinstance(stmt, Assign):
            rhs = format_call(stmt)
            in_place = stmt.func.value in (setitem, list_append)
            lines.append(f"{pad}{rhs}  -> {stmt.target!r}" if in_place else f"{pad}{stmt.target!r} = {rhs}")
        elif isinstance(stmt, If):
            lines.append(f"{pad}if {format_atom(stmt.cond)}:")
            _format_block(stmt.then_body, depth + 1, lines, last_line)
            lines.append(f"{pad}else:")
            _format_block(stmt.else_body, depth + 1, lines, last_line)
            for phi in stmt.phis:
                lines.append(f"{pad}{phi.target!r} = phi({format_atom(phi.then_value)}, {format_atom(phi.else_value)})")
        elif isinstance(stmt, For):
            it = f"reversed({format_atom(stmt.iterable)})" if stmt.reverse else format_atom(stmt.iterable)
            carry = f"  # carry {_carried_text(stmt.carried)}" if stmt.carried else ""
            lines.append(f"{pad}for {stmt.index!r} in {it}:{carry}")
            _format_block(stmt.body, depth + 1, lines, last_line)
        elif isinstance(stmt, While):
            carry = f"  # carry {_carried_text(stmt.carried)}" if stmt.carried else ""
            lines.append(f"{pad}while True:{carry}")
            _format_block(stmt.cond_body, depth + 1, lines, last_line)
            lines.append(f"{pad}    if not {format_atom(stmt.cond)}: break")
            _format_block(stmt.body, depth + 1, lines, last_line)
        elif isinstance(stmt, Assert):
            msg = f", {format_atom(stmt.msg)}" if stmt.msg is not None else ""
            lines.append(f"{pad}assert {format_atom(stmt.test)}{msg}")
        elif isinstance(stmt, Push):
            lines.append(f"{pad}push({format_atom(stmt.value)})")
        elif isinstance(stmt, Raise):
            lines.append(f"{pad}raise" + (f" {format_atom(stmt.exc)}" if stmt.exc is not None else ""))
        elif isinstance(stmt, Pop):
            lines.append(f"{pad}{stmt.target!r} = pop()")
        elif isinstance(stmt, Marker):
            lines.append(f"{pad}# {stmt.text}")


# ------------------------------------------------------------- rewriting


def substitute(stmts: list, mapping: dict, rename_defs=None) -> list:
    """A copy of `stmts` with every read of a Var (or Ref) in `mapping` replaced.

    With `rename_defs` (a function Var -> Var), every Var the statements bind
    is renamed too (and reads of it follow), which clones a block with fresh
    names, as rule templates need.
    """
    return _substituted(stmts, dict(mapping), rename_defs)


# Module-level functions with the state passed along, not closures that call themselves: a
# recursive closure is a reference cycle, which keeps everything it reaches (a rule's renaming
# keeps the whole reverse sweep) alive until the cyclic GC runs, and makes that run long.


def _replaced(a, mapping):
    return mapping.get(a, a) if a.__class__ is Var or a.__class__ is Ref else a


def _bound(v, mapping, rename_defs):
    if rename_defs is None:
        return v
    new = rename_defs(v)
    mapping[v] = new
    return new


def _substituted(stmts, mapping, rename_defs):
    out = []
    get = mapping.get
    for s in stmts:
        if s.__class__ is Assign:  # the common case, inline: a long function has tens of thousands
            args = [get(a, a) if a.__class__ is Var or a.__class__ is Ref else a for a in s.args]
            kwargs = [(k, get(a, a) if a.__class__ is Var or a.__class__ is Ref else a) for k, a in s.kwargs]
            target = s.target if rename_defs is None else _bound(s.target, mapping, rename_defs)
            out.append(Assign(target, s.func, args, kwargs, s.loc))
        elif isinstance(s, If):
            cond = _replaced(s.cond, mapping)
            then_body = _substituted(s.then_body, mapping, rename_defs)
            then_phi = [_replaced(p.then_value, mapping) for p in s.phis]
            else_body = _substituted(s.else_body, mapping, rename_defs)
            else_phi = [_replaced(p.else_value, mapping) for p in s.phis]
            phis = [Phi(_bound(p.target, mapping, rename_defs), t, e) for p, t, e in zip(s.phis, then_phi, else_phi)]
            out.append(If(cond, then_body, else_body, phis, s.loc))
        elif isinstance(s, (For, While)):
            inits = [_replaced(c.init, mapping) for c in s.carried]
            iterable = _replaced(s.iterable, mapping) if isinstance(s, For) else None
            index = _bound(s.index, mapping, rename_defs) if isinstance(s, For) else None
            args = [_bound(c.arg, mapping, rename_defs) for c in s.carried]
            cond_body = _substituted(s.cond_body, mapping, rename_defs) if isinstance(s, While) else None
            cond = _replaced(s.cond, mapping) if isinstance(s, While) else None
            body = _substituted(s.body, mapping, rename_defs)
            nexts = [_replaced(c.next, mapping) for c in s.carried]
            outs = [_bound(c.out, mapping, rename_defs) for c in s.carried]
            carried = [Carried(a, i, n, o) for a, i, n, o in zip(args, inits, nexts, outs)]
            if isinstance(s, For):
                out.append(For(index, iterable, body, carried, s.reverse, s.loc))
            else:
                out.append(While(cond_body, cond, body, carried, s.loc))
        elif isinstance(s, Assert):
            out.append(Assert(_replaced(s.test, mapping), _replaced(s.msg, mapping) if s.msg is not None else None,
                              s.loc))
        elif isinstance(s, Push):
            out.append(Push(_replaced(s.value, mapping), s.loc, s.tape))
        elif isinstance(s, Raise):
            out.append(Raise(_replaced(s.exc, mapping) if s.exc is not None else None, s.loc))
        elif isinstance(s, Pop):
            out.append(Pop(_bound(s.target, mapping, rename_defs), s.loc,
                           _replaced(s.of, mapping) if s.of is not None else None, s.tape))
        else:
            out.append(s)
    return out


def free_vars(stmts: list) -> list:
    """Vars read by `stmts` but bound outside them, in order of first read."""
    bound = set(all_defs(stmts))
    seen: dict = {}
    for stmt in walk(stmts):
        reads = [a for a in uses(stmt)]
        if isinstance(stmt, If):
            reads += [v for p in stmt.phis for v in (p.then_value, p.else_value)]
        if isinstance(stmt, (For, While)):
            reads += [c.next for c in stmt.carried]
        if isinstance(stmt, While):
            reads.append(stmt.cond)
        for a in reads:
            if isinstance(a, Var) and a not in bound:
                seen.setdefault(a, None)
    return list(seen)
