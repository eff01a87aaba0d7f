"""The IR of each kind of generated function that is not plain reverse mode.

`api` builds grad, value_and_grad and vjp itself; for "jvp", "hvp",
"derivative<n>" (and its array form "elementwise_derivative<n>") and the has_aux
kinds it asks :func:`build_ir` here. This sits
between the transformations (reverse, forward, simplify) and the API, so the API
needs nothing from `derivatives`, the drivers built on top of it.
"""

from __future__ import annotations

from operator import getitem as _getitem

import numpy as np

from . import ir
from .errors import S2SADError
from .forward import constant_seed_tangent, forward_function
from .primitives import pack_tuple
from .reverse import reverse_function
from .simplify import simplify

__all__ = ["build_ir"]


def _with_aux(primal: ir.Function):
    """`primal` returning ``(loss, aux)``: the same function returning ``loss``, and the tuple's Var."""
    whole = primal.result
    producer = next((st for st in ir.walk(primal.body) if isinstance(st, ir.Assign) and st.target == whole), None)
    if not isinstance(whole, ir.Var) or (producer is not None and producer.func.value is not pack_tuple
                                         and producer.func.value is not _getitem):
        raise S2SADError(
            f"has_aux=True needs {primal.name} to return a pair (loss, aux), but it returns a single value",
            primal.result_loc,
            hint="return loss, aux (a tuple), or leave has_aux out",
        )
    if producer is not None and producer.func.value is pack_tuple and len(producer.args) != 2:
        raise S2SADError(
            f"has_aux=True needs {primal.name} to return a pair (loss, aux), but it returns "
            f"{len(producer.args)} values", primal.result_loc, hint="return loss, aux")
    loss = ir.Var("loss_" + (whole.name if isinstance(whole, ir.Var) else "value"), "loss")
    taken = {v.name for v in ir.all_defs(primal.body)} | {p.var.name for p in primal.params}
    k = 1
    while loss.name in taken:
        loss = ir.Var(f"loss_{k}", "loss")
        k += 1
    body = primal.body + [ir.Assign(loss, ir.prim(_getitem), [whole, ir.Const(0)], [], primal.result_loc)]
    new = ir.Function(primal.name, list(primal.params), body, loss, primal.filename, primal.firstline, primal.doc,
                      dict(primal.exports), primal.result_loc)
    return ir.verify_pass(new), whole


def _getitem_aux(fn: ir.Function, whole, kind: str) -> ir.Function:
    """Append ``aux = whole[1]`` to a generated function and return it with the result."""
    taken = {v.name for v in ir.all_defs(fn.body)} | {p.var.name for p in fn.params}

    def fresh(base):
        name, k = base, 1
        while name in taken:
            name, k = f"{base}_{k}", k + 1
        taken.add(name)
        return ir.Var(name, base)

    aux = fresh("aux")
    body = list(fn.body) + [ir.Assign(aux, ir.prim(_getitem), [whole, ir.Const(1)], [], fn.result_loc)]
    if kind == "value_and_grad":
        value, gradient, inner, final = fresh("value"), fresh("gradient"), fresh("t_value_aux"), fresh("t_out")
        body += [
            ir.Assign(value, ir.prim(_getitem), [fn.result, ir.Const(0)], [], None),
            ir.Assign(gradient, ir.prim(_getitem), [fn.result, ir.Const(1)], [], None),
            ir.Assign(inner, ir.prim(pack_tuple), [value, aux], [], None),
            ir.Assign(final, ir.prim(pack_tuple), [inner, gradient], [], None),
        ]
    else:
        final = fresh("t_out")
        body.append(ir.Assign(final, ir.prim(pack_tuple), [fn.result, aux], [], None))
    new = ir.Function(fn.name, list(fn.params), body, final, fn.filename, fn.firstline, fn.doc, dict(fn.exports),
                      fn.result_loc)
    return ir.verify_pass(new)


_ONES_LIKE = ir.Ref(("np", "ones_like"), np.ones_like, np)


def ones_seed_tangent(fn: ir.Function, position: int, *, name: str) -> ir.Function:
    """The derivative of `fn` along the direction of all ones in its parameter `position`:
    ``d/dt fn(x + t)`` at ``t = 0`` (t added to every entry of an array x).

    It is the jvp with the tangent ``x_dot = np.ones_like(x)`` made inside, not taken as an argument.
    For an elementwise `fn` (``y[i]`` depends on ``x[i]`` only) it is the elementwise derivative;
    applied again to its own output it gives ``d^n/dt^n fn(x + t)``.
    """
    tangent = forward_function(fn, [position], name=name, output="tangent")
    seed = tangent.params[-1].var
    body = [ir.Assign(seed, _ONES_LIKE, [fn.params[position].var], [], None)] + tangent.body
    return ir.verify_pass(ir.Function(name, tangent.params[:-1], body, tangent.result, tangent.filename,
                                 tangent.firstline, None, {}, tangent.result_loc))


def build_ir(primal: ir.Function, kind: str, positions: list, many: bool, name: str) -> ir.Function:
    """The IR of a generated function of `kind` ("jvp", "hvp", "derivative<n>", "elementwise_derivative<n>",
    "<grad kind>_aux")."""
    if kind == "jvp":
        return forward_function(primal, positions, name=f"jvp_{name}")
    if kind == "hvp":
        gradient = simplify(reverse_function(primal, positions, seed="scalar", name=f"grad_{name}",
                                             tuple_grads=many))
        return forward_function(gradient, positions, name=f"hvp_{name}", output="tangent")
    if kind.startswith("elementwise_derivative"):
        fn = primal
        for k in range(int(kind[len("elementwise_derivative"):])):
            fn = simplify(ones_seed_tangent(fn, positions[0], name=f"derivative{k + 1}_{name}"))
        return fn
    if kind.startswith("derivative"):
        order = int(kind[len("derivative"):])
        fn = primal
        for k in range(order):
            fn = simplify(constant_seed_tangent(fn, positions[0], name=f"derivative{k + 1}_{name}"))
        return fn
    if kind in ("grad_aux", "value_and_grad_aux", "vjp_aux"):
        base = kind[:-4]
        loss_fn, whole = _with_aux(primal)
        if base == "vjp":
            adjoint = reverse_function(loss_fn, positions, seed="param", name=f"vjp_{name}", tuple_grads=many)
        else:
            adjoint = reverse_function(loss_fn, positions, seed="scalar", return_value=(base == "value_and_grad"),
                                       name=f"{base}_{name}", tuple_grads=many)
        return _getitem_aux(adjoint, whole, base)
    raise ValueError(f"unknown kind {kind!r}")
