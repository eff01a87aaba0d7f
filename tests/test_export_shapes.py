"""``export(f, path, like=example_args)`` writes the code specialized for the example's signature.

The exported ``grad_f`` is what ``s2sad.show(f, example_args=...)`` prints, opened by a guard; the
generic code is exported too, as ``grad_f_generic``, and the guard sends every call whose arguments
have another signature (kind, dtype, rank, axes of length 1, equal sizes) there. The bench's cases
(bench/bench_ratios.py, their source copied into a user module) and a few that make the guard
matter are exported, then ONE subprocess that cannot import s2sad calls each exported gradient
with arguments of the example's signature (other sizes) and of other signatures, recording which
function ran; here each result is checked against central differences and the in-memory gradient.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import math
import pickle
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import s2sad
from s2sad.export import check, export, export_source
from s2sad.export_shapes import argument_checks
from s2sad.shapes import signature

sys.path.insert(0, str(Path(__file__).parent))
from gradcheck import numeric_grad  # noqa: E402

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_ratios.py"
BENCH_CASES = ("normal_pdf", "logistic_one", "scalar_loop", "rosenbrock_loop", "rnn", "rosenbrock",
               "logistic_regression", "mlp", "chain")

EXTRA_SOURCE = '''

def bias(x, b):
    return np.sum(np.tanh(x + b) * x)


def powered(x, k=2):
    return np.sum(x ** k)
'''

R = "np.random.default_rng({}).uniform(-1, 1, size={})"  # literal arguments, evaluated in both processes


def _r(seed, size):
    return R.format(seed, size)


# name, wrt, modes, the example (a literal tuple), calls: [(literal arguments, "specialized" or "generic")]
CASES = [
    ("normal_pdf", 0, ("grad", "value_and_grad"), "(0.3, 0.1, 1.2)",
     [("(0.7, -0.2, 0.9)", "specialized"), ("(1, 0.1, 1.2)", "generic"),
      ("(np.float64(0.3), 0.1, 1.2)", "generic"), ("(0.3, 0.1, np.float64(1.5))", "generic")]),
    ("logistic_one", 0, ("grad",), "(0.5, 2.0, 1.0)",
     [("(-0.5, 1.0, 0.0)", "specialized"), ("(0.5, 2, 1)", "generic")]),
    ("scalar_loop", 0, ("grad",), "(0.5, 10)", [("(0.3, 7)", "specialized"), ("(0.3, np.int64(7))", "generic")]),
    ("rosenbrock_loop", 0, ("grad",), f"({_r(0, 6)},)",
     [(f"({_r(1, 9)},)", "specialized"), (f"({_r(2, (2, 3))}[0],)", "specialized")]),
    ("rnn", 1, ("grad", "value_and_grad"), f"({_r(0, 4)}, {_r(1, (4, 4))} / 2, {_r(2, (3, 4))})",
     [(f"({_r(3, 5)}, {_r(4, (5, 5))} / 2, {_r(5, (2, 5))})", "specialized"),
      (f"({_r(3, 4)}, {_r(4, (4, 4))} / 2, {_r(5, (1, 4))})", "generic"),  # one step: an axis of length 1
      (f"({_r(3, 4)}, {_r(4, (4, 4))} / 2, {_r(5, 4)})", "generic")]),  # xs of another rank
    ("rosenbrock", 0, ("grad",), f"({_r(0, 10)},)",
     [(f"({_r(1, 2)},)", "specialized"), (f"(list({_r(1, 3)}),)", "generic"),
      (f"({_r(2, (2, 3))},)", "generic")]),
    ("logistic_regression", 0, ("grad", "value_and_grad"), f"({_r(0, 5)} / 10, {_r(1, (20, 5))}, "
     f"({_r(2, 20)} > 0) * 1.0)",
     [(f"({_r(3, 3)}, {_r(4, (7, 3))}, ({_r(5, 7)} > 0) * 1.0)", "specialized"),
      (f"({_r(3, 3)}, {_r(4, (7, 3))}, ({_r(5, 7)} > 0).astype(np.int64))", "generic"),  # y of another dtype
      # n = d: sizes the example had different may be equal (the code never assumes they differ)
      (f"({_r(3, 3)}, {_r(4, (3, 3))}, ({_r(5, 3)} > 0) * 1.0)", "specialized")]),
    ("mlp", (0, 1, 2, 3), ("grad", "value_and_grad"),
     f"({_r(0, (8, 6))} / 3, np.zeros(6), {_r(1, (6, 3))} / 3, np.zeros(3), {_r(2, (4, 8))}, np.eye(3)[[0, 2, 1, 1]])",
     [(f"({_r(3, (5, 4))}, {_r(4, 4)}, {_r(5, (4, 2))}, {_r(6, 2)}, {_r(7, (3, 5))}, np.eye(2)[[0, 1, 1]])",
       "specialized"),
      (f"({_r(3, (5, 4))}, {_r(4, 4)}, {_r(5, (4, 2))}, {_r(6, 2)}, {_r(7, (1, 5))}, np.eye(2)[[1]])",
       "generic")]),  # a batch of one
    ("chain", 0, ("grad",), f"({_r(0, 100)},)", [(f"({_r(1, 7)},)", "specialized"), ("(0.4,)", "generic"),
                                                  (f"({_r(2, (3, 4))},)", "generic")]),
    # shapes prove unbroadcast(g, b) needless only while b has x's shape: b broadcast must take the
    # generic code, else b's gradient would have x's shape and not be summed
    ("bias", (0, 1), ("grad",), f"({_r(0, (4, 3))}, {_r(1, (4, 3))})",
     [(f"({_r(2, (5, 2))}, {_r(3, (5, 2))})", "specialized"), (f"({_r(2, (4, 3))}, {_r(3, 3)})", "generic"),
      (f"({_r(2, (4, 3))}, {_r(3, (1, 3))})", "generic"), (f"({_r(2, (4, 3))}, {_r(3, (4, 1))})", "generic"),
      (f"({_r(2, (4, 3))}, 0.5)", "generic")]),
    # k is left to its default in the example: the code is made for an int k, and checks it
    ("powered", 0, ("grad",), f"({_r(0, 5)},)",
     [(f"({_r(1, 5)},)", "specialized"), (f"({_r(1, 5)}, 3)", "specialized"),
      (f"(1.5 + {_r(1, 5)},)", "specialized"), (f"(1.5 + {_r(1, 5)}, 2.5)", "generic")]),
]

SUBPROCESS = '''\
import sys
sys.modules["s2sad"] = None  # any import of s2sad now fails
import importlib, pickle
import math

import numpy as np
out = {}
for name, wrt, modes, example, calls in CASES:
    mod = importlib.import_module("shaped_" + name)
    for mode in modes:
        ran = []
        generic = getattr(mod, mode + "_" + name + "_generic")
        def counting(*args, _generic=generic):
            ran.append("generic")
            return _generic(*args)
        setattr(mod, mode + "_" + name + "_generic", counting)
        for i, (args, _) in enumerate(calls):
            ran.clear()
            try:
                result = ("ok", getattr(mod, mode + "_" + name)(*eval(args)))
            except Exception as exc:
                result = ("error", f"{type(exc).__name__}: {exc}")
            out[(name, mode, i)] = result + (ran[0] if ran else "specialized",)
out["modules"] = sorted(m for m in sys.modules if m.split(".")[0] == "s2sad" and sys.modules[m] is not None)
with open("results.pkl", "wb") as fh:
    pickle.dump(out, fh)
'''


@pytest.fixture(scope="module")
def shaped(tmp_path_factory):
    """Export every case with its example, run the calls in one s2sad-free subprocess."""
    spec = importlib.util.spec_from_file_location("bench_ratios_for_export", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    source = "import numpy as np\n\n" + "".join(
        "\n\n" + textwrap.dedent(inspect.getsource(getattr(bench, name))) for name in BENCH_CASES) + EXTRA_SOURCE
    root = tmp_path_factory.mktemp("export_shapes")
    (root / "shapemodel.py").write_text(source)
    sys.path.insert(0, str(root))
    try:
        sys.modules.pop("shapemodel", None)
        model = importlib.import_module("shapemodel")
        paths = {}
        for name, wrt, modes, example, _ in CASES:
            paths[name] = root / f"shaped_{name}.py"
            export(getattr(model, name), str(paths[name]), wrt=wrt, modes=modes, like=eval(example))
        proc = subprocess.run([sys.executable, "-c", f"CASES = {CASES!r}\n" + SUBPROCESS], cwd=root,
                              capture_output=True, text=True, timeout=120,
                              env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root), "HOME": str(root)})
        assert proc.returncode == 0, proc.stderr
        with open(root / "results.pkl", "rb") as fh:
            results = pickle.load(fh)
        yield model, paths, results
    finally:
        sys.path.remove(str(root))


def _close(a, b, **kw):
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for x, y in zip(a, b):
            _close(x, y, **kw)
    else:
        assert np.shape(a) == np.shape(b)
        np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), **kw)


def _fd(f, args, wrt):
    """Central differences; a list argument is differentiated as the array it stands for."""
    args = [np.asarray(a, dtype=np.float64) if isinstance(a, list) else a for a in args]
    return numeric_grad(f, args, wrt)


CALLS = [(case, mode, i) for case in CASES for mode in case[2] for i in range(len(case[4]))]


@pytest.mark.parametrize("case, mode, i", CALLS, ids=[f"{c[0]}-{m}-{i}" for c, m, i in CALLS])
def test_exported_gradient_is_right_on_both_sides_of_the_guard(shaped, case, mode, i):
    model, _, results = shaped
    name, wrt, _, _, calls = case
    args_text, expected_path = calls[i]
    status, got, ran = results[(name, mode, i)]
    assert status == "ok", got
    assert ran == expected_path
    f = getattr(model, name)
    args = eval(args_text)
    grads = got[1] if mode == "value_and_grad" else got
    _close(grads, _fd(f, args, wrt), rtol=1e-5, atol=1e-7)
    in_memory = getattr(s2sad, mode)(f, wrt=wrt)(*eval(args_text))
    _close(got, in_memory, rtol=1e-10, atol=1e-12)


def test_the_subprocess_could_not_import_s2sad(shaped):
    assert shaped[2]["modules"] == []


def _function_text(text: str, name: str) -> str:
    node = next(n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef) and n.name == name)
    return "\n".join(text.splitlines()[node.lineno - 1:node.end_lineno])


def test_the_file_holds_the_specialized_forms(shaped):
    model, paths, _ = shaped
    mlp = paths["mlp"].read_text()
    specialized, generic = _function_text(mlp, "grad_mlp"), _function_text(mlp, "grad_mlp_generic")
    assert "W1_bar = X.T @ t7" in specialized and "h_bar = z_bar @ W2.T" in specialized
    assert "matmul_bar" not in specialized and "matmul_bar_b(" in generic
    assert "return grad_mlp_generic(W1, b1, W2, b2, X, Y)" in specialized
    assert "W1: float64[n0, n1], b1: float64[n1]" in specialized  # the signature, in the comment
    # the body below the guard is the code `show` prints for the example
    shown = s2sad.source(model.mlp, "grad", (0, 1, 2, 3), example_args=eval(CASES[7][3]))
    assert "\n".join(shown.splitlines()[1:]) in specialized
    bias = _function_text(paths["bias"].read_text(), "grad_bias")
    assert "unbroadcast" not in bias and "scalar_seed" not in bias
    assert "unbroadcast(" in _function_text(paths["bias"].read_text(), "grad_bias_generic")
    pdf = _function_text(paths["normal_pdf"].read_text(), "grad_normal_pdf")
    assert "if not (type(x) is float and type(mu) is float and type(sigma) is float):" in pdf  # cheap
    powered = _function_text(paths["powered"].read_text(), "grad_powered")
    assert "type(k) is int" in powered


def test_check_staleness_and_determinism_still_hold(shaped, tmp_path):
    model, paths, _ = shaped
    for name, wrt, modes, example, _ in CASES[-3:]:
        assert check(paths[name]) == []
        again = export_source(getattr(model, name), wrt=wrt, modes=modes, path=str(paths[name]), like=eval(example))
        assert again == paths[name].read_text()
    # a changed source makes it stale
    source = Path(model.__file__).read_text().replace("x ** k", "x ** k + 0.0")
    edited = tmp_path / "shapemodel.py"
    edited.write_text(source)
    copy = tmp_path / paths["powered"].name
    copy.write_text(paths["powered"].read_text())
    problems = check(copy)
    assert problems and "powered changed since the export" in problems[0]


def test_without_an_example_or_without_a_gain_the_export_is_generic_alone(shaped, tmp_path):
    model, _, _ = shaped
    text = export_source(model.bias, wrt=(0, 1), path=str(tmp_path / "g.py"))
    assert "_generic" not in text and "FLOAT64" not in text
    # containers keep like's meaning: code for their structure, generic otherwise
    text = export_source(model.rosenbrock, path=str(tmp_path / "g.py"), like=(np.ones(3, dtype=np.float32),))
    assert "_generic" not in text


def test_exported_files_pass_ruff(shaped):
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    paths = list(shaped[1].values())
    proc = subprocess.run([ruff, "check", "--isolated", *map(str, paths)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("example, expected", [
    ((2.0, 3), ["type(a) is float", "type(b) is int"]),
    ((np.float64(2.0), np.ones((3, 1), dtype=np.float32)),
     ["type(a) is np.float64",
      "type(b) is np.ndarray and b.dtype == FLOAT32 and b.ndim == 2 and b.shape[0] != 1 and b.shape[1] == 1"]),
    ((np.ones((2, 3)), np.ones(3)),
     ["type(a) is np.ndarray and a.dtype == FLOAT64 and a.ndim == 2 and a.shape[0] != 1 and a.shape[1] != 1",
      "type(b) is np.ndarray and b.dtype == FLOAT64 and b.ndim == 1 and b.shape[0] == a.shape[1]"]),
    ((np.ones(2, dtype=np.complex128), "text", None), []),  # nothing known: nothing assumed, nothing checked
])
def test_the_guard_checks_what_the_signature_keeps(example, expected):
    assert argument_checks(("a", "b", "c")[:len(example)], example) == expected


def test_the_command_line_takes_example_arguments(shaped, tmp_path, monkeypatch, capsys):
    from s2sad.__main__ import main
    from s2sad.export_shapes import parse_like

    model, paths, _ = shaped
    monkeypatch.chdir(Path(model.__file__).parent)
    out = tmp_path / "cli_bias.py"
    like = "float64[4, 3], float64[4, 3]"
    assert main(["export", "shapemodel:bias", "--wrt", "0,1", "--like", like, "-o", str(out), "-q"]) == 0
    text = out.read_text()
    assert f"--like '{like}'" in text.splitlines()[4] and "def grad_bias_generic(x, b):" in text
    # the same file as s2sad.export with those examples, and check rebuilds the command with them
    command = text.splitlines()[4][len("# regenerate: "):]
    assert export_source(model.bias, wrt=(0, 1), path=str(out), command=command, like=parse_like(like)) == text
    assert check(out) == []
    out.write_text(text.replace("return grad_bias_generic(x, b)", "return None"))
    assert f"--like '{like}' -o {out} --force" in check(out)[-1]
    # a Python export records its examples in the command it suggests
    header = paths["powered"].read_text().splitlines()
    assert " --like 'float64[5]' -o " in header[4]
    assert main(["show", "shapemodel:bias", "--wrt", "0,1", "--like", like]) == 0
    assert "unbroadcast" not in capsys.readouterr().out
    for bad in ("x, 2", "float32[a]", "complex128[2]", "__import__('os')"):
        assert main(["export", "shapemodel:bias", "--like", bad, "-o", str(out)]) == 2
        assert "--like" in capsys.readouterr().err


def test_the_doc_shows_what_export_writes(tmp_path, monkeypatch):
    doc = (Path(__file__).resolve().parent.parent / "docs" / "export.md").read_text()
    section = doc.split("## Code specialized for example arguments", 1)[1]
    shown = section.split("```python\ndef grad_loss(w, x):\n", 1)[1].split("```", 1)[0]
    (tmp_path / "doc_shapes_model.py").write_text("import numpy as np\n\n\ndef loss(w, x):\n"
                                                  "    return np.sum(np.tanh(x * w) ** 2)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    model = importlib.import_module("doc_shapes_model")
    text = export_source(model.loss, path=str(tmp_path / "grad_loss.py"), like=(np.ones(3), np.ones(3)))
    assert "def grad_loss(w, x):\n" + shown in text


@pytest.mark.parametrize("like, message", [
    ((np.ones((4, 3)),), "do not fit bias(x, b): missing a required argument: 'b'"),
    ((np.ones(3), np.ones(3), 1.0), "too many positional arguments"),
    ({"x": np.ones(3), "b": 1.0, "c": 1.0}, "got an unexpected keyword argument 'c'"),
    (np.ones(3), "like must be a tuple of bias's arguments (or a dict of them by name), got ndarray"),
])
def test_example_arguments_that_do_not_fit_are_refused(shaped, tmp_path, like, message):
    # code made for them would silently have been the generic code (or, for an array, an internal TypeError)
    with pytest.raises(s2sad.S2SADError, match=re.escape(message)):
        export(shaped[0].bias, str(tmp_path / "g.py"), wrt=(0, 1), like=like)
    assert not (tmp_path / "g.py").exists()


# every pair of these, as the example and as the call: kinds, dtypes, ranks, axes of 1, equal sizes
_VALUES = [0.5, 2, np.float64(0.5), np.zeros(()), np.zeros(1), np.zeros(2), np.zeros(3), np.zeros(2, dtype=np.int64),
           np.zeros((2, 2)), np.zeros((2, 3)), np.zeros((3, 2)), np.zeros((1, 2)), np.zeros((2, 1))]
_PAIRS = [(a, b) for a in _VALUES for b in _VALUES]


def _holds(example, call) -> bool:
    """What the guard must test, written out: the same kinds, dtypes and ranks; an axis of length 1
    where the example has one and only there; equal sizes where the example's are equal."""
    if len(example) != len(call):
        return False
    for e, c in zip(example, call):
        if type(e) is not type(c) or isinstance(e, np.ndarray) and (e.dtype != c.dtype or e.ndim != c.ndim):
            return False
    axes = [(e, c) for e0, c0 in zip(example, call) if isinstance(e0, np.ndarray) for e, c in zip(e0.shape, c0.shape)]
    return all((e == 1) == (c == 1) for e, c in axes) and all(
        c1 == c2 for (e1, c1) in axes for (e2, c2) in axes if e1 == e2 != 1)


def test_the_guard_passes_exactly_the_arguments_of_the_examples_signature():
    names = ["a0", "a1"]
    constants = {"np": np, "FLOAT64": np.dtype("float64"), "INT64": np.dtype("int64")}
    for example in _PAIRS:
        checks = argument_checks(names, example)
        guard = eval(f"lambda a0, a1: {' and '.join(checks) or 'True'}", constants)
        for call in _PAIRS:
            assert guard(*call) == _holds(example, call), (example, call, checks)
            # the calls that share the example's code in memory pass (a 0-d array and an np.float64 share it
            # there; the guard, made from one of them, passes only its type: the other takes the generic code)
            if signature(call) == signature(example) and list(map(type, call)) == list(map(type, example)):
                assert guard(*call)


@pytest.mark.parametrize("example, text", [
    ((0.5, -3, np.zeros((20, 5)), np.zeros(3, dtype=np.int64), np.zeros(()), np.float64(-0.5), np.zeros(2, bool)),
     "0.5, -3, float64[20, 5], int64[3], float64[()], float64(-0.5), bool[2]"),
    # a nan or inf example is written 1.0 (only its kind matters), so --like stays in the regenerate command
    ((float("nan"),), "1.0"), ((np.float64("inf"),), "float64(1.0)"), ((-math.inf, 2), "1.0, 2"),
    (({"w": 1.0},), None), ((np.float32(1.0),), None),
])
def test_example_arguments_as_command_line_text(example, text):
    from s2sad.export_shapes import like_text, parse_like

    assert like_text(example) == text
    if text is not None:  # read back, they have the same signature (and, written again, the same text)
        assert signature(parse_like(text)) == signature(example) and like_text(parse_like(text)) == text


def test_a_parameter_named_as_what_the_guard_reads_keeps_the_generic_code(tmp_path, monkeypatch):
    # the guard `type(x) is np.ndarray` would call an argument named type (a TypeError in the exported
    # code); one named int would make `type(int) is int` never hold
    (tmp_path / "guard_names_model.py").write_text(
        "import numpy as np\n\n\ndef scaled(x, type, int=2.0):\n    return np.sum(np.sin(x) * type) * int\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    model = importlib.import_module("guard_names_model")
    x = np.array([0.3, -0.7, 1.2])
    export(model.scaled, str(tmp_path / "grad_guard_names.py"), like=(x, 2.0))
    assert "_generic" not in (tmp_path / "grad_guard_names.py").read_text()
    exported = importlib.import_module("grad_guard_names")
    _close(exported.grad_scaled(x, 3.0), _fd(model.scaled, (x, 3.0), 0), rtol=1e-6)


@pytest.mark.parametrize("text, message", [
    ("1e400, float64[3]", "'1e309' is infinite"),  # an inf: the regenerate command could not write it back
    ("float64(-1e400)", "'1e309' is infinite"),
    ("float64[9223372036854775807]", "'float64[9223372036854775807]': array is too big"),
    ("-" * 900 + "1", "nested too deeply"),  # a RecursionError
    ("-" * 100000 + "1", "nested too deeply"),  # the parser's MemoryError
    ("(" * 100000 + "1", "'" + "(" * 40 + "'... is not a comma-separated list"),
], ids=["inf", "inf scalar", "too big", "900 minus signs", "100000 minus signs", "100000 parentheses"])
def test_hostile_like_text_is_refused_naming_the_part(text, message):
    from s2sad.export_shapes import parse_like

    with pytest.raises(ValueError, match=re.escape(message)):
        parse_like(text)


DECORATED_SOURCE = '''import functools

import math

import numpy as np


def scaled(fn):
    @functools.wraps(fn)
    def wrapper(x, scale=1.0):
        return fn(x) * scale
    return wrapper


@scaled
def energy(x):
    return np.sum(np.tanh(x) ** 2)
'''


def test_a_decorators_wrapper_is_exported_with_its_own_parameters(tmp_path, monkeypatch):
    # s2sad differentiates the wrapper (x, scale=1.0); inspect.signature follows __wrapped__ to (x):
    # like=(x, 2.0) was refused as too many arguments, the guard left scale unchecked, and wrt="scale"
    # ended in an IndexError
    (tmp_path / "decorated_model.py").write_text(DECORATED_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    model = importlib.import_module("decorated_model")
    x = np.array([0.3, -0.5, 0.9])
    for k, like in enumerate([(x, 2.0), {"x": x, "scale": 2.0}, (x,)]):
        export(model.energy, str(tmp_path / f"grad_decorated_{k}.py"), like=like)
        text = (tmp_path / f"grad_decorated_{k}.py").read_text()
        assert "def grad_energy_generic(x, scale=1.0):" in text and "and type(scale) is float" in text
        exported = importlib.import_module(f"grad_decorated_{k}")
        for args in [(x,), (x, 3.0), (x, 3)]:
            _close(exported.grad_energy(*args), _fd(model.energy, args, 0), rtol=1e-6)
    export(model.energy, str(tmp_path / "grad_decorated_scale.py"), wrt="scale")
    exported = importlib.import_module("grad_decorated_scale")
    _close(exported.grad_energy(x, 3.0), _fd(model.energy, (x, 3.0), 1), rtol=1e-6)


def test_show_refuses_example_arguments_that_do_not_fit(shaped, monkeypatch, capsys):
    # it printed the generic code, as if a call with such arguments ran it
    from s2sad.__main__ import main

    monkeypatch.chdir(Path(shaped[0].__file__).parent)
    assert main(["show", "shapemodel:bias", "--like", "float64[4, 3]"]) == 1
    assert "do not fit bias(x, b): missing a required argument: 'b'" in capsys.readouterr().err
