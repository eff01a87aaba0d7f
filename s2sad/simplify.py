"""Simplify: exact clean-ups of generated IR.

* copy propagation: ``y = x`` and phis whose two sides agree disappear;
* ``(a, b)[0]`` is ``a``; ``1.0 * x`` is ``x`` (exact for floats);
* dead code: pure statements, phis and loop-carried values nobody reads go.

Nothing here changes a value the program computes; each rewrite is exact.
"""

from __future__ import annotations

import builtins
import operator

import numpy as np

from . import ir, runtime
from .analysis import buffer_chains
from .primitives import (Attr, Method, identity, list_append, module_name, pack_dict, pack_list, pack_namedtuple,
                         pack_tuple, restore, setitem, unappend)
from .rules import registry

_PURE_BUILTINS = {
    builtins.len, builtins.range, builtins.abs, builtins.min, builtins.max, builtins.sum, builtins.float,
    builtins.int, builtins.bool, builtins.slice, builtins.tuple, builtins.list, builtins.round, builtins.pow,
    builtins.enumerate, builtins.zip, builtins.isinstance, builtins.divmod, builtins.complex, builtins.reversed,
}
_IMPURE_METHODS = {
    "normal", "uniform", "random", "integers", "standard_normal", "choice", "shuffle", "permutation",
    "exponential", "poisson", "binomial", "beta", "gamma", "rand", "randn", "randint",
}
_PURE_RUNTIME = {runtime.unbroadcast, runtime.unreduce, runtime.zeros_like, runtime.scatter_add, runtime.zero_at, runtime.zero_at_like,
                 runtime.pad_none, runtime.add_sequences, runtime.detach, runtime.own, runtime.fresh_copy,
                 runtime.shape_of, runtime.index_after_loop}


def is_pure(stmt) -> bool:
    """Can `stmt` be dropped when nobody reads its result?"""
    if not isinstance(stmt, ir.Assign):
        return False
    func = stmt.func.value
    if func in (setitem, list_append):
        return False  # another name may see the write (a view); never dropped as dead
    if registry.writes_of(func) is not None or any(k == "out" for k, _ in stmt.kwargs):
        return False  # declared to write into an argument (lowering rewrites those it differentiates)
    if func in (identity, pack_tuple, pack_list, pack_dict, pack_namedtuple, operator.getitem) or isinstance(func, Attr):
        return True
    if isinstance(func, Method):
        return func.name not in _IMPURE_METHODS
    try:
        if func in _PURE_BUILTINS or func in _PURE_RUNTIME:
            return True
    except TypeError:
        return False
    module = module_name(func)
    if module in ("_operator", "operator", "math"):
        return True
    if isinstance(func, np.ufunc):
        return True
    if module.startswith("numpy") and not module.startswith("numpy.random"):
        return True
    if module.startswith("s2sad.rules") or getattr(func, "__name__", "") == "_concat_str":
        return True  # rule helpers, and the f-string primitive
    if isinstance(func, type) and issubclass(func, BaseException):
        return True  # building an exception (to raise) has no effect of its own
    return False


def is_pure_remembered(stmt, memo: dict) -> bool:
    """`is_pure`, remembered per function object for one sweep: without ``out=`` the
    answer depends on the function alone, and a long program calls the same few thousands of times."""
    if not isinstance(stmt, ir.Assign) or stmt.kwargs:
        return is_pure(stmt)
    func = stmt.func.value
    known = memo.get(id(func))
    if known is None or known[0] is not func:
        known = memo[id(func)] = (func, is_pure(stmt))  # holding func keeps its id from being reused
    return known[1]


def _one(atom) -> bool:
    return isinstance(atom, ir.Const) and type(atom.value) in (int, float) and atom.value == 1


def _rewritable(func) -> bool:
    """Is `func` one the local rewrites below look at (``1.0 * x``, ``x ** 1``, tuples)?"""
    return func is operator.mul or func is operator.pow or func is np.power or func is pack_tuple \
        or func is operator.getitem


def _rewrite_block(stmts, mapping, packs, mutated=frozenset()) -> bool:
    """One pass of local rewrites; records replacements in `mapping`. Returns True if changed.

    ``1.0 * x`` and ``x ** 1`` become ``x`` only when no in-place update writes
    the result: otherwise the update would write into ``x`` itself.
    """
    changed = False
    for stmt in stmts:
        if stmt.__class__ is not ir.Assign:
            for child in ir.child_blocks(stmt):
                changed |= _rewrite_block(child, mapping, packs, mutated)
        if isinstance(stmt, ir.Assign):
            if stmt.target in mapping:
                continue
            func = stmt.func.value
            args = stmt.args
            if func is identity:
                mapping[stmt.target] = args[0]
                changed = True
            elif not _rewritable(func):
                pass  # none of the rewrites below applies; skip the in-place check
            elif stmt.target in mutated or any(a in mutated for a in args if isinstance(a, ir.Var)):
                pass  # `out * 1.0` is a new array: it must stay apart from `out`, which is updated in place
            elif func is operator.mul and len(args) == 2 and _one(args[0]) and isinstance(args[1], ir.Var):
                mapping[stmt.target] = args[1]
                changed = True
            elif func is operator.mul and len(args) == 2 and _one(args[1]) and isinstance(args[0], ir.Var):
                mapping[stmt.target] = args[0]
                changed = True
            elif func in (operator.pow, np.power) and len(args) == 2 and _one(args[1]) and isinstance(args[0], ir.Var) \
                    and not stmt.kwargs:
                mapping[stmt.target] = args[0]  # x ** 1 is x
                changed = True
            elif func is pack_tuple:
                packs[stmt.target] = list(args)
            elif func is operator.getitem and isinstance(args[0], ir.Var) and args[0] in packs \
                    and isinstance(args[1], ir.Const) and isinstance(args[1].value, int):
                items = packs[args[0]]
                if -len(items) <= args[1].value < len(items):
                    mapping[stmt.target] = items[args[1].value]
                    changed = True
        elif isinstance(stmt, ir.If):
            for phi in stmt.phis:
                if phi.target not in mapping and phi.then_value == phi.else_value:
                    mapping[phi.target] = phi.then_value
                    changed = True
        elif isinstance(stmt, (ir.For, ir.While)):
            for c in stmt.carried:
                if c.out not in mapping and c.next == c.arg:
                    mapping[c.arg] = c.init
                    mapping[c.out] = c.init
                    changed = True
    return changed


_FOLDABLE = {
    operator.is_, operator.is_not, operator.not_, operator.eq, operator.ne, operator.lt, operator.le,
    operator.gt, operator.ge, operator.add, operator.sub, operator.mul, operator.neg, operator.pos,
}


def _foldable(func) -> bool:
    """Operators, and the small helpers of s2sad's own rule tables that have no derivative
    (``slope_exponent``): pure functions, safe to evaluate on literals."""
    try:
        if func in _FOLDABLE:
            return True
    except TypeError:
        return False
    module = module_name(func)
    return module.startswith("s2sad.rules") and registry.is_nondifferentiable(func)


def _literal_value(stmt):
    """The value of a call of one of s2sad's rule helpers that, given its first argument as a literal,
    reads no other (``slope_exponent(2, x)`` is 1): what its ``literal_value`` says, or None."""
    fold = getattr(stmt.func.value, "literal_value", None)
    if fold is None or stmt.kwargs or not stmt.args or not isinstance(stmt.args[0], ir.Const) \
            or not module_name(stmt.func.value).startswith("s2sad.rules"):
        return None
    value = fold(stmt.args[0].value)
    return value if isinstance(value, (bool, int, float)) else None


def _fold_constants(stmts, mapping) -> tuple[list, bool]:
    """Evaluate operators on literals, and keep only the taken side of an `if` on a literal.

    Rule templates are written for every call (``x if axis is None else ...``);
    at a call site with ``axis=None`` the test is a literal, and the generated
    code should not carry the branch that can never run.
    """
    changed = False
    out = []
    for stmt in stmts:
        if isinstance(stmt, ir.Assign) and not stmt.kwargs and stmt.args \
                and all(isinstance(a, ir.Const) for a in stmt.args) and _foldable(stmt.func.value) \
                and all(isinstance(a.value, (bool, int, float, str, type(None))) for a in stmt.args):
            try:
                value = stmt.func.value(*(a.value for a in stmt.args))
            except Exception:  # leave it for run time, where Python raises it as the user expects
                value = None
                folded = False
            else:
                folded = isinstance(value, (bool, int, float, str, type(None)))
            if folded:
                mapping[stmt.target] = ir.Const(value)
                changed = True
                continue
        if isinstance(stmt, ir.Assign) and (value := _literal_value(stmt)) is not None:
            mapping[stmt.target] = ir.Const(value)
            changed = True
            continue
        if isinstance(stmt, ir.If) and isinstance(stmt.cond, ir.Const):
            taken = bool(stmt.cond.value)
            body = stmt.then_body if taken else stmt.else_body
            body, _ = _fold_constants(body, mapping)
            out.extend(body)
            for phi in stmt.phis:
                mapping[phi.target] = phi.then_value if taken else phi.else_value
            changed = True
            continue
        if stmt.__class__ is ir.Assign:  # no blocks inside (the common case on a long function)
            out.append(stmt)
            continue
        for attr in ("then_body", "else_body", "body", "cond_body"):
            block = getattr(stmt, attr, None)
            if isinstance(block, list):
                new, c = _fold_constants(block, mapping)
                setattr(stmt, attr, new)
                changed |= c
        out.append(stmt)
    return out, changed


def _written_in_place(fn) -> set:
    """Values whose buffer an in-place update (x[i] = v, x_bar[i] += g) writes, or whose identity a
    run-time alias check (``not_a_view(y, r)`` before ``r += v``) compares: ``r = y * 1.0`` made ``r = y``
    would fail that check, where the function's ``r`` is a new array."""
    find = buffer_chains(fn, views=True)
    writes = (setitem, runtime.add_at, restore, list_append, unappend, runtime.zero_in_place)
    written = {find(s.args[0]) for s in ir.walk(fn.body) if isinstance(s, ir.Assign) and s.func.value in writes}
    written |= {find(a) for s in ir.walk(fn.body) if isinstance(s, ir.Assign) and s.func.value is runtime.not_a_view
                for a in s.args[:2] if isinstance(a, ir.Var)}
    return {v for v in ir.all_defs(fn.body) + [p.var for p in fn.params] if find(v) in written}


def _atom_key(a):
    if isinstance(a, ir.Var):
        return a  # (equal by name)
    if isinstance(a, ir.Const):
        return ("const", type(a.value).__name__, repr(a.value))
    if isinstance(a, ir.Ref):
        return ("ref", a.path, id(a.value))
    return None


def _expression_key(stmt, mapping=None, func_keys=None):
    """What an Assign computes, as a hashable key, or None. Reads of values already found
    to repeat an earlier one (`mapping`) count as reads of that one, so a chain of
    repeats is found in one sweep. `func_keys`: a dict remembering the primitives' keys for
    one sweep (their repr, which costs more than the rest of the key)."""
    mapping = mapping or {}
    get = mapping.get
    func = stmt.func.value
    if stmt.func.path:
        fkey = (id(func), stmt.func.path)
    elif func_keys is None:
        fkey = ("prim", repr(func))
    else:
        known = func_keys.get(id(func))
        if known is None or known[0] is not func:
            known = func_keys[id(func)] = (func, ("prim", repr(func)))  # holding func keeps its id unique
        fkey = known[1]
    # a Var (the common case) is its own key, inline
    args = tuple(_atom_key(get(a, a)) if a.__class__ is ir.Var else _atom_key(a) for a in stmt.args)
    kwargs = tuple((k, _atom_key(get(a, a) if a.__class__ is ir.Var else a)) for k, a in stmt.kwargs)
    return (fkey, args, kwargs)


def _common_subexpressions(stmts, mapping, available, written, purity=None, func_keys=None) -> bool:
    """Reuse the value of an identical pure statement that runs before (in this block or one
    enclosing it): ``x[i] * x[i]`` reads ``x[i]`` once. Arrays updated in place are never shared."""
    purity = {} if purity is None else purity
    func_keys = {} if func_keys is None else func_keys
    available = dict(available)
    changed = False
    for stmt in stmts:
        if stmt.__class__ is ir.Assign:  # the common case, first
            target = stmt.target
            if target in mapping or target in written or not is_pure_remembered(stmt, purity):
                continue
            func = stmt.func.value
            if func is setitem or func is list_append or func is identity:
                continue
            key = _expression_key(stmt, mapping, func_keys)
            earlier = available.get(key)
            if earlier is not None and earlier not in written:
                mapping[target] = earlier
                changed = True
            else:
                available[key] = target
        elif isinstance(stmt, ir.If):
            changed |= _common_subexpressions(stmt.then_body, mapping, available, written, purity, func_keys)
            changed |= _common_subexpressions(stmt.else_body, mapping, available, written, purity, func_keys)
        elif isinstance(stmt, ir.While):
            inner = dict(available)
            changed |= _common_subexpressions(stmt.cond_body + stmt.body, mapping, inner, written, purity, func_keys)
        elif isinstance(stmt, ir.For):
            changed |= _common_subexpressions(stmt.body, mapping, available, written, purity, func_keys)
    return changed


def _follow_adjoint_links(fn, mapping) -> None:
    """An adjoint remembers which value it is the adjoint of (for its name, ``t3_bar``);
    when that value is replaced by another, the link follows it."""
    for v in ir.all_defs(fn.body):
        if v.of is not None and isinstance(mapping.get(v.of), ir.Var):
            object.__setattr__(v, "of", mapping[v.of])  # naming metadata only; not part of identity


def _resolve(mapping):
    def follow(a):
        seen = set()
        while isinstance(a, ir.Var) and a in mapping and a not in seen:
            seen.add(a)
            a = mapping[a]
        return a

    return {k: follow(k) for k in mapping}


def _drop_mapped(stmts, mapping):
    """Remove the definitions that copy propagation replaced."""
    out = []
    for stmt in stmts:
        if isinstance(stmt, ir.Assign) and stmt.target in mapping:
            continue
        if isinstance(stmt, ir.If):
            stmt.then_body = _drop_mapped(stmt.then_body, mapping)
            stmt.else_body = _drop_mapped(stmt.else_body, mapping)
            stmt.phis = [p for p in stmt.phis if p.target not in mapping]
        elif isinstance(stmt, (ir.For, ir.While)):
            if isinstance(stmt, ir.While):
                stmt.cond_body = _drop_mapped(stmt.cond_body, mapping)
            stmt.body = _drop_mapped(stmt.body, mapping)
            stmt.carried = [c for c in stmt.carried if c.out not in mapping]
        out.append(stmt)
    return out


def use_counts(fn) -> dict:
    """How many times each Var is read anywhere in `fn` (phi inputs, loop yields and the result included)."""
    counts: dict = {}
    for stmt in ir.walk(fn.body):
        if stmt.__class__ is ir.Assign:  # the common case, first (a long function has many)
            for a in stmt.args:
                if a.__class__ is ir.Var:
                    counts[a] = counts.get(a, 0) + 1
            for _, a in stmt.kwargs:
                if a.__class__ is ir.Var:
                    counts[a] = counts.get(a, 0) + 1
            continue
        reads = [a for a in ir.uses(stmt) if isinstance(a, ir.Var)]
        if isinstance(stmt, ir.If):
            reads += [a for p in stmt.phis for a in (p.then_value, p.else_value) if isinstance(a, ir.Var)]
        if isinstance(stmt, (ir.For, ir.While)):
            reads += [c.next for c in stmt.carried if isinstance(c.next, ir.Var)]
        if isinstance(stmt, ir.While) and isinstance(stmt.cond, ir.Var):
            reads.append(stmt.cond)
        for v in reads:
            counts[v] = counts.get(v, 0) + 1
    if isinstance(fn.result, ir.Var):
        counts[fn.result] = counts.get(fn.result, 0) + 1
    return counts


def _forget(counts, atoms) -> None:
    """A dropped statement no longer reads `atoms`."""
    for a in atoms:
        if isinstance(a, ir.Var):
            counts[a] -= 1


def _dce_block(stmts, counts) -> tuple[list, bool]:
    """Drop what nobody reads, sweeping the block backwards: a statement's reads are
    forgotten when it goes, so a whole dead chain ``a = f(x); b = g(a)`` goes in one sweep.
    Only pure statements go (`is_pure`: never a declared write, ``out=`` or in-place update)."""
    changed = False
    out = []
    for stmt in reversed(stmts):
        if isinstance(stmt, ir.Assign) and not counts.get(stmt.target) and is_pure(stmt):
            _forget(counts, ir.uses(stmt))
            changed = True
            continue
        if isinstance(stmt, ir.If):
            kept = []
            for p in stmt.phis:
                if counts.get(p.target):
                    kept.append(p)
                else:
                    _forget(counts, (p.then_value, p.else_value))
            changed |= len(kept) != len(stmt.phis)
            stmt.phis = kept
            stmt.then_body, c1 = _dce_block(stmt.then_body, counts)
            stmt.else_body, c2 = _dce_block(stmt.else_body, counts)
            changed |= c1 or c2
            if not stmt.then_body and not stmt.else_body and not stmt.phis:
                _forget(counts, ir.uses(stmt))
                changed = True
                continue
        elif isinstance(stmt, (ir.For, ir.While)):
            # a carried value is dead when nothing after the loop reads it and the
            # body reads its block argument only to yield it again
            kept = []
            for c in stmt.carried:
                other_nexts = {d.next for d in stmt.carried if d is not c}
                body_only_reads = _reads_excluding_yields(stmt, c)
                if not counts.get(c.out) and c.arg not in body_only_reads and c.arg not in other_nexts:
                    _forget(counts, (c.init, c.next))
                    changed = True
                    continue
                kept.append(c)
            stmt.carried = kept
            stmt.body, c1 = _dce_block(stmt.body, counts)
            changed |= c1
            if isinstance(stmt, ir.While):
                stmt.cond_body, c0 = _dce_block(stmt.cond_body, counts)
                changed |= c0
            if isinstance(stmt, ir.For) and not stmt.body and not stmt.carried:
                _forget(counts, ir.uses(stmt))
                changed = True
                continue
        out.append(stmt)
    out.reverse()
    return out, changed


def _reads_excluding_yields(loop, carried) -> set:
    reads = set()
    for stmt in ir.walk(loop.body + (loop.cond_body if isinstance(loop, ir.While) else [])):
        for a in ir.uses(stmt):
            if isinstance(a, ir.Var):
                reads.add(a)
        if isinstance(stmt, ir.If):
            reads.update(v for p in stmt.phis for v in (p.then_value, p.else_value) if isinstance(v, ir.Var))
        if isinstance(stmt, (ir.For, ir.While)):
            reads.update(c.next for c in stmt.carried if isinstance(c.next, ir.Var))
    if isinstance(loop, ir.While) and isinstance(loop.cond, ir.Var):
        reads.add(loop.cond)
    return reads


def simplify(fn: ir.Function) -> ir.Function:
    """Apply the exact rewrites and dead-code removal to a fixpoint. Returns a new Function."""
    body = ir.substitute(fn.body, {})  # work on a copy
    fn = ir.Function(fn.name, list(fn.params), body, fn.result, fn.filename, fn.firstline, fn.doc, dict(fn.exports),
                     fn.result_loc)
    written = None
    for _ in range(50):
        mapping: dict = {}
        fn.body, changed = _fold_constants(fn.body, mapping)
        if written is None or changed:
            # the buffers written in place change only when a folded branch takes its writes away;
            # copy propagation keeps them (a replaced value's replacement joins the set below)
            written = _written_in_place(fn)
        changed |= _rewrite_block(fn.body, mapping, {}, written)
        if not mapping:
            changed |= _common_subexpressions(fn.body, mapping, {}, written)
        if mapping:
            mapping = _resolve(mapping)
            written |= {mapping[v] for v in written if isinstance(mapping.get(v), ir.Var)}
            _follow_adjoint_links(fn, mapping)
            fn.body = _drop_mapped(fn.body, mapping)
            fn.body = ir.substitute(fn.body, mapping)
            fn.result = mapping.get(fn.result, fn.result) if isinstance(fn.result, ir.Var) else fn.result
        fn.body, dce_changed = _dce_block(fn.body, use_counts(fn))
        if not (changed or dce_changed):
            break
    return ir.verify_pass(fn)


__all__ = ["simplify", "is_pure", "is_pure_remembered"]
