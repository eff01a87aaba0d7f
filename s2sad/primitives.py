"""Primitives that are not plain Python callables, and the runtime pieces they stand for.

Most IR statements apply an ordinary callable (``numpy.sin``, ``operator.mul``).
A few pieces of Python syntax have no callable of their own; the IR names them
with the objects below so that rules can be keyed on them like any function:

* ``x.name`` (attribute read)          -> ``Attr("name")`` applied to ``x``
* ``x.name(args)`` (method call)       -> ``Method("name")`` applied to ``x, args``
* ``(a, b)`` / ``[a, b]``              -> ``pack_tuple`` / ``pack_list``
* ``{"a": x}`` / ``P(x, y)`` (namedtuple) -> ``pack_dict`` / ``pack_namedtuple``
* ``x[i] = v`` (in-place update)       -> ``setitem(x, i, v)``, whose result is the
  updated ``x`` (the same buffer; see ``reverse`` for how overwritten values are
  saved)
* ``y = x`` (a copy of a name)         -> ``identity``
* ``a if c else b`` is control flow (an ``If``), not a primitive.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Attr:
    """The primitive `x.<name>` (an attribute read)."""

    name: str

    def __call__(self, obj):
        return getattr(obj, self.name)

    def __repr__(self) -> str:
        return f"Attr({self.name!r})"


@dataclass(frozen=True)
class Method:
    """The primitive `x.<name>(...)` (a method call on a value)."""

    name: str

    def __call__(self, obj, *args, **kwargs):
        return getattr(obj, self.name)(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Method({self.name!r})"


def pack_tuple(*items):
    """The primitive behind a tuple display ``(a, b, c)``."""
    return tuple(items)


def pack_list(*items):
    """The primitive behind a list display ``[a, b, c]``."""
    return list(items)


def pack_dict(keys, *values):
    """The primitive behind a dict display ``{"a": x, "b": y}`` with literal keys (`keys` a tuple)."""
    return dict(zip(keys, values))


def pack_namedtuple(cls, *values):
    """The primitive behind building the namedtuple ``cls(x, y)``."""
    return cls(*values)


#: The primitives that build a container.
PACKS = (pack_tuple, pack_list, pack_dict, pack_namedtuple)


def pack_keys(func, args):
    """The key of each item of a pack: its position, or its dict key."""
    if func is pack_dict:
        return list(args[0].value)
    return list(range(len(args) - (1 if func is pack_namedtuple else 0)))


def pack_items(func, args):
    """The item atoms of a pack statement (`args` without the leading keys or class)."""
    return list(args[1:]) if func in (pack_dict, pack_namedtuple) else list(args)


def setitem(x, index, value):
    """The primitive behind ``x[index] = value``: updates ``x`` in place, returns it."""
    x[index] = value
    return x


def identity(x):
    """The primitive behind ``y = x``."""
    return x


def restore(x, index, saved):
    """Put back values an in-place update overwrote (reverse sweep only)."""
    x[index] = saved


def list_append(items, value):
    """The primitive behind ``items.append(value)``: appends in place, returns the list."""
    items.append(value)
    return items


def unappend(items):
    """Take back the last ``append`` (reverse sweep only): the list as it was before it."""
    items.pop()


def module_name(obj) -> str:
    """The name of the module `obj` says it comes from, or "".

    ``__module__`` may be missing, None, or not a string at all (a C extension's object,
    a class or instance that sets it), so code that asks ``.startswith("numpy")`` asks this.

    >>> class Odd:
    ...     __module__ = 7
    >>> module_name(len), module_name(Odd())
    ('builtins', '')
    """
    try:
        name = getattr(obj, "__module__", None)
    except Exception:  # a __getattr__ that raises something else than AttributeError
        return ""
    return name if isinstance(name, str) else ""
