"""Functions with no derivative: their results are piecewise constant, integer,
boolean, or describe shapes and types. Calls to them pass through generated code
unchanged and contribute nothing to any adjoint or tangent.

Only list what is nondifferentiable in *every* argument. ``np.where`` with one
argument (indices) shares its object with the differentiable three-argument
form, so it is not listed here (the ``np.where`` rule refuses the one-argument
call). Random samplers with a location/scale parameter (``normal``,
``uniform``) have pathwise rules in ``elementwise``; only parameter-free
samplers are listed here.
"""

from __future__ import annotations

import builtins
import math
import operator

import numpy as np

from .. import runtime
from ..primitives import Attr, Method
from .registry import method_mirrors, nondifferentiable

# ---------------------------------------------------------------------------
# Rounding and sign: piecewise constant (derivative 0 almost everywhere)
# ---------------------------------------------------------------------------
nondifferentiable(
    np.floor, np.ceil, np.round, np.around, np.rint, np.trunc, np.fix,
    np.sign, np.signbit, np.heaviside, np.floor_divide, np.spacing,
    operator.floordiv, builtins.round,
    math.floor, math.ceil, math.trunc,
    note="piecewise constant",
)

# ---------------------------------------------------------------------------
# Comparisons, logic, predicates, bitwise and integer arithmetic
# ---------------------------------------------------------------------------
nondifferentiable(
    np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal,
    np.logical_and, np.logical_or, np.logical_xor, np.logical_not,
    np.isclose, np.allclose, np.array_equal, np.array_equiv,
    np.isnan, np.isfinite, np.isinf, np.isneginf, np.isposinf, np.isreal, np.iscomplex,
    np.isin, np.all, np.any,
    np.bitwise_and, np.bitwise_or, np.bitwise_xor, np.invert,
    np.left_shift, np.right_shift, np.gcd, np.lcm,
    operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne,
    operator.not_, operator.truth, operator.is_, operator.is_not, operator.contains,
    operator.and_, operator.or_, operator.xor, operator.invert, operator.lshift, operator.rshift,
    operator.index,
    builtins.bool, builtins.int, builtins.isinstance, builtins.type, builtins.callable,
    builtins.hasattr, builtins.any, builtins.all, builtins.id, builtins.hash,
    builtins.str, builtins.repr, builtins.print, builtins.format, builtins.ascii,
    math.isnan, math.isinf, math.isfinite, math.isclose,
    math.factorial, math.comb, math.perm, math.gcd,
    note="boolean or integer result",
)

# ---------------------------------------------------------------------------
# Indices and counts
# ---------------------------------------------------------------------------
nondifferentiable(
    np.argmax, np.argmin, np.argsort, np.argwhere, np.nonzero, np.flatnonzero,
    np.searchsorted, np.count_nonzero, np.digitize,
    np.unravel_index, np.ravel_multi_index, np.indices,
    np.tril_indices, np.triu_indices, np.diag_indices,
    np.tril_indices_from, np.triu_indices_from, np.diag_indices_from, np.linalg.matrix_rank,
    runtime.sorted_order, runtime.extremum_position,
    note="integer indices",
)

# ---------------------------------------------------------------------------
# Shapes, sizes, types and constant constructors
# ---------------------------------------------------------------------------
nondifferentiable(
    np.shape, np.ndim, np.size, np.broadcast_shapes, np.result_type,
    np.iscomplexobj, np.isrealobj, np.isscalar,
    builtins.len, builtins.range,
    np.zeros, np.ones, np.empty, np.eye, np.identity, np.arange,
    np.zeros_like, np.ones_like, np.empty_like,
    runtime.zeros_like, runtime.scalar_seed, runtime.shape_of, runtime.other_items,
    Attr("shape"), Attr("ndim"), Attr("size"), Attr("dtype"), Attr("itemsize"), Attr("nbytes"),
    Attr("strides"),
    note="shape, type or constant",
)

# ---------------------------------------------------------------------------
# Random numbers without a location/scale parameter
# ---------------------------------------------------------------------------
nondifferentiable(
    np.random.seed, np.random.default_rng,
    np.random.rand, np.random.randn, np.random.random, np.random.random_sample,
    np.random.standard_normal, np.random.randint,
    Method("random"), Method("standard_normal"), Method("standard_exponential"), Method("integers"),
    note="random sample independent of the inputs",
)

# ndarray methods that mirror nondifferentiable functions
method_mirrors(
    argmax=np.argmax,
    argmin=np.argmin,
    argsort=np.argsort,
    nonzero=np.nonzero,
    all=np.all,
    any=np.any,
    round=np.round,
)
