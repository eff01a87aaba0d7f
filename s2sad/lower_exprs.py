"""Lowering of names, literals, arithmetic and f-strings: plain functions of the lowering state
`lw` (a ``lower._Lowerer``) and a gast expression, returning an atom."""

from __future__ import annotations

import gast

from . import closures, ir
from .errors import NameResolutionError
from .frontend import _MISSING
from .lower_base import BINOPS, UNARY


def read_name(lw, node: gast.Name):
    if node.id in lw.env:
        if closures.is_local(lw.env[node.id]):
            raise closures.escaped(lw, node)  # a nested def, lambda or partial: only called
        return lw.env[node.id]
    if node.id in lw.local_names:
        raise lw.error(
            NameResolutionError,
            f"local variable {node.id!r} is read before it is assigned (on some path)",
            node,
            hint=f"assign {node.id} before this line on every path",
        )
    value = lw.parsed.resolve(node.id)
    if value is _MISSING:
        raise lw.error(
            NameResolutionError,
            f"name {node.id!r} is not defined",
            node,
            hint="define it at module level or pass it in as an argument",
        )
    return ir.Ref((node.id,), value, value)


def expr_Constant(lw, node, hint):
    return ir.Const(node.value)


def expr_Name(lw, node, hint):
    return read_name(lw, node)


def expr_BinOp(lw, node, hint):
    left = lw.expr(node.left)
    right = lw.expr(node.right)
    return lw.emit_call(BINOPS[type(node.op)], [left, right], node=node, target=lw.target_for(hint))


def expr_UnaryOp(lw, node, hint):
    operand = lw.expr(node.operand)
    if isinstance(operand, ir.Const) and isinstance(node.op, (gast.USub, gast.UAdd)) and isinstance(
        operand.value, (int, float)
    ):
        return ir.Const(-operand.value if isinstance(node.op, gast.USub) else operand.value)
    return lw.emit_call(UNARY[type(node.op)], [operand], node=node, target=lw.target_for(hint))


def expr_JoinedStr(lw, node, hint):
    # f-strings only ever feed print/assert messages: format them as one call
    parts = []
    for value in node.values:
        if isinstance(value, gast.FormattedValue):
            parts.append(_formatted(lw, value, node))
        else:
            parts.append(ir.Const(value.value))
    return lw.emit_call(ir.Ref(("str",), _concat_str, None), parts, node=node, target=lw.target_for(hint))


def _formatted(lw, value: gast.FormattedValue, node):
    """The text of ``{v!r:.2f}`` in an f-string: the conversion (!s, !r, !a), then the format spec,
    as Python applies them (``len(f"{x:.2f}")`` must see the same text as the function does)."""
    atom = lw.expr(value.value)
    convert = {115: str, 114: repr, 97: ascii}.get(value.conversion)
    if convert is not None:
        atom = lw.emit_call(ir.Ref((convert.__name__,), convert), [atom], node=node)
    if value.format_spec is not None:
        spec = expr_JoinedStr(lw, value.format_spec, None)
        atom = lw.emit_call(ir.Ref(("format",), format), [atom, spec], node=node)
    return atom


def _concat_str(*parts):
    """Formats an f-string's parts (the primitive behind f"...")."""
    return "".join(str(p) for p in parts)

