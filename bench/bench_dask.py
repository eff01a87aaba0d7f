"""s2sad's logistic-regression gradient on Dask arrays: rows x workers, and NumPy on the same data.

For each number of workers a ``LocalCluster`` is started (1 thread per worker,
thread workers unless ``--processes``); for each size the data (20 features,
chunks of ``--chunk-rows`` rows) is generated on the cluster and persisted
there, so the timing is the gradient, not the data generation. Columns:

* build: calling the generated ``value_and_grad`` on the Dask arrays (it only
  builds the task graph);
* dask: ``dask.compute(value, *grads)``, best of ``--repeat``;
* numpy: the same generated code on the same data as NumPy arrays in this
  process, best of ``--repeat`` (left out above ``--numpy-limit`` GB).

It asserts nothing; it prints a Markdown table. Keep it modest on a shared machine:

    python bench/bench_dask.py                               # 1e5, 1e6, 4e6 rows x 1, 2 workers
    python bench/bench_dask.py --rows 10000000 --workers 2
"""

from __future__ import annotations

import argparse
import time

import dask
import dask.array as da
import numpy as np
from dask.distributed import Client, LocalCluster, wait

import s2sad


def logistic_loss(w, b, X, y):
    z = X @ w + b
    return np.mean(np.logaddexp(0.0, z) - y * z)


def best_of(repeat, run):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(rows, features, chunk_rows, repeat, numpy_limit_gb):
    rng = da.random.default_rng(rows)
    X = rng.standard_normal((rows, features), chunks=(min(chunk_rows, rows), features))
    y = (rng.random(rows, chunks=min(chunk_rows, rows)) < 0.5).astype(np.float64)
    X, y = dask.persist(X, y)
    wait([X, y])
    w, b = np.full(features, 0.1), 0.0
    value_and_grad = s2sad.value_and_grad(logistic_loss, wrt=("w", "b"))
    build = best_of(repeat, lambda: value_and_grad(w, b, X, y))
    value, (w_bar, b_bar) = value_and_grad(w, b, X, y)
    lazy = best_of(repeat, lambda: dask.compute(value, w_bar, b_bar))
    eager = None
    if X.nbytes / 1e9 <= numpy_limit_gb:
        X_np, y_np = dask.compute(X, y)
        eager = best_of(repeat, lambda: value_and_grad(w, b, X_np, y_np))
        got = dask.compute(w_bar)[0]
        want = value_and_grad(w, b, X_np, y_np)[1][0]
        assert np.allclose(got, want, rtol=1e-9), "Dask and NumPy gradients differ"
    return X.numblocks[0], build, lazy, eager


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000, 4_000_000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--chunk-rows", type=int, default=250_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--numpy-limit", type=float, default=2.0, help="GB of X above which NumPy is skipped")
    parser.add_argument("--processes", action="store_true", help="process workers (default: threads)")
    args = parser.parse_args(argv)

    print(f"logistic regression, {args.features} features, float64, chunks of {args.chunk_rows:,} rows, "
          f"{'process' if args.processes else 'thread'} workers with 1 thread each\n")
    print("| rows | X (GB) | workers | chunks | build (ms) | dask gradient (s) | numpy gradient (s) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for workers in args.workers:
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=args.processes,
                          dashboard_address=":0") as cluster, Client(cluster):
            for rows in args.rows:
                chunks, build, lazy, eager = measure(rows, args.features, args.chunk_rows, args.repeat,
                                                     args.numpy_limit)
                numpy_text = f"{eager:.3f}" if eager is not None else "(does not fit)"
                print(f"| {rows:,} | {rows * args.features * 8 / 1e9:.2f} | {workers} | {chunks} | "
                      f"{build * 1e3:.1f} | {lazy:.3f} | {numpy_text} |", flush=True)


if __name__ == "__main__":
    main()
