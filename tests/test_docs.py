"""Documentation that is generated must match what generates it, and the docs' examples print
what the docs say they print."""

import contextlib
import io
import os
import pathlib
import re
import runpy
import subprocess
import sys

import pytest

import s2sad
from gradcheck import module_from_source
from s2sad.rules.coverage import coverage_markdown

ROOT = pathlib.Path(__file__).resolve().parent.parent


def run_python(source, tmp_path, name="example"):
    """Stdout of `source` run as a script file (s2sad reads functions from their files)."""
    script = tmp_path / f"{name}.py"
    script.write_text(source)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        runpy.run_path(str(script), run_name="__main__")
    return out.getvalue()


def test_numpy_coverage_doc_is_current():
    path = ROOT / "docs" / "numpy-coverage.md"
    assert path.read_text() == coverage_markdown(), (
        "docs/numpy-coverage.md is stale: run `python -m s2sad.rules.coverage > docs/numpy-coverage.md`"
    )


def test_readme_example_prints_what_the_readme_shows(tmp_path):
    # the README's first example, run from a file, prints exactly the block shown under it
    text = (ROOT / "README.md").read_text()
    blocks = text.split("```")
    example = blocks[1].removeprefix("python\n")
    shown = blocks[3].removeprefix("python\n")
    assert run_python(example, tmp_path, "readme_example") == shown


def test_explain_doc_snippet_prints_what_the_doc_shows(tmp_path):
    # line numbers included: they are the snippet's own lines when it is run as a file
    text = (ROOT / "docs" / "explain.md").read_text()
    example = text.split("```python\n", 1)[1].split("```", 1)[0]
    shown = text.split("```text\n", 1)[1].split("```", 1)[0]
    assert run_python(example, tmp_path, "explain_example") == shown


def test_numpy_floor_is_the_one_the_oldest_numpy_job_installs():
    # README's printed output (np.float64(...)) and the rule tables (np.unstack) need NumPy >= 2.1
    floor = re.search(r'"numpy>=([\d.]+)"', (ROOT / "pyproject.toml").read_text()).group(1)
    assert floor == "2.1"
    assert f'"numpy=={floor}.*"' in (ROOT / ".ci" / "run-oldest-numpy").read_text()
    assert f"NumPy ≥ {floor}" in (ROOT / "README.md").read_text()


def _copied_helpers(exported: str) -> set:
    """Names the exported module defines before its first generated function: the copied helpers."""
    head = exported.split("\n# ------------------------------ grad of", 1)[0]
    names = set(re.findall(r"^def (\w+)\(", head, re.MULTILINE))
    names |= set(re.findall(r"^([A-Za-z_]\w*) = ", head, re.MULTILINE))
    return names - {"__all__"}


def test_readme_lists_the_helpers_export_copies(tmp_path, monkeypatch):
    text = (ROOT / "README.md").read_text()
    listed = re.search(r"without the helpers it copies in \((.*?)\):", text, re.DOTALL).group(1)
    assert "`def loss(w, x): return np.sum(np.tanh(x * w) ** 2)`" in text
    module_from_source(tmp_path, "readme_model", "import numpy as np\n\n\ndef loss(w, x):\n"
                       "    return np.sum(np.tanh(x * w) ** 2)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    s2sad.export(sys.modules["readme_model"].loss, str(tmp_path / "grad_loss.py"), modes=("grad",))
    copied = _copied_helpers((tmp_path / "grad_loss.py").read_text())
    assert set(re.findall(r"`(\w+)`", listed)) == copied


def test_export_doc_lists_the_helpers_export_copies(tmp_path, monkeypatch):
    text = (ROOT / "docs" / "export.md").read_text()
    model = text.split("`model.py`:\n\n```python\n", 1)[1].split("```", 1)[0]
    listed = re.search(r"# \.\.\. helpers copied from s2sad: (.*?) \.\.\.", text).group(1)
    module_from_source(tmp_path, "export_doc_model", model)
    monkeypatch.syspath_prepend(str(tmp_path))
    s2sad.export(sys.modules["export_doc_model"].loss, str(tmp_path / "grad_loss.py"), modes=("grad",))
    copied = _copied_helpers((tmp_path / "grad_loss.py").read_text())
    assert set(listed.split(", ")) == copied


def test_export_demo_removes_its_temporary_folder(tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = dict(os.environ, TMPDIR=str(scratch), PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "export_demo.py")], capture_output=True,
                         text=True, env=env, check=True).stdout
    assert "step 300" in out
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("path", ["docs/design.md", "README.md", "docs/explain.md", "docs/export.md"])
def test_docs_stand_on_their_own(path):
    # no references to design files of some other place
    assert not re.search(r"shared/|DESIGN\.md", (ROOT / path).read_text())


def test_bench_docstring_names_only_the_peers_it_measures():
    source = (ROOT / "bench" / "bench_ratios.py").read_text()
    docstring = source.split('"""', 2)[1]
    for peer in ("autograd", "JAX", "jax", "PyTorch", "torch"):
        if peer in docstring:
            assert f"import {peer.lower()}" in source, peer
