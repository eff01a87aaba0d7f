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
                          "-o", "out/grad_loss.py"], capsys)
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
