"""How the transformer's cost grows with the size of the code it reads.

Two families of generated test programs:

* ``straight N``: one function of N statements, no control flow, a handful of
  names reassigned over and over (``a3 = np.tanh(a2 * w) + 0.5 * a0``), as a
  long model written out by hand looks;
* ``helpers D``: D nested helpers, each calling the one below it twice. Inlined,
  that made 2**D copies of the innermost helper; a helper called from more than
  one place is now a subroutine (``h3_fwd`` / ``h3_bwd``, s2sad/subroutines.py),
  one pair per level.

Helper depth, measured on the 2-core development machine (transform = wall
clock of ``s2sad.grad``; ``python bench/bench_scaling.py helpers D``):

    depth   inlined (before)                  subroutines (now)
            transform  cpu    lines  peak MB   transform  cpu    lines  peak MB
    4       0.21 s     0.06   119    44        0.04 s     0.04   100    44
    8       2.93 s     0.83   333    45        0.06 s     0.06   180    44
    11      70.8 s     22.1   567    56        0.10 s     0.07   240    45

Each case runs in its own subprocess with a memory limit and a timeout, so a
case that blows up prints ``skipped`` instead of taking the machine down. For
each it prints the time ``s2sad.grad`` takes to transform the function (the
build, not the call; wall clock and CPU time, which a busy machine inflates
less), the lines of generated source, and the peak resident memory of the
subprocess. The gradient is then checked at one point against
central differences, so a fast but wrong transformer would not pass silently.
It asserts nothing else; it prints a table.

    python bench/bench_scaling.py                 # the whole table
    python bench/bench_scaling.py straight 1000   # one case
    python bench/bench_scaling.py --timeout 60 --memory-mb 2000
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

CASES = [("straight", 10), ("straight", 100), ("straight", 1000), ("straight", 5000),
         ("helpers", 4), ("helpers", 8), ("helpers", 11)]
NAMES = 8  # distinct variable names the straight-line program cycles through


def straight_source(n: int) -> str:
    """A straight-line function of `n` statements reassigning a few names."""
    lines = ["import numpy as np", "", "", "def f(x, w):"]
    lines += [f"    a{k} = x * {k + 1}.0" for k in range(NAMES)]
    shapes = [
        "    a{i} = np.tanh(a{j} * w)",
        "    a{i} = a{j} * a{k} + 0.5",
        "    a{i} = np.sin(a{i}) + a{k}",
        "    a{i} = a{j} / (1.0 + a{k} * a{k})",
    ]
    for s in range(max(n - NAMES - 1, 1)):
        i, j, k = s % NAMES, (s + 3) % NAMES, (s + 5) % NAMES
        lines.append(shapes[s % len(shapes)].format(i=i, j=j, k=k))
    lines.append("    return np.sum(" + " + ".join(f"a{k}" for k in range(NAMES)) + ")")
    return "\n".join(lines) + "\n"


def helpers_source(depth: int) -> str:
    """`depth` nested helpers, each calling the one below it twice."""
    lines = ["import numpy as np", "", "", "def h0(x):", "    return np.sin(x) * x", ""]
    for d in range(1, depth + 1):
        lines += ["", f"def h{d}(x):", f"    return h{d - 1}(x) + 0.5 * h{d - 1}(x * 0.9)", ""]
    lines += ["", "def f(x, w):", f"    return np.sum(h{depth}(x) * w)", ""]
    return "\n".join(lines)


def run_case(kind: str, size: int) -> dict:
    """Transform one generated program in this process and measure it."""
    import numpy as np

    import s2sad

    source = straight_source(size) if kind == "straight" else helpers_source(size)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, f"scaling_{kind}_{size}.py")
        with open(path, "w") as fh:
            fh.write(source)
        spec = importlib.util.spec_from_file_location(f"scaling_{kind}_{size}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        start, cpu_start = time.perf_counter(), time.process_time()
        g = s2sad.grad(module.f, wrt=("x", "w"))
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        x, w = np.array([0.3, -0.2, 0.1]), 0.7
        gx, gw = g(x, w)
        h = 1e-6
        fd = (module.f(x, w + h) - module.f(x, w - h)) / (2 * h)
        ok = bool(np.all(np.isfinite(gx)) and abs(gw - fd) <= 1e-5 * max(1.0, abs(fd)))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    return {"seconds": seconds, "cpu": cpu, "lines": len(g.source.splitlines()), "peak_mb": peak_mb, "ok": ok}


def measure(kind: str, size: int, timeout: float, memory_mb: int) -> dict:
    """Run one case in a subprocess limited to `memory_mb` and `timeout` seconds."""

    def limit():
        limit_bytes = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    cmd = [sys.executable, os.path.abspath(__file__), "--child", kind, str(size)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, preexec_fn=limit)
    except subprocess.TimeoutExpired:
        return {"skipped": f"> {timeout:g} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        if "MemoryError" in done.stderr:
            return {"skipped": f"> {memory_mb} MB"}
        return {"skipped": f"failed: {last[:60]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", nargs="*", help="e.g. `straight 1000` or `helpers 8`; default: the whole table")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per case (default 120)")
    parser.add_argument("--memory-mb", type=int, default=3000, help="address-space limit per case (default 3000)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_case(args.case[0], int(args.case[1]))))
        return
    cases = [(args.case[0], int(args.case[1]))] if args.case else CASES
    print(f"{'case':<16}{'transform s':>12}{'cpu s':>8}{'lines':>9}{'peak MB':>10}  gradient")
    for kind, size in cases:
        row = measure(kind, size, args.timeout, args.memory_mb)
        label = f"{kind} {size}"
        if "skipped" in row:
            print(f"{label:<16}  skipped: {row['skipped']}")
        else:
            verdict = "ok" if row["ok"] else "WRONG"
            print(f"{label:<16}{row['seconds']:>12.2f}{row['cpu']:>8.2f}{row['lines']:>9}{row['peak_mb']:>10.0f}  {verdict}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
