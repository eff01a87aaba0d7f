"""Documentation that is generated must match what generates it."""

import pathlib

from s2sad.rules.coverage import coverage_markdown

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_numpy_coverage_doc_is_current():
    path = ROOT / "docs" / "numpy-coverage.md"
    assert path.read_text() == coverage_markdown(), (
        "docs/numpy-coverage.md is stale: run `python -m s2sad.rules.coverage > docs/numpy-coverage.md`"
    )


def test_readme_example_prints_what_the_readme_shows(tmp_path, monkeypatch):
    # the README's first example, run from a file, prints exactly the block shown under it
    text = (ROOT / "README.md").read_text()
    blocks = text.split("```")
    example = blocks[1].removeprefix("python\n")
    shown = blocks[3].removeprefix("python\n")
    script = tmp_path / "readme_example.py"
    script.write_text(example)
    import subprocess
    import sys

    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True).stdout
    assert out == shown
