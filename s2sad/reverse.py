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
"""

from __future__ import annotations

import functools
import inspect
import operator
from dataclasses import dataclass, field

import numpy as np

from . import ir, runtime, tape
from .analysis import active_vars, buffer_chains, check_inplace_updates
from .destinations import guard_float_destinations
from .unseen_effects import unseen_method_calls
from .errors import NoDerivativeError, RuleError, raise_problems
from .generated_ir import pure_for_reverse
from .frontend import parse_function
from .lower import Namer, lower_function
from .primitives import (PACKS, Attr, Method, identity, list_append, module_name, pack_dict, pack_items, pack_keys,
                         pack_list, pack_namedtuple, pack_tuple, restore, setitem, unappend)
from .rules import registry
from .rules.arrays import assigned_part, not_differentiated
from .subroutines import Routine, derived, still_read

ZEROS_LIKE = ir.Ref(("zeros_like",), runtime.zeros_like)
SCALAR_SEED = ir.Ref(("scalar_seed",), runtime.scalar_seed)
NP_COPY = ir.Ref(("np", "copy"), np.copy, np)
RANGE = ir.Ref(("range",), range)
ADD_AT = ir.Ref(("add_at",), runtime.add_at)
ADD_SEQUENCES = ir.Ref(("add_sequences",), runtime.add_sequences)
PAD_NONE = ir.Ref(("pad_none",), runtime.pad_none)
ZERO_IN_PLACE = ir.Ref(("zero_in_place",), runtime.zero_in_place)
DETACH = ir.Ref(("detach",), runtime.detach)
OWN = ir.Ref(("own",), runtime.own)
ASSIGNED_PART = ir.Ref(("assigned_part",), assigned_part)
# helpers that always return a new array nobody else refers to
_FRESH_HELPERS = (runtime.zero_at, runtime.scatter_add, runtime.zeros_like, runtime.own)


def _primal_name(func) -> str:
    if isinstance(func, Attr):
        return f"the attribute .{func.name}"
    if isinstance(func, Method):
        return f"the method .{func.name}()"

    module = module_name(func)
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
    module = {"_operator": "operator", "numpy.linalg._linalg": "np.linalg"}.get(module, module)
    if module == "numpy":
        module = "np"
    return f"{module}.{name}" if module and module not in ("builtins",) else name


@functools.lru_cache(maxsize=None)
def template_ir(rule: registry.Rule) -> ir.Function:
    """A rule's template, normalized once (its inputs: the parameters and the seed)."""
    sig = inspect.signature(rule.template)
    names = list(sig.parameters)
    if rule.kind == "adjoint":
        extra = [names[0] + "_bar"]
    else:
        extra = [n + "_dot" for n in names[1:]]
    try:
        return lower_function(parse_function(rule.template), extra_inputs=extra, template=True)
    except Exception as exc:  # a malformed template is a rule author's bug: say which
        raise RuleError(f"the {rule.kind} rule {rule.template.__qualname__} cannot be read: {exc}") from exc


def bind_template(rule: registry.Rule, stmt: ir.Assign, result_atom) -> dict:
    """Map the template's parameter names to the call site's atoms (defaults as Consts)."""
    sig = inspect.signature(rule.template)
    try:
        bound = sig.bind(result_atom, *stmt.args, **dict(stmt.kwargs))
    except TypeError as exc:
        raise RuleError(
            f"the call to {_primal_name(stmt.func.value)} does not match its derivative rule "
            f"{rule.template.__name__}{sig}: {exc}",
            stmt.loc,
            hint="call it with the arguments the rule supports, or register your own rule with "
            "s2sad.adjoint / s2sad.tangent",
        ) from None
    out = {}
    for name, param in sig.parameters.items():
        if name in bound.arguments:
            value = bound.arguments[name]
            if param.kind is inspect.Parameter.VAR_POSITIONAL:
                value = tuple(value)
            out[name] = value
        elif param.kind is inspect.Parameter.VAR_POSITIONAL:
            out[name] = ()
        elif param.default is not inspect.Parameter.empty:
            out[name] = ir.Const(param.default)
    return out


def _slice(stmts: list, keep: set) -> list:
    """The statements of a spliced template that compute the Vars in `keep` (backward slice)."""
    needed = set(keep)
    kept = []
    for s in reversed(stmts):
        if isinstance(s, ir.Assign):
            if s.target not in needed:
                continue
            needed.update(a for a in ir.uses(s) if isinstance(a, ir.Var))
        elif isinstance(s, ir.If):
            if not any(p.target in needed for p in s.phis):
                continue
            needed.update(ir.free_vars([s]))
            needed.update(v for p in s.phis for v in (p.then_value, p.else_value) if isinstance(v, ir.Var))
        else:
            needed.update(ir.free_vars([s]))
        kept.append(s)
    return kept[::-1]


_ELEMENTWISE_BINARY = {
    operator.add, operator.sub, operator.mul, operator.truediv, operator.pow,
    np.add, np.subtract, np.multiply, np.divide, np.power, np.maximum, np.minimum,
}


def _no_broadcast_against_numbers(stmt: ir.Assign, body: list) -> list:
    """``y = a * 2.0``: a Python number broadcasts nothing, so y has a's shape and
    ``unbroadcast(g, a)`` is just ``g``. Write it so."""
    if stmt.func.value not in _ELEMENTWISE_BINARY or stmt.kwargs or len(stmt.args) != 2:
        return body
    numbers_only = [isinstance(a, ir.Const) and isinstance(a.value, (int, float)) and not isinstance(a.value, bool)
                    for a in stmt.args]
    if not any(numbers_only):
        return body
    operand = stmt.args[1] if numbers_only[0] else stmt.args[0]
    out = []
    for s in body:
        if isinstance(s, ir.Assign) and s.func.value is runtime.unbroadcast and len(s.args) == 2 \
                and s.args[1] == operand:
            out.append(ir.Assign(s.target, ir.prim(identity), [s.args[0]], [], s.loc))
        else:
            out.append(s)
    return out


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
    early_pushes: list = field(default_factory=list)  # set by `block`: pushes that open the loop body
    later_carried: list = field(default_factory=list)  # set by `block`: next values the reverse loop carries
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
        out.append(ir.Assign(var, ZEROS_LIKE, [like], [], loc))
        self.owned.add(var)
        return var

    # ------------------------------------------------------------ blocks

    def block(self, stmts, env, in_loop, block_args=(), subst=None, carried=()):
        """Reverse a block. Returns (forward statements per input statement, pushes, reverse statements)."""
        forward = [None] * len(stmts)
        reverse = []
        for k in range(len(stmts) - 1, -1, -1):
            fwd, rev = self.statement(stmts[k], env, in_loop)
            forward[k] = fwd
            reverse.extend(rev)
        if subst:
            reverse = ir.substitute(reverse, subst)
        pushes = []
        if in_loop:
            self.later_carried = []
            here = set(block_args)
            for stmt in stmts:
                here.update(ir.defs(stmt))
            for stmt in (s for f in forward for s in f):
                here.update(ir.defs(stmt))  # includes what the transformation added (loop counters, saves)
            needed = [v for v in ir.free_vars(reverse) if v in here]
            self.rev_reads.update(needed)
            reverse, needed, later, stand_ins = self._lean_tape(forward, reverse, needed, here, block_args, carried,
                                                                subst or {})
            if needed:
                # Block arguments are saved first thing in the body, unless a nested
                # block saves values of its own: the tape is one stack, so then
                # everything of this block is saved at its end, after theirs.
                nested = any(isinstance(s, ir.Push) for f in forward for s in ir.walk(f))
                opening = set(block_args) | {v for v, made in stand_ins.items() if made.args[0] in block_args}
                first = [] if nested else [v for v in needed if v in opening]
                last = [v for v in needed if v not in first]
                order = first + last
                self.early_pushes = [s for v in first for s in [stand_ins.get(v), ir.Push(v)] if s is not None]
                pushes = [s for v in last for s in [stand_ins.get(v), ir.Push(v)] if s is not None]
                pops, mapping = [], {}
                for v in reversed(order):
                    new = self.namer.fresh(v.base) if v.base != "t" else self.namer.temp()
                    pops.append(ir.Pop(new, None, v))
                    mapping[v] = new
                reverse = pops + ir.substitute(reverse, mapping)
                # the next value of a carried one comes down from the reverse iteration before
                self.later_carried = [ir.Carried(var, c.out, mapping[c.arg], self.namer.fresh(var.base))
                                      for c, var in later.items()]
        return forward, pushes, reverse

    def _lean_tape(self, forward, reverse, needed, here, block_args, carried, subst):
        """What of `needed` the body saves (see `tape`): the rest is read for its shape from
        another value, computed again, or carried down the reverse loop.
        Returns (reverse statements, values to save, {Carried: Var read for its next value},
        statements making the shape stand-ins saved)."""
        definers = {s.target: s for f in forward for s in f if isinstance(s, ir.Assign)}
        by_shape = tape.shape_only(reverse, needed)
        values = [v for v in needed if v not in by_shape]
        _, again = tape.recomputable(values, definers, here, subst, self.mutated)
        saved = [v for v in values if v not in again]
        witnesses = tape.shape_witnesses(by_shape, definers, here, set(saved), self.mutated)
        shapes_left = [v for v in by_shape if v not in witnesses]
        _, shapes_again = tape.recomputable(shapes_left, definers, here, subst, self.mutated, reads_only=True)
        reads = tape.element_witnesses([v for v in shapes_left if v not in shapes_again], definers, here, subst,
                                       self.mutated)
        _, readable = tape.recomputable(list(dict.fromkeys(reads.values())), definers, here, subst, self.mutated)
        witnesses.update({v: r for v, r in reads.items() if r in readable})
        shapes_left = [v for v in shapes_left if v not in witnesses]
        clones, again = tape.recomputable(again + shapes_again + readable, definers, here, subst, self.mutated)
        saved = [v for v in needed if v in saved or (v in shapes_left and v not in again)]
        later = tape.next_values_carried([v for v in saved if v not in by_shape], carried, here, block_args,
                                         self.namer)
        saved = [v for v in saved if v not in {c.next for c in later}]
        clones, recomputed = tape.clone_statements(clones, subst, self.namer)
        stand_ins, shapes = tape.shape_stand_ins([v for v in saved if v in by_shape], self.namer)
        saved = [shapes.get(v, v) for v in saved]
        renamed = {**recomputed, **{c.next: var for c, var in later.items()}, **shapes}
        # a witness is itself read under its new name: computed again, or carried down the loop
        witnesses = {v: renamed.get(w, w) for v, w in witnesses.items()}
        mapping = {**witnesses, **renamed}
        if mapping:
            reverse = clones + ir.substitute(reverse, mapping)
        return reverse, saved, later, stand_ins

    def statement(self, stmt, env, in_loop):
        if isinstance(stmt, ir.Assign):
            return self.assign(stmt, env)
        if isinstance(stmt, ir.If):
            return self.branch(stmt, env, in_loop)
        if isinstance(stmt, ir.For):
            return self.for_loop(stmt, env, in_loop)
        if isinstance(stmt, ir.While):
            return self.while_loop(stmt, env, in_loop)
        return [stmt], []

    # ------------------------------------------------------------ assignments

    def assign(self, stmt: ir.Assign, env):
        forward = [stmt]
        func = stmt.func.value
        if isinstance(func, Routine):
            return _routine_call(self, stmt, env)
        if func is setitem and id(stmt) in self.restores:
            # save what the update overwrites, so the reverse sweep can put it back
            old = self.namer.temp()
            saved = self.namer.fresh(stmt.target.base + "_saved")
            forward = [
                ir.Assign(old, ir.prim(operator.getitem), [stmt.args[0], stmt.args[1]], [], stmt.loc),
                ir.Assign(saved, NP_COPY, [old], [], stmt.loc),
                stmt,
            ]
            self.saved[id(stmt)] = saved
        y = stmt.target
        grad = env.get(y) if self.is_active(y) else None
        rev = []
        try:
            if grad is not None:
                rev = self.adjoint_of(stmt, grad, env)
            elif y in self.tuple_results and any(key[0] == y for key in env if isinstance(key, tuple)):
                rev = self.adjoint_of(stmt, None, env)
        except NoDerivativeError as exc:  # go on, to list every call without a rule at once
            self.problems.append(exc)
        if id(stmt) in self.saved:
            done = self.namer.temp()
            rev.append(ir.Assign(done, ir.prim(restore), [y, stmt.args[1], self.saved[id(stmt)]], [], stmt.loc))
        elif func is list_append and id(stmt) in self.restores:
            # the reverse sweep reads the shorter list: take the appended value back off
            done = self.namer.temp()
            rev.append(ir.Assign(done, ir.prim(unappend), [y], [], stmt.loc))
        return forward, rev

    def adjoint_of(self, stmt: ir.Assign, grad, env):
        out = []
        func = stmt.func.value
        loc = stmt.loc
        if func is identity:
            self.contribute(env, stmt.args[0], grad, out, loc)
            return out
        if func is setitem and isinstance(grad, ir.Var) and grad in self.owned and grad not in self.sequences:
            # y = x with y[index] = value, and y_bar is an array only the reverse sweep holds:
            # take value's part out (a copy if it is a view), then zero it in y_bar itself
            x, index, value = stmt.args
            if self.is_active(value):
                part = self.namer.temp()
                out.append(ir.Assign(part, ASSIGNED_PART, [grad, index, value], [], loc))
                taken = self.namer.temp()
                out.append(ir.Assign(taken, DETACH, [part, grad], [], loc))
                self.contribute(env, value, taken, out, loc)
            if self.is_active(x):
                zeroed = self.fresh_adjoint(x)
                out.append(ir.Assign(zeroed, ZERO_IN_PLACE, [grad, index], [], loc))
                self.owned.add(zeroed)
                self.contribute(env, x, zeroed, out, loc)
            return out
        if func is list_append or func is runtime.appended:
            # y is the list with the value at its end: the last adjoint is the value's, the rest the list's
            items, value = stmt.args
            if self.is_active(value):
                last = self.namer.temp()
                out.append(ir.Assign(last, ir.prim(operator.getitem), [grad, ir.Const(-1)], [], loc))
                self.contribute(env, value, last, out, loc)
            if self.is_active(items):
                rest = self.namer.temp()
                out.append(ir.Assign(rest, ir.prim(operator.getitem), [grad, ir.Const(slice(None, -1))], [], loc))
                self.contribute(env, items, rest, out, loc)
            return out
        if func is operator.add and len(stmt.args) == 2 and all(a in self.sequences for a in stmt.args):
            # list + list is concatenation: the first len(a) adjoints are a's, the rest b's
            a, b = stmt.args
            n = self.namer.temp()
            out.append(ir.Assign(n, ir.Ref(("len",), len), [a], [], loc))
            for operand, bounds in ((a, [ir.Const(None), n]), (b, [n, ir.Const(None)])):
                if self.is_active(operand):
                    cut = self.namer.temp()
                    out.append(ir.Assign(cut, ir.Ref(("slice",), slice), bounds, [], loc))
                    part = self.namer.temp()
                    out.append(ir.Assign(part, ir.prim(operator.getitem), [grad, cut], [], loc))
                    self.contribute(env, operand, part, out, loc)
            return out
        if func is operator.mul and any(a in self.sequences for a in stmt.args):
            # [v] * n: the adjoint of v would add the n repeats' adjoints, which `*` on the list adjoint
            # does not do (it repeats the list again)
            raise NoDerivativeError("repeating a list or tuple ([v] * n) is not differentiated", loc,
                                    hint="build the list with a comprehension: [v for _ in range(n)]")
        if func is runtime.add_sequences:
            for item in stmt.args:  # linear: each operand receives the whole adjoint
                self.contribute(env, item, grad, out, loc)
            return out
        if func in (pack_tuple, pack_list, pack_dict, pack_namedtuple):
            # each item's adjoint is the container adjoint's entry at its place (or key)
            for key, item in zip(pack_keys(func, stmt.args), pack_items(func, stmt.args)):
                if self.is_active(item):
                    part = self.namer.temp()
                    out.append(ir.Assign(part, ir.prim(operator.getitem), [grad, ir.Const(key)], [], loc))
                    self.contribute(env, item, part, out, loc)
            return out
        element = _tuple_element(stmt, self.tuple_results)
        if element is not None:
            key = (stmt.args[0], element)
            current = env.get(key)
            if current is None:
                env[key] = grad
            else:
                total = self.namer.temp()
                out.append(ir.Assign(total, ir.prim(operator.add), [current, grad], [], loc))
                env[key] = total
            return out
        if stmt.target in self.tuple_results:
            parts = sorted((k[1], v) for k, v in list(env.items()) if isinstance(k, tuple) and k[0] == stmt.target)
            if parts:
                length = parts[-1][0] + 1
                items = [ir.Const(None)] * length
                for k, v in parts:
                    items[k] = v
                packed = self.namer.temp()
                out.append(ir.Assign(packed, ir.prim(pack_tuple), items, [], loc))
                grad = self.namer.temp()  # padded to the result's length: the rule may read every part
                out.append(ir.Assign(grad, PAD_NONE, [packed, stmt.target], [], loc))
        rule = registry.adjoint_rule(func)
        if rule is None:
            if registry.is_nondifferentiable(func):
                return out
            if isinstance(func, (Attr, Method)):
                raise NoDerivativeError(
                    f"{_primal_name(func)} has no derivative rule",
                    loc,
                    hint="use the NumPy function that does the same (docs/numpy-coverage.md lists what has "
                    "rules), or register a rule of your own (README: 'Your own derivative rules')",
                )
            raise NoDerivativeError(
                f"{_primal_name(func)} has no derivative rule, and s2sad cannot read its source",
                loc,
                hint=(
                    "register one, e.g.\n"
                    f"    @s2sad.adjoint({_primal_name(func)})\n"
                    "    def my_rule(y, x):\n"
                    "        x_bar = y_bar * <dy/dx>\n"
                    f"or, if it has no derivative, s2sad.nondifferentiable({_primal_name(func)})"
                ),
            )
        out.extend(self.instantiate(rule, stmt, grad, env))
        return out

    def instantiate(self, rule, stmt: ir.Assign, grad, env):
        """Splice the rule's template in, with the call site's atoms for its names."""
        template = template_ir(rule)
        bound = bind_template(rule, stmt, stmt.target)
        params = [p.var for p in template.params]
        mapping = {}
        out = []
        for var in params:
            name = var.name
            if name == rule.result_name + "_bar":
                mapping[var] = grad
            elif name in bound:
                value = bound[name]
                if isinstance(value, tuple):  # *args: a tuple of atoms
                    packed = self.namer.temp()
                    out.append(ir.Assign(packed, ir.prim(pack_tuple), list(value), [], stmt.loc))
                    value = packed
                mapping[var] = value
        # Which template outputs we need: adjoints of active arguments.
        wanted = {}
        for name, value in bound.items():
            export = template.exports.get(name + "_bar")
            if export is None or name == rule.result_name:
                continue
            if isinstance(value, tuple):
                if any(self.is_active(v) for v in value):
                    wanted[name] = export
            elif self.is_active(value):
                wanted[name] = export
        if not wanted:
            return []
        refused = refused_arguments(template.body, set(wanted.values()), stmt.loc)
        if refused:
            raise refused[0]
        first_names = {}
        for name, export in wanted.items():
            value = bound[name]
            if isinstance(export, ir.Var) and not isinstance(value, tuple) and env.get(value) is None:
                first_names.setdefault(export, value)

        primal_bases = self.primal_bases()
        suffix = getattr(stmt.func.value, "__name__", None) or getattr(stmt.func.value, "name", "rule")

        def rename(var):
            target = first_names.get(var)
            if target is not None:
                return self.fresh_adjoint(target)
            if var.base == "t" or var.base.endswith("_bar"):
                return self.namer.temp()
            # a rule's own local: never let it look like one of the user's variables
            base = var.base if var.base not in primal_bases else f"{var.base}_{suffix}"
            return self.namer.fresh(base)

        body = ir.substitute(template.body, mapping, rename_defs=rename)
        body = [self._relocate(s, stmt.loc) for s in body]
        body = _no_broadcast_against_numbers(stmt, body)
        for s in body:
            if isinstance(s, ir.Assign) and s.func.value in _FRESH_HELPERS:
                self.owned.add(s.target)
        spliced_at = len(out)
        out.extend(body)
        # the mapping now also holds the renamed template variables
        full = dict(mapping)
        for old, new in zip(ir.all_defs(template.body), ir.all_defs(body)):
            full[old] = new
        # keep only what the wanted contributions need: a contribution to a constant must not
        # make the reverse sweep read (and the loop tape) values it does not use
        keep = {full.get(e, e) for e in wanted.values() if isinstance(e, ir.Var)}
        out[spliced_at:] = _slice(out[spliced_at:], keep)
        for name, export in wanted.items():
            grad_atom = full.get(export, export) if isinstance(export, ir.Var) else export
            value = bound[name]
            if isinstance(value, tuple):
                for i, item in enumerate(value):
                    if self.is_active(item):
                        part = self.namer.temp()
                        out.append(ir.Assign(part, ir.prim(operator.getitem), [grad_atom, ir.Const(i)], [], stmt.loc))
                        self.contribute(env, item, part, out, stmt.loc)
            else:
                self.contribute(env, value, grad_atom, out, stmt.loc)
        return out

    @staticmethod
    def _relocate(stmt, loc):
        for s in ir.walk([stmt]):
            if hasattr(s, "loc"):
                s.loc = loc
        return stmt

    # ------------------------------------------------------------ branches

    def branch(self, stmt: ir.If, env, in_loop):
        inner = set(ir.all_defs(stmt.then_body)) | set(ir.all_defs(stmt.else_body))
        results = []
        for side, body in (("then", stmt.then_body), ("else", stmt.else_body)):
            side_env = dict(env)
            pre = []
            for phi in stmt.phis:
                grad = env.get(phi.target) if self.is_active(phi.target) else None
                if grad is not None:
                    value = phi.then_value if side == "then" else phi.else_value
                    self.contribute(side_env, value, grad, pre, stmt.loc)
            forward, pushes, rev = self.block(body, side_env, in_loop)
            results.append((side_env, pre + rev, [s for f in forward for s in f] + pushes))
        (then_env, then_rev, then_fwd), (else_env, else_rev, else_fwd) = results
        phis = []
        keys = [k for k in dict.fromkeys(list(then_env) + list(else_env)) if isinstance(k, ir.Var)]
        for var in keys:
            if var in inner:
                continue
            a, b = then_env.get(var), else_env.get(var)
            if a == b:
                if a is not None:
                    env[var] = a
                continue
            if a is None:
                a = self.zeros(var, then_rev, stmt.loc)
            if b is None:
                b = self.zeros(var, else_rev, stmt.loc)
            joined = self.fresh_adjoint(var)
            phis.append(ir.Phi(joined, a, b))
            env[var] = joined
        forward = ir.If(stmt.cond, then_fwd, else_fwd, stmt.phis, stmt.loc)
        reverse = [ir.If(stmt.cond, then_rev, else_rev, phis, stmt.loc)] if (then_rev or else_rev or phis) else []
        return [forward], reverse

    # ------------------------------------------------------------ loops

    def loop_adjoints(self, stmt, env, body_stmts, pre):
        """Set up the reverse loop's carried adjoints before its body is reversed.

        Two kinds: the adjoint of each active loop-carried value (flowing from
        one iteration to the one before it), and the adjoint of each outer value
        the body reads, which accumulates over the iterations.
        """
        body_env = dict(env)
        inner = set(ir.all_defs(body_stmts)) | {c.arg for c in stmt.carried}
        if isinstance(stmt, ir.For):
            inner.add(stmt.index)
        outer = []
        candidates = ir.free_vars(body_stmts) + [c.next for c in stmt.carried if isinstance(c.next, ir.Var)]
        for var in dict.fromkeys(candidates):
            if var in inner or not self.is_active(var):
                continue
            arg_v = self.fresh_adjoint(var)
            self.owned.add(arg_v)
            outer.append((var, arg_v, env.get(var)))
            body_env[var] = arg_v
        forward_carried = []
        for c in stmt.carried:
            if not (self.is_active(c.arg) or self.is_active(c.out)):
                continue
            grad_out = env.get(c.out) if self.is_active(c.out) else None
            if grad_out is None:
                grad_out = self.zeros(c.out, pre, stmt.loc)
            arg_r = self.fresh_adjoint(c.out)
            if c.arg in self.mutated and c.arg not in self.sequences:
                # the body updates this array in place, so its adjoint is zeroed in place each
                # iteration: start from an array nobody else holds
                if grad_out not in self.owned:
                    owned_init = self.fresh_adjoint(c.out)
                    pre.append(ir.Assign(owned_init, OWN, [grad_out], [], stmt.loc))
                    grad_out = owned_init
                self.owned.add(arg_r)
            forward_carried.append((c, grad_out, arg_r))
        start = []  # reverse statements at the top of each reverse iteration
        for c, _, arg_r in forward_carried:
            self.contribute(body_env, c.next, arg_r, start, stmt.loc)
        return body_env, start, forward_carried, outer

    def finish_loop(self, stmt, env, body_env, body_rev, forward_carried, outer, pre):
        carried_r = []
        after = []
        for c, grad_out, arg_r in forward_carried:
            nxt = body_env.get(c.arg)
            if nxt is None:
                nxt = self.namer.temp()
                body_rev.append(ir.Assign(nxt, ZEROS_LIKE, [arg_r], [], stmt.loc))
                self.owned.add(nxt)
            if arg_r in self.owned and nxt not in self.owned:
                owned_next = self.fresh_adjoint(c.arg)  # keep the next iteration's array our own
                body_rev.append(ir.Assign(owned_next, OWN, [nxt], [], stmt.loc))
                self.owned.add(owned_next)
                nxt = owned_next
            out_r = self.fresh_adjoint(c.arg)
            if arg_r in self.owned:
                self.owned.add(out_r)
            carried_r.append(ir.Carried(arg_r, grad_out, nxt, out_r))
            after.append((c.init, out_r))
        post = []
        for var, arg_v, _ in outer:
            nxt = body_env.get(var)
            if nxt == arg_v:
                continue
            # The accumulator must be an array nobody else holds, so the body may
            # add into it in place: start from zeros unless the current adjoint is one.
            previous = env.get(var)
            if previous is not None and previous in self.owned:
                init, previous = previous, None
            else:
                init = self.zeros(var, pre, stmt.loc)
            out_v = self.fresh_adjoint(var)
            self.owned.update((arg_v, out_v))
            carried_r.append(ir.Carried(arg_v, init, nxt, out_v))
            env.pop(var, None)
            if previous is not None:
                env[var] = previous
            after.append((var, out_v))
        for init, out_r in after:
            self.contribute(env, init, out_r, post, stmt.loc)
        return carried_r, post

    def for_loop(self, stmt: ir.For, env, in_loop):
        pre = []
        body_env, start, forward_carried, outer = self.loop_adjoints(stmt, env, stmt.body, pre)
        index_r = self.namer.fresh(stmt.index.base)
        self.early_pushes = []
        forward, pushes, rev = self.block(
            stmt.body, body_env, True, block_args=[c.arg for c in stmt.carried], subst={stmt.index: index_r},
            carried=stmt.carried,
        )
        early, self.early_pushes = self.early_pushes, []
        later, self.later_carried = self.later_carried, []
        body_rev = start + rev
        carried_r, post = self.finish_loop(stmt, env, body_env, body_rev, forward_carried, outer, pre)
        # (a loop of generated code may run reversed already: its reverse runs forward)
        fwd = ir.For(stmt.index, stmt.iterable, early + [s for f in forward for s in f] + pushes, stmt.carried,
                     stmt.reverse, stmt.loc)
        if not carried_r and not any(isinstance(s, ir.Assign) and s.func.value in (restore, unappend)
                                     for s in ir.walk(body_rev)):
            return [fwd], pre + post
        rev_loop = ir.For(index_r, stmt.iterable, body_rev, carried_r + later, not stmt.reverse, stmt.loc)
        return [fwd], pre + [rev_loop] + post

    def while_loop(self, stmt: ir.While, env, in_loop):
        pre = []
        whole = stmt.cond_body + stmt.body
        body_env, start, forward_carried, outer = self.loop_adjoints(stmt, env, whole, pre)
        self.early_pushes = []
        forward, pushes, rev = self.block(whole, body_env, True, block_args=[c.arg for c in stmt.carried],
                                          carried=stmt.carried)
        early, self.early_pushes = self.early_pushes, []
        later, self.later_carried = self.later_carried, []
        body_rev = start + rev
        carried_r, post = self.finish_loop(stmt, env, body_env, body_rev, forward_carried, outer, pre)
        split = len(stmt.cond_body)
        cond_fwd = [s for f in forward[:split] for s in f]
        # saved after the test: the last, failing test has no reverse iteration
        body_fwd = early + [s for f in forward[split:] for s in f] + pushes
        has_restore = any(isinstance(s, ir.Assign) and s.func.value in (restore, unappend) for s in ir.walk(body_rev))
        if not carried_r and not has_restore:
            return [ir.While(cond_fwd, stmt.cond, body_fwd, stmt.carried, stmt.loc)], pre + post
        # count the iterations, so the reverse loop runs as many times
        count = self.namer.fresh("n_iterations")
        count_next = self.namer.fresh("n_iterations")
        count_out = self.namer.fresh("n_iterations")
        body_fwd.append(ir.Assign(count_next, ir.prim(operator.add), [count, ir.Const(1)], [], stmt.loc))
        carried = stmt.carried + [ir.Carried(count, ir.Const(0), count_next, count_out)]
        fwd = ir.While(cond_fwd, stmt.cond, body_fwd, carried, stmt.loc)
        iterations = self.namer.temp()
        pre.append(ir.Assign(iterations, RANGE, [count_out], [], stmt.loc))
        index_r = self.namer.fresh("_")
        rev_loop = ir.For(index_r, iterations, body_rev, carried_r + later, False, stmt.loc)
        return [fwd], pre + [rev_loop] + post


def _routine_call(rev: _Reverser, stmt: ir.Assign, env):
    """``y = helper(x, n)`` where the helper is a routine of its own (:mod:`subroutines`): the forward
    sweep calls its forward half, ``y, saved = helper_fwd(x, n)``, and the reverse sweep its reverse
    half, ``x_bar = helper_bwd(saved, y_bar)``, for the arguments active here."""
    y, loc, routine = stmt.target, stmt.loc, stmt.func.value
    mask = tuple(rev.is_active(a) for a in stmt.args)
    grad = env.get(y) if rev.is_active(y) else None
    if grad is None or not any(mask):
        return [stmt], []
    fwd, bwd = derived(routine, "fwd", mask), derived(routine, "bwd", mask)
    pair, saved = rev.namer.temp(), rev.namer.fresh(f"{routine.name}_saved")
    getitem = ir.prim(operator.getitem)
    forward = [ir.Assign(pair, ir.Ref((fwd.name,), fwd, fwd), list(stmt.args), [], loc),
               ir.Assign(y, getitem, [pair, ir.Const(0)], [], loc),
               ir.Assign(saved, getitem, [pair, ir.Const(1)], [], loc)]
    out = []
    # `saved` holds these arrays too: an in-place update after the call must be undone before it
    again = [a for a in list(stmt.args) + [y] if isinstance(a, ir.Var) and a in rev.mutated]
    if again:
        out.append(ir.Assign(rev.namer.temp(), ir.Ref(("still_read",), still_read), again, [], loc))
    active = [a for a, m in zip(stmt.args, mask) if m]
    grads = rev.fresh_adjoint(active[0]) if len(active) == 1 else rev.namer.temp()
    out.append(ir.Assign(grads, ir.Ref((bwd.name,), bwd, bwd), [saved, grad], [], loc))
    for k, a in enumerate(active):
        part = grads
        if len(active) > 1:
            part = rev.namer.temp()
            out.append(ir.Assign(part, getitem, [grads, ir.Const(k)], [], loc))
        rev.contribute(env, a, part, out, loc)
    return forward, out


# ------------------------------------------------------------------ driver

# Fields of the named tuples NumPy's linear algebra returns, by position.
_RESULT_FIELDS = {"sign": 0, "logabsdet": 1, "eigenvalues": 0, "eigenvectors": 1, "Q": 0, "R": 1,
                  "U": 0, "S": 1, "Vh": 2, "L": 0}


def _tuple_element(stmt: ir.Assign, tuple_results) -> int | None:
    """The position `stmt` reads from a tuple result (``r[1]`` or ``r.logabsdet``), if it does."""
    func = stmt.func.value
    if not stmt.args or stmt.args[0] not in tuple_results:
        return None
    if func is operator.getitem and isinstance(stmt.args[1], ir.Const) and isinstance(stmt.args[1].value, int):
        return stmt.args[1].value
    if isinstance(func, Attr) and func.name in _RESULT_FIELDS:
        return _RESULT_FIELDS[func.name]
    return None



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
                                                              list_append, runtime.appended)}
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
            return ir.verify(out)
        restores = needed
    return ir.verify(out)  # pragma: no cover - the second attempt always settles


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


def refused_arguments(body, needed, loc) -> list:
    """NoDerivativeErrors for the ``not_differentiated(value, primal, param)`` marks of a rule's template
    among the values it must compute (`needed`; None: all): an argument it has no derivative in."""
    return [NoDerivativeError(f"{s.args[1].value} is not differentiated in its argument {s.args[2].value!r}, "
                              "which depends on a differentiated input here", loc,
                              hint=f"pass {s.args[2].value} as a constant (computed outside the function, or "
                              "from inputs that are not differentiated)")
            for s in ir.walk(body) if isinstance(s, ir.Assign) and s.func.value is not_differentiated
            and (needed is None or s.target in needed)]


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
        forward, _, reverse = rev.block(fn.body, env, False)
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
        forward.append(ir.Assign(value, NP_COPY, [result], [], None))
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
