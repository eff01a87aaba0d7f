"""The entry points users call first: grad, value_and_grad and @differentiate.

They sit above both builders: `api` (reverse mode from a function's source) and
`derivatives` (forward mode, higher order, and grad of generated code), so
that data flows one way: api -> derivatives -> public.
"""

from __future__ import annotations

import functools
import inspect
import types

from . import derivatives
from .api import GeneratedFunction, build, remember_request, resolve_wrt
from .checkpoint import check_option
from .errors import ArgumentError
from .compose import build_generated, reverse_problems
from .derivatives import grad_of_generated
from .frontend import parse_function, unwrap


def grad(f, wrt=0, *, has_aux=False, checkpoint=None):
    """The gradient of a scalar function, as a generated Python function.

    Args:
        f: a Python function whose source s2sad can read, returning a scalar;
            or generated code of a scalar -> scalar function (``grad(grad(f))``,
            by forward mode over the generated program).
        wrt: the parameter to differentiate with respect to: a position or a
            name, or a tuple of them (then the result is a tuple, in that order).
        has_aux: ``f`` returns ``(loss, aux)``; the generated function returns
            ``(gradient, aux)`` (as in JAX).
        checkpoint: trade time for memory in long loops. ``None`` (default)
            keeps the full tape; ``"sqrt"`` saves, for each top-level ``for``
            loop over a ``range`` of n iterations, ⌈√n⌉ snapshots of the loop's
            state and one segment's tape (O(√n) memory) and runs the loop body
            twice forward; an int ``c`` keeps at most ``c`` snapshots (segments
            of ⌈n/c⌉ iterations). The gradient is identical. Loops that update
            arrays in place or draw random numbers raise ``CheckpointError``;
            ``while`` loops and loops nested in branches keep their full tape
            (docs/checkpointing.md).

    Returns:
        A function with ``f``'s signature returning the gradient(s). Its
        ``.source`` is the generated Python.

    Example:
        >>> import numpy as np, s2sad
        >>> def f(x, y):
        ...     return x * y + np.sin(x)
        >>> float(s2sad.grad(f)(2.0, 3.0))  # y + cos(x)
        2.5838531634528574
        >>> float(s2sad.grad(f, wrt=("x", "y"))(2.0, 3.0)[1])  # x
        2.0
        >>> float(s2sad.grad(s2sad.grad(f))(0.5, 3.0))  # -sin(x)
        -0.479425538604203
    """
    check_option(checkpoint)
    if isinstance(f, GeneratedFunction):
        _no_checkpoint(checkpoint)
        generated = _grad_of_generated(f, "grad", wrt, has_aux)
    else:
        generated = build(f, "grad_aux" if has_aux else "grad", wrt, checkpoint)
    return remember_request(generated, grad, f, wrt, has_aux=has_aux, checkpoint=checkpoint)


def _grad_of_generated(g, kind, wrt, has_aux):
    """Reverse mode over g's IR (any argument shape); where g's IR has what reverse mode cannot
    reverse yet (a value put back after an in-place update), grad falls back to forward mode, exact for a
    scalar argument."""
    if g.ir is not None and not g._structures and not reverse_problems(g):
        return build_generated(g, f"{kind}_aux" if has_aux else kind, wrt)
    if kind == "grad":
        return grad_of_generated(g, wrt, has_aux)
    return build_generated(g, kind, wrt)  # raises, naming what cannot be reversed


def value_and_grad(f, wrt=0, *, has_aux=False, checkpoint=None):
    """Like :func:`grad` (``checkpoint`` too), but the generated function returns ``(f(*args), gradient)``.

    With ``has_aux=True``, ``f`` returns ``(loss, aux)`` and the generated
    function returns ``((loss, aux), gradient)`` (as in JAX).

    Example:
        >>> import s2sad
        >>> def f(x):
        ...     return x ** 3
        >>> s2sad.value_and_grad(f)(2.0)
        (8.0, 12.0)
    """
    check_option(checkpoint)
    if isinstance(f, GeneratedFunction):
        _no_checkpoint(checkpoint)
        generated = _grad_of_generated(f, "value_and_grad", wrt, has_aux)
    else:
        generated = build(f, "value_and_grad_aux" if has_aux else "value_and_grad", wrt, checkpoint)
    return remember_request(generated, value_and_grad, f, wrt, has_aux=has_aux, checkpoint=checkpoint)


def _no_checkpoint(checkpoint):
    if checkpoint is not None:
        raise ArgumentError("checkpoint= applies to the gradient of a Python function, not of generated code",
                            hint="pass checkpoint= where the inner derivative is built from your function")


# What a @differentiate function carries: each built by the public entry point of that name.
_DERIVATIVES = {"grad": grad, "value_and_grad": value_and_grad, "jvp": derivatives.jvp,
                "vjp": derivatives.vjp, "jacobian": derivatives.jacobian,
                "hessian": derivatives.hessian, "hvp": derivatives.hvp}


def _derivative(name):
    make = _DERIVATIVES[name]
    return property(lambda self: make(self.__wrapped__, self._wrt),
                    doc=f"The generated {name} (see :func:`s2sad.{name}`).")


class Differentiable:
    """A user function carrying its generated derivatives (see :func:`differentiate`)."""

    def __init__(self, func, wrt):
        if not inspect.isfunction(unwrap(func)):
            parse_function(func)  # raises SourceUnavailableError saying what was passed
        functools.update_wrapper(self, func)
        self.__s2sad_function__ = func
        self._wrt = wrt
        resolve_wrt(unwrap(func), wrt)  # refuse a bad wrt at decoration time (np.sum: its rule's caller)

    def __call__(self, *args, **kwargs):
        return self.__wrapped__(*args, **kwargs)

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        return _BoundDifferentiable(self, obj)

    grad = _derivative("grad")
    value_and_grad = _derivative("value_and_grad")
    jvp = _derivative("jvp")
    vjp = _derivative("vjp")
    jacobian = _derivative("jacobian")
    hessian = _derivative("hessian")
    hvp = _derivative("hvp")

    def __repr__(self) -> str:
        return f"<s2sad.differentiate {self.__wrapped__.__qualname__} wrt={self._wrt!r}>"


class _BoundDifferentiable:
    """``obj.method`` for a ``@differentiate`` method: calls and derivatives with ``self`` bound.

    A position in ``wrt`` counts the method's own parameters, as the caller sees
    them (``wrt=0`` is the first one after ``self``).
    """

    def __init__(self, differentiable, obj):
        self._d, self._obj = differentiable, obj
        functools.update_wrapper(self, differentiable.__wrapped__)
        # what s2sad.grad(obj.method) reads: the method bound to obj, as for a plain method (the unbound
        # function would be differentiated with respect to self)
        self.__s2sad_function__ = types.MethodType(differentiable.__s2sad_function__, obj)

    def __call__(self, *args, **kwargs):
        return self._d.__wrapped__(self._obj, *args, **kwargs)

    def _wrt(self):
        wrt = self._d._wrt
        shift = (lambda w: w + 1 if isinstance(w, int) and not isinstance(w, bool) else w)
        return tuple(shift(w) for w in wrt) if isinstance(wrt, (tuple, list)) else shift(wrt)

    def __getattr__(self, name):
        if name not in _DERIVATIVES:
            return getattr(self._d, name)
        derivative = _DERIVATIVES[name](self._d.__wrapped__, self._wrt())
        if isinstance(derivative, GeneratedFunction):
            return _BoundGenerated(derivative, self._obj)
        return functools.partial(derivative, self._obj)


class _BoundGenerated:
    """A generated derivative with ``self`` bound; ``.source`` is still the generated code."""

    def __init__(self, generated, obj):
        self._generated, self._obj = generated, obj
        self.source = generated.source
        self.__name__ = generated.__name__

    def __call__(self, *args, **kwargs):
        return self._generated(self._obj, *args, **kwargs)

    def __repr__(self) -> str:
        return repr(self._generated).replace("<s2sad", "<s2sad bound", 1)


def differentiate(f=None, *, wrt=0):
    """Decorator: ``f`` keeps working as before and gains ``.grad`` and ``.value_and_grad``.

    Use as ``@s2sad.differentiate`` or ``@s2sad.differentiate(wrt=("w", "b"))``.

    Example:
        >>> import s2sad
        >>> @s2sad.differentiate
        ... def square(x):
        ...     return x * x
        >>> square(3.0), square.grad(3.0)
        (9.0, 6.0)
    """
    if f is None:
        return lambda func: Differentiable(func, wrt)
    return Differentiable(f, wrt)
