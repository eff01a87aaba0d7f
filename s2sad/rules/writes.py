"""Calls that write into one of their arguments, and how s2sad treats each.

A call that writes is never pure: lowering rewrites it as an in-place update of
the written array, ``x[...] = value`` (a new SSA version of ``x``, like
``x[i] = v``), so dead-code removal, copy propagation, the alias checks and the
save/restore of overwritten values all apply to it. ``how`` names the rewrite
(see ``s2sad.lower_writes``); a declaration without one is refused when the
function is transformed, with the hint shown here.

Writing into ``out=`` needs no entry: every call is checked for it.
"""

from __future__ import annotations

import operator

import numpy as np

from ..primitives import Method
from ..runtime import put_index, put_source
from .registry import WRITES, declare_writes, nondifferentiable

# ---------------------------------------------------------------------------
# Differentiated: rewritten as x[...] = (a pure function of the arguments)
# ---------------------------------------------------------------------------
declare_writes(np.copyto, param=(0, "dst"), how="copyto")  # dst[...] = src (where= selects)
declare_writes(Method("fill"), param=(0, "self"), how="fill")  # x[...] = value
declare_writes(Method("sort"), param=(0, "self"), how="sort")  # x[...] = np.sort(x, ...)
declare_writes(np.put, Method("put"), param=(0, "a"), how="put")  # x.flat[ind] = v (cyclic v)
nondifferentiable(put_index, put_source, note="integer indices")
# np.add.at(a, i, b) is a[...] = a + scatter_add(b, a, i); subtract.at likewise; other ufuncs refused
declare_writes(Method("ufunc.at"), param=(1, "a"), how="ufunc_at",
               hint="update element by element in a loop: for k in range(len(i)): a[i[k]] = a[i[k]] * b[k]")

# ---------------------------------------------------------------------------
# Refused, with what to write instead
# ---------------------------------------------------------------------------
declare_writes(np.putmask, param=(0, "a"), hint="build a new array: a = np.where(mask, values, a)")
declare_writes(np.place, param=(0, "arr"), hint="assign through the mask on a local array: arr[mask] = vals")
declare_writes(np.fill_diagonal, param=(0, "a"),
               hint="assign the diagonal of a local array: a[np.arange(n), np.arange(n)] = val")
declare_writes(np.put_along_axis, param=(0, "arr"),
               hint="build the result with an index on a local array: arr[index] = values")
declare_writes(Method("shuffle"), param=(1, "x"),
               hint="use a new array: x = x[rng.permutation(len(x))] (or x = rng.permutation(x))")
declare_writes(Method("partition"), param=(0, "self"), hint="use a new array: x = np.partition(x, kth)")
declare_writes(Method("resize"), param=(0, "self"), hint="use a new array: x = np.resize(x, shape)")
declare_writes(Method("itemset"), param=(0, "self"), hint="assign the element: x[i] = v")
declare_writes(Method("setfield"), param=(0, "self"), hint="build a new array instead")
declare_writes(Method("byteswap"), param=(0, "self"), when=(1, "inplace", True),
               hint="use the copy it returns: y = x.byteswap()")
declare_writes(np.nan_to_num, param=(0, "x"), when=(1, "copy", False),
               hint="drop copy=False: x = np.nan_to_num(x) makes a new array")

# In-place operators called by name write into their first operand (an array's, a list's)
_IN_PLACE_OPERATORS = ("iadd", "isub", "imul", "itruediv", "ifloordiv", "imod", "ipow", "imatmul", "iand", "ior",
                       "ixor", "ilshift", "irshift", "iconcat", "setitem", "delitem")
declare_writes(*(getattr(operator, name) for name in _IN_PLACE_OPERATORS), param=(0, "a"),
               hint="write the update as an assignment: a = a + b, or a[i] = v on a local array")
declare_writes(*(Method(f"__{name}__") for name in _IN_PLACE_OPERATORS if name != "iconcat"), param=(0, "self"),
               hint="write the update as an assignment: a = a + b, or a[i] = v on a local array")

SHIPPED_WRITES = frozenset(WRITES)  # what s2sad itself declares (the coverage table lists these)
