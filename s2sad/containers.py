"""Containers at the boundary of a generated function.

A parameter passed as a container (a pytree: dicts, lists, tuples and
namedtuples of arrays) is lowered as one parameter per leaf (``lower``'s
``structures``), so the transformations only ever differentiate arrays and
numbers. This module puts the container back at the boundary of the generated
IR: the generated function takes the container, checks its structure, reads
the leaves out of it, and returns each adjoint (or takes each tangent) with the
structure of its parameter::

    def grad_f(params, x):
        check_structure(params, ("dict", (("W", "*"), ("b", "*"))), "params")
        params_W = params["W"]
        params_b = params["b"]
        ...
        return {"W": params_W_bar, "b": params_b_bar}

The code is generated per structure (``api`` keys its cache on it), like JAX
retraces per pytree structure; ``check_structure`` makes an exported copy
refuse a structure it was not generated for.
"""

from __future__ import annotations

import operator

from . import ir, runtime
from .lower import Namer
from .primitives import Attr, pack_dict, pack_list, pack_namedtuple, pack_tuple
from .pytree import DICT, LEAF, LIST, NAMEDTUPLE, Tree

CHECK_STRUCTURE = ir.Ref(("check_structure",), runtime.check_structure)

#: Where the tuple of gradients sits in the result of each reverse kind (a path of indices).
GRADIENT_PATH = {"grad": (), "vjp": (), "hvp": (), "value_and_grad": (1,), "grad_aux": (0,), "vjp_aux": (0,),
                 "value_and_grad_aux": (1,)}
#: Kinds whose generated function takes one tangent per differentiated parameter after f's own.
TANGENT_KINDS = ("jvp", "hvp")


def leaf_positions(names, structures, positions) -> list:
    """The IR parameter positions of the parameters at `positions` (a container gives its leaves)."""
    starts, k = [], 0
    for name in names:
        starts.append(k)
        k += structures[name].num_leaves if name in structures else 1
    out = []
    for pos in positions:
        name = names[pos]
        count = structures[name].num_leaves if name in structures else 1
        out.extend(range(starts[pos], starts[pos] + count))
    return out


def with_containers(fn: ir.Function, kind: str, names, structures: dict, positions, many: bool) -> ir.Function:
    """`fn` (generated with one parameter per leaf) taking and returning containers again.

    Args:
        fn: the generated IR, its parameters those of the lowered primal (leaves in place of each
            container), then the seeds of `kind` (one tangent per differentiated leaf, or vjp's cotangent).
        kind: the kind of derivative ("grad", "vjp", "jvp", "value_and_grad_aux", ...).
        names: the user function's parameter names.
        structures: ``{name: pytree.Tree}`` of the parameters passed as containers.
        positions: the differentiated parameters (positions in `names`), in the order asked.
        many: whether the caller asked for a tuple of gradients.

    Returns:
        Verified IR with the user's parameters (then one tangent per differentiated parameter,
        or the cotangent) whose gradients have the structure of their parameter.
    """
    namer = Namer([p.var.name for p in fn.params] + [v.name for v in ir.all_defs(fn.body)])
    namer.temps = max([int(v.name[1:]) for v in ir.all_defs(fn.body) if v.base == "t" and v.name[1:].isdigit()]
                      or [0])
    leaves = [p.var for p in fn.params]
    prologue, params, k = [], [], 0
    for name in names:
        if name not in structures:
            params.append(fn.params[k])
            k += 1
            continue
        tree = structures[name]
        var = namer.fresh(name)
        params.append(ir.Param(var))
        prologue += _read_leaves(var, tree, leaves[k:k + tree.num_leaves], namer, name)
        k += tree.num_leaves
    seeds = fn.params[k:]
    if kind in TANGENT_KINDS:
        tangents = iter(seeds)
        seeds = []
        for pos in positions:
            name = names[pos]
            if name not in structures:
                seeds.append(next(tangents))
                continue
            tree = structures[name]
            var = namer.fresh(name + "_dot")
            seeds.append(ir.Param(var))
            prologue += _read_leaves(var, tree, [next(tangents).var for _ in range(tree.num_leaves)], namer,
                                     f"the tangent of {name}")
    body = prologue + list(fn.body)
    result = fn.result
    if kind in GRADIENT_PATH:
        result = _regroup_at(result, GRADIENT_PATH[kind], names, structures, positions, many, namer, body)
    new = ir.Function(fn.name, params + list(seeds), body, result, fn.filename, fn.firstline, fn.doc,
                      dict(fn.exports), fn.result_loc)
    return ir.verify_pass(new)


def _read_leaves(container: ir.Var, tree: Tree, targets, namer, what) -> list:
    """Statements checking `container`'s structure and binding each of `targets` to its leaf."""
    done = namer.temp()
    out = [ir.Assign(done, CHECK_STRUCTURE, [container, ir.Const(tree.spec()), ir.Const(what)], [], None)]
    targets = iter(targets)

    def visit(value, node):
        keys = node.keys if node.kind in (DICT, NAMEDTUPLE) else range(len(node.children))
        for key, child in zip(keys, node.children):
            read = (Attr(key), [value]) if node.kind == NAMEDTUPLE else (operator.getitem, [value, ir.Const(key)])
            if child.kind == LEAF:
                out.append(ir.Assign(next(targets), ir.prim(read[0]), read[1], [], None))
            else:
                inner = namer.temp()
                out.append(ir.Assign(inner, ir.prim(read[0]), read[1], [], None))
                visit(inner, child)

    visit(container, tree)
    return out


def _regroup_at(result, path, names, structures, positions, many, namer, body):
    """The result with the tuple of leaf gradients at `path` replaced by one value per parameter,
    each with the structure of its parameter (one value, or a tuple of them when `many`)."""
    if path:
        parts = []
        length = 2  # every result with a path is a pair: (value, gradient) or (gradient, aux)
        for i in range(length):
            part = namer.temp()
            body.append(ir.Assign(part, ir.prim(operator.getitem), [result, ir.Const(i)], [], None))
            parts.append(part)
        parts[path[0]] = _regroup_at(parts[path[0]], path[1:], names, structures, positions, many, namer, body)
        packed = namer.temp()
        body.append(ir.Assign(packed, ir.prim(pack_tuple), parts, [], None))
        return packed
    gradients = iter(range(len(leaf_positions(names, structures, positions))))
    groups = []
    for pos in positions:
        tree = structures.get(names[pos])
        if tree is None:
            groups.append(_item(result, next(gradients), namer, body))
            continue
        leaves = [_item(result, next(gradients), namer, body) for _ in range(tree.num_leaves)]
        groups.append(_build(tree, iter(leaves), namer, body, names[pos] + "_bar"))
    if not many:
        return groups[0]
    packed = namer.temp()
    body.append(ir.Assign(packed, ir.prim(pack_tuple), groups, [], None))
    return packed


def _item(tuple_var, index, namer, body):
    part = namer.temp()
    body.append(ir.Assign(part, ir.prim(operator.getitem), [tuple_var, ir.Const(index)], [], None))
    return part


def _build(tree: Tree, leaves, namer, body, name=None):
    if tree.kind == LEAF:
        return next(leaves)
    items = [_build(child, leaves, namer, body) for child in tree.children]
    target = namer.fresh(name) if name else namer.temp()
    if tree.kind == DICT:
        body.append(ir.Assign(target, ir.prim(pack_dict), [ir.Const(tree.keys)] + items, [], None))
    elif tree.kind == NAMEDTUPLE:
        cls = ir.Ref((tree.cls.__name__,), tree.cls, tree.cls)
        body.append(ir.Assign(target, ir.prim(pack_namedtuple), [cls] + items, [], None))
    else:
        body.append(ir.Assign(target, ir.prim(pack_list if tree.kind == LIST else pack_tuple), items, [], None))
    return target


__all__ = ["with_containers", "leaf_positions", "GRADIENT_PATH"]
