"""Reverse mode: IR of f -> IR of a function computing f and its gradient.

The output has two sweeps. The *forward sweep* is f's own code; inside loops
it also pushes onto a tape the values the reverse sweep will read, because
the next iteration rebinds them. The *reverse sweep* visits f's statements
backwards and, for each active one, splices in its adjoint rule with the call
site's names, adding contributions into adjoints (``x_bar``).

Why no tape outside loops: SSA never overwrites a value, so straight-line and
branch code can read every forward value by name, and a branch is replayed by
testing the same condition variable.

Loops reverse into loops: a ``for`` over ``r`` becomes ``for i in
reversed(r)``; a ``while`` counts its iterations and the reverse loop runs that
many times. Adjoints that accumulate across iterations are the reverse loop's
carried values, exactly as in the forward IR.

In-place updates ``x[i] = v`` are written in place. When the reverse sweep
must read an older version of ``x``, the forward sweep saves the overwritten
slice and the reverse sweep writes it back at the same point ("save what is
overwritten"), so every name reads the value it had in the forward sweep.

The state of one reversal lives in a :class:`_Reverser` (adjoint names, accumulation,
the walk over a block); each kind of statement is reversed by plain functions of that
state: ``reverse_assign`` (an assignment: rules and built-in adjoints), ``reverse_control``
(branches and loops) and ``reverse_tape`` (what a loop body saves for the reverse sweep).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field

from . import ir, reverse_assign, reverse_control, reverse_tape, runtime
from .analysis import active_vars, buffer_chains, check_inplace_updates
from .destinations import guard_float_destinations
from .unseen_effects import unseen_method_calls
from .errors import raise_problems
from .generated_ir import pure_for_reverse
from .lower import Namer
from .primitives import PACKS, list_append, pack_dict, pack_list, pack_namedtuple, pack_tuple, setitem
from .rules import registry

SCALAR_SEED = ir.Ref(("scalar_seed",), runtime.scalar_seed)
ADD_AT = ir.Ref(("add_at",), runtime.add_at)
ADD_SEQUENCES = ir.Ref(("add_sequences",), runtime.add_sequences)


@dataclass
class _Reverser:
    """One reverse transformation. Created per call of `reverse_function`, then dropped."""

    fn: ir.Function
    namer: Namer
    active: set
    restores: set  # setitem statements (by id) whose overwritten values are saved
    tuple_results: set = field(default_factory=set)
    rev_reads: set = field(default_factory=set)
    saved: dict = field(default_factory=dict)  # id(setitem stmt) -> Var holding the saved slice
    adjoint_bases: dict = field(default_factory=dict)
    top_reads: set = field(default_factory=set)
    owned: set = field(default_factory=set)  # adjoint Vars holding arrays only this code refers to
    _primal_bases: set | None = None
    mutated: set = field(default_factory=set)  # values whose buffer an in-place update writes
    sequences: set = field(default_factory=set)  # values that are lists or tuples built in the function
    elements: set = field(default_factory=set)  # items read out of those, which may be containers too
    problems: list = field(default_factory=list)  # calls with no rule, all reported together at the end

    # ------------------------------------------------------------ names

    def adjoint_base(self, var: ir.Var) -> str:
        if var.base == "t":
            return "t"
        return self.adjoint_bases.get(var.base) or self._new_adjoint_base(var.base)

    def primal_bases(self) -> set:
        if self._primal_bases is None:
            self._primal_bases = {v.base for v in ir.all_defs(self.fn.body)} | {p.var.base for p in self.fn.params}
        return self._primal_bases

    def _new_adjoint_base(self, base: str) -> str:
        primal_bases = self.primal_bases()
        candidate = base + "_bar"
        k = 2
        while candidate in primal_bases:
            candidate = f"{base}_bar{k}"
            k += 1
        self.adjoint_bases[base] = candidate
        return candidate

    def fresh_adjoint(self, var: ir.Var) -> ir.Var:
        base = self.adjoint_base(var)
        if base == "t":  # the adjoint of a temporary: named after it by codegen (t3 -> t3_bar)
            temp = self.namer.temp()
            return ir.Var(temp.name, "t_bar", var)
        return self.namer.fresh(base)

    def is_active(self, atom) -> bool:
        return isinstance(atom, ir.Var) and atom in self.active

    # ------------------------------------------------------------ accumulation

    def contribute(self, env: dict, atom, grad, out: list, loc) -> None:
        """Add `grad` to the adjoint of `atom`: the first contribution binds, later ones add."""
        if not self.is_active(atom) or grad is None:
            return
        current = env.get(atom)
        if current is None:
            if grad in self.owned and any(v == grad for k, v in env.items()):
                self.owned.discard(grad)  # now the adjoint of two values: no longer ours alone
            env[atom] = grad
            return
        scatter = self._scatter_defining(grad, out)
        if scatter is not None and current in self.owned and atom not in self.sequences \
                and atom not in self.elements:
            # x_bar[i] += g in place: x_bar is an array only the reverse sweep holds
            g, _, index = scatter.args
            total = self.fresh_adjoint(atom)
            out[out.index(scatter)] = ir.Assign(total, ADD_AT, [current, index, g], [], scatter.loc)
            self.owned.add(total)
            env[atom] = total
            return
        total = self.fresh_adjoint(atom)
        if atom in self.sequences or atom in self.elements:  # a list's adjoint is a list: add item by item
            out.append(ir.Assign(total, ADD_SEQUENCES, [current, grad], [], loc))
        else:
            out.append(ir.Assign(total, ir.prim(operator.add), [current, grad], [], loc))
        self.owned.add(total)
        env[atom] = total

    @staticmethod
    def _scatter_defining(grad, out):
        """The statement in `out` computing `grad` with scatter_add, if that is how it was made."""
        if not isinstance(grad, ir.Var):
            return None
        for stmt in reversed(out):
            if isinstance(stmt, ir.Assign) and stmt.target == grad:
                return stmt if stmt.func.value is runtime.scatter_add and len(stmt.args) == 3 else None
        return None

    def zeros(self, like: ir.Var, out: list, loc, name_for=None) -> ir.Var:
        var = self.fresh_adjoint(name_for or like)
        out.append(ir.Assign(var, reverse_assign.ZEROS_LIKE, [like], [], loc))
        self.owned.add(var)
        return var

    # ------------------------------------------------------------ blocks

    def block(self, stmts, env, in_loop, block_args=(), subst=None, carried=()):
        """Reverse a block. Returns (forward statements per input statement, pushes, reverse statements,
        the pushes that open a loop body, the carried values the reverse loop adds): the last two are
        a loop body's (`block_args`, `carried`: the loop's), empty for any other block."""
        forward = [None] * len(stmts)
        reverse = []
        for k in range(len(stmts) - 1, -1, -1):
            fwd, rev = self.statement(stmts[k], env, in_loop)
            forward[k] = fwd
            reverse.extend(rev)
        if subst:
            reverse = ir.substitute(reverse, subst)
        if not in_loop:
            return forward, [], reverse, [], []
        reverse, pushes, opening, later = reverse_tape.save_for_reverse(self, stmts, forward, reverse, block_args,
                                                                         subst or {}, carried)
        return forward, pushes, reverse, opening, later

    def statement(self, stmt, env, in_loop):
        if isinstance(stmt, ir.Assign):
            return reverse_assign.assign(self, stmt, env)
        if isinstance(stmt, ir.If):
            return reverse_control.branch(self, stmt, env, in_loop)
        if isinstance(stmt, ir.For):
            return reverse_control.for_loop(self, stmt, env, in_loop)
        if isinstance(stmt, ir.While):
            return reverse_control.while_loop(self, stmt, env, in_loop)
        return [stmt], []


# ------------------------------------------------------------------ driver


def _tuple_result_vars(fn: ir.Function) -> set:
    found = set()
    for stmt in ir.walk(fn.body):
        if isinstance(stmt, ir.Assign):
            try:
                key = registry.resolve_key(stmt.func.value)
                if key in registry.TUPLE_RESULTS:
                    found.add(stmt.target)
            except TypeError:
                pass
    return found


def _sequences(fn: ir.Function) -> set:
    """Values that are lists or tuples the function builds (and their updates, loop values, joins)."""
    find = buffer_chains(fn, views=False)
    built = {find(s.target) for s in ir.walk(fn.body)
             if isinstance(s, ir.Assign) and s.func.value in (pack_list, pack_tuple, pack_dict, pack_namedtuple,
                                                              list_append, runtime.appended, tuple)}
    found = {v for v in ir.all_defs(fn.body) if find(v) in built}
    while True:  # list + list and slices of lists are lists too
        more = {s.target for s in ir.walk(fn.body) if isinstance(s, ir.Assign) and s.target not in found and (
            (s.func.value is operator.add and all(a in found for a in s.args))
            or (s.func.value is operator.mul and len(s.args) == 2 and any(a in found for a in s.args)
                and any(isinstance(a, ir.Const) and isinstance(a.value, int) for a in s.args))
            or (s.func.value is operator.getitem and s.args[0] in found and isinstance(s.args[1], ir.Const)
                and isinstance(s.args[1].value, slice)))}
        # a list carried by a loop that concatenates onto it (lst = lst + [v]): the loop's values are lists too
        more |= {v for s in ir.walk(fn.body) if isinstance(s, (ir.For, ir.While)) for c in s.carried
                 if c.init in found or c.next in found for v in (c.arg, c.out) if v not in found}
        if not more:
            return found
        found |= more


def _elements(fn: ir.Function, sequences: set) -> set:
    """Items read out of lists, tuples and dicts the function builds (``layer = layers[k]``), and
    items of those: a value that may itself be a container, whose adjoint adds item by item
    (``layer_bar[0] += g`` would concatenate two lists)."""
    found: set = set()
    while True:
        more = {s.target for s in ir.walk(fn.body) if isinstance(s, ir.Assign) and s.target not in found
                and s.func.value is operator.getitem and (s.args[0] in sequences or s.args[0] in found)
                and not (isinstance(s.args[1], ir.Const) and isinstance(s.args[1].value, slice))}
        if not more:
            return found
        found |= more


def _mutated(fn: ir.Function) -> set:
    """Values sharing a buffer with one that an in-place update writes, and the lists, tuples and
    dicts holding such a value (an item read from them is the written array)."""
    find = buffer_chains(fn, views=True)
    written = with_holders(fn, find)({find(s.args[0]) for s in ir.walk(fn.body)
                                      if isinstance(s, ir.Assign) and s.func.value in (setitem, list_append)})
    return {v for v in ir.all_defs(fn.body) + [p.var for p in fn.params] if find(v) in written}


def with_holders(fn: ir.Function, find):
    """A function from a set of buffers (as ``find`` of `buffer_chains` names them) to that set and the
    buffers of the containers built holding one of them: ``[a, x]``, ``(a, 1)``, ``{"k": a}``,
    ``items.append(a)``, ``items + [a]`` (an item read from them is the array itself)."""
    holds = []  # (container, the values it holds)
    for s in ir.walk(fn.body):
        if isinstance(s, ir.Assign) and (s.func.value in PACKS or s.func.value is runtime.add_sequences):
            holds.append((s.target, s.args))
        elif isinstance(s, ir.Assign) and s.func.value is list_append:
            holds.append((s.target, s.args[1:]))

    def grow(chains: set) -> set:
        chains = set(chains)
        grown = True
        while grown:
            grown = False
            for container, items in holds:
                if find(container) not in chains and any(isinstance(a, ir.Var) and find(a) in chains for a in items):
                    chains.add(find(container))
                    grown = True
        return chains

    return grow


def _positions(fn: ir.Function) -> dict:
    order = {}
    for k, v in enumerate([p.var for p in fn.params] + ir.all_defs(fn.body)):
        order.setdefault(v, k)
    return order


def reverse_function(fn: ir.Function, wrt, *, seed: str = "scalar", return_value: bool = False,
                     name: str | None = None, tuple_grads: bool | None = None) -> ir.Function:
    """Build the adjoint of `fn`.

    Args:
        fn: verified SSA IR of the function.
        wrt: positions of the parameters to differentiate.
        seed: "scalar" seeds the output's adjoint with 1 (grad), "param" takes
            it as an extra last parameter ``<output>_bar`` (vjp), checking its shape;
            "given" takes it unchecked (a subroutine's reverse half).
        return_value: also return f's value, as ``(value, gradient)``.
        name: the generated function's name.
        tuple_grads: return the gradients as one tuple (default: when there are several).

    Returns:
        IR of a function with f's parameters (plus the seed for "param") that
        returns the gradient for each of `wrt` (a tuple when there are several).
    """
    # generated code (s2sad.compose, a spliced call): its tape a list value, its adjoint updates pure, or refused
    # by name (the reverser would drop the adjoint from a pop to its push)
    fn = pure_for_reverse(fn)
    check_inplace_updates(fn)
    restores: set = set()
    for _attempt in range(2):
        out, reverser = _reverse_once(fn, wrt, seed, return_value, name, restores,
                                      len(wrt) > 1 if tuple_grads is None else tuple_grads)
        needed = _needed_restores(fn, reverser.rev_reads | reverser.top_reads)
        if needed <= restores:
            return ir.verify_pass(out)
        restores = needed
    return ir.verify_pass(out)  # pragma: no cover - the second attempt always settles


def _needed_restores(fn, reads) -> set:
    """The in-place updates whose overwritten values the reverse sweep must put back.

    An update must be undone when the reverse sweep reads a version of the same
    buffer from before it: a version defined earlier in program order, or one
    defined anywhere in a loop around the update (the update of the next
    iteration comes after it).
    """
    find = buffer_chains(fn, views=True)
    holders = with_holders(fn, find)
    order = _positions(fn)
    inside = _loop_members(fn)
    needed = set()
    for stmt in ir.walk(fn.body):
        if isinstance(stmt, ir.Assign) and stmt.func.value in (setitem, list_append):
            chains = holders({find(stmt.target)})  # and a list holding the array: its items are the array
            here = order.get(stmt.target, 0)
            loops = inside.get(stmt.target, ())
            for v in reads:
                if not isinstance(v, ir.Var) or find(v) not in chains:
                    continue
                if order.get(v, 0) < here or any(loop in inside.get(v, ()) for loop in loops):
                    needed.add(id(stmt))
                    break
    return needed


def _loop_members(fn) -> dict:
    """Var -> ids of the loops whose body (or header) defines it."""
    members: dict = {}

    def visit(stmts, loops):
        for stmt in stmts:
            if isinstance(stmt, (ir.For, ir.While)):
                inner = loops + (id(stmt),)
                if isinstance(stmt, ir.For):
                    members[stmt.index] = inner
                for c in stmt.carried:
                    members[c.arg] = inner
                for child in ir.child_blocks(stmt):
                    visit(child, inner)
                for c in stmt.carried:
                    members[c.out] = loops
                continue
            for v in ir.defs(stmt):
                members[v] = loops
            for child in ir.child_blocks(stmt):
                visit(child, loops)

    visit(fn.body, ())
    return members


def _reverse_once(fn, wrt, seed, return_value, name, restores, tuple_grads):
    params = [p.var for p in fn.params]
    wrt_vars = [params[i] for i in wrt]
    active = active_vars(fn, wrt_vars, [fn.result])
    fn = guard_float_destinations(fn, active)
    namer = Namer(p.var.name for p in fn.params)
    namer.taken.update(v.name for v in ir.all_defs(fn.body))
    namer.temps = max([int(v.name[1:]) for v in ir.all_defs(fn.body) if v.base == "t" and v.name[1:].isdigit()] or [0])
    rev = _Reverser(fn, namer, active, restores, tuple_results=_tuple_result_vars(fn), mutated=_mutated(fn),
                    sequences=_sequences(fn))
    rev.elements = _elements(fn, rev.sequences)
    rev.problems.extend(unseen_method_calls(fn, wrt_vars, active))
    env: dict = {}
    seed_stmts = []
    extra_params = []
    result = fn.result
    loc = None
    if seed in ("param", "given"):
        named = isinstance(result, ir.Var) and result.base != "t"
        seed_var = namer.fresh(rev.adjoint_base(result) if named else "out_bar")
        extra_params.append(ir.Param(seed_var))
        checked = seed_var
        if seed == "param":
            checked = namer.fresh(seed_var.base)  # the seed must have the output's shape: say so if not
            seed_stmts.append(ir.Assign(checked, ir.Ref(("check_cotangent",), runtime.check_cotangent),
                                        [seed_var, result], [], loc))
        if rev.is_active(result):
            env[result] = checked
    elif rev.is_active(result):
        seed_var = rev.fresh_adjoint(result)
        seed_stmts.append(ir.Assign(seed_var, SCALAR_SEED, [result], [], loc))
        env[result] = seed_var
    else:
        seed_var = namer.temp()
        seed_stmts.append(ir.Assign(seed_var, SCALAR_SEED, [result], [], loc))
    try:
        forward, _, reverse, _, _ = rev.block(fn.body, env, False)
    except Exception:
        if not rev.problems:
            raise
        # otherwise a knock-on failure of a call already found without a rule: report those
    raise_problems(rev.problems, fn.name, fn.filename)
    rev.top_reads = set(ir.free_vars(reverse))
    forward = [s for f in forward for s in f]
    grads = []
    tail = []
    for var in wrt_vars:
        g = env.get(var)
        if g is None:
            g = rev.zeros(var, tail, None)
        grads.append(g)
    value = result
    if return_value and rev.saved and isinstance(result, ir.Var):
        value = namer.fresh(result.base)
        forward.append(ir.Assign(value, reverse_assign.NP_COPY, [result], [], None))
    body = [ir.Marker("forward sweep")] + forward + [ir.Marker("reverse sweep")] + seed_stmts + reverse + tail
    if tuple_grads:
        gradient = namer.temp()
        body.append(ir.Assign(gradient, ir.prim(pack_tuple), grads, [], None))
    else:
        gradient = grads[0]
    if return_value:
        final = namer.temp()
        body.append(ir.Assign(final, ir.prim(pack_tuple), [value, gradient], [], None))
    else:
        final = gradient
    params = list(fn.params)
    if extra_params and any(p.default is not None for p in params):
        # the seed comes after every argument, so no argument can keep a default
        params = [ir.Param(p.var, None) for p in params]
    new = ir.Function(
        name=name or f"grad_{fn.name}",
        params=params + extra_params,
        body=body,
        result=final,
        filename=fn.filename,
        firstline=fn.firstline,
        doc=None,
        result_loc=fn.result_loc,
    )
    return new, rev
