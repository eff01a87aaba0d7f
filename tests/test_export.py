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
                 "def vjp_loop_branch(x, w, out_bar):", "def unbroadcast(", "def scalar_seed("):
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


def test_check_reports_a_stale_file(tmp_path, monkeypatch):
    src = tmp_path / "stalemodel.py"
    src.write_text("import numpy as np\n\n\ndef helper(x):\n    return x * x\n\n\n"
                   "def loss(x):\n    return np.sum(helper(x))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "stalemodel", raising=False)
    mod = importlib.import_module("stalemodel")
    out = tmp_path / "sub" / "grad_stale.py"
    export(mod.loss, str(out))
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
