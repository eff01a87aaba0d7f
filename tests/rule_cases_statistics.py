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
