"""Nested functions that become generated function pairs, like module-level helpers (`subroutines`).

A nested ``def`` or ``h = lambda ...`` (:class:`closures.LocalFunction`) that is **called from two
places in the enclosing function's text, calls itself, or is large** is lowered once to its own IR
instead of being inlined at each call. Its free variables (the enclosing function's names it reads)
become its leading parameters, in sorted order, and each call passes their values *at the call*
(Python's late binding), so ``y = h(x)`` reading ``W`` becomes ``y = h(W, x)``: the pair
``h_fwd(W, x)`` / ``h_bwd(saved, y_bar)`` gives ``W`` its adjoint like any argument.

Only the plain shape is covered: a closure passed to a helper (its names are then those of the
defining call), a free name bound to another local function, a name the enclosing function binds
only later, or an argument the helper's IR cannot take, keep inlining (see `free_names`).
"""

from __future__ import annotations

import gast

from . import closures
from .subroutines import LARGE_HELPER, Subroutine


class LocalSubroutine(Subroutine):
    """A :class:`Subroutine` made of a nested function: `func` is its :class:`closures.LocalFunction`,
    ``free`` the names of the enclosing function it takes first."""

    def __init__(self, local, name: str, free: tuple):
        super().__init__(local, name)
        self.free = free

    def __call__(self, *args):
        raise TypeError(f"the nested function {self.name} runs only inside the generated code")


def wanted(local) -> bool:
    """Is `local` called from two places in the text of the function defining it, recursive, or large?"""
    name = local.node.name
    enclosing = local.parsed.node  # the function (or nested function) whose body defines it
    calls = sum(isinstance(n, gast.Call) and isinstance(n.func, gast.Name) and n.func.id == name
                for n in gast.walk(enclosing))
    return calls >= 2 or recursive_call(local) is not None or \
        sum(isinstance(n, gast.stmt) for n in gast.walk(local.node)) >= LARGE_HELPER


def recursive_call(local):
    """The first call of `local` by its own name inside its body (its name not made local there), or None."""
    name = local.node.name
    if name in own_names(local):
        return None
    return next((n for n in gast.walk(local.node) if isinstance(n, gast.Call)
                 and isinstance(n.func, gast.Name) and n.func.id == name), None)


def own_names(local) -> set:
    """The parameters of `local` and the names its body binds."""
    args = local.node.args
    params = {a.id for a in args.posonlyargs + args.args + args.kwonlyargs}
    return params | closures._own_names(local.node.body)


def free_names(local, env: dict, local_names) -> tuple | None:
    """The enclosing names `local` reads (anywhere in its text, nested lambdas included), sorted; None
    when one of them is unbound at this call or bound to another local function (then it is inlined)."""
    own = own_names(local)
    read = {n.id for n in gast.walk(local.node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}
    free = []
    for name in sorted(read - own):
        if name == local.node.name and env.get(name) is local:
            continue  # its own name: a recursive call
        if name in env:
            if closures.is_local(env[name]):
                return None
            free.append(name)
        elif name in local_names:
            return None  # bound later in the enclosing function: inlining reports the read
    return tuple(free)


__all__ = ["LocalSubroutine", "free_names", "recursive_call", "wanted"]
