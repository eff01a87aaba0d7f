"""Generated code transformed again: every operator applied to a generated function's IR.

A :class:`~s2sad.api.GeneratedFunction` that came out of the pipeline keeps the
IR it was printed from (``g.ir``). That IR *is* a program: transforming it again
skips the frontend and the lowering and runs the same stages as for a user
function (reverse, forward, :func:`kinds.build_ir`, simplify, codegen), with
``wrt`` naming g's own parameters. So ``jvp(grad(f))`` is forward over reverse,
``vjp(grad(f))`` reverse over reverse, ``jvp(jvp(f))`` forward over forward.

Forward mode takes any generated IR (the tangent rules of the runtime helpers
and the tape exist, hvp needs them). Reverse mode needs the IR to be pure
(`generated_ir.pure_for_reverse`, called by `reverse_function` itself): the tape
becomes a list value, the helpers that update an adjoint in place their pure
forms, and what it cannot reverse yet (putting back a slice overwritten in
place) is refused, naming it.
"""

from __future__ import annotations

import types
import warnings

from . import ir
from .api import (GeneratedFunction, _cached, _live_globals, _param_names, _with_runtime, resolve_wrt)
from .codegen import compile_function
from .errors import InternalError, S2SADError
from .kinds import build_ir
from .generated_ir import pure_for_reverse, reverse_problems_of
from .reverse import reverse_function
from .routine_pairs import to_module_source
from .rules import registry
from .simplify import simplify
from .transforming import transforming

__all__ = ["is_generated", "user_root", "program_of", "reverse_problems", "build_generated"]

# kinds whose IR is made by reverse mode over the program (hvp: forward over that reverse)
_REVERSE_KINDS = ("grad", "value_and_grad", "vjp", "hvp", "grad_aux", "value_and_grad_aux", "vjp_aux")


def is_generated(f) -> bool:
    """Whether `f` is generated code (then the operators transform its IR, not a source)."""
    return isinstance(f, GeneratedFunction)


def user_root(g):
    """The user's function that a (possibly repeatedly) generated function came from."""
    while isinstance(g, GeneratedFunction):
        g = g.primal
    return g


def program_of(g: GeneratedFunction) -> ir.Function:
    """The IR to transform for `g`, after checking it can stand in for g's source.

    Refreshes `g` first when what it was built from changed, so the new
    derivative differentiates g as it is now.
    """
    if g.ir is None:
        raise S2SADError(
            f"{g.__name__} is a driver that loops over generated code ({g.kind}); it has no IR of its own to "
            "transform again",
            hint=f"differentiate the function it was made from, or a generated grad, jvp, vjp or hvp "
            f"(e.g. s2sad.jacobian(s2sad.grad(f)) instead of transforming s2sad.{g.kind}(f))")
    if g._structures:
        raise S2SADError(
            f"{g.__name__} takes containers (dicts, lists, tuples) of arrays; transforming such generated code "
            "again is not supported", hint="pass the arrays as separate arguments to the function you differentiate")
    if not g.is_fresh():
        g._refresh()
    names = [p.var.name for p in g.ir.params]
    if names != _param_names(g):  # pragma: no cover - generated code keeps its IR's parameter names
        raise S2SADError(f"the parameters of {g.__name__} {_param_names(g)} are not those of its IR {names}",
                         hint="this is a bug in s2sad; please report it")
    return g.ir


def reverse_problems(g: GeneratedFunction) -> list:
    """What in `g`'s IR reverse mode cannot reverse yet (empty when ``grad(g)`` can be reverse mode)."""
    return reverse_problems_of(program_of(g))


def _composed_ir(program: ir.Function, kind: str, positions: list, many: bool, name: str) -> ir.Function:
    if kind in _REVERSE_KINDS:
        program = pure_for_reverse(program, generated=True)
    if kind in ("grad", "value_and_grad"):
        return reverse_function(program, positions, seed="scalar", return_value=(kind == "value_and_grad"),
                                name=f"{kind}_{name}", tuple_grads=many)
    if kind == "vjp":
        return reverse_function(program, positions, seed="param", name=f"vjp_{name}", tuple_grads=many)
    return build_ir(program, kind, positions, many, name)


@transforming()
def _build_generated(g: GeneratedFunction, kind: str, positions: tuple, many: bool) -> GeneratedFunction:
    program = program_of(g)
    built_from = program
    names = [p.var.name for p in program.params]
    name = program.name
    root = user_root(g)
    fn = simplify(_composed_ir(program, kind, list(positions), many, name))
    source, namespace = to_module_source(fn)  # with the subroutines its IR calls
    namespace = _with_runtime(namespace, g, program.result_loc)
    with warnings.catch_warnings():
        # a constant seed (derivative<n>) is the number 1.0: code indexing it fails at run time, not here
        warnings.simplefilter("ignore", SyntaxWarning)
        compiled = compile_function(source, fn.name, namespace, live_globals=_live_globals_of(g, root, namespace),
                                    filename=f"<s2sad {kind} of {g.__name__}>")
    generated = GeneratedFunction(compiled, source, kind, g, [names[p] for p in positions], fn, namespace, many)
    # fresh while g is: g's own guard holds and g was not rebuilt since
    generated._guard = lambda: (g._guard is None or g._guard()) and g.ir is built_from
    generated._rebuild = lambda: _build_generated(g, kind, positions, many)
    return generated


def _live_globals_of(g: GeneratedFunction, root, namespace):
    """The user's module namespace, with what g's code reads live from it read live here too.

    g.ir holds the value a data global had when g was built; g itself reads it
    live, so its snapshot may be old. The names g's namespace does not bind are
    those (`api._live_globals`).
    """
    globs = _live_globals(root, namespace)
    for name, value in g.live_data_globals()[1].items():
        if name in namespace.bindings and not callable(value) and not isinstance(value, types.ModuleType):
            del namespace.bindings[name]
    return globs


def build_generated(g: GeneratedFunction, kind: str, wrt=0) -> GeneratedFunction:
    """The generated function of `kind` ("grad", "vjp", "jvp", "hvp", "derivative<n>" ...) of the
    generated function `g`, with `wrt` naming g's parameters; cached on `g`.

    Example:
        >>> import numpy as np, s2sad
        >>> def f(x):
        ...     return np.sum(x ** 3)
        >>> g = s2sad.grad(f)                         # 3 x**2
        >>> s2sad.jvp(g)(np.array([1.0, 2.0]), np.array([1.0, 0.0]))[1]   # (6 x) * v
        array([6., 0.])
    """
    positions, many = resolve_wrt(g, wrt)
    key = ("composed", kind, positions, many, registry.generation())
    return _cached(g, key, lambda: internal_errors_named(f"the generated {g.__name__}",
                                                          lambda: _build_generated(g, kind, positions, many)))


def internal_errors_named(what: str, make, location=None):
    """Run `make`; an exception that is not an S2SADError is an s2sad bug: re-raise it as an
    InternalError naming `what` (the function being transformed), the cause attached."""
    try:
        return make()
    except S2SADError:
        raise
    except Exception as exc:
        raise InternalError(
            f"s2sad failed while transforming {what} ({type(exc).__name__}: {exc}). "
            "This is a bug in s2sad; please report it with the function.", location) from exc
