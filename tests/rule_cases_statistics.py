"""Check cases for the rules added for functions outside test suites call (autograd's test_numpy and
test_linalg, JAX's lax_numpy tests): the reductions and scans of ufuncs (s2sad/rules/ufunc_methods.py)
and statistics (s2sad/rules/statistics.py).

Every registered rule appears in at least one case (tests/test_rules.py checks that). Inputs come
from one seeded generator; ties are tested only where central differences are defined (two-way ties
of a running extreme; order statistics away from ties).
"""

from __future__ import annotations

import numpy as np

from s2sad.check import Case

rng = np.random.default_rng(2)


def normal(*shape):
    return rng.normal(size=shape)


def strided(array):
    """A non-contiguous view with the same values: every other column of a wider array."""
    wide = np.empty(array.shape[:-1] + (2 * array.shape[-1],))
    wide[..., ::2] = array
    view = wide[..., ::2]
    assert not view.flags.c_contiguous
    return view


CASES: list[Case] = []


def add(primal, *args, id="", wrt=None, modes=("adjoint", "tangent"), rtol=1e-5, atol=1e-6, **kwargs):
    CASES.append(Case(primal, args, kwargs, wrt=wrt, id=id or "", modes=modes, rtol=rtol, atol=atol))


# ---------------------------------------------------------------------------
# Reductions and scans of ufuncs: default axis 0, an axis, a negative axis, keepdims, None, a tuple
# ---------------------------------------------------------------------------

for ufunc in (np.add, np.multiply, np.maximum, np.minimum, np.logaddexp, np.logaddexp2):
    name = f"np.{ufunc.__name__}.reduce"
    add(ufunc.reduce, normal(3, 4), id=name)
    add(ufunc.reduce, normal(3, 4), 1, id=f"{name}-axis1")
    add(ufunc.reduce, normal(2, 3, 4), axis=-1, keepdims=True, id=f"{name}-keepdims")
    add(ufunc.reduce, normal(2, 3), axis=None, id=f"{name}-all")
    add(ufunc.reduce, strided(normal(2, 3, 4)), axis=(0, 2), id=f"{name}-tuple-strided")
add(np.multiply.reduce, np.array([[2.0, 0.0, 3.0], [0.0, 1.5, 0.0]]), axis=1, id="np.multiply.reduce-zeros")
add(np.maximum.reduce, np.array([[1.0, 3.0, 3.0], [2.0, -1.0, 0.5]]), axis=1, id="np.maximum.reduce-tie")

for ufunc in (np.add, np.multiply, np.maximum, np.minimum):
    name = f"np.{ufunc.__name__}.accumulate"
    add(ufunc.accumulate, normal(5), id=name)
    add(ufunc.accumulate, normal(3, 4), id=f"{name}-axis0")
    add(ufunc.accumulate, normal(3, 4), 1, id=f"{name}-axis1")
    add(ufunc.accumulate, strided(normal(2, 3, 4)), axis=-2, id=f"{name}-3d-strided")
add(np.multiply.accumulate, np.array([[2.0, 0.0, 3.0, 0.0], [1.5, -1.0, 0.0, 2.0]]), axis=1,
    id="np.multiply.accumulate-zeros")
# two-way ties of the running extreme (central differences then give the even split)
add(np.maximum.accumulate, np.array([[1.0, 3.0, 3.0, 2.0, 5.0, 5.0, 0.0], [4.0, 4.0, 1.0, 6.0, 2.0, 6.5, 0.0]]), 1,
    id="np.maximum.accumulate-ties")
add(np.minimum.accumulate, -np.array([[1.0, 3.0, 3.0, 2.0, 5.0, 5.0, 0.0], [4.0, 4.0, 1.0, 6.0, 2.0, 6.5, 0.0]]), 1,
    id="np.minimum.accumulate-ties")


# ---------------------------------------------------------------------------
# Powers of two and parts of numbers
# ---------------------------------------------------------------------------

add(np.ldexp, normal(3, 4), np.array([1, -2, 3, 0]), id="np.ldexp")
add(np.ldexp, 1.5, 3, id="np.ldexp-float")
add(np.frexp, 5 * normal(3, 4), id="np.frexp")
add(np.modf, 5 * normal(3, 4), id="np.modf")
add(np.modf, -2.75, id="np.modf-float")
add(np.real_if_close, normal(2, 3), id="np.real_if_close")


# ---------------------------------------------------------------------------
# Quantiles (away from ties; q = 0, 1 and a q between two order statistics)
# ---------------------------------------------------------------------------

for f, scale in ((np.quantile, 1.0), (np.percentile, 100.0)):
    name = f"np.{f.__name__}"
    add(f, normal(3, 5), 0.3 * scale, id=name)
    add(f, normal(3, 5), 0.3 * scale, axis=1, id=f"{name}-axis1")
    add(f, normal(3, 5), 0.3 * scale, axis=0, keepdims=True, id=f"{name}-keepdims")
    add(f, normal(3, 5), np.array([0.1, 0.65]) * scale, axis=-1, id=f"{name}-q-array")
    add(f, strided(normal(2, 3, 4)), np.array([[0.3], [0.45]]) * scale, axis=(0, 2), id=f"{name}-q-2d-tuple-axis")
    add(f, normal(6), 0.0, wrt=[0], id=f"{name}-q0")
    add(f, normal(6), 1.0 * scale, wrt=[0], id=f"{name}-q1")
    add(f, normal(1, 4), 0.25 * scale, axis=0, wrt=[0], id=f"{name}-one-entry")
add(np.quantile, np.array([1.0, 3.0, 3.0, 0.5, 2.0]), 0.3, id="np.quantile-tie-elsewhere")

# ---------------------------------------------------------------------------
# Covariance and correlation
# ---------------------------------------------------------------------------

for f in (np.cov, np.corrcoef):
    name = f"np.{f.__name__}"
    add(f, normal(3, 5), id=name)
    add(f, normal(5, 3), rowvar=False, id=f"{name}-rowvar")
    add(f, normal(3, 5), normal(2, 5), id=f"{name}-y")
    add(f, normal(5), normal(5), id=f"{name}-vectors")
    add(f, normal(5, 3), normal(5, 2), False, id=f"{name}-y-rowvar-positional")
    add(f, normal(3, 5), normal(5), id=f"{name}-y-vector")
add(np.cov, normal(3, 5), bias=True, id="np.cov-bias")
add(np.cov, normal(3, 5), ddof=2, id="np.cov-ddof")
add(np.cov, normal(6), id="np.cov-one-variable")
from s2sad.rules.statistics import plus_transpose  # noqa: E402

add(plus_transpose, normal(3, 3), id="plus_transpose")


# ---------------------------------------------------------------------------
# np.linalg.multi_dot (through einsum's rules) and np.linalg.lstsq (full rank)
# ---------------------------------------------------------------------------

from s2sad.rules.linalg import chain_arrays, chain_operands  # noqa: E402

add(np.linalg.multi_dot, [normal(3, 4), normal(4, 2), normal(2, 5)], id="np.linalg.multi_dot")
add(np.linalg.multi_dot, [normal(3), normal(3, 4), normal(4, 2), normal(2)], id="np.linalg.multi_dot-vectors")
add(np.linalg.multi_dot, (normal(4), strided(normal(4, 3))), id="np.linalg.multi_dot-tuple-row")
add(chain_operands, [normal(3, 4), normal(4)], False, id="chain_operands")
add(chain_arrays, (0.0, normal(3, 4), normal(4)), id="chain_arrays")
add(np.linalg.lstsq, normal(5, 3), normal(5), rcond=None, id="np.linalg.lstsq-tall")
add(np.linalg.lstsq, normal(5, 3), normal(5, 2), None, id="np.linalg.lstsq-tall-columns")
add(np.linalg.lstsq, normal(2, 4), normal(2), rcond=None, id="np.linalg.lstsq-wide")
add(np.linalg.lstsq, normal(3, 3) + 3 * np.eye(3), normal(3), id="np.linalg.lstsq-square")


# ---------------------------------------------------------------------------
# np.gradient (one axis, scalar spacing) and np.select
# ---------------------------------------------------------------------------

from s2sad.rules.arrays import select_adjoint, select_tangent  # noqa: E402
from s2sad.rules.reductions import gradient_transpose  # noqa: E402

add(np.gradient, normal(6), id="np.gradient")
add(np.gradient, normal(6), 0.5, wrt=[0], id="np.gradient-spacing")
add(np.gradient, normal(6), 0.3, edge_order=2, wrt=[0], id="np.gradient-edge2")
add(np.gradient, normal(4, 5), axis=1, id="np.gradient-axis")
add(np.gradient, strided(normal(4, 5)), 2.0, axis=-2, edge_order=2, wrt=[0], id="np.gradient-axis-edge2-strided")
add(np.gradient, normal(3, 4), axis=(0,), id="np.gradient-axis-tuple")
add(gradient_transpose, normal(4, 5), 0.5, 1, 2, wrt=[0], id="gradient_transpose")
add(gradient_transpose, normal(6), 2.0, 0, 1, wrt=[0], id="gradient_transpose-edge1")

_v = normal(6)
add(np.select, [_v < -0.5, _v < 0.5], [normal(6), normal(6)], id="np.select")
add(np.select, [_v < -0.5, _v < 0.5], [normal(6), normal(6)], 0.3, id="np.select-default")
_m = normal(3, 4)
add(np.select, [_m < 0, _m > 1], [normal(3, 4), normal(4)], normal(3, 1), id="np.select-broadcast")
add(select_adjoint, normal(3, 4), [_m < 0, _m > 0.5], [normal(3, 4), normal(4)], wrt=[0], id="select_adjoint")
add(select_tangent, [normal(3, 4), normal(4)], [_m < 0, _m > 0.5], id="select_tangent")

# np.unique: values only; without ties (a tie is not differentiable: moving one copy splits it in two)
add(np.unique, normal(3, 4), id="np.unique")
