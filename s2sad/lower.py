"""Lower: a desugared gast function -> IR in structured SSA three-address form.

Each expression becomes a chain of statements that apply one primitive to
atoms; each assignment binds a new version of its name (``z``, ``z_1``, ...).
Branches end in phis; loops carry the names their body reassigns as block
arguments. Calls to the user's own Python functions are inlined, so their
bodies are differentiated along with the caller (recursion is refused).

The state of one walk lives in a :class:`_Lowerer` created for that walk and
discarded after it; nothing is kept between calls.
"""

from __future__ import annotations

import builtins
import copy
import dataclasses
import functools
import inspect
import operator
import re
from dataclasses import dataclass, field

import gast
import numpy as np

from . import closures, ir, item_aliases, lower_writes, nested_routines, runtime, subroutines
from .desugar import refused_in, remove_early_exits, syntax_problems
from .errors import (
    InPlaceUpdateError,
    NoDerivativeError,
    SourceChangedError,
    SourceUnavailableError,
    NameResolutionError,
    RecursionNotSupportedError,
    S2SADError,
    UnsupportedSyntaxError,
    raise_problems,
)
from .frontend import _MISSING, ParsedFunction, parse_function, signature
from .generated_ir import splice_call
from .primitives import Attr, Method, list_append, module_name, pack_dict, pack_list, pack_namedtuple, pack_tuple, setitem
from .pytree import DICT, LEAF, LIST, NAMEDTUPLE, leaf_paths
from .rules import registry

_BINOPS = {
    gast.Add: operator.add,
    gast.Sub: operator.sub,
    gast.Mult: operator.mul,
    gast.Div: operator.truediv,
    gast.FloorDiv: operator.floordiv,
    gast.Mod: operator.mod,
    gast.Pow: operator.pow,
    gast.MatMult: operator.matmul,
    gast.BitAnd: operator.and_,
    gast.BitOr: operator.or_,
    gast.BitXor: operator.xor,
}
_UNARY = {gast.USub: operator.neg, gast.UAdd: operator.pos, gast.Not: operator.not_, gast.Invert: operator.invert}
_COMPARE = {
    gast.Lt: operator.lt,
    gast.LtE: operator.le,
    gast.Gt: operator.gt,
    gast.GtE: operator.ge,
    gast.Eq: operator.eq,
    gast.NotEq: operator.ne,
    gast.Is: operator.is_,
    gast.IsNot: operator.is_not,
}

# Methods that change the object they are called on. SSA gives every value one
# definition, so these are refused on local values rather than silently ignored.
_MUTATING_METHODS = {
    "append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse", "fill",
    "resize", "put", "itemset", "setfield", "update", "setdefault", "popitem", "partition",
}

# Modules whose Python functions are library code: they need rules, never inlining.
_LIBRARY_ROOTS = {
    "numpy", "scipy", "s2sad", "math", "operator", "builtins", "functools", "itertools",
    "random", "statistics", "jax", "torch", "autograd", "pandas",
}


class Namer:
    """Hands out unique SSA names: a source name's versions and temporaries ``t1, t2, ...``."""

    def __init__(self, taken=()):
        self.taken = set(taken)
        self.temps = 0
        self.tried: dict = {}  # base -> the k below which every base_k is taken (names are never freed)

    def fresh(self, base: str) -> ir.Var:
        k = self.tried.get(base, 0)
        candidate = base if k == 0 else f"{base}_{k}"
        while candidate in self.taken:
            k += 1
            candidate = f"{base}_{k}"
        self.tried[base] = k
        self.taken.add(candidate)
        return ir.Var(candidate, base)

    def temp(self) -> ir.Var:
        while True:
            self.temps += 1
            candidate = f"t{self.temps}"
            if candidate not in self.taken:
                self.taken.add(candidate)
                return ir.Var(candidate, "t")


def is_temp(var: ir.Var) -> bool:
    return ir.is_temp(var)


def is_user_function(obj) -> bool:
    """A Python function s2sad should read and differentiate itself (inline)."""
    if not inspect.isfunction(obj):
        return False
    root = module_name(obj).split(".")[0]
    return root not in _LIBRARY_ROOTS


def has_any_rule(obj) -> bool:
    return (
        registry.adjoint_rule(obj) is not None
        or registry.tangent_rule(obj) is not None
        or registry.is_nondifferentiable(obj)
    )


def assigned_names(stmts, local_names=None) -> list[str]:
    """Names a block (re)binds, in order of first appearance; subscript targets count.

    ``items.append(v)`` rebinds ``items`` too when `items` is one of `local_names`
    (a module such as ``np`` in ``np.append(...)`` is not).
    """
    found: dict[str, None] = {}

    def target(node):
        if isinstance(node, gast.Name):
            found[node.id] = None
        elif isinstance(node, (gast.Tuple, gast.List)):
            for elt in node.elts:
                target(elt)
        elif isinstance(node, gast.Subscript):
            target(node.value)

    for stmt in stmts:
        for node in gast.walk(stmt):
            if isinstance(node, gast.Assign):
                for t in node.targets:
                    target(t)
            elif isinstance(node, (gast.AugAssign, gast.AnnAssign)):
                target(node.target)
            elif isinstance(node, gast.For):
                target(node.target)
            elif isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) \
                    and node.func.attr == "append" and isinstance(node.func.value, gast.Name) \
                    and local_names is not None and node.func.value.id in local_names:
                found[node.func.value.id] = None  # items.append(v) rebinds items
            if isinstance(node, gast.Call) and local_names is not None:
                found.update(dict.fromkeys(lower_writes.written_names(node, local_names)))  # np.copyto(y, x)
    return list(found)


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _is_namedtuple_class(obj) -> bool:
    return isinstance(obj, type) and issubclass(obj, tuple) and isinstance(getattr(obj, "_fields", None), tuple)


def _literal_default(value):
    """A parameter default as an atom: literals become Const, anything else a Ref."""
    if value is None or isinstance(value, (bool, int, float, complex, str)):
        return ir.Const(value)
    if isinstance(value, tuple) and all(v is None or isinstance(v, (bool, int, float, str)) for v in value):
        return ir.Const(value)
    return None


@dataclass
class _Lowerer:
    parsed: ParsedFunction
    namer: Namer
    env: dict
    out: list
    stack: tuple = ()
    local_names: set = field(default_factory=set)
    packs: dict = field(default_factory=dict)  # Var bound to a tuple display -> its items
    fields: dict = field(default_factory=dict)  # Var bound to a dict or namedtuple -> {key or field: item}
    frozen: set = field(default_factory=set)  # containers that are (parts of) a parameter: never written
    element_of: dict = field(default_factory=dict)  # `layer = layers[k]` (k not a literal) -> layers
    arg_inits: dict = field(default_factory=dict)  # a loop's block argument -> its initial value
    contained: set = field(default_factory=set)  # values put into a list or tuple (so reachable from it)
    viewed_from: dict = field(default_factory=dict)  # a value that may be a view (`v = y[1:]`) -> y
    joins: dict = field(default_factory=dict)  # a branch join or a loop's result -> the values it may be
    arguments: set = field(default_factory=set)  # in an inlined helper: the caller's values passed in
    result_loc: object = None
    problems: list = field(default_factory=list)  # refusals so far, shared with inlined helpers' lowerers
    stand_ins: set = field(default_factory=set)  # placeholders for what refused code would have bound
    containers: set = field(default_factory=set)  # values that are (or may be) lists, tuples or dicts
    routines: dict = field(default_factory=dict)  # "plan": helpers made subroutines; func -> Subroutine

    # ------------------------------------------------------------ helpers

    def error(self, cls, message, node, hint=""):
        return cls(message, self.parsed.location(node), hint=hint)

    def loc(self, node):
        return self.parsed.location(node)

    def emit_call(self, func, args, kwargs=(), node=None, target=None) -> ir.Var:
        var = target if target is not None else self.namer.temp()
        ref = func if isinstance(func, ir.Ref) else ir.prim(func)
        self.out.append(ir.Assign(var, ref, list(args), list(kwargs), self.loc(node)))
        if args and isinstance(args[0], ir.Var) and lower_writes.may_view(ref.value):
            self.viewed_from[var] = args[0]
        if ref.value in (pack_tuple, pack_list, pack_dict, pack_namedtuple, list_append):
            self.containers.add(var)
        return var

    def target_for(self, hint):
        return self.namer.fresh(hint) if hint else None

    # ------------------------------------------------------------ names

    def read_name(self, node: gast.Name):
        if node.id in self.env:
            if closures.is_local(self.env[node.id]):
                raise closures.escaped(self, node)  # a nested def, lambda or partial: only called
            return self.env[node.id]
        if node.id in self.local_names:
            raise self.error(
                NameResolutionError,
                f"local variable {node.id!r} is read before it is assigned (on some path)",
                node,
                hint=f"assign {node.id} before this line on every path",
            )
        value = self.parsed.resolve(node.id)
        if value is _MISSING:
            raise self.error(
                NameResolutionError,
                f"name {node.id!r} is not defined",
                node,
                hint="define it at module level or pass it in as an argument",
            )
        return ir.Ref((node.id,), value, value)

    # ------------------------------------------------------------ expressions

    def expr(self, node, hint: str | None = None):
        """Lower an expression to an atom; `hint` names the value it is assigned to."""
        method = getattr(self, "expr_" + type(node).__name__, None)
        if method is None:
            raise self.error(
                UnsupportedSyntaxError,
                f"s2sad cannot differentiate the expression {type(node).__name__}",
                node,
                hint="rewrite it with plain arithmetic, calls, subscripts and attributes",
            )
        return method(node, hint)

    def expr_Constant(self, node, hint):
        return ir.Const(node.value)

    def expr_Name(self, node, hint):
        return self.read_name(node)

    def expr_BinOp(self, node, hint):
        left = self.expr(node.left)
        right = self.expr(node.right)
        return self.emit_call(_BINOPS[type(node.op)], [left, right], node=node, target=self.target_for(hint))

    def expr_UnaryOp(self, node, hint):
        operand = self.expr(node.operand)
        if isinstance(operand, ir.Const) and isinstance(node.op, (gast.USub, gast.UAdd)) and isinstance(
            operand.value, (int, float)
        ):
            return ir.Const(-operand.value if isinstance(node.op, gast.USub) else operand.value)
        return self.emit_call(_UNARY[type(node.op)], [operand], node=node, target=self.target_for(hint))

    def expr_Compare(self, node, hint):
        left = self.expr(node.left)

        def compare(left, op, right, target=None):
            if isinstance(op, gast.In):
                return self.emit_call(operator.contains, [right, left], node=node, target=target)
            if isinstance(op, gast.NotIn):
                inside = self.emit_call(operator.contains, [right, left], node=node)
                return self.emit_call(operator.not_, [inside], node=node, target=target)
            return self.emit_call(_COMPARE[type(op)], [left, right], node=node, target=target)

        if len(node.ops) == 1:
            return compare(left, node.ops[0], self.expr(node.comparators[0]), self.target_for(hint))
        # a < b < c  ==  (a < b) and (b < c), with b evaluated once and c lazily

        def chain(i, left):
            right = self.expr(node.comparators[i])
            test = compare(left, node.ops[i], right)
            if i == len(node.ops) - 1:
                return test
            return self.branch_value(test, lambda: chain(i + 1, right), lambda: test, node)

        return chain(0, left)

    def expr_BoolOp(self, node, hint):
        # `a and b` is b if a is true else a; `a or b` is a if a is true else b (lazily)
        def combine(values):
            first = self.expr(values[0])
            if len(values) == 1:
                return first
            rest = lambda: combine(values[1:])  # noqa: E731
            if isinstance(node.op, gast.And):
                return self.branch_value(first, rest, lambda: first, node)
            return self.branch_value(first, lambda: first, rest, node)

        return combine(node.values)

    def expr_IfExp(self, node, hint):
        test = self.expr(node.test)
        return self.branch_value(test, lambda: self.expr(node.body), lambda: self.expr(node.orelse), node, hint)

    def expr_Tuple(self, node, hint):
        items = [self.expr(elt) for elt in node.elts]
        if all(isinstance(i, ir.Const) for i in items):
            return ir.Const(tuple(i.value for i in items))
        packed = self.emit_call(pack_tuple, items, node=node, target=self.target_for(hint))
        self.packs[packed] = items
        self.contained.update(i for i in items if isinstance(i, ir.Var))
        return packed

    def expr_List(self, node, hint):
        items = [self.expr(elt) for elt in node.elts]
        self.contained.update(i for i in items if isinstance(i, ir.Var))
        return self.emit_call(pack_list, items, node=node, target=self.target_for(hint))

    def expr_Dict(self, node, hint):
        """``{"W": w, "b": b}`` with literal keys; reads with a literal key are resolved here."""
        keys = []
        for key in node.keys:
            if key is None:
                raise self.error(UnsupportedSyntaxError, "s2sad cannot differentiate ** in a dict display", node,
                                 hint="list the entries one by one")
            if not (isinstance(key, gast.Constant) and isinstance(key.value, (str, int))
                    and not isinstance(key.value, bool)):
                raise self.error(UnsupportedSyntaxError, "s2sad needs literal keys (strings or integers) in a dict "
                                 "display", key, hint='write {"W": w, "b": b}')
            keys.append(key.value)
        values = [self.expr(v) for v in node.values]
        return self.make_dict(dict(zip(keys, values)), node, hint)

    def make_dict(self, entries: dict, node, hint):
        values = list(entries.values())
        self.contained.update(v for v in values if isinstance(v, ir.Var))
        packed = self.emit_call(pack_dict, [ir.Const(tuple(entries))] + values, node=node,
                                target=self.target_for(hint))
        self.fields[packed] = dict(entries)
        return packed

    def make_namedtuple(self, cls, args, kwargs, node, hint):
        """``Params(w, b=b)`` for a namedtuple class: its items by position and by field name."""
        try:
            bound = inspect.signature(cls).bind(*args, **dict(kwargs))
        except TypeError as exc:
            raise self.error(S2SADError, f"cannot build {cls.__name__} with these arguments: {exc}", node) from None
        items = []
        for name in cls._fields:
            if name in bound.arguments:
                items.append(bound.arguments[name])
            else:
                default = cls._field_defaults[name]
                items.append(_literal_default(default) or ir.Ref((f"{cls.__name__}_{name}_default",), default,
                                                                 default))
        self.contained.update(v for v in items if isinstance(v, ir.Var))
        ref = ir.Ref((cls.__name__,), cls, cls)
        packed = self.emit_call(pack_namedtuple, [ref] + items, node=node, target=self.target_for(hint))
        self.packs[packed] = items
        self.fields[packed] = dict(zip(cls._fields, items))
        return packed

    def dict_method(self, base, method, args, node, hint):
        """``d.keys()``, ``d.values()``, ``d.items()``, ``d.get(k)`` of a dict whose entries are known."""
        entries = self.fields[base]
        if method == "keys" and not args:
            return ir.Const(tuple(entries))
        if method == "values" and not args:
            return self.emit_call(pack_tuple, list(entries.values()), node=node, target=self.target_for(hint))
        if method == "items" and not args:
            pairs = [self.emit_call(pack_tuple, [ir.Const(k), v], node=node) for k, v in entries.items()]
            return self.emit_call(pack_tuple, pairs, node=node, target=self.target_for(hint))
        if method == "get" and 1 <= len(args) <= 2 and isinstance(args[0], ir.Const) and _hashable(args[0].value):
            default = args[1] if len(args) == 2 else ir.Const(None)
            return entries.get(args[0].value, default)
        raise self.error(UnsupportedSyntaxError, f"s2sad cannot differentiate the dict method .{method}() here",
                         node, hint='read entries with a literal key (d["W"]), or use .keys(), .values(), .items()')

    def refuse_write(self, base, index, node):
        """Dicts and parameters' containers are read statically: a write would go unseen."""
        if isinstance(base, ir.Var) and base in self.frozen:
            raise self.error(InPlaceUpdateError, "this changes a container the caller passed in", node,
                             hint="build a new list, tuple or dict instead of changing the argument")
        if (isinstance(base, ir.Var) and base in self.fields) or (
                isinstance(index, ir.Const) and isinstance(index.value, str)):
            raise self.error(InPlaceUpdateError, "s2sad does not follow a dict changed in place", node,
                             hint='build a new dict instead: d = {**...} is not supported either, so write '
                             'd2 = {"W": w_new, "b": d["b"]}')

    def structured_parameter(self, name, tree, leaves, node):
        """Rebuild the parameter `name` of structure `tree` from its leaf parameters, so that every
        read of it (``p["W"]``, ``p.W``, ``(a, b), c = p``) resolves to a leaf when lowering."""
        if tree.kind == LEAF:
            return next(leaves)
        items = [self.structured_parameter(name, child, leaves, node) for child in tree.children]
        if tree.kind == DICT:
            packed = self.make_dict(dict(zip(tree.keys, items)), node, None)
        elif tree.kind == NAMEDTUPLE:
            packed = self.make_namedtuple(tree.cls, items, (), node, None)
        else:
            packed = self.emit_call(pack_list if tree.kind == LIST else pack_tuple, items, node=node)
            self.packs[packed] = items
            self.contained.update(v for v in items if isinstance(v, ir.Var))
        self.frozen.add(packed)
        return packed

    def expr_ListComp(self, node, hint):
        """``[elt for x in xs if c]`` is the loop ``acc = []; for x in xs: if c: acc.append(elt)``."""
        if len(node.generators) != 1 or node.generators[0].is_async:
            raise self.error(UnsupportedSyntaxError, "s2sad handles comprehensions with one `for` only", node,
                             hint="write the nested loops out, appending to a list")
        gen = node.generators[0]
        # the comprehension's own variables must not clobber the function's: rename them
        renames = {}
        for name_node in gast.walk(gen.target):
            if isinstance(name_node, gast.Name):
                renames[name_node.id] = self.namer.fresh(name_node.id + "_item").name
        rename = _Renamer(renames)
        target = rename.visit(copy.deepcopy(gen.target))
        elt = rename.visit(copy.deepcopy(node.elt))
        ifs = [rename.visit(copy.deepcopy(c)) for c in gen.ifs]
        acc = self.namer.fresh(hint or "items").name
        append = gast.Expr(value=gast.Call(
            func=gast.Attribute(value=gast.Name(id=acc, ctx=gast.Load(), annotation=None, type_comment=None),
                                attr="append", ctx=gast.Load()),
            args=[elt], keywords=[]))
        body = [append]
        if ifs:  # `for v in xs if a if b` keeps v when a and b hold (b tested only when a does)
            test = ifs[0] if len(ifs) == 1 else gast.BoolOp(op=gast.And(), values=ifs)
            body = [gast.If(test=test, body=body, orelse=[])]
        loop = gast.For(target=target, iter=gen.iter, body=body, orelse=[], type_comment=None)
        for sub in gast.walk(loop):
            if getattr(sub, "lineno", None) is None and "lineno" in getattr(sub, "_attributes", ()):
                gast.copy_location(sub, node)
        self.env[acc] = self.emit_call(pack_list, [], node=node, target=self.namer.fresh(acc))
        self.local_names.add(acc)
        self.stmt_For(loop)
        result = self.env.pop(acc)
        for new_name in renames.values():
            self.env.pop(new_name, None)
        return result

    expr_GeneratorExp = expr_ListComp  # consumed at once by the call it is passed to (sum, max, ...)

    def expr_Slice(self, node, hint):
        parts = [self.expr(p) if p is not None else ir.Const(None) for p in (node.lower, node.upper, node.step)]
        if all(isinstance(p, ir.Const) for p in parts):
            return ir.Const(slice(*(p.value for p in parts)))
        return self.emit_call(ir.Ref(("slice",), slice, slice), parts, node=node)

    def index(self, node):
        """The index of a subscript: a Const when it is all literals."""
        if isinstance(node, gast.Tuple):
            items = [self.index(elt) for elt in node.elts]
            if all(isinstance(i, ir.Const) for i in items):
                return ir.Const(tuple(i.value for i in items))
            return self.emit_call(pack_tuple, items, node=node)
        return self.expr(node)

    def expr_Subscript(self, node, hint):
        base = self.expr(node.value)
        if isinstance(base, ir.Ref) and isinstance(base.value, _AXIS_CONCATENATOR):
            return index_concatenation(self, base, node, hint)
        idx = self.index(node.slice)
        return self.getitem(base, idx, node, hint)

    def getitem(self, base, idx, node, hint=None):
        items = self.packs.get(base) if isinstance(base, ir.Var) else None
        if items is not None and isinstance(idx, ir.Const) and isinstance(idx.value, int) \
                and -len(items) <= idx.value < len(items):
            return items[idx.value]  # (a, b)[0] is a: no statement needed
        named = self.fields.get(base) if isinstance(base, ir.Var) else None
        if named is not None and isinstance(idx, ir.Const) and base not in self.packs \
                and _hashable(idx.value) and idx.value in named:
            return named[idx.value]  # {"W": w}["W"] is w
        element = self.emit_call(operator.getitem, [base, idx], node=node, target=self.target_for(hint))
        self.element_of[element] = base
        return element

    def expr_Attribute(self, node, hint):
        base = self.expr(node.value)
        if isinstance(base, ir.Ref):
            try:
                value = getattr(base.value, node.attr)
            except AttributeError:
                raise self.error(
                    NameResolutionError, f"{base.dotted} has no attribute {node.attr!r}", node
                ) from None
            if is_user_function(value):  # inlined: rebinding `module.helper` must be noticed
                self.parsed.assumptions.append(("attr", base.value, node.attr, value))
            return ir.Ref(base.path + (node.attr,), value, base.root)
        named = self.fields.get(base) if isinstance(base, ir.Var) and base in self.packs else None
        if named is not None and node.attr in named:
            return named[node.attr]  # Params(w, b).W is w
        position = self.field_position(self.element_of.get(base), node.attr)
        if position is not None:  # `layer.W` for `layer` any of a list of namedtuples: by position
            return self.emit_call(operator.getitem, [base, ir.Const(position)], node=node,
                                  target=self.target_for(hint))
        return self.emit_call(Attr(node.attr), [base], node=node, target=self.target_for(hint))

    def field_position(self, container, name):
        """The position of the field `name` in every item of `container`, if they are all namedtuples
        that have it in the same place (then ``item.name`` is ``item[position]``)."""
        items = self.packs.get(container) if isinstance(container, ir.Var) else None
        if not items:
            return None
        positions = set()
        for item in items:
            named = self.fields.get(item) if isinstance(item, ir.Var) and item in self.packs else None
            if named is None or name not in named:
                return None
            positions.add(list(named).index(name))
        return positions.pop() if len(positions) == 1 else None

    def expr_JoinedStr(self, node, hint):
        # f-strings only ever feed print/assert messages: format them as one call
        parts = []
        for value in node.values:
            if isinstance(value, gast.FormattedValue):
                parts.append(_formatted(self, value, node))
            else:
                parts.append(ir.Const(value.value))
        return self.emit_call(ir.Ref(("str",), _concat_str, None), parts, node=node, target=self.target_for(hint))

    def expr_Call(self, node, hint):
        for arg in node.args:
            if isinstance(arg, gast.Starred):
                raise self.error(UnsupportedSyntaxError, "s2sad cannot differentiate a call with *args", arg,
                                 hint="pass the arguments one by one")
        if any(k.arg is None for k in node.keywords):
            raise self.error(UnsupportedSyntaxError, "s2sad cannot differentiate a call with **kwargs", node,
                             hint="pass the keyword arguments one by one")
        func = node.func
        local = closures.callee_of(self, func)
        if local is not None:  # a nested def, a lambda or a partial made in the function: inlined
            args = [closures.argument(self, a, True) for a in node.args]
            kwargs = [(k.arg, closures.argument(self, k.value, True)) for k in node.keywords]
            called = call_local_subroutine(self, local, args, kwargs, node, hint)
            return called if called is not None else closures.call(self, local, args, kwargs, node, hint)
        if isinstance(func, gast.Attribute):
            base = self.expr(func.value)
            if not isinstance(base, ir.Ref):  # a method of a local value
                if isinstance(base, ir.Var) and base in self.fields and base not in self.packs \
                        and func.attr not in _MUTATING_METHODS and not node.keywords:
                    return self.dict_method(base, func.attr, [self.expr(a) for a in node.args], node, hint)
                if func.attr in _MUTATING_METHODS:
                    self.refuse_write(base, None, node)
                if func.attr == "append" and isinstance(func.value, gast.Name) and func.value.id in self.env \
                        and len(node.args) == 1 and not node.keywords:
                    # items.append(v) binds a new version of `items` (the same list, one longer)
                    value = self.expr(node.args[0])
                    self.contained.add(value)
                    updated = self.emit_call(list_append, [base, value], node=node,
                                             target=self.namer.fresh(func.value.id))
                    self.env[func.value.id] = updated
                    return ir.Const(None)
                if func.attr in _MUTATING_METHODS and lower_writes.method_declaration(func.attr) is None:
                    raise self.error(
                        InPlaceUpdateError,
                        f"the method .{func.attr}() changes its object in place, which s2sad does not differentiate",
                        node,
                        hint="build a new value instead (e.g. np.sort(x), or collect values with "
                        "out = [] and out.append(...) on a local list)",
                    )
                args = [base] + [self.expr(a) for a in node.args]
                kwargs = [(k.arg, self.expr(k.value)) for k in node.keywords]
                return self.library_call(ir.prim(Method(func.attr)), args, kwargs, node, hint)
            callee = self.expr_Attribute(func, None)
            owner = getattr(getattr(callee, "value", None), "__self__", None)
            if func.attr in _MUTATING_METHODS and isinstance(owner, (list, dict, set, bytearray)):
                # LOG.append(v) on a global list: later reads of LOG are constants to s2sad
                raise self.error(InPlaceUpdateError, f"the method .{func.attr}() changes a {type(owner).__name__} "
                                 "outside the function in place, which s2sad does not follow", node,
                                 hint="collect the values in a local list (out = []; out.append(...)) and "
                                 "return it, or pass the list in as an argument")
        else:
            callee = self.expr(func)
        if isinstance(callee, ir.Var) and callee in self.stand_ins:
            return self.placeholder(hint, node)  # calls what refused code defined: reported there
        if not isinstance(callee, ir.Ref):
            raise self.error(
                UnsupportedSyntaxError,
                "s2sad cannot tell which function is called here (it is a local value)",
                node,
                hint="call the function by its module-level name",
            )
        obj = callee.value
        if obj in (builtins.max, builtins.min) and not node.keywords:
            return self.extremum(obj, node, hint)
        inlined = is_user_function(getattr(obj, "__s2sad_function__", obj)) and not has_any_rule(obj)
        args = [closures.argument(self, a, inlined) for a in node.args]  # an inlined helper may take a closure
        kwargs = [(k.arg, closures.argument(self, k.value, inlined)) for k in node.keywords]
        if obj is dict and (not args or (len(args) == 1 and isinstance(args[0], ir.Var) and args[0] in self.fields
                                         and args[0] not in self.packs)):
            return self.dict_call(args, kwargs, node, hint)
        if _is_namedtuple_class(obj):
            return self.make_namedtuple(obj, args, kwargs, node, hint)
        return self.call_ref(callee, args, kwargs, node, hint)

    def call_ref(self, callee, args, kwargs, node, hint):
        """A call of the function `callee` (an ``ir.Ref``) with argument atoms: the user's own functions
        are inlined, a ``functools.partial`` object opened (`closures`), the rest are library calls."""
        obj = callee.value
        if isinstance(obj, functools.partial):
            return closures.call(self, callee, args, kwargs, node, hint)
        if getattr(obj, "__s2sad_function__", None) is not None and not has_any_rule(obj):
            obj = obj.__s2sad_function__  # a @differentiate function: read the function inside
        if is_user_function(obj) and not has_any_rule(obj):
            return self.inline(obj, args, kwargs, node, hint)
        if getattr(type(obj), "s2sad_generated", False):  # generated code: a renamed copy of its IR
            program = obj.program_for_calls(self.parsed.assumptions, self.loc(node))
            return splice_call(program, args, kwargs, self.namer, self.out, self.loc(node))
        return self.library_call(callee, args, kwargs, node, hint)

    def library_call(self, callee, args, kwargs, node, hint):
        """A call to a function s2sad does not read: pure, or a declared write (lower_writes)."""
        what = f".{callee.value.name}()" if isinstance(callee.value, Method) else f"{callee.dotted}()"
        declared = lower_writes.declaration(callee, args, kwargs, node)
        if declared is not None:
            decl, key, full_args, arg_nodes = declared
            written = lower_writes.lower_declared(self, decl, key, full_args, kwargs, arg_nodes, node, what)
            if written is not None:
                return written
        if lower_writes.out_argument(callee, args, kwargs) is not None:
            return lower_writes.lower_out_call(self, callee, args, kwargs, node, hint, what)
        return self.emit_call(callee, args, kwargs, node, self.target_for(hint))

    def dict_call(self, args, kwargs, node, hint):
        """``dict(W=w, b=b)``, or ``dict(d, b=b)`` of a dict whose entries are known: a new dict.
        (Any other ``dict(...)`` is an ordinary call, which has no derivative rule.)"""
        entries = dict(self.fields[args[0]]) if args else {}
        entries.update(dict(kwargs))
        return self.make_dict(entries, node, hint)

    def extremum(self, func, node, hint):
        """``max(a, b, c)`` is ``max(max(a, b), c)``; ``max([a, b])`` and ``max((a, b))`` likewise;
        ``max(x)`` of one array or list is ``np.max(x)`` (the largest element)."""
        items = node.args
        if len(items) == 1 and isinstance(items[0], (gast.List, gast.Tuple)):
            items = items[0].elts
        if len(items) == 1:
            value = self.expr(items[0])
            reduce = np.max if func is builtins.max else np.min
            return self.emit_call(ir.Ref(("np", reduce.__name__), reduce, np), [value], node=node,
                                  target=self.target_for(hint))
        if not items:
            raise self.error(UnsupportedSyntaxError, f"{func.__name__}() needs at least one argument", node)
        ref = ir.Ref((func.__name__,), func)
        result = self.expr(items[0])
        for k, item in enumerate(items[1:]):
            last = k == len(items) - 2
            result = self.emit_call(ref, [result, self.expr(item)], node=node,
                                    target=self.target_for(hint) if last else None)
        return result

    # ------------------------------------------------------------ control flow

    def branch_value(self, cond, then_fn, else_fn, node, hint=None):
        """Lower `then_fn()` / `else_fn()` in two branches; return the phi of their values."""
        values = []
        self.lower_if(cond, lambda: values.append(then_fn()), lambda: values.append(else_fn()), node)
        then_value, else_value = values
        if then_value == else_value:
            return then_value
        target = self.namer.fresh(hint) if hint else self.namer.temp()
        self.out[-1].phis.append(ir.Phi(target, then_value, else_value))
        self.joins[target] = (then_value, else_value)
        if then_value in self.containers or else_value in self.containers:
            self.containers.add(target)
        return target

    def lower_if(self, cond, then_fn, else_fn, node):
        before_env, before_out = self.env, self.out
        self.env, self.out = dict(before_env), []
        then_fn()
        then_env, then_body = self.env, self.out
        self.env, self.out = dict(before_env), []
        else_fn()
        else_env, else_body = self.env, self.out
        self.env, self.out = before_env, before_out
        phis = []
        for name in list(dict.fromkeys(list(then_env) + list(else_env))):
            then_value = then_env.get(name, ir.Const(None))
            else_value = else_env.get(name, ir.Const(None))
            if closures.is_local(then_value) or closures.is_local(else_value):
                self.env[name] = closures.merged(name, then_value, else_value, self, node)
                continue
            if then_value == else_value:
                if name in then_env and name in else_env:
                    self.env[name] = then_value
                continue
            target = self.namer.fresh(name)
            phis.append(ir.Phi(target, then_value, else_value))
            self.joins[target] = (then_value, else_value)
            self.env[name] = target
            if then_value in self.containers or else_value in self.containers:
                self.containers.add(target)
        self.out.append(ir.If(cond, then_body, else_body, phis, self.loc(node)))

    def stmt_If(self, node):
        cond = self.expr(node.test)
        self.lower_if(cond, lambda: self.block(node.body), lambda: self.block(node.orelse), node)

    def _loop_carried(self, names, exclude=()):
        carried = []
        for name in names:
            if name in exclude:
                continue
            init = self.env.get(name, ir.Const(None))
            arg = self.namer.fresh(name)
            self.arg_inits[arg] = init
            carried.append((name, arg, init))
        return carried

    def _finish_loop(self, carried, body_env, node):
        item_aliases.check_loop_updates(self, carried, body_env, node)
        result = []
        for name, arg, init in carried:
            nxt = body_env[name]
            out = self.namer.fresh(name)
            result.append(ir.Carried(arg, init, nxt, out))
            self.joins[out] = (init, nxt)
            self.env[name] = out
            if init in self.containers or nxt in self.containers:
                self.containers.update((arg, out))
        return result

    def stmt_For(self, node):
        it = node.iter
        target = node.target
        is_call = isinstance(it, gast.Call) and not it.keywords
        callee = self.expr(it.func) if is_call and isinstance(it.func, (gast.Name, gast.Attribute)) else None
        callee = callee.value if isinstance(callee, ir.Ref) else None
        if callee is range and isinstance(target, gast.Name):
            iterable = self.expr(it, None)
            index_name = target.id
            bind = []
        elif callee is enumerate and len(it.args) == 1 and isinstance(target, gast.Tuple) and len(target.elts) == 2 \
                and isinstance(target.elts[0], gast.Name):
            seq = self.expr(it.args[0])
            length = self.emit_call(ir.Ref(("len",), len), [seq], node=node)
            iterable = self.emit_call(ir.Ref(("range",), range), [length], node=node)
            index_name = target.elts[0].id
            bind = [(target.elts[1], seq)]
        elif callee is zip and isinstance(target, gast.Tuple) and len(target.elts) == len(it.args):
            seqs = [self.expr(a) for a in it.args]
            lengths = [self.emit_call(ir.Ref(("len",), len), [s], node=node) for s in seqs]
            length = lengths[0] if len(lengths) == 1 else self.emit_call(ir.Ref(("min",), min), lengths, node=node)
            iterable = self.emit_call(ir.Ref(("range",), range), [length], node=node)
            index_name = None
            bind = list(zip(target.elts, seqs))
        else:
            seq = self.expr(it)
            if isinstance(seq, ir.Var) and seq in self.fields and seq not in self.packs:
                seq = ir.Const(tuple(self.fields[seq]))  # `for k in d` visits the keys
            length = self.emit_call(ir.Ref(("len",), len), [seq], node=node)
            iterable = self.emit_call(ir.Ref(("range",), range), [length], node=node)
            index_name = None
            bind = [(target, seq)]
        index = self.namer.fresh(index_name or "k")
        body_names = assigned_names(node.body, self.local_names) + [
            n for t, _ in bind for n in assigned_names([gast.Assign(targets=[t], value=None, type_comment=None)])
        ]
        carried = self._loop_carried(list(dict.fromkeys(body_names)),
                                     exclude={index_name} | closures.functions_defined_in(node.body))
        outer_env, outer_out = self.env, self.out
        self.env = dict(outer_env)
        self.env.update({name: arg for name, arg, _ in carried})
        if index_name:
            self.env[index_name] = index
        closures.enter_loop(self, node.body, node)
        self.out = []
        for tgt, seq in bind:
            element = self.emit_call(operator.getitem, [seq, index], node=node,
                                     target=self.namer.fresh(tgt.id) if isinstance(tgt, gast.Name) else None)
            self.element_of[element] = seq
            self.bind_target(tgt, element, node)
        self.block(node.body)
        body_env, body = self.env, self.out
        self.env, self.out = outer_env, outer_out
        carried = closures.leave_loop(self, carried, body_env, body, node)
        carried_ir = self._finish_loop(carried, body_env, node)
        self.out.append(ir.For(index, iterable, body, carried_ir, loc=self.loc(node)))

    def stmt_While(self, node):
        carried = self._loop_carried(assigned_names(node.body, self.local_names),
                                     exclude=closures.functions_defined_in(node.body))
        outer_env, outer_out = self.env, self.out
        self.env = dict(outer_env)
        self.env.update({name: arg for name, arg, _ in carried})
        closures.enter_loop(self, node.body, node)
        self.out = []
        cond = self.expr(node.test)
        cond_body = self.out
        self.out = []
        self.block(node.body)
        body_env, body = self.env, self.out
        self.env, self.out = outer_env, outer_out
        carried = closures.leave_loop(self, carried, body_env, cond_body + body, node)
        carried_ir = self._finish_loop(carried, body_env, node)
        self.out.append(ir.While(cond_body, cond, body, carried_ir, loc=self.loc(node)))

    # ------------------------------------------------------------ statements

    def bind_target(self, target, value, node):
        if isinstance(target, gast.Name):
            self.env[target.id] = value  # `y = x` makes y name the same value as x: no statement
            return
        if isinstance(target, (gast.Tuple, gast.List)):
            if any(isinstance(e, gast.Starred) for e in target.elts):
                raise self.error(UnsupportedSyntaxError, "s2sad cannot differentiate starred unpacking", target,
                                 hint="unpack the values one by one")
            for i, elt in enumerate(target.elts):
                hint = elt.id if isinstance(elt, gast.Name) else None
                item = self.getitem(value, ir.Const(i), node, hint)
                self.bind_target(elt, item, node)
            return
        if isinstance(target, gast.Subscript):
            self.store_subscript(target, value, node)
            return
        raise self.error(
            UnsupportedSyntaxError,
            f"s2sad cannot assign to {type(target).__name__.lower()} targets",
            target,
            hint="assign to a local name or to an element of a local array (x[i] = ...)",
        )

    def store_subscript(self, target, value, node, index=None):
        if not isinstance(target.value, gast.Name):
            raise self.error(
                UnsupportedSyntaxError,
                "s2sad can only update elements of a local variable (x[i] = v)",
                target,
                hint="write x[i, j] = v instead of x[i][j] = v",
            )
        name = target.value.id
        if name not in self.env:
            raise self.error(
                InPlaceUpdateError,
                f"{name!r} is not a local variable, so updating it in place would change the caller's data",
                target,
                hint=f"make a local copy first: {name} = {name}.copy()",
            )
        base = self.env[name]
        idx = index if index is not None else self.index(target.slice)
        self.refuse_write(base, idx, node)
        updated = self.emit_call(setitem, [base, idx, value], node=node, target=self.namer.fresh(name))
        self.env[name] = updated

    def stmt_Assign(self, node):
        targets = node.targets
        hint = targets[0].id if len(targets) == 1 and isinstance(targets[0], gast.Name) else None
        if len(targets) == 1 and isinstance(targets[0], (gast.Tuple, gast.List)) and isinstance(
            node.value, (gast.Tuple, gast.List)
        ) and len(targets[0].elts) == len(node.value.elts) and not any(
            isinstance(e, gast.Starred) for e in targets[0].elts
        ):
            # a, b = b, a + b: evaluate every right-hand side, then bind
            values = [
                self.expr(v, t.id if isinstance(t, gast.Name) else None)
                for t, v in zip(targets[0].elts, node.value.elts)
            ]
            for t, v in zip(targets[0].elts, values):
                self.bind_target(t, v, node)
            return
        value = self.expr(node.value, hint)
        for target in targets:
            self.bind_target(target, value, node)

    def stmt_AnnAssign(self, node):
        if node.value is None:
            return
        hint = node.target.id if isinstance(node.target, gast.Name) else None
        self.bind_target(node.target, self.expr(node.value, hint), node)

    def stmt_AugAssign(self, node):
        op = _BINOPS[type(node.op)]
        target = node.target
        if isinstance(target, gast.Name):
            current = self.read_name(gast.Name(id=target.id, ctx=gast.Load(), annotation=None, type_comment=None))
            viewed = self.viewed_from.get(current)
            while viewed is not None and (ir.is_temp(viewed) or not self.read_later(viewed.base, node)) \
                    and viewed in self.viewed_from:
                viewed = self.viewed_from[viewed]  # `w = y[1:][:1]`, `w = v[:1]` of `v = y[1:]`: y counts
            value = self.expr(node.value)
            same, probe = {current}, current
            while isinstance(probe, ir.Var) and probe in self.arg_inits:
                probe = self.arg_inits[probe]  # a loop's block argument is its initial value at first
                if probe in same:
                    break
                same.add(probe)
            aliases = [n for n, a in self.env.items() if a in same and n != target.id and isinstance(a, ir.Var)]
            if same & self.contained:
                aliases.append("a list or tuple that holds it")
            if same & self.arguments:
                aliases.append("the caller's argument")  # `def bump(a): a += 1` changes the caller's array
            held = closures.held_values(self.env)
            if same & held:
                aliases.append("a partial or a default that holds it")  # which a later call reads
            if (same & (self.contained | self.arguments | held)) or any(self.read_later(n, node) for n in aliases):
                # for an array, `y += v` writes into the array `other` also names (NumPy); for a
                # number it only rebinds y. Only the run time knows which: check there.
                where = f"line {self.loc(node).line}: {self.loc(node).text.strip()} ({target.id} is also named " \
                        f"{', '.join(aliases)})"
                current = self.emit_call(ir.Ref(("not_a_view",), runtime.not_a_view),
                                         [current, current, ir.Const(where)], node=node)
            if viewed is not None and not ir.is_temp(viewed) and self.read_later(viewed.base, node):
                # `v = y[1:]; v *= 2` writes into y too (a view); the lowering `v = v * 2` would not
                where = f"line {self.loc(node).line}: {self.loc(node).text.strip()} ({target.id} may be a view " \
                        f"of {viewed.base})"
                current = self.emit_call(ir.Ref(("not_a_view",), runtime.not_a_view),
                                         [current, viewed, ir.Const(where)], node=node)
            for name, other in item_aliases.names_to_check(current, target.id, self, node):
                # `r = rows[0]; r += 1` writes into the array rows holds, which may be y's (item_aliases)
                where = f"line {self.loc(node).line}: {self.loc(node).text.strip()} ({target.id} is an item or a view " \
                        f"of another value, and may share its data with {name})"
                current = self.emit_call(ir.Ref(("not_a_view",), runtime.not_a_view),
                                         [current, other, ir.Const(where)], node=node)
            self.env[target.id] = self.emit_call(op, [current, value], node=node, target=self.namer.fresh(target.id))
            return
        if isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name):
            # x[i] += v  ==  x[i] = x[i] + v, with the index evaluated once
            idx = self.index(target.slice)
            base = self.read_name(target.value)
            old = self.emit_call(operator.getitem, [base, idx], node=node)
            value = self.expr(node.value)
            new = self.emit_call(op, [old, value], node=node)
            self.store_subscript(target, new, node, index=idx)
            return
        raise self.error(UnsupportedSyntaxError, "s2sad cannot differentiate this augmented assignment", node,
                         hint="update a local name or an element of a local array")

    def read_later(self, name, node) -> bool:
        """Is `name` read after `node` in the function (later lines, anywhere in a loop around it, or
        in a nested def or lambda, which may be called later)? In an inlined helper or closure, the
        caller may read the value later too: assume it does."""
        return bool(self.stack) or name in item_aliases.names_read_after(self.parsed.node, node)

    def stmt_Expr(self, node):
        if isinstance(node.value, gast.Constant):
            return  # a docstring or a bare literal
        start = len(self.out)
        self.expr(node.value)
        for stmt in self.out[start:]:
            # a method of the user's own object whose result is dropped can only act by changing its
            # object or its arguments, and s2sad does not read methods: refuse, never drop it
            method = stmt.func.value if isinstance(stmt, ir.Assign) and isinstance(stmt.func, ir.Ref) else None
            if inspect.ismethod(method) and is_user_function(method.__func__) and not has_any_rule(method):
                raise self.error(
                    NoDerivativeError,
                    f"the result of the method {method.__func__.__qualname__}() is not used, so it can only "
                    "act by changing its object or its arguments, which s2sad does not see",
                    node,
                    hint="make it a plain function that returns the new value (s2sad reads and inlines "
                    "functions), or register a rule for it with @s2sad.adjoint",
                )

    def stmt_Pass(self, node):
        pass

    def stmt_Assert(self, node):
        test = self.expr(node.test)
        msg = self.expr(node.msg) if node.msg is not None else None
        self.out.append(ir.Assert(test, msg, self.loc(node)))

    def stmt_Raise(self, node):
        if node.cause is not None:
            raise self.error(UnsupportedSyntaxError, "s2sad cannot differentiate `raise ... from ...`", node,
                             hint="raise the exception without `from`")
        exc = self.expr(node.exc) if node.exc is not None else None
        self.out.append(ir.Raise(exc, self.loc(node)))

    def stmt_Return(self, node):
        raise AssertionError("desugar leaves only the final return")  # pragma: no cover

    def block(self, stmts):
        """Lower each statement; one s2sad refuses is recorded in `problems` and lowering goes on
        (so one error can list every problem), its names bound to placeholders."""
        for stmt in stmts:
            if any(refused_in(part) for part in _own_parts(stmt)):
                self.stand_in(stmt)  # `syntax_problems` has reported it already
                continue
            try:
                self.statement(stmt)
            except S2SADError as exc:
                self.problems.append(exc)
                self.stand_in(stmt)

    def statement(self, stmt):
        if closures.define(self, stmt):
            return  # a nested def, `h = lambda ...` or `p = functools.partial(...)`: bound, inlined where called
        method = getattr(self, "stmt_" + type(stmt).__name__, None)
        if method is None:
            raise self.error(
                UnsupportedSyntaxError,
                f"s2sad cannot differentiate a {type(stmt).__name__} statement",
                stmt,
                hint="rewrite it with assignments, if/for/while and calls",
            )
        method(stmt)

    def stand_in(self, stmt):
        """Bind what a refused statement would have bound to placeholders, so that later lines
        are checked too without reporting these names as undefined."""
        for ident in _bound_by(stmt, self.local_names):
            self.env[ident] = self.placeholder(ident, stmt)

    def placeholder(self, base, node):
        var = self.namer.fresh(base) if base else self.namer.temp()
        self.out.append(ir.Assign(var, ir.prim(refused_value), [], [], self.loc(node)))
        self.stand_ins.add(var)
        return var

    def body_and_result(self, fdef, hint=None):
        """Lower the body; the returned value is named `hint` (the caller's name for it) if new."""
        body = fdef.body
        final = body[-1]
        assert isinstance(final, gast.Return)
        self.result_loc = self.loc(final)
        self.block(body[:-1])
        if final.value is None:
            return ir.Const(None)
        if refused_in(final.value):
            return self.placeholder(hint, final)  # `syntax_problems` has reported it already
        try:
            return self.expr(final.value, hint)
        except S2SADError as exc:
            self.problems.append(exc)
            return self.placeholder(hint, final)

    # ------------------------------------------------------------ inlining

    def named_argument(self, atom, name):
        """An argument computed just for this call (``f(X @ w + b)``) takes the parameter's name (``z``)."""
        if not (isinstance(atom, ir.Var) and is_temp(atom)):
            return atom
        defining = [s for s in self.out if isinstance(s, ir.Assign) and s.target == atom]
        readers = [s for s in ir.walk(self.out) if atom in ir.uses(s)]
        if len(defining) != 1 or readers or atom in self.packs or atom in self.contained or atom in self.fields:
            return atom
        renamed = self.namer.fresh(name)
        defining[0].target = renamed
        return renamed

    def inline(self, func, args, kwargs, node, hint):
        """Splice the body of the user's function `func` in place of a call to it (or call it as a
        subroutine, when it is one and the call's shape allows: `call_subroutine`)."""
        if func in self.routines.get("plan", ()):
            called = self.call_subroutine(func, args, kwargs, node, hint)
            if called is not None:
                return called
        if func in self.stack or func is self.parsed.func:
            if any(isinstance(p, RecursionNotSupportedError) for p in self.problems):
                return self.placeholder(hint, node)  # this recursion is reported already
            chain = " -> ".join(getattr(f, "__name__", "?") for f in self.stack + (func,))
            raise self.error(
                RecursionNotSupportedError,
                f"{func.__name__} is recursive ({chain}); s2sad differentiates a recursive function as a "
                "generated function of its own only when its arguments and its result are arrays or numbers, "
                "not tuples, lists, dicts or functions",
                node,
                hint="return one array or number and pass arrays and numbers, or rewrite the recursion as a loop",
            )
        try:
            parsed = parse_function(func, self.parsed.assumptions)
        except SourceChangedError:
            raise  # it names the helper's file and says to reload it
        except SourceUnavailableError as exc:
            name = getattr(func, "__qualname__", repr(func))
            raise self.error(
                NoDerivativeError,
                f"{name} has no derivative rule, and s2sad cannot read its source ({exc.message})",
                node,
                hint=f"define {name} in a .py file, or register a rule:\n"
                f"    @s2sad.adjoint({name})\n    def {func.__name__}_adjoint(y, ...): ...",
            ) from None
        self.problems.extend(syntax_problems(parsed))
        if parsed.node.args.vararg is not None or parsed.node.args.kwarg is not None:
            return self.placeholder(hint, node)  # reported: the helper takes *args or **kwargs
        fdef = remove_early_exits(parsed)
        sig = signature(func)
        try:
            bound = sig.bind(*args, **dict(kwargs))
        except TypeError as exc:
            raise self.error(S2SADError, f"cannot call {func.__name__} with these arguments: {exc}", node) from None
        env, arguments = {}, set()
        for pname, param in sig.parameters.items():
            if pname in bound.arguments:
                env[pname] = self.named_argument(bound.arguments[pname], pname)
                passed = env[pname]
                if passed is bound.arguments[pname] and isinstance(passed, ir.Var) and (any(
                        self.read_later(n, node) for n, a in self.env.items() if a is passed)
                        or passed in closures.held_values(self.env)):
                    arguments.add(passed)  # a value the caller reads again (not one made for this call)
            else:
                env[pname] = _literal_default(param.default) or ir.Ref(
                    (f"{func.__name__}_{pname}_default",), param.default, param.default
                )
        sub = _Lowerer(parsed, self.namer, env, self.out, self.stack + (self.parsed.func,),
                       local_names=set(assigned_names(fdef.body)) | set(sig.parameters), packs=self.packs,
                       fields=self.fields, frozen=self.frozen, element_of=self.element_of, problems=self.problems,
                       stand_ins=self.stand_ins, containers=self.containers, routines=self.routines,
                       arguments=arguments)
        result = sub.body_and_result(fdef, hint)
        return result

    def call_subroutine(self, func, args, kwargs, node, hint):
        """``y = helper(a, b)`` as one call of the helper's own IR (:mod:`subroutines`), or None when
        this call passes what the helper's IR cannot take (a container, a function, a bad binding)."""
        sig = signature(func)
        try:
            bound = sig.bind(*args, **dict(kwargs))
        except TypeError:
            return None  # inlining reports it
        full = []
        for pname, param in sig.parameters.items():
            if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
                return None
            if pname in bound.arguments:
                full.append(bound.arguments[pname])
            else:
                full.append(_literal_default(param.default) or ir.Ref(
                    (f"{func.__name__}_{pname}_default",), param.default, param.default))
        if not all(self.plain_value(a) for a in full):
            return None
        routine = self.routines.get(func)
        if routine is None:
            name = re.sub(r"\W", "_", func.__name__.replace("<lambda>", "lambda"))
            routine = self.routines[func] = subroutines.Subroutine(func, name)
            lower_subroutine(self, routine)
        if not routine.usable:
            return None
        return self.emit_call(ir.Ref((routine.name,), routine, routine), full, node=node,
                              target=self.target_for(hint))

    def plain_value(self, atom) -> bool:
        """Can a helper's own IR take `atom` as an argument? Not a container lowering reads statically,
        nor a function or module (which the helper's body calls by name)."""
        if isinstance(atom, ir.Const):
            return True
        if not isinstance(atom, (ir.Var, ir.Ref)):
            return False  # a local function or partial (closures.py): inlined, so it is called in place
        if isinstance(atom, ir.Ref):
            return not (callable(atom.value) or inspect.ismodule(atom.value))
        probe, seen = atom, set()
        while isinstance(probe, ir.Var) and probe not in seen:
            seen.add(probe)
            if probe in self.containers or probe in self.packs or probe in self.fields or probe in self.frozen \
                    or probe in self.element_of or probe in self.stand_ins:
                return False
            probe = self.arg_inits.get(probe)
        return True


def _adds_into_a_parameter(sub: _Lowerer, params: set) -> bool:
    """Does the helper apply ``y += v`` to (an alias of) a parameter, which NumPy does in the caller's
    array? Then it is inlined, where each call knows whether the caller reads that array again."""
    for stmt in ir.walk(sub.out):
        if isinstance(stmt, ir.Assign) and stmt.func.value is runtime.not_a_view:
            probe, seen = stmt.args[0], set()
            while isinstance(probe, ir.Var) and probe not in params and probe not in seen:
                seen.add(probe)
                probe = sub.arg_inits.get(probe)
            if probe in params:
                return True
    return False


def call_local_subroutine(caller: _Lowerer, local, args, kwargs, node, hint):
    """``y = h(x)`` of a nested function `local` that is a subroutine (:mod:`nested_routines`) as one
    call ``y = h(W, x)`` passing its free names' values now; None when it is inlined instead."""
    if not isinstance(local, closures.LocalFunction) or local.scope is not None or "plan" not in caller.routines \
            or not nested_routines.wanted(local):
        return None
    free = nested_routines.free_names(local, caller.env, caller.local_names)
    sig = closures._signature(local)
    try:
        bound = sig.bind(*args, **dict(kwargs))
    except TypeError:
        return None  # inlining reports it
    full = [caller.env[name] for name in free or ()] + [
        bound.arguments[p] if p in bound.arguments else local.defaults[p] for p in sig.parameters]
    if free is None or not all(caller.plain_value(a) for a in full):
        return None
    routine = caller.routines.get(local.node)
    if routine is None:
        routine = caller.routines[local.node] = nested_routines.LocalSubroutine(local, local.node.name, free)
        parsed = dataclasses.replace(local.parsed, node=local.node)
        lower_subroutine(caller, routine, parsed, list(free) + list(sig.parameters),
                         nested_routines.recursive_call(local))
    if not routine.usable or routine.free != free:
        return None
    return caller.emit_call(ir.Ref((routine.name,), routine, routine), full, node=node, target=caller.target_for(hint))


def lower_subroutine(caller: _Lowerer, routine, parsed=None, param_names=None, recursive_at=None) -> None:
    """Lower the helper of `routine` once, to its own IR (``routine.ir``), with every parameter a
    plain value. A helper returning a container, or writing into an argument, is inlined instead
    (``routine.usable = False``), unless it is recursive, which is then refused at the recursive call.
    A nested function (`call_local_subroutine`) comes `parsed`, with its `param_names` (free names
    first) and its recursive call if any (`recursive_at`)."""
    func = routine.func
    nested = parsed is not None
    if not nested:
        parsed = parse_function(func, caller.parsed.assumptions)
        caller.problems.extend(syntax_problems(parsed))
        param_names = list(signature(func).parameters)
    fdef = remove_early_exits(parsed)
    namer = Namer()
    params, env = [], {}
    for pname in param_names:
        params.append(ir.Param(namer.fresh(pname)))
        env[pname] = params[-1].var
    own = set(assigned_names(fdef.body)) | set(env)
    if nested:
        env[fdef.name] = func  # its recursive calls call the routine (`call_local_subroutine`)
        own.add(fdef.name)
    sub = _Lowerer(parsed, namer, env, [], (), own,
                   problems=caller.problems, routines=caller.routines,
                   arguments=set(env.values()))  # lowered once for every call: any caller may read them again
    result = sub.body_and_result(fdef)
    fn = ir.verify(ir.Function(
        name=routine.name, params=params, body=sub.out, result=result, filename=parsed.filename,
        firstline=parsed.line_offset + parsed.node.lineno, result_loc=sub.result_loc))
    why = "it returns a tuple, list or dict" if result in sub.containers or result in sub.packs \
        or result in sub.fields else "it changes an argument in place" if subroutines.changes_an_argument(fn) \
        or _adds_into_a_parameter(sub, {p.var for p in params}) else ""
    if not why:
        routine.ir = fn
        routine.returns_new_value = subroutines.returns_new_value(fn)
        return
    routine.usable = False  # inlined instead: the caller's lowering and analyses see what it does
    recursive = recursive_at is not None if nested else subroutines.calls_itself(caller.routines["calls"], func)
    if recursive and not any(isinstance(p, RecursionNotSupportedError) for p in caller.problems):  # once
        raise RecursionNotSupportedError(
            f"{func.__name__} is recursive, and s2sad makes a recursive function a generated function of its "
            f"own only when it takes and returns arrays or numbers and does not change its arguments; here {why}",
            parsed.location(recursive_at if nested else
                            subroutines.recursive_call(parsed, caller.routines["calls"], _is_helper)),
            hint="return one array or number, change a copy of the argument, or rewrite the recursion as a loop")


class _Renamer(gast.NodeTransformer):
    """Renames the given names in an expression (a comprehension's own variables)."""

    def __init__(self, renames):
        self.renames = renames

    def visit_Name(self, node):
        if node.id in self.renames:
            node.id = self.renames[node.id]
        return node


_AXIS_CONCATENATOR = type(np.r_).__mro__[1]  # np.r_, np.c_ (and np.ma.mr_) index to concatenate


def index_concatenation(lowerer, base, node, hint):
    """``np.r_[a, 0:3, b]`` and ``np.c_[a, b]``: concatenations written as indexing, as calls with rules.

    ``np.r_[...]`` is ``np.concatenate((np.atleast_1d(a), np.r_[0:3], np.atleast_1d(b)), axis=0)``;
    ``np.c_[...]`` turns numbers and 1-D items into columns (``c_column``) and joins them along the
    last axis. A slice item is a constant range. Directive strings (``np.r_['0,2', ...]``) and
    other concatenators are refused rather than guessed.
    """
    from .rules.arrays import c_column

    items = node.slice.elts if isinstance(node.slice, gast.Tuple) else [node.slice]
    if base.value is not np.r_ and base.value is not np.c_ or any(
            isinstance(i, gast.Constant) and isinstance(i.value, str) for i in items):
        raise lowerer.error(UnsupportedSyntaxError, f"s2sad cannot differentiate this {base.dotted}[...] "
                            "(only np.r_ and np.c_ without a directive string)", node,
                            hint="write the concatenation as np.concatenate([...], axis=...)")
    shaped = ir.Ref(("np", "atleast_1d"), np.atleast_1d, np) if base.value is np.r_ \
        else ir.Ref(("c_column",), c_column, c_column)
    pieces = []
    for item in items:
        if isinstance(item, gast.Slice):  # np.r_[0:3] is a constant range
            pieces.append(lowerer.emit_call(operator.getitem, [base, lowerer.expr(item)], node=item))
        else:
            pieces.append(lowerer.emit_call(shaped, [lowerer.expr(item)], node=item))
    packed = lowerer.emit_call(pack_tuple, pieces, node=node)
    lowerer.packs[packed] = pieces
    lowerer.contained.update(pieces)
    axis = ir.Const(0 if base.value is np.r_ else -1)
    return lowerer.emit_call(ir.Ref(("np", "concatenate"), np.concatenate, np), [packed], [("axis", axis)],
                             node, lowerer.target_for(hint))


def _own_parts(stmt) -> list:
    """The parts of a statement lowered with it: a compound statement's header, not its body
    (whose statements `block` checks one by one)."""
    if isinstance(stmt, (gast.If, gast.While)):
        return [stmt.test]
    if isinstance(stmt, gast.For):
        return [stmt.target, stmt.iter]
    return [stmt]


def _bound_by(stmt, local_names) -> list[str]:
    """Every name `stmt` could bind, refused constructs included (``global n``, ``import m``,
    ``def g``, ``with ... as h``, ``(n := ...)``)."""
    found = dict.fromkeys(assigned_names([stmt], local_names))
    for node in gast.walk(stmt):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            found[node.id] = None
        elif isinstance(node, (gast.Global, gast.Nonlocal)):
            found.update(dict.fromkeys(node.names))
        elif isinstance(node, (gast.Import, gast.ImportFrom)):
            found.update(dict.fromkeys((a.asname or a.name).split(".")[0] for a in node.names))
        elif isinstance(node, (gast.FunctionDef, gast.AsyncFunctionDef, gast.ClassDef)):
            found[node.name] = None
    return list(found)


def refused_value():
    """Stands for the value of code s2sad refused (never run: the refusal is raised first)."""
    raise AssertionError("s2sad lowered refused code")  # pragma: no cover


def _formatted(lw, value: gast.FormattedValue, node):
    """The text of ``{v!r:.2f}`` in an f-string: the conversion (!s, !r, !a), then the format spec,
    as Python applies them (``len(f"{x:.2f}")`` must see the same text as the function does)."""
    atom = lw.expr(value.value)
    convert = {115: str, 114: repr, 97: ascii}.get(value.conversion)
    if convert is not None:
        atom = lw.emit_call(ir.Ref((convert.__name__,), convert), [atom], node=node)
    if value.format_spec is not None:
        spec = lw.expr_JoinedStr(value.format_spec, None)
        atom = lw.emit_call(ir.Ref(("format",), format), [atom, spec], node=node)
    return atom


def _concat_str(*parts):
    """Formats an f-string's parts (the primitive behind f"...")."""
    return "".join(str(p) for p in parts)


def lower_function(parsed: ParsedFunction, extra_inputs=(), name=None, template=False,
                   structures=None, subroutines_allowed=True) -> ir.Function:
    """Lower a parsed user function (or rule template) to verified SSA IR.

    Args:
        parsed: the output of :func:`frontend.parse_function`.
        extra_inputs: names bound on entry besides the parameters (``y_bar`` in
            a rule template).
        name: the IR function's name (defaults to the source name).
        template: a rule template, which may take ``*args`` (bound to a tuple).
        structures: ``{parameter name: pytree.Tree}`` for parameters passed as
            containers: each becomes one IR parameter per leaf (``params_W``,
            ``params_b``), and the body starts by rebuilding the container.
        subroutines_allowed: helpers called more than once, recursive or large
            become calls of their own IR (:mod:`subroutines`); False inlines
            every helper (``explain`` shows each inlined line).
    """
    structures = structures or {}
    problems = syntax_problems(parsed, allow_varargs=template)
    if (parsed.node.args.vararg is not None and not template) or parsed.node.args.kwarg is not None:
        raise_problems(problems, parsed.name, parsed.filename)  # no parameters to lower the body with
    fdef = remove_early_exits(parsed)
    args = fdef.args
    namer = Namer()
    func = parsed.func
    defaults = {}
    sig = signature(func)
    for pname, param in sig.parameters.items():
        if param.default is not inspect.Parameter.empty:
            defaults[pname] = _literal_default(param.default) or ir.Ref(
                (f"{pname}_default",), param.default, param.default
            )
    params = []
    env = {}
    leaves = {}
    varargs = [args.vararg] if template and args.vararg is not None else []
    all_args = list(args.posonlyargs) + list(args.args) + varargs + list(args.kwonlyargs)
    namer.taken.update(a.id for a in all_args if a.id in structures)  # kept for the generated function's own
    for a in all_args:
        if a.id in structures:
            leaves[a.id] = [namer.fresh(_leaf_name(a.id, path)) for path in leaf_paths(structures[a.id])]
            params.extend(ir.Param(var) for var in leaves[a.id])
            continue
        var = namer.fresh(a.id)
        params.append(ir.Param(var, defaults.get(a.id), keyword_only=a in args.kwonlyargs))
        env[a.id] = var
    for extra in extra_inputs:
        var = namer.fresh(extra)
        params.append(ir.Param(var, None))
        env[extra] = var
    local_names = set(assigned_names(fdef.body)) | set(env)
    local_names |= set(leaves)
    lowerer = _Lowerer(parsed, namer, env, [], (), local_names, problems=problems)
    if not template and subroutines_allowed:
        lowerer.routines["plan"], lowerer.routines["calls"] = subroutines.plan(parsed, _is_helper)
    try:
        for a in all_args:
            if a.id in leaves:
                env[a.id] = lowerer.structured_parameter(a.id, structures[a.id], iter(leaves[a.id]), fdef)
        result = lowerer.body_and_result(fdef)
    except Exception as exc:
        if not problems:
            raise
        if isinstance(exc, S2SADError):
            problems.append(exc)
        # otherwise a knock-on failure of code already refused: report the refusals
    raise_problems(problems, parsed.name, parsed.filename)
    fn = ir.Function(
        name=name or parsed.name,
        params=params,
        body=lowerer.out,
        result=result,
        filename=parsed.filename,
        firstline=parsed.line_offset + parsed.node.lineno,
        doc=inspect.getdoc(func),
        exports=closures.without_locals(lowerer.env),
        result_loc=lowerer.result_loc,
    )
    return ir.verify(fn)


def _is_helper(obj) -> bool:
    """A function s2sad reads itself (inlines, or makes a subroutine of)."""
    return is_user_function(obj) and not has_any_rule(obj)


def _leaf_name(param: str, path) -> str:
    """``params`` at path ("layers", 0, "W") -> ``params_layers_0_W`` (a valid identifier)."""
    parts = [param] + [re.sub(r"\W", "_", str(key)) for key in path]
    return "_".join(p for p in parts if p)


def normalize(func, extra_inputs=(), structures=None, subroutines_allowed=True) -> ir.Function:
    """Parse, desugar and lower `func` into SSA IR: the front half of the pipeline.

    `structures` maps parameters passed as containers to their pytree structure
    (see :func:`lower_function`)."""
    return lower_function(parse_function(func), extra_inputs, structures=structures,
                          subroutines_allowed=subroutines_allowed)


__all__ = ["normalize", "lower_function", "Namer", "is_temp", "assigned_names", "is_user_function"]
