"""bench/bench_scaling.py keeps working: its programs are valid, their gradients right.

The bench itself (minutes, big functions) is not part of the suite; this runs
its smallest cases in process, and the subprocess harness once.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_scaling.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_scaling", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("kind, size", [("straight", 12), ("helpers", 2)])
def test_smallest_cases_transform_and_check(bench, kind, size):
    row = bench.run_case(kind, size)
    assert row["ok"], row  # the bench checks each gradient against central differences
    assert row["lines"] > 5


def test_straight_program_has_the_statements_asked_for(bench):
    body = [line for line in bench.straight_source(100).splitlines() if line.startswith("    ")]
    assert len(body) == 100


def test_a_case_over_its_limits_is_skipped_not_run(bench):
    row = bench.measure("straight", 10, timeout=0.01, memory_mb=2000)
    assert row == {"skipped": "> 0.01 s"}
