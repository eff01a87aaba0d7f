"""s2sad quickstart: print a generated gradient, then use it.

The logistic loss from the lecture notes: a linear model ``z = X @ w + b``
squashed by the sigmoid, scored with the cross-entropy, averaged over a small
synthetic data set. s2sad reads ``loss`` (and the ``sigmoid`` it calls), writes
the Python source of its gradient, and we run plain gradient descent with it.

Run:  python examples/quickstart.py
"""

import numpy as np

import s2sad


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def loss(w, b, X, y):
    p = sigmoid(X @ w + b)
    return -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))


def make_data(n=200, seed=0):
    """Two features; labels drawn from a known logistic model."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    true_w, true_b = np.array([2.0, -3.0]), 0.5
    y = (rng.uniform(size=n) < sigmoid(X @ true_w + true_b)).astype(float)
    return X, y


def main():
    X, y = make_data()
    dloss = s2sad.grad(loss, wrt=("w", "b"))

    print("The gradient s2sad generated for loss(w, b, X, y):\n")
    s2sad.show(dloss)

    w, b = np.zeros(2), 0.0
    rate = 1.0
    start = loss(w, b, X, y)
    for step in range(100):
        if step % 25 == 0:
            print(f"step {step:3d}  loss {loss(w, b, X, y):.4f}")
        w_bar, b_bar = dloss(w, b, X, y)
        w = w - rate * w_bar
        b = b - rate * b_bar
    end = loss(w, b, X, y)

    print(f"\nloss: {start:.4f} at the start -> {end:.4f} after 100 steps")
    print(f"learned w = {np.round(w, 3)}, b = {b:.3f}  (data drawn with w = [2, -3], b = 0.5)")


if __name__ == "__main__":
    main()
