"""What shape specialization gains: T_grad / T_numpy_primal on the nine cases of ``bench_ratios.py``,
with the generic code (what a call ran before issue 11 §4) and with the code specialized for the
arguments' shapes (what a plain call runs now), through the same wrapper, in one run.

The generic column calls a copy of ``grad(f)`` whose specialization is off (``_variants = None``).
Each time is the minimum over 25 repeats (timeit). It asserts nothing; it prints a table.

    python bench/bench_specialization.py
"""

from __future__ import annotations

import copy
import pathlib
import sys
import timeit

sys.path.insert(0, str(pathlib.Path(__file__).parent))

import bench_ratios  # noqa: E402  (the cases, written once)

import s2sad  # noqa: E402


def per_call(fn, args, number) -> float:
    return min(timeit.repeat(lambda: fn(*args), number=number, repeat=25)) / number


def main():
    print(f"{'case':34} {'f (us)':>10} {'generic':>9} {'specialized':>12}")
    for case in bench_ratios.CASES:
        args = bench_ratios.arguments(case, False)
        specialized = s2sad.grad(case.func, wrt=case.wrt if len(case.wrt) > 1 else case.wrt[0])
        specialized(*args)  # builds the specialized code before timing
        generic = copy.copy(specialized)
        generic._variants = None
        t_f = per_call(case.func, args, 1)
        number = max(1, min(2000, int(0.02 / max(t_f, 1e-7))))
        t_f = per_call(case.func, args, number)
        ratios = [per_call(g, args, number) / t_f for g in (generic, specialized)]
        print(f"{case.name:34} {t_f * 1e6:10.1f} {ratios[0]:8.1f}x {ratios[1]:11.1f}x", flush=True)


if __name__ == "__main__":
    main()
