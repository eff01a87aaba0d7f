"""Export attacked the way a hostile user would: what it writes runs without s2sad and is right.

The user modules below exercise what broke or could break: an np.matrix for a parameter that is
not differentiated, a decorator whose wrapper has a default of its own, user globals named like
the builtins s2sad's helpers call (``float = 2.5``, ``from numpy import max``), keyword-only
parameters, array defaults, a function calling another user module (whose globals it reads), closure
values (an empty array keeps its shape), a module-level array (imported, not copied), and every
kind of derivative export writes. Everything is exported in this process; ONE subprocess, run with
``python -I`` in the export directory with only NumPy on its path and ``import s2sad`` blocked,
imports every exported module (one of them twice) and calls it. Each result is checked here
against central differences in float64 (nested for second derivatives), and the refusals in
process: outputs that could not be imported or would import themselves, modes export does not
write, values it cannot write faithfully.
"""

from __future__ import annotations

import importlib
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import s2sad
from s2sad.export import ExportError, check, export, export_source

HELPERS = '''\
import numpy as np

OFFSET = np.array([0.1, 0.2, 0.3])


def smooth(x):
    return np.tanh(x) + OFFSET
'''

MODEL = '''\
import functools

import numpy as np
from numpy import abs, max, sum

import hostile_helpers

float = 2.5  # a user global shadowing the builtin that s2sad's helpers call
BIG = np.linspace(0.0, 1.0, 20000)  # a module-level array: imported, never written into the export


def matrix_param(x, A):
    return np.sum(np.sin(x) * (A * A))


def with_default(fn):
    @functools.wraps(fn)
    def wrapper(x, scale=2.0):  # the wrapper's own default: the function it wraps has none
        return fn(x, scale)
    return wrapper


@with_default
def decorated(x, scale):
    return np.sum(np.sin(x) * scale)


def shadowing(x):
    return sum(abs(x) * x) * float + max(x)


def keyword_only(x, *, scale=3.0):
    return np.sum(np.cos(x) * x) * scale


def array_default(x, w=np.array([1.0, 2.0, 3.0])):
    return np.sum(np.sin(x * w))


W3 = np.array([0.5, -1.0, 2.0])


def global_default(x, w=W3):  # a default that is a module global: imported as it, never copied
    return np.sum(np.sin(x * w))


def other_module(x):
    return np.sum(hostile_helpers.smooth(x) * x)


def make(scale, empty):
    def inner(x):
        return np.sum(x * x * scale) * empty.shape[1]
    return inner


closure = make(np.array([1.0, 2.0, 3.0]), np.zeros((0, 3)))


def make_counted(act, count):
    def counted(x):
        return np.sum(act(x)) * count(2.6)
    return counted


builtin_closure = make_counted(np.tanh, round)  # closure values: a NumPy function, a builtin under another name


def make_weighted(weights):
    def weighted(x):
        return np.sum(x * np.asarray(weights)[:3])
    return weighted


big_list_closure = make_weighted([1.0] * 20000)  # a list that long is refused too
big_closure = make(np.arange(20000.0), np.zeros((0, 3)))


def uses_big(x):
    return np.sum(BIG[:3] * x * x)


def builtin_names(x, args, kwargs, len=2.0, tuple=0.5):  # parameters named as what the seed wrappers call
    return np.sum(np.sin(x) * x) * args * kwargs * len * tuple


def vector(x):
    return np.sin(x) * x[0]


def field(x):
    return np.array([x[1] * x[2], np.sin(x[0]) * x[2], x[0] * x[1] ** 2])
'''

X = "np.array([0.3, -1.2, 2.0])"
V = "np.array([0.5, 1.0, -0.25])"
X22 = "np.array([[0.3, -1.2], [2.0, 0.7]])"
V22 = "np.array([[0.5, 1.0], [-0.25, 0.1]])"
A = "np.array([[1.0, 2.0], [3.0, 4.0]])"
MATRIX = "np.asmatrix([[1.0, 2.0], [3.0, 4.0]])"
ALL = ("grad", "value_and_grad", "vjp", "jvp", "hvp", "hessian")

# case: (function in the model, export keywords, [(mode, args, keywords, seed)]): calls checked
# against central differences; a call passing an np.matrix must raise the TypeError memory raises
CASES = {
    "matrix_param": ("matrix_param", {"modes": ALL}, [
        *[(m, f"[{X22}, {A}]", "{}", {"vjp": "[1.0]", "jvp": f"[{V22}]", "hvp": f"[{V22}]"}.get(m, "[]"))
          for m in ALL],
        *[(m, f"[{X22}, {MATRIX}]", "{}", {"vjp": "[1.0]", "jvp": f"[{V22}]", "hvp": f"[{V22}]"}.get(m, "[]"))
          for m in ALL],
    ]),
    "matrix_param_like": ("matrix_param", {"modes": ("grad",), "like": "(np.ones((2, 2)), np.ones((2, 2)))"}, [
        ("grad", f"[{X22}, {A}]", "{}", "[]"), ("grad", f"[{X22}, {MATRIX}]", "{}", "[]"),
    ]),
    "decorated": ("decorated", {"modes": ("grad", "vjp", "jvp", "hvp", "hessian")}, [
        ("grad", f"[{X}]", "{}", "[]"), ("vjp", f"[{X}]", "{}", "[2.0]"), ("jvp", f"[{X}]", "{}", f"[{V}]"),
        ("hvp", f"[{X}]", "{}", f"[{V}]"), ("hvp", f"[{X}, 0.5]", "{}", f"[{V}]"), ("hessian", f"[{X}]", "{}", "[]"),
    ]),
    "shadowing": ("shadowing", {"modes": ("grad", "value_and_grad", "vjp", "hvp")}, [
        ("grad", f"[{X}]", "{}", "[]"), ("grad", "[[0.3, -1.2, 2]]", "{}", "[]"),
        ("value_and_grad", f"[{X}]", "{}", "[]"), ("vjp", f"[{X}]", "{}", "[1.5]"), ("hvp", f"[{X}]", "{}", f"[{V}]"),
    ]),
    "shadowing_like": ("shadowing", {"modes": ("grad",), "like": "(np.ones(3),)"}, [
        ("grad", f"[{X}]", "{}", "[]"), ("grad", "[[0.3, -1.2, 2]]", "{}", "[]"),
    ]),
    "keyword_only": ("keyword_only", {"modes": ALL}, [
        ("grad", f"[{X}]", "{'scale': 0.5}", "[]"), ("value_and_grad", f"[{X}]", "{}", "[]"),
        ("vjp", f"[{X}]", "{'scale': 0.5}", "[2.0]"), ("jvp", f"[{X}]", "{'scale': 0.5}", f"[{V}]"),
        ("hvp", f"[{X}]", "{}", f"[{V}]"), ("hessian", f"[{X}]", "{'scale': 0.5}", "[]"),
    ]),
    "array_default": ("array_default", {"modes": ALL}, [
        ("grad", f"[{X}]", "{}", "[]"), ("grad", f"[{X}]", f"{{'w': {V}}}", "[]"), ("vjp", f"[{X}]", "{}", "[2.0]"),
        ("jvp", f"[{X}]", "{}", f"[{V}]"), ("hvp", f"[{X}]", "{}", f"[{V}]"), ("hessian", f"[{X}]", "{}", "[]"),
    ]),
    # grad alone: its def reads the default's name (def grad_f(x, w=w_default)), which was never bound
    "array_default_grad": ("array_default", {"modes": ("grad",)}, [("grad", f"[{X}]", "{}", "[]")]),
    "global_default": ("global_default", {"modes": ("grad",)}, [
        ("grad", f"[{X}]", "{}", "[]"), ("grad", f"[{X}, {V}]", "{}", "[]"),
    ]),
    "global_default_jvp": ("global_default", {"modes": ("grad", "jvp", "hessian")}, [
        ("grad", f"[{X}]", "{}", "[]"), ("jvp", f"[{X}]", "{}", f"[{V}]"), ("hessian", f"[{X}]", "{}", "[]"),
    ]),
    "other_module": ("other_module", {"modes": ("grad", "hessian", "laplacian")}, [
        ("grad", f"[{X}]", "{}", "[]"), ("hessian", f"[{X}]", "{}", "[]"), ("laplacian", f"[{X}]", "{}", "[]"),
    ]),
    "other_module_hessian": ("other_module", {"modes": ("hessian",)}, [("hessian", f"[{X}]", "{}", "[]")]),
    "closure": ("closure", {"modes": ("grad", "jvp")}, [
        ("grad", f"[{X}]", "{}", "[]"), ("jvp", f"[{X}]", "{}", f"[{V}]"),
    ]),
    "uses_big": ("uses_big", {"modes": ("grad",)}, [("grad", f"[{X}]", "{}", "[]")]),
    "builtin_closure": ("builtin_closure", {"modes": ("grad", "hessian")}, [
        ("grad", f"[{X}]", "{}", "[]"), ("hessian", f"[{X}]", "{}", "[]"),
    ]),
    # a driver calls the function itself, a closure: imported from the global that holds it
    "builtin_closure_jacobian": ("builtin_closure", {"modes": ("jacobian",)}, [("jacobian", f"[{X}]", "{}", "[]")]),
    "builtin_names": ("builtin_names", {"modes": ("vjp", "jvp", "hvp", "hessian")}, [
        ("vjp", f"[{X}, 2.0, 3.0]", "{}", "[1.5]"), ("jvp", f"[{X}, 2.0, 3.0]", "{'tuple': 2.0}", f"[{V}]"),
        ("hvp", f"[{X}, 2.0, 3.0, 1.5, 0.25]", "{}", f"[{V}]"), ("hessian", f"[{X}, 2.0, 3.0]", "{}", "[]"),
    ]),
    "vector": ("vector", {"modes": ("jacobian", "vjp", "jvp")}, [
        ("jacobian", f"[{X}]", "{}", "[]"), ("vjp", f"[{X}]", "{}", f"[{V}]"), ("jvp", f"[{X}]", "{}", f"[{V}]"),
    ]),
    "field": ("field", {"modes": ("divergence", "curl", "jacobian")}, [
        ("divergence", f"[{X}]", "{}", "[]"), ("curl", f"[{X}]", "{}", "[]"), ("jacobian", f"[{X}]", "{}", "[]"),
    ]),
}

SUBPROCESS = '''\
import sys
sys.modules["s2sad"] = None  # any import of s2sad now fails
# only the standard library, NumPy (linked alone into SITE) and the export directory
sys.path[:] = [p for p in sys.path if "-packages" not in p] + [SITE, ROOT]
import importlib, importlib.util, pickle
import numpy as np
try:
    import s2sad  # noqa: F401
    blocked = False
except ImportError:
    blocked = True
out = {"blocked": blocked, "isolated": sys.flags.isolated, "numpy": np.__file__}
for case, (fname, calls) in CALLS.items():
    for i, (mode, args, kwargs, seed) in enumerate(calls):
        try:
            mod = importlib.import_module("h_" + case)
            out[(case, i)] = ("ok", getattr(mod, fname[mode])(*eval(args), *eval(seed), **eval(kwargs)))
        except Exception as exc:
            out[(case, i)] = ("error", type(exc).__name__, str(exc))
# imported a second time, under another name, next to the first
if "keyword_only" in CALLS:
    spec = importlib.util.spec_from_file_location("h_again", ROOT + "/h_keyword_only.py")
    again = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(again)
    x = np.array([0.3, -1.2, 2.0])
    out["twice"] = (again.grad_keyword_only(x), importlib.import_module("h_keyword_only").grad_keyword_only(x))
out["modules"] = sorted(m for m in sys.modules if m.split(".")[0] == "s2sad" and sys.modules[m] is not None)
with open("results.pkl", "wb") as fh:
    pickle.dump(out, fh)
'''


def _import(directory, name, source):
    (directory / f"{name}.py").write_text(source)
    sys.modules.pop(name, None)
    return importlib.import_module(name)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Export every case, call the exported modules in one isolated subprocess without s2sad."""
    root = tmp_path_factory.mktemp("hostile")
    site = root / "site"
    site.mkdir()
    numpy_dir = os.path.dirname(np.__file__)
    for name in ("numpy", "numpy.libs"):
        if os.path.isdir(os.path.join(os.path.dirname(numpy_dir), name)):
            os.symlink(os.path.join(os.path.dirname(numpy_dir), name), site / name)
    sys.path.insert(0, str(root))
    try:
        _import(root, "hostile_helpers", HELPERS)
        model = _import(root, "hostile_model", MODEL)
        names, failed = {}, {}
        for case, (attr, kwargs, _) in CASES.items():
            kwargs = dict(kwargs, like=eval(kwargs["like"])) if "like" in kwargs else kwargs
            try:  # one case that cannot be exported fails its own tests only
                export(getattr(model, attr), str(root / f"h_{case}.py"), **kwargs)
            except Exception as exc:  # noqa: BLE001 - recorded, and asserted by each call's test
                failed[case] = f"{type(exc).__name__}: {exc}"
                continue
            f_name = {"closure": "inner", "builtin_closure": "counted"}.get(attr, attr)
            names[case] = {mode: f"{mode}_{f_name}" for mode in kwargs["modes"]}
        calls = {case: (names[case], CASES[case][2]) for case in names}
        script = f"ROOT = {str(root)!r}\nSITE = {str(site)!r}\nCALLS = {calls!r}\n" + SUBPROCESS
        proc = subprocess.run([sys.executable, "-I", "-c", script], cwd=root, capture_output=True, text=True,
                              timeout=120, check=False,
                              env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(root)})
        assert proc.returncode == 0, proc.stderr
        with open(root / "results.pkl", "rb") as fh:
            results = pickle.load(fh)
        results["export failed"] = failed
        yield model, root, results
    finally:
        sys.path.remove(str(root))
        for name in ("hostile_model", "hostile_helpers"):
            sys.modules.pop(name, None)


def test_the_subprocess_ran_isolated_with_numpy_alone(hostile):
    _, root, results = hostile
    assert results["blocked"] is True and results["modules"] == [] and results["isolated"] == 1
    assert results["numpy"].startswith(str(root / "site"))


# ------------------------------------------------------------------ central differences (float64)

H = 1e-6


def _jacobian_fd(fn, x, h=H):
    """d fn / d x by central differences: shape fn(x).shape + x.shape."""
    x = np.asarray(x, dtype=np.float64)
    columns = []
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = h
        columns.append((np.asarray(fn(x + step), dtype=np.float64) - np.asarray(fn(x - step), dtype=np.float64))
                       / (2 * h))
    out = np.stack(columns, axis=-1)
    return out.reshape(out.shape[:-1] + x.shape)


def _expected(f, mode, args, kwargs, seed):
    """What `mode` of f gives at (args, kwargs, seed), from central differences in x = args[0]."""
    x, rest = args[0], args[1:]

    def fx(z):
        return f(z, *rest, **kwargs)

    def grad(z):
        return _jacobian_fd(fx, z)

    def hessian(z):
        return _jacobian_fd(grad, z, h=1e-4)

    if mode == "grad":
        return grad(x)
    if mode == "value_and_grad":
        return fx(x), grad(x)
    if mode == "vjp":
        ct = np.asarray(seed[0], dtype=np.float64)
        return np.tensordot(ct, _jacobian_fd(fx, x), axes=ct.ndim)
    if mode == "jvp":
        v = seed[0]
        return fx(x), np.tensordot(_jacobian_fd(fx, x), v, axes=np.ndim(v))
    if mode == "hvp":
        return np.tensordot(hessian(x), seed[0], axes=np.ndim(seed[0]))
    if mode == "hessian":
        return hessian(x)
    if mode == "laplacian":
        return np.trace(hessian(x))
    if mode == "jacobian":
        return _jacobian_fd(fx, x)
    if mode == "divergence":
        return np.trace(_jacobian_fd(fx, x))
    if mode == "curl":
        j = _jacobian_fd(fx, x)
        return np.array([j[2, 1] - j[1, 2], j[0, 2] - j[2, 0], j[1, 0] - j[0, 1]])
    raise AssertionError(mode)


def _close(got, want, second):
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            _close(g, w, second)
        return
    tol = {"rtol": 1e-4, "atol": 1e-5} if second else {"rtol": 1e-6, "atol": 1e-7}
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64), **tol)


CALL_IDS = [(case, i) for case, (_, _, calls) in CASES.items() for i in range(len(calls))]


@pytest.mark.parametrize("case, i", CALL_IDS, ids=[f"{c}-{CASES[c][2][i][0]}-{i}" for c, i in CALL_IDS])
def test_exported_derivative_run_without_s2sad_matches_central_differences(hostile, case, i):
    model, _, results = hostile
    attr, _, calls = CASES[case]
    mode, args, kwargs, seed = calls[i]
    assert case not in results["export failed"], results["export failed"][case]
    result = results[(case, i)]
    if "asmatrix" in args:  # refused as in memory: the matrix's * is a matrix product
        assert result[:2] == ("error", "TypeError") and "np.matrix" in result[2], result
        with pytest.raises(s2sad.S2SADError, match="np.matrix"):
            getattr(s2sad, mode)(getattr(model, attr))(*eval(args), *eval(seed), **eval(kwargs))
        return
    assert result[0] == "ok", result
    f = getattr(model, attr)
    want = _expected(f, mode, [np.asarray(a, dtype=np.float64) if isinstance(a, list) else a for a in eval(args)],
                     eval(kwargs), eval(seed))
    _close(result[1], want, second=mode in ("hvp", "hessian", "laplacian"))


def test_importing_an_export_twice_gives_the_same_module(hostile):
    _, _, results = hostile
    first, second = results["twice"]
    np.testing.assert_array_equal(first, second)


def test_globals_are_imported_from_the_module_that_defines_them(hostile):
    """A global of a helper module (OFFSET) is imported from it, as the in-memory code reads it live, also
    when only a hessian (a driver calling generated code) is exported; its source is hashed for check."""
    _, root, _ = hostile
    for case in ("other_module", "other_module_hessian"):
        text = (root / f"h_{case}.py").read_text()
        assert "from hostile_helpers import OFFSET\n" in text, case
        assert " smooth in hostile_helpers.py\n" in text, case
        assert check(str(root / f"h_{case}.py")) == []
    for case in ("global_default", "global_default_jvp"):
        assert "from hostile_model import W3 as w_default\n" in (root / f"h_{case}.py").read_text()
    text = (root / "h_uses_big.py").read_text()
    assert "from hostile_model import BIG\n" in text and "0.5" not in text.split("__all__")[1].split("def ")[0]


def test_user_names_never_shadow_the_builtins_the_helpers_call(hostile):
    _, root, _ = hostile
    text = (root / "h_shadowing.py").read_text()
    assert "from hostile_model import float as float_\n" in text
    assert "from numpy import max as max_\n" in text
    assert "\nfloat =" not in text and "import float\n" not in text and "import max\n" not in text


def test_a_closure_a_driver_calls_is_imported_from_the_global_that_holds_it(hostile):
    _, root, _ = hostile
    assert "from hostile_model import builtin_closure as counted\n" in (root / "h_builtin_closure_jacobian.py").read_text()


def test_a_closure_is_regenerated_from_the_global_that_holds_it(hostile):
    """Not from make.inner, its qualname, which no MODULE:FUNCTION can load."""
    from s2sad.export import load_function

    model, root, _ = hostile
    assert "# regenerate: python -m s2sad export hostile_model:closure --wrt x " in (root / "h_closure.py").read_text()
    assert load_function("hostile_model:closure") is model.closure


def test_the_closure_values_keep_their_shape(hostile):
    _, root, _ = hostile
    assert "empty = np.zeros((0, 3), dtype=np.float64)" in (root / "h_closure.py").read_text()


# ------------------------------------------------------------------ refusals (in process)


@pytest.fixture
def model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    _import(tmp_path, "hostile_helpers", HELPERS)
    yield _import(tmp_path, "hostile_model", MODEL)
    for name in ("hostile_model", "hostile_helpers"):
        sys.modules.pop(name, None)


@pytest.mark.parametrize("out, fragment", [
    ("grad-loss.py", "is not a module name"),
    ("1grad.py", "is not a module name"),
    ("class.py", "is not a module name"),
    ("grad.loss.py", "is not a module name"),
    ("grad_loss.txt", "must be a .py file"),
    ("grad_loss", "must be a .py file"),
    ("numpy.py", "it would shadow the module numpy"),
    ("random.py", "it would shadow the standard library module random"),  # for the user's own code too
    ("sub/hostile_model.py", "it would shadow the module hostile_model"),
])
def test_outputs_that_could_not_be_imported_are_refused(model, tmp_path, out, fragment):
    (tmp_path / "sub").mkdir()
    with pytest.raises(ExportError, match=fragment):
        export(model.uses_big, out)
    assert not (tmp_path / out).exists()


@pytest.mark.skipif(not os.path.isdir("/sys/kernel"), reason="needs Linux's read-only /sys")
@pytest.mark.parametrize("out, fragment", [
    ("/sys/g_big.py", "cannot write /sys/g_big.py: "),  # a read-only place, even for root
    ("/sys/missing/g_big.py", "the directory /sys/missing does not exist"),
])
def test_a_read_only_place_is_an_export_error(model, out, fragment):
    with pytest.raises(ExportError, match=fragment):
        export(model.uses_big, out)
    with pytest.raises(ExportError, match="cannot create the directory /sys/missing"):
        export(model.uses_big, "/sys/missing/g_big.py", parents=True)


def test_a_module_the_export_imports_is_never_overwritten(model, tmp_path):
    before = (tmp_path / "hostile_helpers.py").read_text()
    for force in (False, True):
        with pytest.raises(ExportError, match="hostile_helpers"):
            export(model.other_module, "hostile_helpers.py", force=force)
    assert (tmp_path / "hostile_helpers.py").read_text() == before


@pytest.mark.parametrize("attr, mode, fragment", [
    ("big_closure", "grad", "is an array of 20000 items"),  # written into the file, it would be megabytes
    ("big_list_closure", "grad", "is a list of 20000 items"),
    ("uses_big", "derivative", "export does not write the mode 'derivative'"),
    ("uses_big", "linearize", "unknown mode"),
])
def test_what_export_cannot_write_faithfully_is_refused_with_a_hint(model, attr, mode, fragment):
    with pytest.raises(ExportError, match=fragment) as info:
        export_source(getattr(model, attr), modes=(mode,))
    assert info.value.hint


def test_a_jacobian_with_respect_to_several_arguments_is_refused(model):
    """It calls one jacobian per argument, each a def named jacobian_<f> like itself: written out, the module
    bound jacobian_<f>_x = jacobian_<f> before any def (a NameError on import), and to itself."""
    with pytest.raises(ExportError, match="whose def is named jacobian_matrix_param like another") as info:
        export_source(model.matrix_param, wrt=(0, 1), modes=("jvp", "jacobian"))
    assert "one argument at a time" in info.value.hint
    assert "def jacobian_matrix_param(" in export_source(model.matrix_param, wrt=1, modes=("jacobian",))


@pytest.mark.parametrize("modes", [None, 5, [["grad"]]])
def test_modes_that_are_not_mode_names_are_an_export_error(model, modes):
    with pytest.raises(ExportError, match="modes must be a mode's name or a tuple of them"):  # was a TypeError
        export_source(model.uses_big, modes=modes)


@pytest.mark.parametrize("value, spelled", [
    ("__import__('enum').IntEnum('K', 'A B').B", None),  # repr() would be <K.B: 2>, not Python
    ("__import__('collections').namedtuple('P', 'a b')(1.0, 2.0)", None),  # a plain tuple has no .a
    ("np.ma.masked_array([1.0, 2.0], mask=[0, 1])", None),  # the mask would be dropped
    ("np.array([1.0, 2.0], dtype=np.longdouble)", None),  # more bits than a float keeps
    ("np.zeros((2, 0, 3))", "np.zeros((2, 0, 3), dtype=np.float64)"),
    ("np.array([True, False])", "np.array([True, False], dtype=np.bool_)"),
    ("np.float32(0.1)", "np.float32(0.10000000149011612)"),
])
def test_closure_values_are_written_only_when_the_literal_is_the_same_value(value, spelled):
    from s2sad.export import _literal

    value = eval(value)
    assert _literal(value) == spelled
    if spelled is not None:
        again = eval(spelled)
        assert type(again) is type(value) and np.shape(again) == np.shape(value)
        np.testing.assert_array_equal(again, value)


def test_a_nan_example_keeps_like_in_the_regenerate_command(model, tmp_path):
    text = export_source(model.shadowing, like=(np.float64("nan") * np.ones(3),), path=str(tmp_path / "g.py"))
    assert "# regenerate: python -m s2sad export hostile_model:shadowing --wrt x --mode grad --like " \
           "'float64[3]' -o g.py" in text
    text = export_source(model.keyword_only, like=(float("nan"),), path=str(tmp_path / "g.py"))
    assert "--like 1.0 -o g.py" in text


def test_an_example_without_a_like_spelling_is_noted_in_the_header(model, tmp_path):
    text = export_source(model.keyword_only, like={"x": np.ones(3), "scale": 2.0}, path=str(tmp_path / "g.py"))
    regenerate = next(line for line in text.splitlines() if line.startswith("# regenerate: "))
    assert "--like" not in regenerate and "# note: the example arguments (like=) have no --like spelling" in text


def test_a_source_edited_after_import_is_refused_and_an_export_edited_after_is_stale(model, tmp_path):
    source = tmp_path / "hostile_model.py"
    export(model.uses_big, "g_uses_big.py")
    source.write_text(source.read_text().replace("BIG[:3] * x * x", "BIG[:3] * x * x * x"))
    assert any("uses_big changed since the export" in p for p in check("g_uses_big.py"))
    with pytest.raises(s2sad.S2SADError, match="has changed since it was imported"):
        export_source(model.uses_big)  # the text on disk is not the code that runs
    export(model.other_module, "g_other.py")  # and a helper in another module, edited after its derivative
    helpers = tmp_path / "hostile_helpers.py"
    helpers.write_text(helpers.read_text().replace("np.tanh(x)", "np.tanh(2 * x)"))
    with pytest.raises(s2sad.S2SADError, match="smooth in .* has changed since it was imported"):
        export_source(model.other_module)


def test_exported_lambda_and_varargs_are_refused(tmp_path, monkeypatch):
    mod = _import_varargs(tmp_path, monkeypatch)
    with pytest.raises(ExportError, match="lambda"):
        export_source(mod.square)
    with pytest.raises(s2sad.S2SADError, match=r"\*args"):
        export_source(mod.varargs)


def _import_varargs(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    return _import(tmp_path, "hostile_varargs", textwrap.dedent('''\
        import numpy as np

        square = lambda x: x * x  # noqa: E731


        def varargs(x, *rest):
            return np.sum(x * x) * len(rest)
        '''))


@pytest.mark.parametrize("argv, fragment", [
    (["--mode", "derivative", "-o", "d.py"], "export does not write the mode 'derivative' (hint: "),
    (["-o", "grad-loss.py"], "'grad-loss' is not a module name"),
    (["-o", "hostile_model.py", "--force"], "it is the source of uses_big"),
])
def test_the_command_line_refuses_in_one_line_with_a_hint(model, capsys, argv, fragment):
    from s2sad.__main__ import main

    assert main(["export", "hostile_model:uses_big", *argv]) == 1
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_user_module_that_imports_s2sad_is_named_in_the_header(model, tmp_path, capsys):
    """The exported module imports the user's module for its globals; if that imports s2sad, so does the
    export when it runs: the header and the command line say so (it cannot be helped by export)."""
    from s2sad.__main__ import main

    (tmp_path / "with_s2sad.py").write_text("import numpy as np\nimport s2sad\n\nW = np.ones(3)\n\n\n"
                                            "@s2sad.differentiate\ndef loss(x):\n    return np.sum(x * W)\n")
    sys.modules.pop("with_s2sad", None)
    assert main(["export", "with_s2sad:loss", "-o", "g_with.py"]) == 0
    err = capsys.readouterr().err
    assert "note: with_s2sad imports s2sad (it binds loss, s2sad), so importing this module needs s2sad" in err
    assert "# note: with_s2sad imports s2sad" in (tmp_path / "g_with.py").read_text()
    assert main(["export", "hostile_model:uses_big", "-o", "g_big.py"]) == 0
    assert "note:" not in capsys.readouterr().err
