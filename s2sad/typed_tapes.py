"""Typed tapes: in code specialized for its arguments' kinds, a float64 scalar saved as 8 bytes.

A loop's tape (`tape.py` decides what it saves) is one Python list: each value costs
an 8-byte slot plus the object, 24 bytes for a Python float and 32 for a NumPy
float64 scalar. Where `s2sad.shapes` proves the kind of a saved value, these passes,
run on the specialized adjoint only, make it cheaper:

* **unread saves go** (`drop_unread_saves`): specializing replaces helpers such as
  ``unbroadcast(g, t_shape)`` by ``g``, and a value popped for them alone is then
  read by nobody; its push and its pops are dropped together (the tape is a stack:
  taking out matched pairs keeps every other pair matched).
* **float scalars go to a float tape** (`float_tapes`): ``array('d')`` of the
  standard library, 8 bytes a value. A push and its pops are matched by the value
  pushed (``Pop.of``), so all of them go to the same tape, and a stack restricted to
  some of its pairs is still a stack: one float tape serves every value, interleaved.
  The pop must give back the same type, not only the same number (NumPy's float64
  divides by zero to inf, a Python float raises ZeroDivisionError; ``(-8.0) ** 0.5``
  is complex for a Python float), so only two kinds go there:

  - a value proven a Python float: popped as it is (``tape_floats.pop()``);
  - a value proven a NumPy float64 *scalar*: on a float tape of its own, read back last
    first as NumPy scalars (``next(tape_float64_reversed)``, `runtime.reversed_float64s`),
    bit for bit and type for type what was saved, without building each one again
    through ``np.float64(...)``. That needs every such push to run before the first such
    pop (`_saved_before_read`): true of an adjoint's forward and reverse sweeps, not of a
    checkpointed loop, whose segments save again in the reverse sweep; there these
    values stay on the list. `shapes` does not tell a NumPy scalar from a 0-d array, nor,
    for a loop-carried value that starts as ``0.0``, a Python float from a NumPy one,
    so this kind is proven here from how the value is made (`_numpy_scalars`): a ufunc
    or arithmetic with a NumPy scalar operand, or an element ``x[i]`` of an array.

  - a value proven one of the two, which one decided at run time (``s = 0.0`` carried
    round a loop whose body makes it ``np.sin(...) + y``: a Python float on the first
    iteration, a NumPy scalar on the others; `_float_scalars`): on the float64 tape too,
    with one byte of kind in a ``bytearray`` (``type(s) is float``); the pop reads the
    NumPy scalar back and makes it ``float(...)`` again where the byte says so. 9 bytes
    a value instead of 32 and a list slot; the kind byte costs a second append per push.

  Anything else (arrays, ints, bools, float32 scalars, a value that may be a 0-d array or
  an int on some path) stays on the list.

Generic code does not know kinds and keeps the list tape; so do the two halves of a
subroutine's adjoint (they share a tape across functions) and composed derivatives
(`compose` builds them from the generic IR).
"""

from __future__ import annotations

import operator

import numpy as np

from . import ir
from .shapes import infer
from .subroutines import current_tape, use_tape

FLOAT = "float"  # a Python float: the float tape gives it back as it was
FLOAT64 = "float64"  # a NumPy float64 scalar: read back through a NumPy view of its tape
SCALAR = "scalar"  # a Python float or a NumPy float64 scalar: the float64 tape and a byte of kind

_F64 = np.dtype(np.float64)
_ARITHMETIC = (operator.add, operator.sub, operator.mul, operator.truediv, operator.floordiv, operator.mod,
               operator.pow, operator.neg, operator.pos)


def _tape_is_local(fn: ir.Function) -> bool:
    """Every pop names its value and no other function shares the tape (a subroutine's halves do)."""
    for stmt in ir.walk(fn.body):
        if isinstance(stmt, ir.Pop) and stmt.of is None:
            return False
        if isinstance(stmt, ir.Assign) and stmt.func.value in (current_tape, use_tape):
            return False
    return True


def _copy(fn: ir.Function) -> ir.Function:
    return ir.Function(fn.name, list(fn.params), ir.substitute(fn.body, {}), fn.result, fn.filename, fn.firstline,
                       fn.doc, dict(fn.exports), fn.result_loc)


def _without(stmts: list, dropped) -> list:
    """`stmts` without the statements `dropped` says to drop (nested blocks included), in place."""
    out = []
    for stmt in stmts:
        if dropped(stmt):
            continue
        for attr in ("then_body", "else_body", "body", "cond_body"):
            block = getattr(stmt, attr, None)
            if isinstance(block, list):
                setattr(stmt, attr, _without(block, dropped))
        out.append(stmt)
    return out


def drop_unread_saves(fn: ir.Function) -> ir.Function:
    """`fn` without the pushes and pops of values whose every pop is read by nobody.

    Returns:
        A new Function (or `fn` itself when nothing goes); run `simplify` after it to drop
        what was computed only to be saved (``t_shape = shape_of(t2)``).
    """
    if not _tape_is_local(fn):
        return fn
    read = ir.all_vars_used(fn.body) | ({fn.result} if isinstance(fn.result, ir.Var) else set())
    unread: dict = {}
    for stmt in ir.walk(fn.body):
        if isinstance(stmt, ir.Pop):
            unread[stmt.of] = unread.get(stmt.of, True) and stmt.target not in read
    pushed = {s.value for s in ir.walk(fn.body) if isinstance(s, ir.Push) and isinstance(s.value, ir.Var)}
    gone = {v for v, nobody in unread.items() if nobody and v in pushed}
    if not gone:
        return fn
    fn = _copy(fn)
    fn.body = _without(fn.body, lambda s: (isinstance(s, ir.Push) and s.value in gone)
                       or (isinstance(s, ir.Pop) and s.of in gone))
    return ir.verify(fn)


def _sources(fn: ir.Function) -> dict:
    """How each Var is made: {Var: Assign} for statements, {Var: [atoms]} for a value that is one
    of several (a loop's block argument: its initial and next values; a branch join; a pop: the value
    pushed)."""
    made: dict = {}
    for stmt in ir.walk(fn.body):
        if isinstance(stmt, ir.Assign):
            made[stmt.target] = stmt
        elif isinstance(stmt, ir.Pop):
            made[stmt.target] = [stmt.of]
        elif isinstance(stmt, ir.If):
            for phi in stmt.phis:
                made[phi.target] = [phi.then_value, phi.else_value]
        elif isinstance(stmt, (ir.For, ir.While)):
            for c in stmt.carried:
                made[c.arg] = [c.init, c.next]
                made[c.out] = [c.init, c.next]
    return made


def _numpy_scalars(fn: ir.Function, env: dict) -> set:
    """The Vars proven to hold a NumPy float64 scalar (not a 0-d array, not a Python float).

    The greatest set closed under: a ufunc's result (a ufunc gives a scalar for scalar operands);
    arithmetic with an operand in the set; an element ``x[k]`` of an array with an int ``k``; a
    value that is one of several (loop-carried, joined, popped) all in the set.
    """
    made = _sources(fn)
    scalar64 = {v for v, value in env.items() if value.known and value.shape == () and value.dtype == _F64
                and not value.python and v in made}

    def holds(v) -> bool:
        how = made[v]
        if isinstance(how, list):
            return all(isinstance(a, ir.Var) and a in scalar64 for a in how)
        func, args = how.func.value, how.args
        if how.kwargs:
            return False
        if isinstance(func, np.ufunc):
            return func.nout == 1
        if func in _ARITHMETIC:
            return any(isinstance(a, ir.Var) and a in scalar64 for a in args)
        if func is operator.getitem and len(args) == 2 and all(isinstance(a, ir.Var) for a in args):
            array, index = env.get(args[0]), env.get(args[1])
            return (array is not None and array.known and not array.python and len(array.shape) >= 1
                    and index is not None and index.known and index.shape == () and index.dtype.kind in "iu")
        return False

    return _drop_until_all_hold(scalar64, holds)


def _float_scalars(fn: ir.Function, env: dict, numpy_scalars: set) -> set:
    """The Vars proven to hold a Python float or a NumPy float64 scalar (never a 0-d array, an int,
    a float32 or a complex), not saying which: the kind a loop-carried ``s = 0.0`` has when the loop
    makes it a NumPy scalar.

    The greatest set, among float64 scalars to `shapes`, closed under: a Python float (`shapes`
    proves it); a NumPy float64 scalar (`numpy_scalars`); a value that is one of several (carried,
    joined, popped) each in the set or a float literal; arithmetic whose operands are in the set or
    int/float literals (Python float with Python float is a Python float, with a NumPy scalar a NumPy
    scalar), a power only with a literal int exponent (``(-8.0) ** 0.5`` is complex for a Python float).
    """
    made = _sources(fn)
    candidates = {v for v, value in env.items() if value.known and value.shape == () and value.dtype == _F64}
    floats = {v for v in candidates if env[v].python or v in numpy_scalars or v in made}

    def member(a) -> bool:
        return a in floats if isinstance(a, ir.Var) else type(a.value) in (float, int, bool)

    def holds(v) -> bool:
        if env[v].python or v in numpy_scalars:
            return True
        how = made[v]
        if isinstance(how, list):
            return all(isinstance(a, ir.Var) and a in floats or isinstance(a, ir.Const) and type(a.value) is float
                       for a in how)
        func, args = how.func.value, how.args
        if how.kwargs:
            return False
        if func is operator.pow:
            return len(args) == 2 and member(args[0]) and isinstance(args[1], ir.Const) \
                and type(args[1].value) is int
        return func in _ARITHMETIC and all(member(a) for a in args)

    return _drop_until_all_hold(floats, holds)


def _drop_until_all_hold(members: set, holds) -> set:
    """The greatest subset of `members` in which every member `holds` (asked again as others leave:
    `holds` reads `members`, which shrinks in place)."""
    failing = {v for v in members if not holds(v)}
    while failing:
        members -= failing
        failing = {v for v in members if not holds(v)}
    return members


def first_read(body: list, tapes: tuple):
    """The index of the first top-level statement of `body` that pops from one of the typed tapes `tapes`."""
    return next((k for k, stmt in enumerate(body) if any(
        isinstance(s, ir.Pop) and s.tape in tapes for s in ir.walk([stmt]))), None)


def _saved_before_read(body: list, values: set) -> bool:
    """Whether every push of `values` comes in a top-level statement before the first that pops one."""
    at = next((k for k, stmt in enumerate(body) if any(
        isinstance(s, ir.Pop) and s.of in values for s in ir.walk([stmt]))), len(body))
    return not any(isinstance(s, ir.Push) and s.value in values for s in ir.walk(body[at:]))


def float_tapes(fn: ir.Function, params) -> ir.Function:
    """`fn` with every saved value proven a float64 scalar put on the float tape (module docstring).

    Args:
        fn: a specialized adjoint program.
        params: the abstract values of its parameters (`s2sad.shapes.signature`).

    Returns:
        A new Function whose Push/Pop of those values have ``tape`` set to FLOAT, FLOAT64 or
        SCALAR (or `fn` itself when none is).
    """
    if not _tape_is_local(fn):
        return fn
    pushed = {s.value for s in ir.walk(fn.body) if isinstance(s, ir.Push) and isinstance(s.value, ir.Var)}
    if not pushed:
        return fn
    env = infer(fn, params)
    numpy_scalars = _numpy_scalars(fn, env)
    either = _float_scalars(fn, env, numpy_scalars)
    kinds = {}
    for v in pushed:
        value = env.get(v)
        if value is None or not value.known or value.shape != () or value.dtype != _F64:
            continue
        if value.python:
            kinds[v] = FLOAT
        elif v in numpy_scalars:
            kinds[v] = FLOAT64
        elif v in either:
            kinds[v] = SCALAR
    if not _saved_before_read(fn.body, {v for v, kind in kinds.items() if kind in (FLOAT64, SCALAR)}):
        kinds = {v: kind for v, kind in kinds.items() if kind == FLOAT}
    if not kinds:
        return fn
    fn = _copy(fn)
    for stmt in ir.walk(fn.body):
        if isinstance(stmt, ir.Push) and stmt.value in kinds:
            stmt.tape = kinds[stmt.value]
        elif isinstance(stmt, ir.Pop) and stmt.of in kinds:
            stmt.tape = kinds[stmt.of]
    return ir.verify(fn)


__all__ = ["FLOAT", "FLOAT64", "SCALAR", "drop_unread_saves", "float_tapes", "first_read"]
