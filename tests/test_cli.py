"""The command line: python -m s2sad export | show | check | explain.

Most tests call ``s2sad.__main__.main(argv)`` in process (fast); two run the
real ``python -m s2sad`` in a subprocess.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import s2sad
from s2sad.__main__ import main

MODEL = textwrap.dedent('''\
    import numpy as np

    BIAS = 0.5


    def helper(a):
        return a * a


    def loss(x, w):
        s = 0.0
        for i in range(3):
            s = s + helper(x[i] * w[i]) + BIAS
        return s


    def f(x1, x2):
        return np.log(x1) + x1 * x2 - np.sin(x2)
    ''')


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "climodel.py").write_text(MODEL)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "climodel", raising=False)
    yield tmp_path
    sys.modules.pop("climodel", None)


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *fragments):
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("s2sad: error: ") and "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def _load(path):
    namespace = {}
    exec(compile(open(path).read(), str(path), "exec"), namespace)
    return namespace


def test_export_by_module_and_by_path(project, capsys):
    code, out, err = run(["export", "climodel:loss", "--wrt", "x,w", "--mode", "grad", "--mode", "value_and_grad",
                          "-o", "out/grad_loss.py", "--parents"], capsys)
    assert code == 0, err
    assert out == "wrote out/grad_loss.py\n"
    text = (project / "out" / "grad_loss.py").read_text()
    assert "# regenerate: python -m s2sad export climodel:loss --wrt x,w --mode grad --mode value_and_grad " \
           "-o out/grad_loss.py\n" in text
    ns = _load(project / "out" / "grad_loss.py")
    x, w = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 2.0])
    import climodel

    expected = s2sad.grad(climodel.loss, wrt=("x", "w"))(x, w)
    for got, want in zip(ns["grad_loss"](x, w), expected):
        np.testing.assert_allclose(got, want)
    assert ns["value_and_grad_loss"](x, w)[0] == pytest.approx(climodel.loss(x, w))

    code, _, err = run(["export", str(project / "climodel.py") + ":loss", "--wrt", "0", "-o", "g0.py", "-q"], capsys)
    assert code == 0, err
    ns = _load(project / "g0.py")
    np.testing.assert_allclose(ns["grad_loss"](x, w), expected[0])
    # --wrt x, asks for a one-element tuple, as wrt=("x",) does
    code, _, err = run(["export", "climodel:loss", "--wrt", "x,", "-o", "g1.py", "-q"], capsys)
    assert code == 0, err
    got = _load(project / "g1.py")["grad_loss"](x, w)
    assert isinstance(got, tuple) and len(got) == 1


def test_check_fails_when_stale_and_passes_after_regenerating(project, capsys):
    argv = ["export", "climodel.py:loss", "--wrt", "x,w", "-o", "grad_loss.py", "-q"]
    assert run(argv, capsys)[0] == 0
    code, out, _ = run(["check", "grad_loss.py"], capsys)
    assert code == 0 and out == "grad_loss.py: up to date\n"
    src = project / "climodel.py"
    src.write_text(src.read_text().replace("+ BIAS", "+ 2.0 * BIAS"))
    code, out, err = run(["check", "grad_loss.py"], capsys)
    assert code == 1
    assert "grad_loss.py: stale: climodel.py: loss changed since the export" in err
    assert "regenerate with: python -m s2sad export climodel.py:loss --wrt x,w --mode grad -o grad_loss.py" in err
    assert run(argv, capsys)[0] == 0  # regenerate (the edited file is loaded afresh)
    assert run(["check", "grad_loss.py"], capsys)[0] == 0
    # the regenerated gradient is the new one
    x, w = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(_load(project / "grad_loss.py")["grad_loss"](x, w)[0], 2 * x * w * w)


def test_show(project, capsys):
    code, out, _ = run(["show", "climodel:f", "--stage", "ssa"], capsys)
    assert code == 0 and out.startswith("def f(x1, x2):")
    code, out, _ = run(["show", "climodel:f", "--wrt", "x1,x2"], capsys)
    assert code == 0 and out.startswith("def grad_f(x1, x2):") and "# reverse sweep" in out
    code, out, _ = run(["show", "climodel:f", "--stage", "vjp"], capsys)
    assert code == 0 and out.startswith("def vjp_f(x1, x2, out_bar):")
    code, out, err = run(["show", "climodel:f", "--stage", "jvp"], capsys)
    if hasattr(s2sad, "jvp"):
        assert code == 0 and "def " in out
    else:
        assert_one_line_error(code, err, "forward mode")


def test_explain(project, capsys):
    code, out, err = run(["explain", "climodel:f", "--args", "2,5", "--wrt", "x1,x2"], capsys)
    try:
        import s2sad.explain  # noqa: F401
    except ImportError:
        assert_one_line_error(code, err, "explain is not available")
        return
    assert code == 0, err
    assert "Forward" in out and "Reverse" in out


@pytest.mark.parametrize("argv, fragments", [
    (["export", "nosuchmodule:loss", "-o", "x.py"], ["no module named 'nosuchmodule'"]),
    (["export", "climodel:nosuch", "-o", "x.py"], ["climodel has no attribute 'nosuch'"]),
    (["export", "climodel", "-o", "x.py"], ["expected MODULE:FUNCTION"]),
    (["export", "missing.py:loss", "-o", "x.py"], ["no such file: missing.py"]),
    (["export", "climodel:loss", "--wrt", "q", "-o", "x.py"], ["no parameter named 'q'", "climodel.py:"]),
    (["export", "climodel:loss", "--mode", "gradient", "-o", "x.py"], ["invalid choice: 'gradient'"]),
    (["export", "climodel:loss"], ["required: -o/--output"]),
    (["export", "climodel:BIAS", "-o", "x.py"], ["is float, not a function"]),
    (["check", "missing_out.py"], ["cannot read missing_out.py"]),
    (["check", "climodel.py"], ["not a module exported by s2sad"]),
    (["explain", "climodel:f", "--args", "2,,"], ["--args"]),
    (["frobnicate"], ["invalid choice: 'frobnicate'"]),
])
def test_errors_are_one_line(project, capsys, argv, fragments):
    code, _, err = run(argv, capsys)
    assert_one_line_error(code, err, *fragments)


def test_error_in_the_users_module_is_one_line(project, capsys):
    (project / "broken.py").write_text("def loss(x):\n    return x +\n")
    code, _, err = run(["export", "broken.py:loss", "-o", "x.py"], capsys)
    assert_one_line_error(code, err, "importing broken.py failed: SyntaxError")
    (project / "unsupported.py").write_text("def loss(x):\n    try:\n        return x\n    finally:\n        pass\n")
    code, _, err = run(["export", "unsupported.py:loss", "-o", "x.py"], capsys)
    assert_one_line_error(code, err, "unsupported.py:")


@pytest.mark.parametrize("command", ["export", "show", "check", "explain"])
def test_help_on_every_command(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: s2sad {command}")


def test_python_dash_m_s2sad_in_a_subprocess(project):
    proc = subprocess.run([sys.executable, "-m", "s2sad", "export", "climodel:loss", "--wrt", "x,w", "-o",
                           "g.py"], cwd=project, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([sys.executable, "-m", "s2sad", "check", "g.py", "nosuch.py"], cwd=project,
                          capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stdout == "g.py: up to date\n"
    assert proc.stderr.startswith("s2sad: error: cannot read nosuch.py") and "Traceback" not in proc.stderr


def test_console_script_entry_point():
    from pathlib import Path

    text = (Path(__file__).parent.parent / "pyproject.toml").read_text()
    assert 's2sad = "s2sad.__main__:main"' in text
    assert callable(main)


def test_mode_takes_a_list_as_the_readme_shows(project, capsys):
    code, _, err = run(["export", "climodel:f", "--mode", "grad", "value_and_grad", "jvp", "hvp", "--mode", "vjp",
                        "-o", "g.py"], capsys)
    assert code == 0, err
    text = (project / "g.py").read_text()
    for name in ("grad_f", "value_and_grad_f", "jvp_f", "hvp_f", "vjp_f"):
        assert f"def {name}(" in text
    assert "--mode grad --mode value_and_grad --mode jvp --mode hvp --mode vjp -o g.py" in text


def test_force_and_parents(project, capsys):
    (project / "notes.py").write_text("KEEP = 1\n")
    code, _, err = run(["export", "climodel:f", "-o", "notes.py"], capsys)
    assert_one_line_error(code, err, "refusing to overwrite notes.py: s2sad did not generate it", "--force")
    assert (project / "notes.py").read_text() == "KEEP = 1\n"
    assert run(["export", "climodel:f", "-o", "notes.py", "--force"], capsys)[0] == 0
    code, _, err = run(["export", "climodel:f", "-o", "new/dir/g.py"], capsys)
    assert_one_line_error(code, err, "does not exist", "--parents")
    assert run(["export", "climodel:f", "-o", "new/dir/g.py", "--parents"], capsys)[0] == 0


def test_check_says_modified_for_a_hand_edited_export(project, capsys):
    assert run(["export", "climodel:f", "-o", "g.py", "-q"], capsys)[0] == 0
    (project / "g.py").write_text((project / "g.py").read_text() + "import os\n")
    code, _, err = run(["check", "g.py"], capsys)
    assert code == 1
    assert err == "g.py: modified: the generated code was edited by hand since the export; regenerate with: " \
                  "python -m s2sad export climodel:f --mode grad -o g.py --force\n"


HOSTILE_MODULES = {
    "raises.py": "raise RuntimeError('first line\\nsecond line')\n",
    "exits.py": "raise SystemExit(3)\n",
    "syntax.py": "def f(x):\n    return x +\n",
}


@pytest.mark.parametrize("argv, fragments", [
    (["show", "/etc/passwd:f"], ["/etc/passwd is not a .py file"]),
    (["show", "raises.py:f"], ["importing raises.py failed: RuntimeError: first line second line"]),
    (["show", "raises:f"], ["importing raises failed: RuntimeError"]),
    (["show", "exits:f"], ["importing exits failed: SystemExit: 3"]),
    (["export", "syntax:f", "-o", "x.py"], ["importing syntax failed: SyntaxError"]),
    (["show", "climodel:"], ["expected MODULE:FUNCTION"]),
    (["show", ":f"], ["expected MODULE:FUNCTION"]),
    (["show", "climodel:f()"], ["'f()' is not a function name"]),
    (["show", "climodel:np"], ["climodel:np is module, not a function"]),
    (["show", "climodel:BIAS"], ["climodel:BIAS is float, not a function"]),
    (["show", "builtins:len"], ["len is a builtin"]),
    (["export", "numpy:sin", "-o", "x.py"], ["export needs a function defined in a .py file"]),
    (["export", "builtins:len", "-o", "x.py"], ["export needs a Python function"]),
    (["show", "no/such/dir:f"], ["no/such/dir is not a .py file"]),
    (["export", "climodel:f", "-o", "climodel.py"], ["refusing to write over climodel.py: it is the source of f"]),
    (["export", "climodel:f", "-o", "climodel.py", "--force"], ["it is the source of f"]),
    (["export", "climodel:f", "-o", "."], ["cannot write .: it is a directory"]),
    (["export", "climodel:f", "-o", "climodel.py/g.py"], ["cannot write climodel.py/g.py"]),
    (["export", "climodel:f", "-o", "pipe.py"], ["cannot write pipe.py: it is a FIFO"]),
    (["check", "pipe.py"], ["cannot check: pipe.py is not a regular file (a FIFO)"]),
    (["check", "/dev/zero"], ["cannot check: /dev/zero is not a regular file (a character device)"]),
    (["check", "."], ["cannot check: . is not a regular file (a directory)"]),
])
def test_hostile_input_is_one_line(project, capsys, argv, fragments):
    import os

    for name, text in HOSTILE_MODULES.items():
        (project / name).write_text(text)
        sys.modules.pop(name[:-3], None)
    os.mkfifo(project / "pipe.py")
    code, _, err = run(argv, capsys)
    assert_one_line_error(code, err, *fragments)
    assert (project / "climodel.py").read_text() == MODEL


def test_an_unwritable_directory_is_one_line(project, capsys, monkeypatch):
    import importlib

    ex = importlib.import_module("s2sad.export")  # the module (s2sad.export is also the function)

    def denied(path, data, mode=None):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(ex, "write_atomically", denied)  # as root, chmod cannot make a directory unwritable
    code, _, err = run(["export", "climodel:f", "-o", "g.py"], capsys)
    assert_one_line_error(code, err, "cannot write g.py: Permission denied")
