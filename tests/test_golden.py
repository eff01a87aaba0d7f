"""Golden files: the generated source of a few small functions, pinned.

A change to what s2sad prints shows up here as a diff to review. After an
intended change, regenerate with ``S2SAD_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py``
and commit the new files with the change.
"""

import os
import pathlib

import pytest

import golden_functions as g
import s2sad

GOLDEN = pathlib.Path(__file__).parent / "golden"

CASES = [
    ("grad_lecture_f", lambda: s2sad.grad(g.lecture_f, wrt=(0, 1))),
    ("grad_logistic", lambda: s2sad.grad(g.logistic, wrt=("w", "b"))),
    ("grad_loop_and_branch", lambda: s2sad.grad(g.loop_and_branch, wrt=("x", "w"))),
    ("grad_fill", lambda: s2sad.grad(g.fill)),
    ("grad_newton_sqrt", lambda: s2sad.grad(g.newton_sqrt)),
    ("jvp_lecture_f", lambda: s2sad.jvp(g.lecture_f, wrt=(0, 1))),
    ("hvp_lecture_f", lambda: s2sad.hvp(g.lecture_f, wrt=0)),
]


@pytest.mark.parametrize("name, make", CASES, ids=[c[0] for c in CASES])
def test_generated_source_matches_golden_file(name, make):
    path = GOLDEN / f"{name}.py"
    source = make().source
    if os.environ.get("S2SAD_UPDATE_GOLDEN"):
        path.write_text(source)
    assert path.exists(), f"no golden file {path}: run with S2SAD_UPDATE_GOLDEN=1 to create it"
    assert source == path.read_text(), f"generated source of {name} changed; review, then regenerate"
