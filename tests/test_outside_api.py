"""Outside-style probes of the API's own tools: a check must be able to fail. Each test names the
wrong answer it caught."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import s2sad


def root_where_positive(x):
    return np.sum(np.where(x > 0, np.sqrt(np.abs(x)), 0.0))


def square(x):
    return x * x


def test_check_grad_fails_on_a_nan_gradient_that_differences_call_finite():
    # the gradient at x = 0 is nan (0 * inf in the untaken branch of np.where, as in every AD tool),
    # finite differences give 500: max(|nan - 500|) is nan, `nan > tolerance` is False, and
    # check_grad returned 0.0, a pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(AssertionError, match="differs from finite differences by inf"):
            s2sad.check_grad(root_where_positive, np.array([0.0, 4.0]))
        # an infinite gradient where differences give nan (x = inf) is no pass either (it returned 0.0)
        with pytest.raises(AssertionError, match="by inf"):
            s2sad.check_grad(square, np.inf)
    assert s2sad.check_grad(square, 2.0) < 1e-9  # a finite point still passes
