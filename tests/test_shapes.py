"""Shape-aware specialization (s2sad/shapes.py, s2sad/specialize.py).

* The inference against what NumPy actually computes: every value an IR binds, run by a small
  interpreter, has the shape (sizes, up to the signature's symbols), dtype and Python-ness the
  inference claims, on generated programs and on hand-written ones with broadcasting, size-1
  axes, 0-d arrays, float32 and matrix products.
* Every specialized gradient against central differences, for many shape combinations.
* A gradient built for one signature is never used for another.

``S2SAD_LONG=1`` checks the inference on 500 random generated programs (a minute or so).
"""

from __future__ import annotations

import builtins
import hashlib
import os
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import s2sad
from gradcheck import module_from_source, numeric_grad
from program_generator import arguments, programs
from s2sad import ir, shapes
from s2sad.frontend import parse_function
from s2sad.lower import lower_function
from s2sad.simplify import simplify

LONG = os.environ.get("S2SAD_LONG") == "1"  # 500 random generated programs instead of 12 fixed ones

# ------------------------------------------------------------------ an IR interpreter


class Unrunnable(Exception):
    """The IR calls something only its compiled code can call."""


def run_ir(fn: ir.Function, args) -> list:
    """Run `fn` on `args`; returns every (Var, value) binding in the order they happen."""
    env, seen, tape = {}, [], []

    def bind(var, value):
        env[var] = value
        seen.append((var, _facts(value)))

    def atom(a):
        if isinstance(a, ir.Var):
            return env[a]
        return a.value

    def block(stmts):
        for stmt in stmts:
            if isinstance(stmt, ir.Assign):
                if not callable(stmt.func.value):  # a generated subroutine (power_fwd): compiled with the code
                    raise Unrunnable(stmt.func)
                kwargs = {k: atom(a) for k, a in stmt.kwargs}
                bind(stmt.target, stmt.func.value(*[atom(a) for a in stmt.args], **kwargs))
            elif isinstance(stmt, ir.Push):
                tape.append(atom(stmt.value))
            elif isinstance(stmt, ir.Pop):
                bind(stmt.target, tape.pop())
            elif isinstance(stmt, ir.If):
                taken = bool(atom(stmt.cond))
                block(stmt.then_body if taken else stmt.else_body)
                for phi in stmt.phis:
                    bind(phi.target, atom(phi.then_value if taken else phi.else_value))
            elif isinstance(stmt, ir.For):
                for c in stmt.carried:
                    bind(c.arg, atom(c.init))
                items = atom(stmt.iterable)
                for item in (builtins.reversed(items) if stmt.reverse else items):
                    bind(stmt.index, item)
                    block(stmt.body)
                    nexts = [atom(c.next) for c in stmt.carried]
                    for c, value in zip(stmt.carried, nexts):
                        bind(c.arg, value)
                for c in stmt.carried:
                    bind(c.out, env[c.arg])
            elif isinstance(stmt, ir.While):
                for c in stmt.carried:
                    bind(c.arg, atom(c.init))
                while True:
                    block(stmt.cond_body)
                    if not atom(stmt.cond):
                        break
                    block(stmt.body)
                    nexts = [atom(c.next) for c in stmt.carried]
                    for c, value in zip(stmt.carried, nexts):
                        bind(c.arg, value)
                for c in stmt.carried:
                    bind(c.out, env[c.arg])
            elif isinstance(stmt, ir.Assert):
                assert atom(stmt.test)
            elif isinstance(stmt, ir.Marker):
                pass
            else:
                raise NotImplementedError(stmt)

    for p, a in zip(fn.params, args):
        bind(p.var, a)
    with np.errstate(all="ignore"):
        block(fn.body)
    return seen


def _facts(value):
    """(shape, dtype, is a Python number) of a value, or None when it is no number or array."""
    if type(value) in (float, int, bool):
        return (), np.asarray(value).dtype if type(value) is not int else np.dtype(np.int64), True
    if isinstance(value, (np.ndarray, np.generic)):
        return value.shape, value.dtype, False
    return None


def _sizes(args) -> dict:
    """Each Size symbol of `shapes.signature(args)` -> the size it stands for."""
    found = {}
    for value, abstract in zip(args, shapes.signature(args)):
        if abstract.shape is not None:
            for n, size in zip(np.shape(value), abstract.shape):
                if isinstance(size, shapes.Size):
                    assert found.setdefault(size, n) == n
    return found


def assert_inference_holds(fn, args) -> int:
    """Every binding of running `fn` on `args` agrees with `shapes.infer`; returns how many known
    facts were checked (a test that checks nothing must not pass silently)."""
    inferred = shapes.infer(fn, shapes.signature(args))
    sizes = _sizes(args)
    checked = 0
    try:
        bindings = run_ir(fn, args)
    except Unrunnable:
        return 0
    for var, facts in bindings:
        claim = inferred.get(var)
        if claim is None:
            continue
        where = f"{var} claimed {claim.describe()} ({claim}), is {facts}\n{ir.format_function(fn)}"
        if claim.shape is not None or claim.dtype is not None:
            assert facts is not None, where
            shape, dtype, python = facts
        if claim.shape is not None:
            assert len(shape) == len(claim.shape), where
            for n, size in zip(shape, claim.shape):
                if isinstance(size, shapes.Size):
                    assert sizes[size] == n, where
                elif isinstance(size, shapes.SliceLength):
                    assert max(sizes[size.base] - size.less, 0) == n, where
                elif size is not None:
                    assert size == n, where
            checked += 1
        if claim.dtype is not None:
            assert dtype == claim.dtype, where
        if claim.python:  # True is a claim; False only means "not known to be a Python number"
            assert python, where
    return checked


def _primal_ir(f):
    return simplify(lower_function(parse_function(f)))


def _all_irs(f, args):
    """The function's IR, its generic gradient's, and the gradient's specialized for `args`."""
    wrt = tuple(i for i, a in enumerate(args) if np.asarray(a).dtype.kind == "f")
    generic = s2sad.grad(f, wrt=wrt)
    return [_primal_ir(f), generic.ir, generic.for_shapes(*args).ir]


# ------------------------------------------------------------------ hand-written programs


def bcast(x, w, b):
    return np.sum(np.tanh(x * w + b) ** 2)


def row_col(a, b):
    return np.sum(np.sin(a + b) * a)


def reductions(a, b):
    return np.sum(np.mean(a, axis=0) * b) + np.sum(np.max(a, axis=-1, keepdims=True) * a)


def matmuls(X, W, v):
    z = X @ W
    return np.sum(np.tanh(z) @ v) + np.sum(np.dot(X, W) ** 2)


def layer(X, W):
    z = X @ W
    return np.sum(np.tanh(z))


def mixed_dot(a, b):
    return np.sum(np.dot(a, b) ** 2) + np.sum((a @ b) * 0.5)


def pdf(x, mu, s):
    return np.exp(-0.5 * ((x - mu) / s) ** 2) / (s * np.sqrt(2 * np.pi))


def logistic_one(w, x, y):
    z = w * x
    return np.log(1.0 + np.exp(-y * z))


def pdf_total(x, mu, s):
    return np.sum(pdf(x, mu, s))


def logistic_total(w, x, y):
    return np.sum(logistic_one(w, x, y))


def scalar_loop(x, n):
    s = x
    for i in range(n):
        s = np.sin(s) * x + 0.1 * i
    return s


def rosen_loop(x):
    total = 0.0
    for i in range(len(x) - 1):
        total = total + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return total


def branchy(x, v):
    if x > 0.0:
        y = v * x
    else:
        y = v + x
    return np.sum(y * y) + x


def sum_tanh(x):
    return np.sum(np.tanh(x) * x)


def softmax_loss(W, b, X, Y):
    z = X @ W + b
    log_p = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.sum(log_p * Y) / X.shape[0]


def row_sums(a):
    # the adjoint of a keepdims sum is the gradient itself: it must be spread to a's shape
    return np.sum(np.sum(a, axis=1, keepdims=True) ** 2)


def last_item(x, v):
    # found by the generated programs: the adjoint's loop carries a NumPy scalar or a 0-d array,
    # which runtime.zeros_like tells apart (np.float64 is a float)
    t = 0.5
    for e in v:
        t = e
    return np.sum(t)


def rosen_vec(x):
    # x[1:] and x[:-1] are both max(n - 1, 0) long: equal, so nothing is unbroadcast
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def shifted(x, y):
    # x[1:] is 1 long for a 2-vector: it stretches against y; x[:-2] may be empty
    return np.sum(np.sin(x[1:]) * y + x[:-1] * x[1:]) + np.sum(x[2:] * x[:-2])


def sliced(x, w):
    # x[1:] has a size the signature does not know: it may be 1, so w's (1,) may be stretched
    return np.sum(x[1:] * w) + np.sum(x[:-1] * x[1:])


def outer_sum(x, w):
    # the sum's adjoint is read with x (3,) and w (4, 1): neither has the full (4, 3) shape
    return np.sum(x * w)


def int_or_float(x):
    # found by the generated programs: a carried value that is a float or an int (NumPy reads
    # `dtype == None` as float64, which once made the join keep a dtype)
    t = x
    for i in range(2):
        if x > 0.0:
            t = i
    return np.sum(x) + np.sum(t) * x


def sums_meet(v):
    # found by the generated programs: the two sums' adjoints meet in one addition, and each was
    # made a scalar judged by the other's (array) shape: the gradient came out as the scalar 3.0
    t = v * 1.5
    return np.sum(t) + np.sum(0.5 + t)


def sums_meet_scaled(v, w):
    t = v * w
    return np.sum(t) * 2.0 + np.sum(np.sin(t)) + np.sum(t + 1.0) * 0.5


def ints_and_data(w, idx, data):
    return np.sum(w * data[idx]) + np.sum(data * 2)


rng = np.random.default_rng(3)


def _a(*shape, dtype=np.float64):
    return (rng.standard_normal(shape) * 0.7).astype(dtype)


SHAPE_CASES = [
    (bcast, (_a(4, 3), _a(3), 0.3)),
    (bcast, (_a(4, 3), _a(1, 3), _a(4, 1))),
    (bcast, (_a(4, 1), _a(3), np.float64(0.2))),
    (bcast, (_a(3), _a(3), _a())),  # a 0-d array
    (bcast, (_a(1), _a(3), 0.1)),  # a 1-element array against a vector
    (bcast, (_a(1, 1), _a(1), _a(1))),
    (bcast, (_a(3, 3), _a(3, 3), _a(3, 3))),  # equal sizes share one symbol
    (bcast, (0.5, 1.5, 0.25)),  # Python floats
    (bcast, (np.float64(0.5), 1.5, _a(2, 1))),
    (row_col, (_a(4, 1), _a(1, 5))),
    (row_col, (_a(2, 3), _a(3))),
    (row_col, (_a(3), _a(2, 1))),
    (reductions, (_a(4, 3), _a(3))),
    (reductions, (_a(1, 3), _a(1))),
    (matmuls, (_a(4, 3), _a(3, 2), _a(2))),
    (matmuls, (_a(1, 3), _a(3, 1), _a(1))),
    (matmuls, (_a(3, 3), _a(3, 3), _a(3))),
    (mixed_dot, (_a(3), _a(3, 2))),
    (mixed_dot, (_a(4, 3), _a(3))),
    (mixed_dot, (_a(3), _a(3))),
    (mixed_dot, (_a(2, 3), _a(3, 4))),
    (sums_meet, (_a(3),)),
    (sums_meet_scaled, (_a(3), _a(3))),
    (sums_meet_scaled, (_a(2, 3), _a(3))),
    (pdf, (0.3, 0.1, 1.2)),
    (pdf_total, (_a(5), 0.1, 1.2)),
    (pdf_total, (np.float64(0.3), _a(2, 1), _a(3))),
    (logistic_one, (0.5, 2.0, 1.0)),
    (logistic_total, (_a(3), _a(3), 1.0)),
    (scalar_loop, (0.7, 5)),
    (scalar_loop, (np.float64(0.3), 4)),
    (rosen_loop, (_a(6),)),
    (rosen_loop, (_a(2),)),
    (branchy, (0.5, _a(3))),
    (branchy, (-0.5, _a(2, 2))),
    (sum_tanh, (_a(5),)),
    (sum_tanh, (_a(1),)),
    (sum_tanh, (_a(),)),
    (sum_tanh, (0.4,)),
    (last_item, (0.3, _a(3))),
    (row_sums, (_a(4, 3),)),
    (softmax_loss, (_a(3, 2), _a(2), _a(4, 3), _a(4, 2))),
    (softmax_loss, (_a(3, 1), _a(1), _a(4, 3), _a(4, 1))),
    (sliced, (_a(4), _a(1))),
    (sliced, (_a(4), _a(3))),
    (outer_sum, (_a(3), _a(4, 1))),
    (rosen_vec, (_a(6),)),
    (rosen_vec, (_a(2),)),
    (rosen_vec, (_a(1),)),
    (shifted, (_a(2), _a(3))),
    (shifted, (_a(4), _a(3))),
    (shifted, (_a(3), _a(1))),
    (int_or_float, (0.3,)),
    (int_or_float, (-0.3,)),
    (ints_and_data, (_a(3), 1, _a(4, 3))),
    (ints_and_data, (_a(3), np.int64(2), _a(4, 3))),
]
SHAPE_IDS = [f"{f.__name__}-" + "-".join(str(np.shape(a)) if isinstance(a, np.ndarray) else type(a).__name__
                                         for a in args) for f, args in SHAPE_CASES]
FLOAT32_CASES = [(bcast, (_a(4, 3, dtype=np.float32), _a(3, dtype=np.float32), 0.3)),
                 (sum_tanh, (_a(5, dtype=np.float32),)),
                 (matmuls, (_a(4, 3, dtype=np.float32), _a(3, 2), _a(2)))]


@pytest.mark.parametrize("f, args", SHAPE_CASES + FLOAT32_CASES,
                         ids=SHAPE_IDS + [f"float32-{f.__name__}" for f, _ in FLOAT32_CASES])
def test_the_inference_agrees_with_numpy(f, args):
    checked = sum(assert_inference_holds(fn, args) for fn in _all_irs(f, args))
    assert checked > 0


@given(program=programs(control_flow=True), data=arguments(("x", "y", "v")))
@settings(max_examples=500 if LONG else 12, deadline=None, derandomize=not LONG,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_the_inference_agrees_with_numpy_on_generated_programs(program, data, tmp_path_factory):
    source, _, _ = program
    name = "s2sad_shapes_" + hashlib.sha1(source.encode()).hexdigest()[:16]
    directory = tmp_path_factory.getbasetemp() / "shapes_programs"
    directory.mkdir(exist_ok=True)
    f = module_from_source(directory, name, source).f
    args = tuple(data)
    try:
        with np.errstate(all="raise"):
            f(*args)
    except (FloatingPointError, OverflowError, ZeroDivisionError):
        return
    for fn in _all_irs(f, args):
        assert_inference_holds(fn, args)


# ------------------------------------------------------------------ gradients


def _wrt(args):
    return tuple(i for i, a in enumerate(args) if np.asarray(a).dtype.kind == "f")


@pytest.mark.parametrize("f, args", SHAPE_CASES + FLOAT32_CASES,
                         ids=SHAPE_IDS + [f"float32-{f.__name__}" for f, _ in FLOAT32_CASES])
def test_specialized_gradients_match_central_differences(f, args):
    wrt = _wrt(args)
    grad = s2sad.grad(f, wrt=wrt)
    got = grad(*args)
    generic = grad._func(*[float(a) if type(a) is int and i in wrt else a for i, a in enumerate(args)])
    wide = [np.asarray(a, dtype=np.float64) if isinstance(a, np.ndarray) and a.dtype == np.float32 else a
            for a in args]
    expected = numeric_grad(f, wide, wrt=wrt)
    float32 = any(isinstance(a, np.ndarray) and a.dtype == np.float32 for a in args)
    tol = dict(rtol=2e-3, atol=2e-3) if float32 else dict(rtol=1e-6, atol=1e-8)
    for g, e, old, i in zip(got, expected, generic, wrt):
        assert np.shape(g) == np.shape(args[i]), (i, np.shape(g), np.shape(args[i]))
        np.testing.assert_allclose(g, e, **tol, err_msg=grad.for_shapes(*args).source)
        if not float32:  # (float32 takes the general path, which casts the gradient back to float32)
            np.testing.assert_allclose(g, old, rtol=1e-12, atol=1e-14)  # as the generic code computes it
            assert np.asarray(g).dtype == np.asarray(old).dtype


def test_specialized_code_drops_the_helpers():
    """The cases the readability target names: no helper left where the shapes are known."""
    for f, args in [(sum_tanh, (_a(5),)), (pdf, (0.3, 0.1, 1.2)), (bcast, (_a(3, 3), _a(3, 3), _a(3, 3))),
                    (matmuls, (_a(4, 3), _a(3, 2), _a(2))), (mixed_dot, (_a(3), _a(3, 2)))]:
        text = s2sad.grad(f, wrt=_wrt(args)).for_shapes(*args).source
        for helper in ("unbroadcast", "unreduce", "scalar_seed", "matmul_bar", "tensordot"):
            assert helper not in text, text
    text = s2sad.grad(rosen_vec).for_shapes(_a(6)).source  # x[1:] and x[:-1] have one length
    assert not re.search(r"unbroadcast|full_like|unreduce", text), text
    text = s2sad.grad(layer, wrt=(0, 1)).for_shapes(_a(4, 3), _a(3, 2)).source
    assert re.search(r"X_bar = \w+ @ W\.T\n", text) and re.search(r"W_bar = X\.T @ \w+\n", text), text


def test_unknown_shapes_keep_the_helpers():
    """Broadcast axes keep unbroadcast (a (4, 3) gradient summed to w's (3,)); the generic code too."""
    text = s2sad.grad(bcast, wrt=(0, 1, 2)).for_shapes(_a(4, 3), _a(3), 0.3).source
    assert "unbroadcast(" in text
    assert "unbroadcast(" in s2sad.grad(sum_tanh).source


def test_a_gradient_built_for_one_signature_is_never_used_for_another():
    grad = s2sad.grad(bcast, wrt=(0, 1, 2))
    calls = [(_a(4, 3), _a(3), 0.3), (_a(4, 3), _a(4, 3), _a(4, 3)), (_a(4, 3), _a(1, 3), _a(4, 1)),
             (_a(5, 3), _a(3), 0.3), (_a(3, 3), _a(3), 0.3), (_a(4, 3), _a(3), np.float64(0.3)),
             (_a(4, 3), _a(3), _a()), (_a(4, 3), _a(3), 1)]
    for args in calls * 2:  # the second round takes the remembered variants
        runs = grad.for_shapes(*args)
        for key_args in calls:
            other = grad.for_shapes(*key_args)
            same = shapes.signature(args) == shapes.signature(
                [float(a) if type(a) is int else a for a in key_args])
            assert (other is runs) or not same
        got = grad(*args)
        expected = numeric_grad(bcast, [float(a) if type(a) is int else a for a in args], wrt=(0, 1, 2))
        for g, e, a in zip(got, expected, args):
            assert np.shape(g) == np.shape(a)
            np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)
    # (3, 3) and (4, 3) differ in which sizes are equal: two signatures, two codes
    assert shapes.signature((_a(3, 3), _a(3), 0.3)) != shapes.signature((_a(4, 3), _a(3), 0.3))
    # a new batch size is the same signature: no new code
    assert grad.for_shapes(_a(7, 3), _a(3), 0.3) is grad.for_shapes(_a(4, 3), _a(3), 0.3)


def test_the_call_key_tells_sizes_apart():
    """A call key remembers exact shapes: (3, 3) after (4, 3) must not reuse (4, 3)'s variant, whose
    code assumes the two sizes differ."""
    grad = s2sad.grad(row_col, wrt=(0, 1))
    for a, b in [(_a(4, 3), _a(3)), (_a(3, 3), _a(3)), (_a(3, 1), _a(3)), (_a(4, 3), _a(3))]:
        expected = numeric_grad(row_col, [a, b], wrt=(0, 1))
        for g, e, x in zip(grad(a, b), expected, (a, b)):
            assert np.shape(g) == np.shape(x)
            np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)


def test_show_with_example_arguments(capsys):
    s2sad.show(sum_tanh, example_args=(_a(4),))
    out = capsys.readouterr().out
    assert "unbroadcast" not in out and "x_bar" in out
    s2sad.show(sum_tanh)
    assert "unbroadcast" in capsys.readouterr().out
    with pytest.raises(s2sad.S2SADError, match="tuple"):
        s2sad.source(sum_tanh, example_args=_a(4))


def test_a_stale_derivative_drops_its_specialized_code(tmp_path):
    source = "import numpy as np\ndef helper(x):\n    return x * 2.0\n" \
             "def f(x):\n    return np.sum(helper(x) * x)\n"
    module = module_from_source(tmp_path, "s2sad_shapes_stale", source)
    other = module_from_source(tmp_path, "s2sad_shapes_stale_2", source.replace("2.0", "3.0"))
    grad = s2sad.grad(module.f)
    x = _a(3)
    np.testing.assert_allclose(grad(x), 4.0 * x)
    module.helper = other.helper  # a helper redefined, as in a notebook
    np.testing.assert_allclose(grad(x), 6.0 * x)
    np.testing.assert_allclose(grad(x), 6.0 * x)


def int_weights(y, k):
    return y * k[0] + y * k[1]


def int_scale(y, n):
    return n * y


def float32_data(x, y):
    return np.mean(x) * np.sum(y) + np.sum(np.mean(x) + y * y)


@pytest.mark.parametrize("f, args, expected", [
    (int_weights, (1.5, np.array([100, 100], dtype=np.int8)), 200.0),  # was int8 -56: 1.0 * k[0] dropped to k[0]
    (int_weights, (1.5, np.array([1, 2], dtype=np.uint8)), 3.0),
    (int_scale, (1.5, 3), 3.0),  # was the int 3
    (float32_data, (1.5, np.ones(4, np.float32)), 8.0),  # was float32: a Python 1.0 for np.float64(1.0)
])
def test_the_seed_is_a_literal_only_where_no_dtype_follows_from_it(f, args, expected):
    """Specialized code replaces ``scalar_seed(y)`` by ``1.0``, and `simplify` drops ``1.0 * v``:
    the gradient of a float must stay the float64 the generic code computes, not take an int's
    or float32's dtype (nor wrap around)."""
    grad = s2sad.grad(f)
    for _ in range(2):  # the first call builds the specialized code, the second runs the cached one
        got = grad(*args)
        assert np.asarray(got).dtype == np.float64 and got == expected
    generic = grad._call_general(args, {})
    assert np.asarray(generic).dtype == np.float64 and generic == expected
