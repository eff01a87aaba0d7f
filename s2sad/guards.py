"""Guards: the assumptions a generated derivative rests on, checked on every call.

A transformation reads the running program: the code and defaults of the
function and of every helper it inlines, the closure cells and globals its
names resolve to. The generated code bakes these in. When one changes (a helper
redefined in a notebook, a closure variable rebound, ``f.__defaults__``
replaced, a data global of a helper's module rebound), the derivative must be
rebuilt, or it silently differentiates the old program.

:func:`make_guard` compiles the recorded assumptions into one function of
identity comparisons, like a JIT's guards::

    lambda: g0['helper'] is v0 and c1.cell_contents is v1 and f2.__code__ is v2

It costs a few dozen nanoseconds per assumption and does no ``inspect`` work.
A guard that raises (an emptied cell) counts as failed.
"""

from __future__ import annotations

import sys
import types

from . import ir
from .frontend import _MISSING


def live_assumptions(assumptions, live_globals: dict | None, live_names) -> list:
    """The assumptions to check: duplicates and the globals generated code reads live are dropped.

    Args:
        assumptions: ``(kind, holder, key, value)`` tuples from :class:`frontend.ParsedFunction`.
        live_globals: the module namespace generated code looks names up in at run time.
        live_names: the names it looks up there (their current value is always used).
    """
    kept, seen = [], set()
    for kind, holder, key, value in assumptions:
        if kind == "global" and holder is live_globals and key in live_names:
            continue
        mark = (kind, id(holder), key)
        if mark not in seen:
            seen.add(mark)
            kept.append((kind, holder, key, value))
    return kept


def make_guard(assumptions):
    """A function of no arguments that is true while every assumption still holds (None if none).

    Example:
        >>> scope = {"scale": 2.0}
        >>> guard = make_guard([("global", scope, "scale", scope["scale"])])
        >>> guard()
        True
        >>> scope["scale"] = 3.0
        >>> guard()
        False
    """
    if not assumptions:
        return None
    names, terms = ["MISSING"], []
    values = [_MISSING]
    for i, (kind, holder, key, value) in enumerate(assumptions):
        names += [f"h{i}", f"v{i}"]
        values += [holder, value]
        if kind == "global" and value is _MISSING:  # a builtin, while no global of that name hides it
            terms.append(f"{key!r} not in h{i}")
        elif kind == "global":
            terms.append(f"h{i}[{key!r}] is v{i}")  # a KeyError (the name was deleted) fails the guard
        elif kind == "item":  # a function read out of a list or dict (lower_callables)
            terms.append(f"h{i}[{key!r}] is v{i}")
        elif kind == "length":  # a list a loop was unrolled over
            terms.append(f"len(h{i}) == v{i}")
        elif kind == "keys":  # a dict a loop was unrolled over, in its order
            terms.append(f"tuple(h{i}) == v{i}")
        elif kind == "cell":
            terms.append(f"h{i}.cell_contents is v{i}")
        elif kind == "attr" and key.isidentifier():
            terms.append(f"h{i}.{key} is v{i}")
        elif kind == "fresh":  # generated code called inside: its own guard holds (GeneratedFunction.is_fresh)
            terms.append(f"h{i}.is_fresh()")
        else:
            raise ValueError(f"unknown assumption {kind!r}")
    source = f"def __s2sad_guard_factory__({', '.join(names)}):\n    return lambda: " + " and ".join(terms) + "\n"
    scope: dict = {}
    exec(compile(source, "<s2sad guard>", "exec"), scope)
    return scope["__s2sad_guard_factory__"](*values)


# Modules whose functions s2sad has rules for, read through `module.name`: rebinding np.tanh is not
# watched (a term per NumPy function on every call, for a change nobody makes)
_LIBRARIES = frozenset(sys.stdlib_module_names) | {"numpy", "scipy"}


def attribute_assumptions(function: ir.Function) -> list:
    """``("attr", holder, name, value)`` for each callable the IR reaches through an attribute of an
    object other than a library module (``mylib.act``, ``Config.act``, ``self.act``), in it and in the
    helpers it calls as subroutines.

    The generated code calls ``mylib.act(x)`` by that spelling, so it runs whatever the attribute holds
    when it runs; the derivative rule was chosen for what it held when the code was generated (np.tanh's
    ``1 - y * y``). Rebinding it (``mylib.act = np.sin``) must rebuild the derivative, as rebinding a
    global does, or the value of np.sin would be differentiated with np.tanh's rule.

    Example:
        >>> cfg = types.SimpleNamespace(act=abs)
        >>> call = ir.Assign(ir.Var("y", "y"), ir.Ref(("cfg", "act"), abs, cfg), [ir.Var("x", "x")])
        >>> [(holder is cfg, name) for _, holder, name, _ in attribute_assumptions(
        ...     ir.Function("f", [], [call], ir.Var("y", "y")))]
        [(True, 'act')]
    """
    found, seen = [], set()

    def visit(fn):
        if id(fn) in seen:
            return
        seen.add(id(fn))
        for stmt in ir.walk(fn.body):
            if stmt.__class__ is not ir.Assign:
                continue
            ref = stmt.func
            routine = getattr(ref.value, "ir", None)
            if isinstance(routine, ir.Function):  # a helper lowered once (`subroutines.Subroutine`)
                visit(routine)
            elif len(ref.path) >= 2 and callable(ref.value):
                found.extend(("attr", holder, name, value) for holder, name, value in _links(ref))

    visit(function)
    return found


def _links(ref: ir.Ref) -> list:
    """``(holder, name, value)`` for each attribute `ref` reads on its way to the function (``cfg.sub``
    and ``cfg.sub.act`` for ``cfg.sub.act``: swapping ``cfg.sub`` swaps the function too), but those
    read from a library module or out of reach."""
    links, holder = [], ref.root
    for k, name in enumerate(ref.path[1:], 1):
        try:
            value = getattr(holder, name)
            # a bound method (`rng.normal` of a global Generator, `Model.fit` of a classmethod) is a new
            # object at each lookup: an identity guard would fail on every call and rebuild every time
            same = getattr(holder, name) is value and (k < len(ref.path) - 1 or value is ref.value)
        except Exception:  # (lowering read it: it changed since; the other guards see that)
            return links
        library = isinstance(holder, types.ModuleType) and holder.__name__.partition(".")[0] in _LIBRARIES
        if same and not library and name.isidentifier():
            links.append((holder, name, value))
        holder = value
    return links


__all__ = ["live_assumptions", "make_guard", "attribute_assumptions"]
