"""The coverage table: every registered rule, generated from the rule tables.

``docs/numpy-coverage.md`` is this module's output; a test fails when the file
is stale. Regenerate it with::

    python -m s2sad.rules.coverage > docs/numpy-coverage.md
"""

from __future__ import annotations

from . import ADJOINT_RULES, BUILTIN_NONDIFFERENTIABLE, METHOD_MIRRORS, NONDIFFERENTIABLE, TANGENT_RULES
from ..primitives import Attr, Method, module_name

_OPERATOR_SYNTAX = {
    "add": "a + b", "sub": "a - b", "mul": "a * b", "truediv": "a / b", "floordiv": "a // b", "mod": "a % b",
    "pow": "a ** b", "matmul": "a @ b", "neg": "-a", "pos": "+a", "lt": "a < b", "le": "a <= b", "gt": "a > b",
    "ge": "a >= b", "eq": "a == b", "ne": "a != b", "not_": "not a", "is_": "a is b", "is_not": "a is not b",
    "contains": "b in a", "getitem": "x[index]", "and_": "a & b", "or_": "a | b", "xor": "a ^ b",
    "invert": "~a", "truth": "bool(a)", "abs": "abs(a)",
}

_TABLES = {
    "operators": "Python operators, builtins and `math`",
    "elementwise": "NumPy element-wise functions (ufuncs)",
    "reductions": "Reductions",
    "arrays": "Shape, data movement, indexing, construction",
    "linalg": "Products and linear algebra",
    "ufunc_methods": "Reductions and scans of ufuncs",
    "statistics": "Statistics",
    "helpers": "s2sad's own helpers (so derivative code can be differentiated again)",
}


def display_name(key) -> str:
    """How a rule key reads in the table: ``np.sin``, ``a @ b``, ``x.T``, ``x.sum(...)``."""
    if isinstance(key, Attr):
        return f"`x.{key.name}`"
    if isinstance(key, Method):
        return f"`x.{key.name}(...)`"
    module = module_name(key)
    name = getattr(key, "__name__", None) or repr(key)
    if type(getattr(key, "__self__", None)).__name__ == "ufunc":  # np.add.reduce: a method of a ufunc
        return f"`np.{key.__self__.__name__}.{name}`"
    if type(key).__name__ == "ufunc":  # NumPy < 2.2 gives ufuncs no __module__
        return f"`np.{name}`"
    if module in ("_operator", "operator"):
        return f"`{_OPERATOR_SYNTAX.get(name, 'operator.' + name)}`"
    if module == "builtins" or module is None:
        return f"`{name}`"
    if module == "math":
        return f"`math.{name}`"
    if module.startswith("numpy"):
        parts = module.split(".")
        sub = [p for p in parts[1:] if not p.startswith("_") and p != "mtrand"]  # np.random.mtrand: NumPy < 2.2
        path = ".".join(["np"] + sub + [name])
        if type(key).__name__ == "ufunc" or path.startswith("np._"):
            path = f"np.{name}"
        return f"`{path}`"
    if module.startswith("s2sad"):
        return f"`{name}`"
    return f"`{module}.{name}`"


def _note(rule) -> str:
    text = (rule.note or "").strip().splitlines()
    return " ".join(line.strip() for line in text).replace("|", "\\|") if text else ""


def _table_of(rule) -> str:
    return rule.template.__module__.rsplit(".", 1)[-1]


def _shipped(table) -> dict:
    """The rules s2sad ships, without any a user (or a test) registered."""
    return {k: r for k, r in table.items() if r.template.__module__.startswith("s2sad.rules")}


def coverage_markdown() -> str:
    """The whole coverage document as markdown (built-in rules only)."""
    adjoints, tangents = _shipped(ADJOINT_RULES), _shipped(TANGENT_RULES)
    nondiff = {k: v for k, v in NONDIFFERENTIABLE.items() if _shipped_key(k)}
    keys = list(dict.fromkeys(list(adjoints) + list(tangents)))
    lines = [
        "# NumPy and Python coverage",
        "",
        "Generated from the rule tables by `python -m s2sad.rules.coverage > docs/numpy-coverage.md`;",
        "a test fails when this file is stale. *Adjoint* is reverse mode (grad, vjp), *tangent* is forward",
        "mode (jvp); notes come from each rule's docstring (ties, singular points, refused arguments).",
        "",
        f"- functions and primitives with an adjoint rule: **{len(adjoints)}**",
        f"- with a tangent rule: **{len(tangents)}**",
        f"- non-differentiable, passed through: **{len(nondiff)}**",
        f"- array methods that reuse a function's rules: **{len(METHOD_MIRRORS)}**",
        "",
    ]
    for table, title in _TABLES.items():
        rows = []
        for key in keys:
            rule = adjoints.get(key) or tangents.get(key)
            if _table_of(rule) != table:
                continue
            modes = ", ".join(m for m, t in (("adjoint", adjoints), ("tangent", tangents)) if key in t)
            rows.append((display_name(key), modes, _note(rule)))
        if not rows:
            continue
        lines += [f"## {title}", "", "| function | modes | notes |", "|---|---|---|"]
        lines += [f"| {name} | {modes} | {note} |" for name, modes, note in sorted(rows, key=lambda r: r[0].lower())]
        lines.append("")
    lines += ["## Array methods", "", "Each method uses the rules of the function it mirrors.", ""]
    lines += [f"- `x.{m}(...)` → {display_name(f)}" for m, f in sorted(METHOD_MIRRORS.items())]
    lines += ["", *_writes_section()]
    lines += ["## Non-differentiable (pass through, contribute no derivative)", ""]
    names = sorted({display_name(k) for k in nondiff}, key=str.lower)
    lines.append(", ".join(names))
    lines.append("")
    return "\n".join(lines)


_REWRITES = {
    "copyto": "differentiated: `dst[...] = src` (`where=m`: `np.where(m, src, dst)`)",
    "fill": "differentiated: `x[...] = value`",
    "sort": "differentiated: `x[...] = np.sort(x, ...)` (a permutation)",
    "put": "differentiated: the flat positions get `v` (repeated cyclically; a repeated position keeps its last value)",
    "ufunc_at": "`np.add.at` / `np.subtract.at` differentiated (a scatter-add; repeated indices add up); "
                "other ufuncs refused",
}


def _writes_section() -> list:
    """The calls that write into an argument, and what s2sad does with each."""
    from .registry import WRITES
    from .writes import SHIPPED_WRITES

    rows = []
    for key, decl in WRITES.items():
        if key not in SHIPPED_WRITES:
            continue
        name = "`np.<ufunc>.at(...)`" if key == Method("ufunc.at") else display_name(key)
        what = _REWRITES.get(decl.how) or f"refused: {decl.hint}"
        if decl.when is not None:
            what = f"when `{decl.when[1]}={decl.when[2]}`, {what}"
        rows.append((name, what))
    grouped: dict = {}  # the in-place operators share one hint: one row
    for name, what in sorted(rows, key=lambda r: r[0].lower()):
        grouped.setdefault(what, []).append(name)
    rows = [(", ".join(names), what) for what, names in grouped.items()]
    lines = ["## Calls that write into an argument", "",
             "Lowered as an in-place update `x[...] = value` of the written array, or refused when the",
             "function is transformed (`WritingCallError`). Any call with `out=y` (by keyword) is",
             "`y[...] = f(...)`, and its value is `y`; an output passed by position is refused.", "",
             "| call | treatment |", "|---|---|"]
    lines += [f"| {name} | {what} |" for name, what in sorted(rows, key=lambda r: r[0].lower())]
    return lines + [""]


def _shipped_key(key) -> bool:
    """Was this non-differentiable entry declared by s2sad (not by a user)?"""
    return key in BUILTIN_NONDIFFERENTIABLE


if __name__ == "__main__":
    print(coverage_markdown(), end="")
