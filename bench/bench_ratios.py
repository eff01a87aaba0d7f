"""Cost of a gradient relative to the function: T_grad / T_numpy_primal, against autograd, JAX and torch.

The cheap-gradient principle says reverse mode should cost a small constant
times the function (Griewank's bound: 3 to 4). This script measures that ratio
on the nine cases of issue 11, for s2sad and for each peer that is installed
(autograd, JAX, torch; a missing one's column is left out), in one run, with
the same functions: each case is written once with ``np.``, and a peer runs that
very source with ``np`` bound to its own NumPy (``autograd.numpy``,
``jax.numpy``, or a thin torch namespace). Every ratio divides by the time of
the NumPy function on NumPy arguments, timed in the same run. A peer takes its
arguments in its own form (JAX arrays, torch tensors), made before timing.
JAX is timed as its users run it, ``jax.jit(jax.grad(f))``; its first call
includes tracing and XLA compilation.

Three tables:

* **ratio**: minimum time over 25 short repeats (timeit) of one gradient divided
  by the NumPy function's, the repeats of all libraries interleaved so that a shared
  machine's changing load falls on all alike; ``ok`` where s2sad meets the issue's target. A peer whose
  gradient differs from s2sad's prints ``differs``; one that fails prints
  ``error`` (the reasons are listed under the tables).
* **peak memory**: the peak resident set size (RSS) during one warm call above
  the RSS just before it, in MB. RSS counts every allocator (NumPy's,
  torch's C++ one, XLA's), which tracemalloc does not (it sees only the
  allocations that report to Python), so it is the one measure that is fair
  across the libraries. The peak is reset through ``/proc/self/clear_refs``
  and read from ``VmHWM`` (Linux). Each library is measured in its own
  process started with ``MALLOC_MMAP_THRESHOLD_=65536``, so every array
  larger than 64 kB is its own mapping, returned when freed: memory an earlier
  call freed but the allocator kept cannot hide a later call's peak.
* **first call**: building the derivative plus its first run, in ms, on a
  fresh copy of the function (s2sad transforms and compiles; autograd and torch
  trace as every call does; JAX traces and compiles). Imports, and the
  allocator's growth to the case's size, are paid before, by a throwaway run.

Times are CPU time of the process (``time.process_time``), every library on
one thread (OpenBLAS/MKL/OpenMP, torch and XLA set to one thread before they
start): on a machine shared with other work, wall-clock time measures the
load more than the code (the ratios moved by 3x from run to run on 2 busy
cores), while the CPU time of single-threaded work does not count the time the
process waits for a core. The comparison is per core: a library's
multi-threading is not counted.

It asserts nothing; it prints tables.

    python bench/bench_ratios.py               # the tables (a minute of CPU, most of it JAX compiling)
    python bench/bench_ratios.py --markdown    # the same as Markdown, for the README
    python bench/bench_ratios.py --quick       # tiny sizes, few repeats, memory in process: a smoke run
    python bench/bench_ratios.py --peers autograd,torch   # only these peers
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import subprocess
import sys
import time
import timeit
import types
from typing import NamedTuple

if __name__ == "__main__":  # one thread for every library, set before any starts its pool (see above);
    # imported (by the tests) it leaves the environment alone
    for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_variable, "1")
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import numpy as np  # noqa: E402

import s2sad  # noqa: E402

# ------------------------------------------------------------------ the nine cases, written once with np


def normal_pdf(x, mu, sigma):
    return np.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * np.sqrt(2.0 * np.pi))


def logistic_one(w, x, y):
    return np.log(1.0 + np.exp(-y * w * x))


def scalar_loop(x, n):
    s = x
    for i in range(n):
        t = s * 0.99
        u = np.tanh(t)
        s = u + 0.01 * x
    return s


def rosenbrock_loop(x):
    s = 0.0
    for i in range(len(x) - 1):
        s = s + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


def rnn(h, W, xs):
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + xs[t])
    return np.sum(h * h)


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def logistic_regression(w, X, y):
    z = X @ w
    p = 1.0 / (1.0 + np.exp(-z))
    return -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))


def mlp(W1, b1, W2, b2, X, Y):
    h = np.tanh(X @ W1 + b1)
    z = h @ W2 + b2
    log_p = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))  # log softmax
    return -np.sum(log_p * Y) / X.shape[0]


def chain(x):
    y = np.sin(x) * np.exp(-0.5 * x * x)
    return np.sum(np.tanh(y) + np.log1p(x * x))


class Case(NamedTuple):
    name: str
    func: object
    wrt: tuple  # positions differentiated
    make: object  # (rng, quick) -> arguments, ints are non-differentiable sizes
    target: float  # issue 11's target ratio


def _mlp_arguments(rng, quick):
    n_in, n_hidden, n_out, batch = (8, 6, 3, 4) if quick else (784, 256, 10, 256)
    Y = np.eye(n_out)[rng.integers(0, n_out, size=batch)]
    return (rng.normal(size=(n_in, n_hidden)) / np.sqrt(n_in), np.zeros(n_hidden),
            rng.normal(size=(n_hidden, n_out)) / np.sqrt(n_hidden), np.zeros(n_out),
            rng.normal(size=(batch, n_in)), Y)


def _rnn_arguments(rng, quick):
    steps, hidden = (3, 4) if quick else (50, 128)
    return rng.normal(size=hidden), rng.normal(size=(hidden, hidden)) / np.sqrt(hidden), rng.normal(size=(steps, hidden))


def _logistic_arguments(rng, quick):
    n, d = (20, 5) if quick else (1000, 100)
    return rng.normal(size=d) * 0.1, rng.normal(size=(n, d)), (rng.random(n) > 0.5) * 1.0


CASES = [
    Case("normal pdf (scalar expression)", normal_pdf, (0,), lambda rng, quick: (0.3, 0.1, 1.2), 8),
    Case("logistic loss of one sample", logistic_one, (0,), lambda rng, quick: (0.5, 2.0, 1.0), 8),
    Case("scalar loop, 1000 iterations", scalar_loop, (0,), lambda rng, quick: (0.5, 10 if quick else 1000), 4),
    Case("Rosenbrock, element loop n=100", rosenbrock_loop, (0,),
         lambda rng, quick: (rng.uniform(-1, 1, size=6 if quick else 100),), 4),
    Case("RNN T=50 H=128", rnn, (1,), _rnn_arguments, 4),
    Case("Rosenbrock, vectorized n=1000", rosenbrock, (0,),
         lambda rng, quick: (rng.uniform(-1, 1, size=10 if quick else 1000),), 3),
    Case("logistic regression 1000x100", logistic_regression, (0,), _logistic_arguments, 3),
    Case("MLP 784-256-10, batch 256", mlp, (0, 1, 2, 3), _mlp_arguments, 3),
    Case("elementwise chain, 1e6", chain, (0,), lambda rng, quick: (rng.uniform(-1, 1, size=100 if quick else 10**6),), 3),
]


def arguments(case, quick):
    return case.make(np.random.default_rng(0), quick)


# ------------------------------------------------------------------ the libraries


def fresh_copy(func, np_module=np):
    """A new function object with `func`'s code, reading ``np`` as `np_module`: s2sad caches a
    derivative per function object, so a copy is transformed anew; a peer gets its own NumPy."""
    scope = dict(func.__globals__) if np_module is not np else func.__globals__
    scope["np"] = np_module
    return types.FunctionType(func.__code__, scope, func.__name__, func.__defaults__, func.__closure__)


class _TorchAsNumpy:
    """``np`` for the torch column: torch's functions (which take NumPy's ``axis=``/``keepdims=``);
    the math of Python floats (``np.sqrt(2.0 * np.pi)``) stays Python's."""

    def __init__(self, torch):
        self._torch = torch
        self.pi = math.pi

    def sqrt(self, value):
        return math.sqrt(value) if isinstance(value, float) else self._torch.sqrt(value)

    def __getattr__(self, name):
        return getattr(self._torch, name)


def _s2sad(func, wrt):
    many = len(wrt) > 1
    return s2sad.grad(func, wrt=wrt if many else wrt[0]), lambda args: args, lambda g: list(g) if many else [g]


def _autograd(func, wrt):
    import autograd
    import autograd.numpy as anp

    many = len(wrt) > 1
    g = autograd.grad(fresh_copy(func, anp), wrt if many else wrt[0])
    return g, lambda args: args, lambda grads: [np.asarray(v) for v in (grads if many else [grads])]


def _jax(func, wrt):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    def prepare(args):
        return tuple(a if isinstance(a, int) else jnp.asarray(a) for a in args)

    g = None

    def call(*args):  # jit with the int arguments (sizes) static
        nonlocal g
        if g is None:
            static = tuple(i for i, a in enumerate(args) if isinstance(a, int))
            g = jax.jit(jax.grad(fresh_copy(func, jnp), argnums=wrt), static_argnums=static)
        return jax.block_until_ready(g(*args))

    return call, prepare, lambda grads: [np.asarray(v) for v in grads]


def _torch(func, wrt):
    import torch

    torch.set_num_threads(1)

    torch_np = _TorchAsNumpy(torch)
    f = fresh_copy(func, torch_np)

    def prepare(args):
        return tuple(a if isinstance(a, int) else torch.as_tensor(np.asarray(a, dtype=np.float64)) for a in args)

    def call(*args):
        args = list(args)
        leaves = [args[i].detach().requires_grad_() for i in wrt]
        for i, leaf in zip(wrt, leaves):
            args[i] = leaf
        return torch.autograd.grad(f(*args), leaves)

    return call, prepare, lambda grads: [v.numpy() for v in grads]


LIBRARIES = {"s2sad": _s2sad, "autograd": _autograd, "jax": _jax, "torch": _torch}
PEERS = ("autograd", "jax", "torch")
_MODULES = {"autograd": "autograd", "jax": "jax", "torch": "torch"}


def installed(peer) -> bool:
    import importlib.util

    return importlib.util.find_spec(_MODULES[peer]) is not None


# ------------------------------------------------------------------ measuring


def per_call(calls: dict, budget, repeat) -> dict:
    """{name: minimum seconds of one call} for each of `calls` (name -> callable). The rounds are
    interleaved (each round times every callable, about `budget` seconds each), so that a change in
    the load of a shared machine falls on all of them alike rather than on whichever ran then."""
    numbers = {}
    for name, call in calls.items():
        start = time.process_time()
        call()
        numbers[name] = max(1, int(budget / max(time.process_time() - start, 1e-7)))
    best = dict.fromkeys(calls, math.inf)
    for _ in range(repeat):
        for name, call in calls.items():
            best[name] = min(best[name], timeit.timeit(call, number=numbers[name], timer=time.process_time) / numbers[name])
    return best


def _peak_rss_above(call) -> float | None:
    """MB of resident memory at the peak of `call()` above what was resident just before (Linux)."""
    try:
        gc.collect()
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # resets VmHWM to the current RSS
        before = _status_kb("VmRSS")
        call()
        return max(_status_kb("VmHWM") - before, 0) / 1024
    except OSError:
        return None


def _status_kb(field) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(field)


def build(library, case, quick):
    """(call with no arguments, gradient as a list of NumPy arrays) for `library` on `case`."""
    args = arguments(case, quick)
    if library == "numpy":
        return lambda: case.func(*args), None
    g, prepare, as_numpy = LIBRARIES[library](fresh_copy(case.func), case.wrt)
    native = prepare(args)
    return lambda: g(*native), as_numpy


def memory_child(library, quick) -> dict:
    """Peak memory of each case's gradient (or the NumPy function) for one library, in this process."""
    out = {}
    for case in CASES:
        try:
            call, _ = build(library, case, quick)
            call()
            call()  # warm: compiled, caches filled
            out[case.name] = _peak_rss_above(call)
        except Exception as exc:  # noqa: BLE001 - a peer failing on a case is a table entry
            out[case.name] = f"error: {type(exc).__name__}"
    return out


def measure_memory(libraries, quick, in_process=False) -> dict:
    """{library: {case: MB or None or 'error...'}}, each library in a process of its own (or, for a
    smoke run, in this one: faster, but an allocator that keeps freed memory may hide a peak)."""
    if in_process:
        return {library: memory_child(library, quick) for library in libraries}
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536")
    found = {}
    for library in libraries:
        command = [sys.executable, os.path.abspath(__file__), "--memory-child", library] + (["--quick"] if quick else [])
        run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
        try:
            found[library] = json.loads(run.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            found[library] = {case.name: "error: memory process failed" for case in CASES}
    return found


def _gradients_agree(a, b) -> bool:
    return len(a) == len(b) and all(np.allclose(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64),
                                                rtol=1e-6, atol=1e-9) for x, y in zip(a, b))


def run_case(case, libraries, quick, budget, repeat, errors) -> dict:
    """{'primal': s, library: {'time': s or 'error'/'differs', 'first': s}} for one case.

    The first library (s2sad) first runs once on a throwaway copy of the function, so that the first
    call measured next (on another copy) pays for building the derivative and running it, not for the
    process's allocator growing to the case's size, which would fall on whichever library came first."""
    args = arguments(case, quick)
    try:
        build(libraries[0], case, quick)[0]()
    except Exception:  # noqa: BLE001 - reported below
        pass
    row, calls, reference = {}, {"primal": lambda: case.func(*args)}, None
    for library in libraries:
        try:
            gc.collect()  # another library's garbage is not this one's first call
            start = time.process_time()
            call, as_numpy = build(library, case, quick)
            value = call()
            row[library] = {"first": time.process_time() - start}
            gradient = as_numpy(value)
            if reference is None:
                reference = gradient  # s2sad's, first in the list
            elif not _gradients_agree(gradient, reference):
                row[library]["time"] = "differs"
                errors.append(f"{library} on {case.name}: its gradient differs from s2sad's")
                continue
            calls[library] = call
        except Exception as exc:  # noqa: BLE001 - a peer failing on a case is a table entry
            row[library] = {"time": "error", "first": "error"}
            errors.append(f"{library} on {case.name}: {type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}")
    times = per_call(calls, budget, repeat)
    row["primal"] = times.pop("primal")
    for library, seconds in times.items():
        row[library]["time"] = seconds
    return row


# ------------------------------------------------------------------ printing


def _ratio(entry, primal):
    value = entry["time"] if isinstance(entry, dict) else entry
    return value if isinstance(value, str) else f"{value / primal:.1f}x"


def _mb(value):
    if value is None:
        return "-"
    return "error" if isinstance(value, str) else f"{value:.2f}"


def _ms(entry):
    value = entry["first"]
    return value if isinstance(value, str) else f"{value * 1e3:.1f}"


def tables(rows, libraries, memory) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of the ratio, memory and first-call tables."""
    ratio_rows, memory_rows, first_rows = [], [], []
    for case in CASES:
        row = rows[case.name]
        s2sad_time = row["s2sad"]["time"]
        meets = isinstance(s2sad_time, float) and s2sad_time / row["primal"] <= case.target
        ratio_rows.append([case.name, f"{row['primal'] * 1e6:.1f}"] + [_ratio(row[lib], row["primal"]) for lib in libraries]
                          + [f"<= {case.target}x", "ok" if meets else ""])
        if memory is not None:
            memory_rows.append([case.name] + [_mb(memory[lib].get(case.name)) for lib in ["numpy", *libraries]])
        first_rows.append([case.name] + [_ms(row[lib]) for lib in libraries])
    out = [("T_grad / T_numpy_primal", ["case", "numpy f (us)", *libraries, "target", "s2sad meets"], ratio_rows)]
    if memory is not None:
        out.append(("peak RSS of one call above the RSS before it (MB)", ["case", "numpy f", *libraries], memory_rows))
    out.append(("first call: build + first run (ms)", ["case", *libraries], first_rows))
    return out


def render(title, header, body, markdown) -> str:
    if markdown:
        lines = [f"**{title}**", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in body]
        return "\n".join(lines)
    widths = [max(len(str(r[i])) for r in [header, *body]) for i in range(len(header))]
    fmt = lambda r: "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths)))  # noqa: E731
    return "\n".join([title, fmt(header), *map(fmt, body)])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and short timings: a smoke run")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables (for the README)")
    parser.add_argument("--peers", default=",".join(PEERS),
                        help="comma-separated peers to compare with, when installed (default: %(default)s)")
    parser.add_argument("--no-memory", action="store_true", help="leave out the peak-memory table")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.memory_child:
        print(json.dumps(memory_child(options.memory_child, options.quick)))
        return
    asked = [p for p in options.peers.split(",") if p]
    unknown = [p for p in asked if p not in PEERS]
    if unknown:
        parser.error(f"unknown peer(s) {unknown}: choose among {list(PEERS)}")
    libraries = ["s2sad"] + [p for p in asked if installed(p)]
    missing = [p for p in asked if not installed(p)]
    budget, repeat = (0.002, 2) if options.quick else (0.02, 25)
    errors: list[str] = []
    warm_up(libraries)
    rows = {case.name: run_case(case, libraries, options.quick, budget, repeat, errors) for case in CASES}
    memory = None if options.no_memory else measure_memory(["numpy", *libraries], options.quick, in_process=options.quick)
    print(f"{'tiny sizes (--quick): not the cases named; ' if options.quick else ''}float64, CPU time on one "
          f"thread ({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}), numpy {np.__version__}, "
          + ", ".join(f"{lib} {_version(lib)}" for lib in libraries)
          + (f"; not installed: {', '.join(missing)}" if missing else ""))
    for title, header, body in tables(rows, libraries, memory):
        print()
        print(render(title, header, body, options.markdown))
    for name, per_case in (memory or {}).items():
        errors += [f"{name} memory on {case}: {v}" for case, v in per_case.items() if isinstance(v, str)]
    if errors:
        print()
        print("\n".join(("- " if options.markdown else "") + e for e in errors))


def _version(library) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(library)
    except PackageNotFoundError:
        return "?"


def warm_up(libraries):
    """Import each library and run it once on a throwaway copy of the first case, so that no case's
    first-call column pays for an import or a library's one-time set-up (JAX's backend, say)."""
    for library in libraries:
        try:
            call, _ = build(library, CASES[0], quick=True)
            call()
        except Exception:  # noqa: BLE001 - the case itself reports it
            pass


if __name__ == "__main__":
    main()
