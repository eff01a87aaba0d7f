"""Where a function uses a parameter as a list or tuple, not as a vector.

A top-level list or tuple of numbers is differentiated as the vector ``np.asarray(value)``
(``grad(f)([1.0, 2.0])`` is an array). That is only right while `f` treats it as NumPy would
treat that array. Some operations mean something else for a list or tuple: ``x + x`` joins
(an array adds), ``x * 2`` repeats (an array doubles), ``x == y`` compares whole sequences,
``isinstance(x, tuple)`` and methods such as ``x.count`` see the container. Differentiated as an
array, such code would silently give the value and derivative of another function
(``y = x + x; np.sum(np.array(y) * np.arange(len(y)))`` at (1.0, 2.0, 3.0): 16 for 34).

:func:`sequence_use` reads `f`'s source (and the user functions it passes the parameter to)
and names the first such use, so the call path can refuse the sequence with that line instead.
"""

from __future__ import annotations

import inspect

import gast

from .frontend import parse_function, walk_nodes

_SEQUENCE_BINOPS = (gast.Add, gast.Mult)  # joins, repeats
_SEQUENCE_COMPARES = (gast.Eq, gast.NotEq)  # `in` and `is` mean the same for both
_TYPE_TESTS = (isinstance, type)
# a list's or tuple's methods an array does not have (x.copy() and x.sort() act alike on both; an
# array's own attributes, x.shape, raise for a list in the function itself)
_SEQUENCE_METHODS = {"append", "extend", "insert", "pop", "remove", "count", "index", "reverse", "clear"}


def sequence_use(func, position: int, depth: int = 3):
    """The first place `func` uses its parameter at `position` as a list or tuple would be used.

    Args:
        func: a Python function with source.
        position: the parameter's position in the call.
        depth: how many levels of the user's own helpers to follow the parameter into.

    Returns:
        ``(parsed, node)``: the function that uses it and the gast node of the use, or None when
        every use means the same for a list of numbers and for the array of them.

    Example:
        >>> def f(x):
        ...     return sum(x + x)
        >>> sequence_use(f, 0)[1].lineno
        2
    """
    if not inspect.isfunction(func):
        return None  # a partial or bound method: its positions are not its function's
    key = (func.__code__, position, depth)
    if key not in _FOUND:
        _FOUND[key] = _first_sequence_use(func, position, depth)
    return _FOUND[key]


_FOUND: dict = {}  # (code, position, depth) -> sequence_use's answer: the source is read once


def _first_sequence_use(func, position, depth):
    try:
        parsed = parse_function(func)
    except Exception:  # no source here: the lowering reports that itself
        return None
    params = [a.id for a in parsed.node.args.posonlyargs + parsed.node.args.args]
    if position >= len(params):
        return None
    names = _names_bound_to(parsed.node, params[position])
    for node in walk_nodes(parsed.node):
        if _is_a_sequence_use(parsed, node, names):
            return parsed, node
        if depth and isinstance(node, gast.Call) and isinstance(node.func, gast.Name):
            callee = parsed.resolve(node.func.id)
            if callable(callee) and getattr(callee, "__code__", None) is not None:
                for k, arg in enumerate(node.args):
                    if _reads(arg, names):
                        found = sequence_use(callee, k, depth - 1)
                        if found:
                            return found
    return None


def _joins_or_repeats(left, op, right, names) -> bool:
    """Does ``left op right`` join or repeat a sequence where an array would add or multiply?
    Only where Python surely does (another sequence joined, an int repeat): with a float or an
    array on the other side the list's own operation raises or acts as the array's would."""
    for this, other in ((left, right), (right, left)):
        if not _reads(this, names):
            continue
        if isinstance(op, gast.Add) and (_reads(other, names) or isinstance(other, (gast.Tuple, gast.List))):
            return True
        if isinstance(op, gast.Mult) and _is_an_int(other):
            return True
    return False


def _is_an_int(node) -> bool:
    if isinstance(node, gast.Constant):
        return isinstance(node.value, int) and not isinstance(node.value, bool)
    return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and node.func.id in ("len", "int")


def _names_bound_to(fdef, name: str) -> set:
    """`name` and the names bound to it or to a slice of it (``y = x``, ``y = x[1:]``)."""
    names = {name}
    grew = True
    while grew:
        grew = False
        for node in walk_nodes(fdef):
            if isinstance(node, gast.Assign) and _reads(node.value, names):
                for target in node.targets:
                    if isinstance(target, gast.Name) and target.id not in names:
                        names.add(target.id)
                        grew = True
    return names


def _reads(node, names) -> bool:
    """Is `node` one of `names`, or a slice of one (a slice of a tuple is a tuple)?"""
    if isinstance(node, gast.Name):
        return node.id in names
    return isinstance(node, gast.Subscript) and isinstance(node.slice, gast.Slice) and _reads(node.value, names)


def _is_a_sequence_use(parsed, node, names) -> bool:
    if isinstance(node, gast.BinOp) and isinstance(node.op, _SEQUENCE_BINOPS):
        return _joins_or_repeats(node.left, node.op, node.right, names)
    if isinstance(node, gast.AugAssign) and isinstance(node.op, _SEQUENCE_BINOPS):
        return _joins_or_repeats(node.target, node.op, node.value, names)
    if isinstance(node, gast.Compare) and any(isinstance(op, _SEQUENCE_COMPARES) for op in node.ops):
        return any(_reads(side, names) for side in [node.left, *node.comparators])
    if isinstance(node, gast.Attribute):
        return node.attr in _SEQUENCE_METHODS and _reads(node.value, names)
    if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and node.args:
        return parsed.resolve(node.func.id) in _TYPE_TESTS and _reads(node.args[0], names)
    return False


__all__ = ["sequence_use"]
