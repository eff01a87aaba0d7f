"""What every lowering module shares: SSA names (`Namer`), Python's operators as primitives,
which functions s2sad reads itself, and the names a block binds."""

from __future__ import annotations

import inspect
import operator

import gast

from . import ir, lower_writes
from .frontend import walk_nodes
from .primitives import module_name
from .rules import registry


def is_helper(obj) -> bool:
    """A function s2sad reads itself (inlines, or makes a subroutine of)."""
    return is_user_function(obj) and not has_any_rule(obj)


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
    return root not in LIBRARY_ROOTS


def has_any_rule(obj) -> bool:
    return (
        registry.adjoint_rule(obj) is not None
        or registry.tangent_rule(obj) is not None
        or registry.is_nondifferentiable(obj)
    )


def names_read(stmts) -> dict:
    """How many times each name is read (loaded) in `stmts`, nested blocks and functions included."""
    reads = {}
    for stmt in stmts:
        for node in walk_nodes(stmt):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
                reads[node.id] = reads.get(node.id, 0) + 1
    return reads


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
        for node in walk_nodes(stmt):
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


def hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def is_namedtuple_class(obj) -> bool:
    return isinstance(obj, type) and issubclass(obj, tuple) and isinstance(getattr(obj, "_fields", None), tuple)


def literal_default(value):
    """A parameter default as an atom: literals become Const, anything else a Ref."""
    if value is None or isinstance(value, (bool, int, float, complex, str)):
        return ir.Const(value)
    if isinstance(value, tuple) and all(v is None or isinstance(v, (bool, int, float, str)) for v in value):
        return ir.Const(value)
    return None


BINOPS = {
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


UNARY = {gast.USub: operator.neg, gast.UAdd: operator.pos, gast.Not: operator.not_, gast.Invert: operator.invert}


COMPARE = {
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
MUTATING_METHODS = {
    "append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse", "fill",
    "resize", "put", "itemset", "setfield", "update", "setdefault", "popitem", "partition",
}


# Modules whose Python functions are library code: they need rules, never inlining.
LIBRARY_ROOTS = {
    "numpy", "scipy", "s2sad", "math", "operator", "builtins", "functools", "itertools",
    "random", "statistics", "jax", "torch", "autograd", "pandas",
}

