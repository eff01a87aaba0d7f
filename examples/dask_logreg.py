"""Logistic regression on more data than fits in memory: s2sad's gradient on Dask arrays.

The data (by default 10 million rows x 20 features, 1.6 GB as float64) is
generated chunk by chunk by Dask and never held in memory as a whole: each
step's graph regenerates the chunks it needs on the workers of a local
cluster (``--persist`` keeps them in the workers' memory instead). The gradient is s2sad's ordinary generated code, unchanged; on Dask
arrays it builds a task graph, and one ``dask.compute`` per step runs the
forward sweep once for both the loss and the gradients.

Run:  python examples/dask_logreg.py            (10 million rows; about 20 s a step on 2 busy cores)
      python examples/dask_logreg.py --rows 200000 --steps 5
"""

from __future__ import annotations

import argparse
import time

import dask
import dask.array as da
import numpy as np
from dask.distributed import Client, LocalCluster

import s2sad


def loss(w, b, X, y):
    """Mean cross-entropy of the logistic model; log(1 + e^z) - y z is log-loss without overflow."""
    z = X @ w + b
    return np.mean(np.logaddexp(0.0, z) - y * z)


def make_data(rows, features, chunk_rows, seed=0):
    """X ~ N(0, 1) and labels drawn from a known logistic model, as lazy Dask arrays chunked by rows."""
    rng = da.random.default_rng(seed)
    X = rng.standard_normal((rows, features), chunks=(chunk_rows, features))
    true_w = np.linspace(-2.0, 2.0, features)
    p = 1.0 / (1.0 + np.exp(-(X @ true_w + 0.5)))
    y = (rng.random(rows, chunks=chunk_rows) < p).astype(np.float64)
    return X, y


def train(X, y, steps, learning_rate):
    """Gradient descent with s2sad's gradient; prints the loss of each step. Returns (w, b, losses)."""
    value_and_grad = s2sad.value_and_grad(loss, wrt=("w", "b"))
    w, b = np.zeros(X.shape[1]), 0.0
    losses = []
    for step in range(1, steps + 1):
        start = time.perf_counter()
        value, (w_bar, b_bar) = value_and_grad(w, b, X, y)  # lazy: a task graph, nothing computed yet
        value, w_bar, b_bar = dask.compute(value, w_bar, b_bar)  # one pass over the data for all three
        w, b = w - learning_rate * w_bar, b - learning_rate * float(b_bar)
        losses.append(float(value))
        print(f"step {step:3d}/{steps}  loss {value:.6f}  ({time.perf_counter() - start:.2f} s)", flush=True)
    return w, b, losses


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--chunk-rows", type=int, default=500_000)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--learning-rate", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="threads per worker")
    parser.add_argument("--processes", action="store_true", help="process workers (default: threads)")
    parser.add_argument("--persist", action="store_true", help="keep the generated data in the workers' memory")
    args = parser.parse_args(argv)

    X, y = make_data(args.rows, args.features, min(args.chunk_rows, args.rows))
    print(f"{args.rows:,} rows x {args.features} features ({X.nbytes / 1e9:.2f} GB as float64), "
          f"{X.numblocks[0]} chunks, {args.workers} workers")
    with LocalCluster(n_workers=args.workers, threads_per_worker=args.threads, processes=args.processes,
                      dashboard_address=":0") as cluster, Client(cluster):
        if args.persist:
            X, y = dask.persist(X, y)
        w, b, losses = train(X, y, args.steps, args.learning_rate)
    print(f"loss {losses[0]:.6f} -> {losses[-1]:.6f}; w[:3] = {np.round(w[:3], 3)}, b = {b:.3f}")


if __name__ == "__main__":
    main()
