"""Shape-aware rewrites: the code a person writes when the arguments' kinds are known.

Given what :mod:`s2sad.shapes` infers from the arguments' abstract values, each rewrite
replaces a generic run-time helper by what it computes for those shapes, exactly (same values,
dtypes and shapes; see each rewrite). What is not proven keeps the helper.

* ``unbroadcast(g, x)`` is ``g`` when the two shapes are equal;
* ``unreduce(g, x, None, False)`` (the adjoint of a full sum) is ``g`` when `x` is a scalar, or
  when `g` is a float64 scalar whose every reader is an elementwise operation with an operand of
  `x`'s full shape (NumPy broadcasts the scalar to the same elements); else ``np.full_like(x, g)``;
  with ``keepdims=True`` likewise ``g`` when its readers broadcast it so;
* ``scalar_seed(y)`` is ``1.0`` for a float64 scalar `y`, unless the derivative multiplies an int
  or (for a NumPy `y`) computes a float32 value (`_seed_hazards`);
* the matrix-product adjoints ``matmul_bar_a/b(g, a, b)`` for 1-D and 2-D float64 operands are
  ``g @ b.T`` / ``a.T @ g``, ``np.outer`` for a vector against a matrix, ``g * b`` for two vectors
  (NumPy's matmul rules, 1-D operands promoted and the added axis removed);
* in the function before differentiation, ``np.dot(a, b)`` of 1-D and 2-D operands is ``a @ b``
  (the two agree there), so its adjoints print as the matrix products above.

Example:
    >>> import numpy as np, s2sad
    >>> def f(x):
    ...     return np.sum(np.tanh(x) * x)
    >>> print(s2sad.source(f, example_args=(np.ones(3),)))  # doctest: +SKIP
"""

from __future__ import annotations

import operator

import numpy as np

from . import ir, runtime
from .primitives import Attr, identity, pack_tuple
from .rules import linalg
from .shapes import UNKNOWN, infer, matmul_shape, same_shape, same_size

_F64 = np.dtype(np.float64)
_MATMUL = ir.prim(operator.matmul)
_TRANSPOSE = ir.prim(Attr("T"))
_MUL = ir.prim(operator.mul)
_IDENTITY = ir.prim(identity)
_OUTER = ir.Ref(("np", "outer"), np.outer, np)
_FULL_LIKE = ir.Ref(("np", "full_like"), np.full_like, np)
_COPY = ir.Ref(("np", "copy"), np.copy, np)
# elementwise readers through which a float64 scalar acts as the array of its value
_ELEMENTWISE_READERS = {operator.add, operator.sub, operator.mul, operator.truediv, np.add, np.subtract,
                        np.multiply, np.divide}


def _float64(*values) -> bool:
    return all(v.known and v.dtype == _F64 for v in values)


class _Fresh:
    """Names for new temporaries, past the function's own ``t<N>``."""

    def __init__(self, fn):
        # every name of the t<N> form, whatever its base: an adjoint may be named t7 too (Vars are
        # equal by name, so a new t7 would stand for it)
        numbers = [int(v.name[1:]) for v in ir.all_defs(fn.body) + [p.var for p in fn.params]
                   if v.name[:1] == "t" and v.name[1:].isdigit()]
        self.next = max(numbers, default=0) + 1

    def __call__(self) -> ir.Var:
        var = ir.Var(f"t{self.next}", "t")
        self.next += 1
        return var


def _seed_hazards(fn, env) -> tuple[bool, bool]:
    """Whether the derivative multiplies an int, and whether it computes a float32 (or narrower)
    value. The seed ``scalar_seed(y)`` becomes the literal ``1.0`` only if neither can take its dtype
    from it: `simplify` drops ``1.0 * v`` to ``v``, exact for a float `v` only (``y * k[0] + y * k[1]``
    with an int8 `k` made the adjoint int8, -56 for 200); and a Python 1.0 standing for NumPy's
    ``np.float64(1.0)`` keeps a float32 value it meets float32, not float64."""
    ints = any(isinstance(s, ir.Assign) and s.func.value is operator.mul and any(
        isinstance(a, ir.Var) and env.get(a, UNKNOWN).known and env[a].dtype.kind in "biu" for a in s.args)
        for s in ir.walk(fn.body))
    narrow = any(v.known and v.dtype.kind == "f" and v.dtype.itemsize < 8 for v in env.values())
    return ints, narrow


def _readers(fn) -> tuple[dict, set]:
    """For each Var, the Assigns that read it; and the Vars read anywhere else (a phi, a loop's
    yield or init, a push, the result, a condition)."""
    by_assign: dict = {}
    elsewhere: set = set()
    for stmt in ir.walk(fn.body):
        if isinstance(stmt, ir.Assign):
            for a in list(stmt.args) + [a for _, a in stmt.kwargs]:
                if isinstance(a, ir.Var):
                    by_assign.setdefault(a, []).append(stmt)
            continue
        elsewhere.update(a for a in ir.uses(stmt) if isinstance(a, ir.Var))
        if isinstance(stmt, ir.If):
            elsewhere.update(v for p in stmt.phis for v in (p.then_value, p.else_value) if isinstance(v, ir.Var))
        if isinstance(stmt, (ir.For, ir.While)):
            elsewhere.update(c.next for c in stmt.carried if isinstance(c.next, ir.Var))
        if isinstance(stmt, ir.While) and isinstance(stmt.cond, ir.Var):
            elsewhere.add(stmt.cond)
    if isinstance(fn.result, ir.Var):
        elsewhere.add(fn.result)
    return by_assign, elsewhere


def _scalar_acts_as_array(var, shape, env, readers, elsewhere, scalars, depth=0) -> bool:
    """Can the float64 `var` (a scalar, or an array of `shape`'s rank with length-1 axes) stand for
    it broadcast to `shape`? Yes when every reader is ``var (op) other`` or ``other (op) var`` with
    `other` a float64 of exactly that shape: NumPy broadcasts `var`, computing the same float64
    operation per element. On yes, `var` and the scalars computed from it join `scalars`: an `other`
    already among them is no array any more (``a_bar + b_bar`` with both sums' adjoints made scalars
    would lose the shape: each was judged by the other's old one)."""
    chain = [var]
    if not _acts_as_array(var, shape, env, readers, elsewhere, scalars, chain, depth):
        return False
    scalars.update(chain)
    return True


def _acts_as_array(var, shape, env, readers, elsewhere, scalars, chain, depth) -> bool:
    if var in elsewhere or depth > 8:
        return False
    for stmt in readers.get(var, []):
        if stmt.func.value not in _ELEMENTWISE_READERS or stmt.kwargs or len(stmt.args) != 2:
            return False
        others = [a for a in stmt.args if a != var]
        if len(others) != 1:
            return False
        other = others[0]
        if isinstance(other, ir.Const) and type(other.value) in (int, float):
            # `var * 2.0` is a float64 scalar too: its own readers must broadcast it likewise
            chain.append(stmt.target)
            if not _acts_as_array(stmt.target, shape, env, readers, elsewhere, scalars, chain, depth + 1):
                return False
            continue
        if isinstance(other, ir.Var) and other in scalars:
            return False
        other = env.get(other, UNKNOWN) if isinstance(other, ir.Var) else UNKNOWN
        if not (_float64(other) and same_shape(other.shape, shape)):
            return False
    return True


def _matmul_adjoint(stmt, env, fresh) -> list | None:
    """``matmul_bar_a(g, a, b)`` (g b^T) or ``matmul_bar_b(g, a, b)`` (a^T g) as a product a person
    writes, for float64 operands of 1 or 2 axes with `g` of the product's shape."""
    g, a, b = stmt.args
    vg, va, vb = (env.get(x, UNKNOWN) if isinstance(x, ir.Var) else UNKNOWN for x in (g, a, b))
    if not _float64(vg, va, vb) or not (1 <= len(va.shape) <= 2 and 1 <= len(vb.shape) <= 2):
        return None
    if not same_shape(vg.shape, matmul_shape(va.shape, vb.shape)):
        return None
    first = stmt.func.value is linalg.matmul_bar_a
    target, loc = stmt.target, stmt.loc

    def transpose(x):
        t = fresh()
        return t, ir.Assign(t, _TRANSPOSE, [x], [], loc)

    ranks = (len(va.shape), len(vb.shape))
    if ranks == (1, 1):  # y = a . b, a scalar: a_bar = g b, b_bar = g a
        return [ir.Assign(target, _MUL, [g, b if first else a], [], loc)]
    if ranks == (2, 2):  # a_bar = g b^T, b_bar = a^T g
        t, tstmt = transpose(b if first else a)
        return [tstmt, ir.Assign(target, _MATMUL, [g, t] if first else [t, g], [], loc)]
    if ranks == (1, 2):  # y_j = sum_k a_k b_kj: a_bar = b g, b_bar = outer(a, g)
        return [ir.Assign(target, _MATMUL, [b, g], [], loc)] if first else \
            [ir.Assign(target, _OUTER, [a, g], [], loc)]
    # ranks == (2, 1): y_i = sum_k a_ik b_k: a_bar = outer(g, b), b_bar = a^T g
    if first:
        return [ir.Assign(target, _OUTER, [g, b], [], loc)]
    t, tstmt = transpose(a)
    return [tstmt, ir.Assign(target, _MATMUL, [t, g], [], loc)]


def _rewrite(stmt, env, readers, elsewhere, scalars, fresh, seed_may_be_literal) -> list | None:
    """The statements that replace `stmt`, or None to keep it."""
    func = stmt.func.value
    args = stmt.args

    def value(i):  # what inference said, unless this pass has since made the value a scalar
        return env.get(args[i], UNKNOWN) if isinstance(args[i], ir.Var) and args[i] not in scalars else UNKNOWN

    def same_as(atom):
        return [ir.Assign(stmt.target, _IDENTITY, [atom], [], stmt.loc)]

    if stmt.kwargs:
        return None
    if func is runtime.unbroadcast and len(args) == 2:
        g, x = value(0), value(1)
        if g.known and x.known and same_shape(g.shape, x.shape):
            return same_as(args[0])  # nothing was broadcast
    elif func is runtime.unreduce and len(args) == 4 and all(isinstance(a, ir.Const) for a in args[2:]) \
            and args[2].value is None and args[3].value is False:
        g, x = value(0), value(1)
        if g.known and x.known and x.shape == ():
            return same_as(args[0])  # the sum of a scalar is itself
        if _float64(g, x) and g.shape == ():
            if _scalar_acts_as_array(stmt.target, x.shape, env, readers, elsewhere, scalars):
                return same_as(args[0])
            return [ir.Assign(stmt.target, _FULL_LIKE, [args[1], args[0]], [], stmt.loc)]
    elif func is runtime.unreduce and len(args) == 4 and all(isinstance(a, ir.Const) for a in args[2:]) \
            and args[3].value is True:
        # keepdims: g has x's axes, the reduced ones of length 1; read only elementwise against
        # arrays of x's full shape, NumPy stretches it exactly as unreduce's broadcast_to would
        g, x = value(0), value(1)
        if _float64(g, x) and len(g.shape) == len(x.shape) and all(
                n == 1 or same_size(n, m) for n, m in zip(g.shape, x.shape)) \
                and _scalar_acts_as_array(stmt.target, x.shape, env, readers, elsewhere, scalars):
            return same_as(args[0])
    elif func is np.full_like and len(args) == 2 and isinstance(args[1], ir.Const) \
            and type(args[1].value) is float:
        # an unreduce made full_like before its readers were seen through (the second pass): the
        # same test, for a Python float fill (a float64 scalar to NumPy)
        x = value(0)
        if _float64(x) and _scalar_acts_as_array(stmt.target, x.shape, env, readers, elsewhere, scalars):
            return same_as(args[1])
    elif func is runtime.scalar_seed and len(args) == 1:
        y = value(0)
        if _float64(y) and y.shape == () and seed_may_be_literal(y.python):
            return same_as(ir.Const(1.0))  # dy/dy
    elif func in (linalg.matmul_bar_a, linalg.matmul_bar_b) and len(args) == 3:
        return None if any(a in scalars for a in args if isinstance(a, ir.Var)) else \
            _matmul_adjoint(stmt, env, fresh)
    return None


def _rewrite_block(stmts, env, readers, elsewhere, scalars, fresh, seed_may_be_literal) -> list:
    out = []
    for stmt in stmts:
        if stmt.__class__ is ir.Assign:
            replaced = _rewrite(stmt, env, readers, elsewhere, scalars, fresh, seed_may_be_literal)
            out.extend(replaced if replaced is not None else [stmt])
            continue
        for attr in ("then_body", "else_body", "body", "cond_body"):
            block = getattr(stmt, attr, None)
            if isinstance(block, list):
                setattr(stmt, attr, _rewrite_block(block, env, readers, elsewhere, scalars, fresh, seed_may_be_literal))
        out.append(stmt)
    return out


def specialize_adjoint(fn: ir.Function, params) -> ir.Function:
    """`fn` (a derivative's IR) with the helpers its parameters' kinds `params` make needless
    replaced (module docstring); run `simplify` after it. Returns a new Function."""
    body = ir.substitute(fn.body, {})  # a copy: the statements are rewritten in place
    fn = ir.Function(fn.name, list(fn.params), body, fn.result, fn.filename, fn.firstline, fn.doc, dict(fn.exports),
                     fn.result_loc)
    env = infer(fn, params)
    readers, elsewhere = _readers(fn)
    ints, narrow = _seed_hazards(fn, env)
    fn.body = _rewrite_block(fn.body, env, readers, elsewhere, set(), _Fresh(fn),
                             lambda python: not ints and (python or not narrow))
    return ir.verify_pass(fn)


def tidy(fn: ir.Function, params) -> ir.Function:
    """After `specialize_adjoint` and `simplify`: a gradient that came out as an array argument
    itself (``w_bar = x`` for ``np.sum(w * x)``) is copied, as the generic code's result is a new
    array the caller may write into; and a section label with nothing under it goes."""
    arrays = {p.var for p, v in zip(fn.params, params) if v.shape != ()}  # the arguments that are arrays
    packs = {s.target: s for s in fn.body if isinstance(s, ir.Assign) and s.func.value is pack_tuple}
    copies: dict = {}
    fresh = _Fresh(fn)

    def fresh_copy(atom):
        if not (isinstance(atom, ir.Var) and atom in arrays):
            return atom
        if atom not in copies:
            copies[atom] = fresh()
            fn.body.append(ir.Assign(copies[atom], _COPY, [atom], [], fn.result_loc))
        return copies[atom]

    visited = []

    def visit(atom, depth):
        if isinstance(atom, ir.Var) and atom in packs and depth < 2:  # (value, (grads...)) at most
            stmt = packs[atom]
            visited.append(stmt)
            stmt.args = [visit(a, depth + 1) for a in stmt.args]
            return atom
        return fresh_copy(atom)

    fn.result = visit(fn.result, 0)
    new = [s for s in fn.body if s.__class__ is ir.Assign and s.target in set(copies.values())]
    if new and visited:  # the copies run before the tuples that return them
        body = [s for s in fn.body if all(s is not c for c in new)]
        at = min(i for i, s in enumerate(body) if any(s is v for v in visited))
        fn.body = body[:at] + new + body[at:]
    fn.body = [s for i, s in enumerate(fn.body) if not (isinstance(s, ir.Marker) and (
        i + 1 == len(fn.body) or isinstance(fn.body[i + 1], ir.Marker)))]
    return ir.verify_pass(fn)


def _dot_as_matmul(stmts, env) -> None:
    for stmt in ir.walk(stmts):
        if isinstance(stmt, ir.Assign) and stmt.func.value is np.dot and len(stmt.args) == 2 and not stmt.kwargs:
            a, b = (env.get(x, UNKNOWN) if isinstance(x, ir.Var) else UNKNOWN for x in stmt.args)
            if a.known and b.known and 1 <= len(a.shape) <= 2 and 1 <= len(b.shape) <= 2:
                stmt.func = _MATMUL  # np.dot is np.matmul for operands of 1 or 2 axes


def specialize_primal(fn: ir.Function, params) -> ir.Function:
    """`fn` (the function before differentiation) with ``np.dot`` of vectors and matrices written
    ``@``, whose adjoints print as matrix products. Returns a new Function."""
    body = ir.substitute(fn.body, {})
    fn = ir.Function(fn.name, list(fn.params), body, fn.result, fn.filename, fn.firstline, fn.doc, dict(fn.exports),
                     fn.result_loc)
    _dot_as_matmul(fn.body, infer(fn, params))
    return ir.verify_pass(fn)


__all__ = ["specialize_adjoint", "specialize_primal", "tidy"]
