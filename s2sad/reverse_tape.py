"""The tape of a loop body: which values its reverse statements read it saves (pushes and pops,
in one stack), and what it need not save (see :mod:`tape`: read for a shape, computed again, carried
down the reverse loop). Plain functions of the reversal state `rv` (a ``reverse._Reverser``)."""

from __future__ import annotations

from . import ir, tape


def save_for_reverse(rv, stmts, forward, reverse, block_args, subst, carried):
    """Save what the reverse statements of a loop's body (or of a block inside one) read of the
    values it defines: pushes at the body's end (block arguments first thing instead, when no nested
    block saves), pops at the top of the reverse body; what `lean_tape` need not save is read for
    its shape, computed again, or carried down the reverse loop.

    Args:
        rv: the reversal state (``reverse._Reverser``).
        stmts: the forward block; forward: its forward statements, one list per statement.
        reverse: its reverse statements.
        block_args: the loop's block arguments (none for a branch's block).
        subst: the reverse loop's index for the forward one.
        carried: the loop's carried values.

    Returns:
        (reverse statements, pushes at the block's end, pushes that open the body, the carried
        values the reverse loop adds for next values it carries down).
    """
    pushes, opening_pushes, later_carried = [], [], []
    here = set(block_args)
    for stmt in stmts:
        here.update(ir.defs(stmt))
    for stmt in (s for f in forward for s in f):
        here.update(ir.defs(stmt))  # includes what the transformation added (loop counters, saves)
    needed = [v for v in ir.free_vars(reverse) if v in here]
    rv.rev_reads.update(needed)
    reverse, needed, later, stand_ins = lean_tape(rv, forward, reverse, needed, here, block_args, carried, subst)
    if needed:
        # Block arguments are saved first thing in the body, unless a nested
        # block saves values of its own: the tape is one stack, so then
        # everything of this block is saved at its end, after theirs.
        nested = any(isinstance(s, ir.Push) for f in forward for s in ir.walk(f))
        opening = set(block_args) | {v for v, made in stand_ins.items() if made.args[0] in block_args}
        first = [] if nested else [v for v in needed if v in opening]
        last = [v for v in needed if v not in first]
        order = first + last
        opening_pushes = [s for v in first for s in [stand_ins.get(v), ir.Push(v)] if s is not None]
        pushes = [s for v in last for s in [stand_ins.get(v), ir.Push(v)] if s is not None]
        pops, mapping = [], {}
        for v in reversed(order):
            new = rv.namer.fresh(v.base) if v.base != "t" else rv.namer.temp()
            pops.append(ir.Pop(new, None, v))
            mapping[v] = new
        reverse = pops + ir.substitute(reverse, mapping)
        # the next value of a carried one comes down from the reverse iteration before
        later_carried = [ir.Carried(var, c.out, mapping[c.arg], rv.namer.fresh(var.base))
                         for c, var in later.items()]
    return reverse, pushes, opening_pushes, later_carried


def lean_tape(rv, forward, reverse, needed, here, block_args, carried, subst):
    """What of `needed` the body saves (see `tape`): the rest is read for its shape from
    another value, computed again, or carried down the reverse loop.
    Returns (reverse statements, values to save, {Carried: Var read for its next value},
    statements making the shape stand-ins saved)."""
    definers = {s.target: s for f in forward for s in f if isinstance(s, ir.Assign)}
    by_shape = tape.shape_only(reverse, needed)
    values = [v for v in needed if v not in by_shape]
    _, again = tape.recomputable(values, definers, here, subst, rv.mutated)
    saved = [v for v in values if v not in again]
    witnesses = tape.shape_witnesses(by_shape, definers, here, set(saved), rv.mutated)
    shapes_left = [v for v in by_shape if v not in witnesses]
    _, shapes_again = tape.recomputable(shapes_left, definers, here, subst, rv.mutated, reads_only=True)
    reads = tape.element_witnesses([v for v in shapes_left if v not in shapes_again], definers, here, subst,
                                   rv.mutated)
    _, readable = tape.recomputable(list(dict.fromkeys(reads.values())), definers, here, subst, rv.mutated)
    witnesses.update({v: r for v, r in reads.items() if r in readable})
    shapes_left = [v for v in shapes_left if v not in witnesses]
    clones, again = tape.recomputable(again + shapes_again + readable, definers, here, subst, rv.mutated)
    saved = [v for v in needed if v in saved or (v in shapes_left and v not in again)]
    later = tape.next_values_carried([v for v in saved if v not in by_shape], carried, here, block_args,
                                     rv.namer)
    saved = [v for v in saved if v not in {c.next for c in later}]
    clones, recomputed = tape.clone_statements(clones, subst, rv.namer)
    stand_ins, shapes = tape.shape_stand_ins([v for v in saved if v in by_shape], rv.namer)
    saved = [shapes.get(v, v) for v in saved]
    renamed = {**recomputed, **{c.next: var for c, var in later.items()}, **shapes}
    # a witness is itself read under its new name: computed again, or carried down the loop
    witnesses = {v: renamed.get(w, w) for v, w in witnesses.items()}
    mapping = {**witnesses, **renamed}
    if mapping:
        reverse = clones + ir.substitute(reverse, mapping)
    return reverse, saved, later, stand_ins

