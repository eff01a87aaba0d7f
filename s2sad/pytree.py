"""Structured arguments (pytrees): dicts, lists, tuples and namedtuples of arrays.

A differentiated argument may be any nesting of ``dict``, ``list``, ``tuple``
and namedtuple whose leaves are numbers or arrays. s2sad flattens it into its
leaves, differentiates with respect to each leaf, and builds the adjoint with
the argument's structure (a dict of arrays for a dict of arrays), as JAX does.

The structure is a :class:`Tree`: hashable, so a derivative is generated once
per function and structure. Dict keys keep their insertion order; namedtuple
classes are kept, so ``grad`` of a ``Params(W, b)`` argument is a ``Params``.

Example:
    >>> leaves, tree = flatten({"W": 1.0, "bs": (2.0, 3.0)})
    >>> leaves
    [1.0, 2.0, 3.0]
    >>> unflatten(tree, [10.0, 20.0, 30.0])
    {'W': 10.0, 'bs': (20.0, 30.0)}
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

LEAF, TUPLE, LIST, DICT, NAMEDTUPLE = "leaf", "tuple", "list", "dict", "namedtuple"


@dataclass(frozen=True)
class Tree:
    """The structure of a value: a leaf, or a container of sub-structures.

    Attributes:
        kind: "leaf", "tuple", "list", "dict" or "namedtuple".
        keys: the dict's keys (in order) or the namedtuple's field names; else ().
        children: one Tree per item, in order.
        cls: the namedtuple class (None otherwise).
    """

    kind: str
    keys: tuple = ()
    children: tuple = ()
    cls: type | None = None

    @property
    def num_leaves(self) -> int:
        return 1 if self.kind == LEAF else sum(c.num_leaves for c in self.children)

    def spec(self):
        """A literal-only description (nested tuples of strings) that generated code can check
        a value against, with no reference to s2sad; see :func:`structure_spec`."""
        if self.kind == LEAF:
            return "*"
        if self.kind == NAMEDTUPLE:
            head = self.cls.__name__
        else:
            head = self.kind
        if self.kind in (DICT, NAMEDTUPLE):
            return (head, tuple((k, c.spec()) for k, c in zip(self.keys, self.children)))
        return (head, tuple(c.spec() for c in self.children))

    def describe(self) -> str:
        """The structure as a short text: ``{'W': *, 'b': (*, *)}``."""
        if self.kind == LEAF:
            return "*"
        inner = [c.describe() for c in self.children]
        if self.kind == DICT:
            return "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(self.keys, inner)) + "}"
        if self.kind == NAMEDTUPLE:
            return f"{self.cls.__name__}(" + ", ".join(f"{k}={v}" for k, v in zip(self.keys, inner)) + ")"
        if self.kind == LIST:
            return "[" + ", ".join(inner) + "]"
        return "(" + ", ".join(inner) + ("," if len(inner) == 1 else "") + ")"


LEAF_TREE = Tree(LEAF)


def is_namedtuple(value) -> bool:
    return isinstance(value, tuple) and isinstance(getattr(type(value), "_fields", None), tuple)


def _is_number_sequence(value) -> bool:
    return isinstance(value, (list, tuple)) and not is_namedtuple(value) and len(value) > 0 and all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value)


def is_structured(value) -> bool:
    """Is `value` a container s2sad differentiates leaf by leaf?

    A top-level list or tuple of plain numbers is not: it stands for a vector
    (``grad(f)([1.0, 2.0])`` is an array), as it always has in s2sad.
    """
    return isinstance(value, (dict, list, tuple)) and not _is_number_sequence(value)


class StructureError(ValueError):
    """A value cannot be a differentiated structure (say, a dict with a non-literal key)."""


def flatten(value, top: bool = True):
    """The leaves of `value` (depth first, dict keys in insertion order) and its structure.

    Args:
        value: a number, an array, or a nesting of dict/list/tuple/namedtuple of them.
        top: whether `value` is a whole argument (then a list of numbers is one leaf, a vector).

    Returns:
        ``(leaves, tree)``.
    """
    leaves: list = []
    tree = _flatten_into(value, leaves, top)
    return leaves, tree


def _flatten_into(value, leaves, top):
    if top and not is_structured(value):
        leaves.append(value)
        return LEAF_TREE
    if is_namedtuple(value):
        children = tuple(_flatten_into(v, leaves, False) for v in value)
        return Tree(NAMEDTUPLE, tuple(type(value)._fields), children, type(value))
    if isinstance(value, dict):
        for key in value:
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise StructureError(f"dict keys must be strings or integers, got {key!r}")
        children = tuple(_flatten_into(v, leaves, False) for v in value.values())
        return Tree(DICT, tuple(value), children)
    if isinstance(value, (list, tuple)):
        children = tuple(_flatten_into(v, leaves, False) for v in value)
        return Tree(LIST if isinstance(value, list) else TUPLE, (), children)
    leaves.append(value)
    return LEAF_TREE


def unflatten(tree: Tree, leaves):
    """The value with structure `tree` whose leaves are `leaves` (in :func:`flatten`'s order)."""
    it = iter(leaves)
    value = _build(tree, it)
    rest = list(it)
    if rest:
        raise StructureError(f"{len(rest)} leaves left over for the structure {tree.describe()}")
    return value


def _build(tree, it):
    if tree.kind == LEAF:
        return next(it)
    items = [_build(c, it) for c in tree.children]
    if tree.kind == DICT:
        return dict(zip(tree.keys, items))
    if tree.kind == NAMEDTUPLE:
        return tree.cls(*items)
    return items if tree.kind == LIST else tuple(items)


def in_order(value, like):
    """`value` with its dicts' keys in the order of the matching dicts of `like` (where the key sets
    agree), so that a tangent or cotangent may list a dict's keys in any order."""
    if isinstance(value, dict) and isinstance(like, dict):
        if set(value) != set(like):
            return value
        return {key: in_order(value[key], like[key]) for key in like}
    if isinstance(value, (list, tuple)) and isinstance(like, (list, tuple)) and len(value) == len(like):
        items = [in_order(v, w) for v, w in zip(value, like)]
        if is_namedtuple(value):
            return type(value)(*items)
        return type(value)(items)
    return value


def leaf_paths(tree: Tree, prefix=()):
    """The path (a tuple of keys/indices) to each leaf of `tree`, in :func:`flatten`'s order."""
    if tree.kind == LEAF:
        return [prefix]
    keys = tree.keys if tree.kind in (DICT, NAMEDTUPLE) else range(len(tree.children))
    paths = []
    for key, child in zip(keys, tree.children):
        paths.extend(leaf_paths(child, prefix + (key,)))
    return paths


__all__ = ["Tree", "LEAF_TREE", "flatten", "unflatten", "in_order", "leaf_paths", "is_structured", "is_namedtuple",
           "StructureError"]
