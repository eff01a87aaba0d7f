"""The gradient of a number is a number.

The rule (as autograd's): an argument that is a Python float or int or a NumPy scalar gets a
gradient that is a number too: a Python float or a NumPy scalar (np.float64, or np.float32 for a
float32 scalar), never a 0-d ndarray, in every derivative that returns gradients (grad,
value_and_grad, vjp, the has_aux kinds), inside containers, and from exported modules. An
array argument gets an array of its shape; NumPy itself may turn the gradient of a 0-d array into
a NumPy scalar. Before, rules whose adjoints go through np.where (np.where itself, np.clip,
np.maximum at a tie ...) gave a float argument a 0-d array.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from gradcheck import numeric_grad

import s2sad


def through_where(x):
    return np.where(x > 0, x, 0.0) * 2.0


def through_clip(x):
    return np.clip(x, 0.0, 1.0) * 3.0


def through_asarray(x):
    return np.sum(np.where(np.asarray(x) > 0, np.asarray(x) ** 2, 0.0))


def plain(x):
    return x * x + 1.0


FUNCTIONS = [through_where, through_clip, through_asarray, plain]


def _is_number(g) -> bool:
    return isinstance(g, (float, np.floating)) and not isinstance(g, np.ndarray)


def _gradients(kind, f, x):
    if kind == "grad":
        return s2sad.grad(f)(x)
    if kind == "value_and_grad":
        return s2sad.value_and_grad(f)(x)[1]
    if kind == "vjp":
        return s2sad.vjp(f)(x, 1.0)
    if kind == "grad_aux":
        return s2sad.grad(lambda v: (f(v), "aux"), has_aux=True)(x)[0]
    raise AssertionError(kind)


@pytest.mark.parametrize("x", [0.4, np.float64(0.4)], ids=["float", "np.float64"])
@pytest.mark.parametrize("kind", ["grad", "value_and_grad", "vjp"])
@pytest.mark.parametrize("f", FUNCTIONS, ids=lambda f: f.__name__)
def test_a_number_gets_a_number(f, kind, x):
    g = _gradients(kind, f, x)
    assert _is_number(g), f"{kind} of {f.__name__} at a {type(x).__name__} gave a {type(g).__name__}"
    assert float(g) == pytest.approx(numeric_grad(f, (float(x),)), rel=1e-6)


def in_a_dict(p):
    return through_where(p["a"]) + through_clip(p["b"]) * p["c"]


def test_numbers_in_a_container_get_numbers():
    p = {"a": 0.4, "b": 0.3, "c": 2.0}
    g = s2sad.grad(in_a_dict)(p)
    assert set(g) == set(p) and all(_is_number(v) for v in g.values()), {k: type(v) for k, v in g.items()}
    s2sad.check_grad(in_a_dict, p)


def test_an_int_argument_gets_a_number():
    assert _is_number(s2sad.grad(through_clip)(0))


def test_float32_scalars_keep_their_dtype():
    g = s2sad.grad(through_where)(np.float32(0.4))
    assert isinstance(g, np.float32) and not isinstance(g, np.ndarray)


def test_an_array_argument_still_gets_an_array():
    g = s2sad.grad(lambda x: np.sum(through_where(x)))(np.array([0.4, -0.2]))
    assert isinstance(g, np.ndarray) and g.shape == (2,)


def test_exported_gradients_of_numbers_are_numbers(tmp_path, monkeypatch):
    path = tmp_path / "exported_number_gradients.py"
    s2sad.export(through_where, str(path), modes=("grad", "value_and_grad"))
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("exported_number_gradients")
    assert _is_number(module.grad_through_where(0.4))
    assert _is_number(module.value_and_grad_through_where(0.4)[1])
