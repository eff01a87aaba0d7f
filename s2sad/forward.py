"""Forward mode: IR of f -> IR of a function computing f and its directional derivative.

Each statement of f is followed by its *tangent statement*, read off the
rule's tangent template with the call site's names substituted, so the output
reads like the forward-mode trace in the lecture notes::

    z = x * y
    z_dot = x_dot * y + x * y_dot

Only *active* values get tangents: those that depend on an input we
differentiate (varied) and that some output depends on (useful). The terms of a
tangent template that belong to inactive arguments are dropped, never
multiplied by a materialized zero; for ``elementwise=True`` rules the kept
terms are spread to the result's shape (``unreduce(x_dot, z)``) when a dropped
argument could have broadcast it.

Control flow is carried over as it is:

* ``If``: each branch computes its tangents; the tangents of the phis are phis
  of tangents (a zero where one branch has none).
* ``For``/``While``: the tangents of loop-carried values are carried too.
* ``x[i] = v``: the tangent array is updated the same way, in place
  (``x_dot[i] = v_dot``), so that a chain of updates costs what the primal costs.
* tuples: ``(a, b)`` has the tangent ``(a_dot, b_dot)`` (zeros for inactive
  entries), ``t[k]`` has ``t_dot[k]``.
* the tape of an adjoint program (``Push``/``Pop``): a pushed active value
  is pushed together with its tangent and both are popped back, so forward mode
  applies to generated reverse-mode code as it is: the Hessian-vector product
  is ``forward_function(simplify(reverse_function(f)))`` (forward-over-reverse).
  Forward mode itself never needs a tape.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import inspect
import numbers
import operator
from dataclasses import dataclass, field

import gast
import numpy as np

from . import ir, runtime
from .analysis import buffer_chains, useful_vars, varied_vars
from .destinations import guard_float_destinations
from .unseen_effects import unseen_method_calls
from .errors import NoDerivativeError, RuleError, raise_problems
from .frontend import parse_function
from .lower import Namer, lower_function
from .primitives import (identity, list_append, pack_dict, pack_items, pack_list, pack_namedtuple, pack_tuple,
                         restore, setitem, unappend)
from .reverse_assign import _primal_name, bind_template, refused_arguments
from .rules import registry
from .subroutines import Routine, current_tape, derived, use_tape

ZEROS_LIKE = ir.Ref(("zeros_like",), runtime.zeros_like)
SPREAD = ir.Ref(("unreduce",), runtime.unreduce)
FRESH_COPY = ir.Ref(("fresh_copy",), runtime.fresh_copy)
ADD_AT = runtime.add_at

__all__ = ["forward_function", "constant_seed_tangent"]


# ------------------------------------------------------------------ templates


@dataclass(frozen=True)
class _Pruned:
    """A tangent template with the terms of inactive arguments dropped, lowered to IR."""

    function: ir.Function
    needs_spread: bool  # some kept term may not cover a dropped argument's shape
    dropped: frozenset  # parameters whose terms were dropped
    term_reads: tuple  # per kept term: the primal parameter names it reads (result name included)


def _split_terms(expr, sign=1):
    """``a - b + c`` -> [(1, a), (-1, b), (1, c)] over gast nodes."""
    if isinstance(expr, gast.BinOp) and isinstance(expr.op, (gast.Add, gast.Sub)):
        right = sign if isinstance(expr.op, gast.Add) else -sign
        return _split_terms(expr.left, sign) + _split_terms(expr.right, right)
    if isinstance(expr, gast.UnaryOp) and isinstance(expr.op, gast.USub):
        inner = _split_terms(expr.operand, -sign)
        if len(inner) > 1:
            return inner
    return [(sign, expr)]


def _join_terms(terms, like):
    expr = None
    for sign, term in terms:
        if expr is None:
            expr = term if sign > 0 else gast.UnaryOp(op=gast.USub(), operand=term)
        else:
            expr = gast.BinOp(left=expr, op=gast.Add() if sign > 0 else gast.Sub(), right=term)
        gast.copy_location(expr, like)
    return expr


def _names(node) -> set:
    return {n.id for n in gast.walk(node) if isinstance(n, gast.Name)}


@functools.lru_cache(maxsize=None)
def pruned_template(rule: registry.Rule, kept: frozenset) -> _Pruned | None:
    """The tangent template of `rule` keeping only the terms of the parameters in `kept`.

    Returns None when no term is left (the result's tangent is zero).
    """
    parsed = parse_function(rule.template)
    params = list(inspect.signature(rule.template).parameters)
    result_dot = rule.result_name + "_dot"
    dot_of = {p + "_dot": p for p in params[1:]}
    node = copy.deepcopy(parsed.node)
    body = node.body
    last = body[-1] if body else None
    if not (isinstance(last, gast.Assign) and len(last.targets) == 1 and isinstance(last.targets[0], gast.Name)
            and last.targets[0].id == result_dot):
        raise RuleError(f"the tangent rule {rule.template.__qualname__} must end with `{result_dot} = <sum of terms>`")
    kept_terms, dropped, reads = [], set(), []
    for sign, term in _split_terms(last.value):
        names = _names(term)
        used = names & set(dot_of)
        if len(used) != 1:
            raise RuleError(
                f"the tangent rule {rule.template.__qualname__}: the term must be linear in exactly one "
                f"tangent, but it reads {sorted(used) or 'none'}")
        param = dot_of[used.pop()]
        if param in kept:
            kept_terms.append((sign, term))
            reads.append(frozenset(names & (set(params))))
        else:
            dropped.add(param)
    if not kept_terms:
        return None
    last.value = _join_terms(kept_terms, last.value)
    new_parsed = dataclasses.replace(parsed, node=node)
    try:
        function = lower_function(new_parsed, extra_inputs=[p + "_dot" for p in params[1:]], template=True)
    except Exception as exc:
        raise RuleError(f"the tangent rule {rule.template.__qualname__} cannot be read: {exc}") from exc
    return _Pruned(function, bool(dropped) and rule.elementwise, frozenset(dropped), tuple(reads))


# ------------------------------------------------------------------ activity


def _pairs(fn: ir.Function):
    pushes = [s for s in ir.walk(fn.body) if isinstance(s, ir.Push)]
    pops = [s for s in ir.walk(fn.body) if isinstance(s, ir.Pop)]
    for pop in pops:
        if pop.of is None:
            raise RuleError("forward mode needs every tape pop to name the value it restores (Pop.of)")
    return pushes, pops


def active_for_tangents(fn: ir.Function, wrt_vars) -> set:
    """Vars that need a tangent: varied by `wrt_vars` and useful to the result.

    A popped value is varied when the value pushed is; a pushed value is useful
    when the popped one is; the values an adjoint program writes back with
    ``restore`` are always useful (they are read again through the buffer).
    In one half of a subroutine's adjoint (`_shares_tape`) the other half is not
    in sight: every value on the tape counts as both.
    """
    pushes, pops = _pairs(fn)
    inputs = set(wrt_vars)
    if _shares_tape(fn):
        inputs |= {p.target for p in pops}
    while True:
        varied = varied_vars(fn, inputs)
        extra = {p.target for p in pops if p.of in varied} - inputs
        if not extra:
            break
        inputs |= extra
    outputs = {fn.result} if isinstance(fn.result, ir.Var) else set()
    if _shares_tape(fn):
        outputs |= {p.value for p in pushes if isinstance(p.value, ir.Var)}
    for s in ir.walk(fn.body):
        if isinstance(s, ir.Assign) and s.func.value is restore:
            outputs.update(a for a in (s.args[0], s.args[2]) if isinstance(a, ir.Var))
    while True:
        useful = useful_vars(fn, outputs)
        extra = {p.of for p in pops if p.target in useful and isinstance(p.of, ir.Var)} - outputs
        if not extra:
            break
        outputs |= extra
    return varied & useful


def _shares_tape(fn: ir.Function) -> bool:
    """Is `fn` a half of a subroutine's adjoint, whose tape the other half fills or empties?"""
    return any(isinstance(s, ir.Assign) and s.func.value in (current_tape, use_tape) for s in ir.walk(fn.body))


def _mutated(fn: ir.Function) -> set:
    """Vars whose buffer some in-place statement (setitem, add_at, restore) writes."""
    find = buffer_chains(fn, views=False)
    written = {
        find(s.args[0])
        for s in ir.walk(fn.body)
        if isinstance(s, ir.Assign) and s.func.value in (setitem, ADD_AT, restore, list_append, unappend)
        and isinstance(s.args[0], ir.Var)
    }
    return {v for v in ir.all_defs(fn.body) + [p.var for p in fn.params] if find(v) in written}


# ------------------------------------------------------------------ the transformation


def _is_number(value) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


_FRESH_FUNCS = {runtime.unreduce, runtime.zeros_like, np.copy, runtime.fresh_copy, runtime.scatter_add, runtime.zero_at}


@dataclass
class _Forward:
    """One forward transformation. Created per call of `forward_function`, then dropped."""

    fn: ir.Function
    namer: Namer
    active: set
    mutated: set
    tangent_bases: dict = field(default_factory=dict)
    pushed: dict = field(default_factory=dict)  # pushed value -> the tangent pushed with it
    problems: list = field(default_factory=list)  # calls with no tangent rule, all reported together at the end
    tapes: set = field(default_factory=set)  # the tape a subroutine's forward half returns: no tangent
    whole_tape: bool = False  # a half of a subroutine's adjoint: every value on the tape has its tangent

    # ------------------------------------------------------------ names

    def tangent_base(self, var: ir.Var) -> str:
        if var.base in ("t", "t_bar"):
            return "t"  # a temporary's tangent is a temporary too
        if var.base not in self.tangent_bases:
            primal = {v.base for v in ir.all_defs(self.fn.body)} | {p.var.base for p in self.fn.params}
            candidate, k = var.base + "_dot", 2
            while candidate in primal:
                candidate, k = f"{var.base}_dot{k}", k + 1
            self.tangent_bases[var.base] = candidate
        return self.tangent_bases[var.base]

    def fresh_tangent(self, var) -> ir.Var:
        if not isinstance(var, ir.Var):
            return self.namer.temp()
        base = self.tangent_base(var)
        if base == "t":  # the tangent of a temporary: named after it by codegen (t3 -> t3_dot)
            temp = self.namer.temp()
            return ir.Var(temp.name, "t_dot", var)
        return self.namer.fresh(base)

    def is_active(self, atom) -> bool:
        return isinstance(atom, ir.Var) and atom in self.active

    # ------------------------------------------------------------ zeros

    def zeros(self, like, out, loc, name_for=None):
        """A zero tangent for `like` (a number: 0.0; else ``zeros_like(like)``)."""
        if isinstance(like, ir.Const):
            return ir.Const(0.0) if _is_number(like.value) else ir.Const(None)
        if isinstance(like, ir.Ref):
            if _is_number(like.value):
                return ir.Const(0.0)
            if not isinstance(like.value, np.ndarray):  # a function, module, class: no tangent
                return ir.Const(None)
            # a data global read live (`return TABLE`): its tangent is an array of zeros, never None
        elif like in self.tapes:
            return ir.Const(None)
        var = self.fresh_tangent(name_for or like)
        out.append(ir.Assign(var, ZEROS_LIKE, [like], [], loc))
        return var

    def tangent_or_zeros(self, atom, env, out, loc):
        t = env.get(atom) if self.is_active(atom) else None
        return t if t is not None else self.zeros(atom, out, loc)

    # ------------------------------------------------------------ blocks

    def block(self, stmts, env) -> list:
        out = []
        for stmt in stmts:
            if isinstance(stmt, ir.Assign) and isinstance(stmt.func.value, Routine):
                out.extend(_routine_call(self, stmt, env))
            elif isinstance(stmt, ir.Assign):
                out.append(stmt)
                if self.is_active(stmt.target) or stmt.func.value is restore:
                    try:
                        out.extend(self.assign(stmt, env))
                    except NoDerivativeError as exc:  # go on, to list every call without a rule at once
                        self.problems.append(exc)
            elif isinstance(stmt, ir.If):
                out.extend(self.branch(stmt, env))
            elif isinstance(stmt, (ir.For, ir.While)):
                out.extend(self.loop(stmt, env))
            elif isinstance(stmt, ir.Push):
                out.append(stmt)
                if self.is_active(stmt.value) or self.whole_tape:
                    pushed = self.tangent_or_zeros(stmt.value, env, out, stmt.loc)
                    self.pushed[stmt.value] = pushed  # the pop names it (Pop.of)
                    out.append(ir.Push(pushed, stmt.loc))
            elif isinstance(stmt, ir.Pop):
                if self.is_active(stmt.of) or self.whole_tape:
                    t = self.fresh_tangent(stmt.target)
                    out.append(ir.Pop(t, stmt.loc, self.pushed.get(stmt.of, env.get(stmt.of)) or stmt.of))
                    if self.is_active(stmt.target):
                        env[stmt.target] = t
                out.append(stmt)
            else:
                out.append(stmt)
        return out

    # ------------------------------------------------------------ assignments

    def assign(self, stmt: ir.Assign, env) -> list:
        func = stmt.func.value
        loc = stmt.loc
        out: list = []
        if func is identity:
            if self.is_active(stmt.args[0]) and env.get(stmt.args[0]) is not None:
                env[stmt.target] = env[stmt.args[0]]
            else:
                self.active.discard(stmt.target)
            return out
        if func in (pack_tuple, pack_list, pack_dict, pack_namedtuple):
            items = pack_items(func, stmt.args)
            if not any(self.is_active(a) for a in items):
                self.active.discard(stmt.target)
                return out
            head = stmt.args[: len(stmt.args) - len(items)]  # a dict's keys, a namedtuple's class
            items = [self.tangent_or_zeros(a, env, out, loc) for a in items]
            t = self.fresh_tangent(stmt.target)
            out.append(ir.Assign(t, stmt.func, list(head) + items, [], loc))
            env[stmt.target] = t
            return out
        if func is list_append or func is runtime.appended:
            # the tangent list grows with the list: items.append(v) -> items_dot.append(v_dot) (or appended)
            items, value = stmt.args
            items_dot = env.get(items) if self.is_active(items) else None
            if items_dot is None and not self.is_active(value):
                self.active.discard(stmt.target)
                return out
            if items_dot is None:
                # zeros for the items before this one: the list already holds the value (one object)
                whole = self.zeros(stmt.target, out, loc, name_for=stmt.target)
                items_dot = self.fresh_tangent(stmt.target)  # named: the append below changes it in place
                out.append(ir.Assign(items_dot, ir.prim(operator.getitem), [whole, ir.Const(slice(None, -1))], [], loc))
            value_dot = self.tangent_or_zeros(value, env, out, loc)
            t = self.fresh_tangent(stmt.target)
            out.append(ir.Assign(t, stmt.func, [items_dot, value_dot], [], loc))
            env[stmt.target] = t
            return out
        if func is runtime.pad_none:
            parts, like = stmt.args
            if not self.is_active(parts) or env.get(parts) is None:
                self.active.discard(stmt.target)
                return out
            t = self.fresh_tangent(stmt.target)
            out.append(ir.Assign(t, stmt.func, [env[parts], like], [], loc))
            env[stmt.target] = t
            return out
        if func is runtime.add_sequences:
            # item-by-item addition is linear: its tangent is the item-by-item sum of the tangents
            if not any(self.is_active(a) for a in stmt.args):
                self.active.discard(stmt.target)
                return out
            parts = [self.tangent_or_zeros(a, env, out, loc) for a in stmt.args]
            t = self.fresh_tangent(stmt.target)
            out.append(ir.Assign(t, stmt.func, parts, [], loc))
            env[stmt.target] = t
            return out
        if func is unappend:
            y = stmt.args[0]
            if self.is_active(y) and env.get(y) is not None:
                out.append(ir.Assign(self.namer.temp(), stmt.func, [env[y]], [], loc))
            return out
        if func is setitem:
            return self.inplace(stmt, env, setitem)
        if func is ADD_AT:
            return self.inplace(stmt, env, ADD_AT)
        if func is restore:
            y, index, saved = stmt.args
            if self.is_active(y) and env.get(y) is not None:
                value = self.tangent_or_zeros(saved, env, out, loc)
                out.append(ir.Assign(self.namer.temp(), stmt.func, [env[y], index, value], [], loc))
            return out
        rule = registry.tangent_rule(func)
        if rule is None:
            if registry.is_nondifferentiable(func):
                return out
            name = _primal_name(func)
            raise NoDerivativeError(
                f"{name} has no tangent (forward-mode) rule, and s2sad cannot read its source",
                loc,
                hint=("register one, e.g.\n"
                      f"    @s2sad.tangent({name})\n"
                      "    def my_rule(y, x):\n"
                      "        y_dot = x_dot * <dy/dx>\n"
                      f"or, if it has no derivative, s2sad.nondifferentiable({name})"),
            )
        out.extend(self.instantiate(rule, stmt, env))
        return out

    def inplace(self, stmt, env, func) -> list:
        """``x[i] = v`` (or ``add_at(x, i, v)``): update the tangent array the same way."""
        out: list = []
        base, index, value = stmt.args
        loc = stmt.loc
        base_dot = env.get(base) if self.is_active(base) else None
        if base_dot is None and not self.is_active(value):
            self.active.discard(stmt.target)
            return out
        if base_dot is None:
            base_dot = self.zeros(base, out, loc, name_for=stmt.target)
        if not self.is_active(value) and func is ADD_AT:
            env[stmt.target] = base_dot
            return out
        value_dot = env.get(value) if self.is_active(value) else None
        if value_dot is None:
            value_dot = ir.Const(0.0)
        t = self.fresh_tangent(stmt.target)
        ref = ir.prim(setitem) if func is setitem else ir.Ref(("add_at",), ADD_AT)
        out.append(ir.Assign(t, ref, [base_dot, index, value_dot], [], loc))
        env[stmt.target] = t
        return out

    def instantiate(self, rule, stmt: ir.Assign, env) -> list:
        """Splice in the rule's tangent template, keeping the terms of active arguments."""
        bound = bind_template(rule, stmt, stmt.target)
        kept = set()
        for name, value in bound.items():
            if name == rule.result_name:
                continue
            if isinstance(value, tuple):
                if any(self.is_active(v) for v in value):
                    kept.add(name)
            elif self.is_active(value):
                kept.add(name)
        pruned = pruned_template(rule, frozenset(kept))
        if pruned is None:
            # the active arguments only give shapes or indices: the result has no tangent
            self.active.discard(stmt.target)
            return []
        template = pruned.function
        refused = refused_arguments(template.body, None, stmt.loc)
        if refused:
            raise refused[0]
        out: list = []
        mapping = {}
        for p in template.params:
            name = p.var.name
            if name in bound:
                value = bound[name]
                if isinstance(value, tuple):  # *args: a tuple of atoms
                    packed = self.namer.temp()
                    out.append(ir.Assign(packed, ir.prim(pack_tuple), list(value), [], stmt.loc))
                    value = packed
                mapping[p.var] = value
            elif name.endswith("_dot") and name[:-4] in kept:
                value = bound[name[:-4]]
                if isinstance(value, tuple):
                    items = [self.tangent_or_zeros(v, env, out, stmt.loc) for v in value]
                    packed = self.namer.temp()
                    out.append(ir.Assign(packed, ir.prim(pack_tuple), items, [], stmt.loc))
                    mapping[p.var] = packed
                else:
                    mapping[p.var] = self.tangent_or_zeros(value, env, out, stmt.loc)
        export = template.exports.get(rule.result_name + "_dot")
        spread = pruned.needs_spread and not self._terms_cover(pruned, bound)
        target_t = self.fresh_tangent(stmt.target)
        final_name = {}
        if isinstance(export, ir.Var) and not spread:
            final_name[export] = target_t

        def rename(var):
            if var in final_name:
                return final_name[var]
            return self.namer.temp() if var.base == "t" or var.base.endswith("_dot") else self.namer.fresh(var.base)

        body = ir.substitute(template.body, mapping, rename_defs=rename)
        for s in ir.walk(body):
            if hasattr(s, "loc"):
                s.loc = stmt.loc
        out.extend(body)
        full = dict(mapping)
        for old, new in zip(ir.all_defs(template.body), ir.all_defs(body)):
            full[old] = new
        result = full.get(export, export) if isinstance(export, ir.Var) else export
        if spread:
            out.append(ir.Assign(target_t, SPREAD, [result, stmt.target], [], stmt.loc))
            result = target_t
        if stmt.target in self.mutated and not self._fresh(result, out):
            copied = self.fresh_tangent(stmt.target)
            out.append(ir.Assign(copied, FRESH_COPY, [result], [], stmt.loc))  # a list stays a list
            result = copied
        env[stmt.target] = result
        return out

    @staticmethod
    def _terms_cover(pruned: _Pruned, bound) -> bool:
        """Does every kept term already have the result's shape?"""
        wide = set()
        for name in pruned.dropped:
            value = bound.get(name)
            if isinstance(value, (ir.Const, ir.Ref)) and _is_number(value.value):
                continue  # a number cannot widen the result
            wide.add(name)
        result = next(iter(bound))  # the result name is bound first
        return all(result in reads or wide <= reads for reads in pruned.term_reads)

    @staticmethod
    def _fresh(atom, out) -> bool:
        """Is `atom` computed by the statements in `out` as a new array (not a view or an alias)?"""
        from .analysis import _is_fresh_call

        for s in reversed(out):
            if isinstance(s, ir.Assign) and s.target == atom:
                try:
                    if s.func.value in _FRESH_FUNCS:
                        return True
                except TypeError:
                    pass
                return _is_fresh_call(s) and s.func.value is not identity
        return False

    # ------------------------------------------------------------ branches

    def branch(self, stmt: ir.If, env) -> list:
        sides = []
        for body, pick in ((stmt.then_body, lambda p: p.then_value), (stmt.else_body, lambda p: p.else_value)):
            side_env = dict(env)
            new_body = self.block(body, side_env)
            values = []
            for phi in stmt.phis:
                if self.is_active(phi.target):
                    values.append(self.tangent_or_zeros(pick(phi), side_env, new_body, stmt.loc))
            sides.append((new_body, side_env, values))
        (then_body, then_env, then_vals), (else_body, else_env, else_vals) = sides
        # values bound in a branch stay visible after it (the adjoint replays the branch)
        for key, value in list(then_env.items()) + list(else_env.items()):
            env.setdefault(key, value)
        phis = list(stmt.phis)
        active_phis = [phi for phi in stmt.phis if self.is_active(phi.target)]
        for phi, a, b in zip(active_phis, then_vals, else_vals):
            if isinstance(a, ir.Const) and isinstance(b, ir.Const) and not (
                    self.is_active(phi.then_value) or self.is_active(phi.else_value)):
                self.active.discard(phi.target)
                continue
            t = self.fresh_tangent(phi.target)
            phis.append(ir.Phi(t, a, b))
            env[phi.target] = t
        return [ir.If(stmt.cond, then_body, else_body, phis, stmt.loc)]

    # ------------------------------------------------------------ loops

    def loop(self, stmt, env) -> list:
        pre: list = []
        body_env = dict(env)
        tangent_carried = []
        for c in stmt.carried:
            if not (self.is_active(c.arg) or self.is_active(c.out)):
                continue
            init = self.tangent_or_zeros(c.init, env, pre, stmt.loc)
            arg_t = self.fresh_tangent(c.arg)
            body_env[c.arg] = arg_t
            tangent_carried.append((c, init, arg_t))
        if isinstance(stmt, ir.While):
            cond_body = self.block(stmt.cond_body, body_env)
        body = self.block(stmt.body, body_env)
        carried = list(stmt.carried)
        for c, init, arg_t in tangent_carried:
            nxt = body_env.get(c.next) if self.is_active(c.next) else None
            if nxt is None:
                nxt = self.zeros(c.next, body, stmt.loc)
            out_t = self.fresh_tangent(c.out)
            carried.append(ir.Carried(arg_t, init, nxt, out_t))
            env[c.out] = out_t
        if isinstance(stmt, ir.For):
            return pre + [ir.For(stmt.index, stmt.iterable, body, carried, stmt.reverse, stmt.loc)]
        return pre + [ir.While(cond_body, stmt.cond, body, carried, stmt.loc)]


def _routine_call(fwd: _Forward, stmt: ir.Assign, env) -> list:
    """``y = helper(x, n)`` where the helper is a routine of its own (:mod:`subroutines`):
    ``y, y_dot = helper_jvp(x, n, x_dot)``, with a tangent for each argument active here."""
    y, loc, routine = stmt.target, stmt.loc, stmt.func.value
    mask = tuple(fwd.is_active(a) for a in stmt.args)
    if not fwd.is_active(y) or not any(mask):
        fwd.active.discard(y)
        return [stmt]
    jvp = derived(routine, "jvp", mask)
    out: list = []
    tangents = [fwd.tangent_or_zeros(a, env, out, loc) for a, m in zip(stmt.args, mask) if m]
    pair, y_dot = fwd.namer.temp(), fwd.fresh_tangent(y)
    getitem = ir.prim(operator.getitem)
    out += [ir.Assign(pair, ir.Ref((jvp.name,), jvp, jvp), list(stmt.args) + tangents, [], loc),
            ir.Assign(y, getitem, [pair, ir.Const(0)], [], loc),
            ir.Assign(y_dot, getitem, [pair, ir.Const(1)], [], loc)]
    env[y] = y_dot
    return out


def forward_function(fn: ir.Function, wrt, *, name: str | None = None, output: str = "both",
                     const_seeds: dict | None = None) -> ir.Function:
    """Build the tangent (JVP) program of `fn`.

    Args:
        fn: verified SSA IR of a function (a user function, or generated code:
            an adjoint program with its tape is fine).
        wrt: positions of the parameters to differentiate.
        name: the generated function's name (default ``jvp_<name>``).
        output: "both" returns ``(value, value_dot)``; "tangent" returns only
            ``value_dot``.
        const_seeds: ``{position: number}``: fix the tangent of those
            parameters to a constant instead of taking it as a parameter (used
            for derivatives of scalar functions, where the seed is 1).

    Returns:
        IR of a function taking ``fn``'s parameters followed by one tangent
        ``<name>_dot`` per position in `wrt` (except constant seeds).
    """
    const_seeds = dict(const_seeds or {})
    params = [p.var for p in fn.params]
    wrt_vars = [params[i] for i in wrt]
    active = active_for_tangents(fn, wrt_vars)
    fn = guard_float_destinations(fn, active)
    namer = Namer(p.var.name for p in fn.params)
    defs = ir.all_defs(fn.body)
    namer.taken.update(v.name for v in defs)
    namer.temps = max([int(v.name[1:]) for v in defs if v.base == "t" and v.name[1:].isdigit()] or [0])
    fwd = _Forward(fn, namer, active, _mutated(fn))
    fwd.problems.extend(unseen_method_calls(fn, wrt_vars, active))
    fwd.whole_tape = _shares_tape(fn)
    fwd.tapes = {s.target for s in ir.walk(fn.body) if isinstance(s, ir.Assign) and s.func.value is current_tape}
    env: dict = {}
    tangent_params = []
    for i, var in zip(wrt, wrt_vars):
        if i in const_seeds:
            env[var] = ir.Const(const_seeds[i])
            continue
        t = fwd.fresh_tangent(var) if var.base != "t" else namer.fresh(var.name + "_dot")
        tangent_params.append(ir.Param(t))
        env[var] = t
    for var in wrt_vars:
        if var not in active:
            active.add(var)  # its tangent exists even if nothing reads it
    try:
        body = fwd.block(fn.body, env)
    except Exception:
        if not fwd.problems:
            raise
        # otherwise a knock-on failure of a call already found without a rule: report those
    raise_problems(fwd.problems, fn.name, fn.filename)
    result = fn.result
    tail: list = []
    result_dot = env.get(result) if fwd.is_active(result) else None
    if result_dot is None:
        result_dot = fwd.zeros(result, tail, fn.result_loc, name_for=result)
    elif _may_make_complex(fn):
        # no tangent rule follows a complex convention (np.abs of a complex value): refuse a complex
        # tangent of a real value (reverse mode refuses in unbroadcast)
        checked = namer.fresh(result_dot.base) if isinstance(result_dot, ir.Var) else namer.temp()
        tail.append(ir.Assign(checked, REAL_TANGENT, [result_dot, result], [], fn.result_loc))
        result_dot = checked
    if output == "both":
        final = namer.temp()
        tail.append(ir.Assign(final, ir.prim(pack_tuple), [result, result_dot], [], None))
    elif output == "tangent":
        final = result_dot
    else:
        raise ValueError(output)
    new = ir.Function(
        name=name or f"jvp_{fn.name}",
        # defaults stay when no tangent parameter follows (derivative<n> takes f's own signature)
        params=[ir.Param(p.var, None if tangent_params else p.default) for p in fn.params] + tangent_params,
        body=body + tail,
        result=final,
        filename=fn.filename,
        firstline=fn.firstline,
        doc=None,
        result_loc=fn.result_loc,
    )
    return ir.verify_pass(new)


REAL_TANGENT = ir.Ref(("real_tangent",), runtime.real_tangent)
_COMPLEX_NAMES = {"complex", "complex64", "complex128", "complex256", "clongdouble", "csingle", "cdouble", "c8",
                  "c16", "F", "D"}


def _may_make_complex(fn: ir.Function) -> bool:
    """Does `fn` mention a complex number or dtype (``1j``, ``np.complex128``, ``astype(complex)``)?
    Without one, real arguments give real values all through."""
    for stmt in ir.walk(fn.body):
        if not isinstance(stmt, ir.Assign):
            continue
        for atom in list(stmt.args) + [a for _, a in stmt.kwargs] + [stmt.func]:
            value = getattr(atom, "value", None)
            if isinstance(value, (complex, np.complexfloating)) or (
                    isinstance(value, (str, type)) and getattr(value, "__name__", value) in _COMPLEX_NAMES):
                return True
    return False


def constant_seed_tangent(fn: ir.Function, position: int, *, name: str | None = None) -> ir.Function:
    """The derivative of `fn` in its parameter `position` with the tangent seeded by 1.0.

    For a scalar parameter this is d fn / d x; applying it again gives higher
    derivatives (each time forward mode on the previous generated program).
    """
    return forward_function(fn, [position], name=name, output="tangent", const_seeds={position: 1.0})
