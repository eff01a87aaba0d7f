"""The generated-code contract (issue 2): readable, minimal, deterministic.

These tests read ``grad(f).source`` and check the conventions the engine
guarantees: ``# forward sweep`` / ``# reverse sweep`` labels, ``# line N: <text>``
comments (N is the line in f's file), adjoints named ``<name>_bar``, no tape
outside loops, a tape inside loops, byte-identical output across runs, and the
decorator/`show`/caching behaviour of the public API.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import s2sad
from gradcheck import assert_grad_matches_fd, module_from_source, numeric_grad

# ---------------------------------------------------------------------------
# programs
# ---------------------------------------------------------------------------


def straight(x, y):
    z = x * y + np.sin(x)
    w = z * z
    return w + y


def branchy(x, y):
    if x > 0.0:
        z = x * y
    else:
        z = np.sin(x) * y
    return z * z


def loopy(x, w):
    z = x
    for i in range(5):
        z = np.sin(z) * w
    return z


def while_loopy(x):
    z = x
    while z < 5.0:
        z = z * z + 1.0
    return z


def linear_loop(x):
    s = 0.0
    for i in range(5):
        s = s + x
    return s


def with_inactive(x, c):
    return np.sin(x) * c


def adds(x, y):
    return x + y


def param_named_x_bar(x, x_bar):
    return x * x_bar + np.sin(x_bar)


def param_named_tape(x, tape):
    for i in range(3):
        x = np.sin(x) * tape
    return x


def local_named_z_bar(x, z):
    z_bar = x * z
    y = np.sin(z_bar) * z
    return y * z_bar


def params_named_like_temporaries(t1, t2):
    t3 = t1 * t2
    return np.sin(t3) + t1


def params_named_like_ssa_versions(z, z_1):
    z = z * z_1
    z = np.sin(z)
    return z * z_1


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def source_of(f, wrt=0):
    src = s2sad.grad(f, wrt).source
    assert isinstance(src, str) and src.strip()
    return src


def body_lines(f):
    """(absolute line number, stripped text) of each statement line of f's body."""
    lines, start = inspect.getsourcelines(f)
    out = []
    for i, text in enumerate(lines[1:], start=start + 1):
        t = text.strip()
        if t and not t.startswith("#"):
            out.append((i, t))
    return out


def line_comment_numbers(src):
    return [int(m.group(1)) for m in re.finditer(r"#\s*line (\d+):", src)]


def split_sweeps(src):
    fwd = src.index("# forward sweep")
    rev = src.index("# reverse sweep")
    assert fwd < rev, "the forward sweep must come before the reverse sweep"
    return src[fwd:rev], src[rev:]


def _is_tape_call(node, method):
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == method
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "tape"
    )


# ---------------------------------------------------------------------------
# labels and line comments
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("f", [straight, branchy, loopy, while_loopy], ids=lambda f: f.__name__)
def test_sweeps_are_labelled(f):
    src = source_of(f)
    assert src.count("# forward sweep") == 1
    assert src.count("# reverse sweep") == 1
    split_sweeps(src)


@pytest.mark.parametrize("f", [straight, branchy, loopy], ids=lambda f: f.__name__)
def test_line_comments_quote_the_source(f):
    src = source_of(f)
    for number, text in body_lines(f):
        # `else:`, a bare `return z` and a plain copy `z = x` may produce no statement of their own
        if text.startswith("else") or re.fullmatch(r"return \w+|\w+ = \w+", text):
            continue
        assert f"# line {number}: {text}" in src, f"missing '# line {number}: {text}' in:\n{src}"


def test_line_comments_only_name_lines_of_the_function():
    src = source_of(straight)
    _, start = inspect.getsourcelines(straight)
    numbers = line_comment_numbers(src)
    assert numbers, src
    valid = {n for n, _ in body_lines(straight)} | {start}
    assert set(numbers) <= valid, f"line comments {sorted(set(numbers) - valid)} are not lines of straight()"


def test_reverse_sweep_walks_the_lines_backwards():
    fwd, rev = split_sweeps(source_of(straight))
    fwd_numbers, rev_numbers = line_comment_numbers(fwd), line_comment_numbers(rev)
    assert fwd_numbers == sorted(fwd_numbers), fwd
    assert rev_numbers == sorted(rev_numbers, reverse=True), rev


def test_generated_source_compiles_to_one_function():
    src = source_of(loopy, (0, 1))
    tree = ast.parse(src)
    compile(src, "<generated>", "exec")
    assert any(isinstance(node, ast.FunctionDef) for node in tree.body)


# ---------------------------------------------------------------------------
# names
# ---------------------------------------------------------------------------


def test_adjoints_are_named_bar():
    src = source_of(straight, (0, 1))
    for name in ("x_bar", "y_bar", "z_bar", "w_bar"):
        assert re.search(rf"\b{name}\b", src), f"{name} missing from:\n{src}"


def test_source_names_survive():
    fwd, _ = split_sweeps(source_of(straight, (0, 1)))
    for name in ("z", "w"):
        assert re.search(rf"^\s*{name}(_\d+)?\s*=", fwd, re.M), f"{name} is not assigned in the forward sweep:\n{fwd}"


def test_ssa_versions_keep_the_source_name():
    def rebinds(x):
        z = x * x
        z = np.sin(z)
        z = z * x
        return z

    fwd, _ = split_sweeps(source_of(rebinds))
    targets = re.findall(r"^\s*(z(?:_\d+)?)\s*=", fwd, re.M)
    assert len(set(targets)) >= 3, f"expected three versions of z (z, z_1, z_2):\n{fwd}"


def test_no_adjoint_for_inactive_values():
    src = source_of(with_inactive, 0)
    assert not re.search(r"\bc_bar\b", src), src
    loop_src = source_of(loopy, 0)
    assert not re.search(r"\bi_bar\b", loop_src), loop_src


def test_no_multiplication_by_literal_one():
    for f in (adds, straight):
        src = source_of(f, (0, 1))
        code = "\n".join(line.split("#")[0] for line in src.splitlines())
        assert not re.search(r"\*\s*1(?:\.0*)?(?![\w.])", code), f"'* 1' in:\n{src}"
        assert not re.search(r"(?<![\w.])1(?:\.0*)?\s*\*(?!\*)", code), f"'1 *' in:\n{src}"


def test_first_contribution_assigns():
    _, rev = split_sweeps(source_of(straight, (0, 1)))
    for name in ("x_bar", "y_bar", "z_bar"):
        first = re.search(rf"^\s*{name}\s*(\+?=)", rev, re.M)
        assert first, f"{name} never assigned in:\n{rev}"
        assert first.group(1) == "=", f"the first contribution to {name} must assign, not add:\n{rev}"
    assert "zeros" not in rev, f"no zero-initialised adjoints in straight-line code:\n{rev}"


# ---------------------------------------------------------------------------
# the tape
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("f", [straight, branchy, adds, with_inactive], ids=lambda f: f.__name__)
def test_no_tape_without_loops(f):
    src = source_of(f)
    assert not re.search(r"\btape\b", src), f"a tape in a function without loops:\n{src}"


@pytest.mark.parametrize("f", [loopy, while_loopy], ids=lambda f: f.__name__)
def test_tape_inside_loops(f):
    src = source_of(f)
    tree = ast.parse(src)
    loops = [n for n in ast.walk(tree) if isinstance(n, (ast.For, ast.While))]
    pushes_in_loops = [n for loop in loops for n in ast.walk(loop) if _is_tape_call(n, "append")]
    pops_in_loops = [n for loop in loops for n in ast.walk(loop) if _is_tape_call(n, "pop")]
    assert pushes_in_loops, f"no tape.append inside a loop:\n{src}"
    assert pops_in_loops, f"no tape.pop() inside a loop:\n{src}"
    fwd, rev = split_sweeps(src)
    assert "tape.append(" in fwd and "tape.pop()" not in fwd
    assert "tape.pop()" in rev and "tape.append(" not in rev


def test_linear_loop_pushes_only_the_carried_value():
    # `s = s + x` reads no forward value in the reverse sweep except the shape of
    # `s` (to undo broadcasting): a stand-in for that shape is saved per iteration, nothing else.
    src = source_of(linear_loop)
    pushes = [line.strip() for line in src.splitlines() if "tape.append(" in line]
    assert pushes == ["tape.append(s_shape)"], src
    assert "s_shape = shape_of(s)" in src, src


# ---------------------------------------------------------------------------
# name collisions
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "f, args",
    [
        pytest.param(param_named_x_bar, (0.7, -1.3), id="param_x_bar"),
        pytest.param(param_named_tape, (0.7, 1.2), id="param_tape"),
        pytest.param(local_named_z_bar, (0.7, -0.4), id="local_z_bar"),
        pytest.param(params_named_like_temporaries, (0.7, -0.4), id="params_t1_t2"),
        pytest.param(params_named_like_ssa_versions, (0.7, -0.4), id="params_z_z_1"),
    ],
)
def test_names_that_collide_with_generated_ones(f, args):
    assert_grad_matches_fd(f, args, (0, 1))


# ---------------------------------------------------------------------------
# determinism
# ---------------------------------------------------------------------------

PROGRAM = textwrap.dedent(
    """\
    import numpy as np


    def target(x, w, n):
        s = 0.0
        for i in range(n):
            if x[i] > 0.0:
                s = s + np.sin(x[i] * w)
            else:
                s = s - x[i] ** 2 * w
        a, b = s * w, np.tanh(s)
        z = a * b + np.sum(x * w)
        return z
    """
)


def test_same_source_twice_in_process(tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    m1 = module_from_source(tmp_path / "one", "s2sad_determinism_one", PROGRAM)
    m2 = module_from_source(tmp_path / "two", "s2sad_determinism_two", PROGRAM)
    s1 = s2sad.grad(m1.target, (0, 1)).source
    s2 = s2sad.grad(m2.target, (0, 1)).source
    # Anything that names the file or module may differ; the code itself may not.
    s1 = s1.replace(str(tmp_path / "one"), "<dir>").replace("s2sad_determinism_one", "<mod>")
    s2 = s2.replace(str(tmp_path / "two"), "<dir>").replace("s2sad_determinism_two", "<mod>")
    assert s1 == s2
    assert s2sad.grad(m1.target, (0, 1)).source == s2sad.grad(m1.target, (0, 1)).source


def test_byte_identical_across_processes(tmp_path):
    (tmp_path / "prog_det.py").write_text(PROGRAM)
    repo = Path(s2sad.__file__).resolve().parent.parent
    script = "import prog_det, s2sad; print(s2sad.grad(prog_det.target, (0, 1)).source, end='')"
    outputs = []
    for seed in ("0", "1", "12345"):
        env = dict(os.environ)
        env["PYTHONHASHSEED"] = seed
        env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(repo), env.get("PYTHONPATH", "")])
        proc = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
        )
        assert proc.returncode == 0, proc.stderr
        outputs.append(proc.stdout)
    assert outputs[0].strip()
    assert outputs[0] == outputs[1] == outputs[2]
    # and the source generated here, in this process, is the same text
    import importlib

    sys.path.insert(0, str(tmp_path))
    try:
        module = importlib.import_module("prog_det")
        assert s2sad.grad(module.target, (0, 1)).source == outputs[0]
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("prog_det", None)


def test_determinism_program_gradient_is_right(tmp_path):
    m = module_from_source(tmp_path, "s2sad_determinism_check", PROGRAM)
    x = np.array([0.3, -0.8, 1.1, -0.2])
    assert_grad_matches_fd(m.target, (x, 0.7, 4), (0, 1))
    assert_grad_matches_fd(m.target, (x, 0.7, 2), (0, 1))


# ---------------------------------------------------------------------------
# grad objects, the decorator, show, caching
# ---------------------------------------------------------------------------


def test_grad_keeps_signature_and_has_helpful_repr():
    g = s2sad.grad(straight)
    assert str(inspect.signature(g)) == str(inspect.signature(straight))
    assert "straight" in repr(g)
    vg = s2sad.value_and_grad(straight)
    assert str(inspect.signature(vg)) == str(inspect.signature(straight))
    assert isinstance(vg.source, str) and "# reverse sweep" in vg.source


def test_decorator_without_arguments():
    @s2sad.differentiate
    def f(x, y=2.0):
        """Doc of f."""
        return x * y + np.sin(x)

    assert f.__name__ == "f"
    assert f.__doc__ == "Doc of f."
    assert str(inspect.signature(f)) == "(x, y=2.0)"
    assert hasattr(f, "__wrapped__")
    assert f(0.3) == 0.3 * 2.0 + np.sin(0.3)
    assert f(0.3, y=1.0) == 0.3 * 1.0 + np.sin(0.3)
    arr = np.array([0.1, 0.2])
    np.testing.assert_array_equal(f(arr, 3.0), arr * 3.0 + np.sin(arr))
    np.testing.assert_allclose(f.grad(0.3), 2.0 + np.cos(0.3), rtol=1e-12)
    np.testing.assert_allclose(f.grad(0.3, 1.0), 1.0 + np.cos(0.3), rtol=1e-12)
    value, g = f.value_and_grad(0.3)
    assert value == f(0.3)
    np.testing.assert_allclose(g, 2.0 + np.cos(0.3), rtol=1e-12)
    for generated in (f.grad, f.value_and_grad):
        assert isinstance(generated.source, str)
        assert "# forward sweep" in generated.source and "# reverse sweep" in generated.source


def test_decorator_with_wrt():
    @s2sad.differentiate(wrt=("x", "y"))
    def f(x, y):
        """Doc."""
        return x * np.exp(y)

    assert f.__name__ == "f" and f.__doc__ == "Doc."
    assert f(2.0, 0.5) == 2.0 * np.exp(0.5)
    gx, gy = f.grad(2.0, 0.5)
    np.testing.assert_allclose([gx, gy], [np.exp(0.5), 2.0 * np.exp(0.5)], rtol=1e-12)
    value, (gx2, gy2) = f.value_and_grad(2.0, 0.5)
    assert value == f(2.0, 0.5)
    np.testing.assert_allclose([gx2, gy2], [gx, gy], rtol=1e-14)


def test_decorated_function_can_be_called_from_differentiated_code():
    @s2sad.differentiate
    def inner(x):
        return np.sin(x) * x

    def outer(x):
        return inner(x) * inner(2.0 * x)

    assert_grad_matches_fd(outer, (0.7,))
    np.testing.assert_allclose(s2sad.grad(inner)(0.7), inner.grad(0.7), rtol=1e-14)


def test_show_prints_the_gradient(capsys):
    s2sad.show(straight)
    out = capsys.readouterr().out
    assert s2sad.grad(straight).source.strip() in out
    s2sad.show(s2sad.grad(branchy, (0, 1)))
    out = capsys.readouterr().out
    assert s2sad.grad(branchy, (0, 1)).source.strip() in out


def test_show_of_decorated_function(capsys):
    @s2sad.differentiate
    def f(x):
        return np.sin(x) * x

    s2sad.show(f)
    out = capsys.readouterr().out
    assert "# reverse sweep" in out
    s2sad.show(f.grad)
    assert f.grad.source.strip() in capsys.readouterr().out


def test_show_ssa_prints_the_normalized_function(capsys):
    s2sad.show(straight, stage="ssa")
    out = capsys.readouterr().out
    assert out.strip()
    assert "# reverse sweep" not in out and "_bar" not in out
    assert re.search(r"\bz\b", out) and re.search(r"\bw\b", out) and "sin" in out


def test_show_ssa_of_loop_and_branch(capsys):
    s2sad.show(branchy, stage="ssa")
    s2sad.show(loopy, stage="ssa")
    out = capsys.readouterr().out
    assert out.count("sin") >= 2


def test_grad_is_cached():
    g1 = s2sad.grad(straight, (0, 1))
    g2 = s2sad.grad(straight, (0, 1))
    assert g1 is g2 or g1.source is g2.source
    v1 = s2sad.value_and_grad(straight, (0, 1))
    v2 = s2sad.value_and_grad(straight, (0, 1))
    assert v1 is v2 or v1.source is v2.source


def test_cache_distinguishes_options():
    only_x = s2sad.grad(straight, 0)
    both = s2sad.grad(straight, (0, 1))
    assert only_x.source != both.source
    assert np.isscalar(only_x(0.3, 0.4)) or np.ndim(only_x(0.3, 0.4)) == 0
    assert len(both(0.3, 0.4)) == 2


def test_cache_distinguishes_closures_with_different_cells():
    # Same code object, different free-variable values: results must not be mixed up.
    def make(a):
        def f(x):
            return a * x * x

        return f

    f2, f3 = make(2.0), make(3.0)
    np.testing.assert_allclose(s2sad.grad(f2)(1.5), 6.0, rtol=1e-12)
    np.testing.assert_allclose(s2sad.grad(f3)(1.5), 9.0, rtol=1e-12)
    np.testing.assert_allclose(s2sad.grad(f2)(1.5), 6.0, rtol=1e-12)


def test_generated_gradient_of_loop_and_branch_is_right():
    for x in (-0.6, 0.6):
        expected = numeric_grad(branchy, (x, 1.3), (0, 1))
        np.testing.assert_allclose(s2sad.grad(branchy, (0, 1))(x, 1.3), expected, rtol=1e-6, atol=1e-8)
    assert_grad_matches_fd(loopy, (0.4, 1.1), (0, 1))
    assert_grad_matches_fd(while_loopy, (0.5,))
    assert_grad_matches_fd(linear_loop, (0.5,))


def names_like_temporaries(h, W, xs):
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + xs[t])
    t = np.sum(h * h)
    t_bar = t * 2
    t1 = t_bar + 1.0
    return t1 * t


def test_user_names_that_look_like_temporaries_keep_their_names():
    src = s2sad.grad(names_like_temporaries).source
    assert "for t in " in src and "t = np.sum(" in src and "t_bar = t * 2" in src, src
    args = (np.full(3, 0.1), np.eye(3) * 0.5, np.full((4, 3), 0.2))
    assert s2sad.check_grad(names_like_temporaries, *args) < 1e-6
