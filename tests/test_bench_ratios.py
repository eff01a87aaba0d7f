"""bench/bench_ratios.py keeps working: its quickest run prints every case of every table.

Timings are not asserted (a shared machine); only that the bench runs, that each
case's gradient is right, and that a peer failing on a case is a table entry.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import s2sad

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_ratios.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_ratios", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_run_prints_every_case_in_every_table(bench, capsys):
    bench.main(["--quick", "--peers", "autograd", "--markdown"])
    out = capsys.readouterr().out
    titles = ["T_grad / T_numpy_primal", "peak RSS", "first call"]
    assert all(title in out for title in titles), out
    for case in bench.CASES:
        rows = [line for line in out.splitlines() if line.startswith(f"| {case.name} |")]
        assert len(rows) == len(titles), (case.name, out)
        assert "error" not in rows[0] and "differs" not in rows[0], rows[0]


def test_memory_is_measured_in_a_process_of_its_own(bench):
    found = bench.measure_memory(["numpy"], quick=True)
    assert set(found["numpy"]) == {case.name for case in bench.CASES}
    assert all(v is None or isinstance(v, float) for v in found["numpy"].values()), found


@pytest.mark.parametrize("index", range(9))
def test_each_case_gradient_matches_central_differences(bench, index):
    case = bench.CASES[index]
    args = bench.arguments(case, quick=True)
    s2sad.check_grad(case.func, *args, wrt=case.wrt)  # raises, showing the code, when it differs


def test_a_peer_failing_on_a_case_prints_error_not_a_traceback(bench, monkeypatch):
    def broken(func, wrt):
        raise RuntimeError("no such thing")

    monkeypatch.setitem(bench.LIBRARIES, "autograd", broken)
    errors = []
    row = bench.run_case(bench.CASES[0], ["s2sad", "autograd"], True, 0.0001, 1, errors)
    assert row["autograd"] == {"time": "error", "first": "error"}
    assert errors == [f"autograd on {bench.CASES[0].name}: RuntimeError: no such thing"]
    assert isinstance(row["s2sad"]["time"], float)


def test_a_peer_with_another_gradient_prints_differs(bench, monkeypatch):
    def off_by_one(func, wrt):
        return (lambda *args: 1.0 + s2sad.grad(func)(*args)), (lambda args: args), (lambda g: [np.asarray(g)])

    monkeypatch.setitem(bench.LIBRARIES, "autograd", off_by_one)
    errors = []
    row = bench.run_case(bench.CASES[0], ["s2sad", "autograd"], True, 0.0001, 1, errors)
    assert row["autograd"]["time"] == "differs"
