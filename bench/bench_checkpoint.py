"""Checkpointing against the full tape: peak memory and time of ``grad(f)`` and ``grad(f, checkpoint=...)``.

Two loops (issue 11 §3): a scalar loop of 1e6 steps and a loop of 1e4 steps over
a 100-vector. For each, the full tape and ``checkpoint="sqrt"`` (and an int
option): the peak memory above the baseline during one gradient call
(``tracemalloc``, in a separate call from the timing, which it would slow), the
time of one call (best of a few, the function and the gradients called in turns),
the function's own time, and the ratios.
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


def _best_in_turns(calls, args, repeat) -> list:
    """The best time of one call of each function, called in turns (so load on a shared machine
    falls on all of them alike)."""
    best = [float("inf")] * len(calls)
    for _ in range(repeat):
        for k, fn in enumerate(calls):
            t0 = time.perf_counter()
            fn(*args)
            best[k] = min(best[k], time.perf_counter() - t0)
    return best


def _mb(n) -> str:
    return f"{n / 1e6:8.2f} MB"


def run(name, f, args, options, repeat):
    gradients = [s2sad.grad(f, checkpoint=option) for option in options]
    for g in gradients:
        g(*args)  # built and warm
    peaks = [_peak(g, args) for g in gradients]
    primal, *times = _best_in_turns([f] + gradients, args, repeat)
    print(f"\n{name}: function {primal * 1e3:.1f} ms")
    print(f"  {'checkpoint':>10} {'peak memory':>12} {'time':>10} {'x function':>11} {'memory/full':>12} "
          f"{'time/full':>10}")
    for option, peak, seconds in zip(options, peaks, times):
        print(f"  {option!s:>10} {_mb(peak):>12} {seconds * 1e3:8.1f} ms {seconds / primal:10.1f}x "
              f"{peak / peaks[0]:11.3f}x {seconds / times[0]:9.2f}x")


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
