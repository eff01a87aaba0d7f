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


__all__ = ["live_assumptions", "make_guard"]
