"""check_grad compares every leaf of a container argument, not only as many as the gradient has."""

import numpy as np
import pytest

import s2sad
import s2sad.api


def sum_of_squares(p):
    return np.sum(p["a"] ** 2) + np.sum(p["b"] ** 2)


class _MissingKey:
    """A stand-in derivative whose gradient lacks the key "b" (the old check zipped it away)."""

    _wrt_positions = [0]
    _many = False
    source = "<stub>"

    def __call__(self, p):
        return {"a": 2 * p["a"]}

    def specialize(self, *args):
        return self


def test_a_gradient_missing_a_leaf_fails(monkeypatch):
    monkeypatch.setattr(s2sad.api, "build", lambda *a, **k: _MissingKey())
    with pytest.raises(AssertionError, match="has 1 arrays, but the argument has 2"):
        s2sad.check_grad(sum_of_squares, {"a": np.ones(2), "b": np.ones(3)})


def test_dict_gradient_is_compared_key_by_key():
    assert s2sad.check_grad(sum_of_squares, {"b": np.arange(3.0), "a": np.ones(2)}) < 1e-6
