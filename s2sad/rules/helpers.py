"""Rules for s2sad's own runtime helpers, so that generated code can be differentiated again.

Each helper is linear in its first argument ``g`` (the adjoint it moves around)
and only reads the shape or the index from its other arguments, so its adjoint
is its transpose and its tangent is itself applied to ``g_dot``:

* ``unbroadcast`` (sum down to a shape)  <->  broadcast back up (``unreduce`` of a full sum)
* ``unreduce`` (spread over reduced axes) <->  sum over those axes
* ``scatter_add`` (put into zeros at an index) <-> gather at that index
* ``zero_at`` (zero the entries at an index) is its own transpose

``zeros_like`` has no derivative (see ``nondiff``).
"""

from __future__ import annotations

import numpy as np

from ..runtime import (
    check_cotangent,
    detach,
    fresh_copy,
    not_a_view,
    own,
    scatter_add,
    unbroadcast,
    unreduce,
    zero_at,
    zero_at_like,
    zero_in_place,
)
from .registry import adjoint, tangent


@adjoint(unbroadcast)
def unbroadcast_adjoint(y, g, x):
    # y = sum of g down to x's shape: each element of g gets the adjoint of the sum it went into
    g_bar = unreduce(y_bar, g)


@tangent(unbroadcast)
def unbroadcast_tangent(y, g, x):
    y_dot = unbroadcast(g_dot, x)


@adjoint(unreduce)
def unreduce_adjoint(y, g, x, axis=None, keepdims=False):
    # y = g broadcast over the reduced axes of x: g_bar = y_bar summed over them
    g_bar = unbroadcast(y_bar, g) if axis is None or keepdims else unbroadcast(np.sum(y_bar, axis), g)


@tangent(unreduce)
def unreduce_tangent(y, g, x, axis=None, keepdims=False):
    y_dot = unreduce(g_dot, x, axis, keepdims)


@adjoint(scatter_add)
def scatter_add_adjoint(y, g, x, index):
    # y = zeros like x with g added at index: g_bar = y_bar gathered at index
    g_bar = unbroadcast(y_bar[index], g)


@tangent(scatter_add)
def scatter_add_tangent(y, g, x, index):
    y_dot = scatter_add(g_dot, x, index)


@adjoint(zero_at)
def zero_at_adjoint(y, g, index):
    # y = g with the entries at index set to 0 (a projection, its own transpose)
    g_bar = zero_at(y_bar, index)


@tangent(zero_at)
def zero_at_tangent(y, g, index):
    y_dot = zero_at(g_dot, index)


@adjoint(zero_at_like)
def zero_at_like_adjoint(y, g, index, old):
    # y = g with a zero shaped like old at index: g_bar is y_bar with a zero shaped like g's item there
    g_bar = zero_at_like(y_bar, index, g[index])


@tangent(zero_at_like)
def zero_at_like_tangent(y, g, index, old):
    y_dot = zero_at_like(g_dot, index, old)


@adjoint(not_a_view)
def not_a_view_adjoint(y, value, base, where=""):
    # y = value (after a memory check): the identity
    value_bar = y_bar


@tangent(not_a_view)
def not_a_view_tangent(y, value, base, where=""):
    y_dot = value_dot


@adjoint(check_cotangent)
def check_cotangent_adjoint(y, cotangent, out):
    # y = cotangent (after a shape check): the identity; out only gives the shape
    cotangent_bar = y_bar


@tangent(check_cotangent)
def check_cotangent_tangent(y, cotangent, out):
    y_dot = cotangent_dot


@adjoint(zero_in_place)
def zero_in_place_adjoint(y, g, index):
    # y = g with the entries at index set to 0: a projection, its own transpose
    g_bar = zero_at(y_bar, index)


@tangent(zero_in_place)
def zero_in_place_tangent(y, g, index):
    y_dot = zero_at(g_dot, index)


@adjoint(detach)
def detach_adjoint(y, part, whole):
    # y = part (a copy when it was a view): the identity
    part_bar = y_bar


@tangent(detach)
def detach_tangent(y, part, whole):
    y_dot = part_dot


@adjoint(own)
def own_adjoint(y, g):
    # y = a copy of g: the identity
    g_bar = y_bar


@tangent(own)
def own_tangent(y, g):
    y_dot = g_dot


@adjoint(fresh_copy)
def fresh_copy_adjoint(y, value):
    # y = a copy of value: the identity
    value_bar = y_bar


@tangent(fresh_copy)
def fresh_copy_tangent(y, value):
    y_dot = fresh_copy(value_dot)
