"""Shape and kind inference on the IR: what each value is, when the arguments' kinds are known.

An abstract value (:class:`Value`) says of a value at run time: its shape, its dtype, and
whether it is a Python number (``float``/``int``/``bool``) rather than a NumPy one. Any part may
be unknown (``None``); :data:`UNKNOWN` knows nothing. A known shape also says the value is a
number or an array (never a list, tuple or dict).

A size in a shape is an ``int`` (``1``, or a literal such as ``np.zeros(3)``'s), a :class:`Size`
standing for one argument size other than 1, or ``None`` (any size, 1 included). The arguments'
sizes other than 1 get their symbols from :func:`signature`, equal sizes sharing one, so the
code specialized for a signature serves every batch size with the same rank, the same axes of
length 1 and the same equalities between sizes.

**Conservative by construction:** a primitive this module does not know gives :data:`UNKNOWN`, and
a join of two different facts keeps only what they share. A wrong "known" would be a silent wrong
gradient; ``tests/test_shapes.py`` checks every inferred shape and dtype against NumPy's on
generated programs. Dtypes (and Python-ness) are found by running the primitive on tiny stand-ins
(arrays of ones with every axis of length 1), so NumPy's own promotion rules decide them.

Example:
    >>> import numpy as np
    >>> from s2sad.shapes import signature
    >>> signature((np.zeros((4, 3)), np.zeros(3), 2.0))[0].shape
    (n0, n1)
"""

from __future__ import annotations

import builtins
import itertools
import math
import operator
import warnings
from dataclasses import dataclass

import numpy as np

from . import ir, runtime
from .primitives import Attr, Method, identity, module_name
from .rules import linalg


@dataclass(frozen=True)
class Size:
    """An argument's size other than 1; two sizes with the same name are equal at run time."""

    name: str

    def __repr__(self) -> str:
        return self.name


@dataclass(frozen=True)
class SliceLength:
    """The length ``max(n - less, 0)`` of ``x[less:]`` or ``x[:-less]`` along an axis of size `base`:
    two such lengths of the same `base` and `less` are equal at run time, but one may be 1 (it
    stretches under broadcasting), unlike a :class:`Size`."""

    base: Size
    less: int

    def __repr__(self) -> str:
        return f"{self.base.name}-{self.less}"


@dataclass(frozen=True, eq=False)
class Value:
    """What is known of one value: ``shape`` (None: not even the rank), ``dtype`` (None: unknown),
    ``python`` (True: a Python float/int/bool, which NumPy treats as a weak scalar; False: a NumPy
    value, or not known)."""

    shape: tuple | None = None
    dtype: np.dtype | None = None
    python: bool = False
    shape_tuple: bool = False  # the value is an array's ``.shape`` (a tuple of Python ints)

    def _key(self):
        # not the dtype itself: NumPy reads `dtype == None` as `dtype == float64`
        return self.shape, None if self.dtype is None else self.dtype.str, self.python, self.shape_tuple

    def __eq__(self, other) -> bool:
        return isinstance(other, Value) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    @property
    def known(self) -> bool:
        return self.shape is not None and self.dtype is not None

    def describe(self) -> str:
        if not self.known:
            return "?"
        if self.python:
            return {"f": "float", "i": "int", "b": "bool"}.get(self.dtype.kind, "?")
        return f"{self.dtype}[{', '.join(map(repr, self.shape))}]"


UNKNOWN = Value()
_PY_FLOAT = Value((), np.dtype(np.float64), True)
_PY_INT = Value((), np.dtype(np.int64), True)
_PY_BOOL = Value((), np.dtype(np.bool_), True)
_SHAPE_TUPLE = Value(shape_tuple=True)


# ------------------------------------------------------------------ signatures


def of_value(value, sizes: dict) -> Value:
    """The abstract value of a concrete argument; `sizes` maps sizes other than 1 to their symbols."""
    kind = type(value)
    if kind is float:
        return _PY_FLOAT
    if kind is bool:
        return _PY_BOOL
    if kind is int:
        return _PY_INT
    if kind is np.ndarray or isinstance(value, np.generic) and kind.__module__ == "numpy":
        if value.dtype.kind not in "biuf" or not value.dtype.isnative:
            return UNKNOWN
        shape = tuple(1 if n == 1 else sizes.setdefault(n, Size(f"n{len(sizes)}")) for n in np.shape(value))
        return Value(shape, value.dtype, False)
    return UNKNOWN


def signature(args) -> tuple:
    """The abstract values of a call's arguments: one :class:`Value` per argument.

    Two calls with the same signature run the same specialized code; it keeps the rank, which
    axes have length 1, and which sizes are equal, but not the sizes themselves.
    """
    sizes: dict = {}
    return tuple(of_value(a, sizes) for a in args)


# ------------------------------------------------------------------ shapes


def _broadcast_size(a, b):
    if a == 1:
        return b
    if b == 1:
        return a
    if isinstance(a, SliceLength) or isinstance(b, SliceLength):  # may be 1: known only when equal
        return a if same_size(a, b) else None
    if a is None:
        return b if isinstance(b, Size) or isinstance(b, int) else None  # b is not 1: a is 1 or b
    if b is None:
        return a
    return a  # both other than 1: NumPy raises unless they are equal, so the result is a


def broadcast(*shapes):
    """NumPy's broadcast of known shapes (None if any rank is unknown)."""
    if any(s is None for s in shapes):
        return None
    rank = max((len(s) for s in shapes), default=0)
    out = [1] * rank
    for s in shapes:
        padded = (1,) * (rank - len(s)) + tuple(s)
        out = [_broadcast_size(a, b) for a, b in zip(out, padded)]
    return tuple(out)


def same_size(a, b) -> bool:
    """Are two sizes certainly equal at run time?"""
    return a is not None and b is not None and a == b and type(a) is type(b)


def same_shape(a, b) -> bool:
    """Are two shapes certainly equal at run time?"""
    return a is not None and b is not None and len(a) == len(b) and all(same_size(x, y) for x, y in zip(a, b))


def join(a: Value, b: Value) -> Value:
    """What is known of a value that is `a` on one path and `b` on another."""
    if a == b:
        return a
    if a.shape is None or b.shape is None or len(a.shape) != len(b.shape):
        shape = None
    else:
        shape = tuple(x if same_size(x, y) else None for x, y in zip(a.shape, b.shape))
    dtype = a.dtype if a.dtype is not None and b.dtype is not None and a.dtype == b.dtype else None
    return Value(shape, dtype, a.python and b.python)


# ------------------------------------------------------------------ stand-ins


def _stand_ins(v: Value) -> list:
    """Concrete values of kind `v` with every axis of length 1 (0.5 where a number is needed). A NumPy
    scalar and a 0-d array are the same kind here, but a helper may tell them apart
    (``isinstance(x, float)`` holds for np.float64): both are tried."""
    if v.python:
        return [{"f": 0.5, "i": 2, "b": True}[v.dtype.kind]]
    one = 0.5 if v.dtype.kind == "f" else 1
    if v.shape == ():
        return [v.dtype.type(one), np.full((), one, dtype=v.dtype)]
    return [np.full((1,) * len(v.shape), one, dtype=v.dtype)]


def _run(func, values, *extra, **kwargs):
    """`func` on stand-ins of `values`: the result's (rank, dtype, python-ness) that every stand-in
    agrees on (dtype None where they differ), or None if one fails or they disagree on the rank."""
    found = None
    for args in itertools.islice(itertools.product(*[_stand_ins(v) for v in values]), 16):
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                result = func(*args, *extra, **kwargs)
        except Exception:
            return None
        kind = type(result)
        if kind in (float, int, bool):
            facts = 0, np.dtype({float: np.float64, int: np.int64, bool: np.bool_}[kind]), True
        elif isinstance(result, (np.ndarray, np.generic)) and result.dtype.kind in "biuf":
            facts = result.ndim, result.dtype, False
        else:
            return None
        if found is None:
            found = facts
        elif found[0] != facts[0]:
            return None
        else:
            found = (found[0], found[1] if found[1] is not None and found[1] == facts[1] else None, found[2] and facts[2])
    return found


def _with(shape, ran) -> Value:
    """The value of shape `shape` whose dtype and Python-ness a stand-in run found."""
    if ran is None or shape is None or ran[0] != len(shape):
        return UNKNOWN
    return Value(tuple(shape), ran[1], ran[2] and ran[1] is not None)


# ------------------------------------------------------------------ primitives

_ELEMENTWISE_OPERATORS = {
    operator.add, operator.sub, operator.mul, operator.truediv, operator.floordiv, operator.mod, operator.pow,
    operator.neg, operator.pos, operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne,
}
_REDUCTIONS = {np.sum, np.mean, np.prod, np.max, np.min, np.amax, np.amin}
_REDUCING_METHODS = {"sum", "mean", "prod", "max", "min"}


def _elementwise(func, values, args=()) -> Value:
    if any(not v.known for v in values):
        return UNKNOWN
    if func is operator.pow and all(v.python for v in values) and values[0].dtype.kind == "f" and not (
            len(args) == 2 and isinstance(args[1], ir.Const) and type(args[1].value) is int):
        return UNKNOWN  # (-8.0) ** 0.5 is complex in Python: only a literal integer power stays real
    if func in (operator.pow, np.power) and all(v.dtype.kind in "biu" for v in values):
        return UNKNOWN  # int ** int: an int, or a float for a negative exponent (a value decides)
    if isinstance(func, type(math.exp)) and module_name(func) == "math" \
            and any(v.shape != () for v in values):
        return UNKNOWN
    return _with(broadcast(*(v.shape for v in values)), _run(func, values))


def _axes(axis, rank):
    """The axes a reduction's constant `axis` names, normalized; None if not a constant we read."""
    if axis is None:
        return tuple(range(rank))
    items = axis if isinstance(axis, tuple) else (axis,)
    if not all(type(a) is int and -rank <= a < rank for a in items):
        return None
    return tuple(sorted({a % rank for a in items}))


def _reduction(func, x: Value, axis, keepdims, method=None) -> Value:
    if not x.known or type(keepdims) is not bool:
        return UNKNOWN
    axes = _axes(axis, len(x.shape))
    if axes is None:
        return UNKNOWN
    if keepdims:
        shape = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
    else:
        shape = tuple(n for i, n in enumerate(x.shape) if i not in axes)
    call = (lambda a: getattr(a, method)(axis=axis, keepdims=keepdims)) if method else \
        (lambda a: func(a, axis=axis, keepdims=keepdims))
    if method and x.python:
        return UNKNOWN  # Python numbers have no .sum()
    return _with(shape, _run(call, [x]))


def matmul_shape(a, b):
    """The shape of ``a @ b`` (ranks >= 1), or None."""
    if a is None or b is None or not a or not b:
        return None
    if len(a) == 1 and len(b) == 1:
        return ()
    if len(a) == 1:
        return tuple(b[:-2]) + (b[-1],)
    if len(b) == 1:
        return tuple(a[:-1])
    batch = broadcast(a[:-2], b[:-2])
    return batch + (a[-2], b[-1])


def _matmul(func, a: Value, b: Value) -> Value:
    if not (a.known and b.known):
        return UNKNOWN
    return _with(matmul_shape(a.shape, b.shape), _run(func, [a, b]))


def _dot(a: Value, b: Value) -> Value:
    if not (a.known and b.known) or not (1 <= len(a.shape) <= 2 and 1 <= len(b.shape) <= 2):
        return UNKNOWN  # scalars and stacks: np.dot's other cases, left unknown
    return _with(matmul_shape(a.shape, b.shape), _run(np.dot, [a, b]))


def _const_value(atom) -> Value:
    value = atom.value
    if type(value) in (float, int, bool):
        return {float: _PY_FLOAT, int: _PY_INT, bool: _PY_BOOL}[type(value)]
    return UNKNOWN


def _index(x: Value, index, index_value: Value) -> Value:
    """``x[index]`` for an integer (a constant, or a Var known to be an integer scalar), or a
    constant tuple of integers and slices: an integer drops its axis, a slice keeps it (its
    length unknown unless the slice is ``:``). An integer out of range raises, so the statement
    never binds and any answer is right for it."""
    if not x.known or x.python or not x.shape:
        return UNKNOWN
    if index is None:  # a Var
        if not (index_value.known and index_value.shape == () and index_value.dtype.kind in "iu"):
            return UNKNOWN
        items = (0,)
    else:
        items = index if isinstance(index, tuple) else (index,)
        if len(items) > len(x.shape) or not all(type(i) is int or type(i) is slice for i in items):
            return UNKNOWN
    kept = []
    for item, n in zip(items, x.shape):
        if type(item) is slice:
            kept.append(n if item == slice(None) else _slice_length(item, n))
    return Value(tuple(kept) + tuple(x.shape[len(items):]), x.dtype, False)


def _slice_length(item: slice, n):
    """The length of ``x[item]`` along an axis of size `n`: ``x[k:]`` and ``x[:-k]`` (k > 0) keep
    ``max(n - k, 0)`` entries, the same for both; other slices, unknown (None)."""
    start, stop, step = item.start, item.stop, item.step
    if step is not None or not all(v is None or type(v) is int for v in (start, stop)):
        return None
    if isinstance(n, int):
        return len(range(*item.indices(n)))
    if not isinstance(n, Size):
        return None
    if stop is None and start is not None and start > 0:
        return SliceLength(n, start)
    if start is None and stop is not None and stop < 0:
        return SliceLength(n, -stop)
    return None


def _shape_of_constant(value):
    items = value if isinstance(value, tuple) else (value,)
    if all(type(n) is int and n >= 0 for n in items):
        return tuple(items)
    return None


def infer_assign(stmt: ir.Assign, values: list, kwargs: dict, env=None) -> Value:
    """The abstract value `stmt` binds, from its arguments' (`values`, and `kwargs` by name)."""
    func = stmt.func.value
    consts = [a.value if isinstance(a, ir.Const) else _NOT_CONST for a in stmt.args]
    try:
        hash(func)
    except TypeError:
        return UNKNOWN
    if func is identity:
        return values[0]
    if func in _ELEMENTWISE_OPERATORS or (isinstance(func, np.ufunc) and func.nout == 1
                                         and func.nin == len(values)):
        if kwargs:
            return UNKNOWN
        return _elementwise(func, values, stmt.args)
    if module_name(func) == "math" and callable(func) and not kwargs and values \
            and func not in (math.prod, math.fsum):
        return _elementwise(func, values)
    if func in (operator.matmul, np.matmul) and len(values) == 2 and not kwargs:
        return _matmul(func, *values)
    if func is np.dot and len(values) == 2 and not kwargs:
        return _dot(*values)
    if func in _REDUCTIONS or (isinstance(func, Method) and func.name in _REDUCING_METHODS):
        # positionally only the array and the axis (the third positional is dtype or out)
        given = dict(zip(("axis",), stmt.args[1:]))
        if len(stmt.args) > 2 or not values:
            return UNKNOWN
        for name, atom in stmt.kwargs:
            if name not in ("axis", "keepdims") or name in given:
                return UNKNOWN
            given[name] = atom
        if any(not isinstance(a, ir.Const) for a in given.values()):
            return UNKNOWN
        axis = given["axis"].value if "axis" in given else None
        keepdims = given["keepdims"].value if "keepdims" in given else False
        return _reduction(func, values[0], axis, keepdims, func.name if isinstance(func, Method) else None)
    if func is operator.getitem and len(values) == 2 and values[0].shape_tuple:
        return _PY_INT if type(consts[1]) is int else UNKNOWN  # X.shape[0]
    if func is operator.getitem and len(values) == 2:
        index = consts[1] if consts[1] is not _NOT_CONST else None
        if index is None and not isinstance(stmt.args[1], ir.Var):
            return UNKNOWN
        return _index(values[0], index, values[1])
    if isinstance(func, Attr):
        x = values[0]
        if func.name == "T" and x.known and not x.python:
            return Value(tuple(reversed(x.shape)), x.dtype, False)
        if func.name in ("ndim", "size") and x.known:
            return _PY_INT
        if func.name == "shape" and x.known and not x.python:
            return _SHAPE_TUPLE
        return UNKNOWN
    if func is builtins.len and len(values) == 1:
        return _PY_INT
    if func is builtins.float and len(values) == 1 and not kwargs:
        return _PY_FLOAT if values[0].known and values[0].shape == () else UNKNOWN
    if func is np.ndim and len(values) == 1:
        return _PY_INT
    if func in (np.zeros, np.ones) and len(stmt.args) == 1 and not kwargs and consts[0] is not _NOT_CONST:
        shape = _shape_of_constant(consts[0])
        return Value(shape, np.dtype(np.float64), False) if shape is not None else UNKNOWN
    if func in (np.zeros_like, np.ones_like) and len(values) == 1 and not kwargs:
        x = values[0]
        return _with(x.shape, _run(func, [x]))
    if func is runtime.zeros_like and len(values) == 1:
        x = values[0]
        return _with(x.shape, _run(runtime.zeros_like, [x]))
    if func is runtime.shape_of and len(values) == 1:  # a data-free stand-in with x's shape (tapes)
        x = values[0]
        return _with(x.shape, _run(runtime.shape_of, [x])) if x.known else UNKNOWN
    if func is runtime.scalar_seed and len(values) == 1:
        y = values[0]
        return _with(y.shape, _run(runtime.scalar_seed, [y])) if y.known and y.shape == () else UNKNOWN
    if func is runtime.unbroadcast and len(values) == 2:
        return _unbroadcast(*values)
    if func is runtime.unreduce and len(values) >= 2:
        g, x = values[0], values[1]
        if g.known and x.known and x.shape == ():
            return g
        return _with(x.shape, _run(runtime.unreduce, [g, x], *[c for c in consts[2:]])) \
            if g.known and x.known and _NOT_CONST not in consts[2:] and not kwargs else UNKNOWN
    if func in (linalg.matmul_bar_a, linalg.matmul_bar_b) and len(values) == 3:
        g, a, b = values
        if not (g.known and a.known and b.known):
            return UNKNOWN
        shape = a.shape if func is linalg.matmul_bar_a else b.shape
        return _with(shape, _run(func, [g, a, b]))
    return UNKNOWN


def _unbroadcast(g: Value, x: Value) -> Value:
    """``unbroadcast(g, x)`` (runtime): `g` itself when the shapes are equal; else `g` summed to
    `x`'s shape, a Python float when `x` is a Python number (``.item()``)."""
    if not (g.known and x.known):
        return UNKNOWN
    if same_shape(g.shape, x.shape):
        return g
    if g.python or g.dtype.kind != "f":
        return UNKNOWN  # a sum of ints widens; a Python number summed over axes fails
    if x.shape == ():
        return _PY_FLOAT if x.python else Value((), g.dtype, False)
    return Value(x.shape, g.dtype, False)


class _NotConst:
    pass


_NOT_CONST = _NotConst()


# ------------------------------------------------------------------ the pass


def infer(fn: ir.Function, params) -> dict:
    """The abstract value of every Var of `fn` whose value is known, given `params` (one
    :class:`Value` per parameter, in order). Vars missing from the result are unknown.

    Loops run to a fixed point (joins only forget, so it comes within a few rounds); a
    ``Pop`` gets the value its ``Push`` saved.
    """
    env: dict = {}
    for p, v in zip(fn.params, params):
        env[p.var] = v
    pushed = {s.value for s in ir.walk(fn.body) if isinstance(s, ir.Push) and isinstance(s.value, ir.Var)}
    _block(fn.body, env, pushed, set())
    return {k: v for k, v in env.items() if v != UNKNOWN}


def _atom(a, env) -> Value:
    if isinstance(a, ir.Var):
        return env.get(a, UNKNOWN)
    if isinstance(a, ir.Const):
        return _const_value(a)
    if isinstance(a, ir.Ref) and len(a.path) == 2 and a.root in (np, math) and type(a.value) is float:
        return _PY_FLOAT  # np.pi, math.e: a library's constants (a user's globals are read live: unknown)
    return UNKNOWN


def _block(stmts, env, pushed, ranges) -> None:
    for stmt in stmts:
        if stmt.__class__ is ir.Assign:
            values = [_atom(a, env) for a in stmt.args]
            kwargs = {k: _atom(a, env) for k, a in stmt.kwargs}
            if stmt.func.value is builtins.range:
                ranges.add(stmt.target)
            try:
                env[stmt.target] = infer_assign(stmt, values, kwargs, env)
            except Exception:  # a primitive we misread: know nothing rather than fail
                env[stmt.target] = UNKNOWN
        elif isinstance(stmt, ir.Pop):
            of = stmt.of
            env[stmt.target] = env.get(of, UNKNOWN) if of is not None and of in pushed else UNKNOWN
        elif isinstance(stmt, ir.If):
            _block(stmt.then_body, env, pushed, ranges)
            _block(stmt.else_body, env, pushed, ranges)
            for phi in stmt.phis:
                env[phi.target] = join(_atom(phi.then_value, env), _atom(phi.else_value, env))
        elif isinstance(stmt, (ir.For, ir.While)):
            _loop(stmt, env, pushed, ranges)


def _loop(loop, env, pushed, ranges) -> None:
    if isinstance(loop, ir.For):
        it = loop.iterable
        if isinstance(it, ir.Var) and it in ranges:
            env[loop.index] = _PY_INT
        else:
            seq = _atom(it, env)
            env[loop.index] = Value(seq.shape[1:], seq.dtype, False) \
                if seq.known and not seq.python and seq.shape else UNKNOWN
    for c in loop.carried:
        env[c.arg] = _atom(c.init, env)
    for _ in range(6):
        if isinstance(loop, ir.While):
            _block(loop.cond_body, env, pushed, ranges)
        _block(loop.body, env, pushed, ranges)
        changed = False
        for c in loop.carried:
            joined = join(env[c.arg], _atom(c.next, env))
            if joined != env[c.arg]:
                env[c.arg] = joined
                changed = True
        if not changed:
            break
    else:  # no fixed point (it cannot happen: joins only forget): know nothing of the loop
        for c in loop.carried:
            env[c.arg] = UNKNOWN
        if isinstance(loop, ir.While):
            _block(loop.cond_body, env, pushed, ranges)
        _block(loop.body, env, pushed, ranges)
    for c in loop.carried:
        env[c.out] = env[c.arg]  # the value after the loop: the initial one, or one a round yielded


__all__ = ["Size", "SliceLength", "Value", "UNKNOWN", "signature", "of_value", "infer", "broadcast", "same_shape", "join",
           "matmul_shape"]
