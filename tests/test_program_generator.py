"""Random differentiable programs (tests/program_generator.py): gradients and jvps against
central differences, arguments unchanged.

The fast profile (a few seconds) runs in the default suite with fixed examples. The long profile,
``S2SAD_LONG=1 python -m pytest tests/test_program_generator.py -p no:cacheprovider -s``, checks
11 000 programs with a random seed and prints how many were checked and how many points were
rejected as unreliable for finite differences (``-k`` splits it over processes).
"""

from __future__ import annotations

import collections
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import s2sad
from program_generator import arguments, check_program, programs

LONG = os.environ.get("S2SAD_LONG") == "1"
SCALE = float(os.environ.get("S2SAD_LONG_SCALE", "1"))  # a shorter (or longer) long profile, for debugging
COUNTS = collections.Counter()


def _profile(fast, long):
    return settings(
        max_examples=int(long * SCALE) if LONG else fast,
        deadline=None,
        derandomize=not LONG,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )


@pytest.fixture(scope="module")
def program_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("generated_programs")


PLANNED = {}  # test name -> programs it checks in this profile


def _profiled(name, fast, long):
    PLANNED[name] = int(long * SCALE) if LONG else fast
    return _profile(fast, long)


def _run(name, program_dir, program, args, data):
    COUNTS["drawn"] += 1
    # the long profile checks value_and_grad on one program in five (a third pipeline run each)
    with_value_and_grad = not LONG or data.draw(st.integers(0, 4)) == 0
    check_program(program_dir, program, args, rng_seed=data.draw(st.integers(0, 2**32 - 1)),
                  value_and_grad=with_value_and_grad)
    COUNTS[name] += 1


@_profiled("straight-line", fast=10, long=2_000)
@given(program=programs(control_flow=False), data=st.data())
def test_straight_line_programs_with_writes_and_helpers(program_dir, program, data):
    _run("straight-line", program_dir, program, data.draw(arguments(program[2])), data)


@_profiled("control flow", fast=15, long=8_000)
@given(program=programs(control_flow=True), data=st.data())
def test_programs_with_branches_loops_writes_and_helpers(program_dir, program, data):
    _run("control flow", program_dir, program, data.draw(arguments(program[2])), data)


@_profiled("containers", fast=8, long=1_000)
@given(program=programs(control_flow=True, containers=True), data=st.data())
def test_programs_with_container_parameters(program_dir, program, data):
    _run("containers", program_dir, program, data.draw(arguments(program[2])), data)


CONSTRUCTS = {"out=": "out=", "copyto": "np.copyto(", "add.at": "np.add.at(", "decorated helper": "decorated(",
              "helper": "mix(", "loop": "for ", "branch": "if ", "item update": "] = ", "+=": " += ",
              "fill": ".fill(", "sort": ".sort()", "put": "np.put(", "subtract.at": "np.subtract.at("}


def _runs(program) -> bool:
    """The program parses, runs and returns a scalar."""
    import ast

    source = program[0]
    ast.parse(source)
    namespace = {}
    exec(compile(source, "<generated program>", "exec"), namespace)
    with np.errstate(all="ignore"):
        out = namespace["f"](0.3, -0.5, np.array([0.1, -0.2, 0.7]), {"w": np.ones(3), "ab": (0.5, -1.0)})
    return np.shape(out) == ()


@pytest.mark.parametrize("construct", sorted(CONSTRUCTS))
def test_generator_covers_every_construct(construct):
    """The generator itself: every construct the issue names shows up in a program that runs.

    Each construct is searched for on its own (``hypothesis.find``, no shrinking), so the test does
    not depend on which examples one Hypothesis version happens to draw first.
    """
    from hypothesis import Phase, find
    from hypothesis.errors import NoSuchExample

    text = CONSTRUCTS[construct]
    try:
        program = find(programs(control_flow=True, containers=True),
                       lambda program: text in program[0].split("def f(")[1],
                       settings=settings(max_examples=2000, deadline=None, derandomize=True,
                                         phases=[Phase.generate], database=None,
                                         suppress_health_check=list(HealthCheck)))
    except NoSuchExample:
        pytest.fail(f"the generator never wrote {construct} ({text!r}) in 2000 programs")
    assert _runs(program), program[0]


def test_long_profile_summary():
    """(Run with -s.) Each profile that ran checked all its programs; how many draws were rejected."""
    ran = {name: COUNTS[name] for name in PLANNED if COUNTS[name]}
    total = sum(ran.values())
    if LONG:
        print(f"\nprogram generator, long profile: {total} programs checked against central differences "
              f"({', '.join(f'{n}: {c}' for n, c in ran.items())}); {COUNTS['drawn'] - total} draws rejected "
              "as unreliable for finite differences")
    for name, count in ran.items():
        assert count >= PLANNED[name], f"{name}: {count} of {PLANNED[name]} programs checked"
