"""The adjoint of one assignment ``y = f(a, b)``: a rule's template spliced in with the call
site's atoms (`instantiate`), or the built-in adjoints of identity, item updates, appends, list
concatenation, container displays and tuple results; and a call of a subroutine as its forward and
reverse halves. Plain functions of the reversal state `rv` (a ``reverse._Reverser``)."""

from __future__ import annotations

import functools
import inspect
import operator

import numpy as np

from . import ir, runtime
from .errors import NoDerivativeError, RuleError
from .frontend import parse_function
from .lower import lower_function
from .primitives import (Attr, Method, identity, list_append, module_name, pack_dict, pack_items, pack_keys,
                         pack_list, pack_namedtuple, pack_tuple, restore, setitem, unappend)
from .rules import registry
from .rules.arrays import assigned_part, not_differentiated
from .subroutines import Routine, derived, still_read

ZEROS_LIKE = ir.Ref(("zeros_like",), runtime.zeros_like)
NP_COPY = ir.Ref(("np", "copy"), np.copy, np)
FRESH_COPY = ir.Ref(("fresh_copy",), runtime.fresh_copy)
ZERO_AT_LIKE = ir.Ref(("zero_at_like",), runtime.zero_at_like)
PAD_NONE = ir.Ref(("pad_none",), runtime.pad_none)
ZERO_IN_PLACE = ir.Ref(("zero_in_place",), runtime.zero_in_place)
DETACH = ir.Ref(("detach",), runtime.detach)
ASSIGNED_PART = ir.Ref(("assigned_part",), assigned_part)
# helpers that always return a new array nobody else refers to
_FRESH_HELPERS = (runtime.zero_at, runtime.zero_at_like, runtime.scatter_add, runtime.zeros_like, runtime.own)


def _primal_name(func) -> str:
    if isinstance(func, Attr):
        return f"the attribute .{func.name}"
    if isinstance(func, Method):
        return f"the method .{func.name}()"
    owner = getattr(func, "__self__", None)
    if type(owner).__name__ == "ufunc":  # np.add.reduce (its __qualname__ is ufunc.reduce)
        return f"np.{owner.__name__}.{func.__name__}"
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


_SIGNATURES: dict = {}  # id(template) -> (template, its __defaults__, its __kwdefaults__, signature)


def _template_signature(template) -> inspect.Signature:
    """`inspect.signature` of a rule's template, read once per template (and again if its defaults
    are replaced): a long function instantiates the same few templates thousands of times."""
    defaults = getattr(template, "__defaults__", None), getattr(template, "__kwdefaults__", None)
    known = _SIGNATURES.get(id(template))
    if known is None or known[0] is not template or known[1] is not defaults[0] or known[2] is not defaults[1]:
        known = (template, *defaults, inspect.signature(template))
        _SIGNATURES[id(template)] = known  # holding the template keeps its id from being reused
    return known[3]


def bind_template(rule: registry.Rule, stmt: ir.Assign, result_atom) -> dict:
    """Map the template's parameter names to the call site's atoms (defaults as Consts)."""
    sig = _template_signature(rule.template)
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


def refused_arguments(body, needed, loc) -> list:
    """NoDerivativeErrors for the ``not_differentiated(value, primal, param)`` marks of a rule's template
    among the values it must compute (`needed`; None: all): an argument it has no derivative in."""
    return [NoDerivativeError(f"{s.args[1].value} is not differentiated in its argument {s.args[2].value!r}, "
                              "which depends on a differentiated input here", loc,
                              hint=f"pass {s.args[2].value} as a constant (computed outside the function, or "
                              "from inputs that are not differentiated)")
            for s in ir.walk(body) if isinstance(s, ir.Assign) and s.func.value is not_differentiated
            and (needed is None or s.target in needed)]


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


def assign(rv, stmt: ir.Assign, env):
    forward = [stmt]
    func = stmt.func.value
    if isinstance(func, Routine):
        return _routine_call(rv, stmt, env)
    if func is setitem and (id(stmt) in rv.restores or _may_hold_a_container(rv, stmt)):
        # save what the update overwrites, so the reverse sweep can put it back (or, for a list's item
        # replaced by a container, shape the zero its adjoint leaves there like the old item)
        old = rv.namer.temp()
        saved = rv.namer.fresh(stmt.target.base + "_saved")
        forward = [
            ir.Assign(old, ir.prim(operator.getitem), [stmt.args[0], stmt.args[1]], [], stmt.loc),
            # an item of a list may be a list: np.copy would make it an array (or fail on ragged items)
            ir.Assign(saved, FRESH_COPY if stmt.args[0] in rv.sequences else NP_COPY, [old], [], stmt.loc),
            stmt,
        ]
        rv.saved[id(stmt)] = saved
    y = stmt.target
    grad = env.get(y) if rv.is_active(y) else None
    rev = []
    try:
        if grad is not None:
            rev = adjoint_of(rv, stmt, grad, env)
        elif y in rv.tuple_results and any(key[0] == y for key in env if isinstance(key, tuple)):
            rev = adjoint_of(rv, stmt, None, env)
    except NoDerivativeError as exc:  # go on, to list every call without a rule at once
        rv.problems.append(exc)
    if id(stmt) in rv.saved and id(stmt) in rv.restores:
        done = rv.namer.temp()
        rev.append(ir.Assign(done, ir.prim(restore), [y, stmt.args[1], rv.saved[id(stmt)]], [], stmt.loc))
    elif func is list_append and id(stmt) in rv.restores:
        # the reverse sweep reads the shorter list: take the appended value back off
        done = rv.namer.temp()
        rev.append(ir.Assign(done, ir.prim(unappend), [y], [], stmt.loc))
    return forward, rev


def _may_hold_a_container(rv, stmt: ir.Assign) -> bool:
    """Does ``lst[i] = v`` put into a list a value that may be a list (``rows[0] = [a, b]``)? Its
    adjoint's item is then zeroed as a list of zeros (``zero_at``), not as ``g[i] = 0.0`` in place."""
    value = stmt.args[2]
    return stmt.args[0] in rv.sequences and (value in rv.sequences or value in rv.elements)


def adjoint_of(rv, stmt: ir.Assign, grad, env):
    out = []
    func = stmt.func.value
    loc = stmt.loc
    if func is identity:
        rv.contribute(env, stmt.args[0], grad, out, loc)
        return out
    if func is setitem and id(stmt) in rv.saved and _may_hold_a_container(rv, stmt):
        # rows[i] = new_row: new_row receives the adjoint's item; the old row's zero has the old row's
        # structure, which new_row's need not have (a 2-item row replaced by a 1-item row)
        x, index, value = stmt.args
        if rv.is_active(value):
            part = rv.namer.temp()
            out.append(ir.Assign(part, ir.prim(operator.getitem), [grad, index], [], loc))
            rv.contribute(env, value, part, out, loc)
        if rv.is_active(x):
            zeroed = rv.fresh_adjoint(x)
            out.append(ir.Assign(zeroed, ZERO_AT_LIKE, [grad, index, rv.saved[id(stmt)]], [], loc))
            rv.contribute(env, x, zeroed, out, loc)
        return out
    if func is setitem and isinstance(grad, ir.Var) and grad in rv.owned and grad not in rv.sequences \
            and not _may_hold_a_container(rv, stmt):
        # y = x with y[index] = value, and y_bar is an array only the reverse sweep holds:
        # take value's part out (a copy if it is a view), then zero it in y_bar itself
        x, index, value = stmt.args
        if rv.is_active(value):
            part = rv.namer.temp()
            out.append(ir.Assign(part, ASSIGNED_PART, [grad, index, value], [], loc))
            taken = rv.namer.temp()
            out.append(ir.Assign(taken, DETACH, [part, grad], [], loc))
            rv.contribute(env, value, taken, out, loc)
        if rv.is_active(x):
            zeroed = rv.fresh_adjoint(x)
            out.append(ir.Assign(zeroed, ZERO_IN_PLACE, [grad, index], [], loc))
            rv.owned.add(zeroed)
            rv.contribute(env, x, zeroed, out, loc)
        return out
    if func is list_append or func is runtime.appended:
        # y is the list with the value at its end: the last adjoint is the value's, the rest the list's
        items, value = stmt.args
        if rv.is_active(value):
            last = rv.namer.temp()
            out.append(ir.Assign(last, ir.prim(operator.getitem), [grad, ir.Const(-1)], [], loc))
            rv.contribute(env, value, last, out, loc)
        if rv.is_active(items):
            rest = rv.namer.temp()
            out.append(ir.Assign(rest, ir.prim(operator.getitem), [grad, ir.Const(slice(None, -1))], [], loc))
            rv.contribute(env, items, rest, out, loc)
        return out
    if func is operator.add and len(stmt.args) == 2 and all(a in rv.sequences for a in stmt.args):
        # list + list is concatenation: the first len(a) adjoints are a's, the rest b's
        a, b = stmt.args
        n = rv.namer.temp()
        out.append(ir.Assign(n, ir.Ref(("len",), len), [a], [], loc))
        for operand, bounds in ((a, [ir.Const(None), n]), (b, [n, ir.Const(None)])):
            if rv.is_active(operand):
                cut = rv.namer.temp()
                out.append(ir.Assign(cut, ir.Ref(("slice",), slice), bounds, [], loc))
                part = rv.namer.temp()
                out.append(ir.Assign(part, ir.prim(operator.getitem), [grad, cut], [], loc))
                rv.contribute(env, operand, part, out, loc)
        return out
    if func is operator.mul and any(a in rv.sequences for a in stmt.args):
        # [v] * n: the adjoint of v would add the n repeats' adjoints, which `*` on the list adjoint
        # does not do (it repeats the list again)
        raise NoDerivativeError("repeating a list or tuple ([v] * n) is not differentiated", loc,
                                hint="build the list with a comprehension: [v for _ in range(n)]")
    if func is runtime.add_sequences:
        for item in stmt.args:  # linear: each operand receives the whole adjoint
            rv.contribute(env, item, grad, out, loc)
        return out
    if func in (pack_tuple, pack_list, pack_dict, pack_namedtuple):
        # each item's adjoint is the container adjoint's entry at its place (or key)
        for key, item in zip(pack_keys(func, stmt.args), pack_items(func, stmt.args)):
            if rv.is_active(item):
                part = rv.namer.temp()
                out.append(ir.Assign(part, ir.prim(operator.getitem), [grad, ir.Const(key)], [], loc))
                rv.contribute(env, item, part, out, loc)
        return out
    element = _tuple_element(stmt, rv.tuple_results)
    if element is not None:
        key = (stmt.args[0], element)
        current = env.get(key)
        if current is None:
            env[key] = grad
        else:
            total = rv.namer.temp()
            out.append(ir.Assign(total, ir.prim(operator.add), [current, grad], [], loc))
            env[key] = total
        return out
    if stmt.target in rv.tuple_results:
        parts = sorted((k[1], v) for k, v in list(env.items()) if isinstance(k, tuple) and k[0] == stmt.target)
        if parts:
            length = parts[-1][0] + 1
            items = [ir.Const(None)] * length
            for k, v in parts:
                items[k] = v
            packed = rv.namer.temp()
            out.append(ir.Assign(packed, ir.prim(pack_tuple), items, [], loc))
            grad = rv.namer.temp()  # padded to the result's length: the rule may read every part
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
    out.extend(instantiate(rv, rule, stmt, grad, env))
    return out


def instantiate(rv, rule, stmt: ir.Assign, grad, env):
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
                packed = rv.namer.temp()
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
            if any(rv.is_active(v) for v in value):
                wanted[name] = export
        elif rv.is_active(value):
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

    primal_bases = rv.primal_bases()
    suffix = getattr(stmt.func.value, "__name__", None) or getattr(stmt.func.value, "name", "rule")

    def rename(var):
        target = first_names.get(var)
        if target is not None:
            return rv.fresh_adjoint(target)
        if var.base == "t" or var.base.endswith("_bar"):
            return rv.namer.temp()
        # a rule's own local: never let it look like one of the user's variables
        base = var.base if var.base not in primal_bases else f"{var.base}_{suffix}"
        return rv.namer.fresh(base)

    body = ir.substitute(template.body, mapping, rename_defs=rename)
    body = [_relocate(s, stmt.loc) for s in body]
    body = _no_broadcast_against_numbers(stmt, body)
    for s in body:
        if isinstance(s, ir.Assign) and s.func.value in _FRESH_HELPERS:
            rv.owned.add(s.target)
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
                if rv.is_active(item):
                    part = rv.namer.temp()
                    out.append(ir.Assign(part, ir.prim(operator.getitem), [grad_atom, ir.Const(i)], [], stmt.loc))
                    rv.contribute(env, item, part, out, stmt.loc)
        else:
            rv.contribute(env, value, grad_atom, out, stmt.loc)
    return out


def _relocate(stmt, loc):
    for s in ir.walk([stmt]):
        if hasattr(s, "loc"):
            s.loc = loc
    return stmt


def _routine_call(rv, stmt: ir.Assign, env):
    """``y = helper(x, n)`` where the helper is a routine of its own (:mod:`subroutines`): the forward
    sweep calls its forward half, ``y, saved = helper_fwd(x, n)``, and the reverse sweep its reverse
    half, ``x_bar = helper_bwd(saved, y_bar)``, for the arguments active here."""
    y, loc, routine = stmt.target, stmt.loc, stmt.func.value
    mask = tuple(rv.is_active(a) for a in stmt.args)
    grad = env.get(y) if rv.is_active(y) else None
    if grad is None or not any(mask):
        return [stmt], []
    fwd, bwd = derived(routine, "fwd", mask), derived(routine, "bwd", mask)
    pair, saved = rv.namer.temp(), rv.namer.fresh(f"{routine.name}_saved")
    getitem = ir.prim(operator.getitem)
    forward = [ir.Assign(pair, ir.Ref((fwd.name,), fwd, fwd), list(stmt.args), [], loc),
               ir.Assign(y, getitem, [pair, ir.Const(0)], [], loc),
               ir.Assign(saved, getitem, [pair, ir.Const(1)], [], loc)]
    out = []
    # `saved` holds these arrays too: an in-place update after the call must be undone before it
    again = [a for a in list(stmt.args) + [y] if isinstance(a, ir.Var) and a in rv.mutated]
    if again:
        out.append(ir.Assign(rv.namer.temp(), ir.Ref(("still_read",), still_read), again, [], loc))
    active = [a for a, m in zip(stmt.args, mask) if m]
    grads = rv.fresh_adjoint(active[0]) if len(active) == 1 else rv.namer.temp()
    out.append(ir.Assign(grads, ir.Ref((bwd.name,), bwd, bwd), [saved, grad], [], loc))
    for k, a in enumerate(active):
        part = grads
        if len(active) > 1:
            part = rv.namer.temp()
            out.append(ir.Assign(part, getitem, [grads, ir.Const(k)], [], loc))
        rv.contribute(env, a, part, out, loc)
    return forward, out

