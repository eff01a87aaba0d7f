"""Cost of a gradient relative to the function: time(gradient) / time(function).

The cheap-gradient principle says reverse mode should cost a small constant
times the function. This script measures that ratio for s2sad and, when it is
installed, for autograd, on the same functions, in one run.
It asserts nothing; it prints a table.

    python bench/bench_ratios.py
"""

from __future__ import annotations

import timeit

import numpy as np

import s2sad

try:
    import autograd
    import autograd.numpy as anp
except ImportError:  # optional peer
    autograd = None


def logistic_loss(w, X, y):
    z = X @ w
    p = 1.0 / (1.0 + np.exp(-z))
    return -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))


def horner_loop(x, c):
    s = 0.0
    for i in range(len(c)):
        s = s * x + c[i]
    return s


def fill_loop(x):
    out = np.zeros(len(x))
    for i in range(len(x)):
        out[i] = np.sin(x[i]) * x[i]
    return np.sum(out)


def rnn(h, W, xs):
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + xs[t])
    return np.sum(h * h)


def _autograd_versions():
    if autograd is None:
        return {}

    def logistic_loss_ag(w, X, y):
        z = X @ w
        p = 1.0 / (1.0 + anp.exp(-z))
        return -anp.mean(y * anp.log(p) + (1.0 - y) * anp.log(1.0 - p))

    def horner_ag(x, c):
        s = 0.0
        for i in range(len(c)):
            s = s * x + c[i]
        return s

    def fill_ag(x):
        return anp.sum(anp.array([anp.sin(x[i]) * x[i] for i in range(len(x))]))

    def rnn_ag(h, W, xs):
        for t in range(xs.shape[0]):
            h = anp.tanh(anp.dot(W, h) + xs[t])
        return anp.sum(h * h)

    return {"logistic_loss": logistic_loss_ag, "horner_loop": horner_ag, "fill_loop": fill_ag, "rnn": rnn_ag}


def _time(fn, args, number):
    return min(timeit.repeat(lambda: fn(*args), number=number, repeat=5)) / number


def main():
    rng = np.random.default_rng(0)
    cases = [
        ("logistic_loss", logistic_loss, (rng.normal(size=20), rng.normal(size=(500, 20)), (rng.random(500) > 0.5) * 1.0), 200),
        ("horner_loop", horner_loop, (0.7, rng.normal(size=200)), 200),
        ("fill_loop", fill_loop, (rng.normal(size=1000),), 20),
        ("rnn", rnn, (rng.normal(size=16), rng.normal(size=(16, 16)) * 0.3, rng.normal(size=(50, 16))), 50),
    ]
    peers = _autograd_versions()
    print(f"{'function':<15}{'f (ms)':>10}{'s2sad ratio':>14}{'autograd ratio':>16}")
    for name, f, args, number in cases:
        t_f = _time(f, args, number)
        g = s2sad.grad(f)
        t_g = _time(g, args, number)
        row = f"{name:<15}{t_f * 1e3:>10.3f}{t_g / t_f:>14.1f}"
        if name in peers:
            ag = autograd.grad(peers[name])
            t_a = _time(ag, args, number)
            row += f"{t_a / t_f:>16.1f}"
        else:
            row += f"{'-':>16}"
        print(row)


if __name__ == "__main__":
    main()
