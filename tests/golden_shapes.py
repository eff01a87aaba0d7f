"""Functions whose code specialized for known shapes is pinned in tests/golden/ (issue 11 §4; see
test_golden.py). A module of their own, so that the line numbers in the pinned code stay put."""

import numpy as np


def sum_tanh(x):
    return np.sum(np.tanh(x) * x)


def layer(X, W, v):
    h = np.tanh(X @ W)
    return np.sum(np.dot(h, v) ** 2)
