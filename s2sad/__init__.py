"""s2sad: source-to-source automatic differentiation for Python and NumPy.

s2sad reads a function's source and writes the Python source of its
derivative: a forward sweep, a tape only where loops overwrite values, and a
reverse sweep, each line labelled with the source line it came from.

    >>> import numpy as np, s2sad
    >>> def f(x, y):
    ...     return x * y + np.sin(x)
    >>> df = s2sad.grad(f, wrt=("x", "y"))
    >>> print(df.source)  # doctest: +SKIP
"""

from . import rules  # noqa: F401  (importing it registers the built-in derivative rules)
from .api import GeneratedFunction, InternalError, show, source
from .public import Differentiable, differentiate, grad, value_and_grad
from .derivatives import curl, derivative, divergence, hessian, hvp, jacobian, jvp, laplacian, vjp
from .export import export  # noqa: E402  (the function; the module is s2sad.export in sys.modules)
from .errors import (
    ArgumentError,
    CheckpointError,
    InPlaceUpdateError,
    NameResolutionError,
    NoDerivativeError,
    NonScalarOutputError,
    RecursionNotSupportedError,
    RuleError,
    S2SADError,
    SourceChangedError,
    SourceUnavailableError,
    UnsupportedCodeError,
    UnsupportedSyntaxError,
    WritingCallError,
    WrtError,
)
from .rules.registry import adjoint, declare_writes, method_mirrors, nondifferentiable, returns_tuple, tangent
from .check import check_grad, check_rule
from .explain import explain, graph

__version__ = "0.1.0"

__all__ = [
    "grad",
    "value_and_grad",
    "jvp",
    "vjp",
    "jacobian",
    "hessian",
    "hvp",
    "derivative",
    "laplacian",
    "divergence",
    "curl",
    "differentiate",
    "show",
    "export",
    "explain",
    "graph",
    "source",
    "adjoint",
    "tangent",
    "nondifferentiable",
    "method_mirrors",
    "declare_writes",
    "returns_tuple",
    "check_grad",
    "check_rule",
    "Differentiable",
    "GeneratedFunction",
    "S2SADError",
    "ArgumentError",
    "CheckpointError",
    "InPlaceUpdateError",
    "InternalError",
    "NameResolutionError",
    "NoDerivativeError",
    "NonScalarOutputError",
    "RecursionNotSupportedError",
    "RuleError",
    "SourceChangedError",
    "SourceUnavailableError",
    "UnsupportedCodeError",
    "UnsupportedSyntaxError",
    "WritingCallError",
    "WrtError",
]
