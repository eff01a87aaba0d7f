"""Small functions whose generated code is pinned in tests/golden/ (see test_golden.py)."""

import numpy as np


def lecture_f(x1, x2):
    return np.log(x1) + x1 * x2 - np.sin(x2)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def logistic(w, b, X, y):
    p = sigmoid(X @ w + b)
    return -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))


def loop_and_branch(x, w):
    s = 0.0
    for i in range(len(x)):
        if x[i] > 0:
            s = s + w * x[i] ** 2
        else:
            s = s - np.sin(x[i])
    return s


def fill(x):
    out = np.zeros(len(x))
    for i in range(len(x)):
        out[i] = np.tanh(x[i]) * x[i]
    return np.sum(out)


def newton_sqrt(a):
    x = a
    for it in range(50):
        x_new = 0.5 * (x + a / x)
        if abs(x_new - x) < 1e-12:
            break
        x = x_new
    return x_new


def closure_layers(W, x):
    # a lambda and a nested def reading W from here at each call
    act = lambda z: np.tanh(z)

    def layer(v, scale=2.0):
        return act(scale * (W @ v))

    return np.sum(layer(layer(x)) ** 2)


def power(x, n):
    return 1.0 if n == 0 else x * power(x, n - 1)
