"""Codegen: IR -> readable Python source -> a function object.

Three steps, each a plain function:

1. :func:`assign_names` leaves SSA. Values that never live at the same time
   share a Python name, preferring their source name, so ``s_2 = s_1 + t``
   prints as ``s = s + t``; a loop's carried values and a branch's phi inputs
   take one name where they can (a copy is emitted where they cannot).
2. :func:`fold_temporaries` puts single-use temporaries back into the
   expression that reads them, so a line of the forward sweep reads like the
   line of source it came from.
3. :func:`to_source` builds a stdlib ``ast`` module, unparses it with
   ``ast.unparse``, and turns placeholder statements into comments
   (``# line 12: z = x * y``).

:func:`compile_function` execs the source with the objects its names refer to.
"""

from __future__ import annotations

import array
import ast
import bisect
import heapq
import keyword
import operator
import re
import types
from dataclasses import dataclass, field

import numpy as np

from . import ir, runtime
from .liveranges import any_in, insert_interval, live_ranges, merge_intervals, next_free
from .lower_exprs import _concat_str
from .primitives import (Attr, Method, identity, list_append, pack_dict, pack_list, pack_namedtuple, pack_tuple,
                         restore, setitem, unappend)
from .safe_io import one_line
from .simplify import is_pure, is_pure_remembered, use_counts
from .subroutines import Derived, current_tape, still_read, use_tape
from .typed_tapes import FLOAT, FLOAT64, SCALAR, first_read

# ------------------------------------------------------------------ folding


_FLOAT_ARRAY = ir.Ref(("array", "array"), array.array, array)  # the float tape: array.array("d")
_READ_FLOAT64S = ir.Ref(("reversed_float64s",), runtime.reversed_float64s)
_BARRIERS = (ir.If, ir.For, ir.While, ir.Push, ir.Pop, ir.Assert, ir.Raise, ir.Marker)


MAX_FOLD_DEPTH = 32  # deeper, an expression gets a line of its own: printing and compiling stay shallow


def unpacked_pairs(fn: ir.Function, counts: dict | None = None) -> dict:
    """``t = f(...); a = t[0]; b = t[1]`` with `t` read nowhere else, printed ``a, b = f(...)``
    (a subroutine's halves: ``y, saved = power_fwd(x, n)``). Returns t -> (a, b).
    `counts`: `fn`'s read counts, if the caller has them."""
    counts = use_counts(fn) if counts is None else counts
    found = {}

    def item(stmt, pair, k) -> bool:
        return isinstance(stmt, ir.Assign) and stmt.func.value is operator.getitem and len(stmt.args) == 2 \
            and stmt.args[0] == pair and isinstance(stmt.args[1], ir.Const) and stmt.args[1].value == k \
            and type(stmt.args[1].value) is int

    def block(stmts):
        for k, stmt in enumerate(stmts):
            for child in ir.child_blocks(stmt):
                block(child)
            # only a derived routine's call is known to give exactly two values: any other value
            # read at [0] and [1] may hold more ([[x, x, 0.5]][0] read at 0 and 1)
            if isinstance(stmt, ir.Assign) and ir.is_temp(stmt.target) and counts.get(stmt.target) == 2 \
                    and isinstance(stmt.func.value, Derived) and k + 2 < len(stmts) \
                    and item(stmts[k + 1], stmt.target, 0) and item(stmts[k + 2], stmt.target, 1):
                found[stmt.target] = (stmts[k + 1].target, stmts[k + 2].target)

    block(fn.body)
    return found


def fold_temporaries(fn: ir.Function, keep=frozenset(), counts: dict | None = None) -> dict:
    """Temporaries to print inside the one expression that reads them.

    Returns a map from each folded temporary to its defining Assign. A
    temporary folds when it is pure, read exactly once, in the same block,
    with no statement between them that could change what it reads, and the
    expression it would join is less than ``MAX_FOLD_DEPTH`` deep (a sum of
    a thousand terms prints as lines of at most that many). Those in `keep` never fold.
    `counts`: `fn`'s read counts, if the caller has them.
    """
    counts = use_counts(fn) if counts is None else counts
    # a temporary with a tangent is a line of the forward trace (v3 = log(v1), then v3_dot = ...):
    # it keeps its own line so the tangent line can follow it
    traced = {v.of for v in ir.all_defs(fn.body) if v.base == "t_dot" and v.of is not None}
    folding = _Folding(counts, traced, keep)
    folding.block(fn.body, extra_reads=[fn.result])
    return folding.folded


class _Folding:
    """One walk of `fold_temporaries` (an object, not a closure calling itself: that would be a
    reference cycle keeping the statements alive until the cyclic GC runs)."""

    def __init__(self, counts, traced, keep):
        self.counts, self.traced, self.keep = counts, traced, keep
        self.folded: dict = {}
        self.depth: dict = {}  # folded-expression depth of each Assign's value, as printed
        self.purity: dict = {}  # `is_pure_remembered`'s answers for this walk

    def block(self, stmts, extra_reads=()):
        folded, depth, counts = self.folded, self.depth, self.counts
        pending: dict = {}  # temp -> its Assign, foldable if read next without a barrier
        for stmt in stmts:
            for child in ir.child_blocks(stmt):
                if isinstance(stmt, ir.While) and child is stmt.cond_body:
                    self.block(child, extra_reads=[stmt.cond])
                else:
                    self.block(child)
            reads = [a for a in ir.uses(stmt) if isinstance(a, ir.Var)]
            height = 0
            for a in reads:
                if a in pending and depth.get(a, 0) < MAX_FOLD_DEPTH:
                    folded[a] = pending.pop(a)
                    height = max(height, depth.get(a, 0))
            if isinstance(stmt, ir.Assign):
                depth[stmt.target] = height + 1
            if not isinstance(stmt, ir.Assign):
                if isinstance(stmt, _BARRIERS):
                    pending.clear()
                continue
            foldable = _foldable(stmt, self.purity)
            if not foldable and (not is_pure_remembered(stmt, self.purity)
                                 or stmt.func.value in (setitem, restore, list_append, unappend)):
                pending.clear()  # a barrier
            if foldable and _is_temporary(stmt.target, folded) and stmt.target not in self.traced \
                    and counts.get(stmt.target, 0) == 1 and stmt.target not in self.keep:
                pending[stmt.target] = stmt
        for a in extra_reads:
            if isinstance(a, ir.Var) and a in pending and depth.get(a, 0) < MAX_FOLD_DEPTH:
                folded[a] = pending.pop(a)


def _foldable(stmt, purity=None) -> bool:
    """`purity`: a dict for `is_pure_remembered` (one walk's answers), or None."""
    func = stmt.func.value
    if func is LAZY_AND or func is LAZY_OR or func is current_tape:
        return True
    pure = is_pure(stmt) if purity is None else is_pure_remembered(stmt, purity)
    return pure and func not in (setitem, list_append)


_DERIVED = ("t_bar", "t_dot")  # bases of a temporary's adjoint and tangent


def _is_temporary(var, folded) -> bool:
    """A value with no name of its own: a temporary, or the adjoint or tangent of one folded away."""
    if ir.is_temp(var):
        return True
    return var.base in _DERIVED and var.of is not None and var.of in folded


# ------------------------------------------------------------------ naming


@dataclass
class Naming:
    """Python names for every Var, plus the copies needed where a group could not share one."""

    names: dict = field(default_factory=dict)
    tape: str = "tape"
    typed_tapes: dict = field(default_factory=dict)  # the typed tapes' names, by kind (`typed_tapes`)


def assign_names(fn: ir.Function, folded: dict, reserved: set) -> Naming:
    """Leave SSA: give each Var a Python name, sharing names where lifetimes allow.

    Values are first grouped (a loop's carried values, a branch's phi and its
    inputs, an array and its in-place updates, a popped value and the value
    pushed), where their live ranges allow; then each group, in order of
    definition, takes the first free name of its source name (``s``, ``s_1``,
    ...). Both steps ask the live ranges, never a pairwise graph, so the cost
    grows as N log N with the size of the function.
    """
    ranges = live_ranges(fn, folded)
    params = [p.var for p in fn.params]
    param_set = set(params)
    groups = _Groups(ranges, param_set)
    for a, b in _affinities(fn):
        if isinstance(a, ir.Var) and isinstance(b, ir.Var) and a not in folded and b not in folded:
            groups.try_union(a, b)

    # choose names group by group, in order of definition
    order = params + [v for v in ir.all_defs(fn.body)]
    roots = []
    seen = set()
    for v in order:
        if v in folded:
            continue
        r = groups.find(v)
        if r not in seen:
            seen.add(r)
            roots.append(r)
    naming = Naming()
    taken: dict = {}  # python name -> _Occupancy of the groups holding it
    free_lists: dict = {}  # source name -> _FreeList of its numbered names
    used_names = set(reserved)
    # temporaries are numbered around the user's own names (a variable called t1 stays t1)
    user_names = {v.base for v in order if not ir.is_temp(v) and v.base not in _DERIVED}
    temp_counter = 0
    for r in roots:
        group = groups.members[r]
        occupancy = groups.occupancy[r]
        param = next((m for m in group if m in param_set), None)
        if param is not None:
            name = param.name
        else:
            named = [m for m in group if not ir.is_temp(m) and not (m.base in _DERIVED and m.of is not None)]
            adjoint_of_temp = [m for m in group if m.base in _DERIVED and m.of in naming.names]
            base = None
            if named:
                base = named[0].base
            elif adjoint_of_temp:
                derived = adjoint_of_temp[0]
                base = naming.names[derived.of] + ("_bar" if derived.base == "t_bar" else "_dot")
            if base is None:  # a temporary: numbered in order of definition
                while True:
                    temp_counter += 1
                    name = f"t{temp_counter}"
                    if name not in used_names and name not in taken and name not in user_names:
                        break
            else:
                base = _safe_identifier(base)
                free = free_lists.setdefault(base, _FreeList(base, used_names))
                name = free.take(occupancy, taken)
        taken.setdefault(name, _Occupancy()).add(occupancy)
        if param is None and base is not None:
            free_lists[base].filed(name, occupancy.defs[0], taken)
        for m in group:
            naming.names[m] = name
    all_names = set(naming.names.values()) | set(reserved)
    tape = "tape"
    k = 1
    while tape in all_names:
        tape = f"tape_{k}"
        k += 1
    naming.tape = tape
    for kind, wanted in ((FLOAT, f"{tape}_floats"), (FLOAT64, f"{tape}_float64"),
                         ("reader", f"{tape}_float64_reversed"), ("kinds", f"{tape}_kinds")):
        name, k = wanted, 1
        while name in all_names:
            name = f"{wanted}_{k}"
            k += 1
        naming.typed_tapes[kind] = name
    return naming


def _affinities(fn: ir.Function):
    """Pairs of values that read best under one name, strongest first: loop-carried groups,
    branch joins, in-place updates, tape restores."""
    for stmt in ir.walk(fn.body):
        if isinstance(stmt, (ir.For, ir.While)):
            for c in stmt.carried:
                yield c.arg, c.out
                yield c.arg, c.next
                yield c.arg, c.init
    for stmt in ir.walk(fn.body):
        if isinstance(stmt, ir.If):
            for phi in stmt.phis:
                yield phi.target, phi.then_value
                yield phi.target, phi.else_value
        elif isinstance(stmt, ir.Assign) and stmt.func.value in (setitem, list_append, runtime.zero_in_place,
                                                                 runtime.add_at):
            yield stmt.target, stmt.args[0]
    defined = None
    for stmt in ir.walk(fn.body):
        if isinstance(stmt, ir.Pop) and stmt.of is not None:
            if defined is None:  # a subroutine's reverse half pops what its forward half pushed
                defined = set(ir.all_defs(fn.body)) | {p.var for p in fn.params}
            if stmt.of in defined:
                yield stmt.target, stmt.of


class _Occupancy:
    """Where a set of values is bound (sorted positions) and bound-or-alive (sorted disjoint intervals)."""

    __slots__ = ("defs", "intervals")

    def __init__(self, defs=(), intervals=()):
        self.defs = list(defs)
        self.intervals = list(intervals)

    def add(self, other: "_Occupancy"):
        if len(other.intervals) + len(other.defs) > 8:
            self.defs = sorted(self.defs + other.defs)
            self.intervals = merge_intervals(self.intervals + other.intervals)
            return
        # the common case, a small group joining a name many groups hold: insert in place
        for d in other.defs:
            bisect.insort(self.defs, d)
        for start, end in other.intervals:
            insert_interval(self.intervals, start, end)

    def clashes(self, other: "_Occupancy") -> bool:
        """Is one side bound where the other is alive?"""
        return any_in(self.defs, other.intervals) or any_in(other.defs, self.intervals)


class _Groups:
    """Union-find over values; a group never mixes two source names or two parameters,
    nor values alive at the same time."""

    def __init__(self, ranges, params):
        self.parent: dict = {}
        self.members: dict = {}
        self.occupancy: dict = {}
        self.base: dict = {}  # root -> the one source name its values may carry (None: temporaries only)
        self.params: dict = {}  # root -> how many parameters it holds
        self.ranges = ranges
        self.param_set = params

    def find(self, v):
        if v not in self.parent:
            self.parent[v] = v
            self.members[v] = {v}
            self.occupancy[v] = _Occupancy([self.ranges.defined[v]], self.ranges.occupied.get(v, ()))
            self.base[v] = None if ir.is_temp(v) else (v.base if v.base not in _DERIVED else (v.base, v.of))
            self.params[v] = 1 if v in self.param_set else 0
        root = v
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[v] != root:  # path compression
            self.parent[v], v = root, self.parent[v]
        return root

    def try_union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        base_a, base_b = self.base[ra], self.base[rb]
        if base_a is not None and base_b is not None and base_a != base_b:
            return  # one Python name per source name
        if self.params[ra] + self.params[rb] > 1:
            return
        if self.occupancy[ra].clashes(self.occupancy[rb]):
            return
        if len(self.members[ra]) < len(self.members[rb]):
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.members[ra] |= self.members.pop(rb)
        self.occupancy[ra].add(self.occupancy.pop(rb))
        self.base[ra] = base_a if base_a is not None else base_b
        self.params[ra] += self.params.pop(rb)
        del self.base[rb]


class _FreeList:
    """The names ``base``, ``base_1``, ``base_2``... and which of them may be free.

    Groups come in order of definition, so the position `p` where the next
    group is first bound only grows. A name whose holders are alive at `p`
    cannot be taken; it waits in `busy` under the first position where it
    may be free again, and moves to `free` once `p` reaches it. The first
    name in `free` that the group does not clash with is taken: the same
    choice as trying every name in order, at the cost of a heap operation.
    """

    def __init__(self, base, reserved):
        self.base = base
        self.reserved = reserved
        self.count = 0  # names base_k for k < count are filed in free or busy (or reserved)
        self.free: list = []  # heap of k
        self.busy: list = []  # heap of (position where it may be free, k)
        self.last_start = float("-inf")
        self.chosen = None

    def name(self, k):
        return self.base if k == 0 else f"{self.base}_{k}"

    def take(self, occupancy: _Occupancy, taken: dict) -> str:
        start = occupancy.defs[0]
        if start < self.last_start:  # not in order of definition after all: reconsider every name
            while self.busy:
                heapq.heappush(self.free, heapq.heappop(self.busy)[1])
        self.last_start = start
        while self.busy and self.busy[0][0] <= start:
            heapq.heappush(self.free, heapq.heappop(self.busy)[1])
        passed = []
        chosen = None
        while self.free:
            k = heapq.heappop(self.free)
            holders = taken.get(self.name(k))
            if holders is None or not holders.clashes(occupancy):
                chosen = k
                break
            passed.append(k)
        while chosen is None:
            k = self.count
            self.count += 1
            name = self.name(k)
            if name in self.reserved:
                continue
            holders = taken.get(name)
            if holders is None or not holders.clashes(occupancy):
                chosen = k
            else:
                passed.append(k)
        for k in passed:
            self.refile(k, start, taken)
        self.chosen = chosen
        return self.name(chosen)

    def refile(self, k, position, taken):
        holders = taken.get(self.name(k))
        free_from = next_free(holders.intervals, position) if holders is not None else position
        if free_from <= position:
            heapq.heappush(self.free, k)
        else:
            heapq.heappush(self.busy, (free_from, k))

    def filed(self, name, position, taken):
        """File the name just taken (now held at `position`)."""
        self.refile(self.chosen, position, taken)


def _safe_identifier(base: str) -> str:
    base = re.sub(r"\W", "_", base)
    if not base or base[0].isdigit() or keyword.iskeyword(base):
        base = "v_" + base
    return base


# ------------------------------------------------------------------ references


@dataclass
class Namespace:
    """The objects generated code refers to, by the names it uses for them."""

    bindings: dict = field(default_factory=dict)  # name -> object
    aliases: dict = field(default_factory=dict)  # (root name, id(root)) -> name used
    params: set = field(default_factory=set)  # the generated defs' parameter names: no object takes one

    def name_for(self, ref: ir.Ref) -> str:
        root_name, root = ref.path[0], ref.root
        key = (root_name, id(root))
        if key in self.aliases:
            return self.aliases[key]
        name = root_name
        k = 2
        while name in self.params or (name in self.bindings and self.bindings[name] is not root):
            name = f"{root_name}_{k}"
            k += 1
        self.bindings[name] = root
        self.aliases[key] = name
        return name


def collect_refs(fn: ir.Function) -> list:
    refs = []
    for stmt in ir.walk(fn.body):
        atoms = list(ir.uses(stmt))
        if isinstance(stmt, ir.Assign):
            atoms.append(stmt.func)
        if isinstance(stmt, ir.If):
            atoms += [v for p in stmt.phis for v in (p.then_value, p.else_value)]
        if isinstance(stmt, (ir.For, ir.While)):
            atoms += [c.next for c in stmt.carried]
        refs += [a for a in atoms if isinstance(a, ir.Ref) and a.path]
    refs += [p.default for p in fn.params if isinstance(p.default, ir.Ref)]
    if isinstance(fn.result, ir.Ref):
        refs.append(fn.result)
    return refs


# ------------------------------------------------------------------ rendering

_BINOP_AST = {
    operator.add: ast.Add, operator.sub: ast.Sub, operator.mul: ast.Mult, operator.truediv: ast.Div,
    operator.floordiv: ast.FloorDiv, operator.mod: ast.Mod, operator.pow: ast.Pow, operator.matmul: ast.MatMult,
    operator.and_: ast.BitAnd, operator.or_: ast.BitOr, operator.xor: ast.BitXor,
}
_CMP_AST = {
    operator.lt: ast.Lt, operator.le: ast.LtE, operator.gt: ast.Gt, operator.ge: ast.GtE, operator.eq: ast.Eq,
    operator.ne: ast.NotEq, operator.is_: ast.Is, operator.is_not: ast.IsNot,
}
_UNARY_AST = {operator.neg: ast.USub, operator.pos: ast.UAdd, operator.not_: ast.Not, operator.invert: ast.Invert}


@dataclass
class _Renderer:
    fn: ir.Function
    naming: Naming
    namespace: Namespace
    folded: dict
    comments: list = field(default_factory=list)
    int_vars: set = field(default_factory=set)  # loop indices: plain ints
    read: set = field(default_factory=set)  # Vars something reads
    main_function: str = ""  # the user function this code derives from (its lines need no "in ...")
    unpacked: dict = field(default_factory=dict)  # pair -> (first, second), printed `first, second = ...`

    def basic_index(self, atom) -> bool:
        """Is `atom` an index NumPy treats as basic (no repeats possible)?"""
        if isinstance(atom, ir.Var):
            return atom in self.int_vars
        if isinstance(atom, ir.Const):
            items = atom.value if isinstance(atom.value, tuple) else (atom.value,)
            return all(isinstance(i, (int, slice)) or i is None or i is Ellipsis for i in items)
        return False

    def comment(self, text):
        self.comments.append(text)
        return ast.Expr(ast.Name(f"__s2sad_comment_{len(self.comments) - 1}__", ast.Load()))

    def name(self, var, store=False):
        return ast.Name(self.naming.names[var], ast.Store() if store else ast.Load())

    def ref(self, r: ir.Ref):
        node = ast.Name(self.namespace.name_for(r), ast.Load())
        for attr in r.path[1:]:
            node = ast.Attribute(node, attr, ast.Load())
        return node

    def const(self, value, in_index=False):
        if isinstance(value, slice):
            parts = [None if v is None else self.const(v) for v in (value.start, value.stop, value.step)]
            if in_index:
                return ast.Slice(*parts)
            return ast.Call(ast.Name("slice", ast.Load()), [p or ast.Constant(None) for p in parts], [])
        if isinstance(value, tuple):
            return ast.Tuple([self.const(v, in_index) for v in value], ast.Load())
        if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
            return ast.Call(ast.Name("float", ast.Load()), [ast.Constant(repr(value))], [])
        if isinstance(value, (int, float, complex, str, bytes, bool, type(None))) or value is Ellipsis:
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                return ast.UnaryOp(ast.USub(), ast.Constant(-value))
            return ast.Constant(value)
        ref = ir.Ref((f"const_{type(value).__name__}",), value, value)
        return self.ref(ref)

    def atom(self, a, in_index=False):
        if isinstance(a, ir.Var):
            if a in self.folded:
                return self.expr(self.folded[a], in_index)
            return self.name(a)
        if isinstance(a, ir.Const):
            return self.const(a.value, in_index)
        if isinstance(a, ir.Ref):
            return self.ref(a)
        raise TypeError(a)

    def index(self, a):
        return self.atom(a, in_index=True)

    def expr(self, stmt: ir.Assign, in_index=False):
        func = stmt.func.value
        args = stmt.args
        kwargs = [ast.keyword(k, self.atom(v)) for k, v in stmt.kwargs]
        if func in _BINOP_AST and len(args) == 2:
            return ast.BinOp(self.atom(args[0]), _BINOP_AST[func](), self.atom(args[1]))
        if func in _CMP_AST and len(args) == 2:
            return ast.Compare(self.atom(args[0]), [_CMP_AST[func]()], [self.atom(args[1])])
        if func is operator.contains and len(args) == 2:
            return ast.Compare(self.atom(args[1]), [ast.In()], [self.atom(args[0])])
        if func in _UNARY_AST and len(args) == 1:
            return ast.UnaryOp(_UNARY_AST[func](), self.atom(args[0]))
        if func is operator.getitem:
            return ast.Subscript(self.atom(args[0]), self.index(args[1]), ast.Load())
        if func is pack_tuple:
            return ast.Tuple([self.atom(a, in_index) for a in args], ast.Load())
        if func is pack_list:
            return ast.List([self.atom(a) for a in args], ast.Load())
        if func is pack_dict:
            return ast.Dict([ast.Constant(k) for k in args[0].value], [self.atom(a) for a in args[1:]])
        if func is pack_namedtuple:
            return ast.Call(self.atom(args[0]), [self.atom(a) for a in args[1:]], [])
        if func is identity:
            return self.atom(args[0])
        if func is current_tape:
            return ast.Name(self.naming.tape, ast.Load())
        if func is slice and stmt.func.path == ("slice",) and in_index and not kwargs:
            parts = list(args) + [ir.Const(None)] * (3 - len(args))
            return ast.Slice(*[None if isinstance(p, ir.Const) and p.value is None else self.atom(p) for p in parts])
        if isinstance(func, Attr):
            return ast.Attribute(self.atom(args[0]), func.name, ast.Load())
        if isinstance(func, Method):
            return ast.Call(ast.Attribute(self.atom(args[0]), func.name, ast.Load()),
                            [self.atom(a) for a in args[1:]], kwargs)
        if func is LAZY_AND or func is LAZY_OR:
            op = ast.And() if func is LAZY_AND else ast.Or()
            return ast.BoolOp(op, [self.atom(args[0]), self.atom(args[1])])
        if func is _concat_str:
            values = []
            for a in args:
                if isinstance(a, ir.Const) and isinstance(a.value, str):
                    values.append(ast.Constant(a.value))
                else:
                    values.append(ast.FormattedValue(self.atom(a), -1, None))
            return ast.JoinedStr(values)
        if not stmt.func.path:
            raise TypeError(f"no spelling for primitive {func!r}")
        return ast.Call(self.ref(stmt.func), [self.atom(a) for a in args], kwargs)

    # -------------------------------------------------------- statements

    def block(self, stmts, last_line, out=None):
        out = [] if out is None else out
        skip = set()
        for stmt in stmts:
            if id(stmt) in skip:
                continue
            loc = getattr(stmt, "loc", None)
            if isinstance(stmt, ir.Marker):
                out.append(self.comment(stmt.text))
                last_line[0] = None
                continue
            if isinstance(stmt, ir.Assign) and stmt.target in self.folded:
                continue
            if loc is not None and loc.text and (loc.filename, loc.line) != last_line[0]:
                where = f"line {loc.line}"
                if loc.function and loc.function != self.main_function:
                    where += f" in {loc.function}"  # a line of a helper inlined here
                out.append(self.comment(f"{where}: {loc.text.strip()}"))
                last_line[0] = (loc.filename, loc.line)
            if isinstance(stmt, ir.Assign) and stmt.target in self.unpacked:
                first, second = self.unpacked[stmt.target]
                k = stmts.index(stmt)
                skip.update(id(s) for s in stmts[k + 1:k + 3])
                targets = ast.Tuple([self.name(first, store=True), self.name(second, store=True)], ast.Store())
                out.append(ast.Assign([targets], self.expr(stmt)))
                continue
            out.extend(self.statement(stmt, last_line))
        return out

    def assign_to(self, var, value):
        return ast.Assign([self.name(var, store=True)], value)

    @staticmethod
    def _append(tape: str, value) -> ast.Expr:
        return ast.Expr(ast.Call(ast.Attribute(ast.Name(tape, ast.Load()), "append", ast.Load()), [value], []))

    def copy(self, dst, src):
        """`dst = src` unless they already share a name."""
        if isinstance(src, ir.Var) and src not in self.folded and self.naming.names[dst] == self.naming.names[src]:
            return []
        return [ast.Assign([self.name(dst, store=True)], self.atom(src))]

    def parallel_copy(self, pairs):
        pairs = [(d, s) for d, s in pairs if not (isinstance(s, ir.Var) and s not in self.folded
                                                  and self.naming.names[d] == self.naming.names[s])]
        if not pairs:
            return []
        written = [self.naming.names[d] for d, _ in pairs]
        read_later = [
            {n.id for n in ast.walk(self.atom(s)) if isinstance(n, ast.Name)} for _, s in pairs
        ]
        if all(written[i] not in read_later[j] for i in range(len(pairs)) for j in range(i + 1, len(pairs))):
            # no copy reads a name an earlier copy wrote: plain assignments, one per line
            return [self.assign_to(d, self.atom(s)) for d, s in pairs]
        targets = ast.Tuple([self.name(d, store=True) for d, _ in pairs], ast.Store())
        values = ast.Tuple([self.atom(s) for _, s in pairs], ast.Load())
        return [ast.Assign([targets], values)]

    def statement(self, stmt, last_line):
        if isinstance(stmt, ir.Assign):
            func = stmt.func.value
            if func is list_append:
                base, value = stmt.args
                call = ast.Call(ast.Attribute(self.atom(base), "append", ast.Load()), [self.atom(value)], [])
                return [ast.Expr(call)] + self.copy(stmt.target, base)
            if func is use_tape:  # a reverse half pops from the tape its forward half returned
                return [ast.Assign([ast.Name(self.naming.tape, ast.Store())], self.atom(stmt.args[0]))]
            if func is still_read:
                return []
            if func is unappend:
                return [ast.Expr(ast.Call(ast.Attribute(self.atom(stmt.args[0]), "pop", ast.Load()), [], []))]
            if func is setitem or func is restore:
                base, idx, value = stmt.args
                target = ast.Subscript(self.atom(base), self.index(idx), ast.Store())
                out = [ast.Assign([target], self.atom(value))]
                if func is setitem:
                    out += self.copy(stmt.target, base)
                return out
            if func is runtime.zero_in_place and isinstance(stmt.args[0], ir.Var) \
                    and stmt.args[0] not in self.folded \
                    and self.naming.names[stmt.args[0]] == self.naming.names[stmt.target]:
                # the overwritten entries no longer matter: their adjoint is zero (in place, our own array)
                target = ast.Subscript(self.atom(stmt.args[0]), self.index(stmt.args[1]), ast.Store())
                return [ast.Assign([target], ast.Constant(0.0))]
            if func is runtime.add_at and isinstance(stmt.args[0], ir.Var) and stmt.args[0] not in self.folded \
                    and self.naming.names[stmt.args[0]] == self.naming.names[stmt.target] \
                    and self.basic_index(stmt.args[1]):
                # the accumulator is an array only the reverse sweep holds: add into it in place
                acc, idx, value = stmt.args
                target = ast.Subscript(self.atom(acc), self.index(idx), ast.Store())
                return [ast.AugAssign(target, ast.Add(), self.atom(value))]
            if stmt.target not in self.read and not is_pure(stmt):
                return [ast.Expr(self.expr(stmt))]  # called for its effect (print, an assert helper)
            return [self.assign_to(stmt.target, self.expr(stmt))]
        if isinstance(stmt, ir.If):
            then_body = self.block(stmt.then_body, last_line)
            if not _raises(stmt.then_body):
                then_body += self.parallel_copy([(p.target, p.then_value) for p in stmt.phis])
            else_body = self.block(stmt.else_body, last_line)
            if not _raises(stmt.else_body):
                else_body += self.parallel_copy([(p.target, p.else_value) for p in stmt.phis])
            if not then_body:
                if not else_body:
                    return []
                return [ast.If(_negate(self.atom(stmt.cond)), else_body, [])]
            return [ast.If(self.atom(stmt.cond), then_body, else_body)]
        if isinstance(stmt, ir.For):
            pre = self.parallel_copy([(c.arg, c.init) for c in stmt.carried])
            body = self.block(stmt.body, last_line)
            body += self.parallel_copy([(c.arg, c.next) for c in stmt.carried])
            iterable = self.atom(stmt.iterable)
            if stmt.reverse:
                iterable = ast.Call(ast.Name("reversed", ast.Load()), [iterable], [])
            loop = ast.For(self.name(stmt.index, store=True), iterable, body or [ast.Pass()], [])
            post = self.parallel_copy([(c.out, c.arg) for c in stmt.carried])
            return pre + [loop] + post
        if isinstance(stmt, ir.While):
            pre = self.parallel_copy([(c.arg, c.init) for c in stmt.carried])
            cond_body = self.block(stmt.cond_body, last_line)
            body = self.block(stmt.body, last_line)
            body += self.parallel_copy([(c.arg, c.next) for c in stmt.carried])
            test = self.atom(stmt.cond)
            if cond_body:
                check = ast.If(ast.UnaryOp(ast.Not(), test), [ast.Break()], [])
                loop = ast.While(ast.Constant(True), cond_body + [check] + body, [])
            else:
                loop = ast.While(test, body or [ast.Pass()], [])
            post = self.parallel_copy([(c.out, c.arg) for c in stmt.carried])
            return pre + [loop] + post
        if isinstance(stmt, ir.Assert):
            msg = self.atom(stmt.msg) if stmt.msg is not None else None
            return [ast.Assert(self.atom(stmt.test), msg)]
        if isinstance(stmt, ir.Raise):
            return [ast.Raise(self.atom(stmt.exc) if stmt.exc is not None else None, None)]
        if isinstance(stmt, ir.Push):
            if stmt.tape == SCALAR:  # a Python float or a NumPy scalar: its 8 bytes, then a byte of kind
                return [self._append(self.naming.typed_tapes[FLOAT64], self.atom(stmt.value)),
                        self._append(self.naming.typed_tapes["kinds"], _is_float(self.atom(stmt.value)))]
            tape = self.naming.typed_tapes[stmt.tape] if stmt.tape else self.naming.tape
            return [self._append(tape, self.atom(stmt.value))]
        if isinstance(stmt, ir.Pop):
            if stmt.tape in (FLOAT64, SCALAR):  # NumPy float64 scalars, read through a view: the same bits and type
                call = ast.Call(ast.Name("next", ast.Load()),
                                [ast.Name(self.naming.typed_tapes["reader"], ast.Load())], [])
                if stmt.tape == FLOAT64:
                    return [self.assign_to(stmt.target, call)]
                # saved as a Python float: made one again (`typed_tapes`: the type decides 1/0, overflow, **)
                kinds = ast.Name(self.naming.typed_tapes["kinds"], ast.Load())
                as_float = ast.Call(ast.Name("float", ast.Load()), [self.name(stmt.target)], [])
                return [self.assign_to(stmt.target, call),
                        ast.If(ast.Call(ast.Attribute(kinds, "pop", ast.Load()), [], []),
                               [self.assign_to(stmt.target, as_float)], [])]
            tape = self.naming.typed_tapes[stmt.tape] if stmt.tape else self.naming.tape
            call = ast.Call(ast.Attribute(ast.Name(tape, ast.Load()), "pop", ast.Load()), [], [])
            return [self.assign_to(stmt.target, call)]
        return []


def _is_float(value) -> ast.Compare:
    """``type(value) is float``: the kind byte of a value saved on the float64 tape as either kind."""
    return ast.Compare(ast.Call(ast.Name("type", ast.Load()), [value], []), [ast.Is()], [ast.Name("float", ast.Load())])


_INVERSE_COMPARISON = {ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
                       ast.In: ast.NotIn, ast.NotIn: ast.In}


def _raises(block) -> bool:
    """Does `block` end by raising (so nothing after it in the block runs)?"""
    return bool(block) and isinstance(block[-1], ir.Raise)


def _negate(test):
    """`not test`, written as the inverse comparison where that is exact (== / != / is / in)."""
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in _INVERSE_COMPARISON:
        return ast.Compare(test.left, [_INVERSE_COMPARISON[type(test.ops[0])]()], test.comparators)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return test.operand
    return ast.UnaryOp(ast.Not(), test)


class _LazyAnd:
    """Codegen's own primitive for ``a and b`` (``b`` evaluated only when ``a`` is true)."""


class _LazyOr:
    """Codegen's own primitive for ``a or b``."""


LAZY_AND, LAZY_OR = _LazyAnd(), _LazyOr()


def _boolean_operators(fn: ir.Function):
    """``and``/``or`` were lowered to an `If` whose one branch computes the right operand;
    write them back as ``a and b`` where that operand's statements all fold into it.

    Returns (a rewritten copy of `fn`, the statements that must fold for it to be valid).
    """
    must_fold = []

    def rewrite(stmts):
        out = []
        for stmt in stmts:
            for attr in ("then_body", "else_body", "body", "cond_body"):
                block = getattr(stmt, attr, None)
                if isinstance(block, list):
                    setattr(stmt, attr, rewrite(block))
            lazy = _as_boolean(stmt)
            if lazy is None:
                out.append(stmt)
                continue
            hoisted, assign = lazy
            must_fold.extend(hoisted)
            out.extend(hoisted)
            out.append(assign)
        return out

    copy = ir.Function(fn.name, list(fn.params), rewrite(ir.substitute(fn.body, {})), fn.result, fn.filename,
                       fn.firstline, fn.doc, fn.exports, fn.result_loc)
    return copy, must_fold


def _has_branches(fn: ir.Function) -> bool:
    return any(isinstance(stmt, ir.If) for stmt in ir.walk(fn.body))


def _as_boolean(stmt):
    if not (isinstance(stmt, ir.If) and len(stmt.phis) == 1 and isinstance(stmt.cond, ir.Var)):
        return None
    phi = stmt.phis[0]
    if phi.else_value == stmt.cond and not stmt.else_body:
        body, operand, func = stmt.then_body, phi.then_value, LAZY_AND
    elif phi.then_value == stmt.cond and not stmt.then_body:
        body, operand, func = stmt.else_body, phi.else_value, LAZY_OR
    else:
        return None
    if not all(isinstance(s, ir.Assign) and ir.is_temp(s.target) and is_pure(s) for s in body):
        return None
    return list(body), ir.Assign(phi.target, ir.prim(func), [stmt.cond, operand], [], stmt.loc)


def to_source(fn: ir.Function, namespace: Namespace | None = None, main_function: str | None = None
              ) -> tuple[str, Namespace]:
    """Render `fn` as Python source. Returns the source and the names it refers to.

    `main_function` is the user function whose lines need no ``in <function>`` in the
    ``# line N:`` comments (default: the one `fn` returns from)."""
    ir.verify(fn)  # once, here: the passes verify their output only when asked (`ir.verify_pass`)
    namespace = namespace or Namespace()
    namespace.params |= {p.var.name for p in fn.params}  # a parameter `unbroadcast` leaves the helper unbroadcast_2
    refs = collect_refs(fn)
    typed = {s.tape for s in ir.walk(fn.body) if isinstance(s, ir.Push) and s.tape}
    if SCALAR in typed:  # on the float64 tape, with a byte of kind each
        typed |= {FLOAT64}
    refs += ([_FLOAT_ARRAY] if typed else []) + ([_READ_FLOAT64S] if FLOAT64 in typed else [])
    for r in refs:
        namespace.name_for(r)
    # (a function without branches has no `and`/`or` to write back: no copy to make)
    rewritten, must_fold = _boolean_operators(fn) if _has_branches(fn) else (fn, [])
    counts = use_counts(rewritten)
    unpacked = unpacked_pairs(rewritten, counts)
    keep = {v for pair in unpacked.values() for v in pair}
    folded = fold_temporaries(rewritten, keep, counts)
    if all(s.target in folded for s in must_fold):
        fn = rewritten  # every right operand stays inside its `and`/`or`: laziness is kept
    else:
        counts = use_counts(fn)
        unpacked = unpacked_pairs(fn, counts)
        keep = {v for pair in unpacked.values() for v in pair}
        folded = fold_temporaries(fn, keep, counts)
    reserved = set(namespace.bindings) | {"reversed", "slice", "float", "range", "len", "min", "max"} \
        | ({"next"} if FLOAT64 in typed else set()) | ({"type", "bytearray"} if SCALAR in typed else set())
    naming = assign_names(fn, folded, reserved)
    renderer = _Renderer(fn, naming, namespace, folded, unpacked=unpacked)
    renderer.int_vars = {s.index for s in ir.walk(fn.body) if isinstance(s, ir.For)}
    renderer.main_function = main_function or (fn.result_loc.function if fn.result_loc is not None else fn.name)
    renderer.read = set(counts)  # every Var something reads (the result included)
    body = []
    if any(isinstance(s, ir.Push) for s in ir.walk(fn.body)):
        body.append(renderer.comment("values the reverse sweep needs, saved as loops overwrite them"))
        if any(isinstance(s, ir.Push) and not s.tape for s in ir.walk(fn.body)):
            body.append(ast.Assign([ast.Name(naming.tape, ast.Store())], ast.List([], ast.Load())))
        for kind in sorted(typed - {SCALAR}):  # 8 bytes a float64 scalar, not an object and a list slot
            body.append(ast.Assign([ast.Name(naming.typed_tapes[kind], ast.Store())],
                                   ast.Call(renderer.ref(_FLOAT_ARRAY), [ast.Constant("d")], [])))
        if SCALAR in typed:
            body.append(ast.Assign([ast.Name(naming.typed_tapes["kinds"], ast.Store())],
                                   ast.Call(ast.Name("bytearray", ast.Load()), [], [])))
    at = first_read(fn.body, (FLOAT64, SCALAR)) if FLOAT64 in typed else None
    if at is None:
        body += renderer.block(fn.body, [None])
    else:  # every NumPy float64 scalar is saved before the first is read back (`typed_tapes`)
        last_line = [None]
        body += renderer.block(fn.body[:at], last_line)
        body.append(ast.Assign([ast.Name(naming.typed_tapes["reader"], ast.Store())],
                               ast.Call(renderer.ref(_READ_FLOAT64S),
                                        [ast.Name(naming.typed_tapes[FLOAT64], ast.Load())], [])))
        body += renderer.block(fn.body[at:], last_line)
    body.append(ast.Return(renderer.atom(fn.result)))
    fdef = ast.FunctionDef(
        name=_safe_identifier(fn.name.replace("<lambda>", "lambda")),
        args=_arguments(fn.params, naming.names, renderer.atom),
        body=body,
        decorator_list=[],
        returns=None,
        type_params=[],
    )
    module = ast.Module([fdef], type_ignores=[])
    _give_statements_a_line(module)
    text = ast.unparse(module)
    comments = renderer.comments

    def put_comment(match):  # one line, even if the quoted source holds a \x0c or \u2028
        return f"{match.group(1)}# {one_line(comments[int(match.group(2))])}"

    text = re.sub(r"^(\s*)__s2sad_comment_(\d+)__$", put_comment, text, flags=re.M)
    return text + "\n", namespace


def _arguments(params, names, atom) -> ast.arguments:
    """The generated def's parameters: the user's keyword-only ones after a `*` when they come last
    (grad, value_and_grad), so a positional call cannot bind them. Where positional seeds follow them
    (jvp, hvp, vjp, which are always called with every argument in place), all are positional, and a
    default that a later parameter without one would make invalid is dropped."""
    first = next((k for k, p in enumerate(params) if p.keyword_only), len(params))
    if not all(p.keyword_only for p in params[first:]):
        first = len(params)
    positional, keyword_only = params[:first], params[first:]
    last_required = max((k for k, p in enumerate(positional) if p.default is None), default=-1)
    defaults = [atom(p.default) for p in positional[last_required + 1:]]
    return ast.arguments(posonlyargs=[], args=[ast.arg(names[p.var]) for p in positional], vararg=None,
                         kwonlyargs=[ast.arg(names[p.var]) for p in keyword_only],
                         kw_defaults=[atom(p.default) if p.default is not None else None for p in keyword_only],
                         kwarg=None, defaults=defaults)


def _give_statements_a_line(module: ast.Module) -> None:
    """``ast.unparse`` reads ``lineno`` on statements (for type comments) and nothing else:
    set it on statements only, not on the expressions ``ast.fix_missing_locations`` would visit too."""
    pending = [module.body]
    while pending:
        for stmt in pending.pop():
            stmt.lineno = 1
            for attr in ("body", "orelse"):
                block = getattr(stmt, attr, None)
                if block:
                    pending.append(block)


def compile_function(source: str, name: str, namespace: Namespace, live_globals: dict | None = None,
                     filename: str = "<s2sad>"):
    """Exec `source` and return the function named `name`.

    Modules and callables it names are bound at transformation time (through a
    closure); other names are looked up in `live_globals` (the user's module)
    when the code runs, so module-level data stays live.
    """
    import linecache

    bound = {k: v for k, v in namespace.bindings.items()}
    params = ", ".join(bound)
    factory_src = f"def __s2sad_factory__({params}):\n" + "".join(
        "    " + line + "\n" if line else "\n" for line in source.splitlines()
    ) + f"    return {name}\n"
    # register the source so tracebacks and debuggers show the generated lines
    linecache.cache[filename] = (len(factory_src), None, factory_src.splitlines(True), filename)
    code = compile(factory_src, filename, "exec")
    # the defaults in the signature are evaluated here, when the def runs: a default that is one of
    # the user's data globals (`def f(x, w=w_default)`) was dropped from `bound` as live, so it is
    # looked up in the user's module
    scratch: dict = dict(live_globals) if live_globals is not None else {}
    scratch["__builtins__"] = __builtins__
    exec(code, scratch)
    inner = scratch["__s2sad_factory__"](**bound)
    if live_globals is None:
        return inner
    # Rebind globals to the user's module so its data globals are read live.
    cells = inner.__closure__
    func = types.FunctionType(inner.__code__, live_globals, inner.__name__, inner.__defaults__, cells)
    func.__kwdefaults__ = inner.__kwdefaults__  # FunctionType takes the positional defaults only
    _rebind_siblings(cells, live_globals, filename)
    return func


def _rebind_siblings(cells, live_globals: dict, filename: str) -> None:
    """The functions defined next to the main one (subroutines) read the user's module too: rebind
    the cells that hold them (they refer to each other through the same cells)."""
    pending, seen = list(cells or ()), set()
    while pending:
        cell = pending.pop()
        if id(cell) in seen:
            continue
        seen.add(id(cell))
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if isinstance(value, types.FunctionType) and value.__code__.co_filename == filename \
                and value.__globals__ is not live_globals:
            rebound = types.FunctionType(value.__code__, live_globals, value.__name__, value.__defaults__,
                                         value.__closure__)
            rebound.__kwdefaults__ = value.__kwdefaults__
            cell.cell_contents = rebound
            pending.extend(value.__closure__ or ())


__all__ = ["to_source", "compile_function", "assign_names", "fold_temporaries", "Namespace"]
del np
