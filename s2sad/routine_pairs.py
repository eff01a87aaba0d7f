"""Generating the routines a derivative calls (:mod:`subroutines`), and the source that defines them.

A transformation leaves calls of derived routines in its IR (``power_fwd``,
``power_bwd``, ``power_jvp``) without generating them; here each is generated
once from its base routine's IR, by the same transformations, and the routines
their IR calls in turn, until none is missing. A recursive helper's pair refers
to itself: the objects exist before their IR does.

* ``fwd`` / ``bwd``: the adjoint of the helper (``reverse_function`` with the
  seed as a parameter), cut at its "reverse sweep" marker. The forward half
  returns the helper's value and ``saved``: every value the reverse half reads
  (the helper's tape last, when its loops push). Values bound inside a branch
  leave it through a phi (``None`` on the other path), as the reverse half
  replays the same branch and reads them only there.
* ``jvp``: ``forward_function`` of the base routine's IR, returning
  ``(value, tangent)``. The base may itself be a derived routine (hvp is forward
  over reverse: ``power_fwd_jvp``, ``power_bwd_jvp``).
"""

from __future__ import annotations

import dataclasses
import operator

from . import ir, runtime
from .analysis import guard_inplace_updates
from .codegen import Namespace, to_source
from .forward import forward_function
from .generated_ir import pure_for_reverse, tape_as_list
from .lower import Namer
from .primitives import identity, pack_tuple
from .reverse import reverse_function
from .simplify import simplify
from .subroutines import Derived, Routine, Subroutine, current_tape, use_tape

__all__ = ["routine_ir", "routines_called", "to_module_source"]


def routine_ir(routine: Routine) -> ir.Function:
    """The IR of `routine`, generated on first request and kept on it."""
    made = getattr(routine, "generated", None)
    if made is not None:
        return made
    if isinstance(routine, Subroutine):
        routine.generated = guard_inplace_updates(simplify(routine.ir))
    elif routine.kind == "jvp":
        positions = [i for i, m in enumerate(routine.mask) if m]
        routine.generated = simplify(forward_function(routine_ir(routine.base), positions, name=routine.name))
    else:
        _split_adjoint(routine.base, routine.mask)
    return routine.generated


def _split_adjoint(base: Routine, mask) -> None:
    """Generate the ``fwd`` and ``bwd`` halves of `base`'s adjoint for the active arguments `mask`."""
    fwd, bwd = base.derived[("fwd", mask)], base.derived[("bwd", mask)]
    positions = [i for i, m in enumerate(mask) if m]
    program = routine_ir(base)
    if isinstance(base, Derived):  # reverse over generated code (grad of a generated gradient)
        program = pure_for_reverse(_tape_handed_over(program))
    whole = simplify(reverse_function(program, positions, seed="given", return_value=True,
                                      name=base.name, tuple_grads=len(positions) > 1))
    body = list(whole.body)
    params, seed = [p.var for p in whole.params[:-1]], whole.params[-1].var
    namer = Namer(v.name for v in params + [seed] + ir.all_defs(body))
    namer.temps = max([int(v.name[1:]) for v in ir.all_defs(body) if ir.is_temp(v)] or [0])
    if isinstance(base, Derived):
        _add_item_by_item(body, namer)
    cut = next(k for k, s in enumerate(body) if isinstance(s, ir.Marker) and s.text == "reverse sweep")
    first = [s for s in body[:cut] if not isinstance(s, ir.Marker)]
    second = [s for s in body[cut + 1:] if not isinstance(s, ir.Marker)]
    final = second.pop()  # (value, gradient), appended last by reverse_function
    assert isinstance(final, ir.Assign) and final.target == whole.result and final.func.value is pack_tuple
    value, gradient = final.args
    read = set(ir.free_vars(second)) - {seed}
    saved = [v for v in params + ir.all_defs(first) if v in read]
    visible = _expose(first, set(saved), namer)
    items = [visible.get(v, v) for v in saved]
    tape_in = None
    if any(isinstance(s, ir.Push) for s in ir.walk(first)):
        tape = namer.temp()
        first.append(ir.Assign(tape, ir.prim(current_tape), [], [], None))
        items.append(tape)
        tape_in = namer.temp()
    packed, result = namer.temp(), namer.temp()
    first += [ir.Assign(packed, ir.prim(pack_tuple), items, [], None),
              ir.Assign(result, ir.prim(pack_tuple), [value, packed], [], None)]
    fwd.generated = simplify(ir.verify_pass(dataclasses.replace(
        whole, name=fwd.name, params=[ir.Param(v) for v in params], body=first, result=result, exports={})))

    saved_in = namer.fresh("saved")
    unpack = [ir.Assign(v, ir.prim(operator.getitem), [saved_in, ir.Const(k)], [], None)
              for k, v in enumerate(saved + ([tape_in] if tape_in is not None else []))]
    if tape_in is not None:
        unpack.append(ir.Assign(namer.temp(), ir.prim(use_tape), [tape_in], [], None))
    bwd.generated = simplify(ir.verify_pass(dataclasses.replace(
        whole, name=bwd.name, params=[ir.Param(saved_in), ir.Param(seed)], body=unpack + second, result=gradient,
        exports={})))


def _add_item_by_item(block: list, namer: Namer) -> None:
    """In reverse mode over generated code, ``acc = add_at(acc, i, g)`` becomes
    ``acc = add_sequences(acc, scatter_add(g, acc, i))``: the accumulator may be the adjoint of a tuple
    the reverse pass does not know as one (a ``saved`` parameter, a routine's result), whose item is a list
    (a callee's saved values, a tape): ``acc[i] += g`` would concatenate two lists, or add into `g` itself."""
    for k in range(len(block) - 1, -1, -1):
        stmt = block[k]
        for child in ir.child_blocks(stmt):
            _add_item_by_item(child, namer)
        if isinstance(stmt, ir.Assign) and stmt.func.value is runtime.add_at:
            acc, index, g = stmt.args
            part = namer.temp()
            block[k:k + 1] = [ir.Assign(part, ir.Ref(("scatter_add",), runtime.scatter_add), [g, acc, index], [],
                                        stmt.loc),
                              ir.Assign(stmt.target, ir.Ref(("add_sequences",), runtime.add_sequences), [acc, part],
                                        [], stmt.loc)]


def _tape_handed_over(half: ir.Function) -> ir.Function:
    """A fwd half that returns its tape (``current_tape``) or a bwd half that pops the tape it is given
    (``use_tape``), with that tape a list value (:func:`generated_ir.tape_as_list`): the tape the fwd half
    returns is the list after its last push, and the bwd half's list starts as the one it is given.
    Reverse mode then differentiates the tape between the halves like any list."""
    listed = tape_as_list(half)
    if listed is half or not any(isinstance(s, ir.Assign) and s.func.value in (current_tape, use_tape)
                                 for s in listed.body):
        return listed
    before = set(ir.all_defs(half.body))
    first, body = listed.body[0], []  # `saved_0 = []`: the list before the first push
    state = first.target
    for stmt in listed.body[1:]:
        if isinstance(stmt, ir.Assign) and stmt.func.value is use_tape:  # before the first pop
            stmt, first = ir.Assign(first.target, ir.prim(identity), [stmt.args[0]], [], stmt.loc), None
        elif isinstance(stmt, ir.Assign) and stmt.func.value is current_tape:  # after the last push
            stmt = ir.Assign(stmt.target, ir.prim(identity), [state], [], stmt.loc)
        body.append(stmt)
        state = next((v for v in reversed(ir.defs(stmt)) if v not in before), state)  # the list after stmt
    body = ([first] if first is not None else []) + body
    return ir.verify_pass(dataclasses.replace(listed, body=body))


def _expose(stmts: list, wanted: set, namer: Namer) -> dict:
    """Make the values in `wanted` that `stmts` binds inside branches visible after them, through
    phis (``None`` where the other branch runs); returns value -> the Var that holds it at this level."""
    visible = {}
    for stmt in stmts:
        if not isinstance(stmt, ir.If):
            continue
        sides = []
        for body in (stmt.then_body, stmt.else_body):
            here = {v: v for s in body for v in ir.defs(s) if v in wanted}
            here.update(_expose(body, wanted, namer))
            sides.append(here)
        for var in sorted(set(sides[0]) | set(sides[1]), key=lambda v: v.name):
            new = namer.temp() if ir.is_temp(var) else namer.fresh(var.base)
            stmt.phis.append(ir.Phi(new, sides[0].get(var, ir.Const(None)), sides[1].get(var, ir.Const(None))))
            visible[var] = new
    return visible


def routines_called(fn: ir.Function) -> list:
    """Every routine `fn` needs, directly or through other routines, in the order first met."""
    found, pending = [], [fn]
    seen = set()
    while pending:
        current = pending.pop(0)
        for stmt in ir.walk(current.body):
            routine = getattr(getattr(stmt, "func", None), "value", None)
            if isinstance(routine, Routine) and id(routine) not in seen:
                seen.add(id(routine))
                found.append(routine)
                pending.append(routine_ir(routine))
    return found


def to_module_source(fn: ir.Function) -> tuple[str, Namespace]:
    """The source of `fn` preceded by the routines it calls, and the names it refers to (the
    routines are defined in the source, not bound)."""
    routines = routines_called(fn)
    namespace = Namespace(params={p.var.name for r in [fn, *map(routine_ir, routines)] for p in r.params})
    if not routines:
        return to_source(fn, namespace)
    namespace.bindings[fn.name] = fn  # no routine takes the main function's name
    names = [namespace.name_for(ir.Ref((r.name,), r, r)) for r in routines]
    main = fn.result_loc.function if fn.result_loc is not None else fn.name
    texts = [to_source(dataclasses.replace(routine_ir(r), name=name), namespace, main_function=main)[0]
             for r, name in zip(routines, names)]
    text, namespace = to_source(fn, namespace)
    for name in names + [fn.name]:
        del namespace.bindings[name]
    return "\n\n".join(texts + [text]), namespace
