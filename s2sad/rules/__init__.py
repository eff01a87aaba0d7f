"""Derivative rule tables.

Importing this package registers every built-in rule. Each module is one table
grouped under banner comments; see ``registry`` for the template conventions.
"""

from . import registry
from .registry import (
    ADJOINT_RULES,
    METHOD_MIRRORS,
    NONDIFFERENTIABLE,
    TANGENT_RULES,
    adjoint,
    adjoint_rule,
    is_nondifferentiable,
    method_mirrors,
    nondifferentiable,
    tangent,
    tangent_rule,
)

# The tables. Order matters only for method mirrors, which name functions.
from . import operators  # noqa: E402,F401  Python operators, builtins, math
from . import elementwise  # noqa: E402,F401  NumPy ufuncs
from . import reductions  # noqa: E402,F401  sum, mean, max, cumsum, norm, ...
from . import arrays  # noqa: E402,F401  shape, data movement, indexing, constructors
from . import linalg  # noqa: E402,F401  dot, matmul, einsum, numpy.linalg
from . import ufunc_methods  # noqa: E402,F401  np.add.reduce, np.maximum.accumulate, ...
from . import statistics  # noqa: E402,F401  quantile, percentile, cov, corrcoef
from . import helpers  # noqa: E402,F401  rules for s2sad's own runtime helpers
from . import nondiff  # noqa: E402,F401  functions with no derivative
from . import writes  # noqa: E402,F401  calls that write into an argument
# What s2sad itself declares non-differentiable (users may add more later).
BUILTIN_NONDIFFERENTIABLE = frozenset(NONDIFFERENTIABLE)
