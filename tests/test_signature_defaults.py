"""Parameter defaults in the generated signature: a default that is one of the user's data globals,
and a keyword-only parameter without a default after one with a default."""

import numpy as np
import pytest

import s2sad

w_default = np.array([1.0, 2.0])  # the name generated code also gives w's default


def weighted(x, w=w_default):
    return np.sum(np.sin(x) * w)


def keyword_only_after_default(x, *, y=0.5, z):
    return x * y * z


def test_a_default_named_like_its_generated_name_is_read_from_the_module():
    # the def of grad_weighted evaluates `w=w_default` when it runs: it was a NameError (InternalError)
    x = np.array([0.3, -0.7])
    assert np.allclose(s2sad.grad(weighted)(x), np.cos(x) * w_default)
    assert np.allclose(s2sad.grad(weighted, wrt="w")(x), np.sin(x))


def test_a_keyword_only_parameter_without_default_after_one_with_default_is_differentiated():
    # the generated def keeps the `*` (it was refused: generated parameters were all positional)
    assert s2sad.grad(keyword_only_after_default).source.startswith(
        "def grad_keyword_only_after_default(x, *, y=0.5, z):")
    assert s2sad.grad(keyword_only_after_default)(1.5, z=2.0) == pytest.approx(0.5 * 2.0)
    assert s2sad.grad(keyword_only_after_default, wrt="z")(1.5, z=2.0) == pytest.approx(1.5 * 0.5)
