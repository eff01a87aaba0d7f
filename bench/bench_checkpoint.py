"""Checkpointing against the full tape: peak memory and time of ``grad(f)`` and ``grad(f, checkpoint=...)``.

Two loops (issue 11 §3): a scalar loop of 1e6 steps and a loop of 1e4 steps over
a 100-vector. For each, the full tape and ``checkpoint="sqrt"`` (and an int
option): the peak memory above the baseline during one gradient call
(``tracemalloc``, in a separate call from the timing, which it would slow), the
time of one call (best of a few), the function's own time, and the ratios.
It asserts nothing; it prints a table.

    python bench/bench_checkpoint.py [--steps-scalar N] [--steps-vector N] [--repeat R]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

import s2sad


def scalar_loop(x, n):
    s = 0.0
    for i in range(n):
        s = np.sin(s) * x + 1.0
    return s


def vector_loop(x, n):
    v = x
    for i in range(n):
        v = np.tanh(v) * x + 0.5 * v
    return np.sum(v)


def _peak(fn, args) -> int:
    tracemalloc.start()
    try:
        fn(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _best(fn, args, repeat) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best


def _mb(n) -> str:
    return f"{n / 1e6:8.2f} MB"


def run(name, f, args, options, repeat):
    primal = _best(f, args, repeat)
    rows = []
    for option in options:
        g = s2sad.grad(f, checkpoint=option)
        g(*args)  # built and warm
        rows.append((option, _peak(g, args), _best(g, args, repeat)))
    full_peak, full_time = rows[0][1], rows[0][2]
    print(f"\n{name}: function {primal * 1e3:.1f} ms")
    print(f"  {'checkpoint':>10} {'peak memory':>12} {'time':>10} {'x function':>11} {'memory/full':>12} "
          f"{'time/full':>10}")
    for option, peak, seconds in rows:
        print(f"  {option!s:>10} {_mb(peak):>12} {seconds * 1e3:8.1f} ms {seconds / primal:10.1f}x "
              f"{peak / full_peak:11.3f}x {seconds / full_time:9.2f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps-scalar", type=int, default=1_000_000)
    parser.add_argument("--steps-vector", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    run(f"scalar loop, {options.steps_scalar} steps", scalar_loop, (0.5, options.steps_scalar),
        [None, "sqrt", 100], options.repeat)
    x = np.linspace(-1.0, 1.0, 100)
    run(f"100-vector loop, {options.steps_vector} steps", vector_loop, (x, options.steps_vector),
        [None, "sqrt", 10], options.repeat)


if __name__ == "__main__":
    main()
