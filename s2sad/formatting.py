"""How explain's traces and graph's labels print a value (shared by both, so neither imports the other)."""

from __future__ import annotations

import numbers

import numpy as np


def _fmt(value, digits: int = 5) -> str:
    """A value as the trace prints it: numbers to `digits` significant digits, arrays summarized."""
    if value is None:
        return "None"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (numbers.Integral, np.integer)):
        return str(int(value))
    if isinstance(value, (numbers.Real, np.floating)) or (isinstance(value, np.ndarray) and value.ndim == 0
                                                          and np.issubdtype(value.dtype, np.number)):
        x = float(value)
        if x == 0:
            return "0"
        text = f"{x:.{digits}g}"
        return text
    if isinstance(value, np.ndarray):
        if value.size <= 6 and value.ndim == 1 and np.issubdtype(value.dtype, np.number):
            return "[" + ", ".join(_fmt(v, digits) for v in value) + "]"
        if np.issubdtype(value.dtype, np.number) and value.size:
            return (f"array{value.shape} min {_fmt(value.min(), 3)} max {_fmt(value.max(), 3)}")
        return f"array{value.shape} {value.dtype}"
    if isinstance(value, (tuple, list)):
        inner = ", ".join(_fmt(v, digits) for v in value)
        return f"({inner}{',' if len(value) == 1 else ''})" if isinstance(value, tuple) else f"[{inner}]"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
