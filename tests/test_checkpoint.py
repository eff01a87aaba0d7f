"""Checkpointing (issue 11 §3): ``grad(f, checkpoint=...)`` gives the full tape's gradient to the
last bits with O(√n) snapshots, for ``for`` loops over ``range`` at the top level of the function."""

import tracemalloc

import numpy as np
import pytest

import s2sad
from gradcheck import numeric_grad
from s2sad.runtime import segment_length


def scalar_loop(x, n):
    s = 0.0
    for i in range(n):
        s = np.sin(s) * x + 1.0
    return s


def two_carried(x, y, n):
    a = x
    b = y
    for i in range(n):
        a, b = b * 0.9, np.cos(a) + b * x
    return a * b


def branch_inside(x, n):
    s = 0.5
    for i in range(n):
        if s > 0.3:
            s = s * x - 0.1
        else:
            s = np.exp(s) * x
    return s


def nested(x, n):
    s = 0.0
    for i in range(n):
        for j in range(len(x)):
            s = np.tanh(s + x[j]) * x[i % len(x)]
    return s


def carried_array(x, n):
    v = x
    for i in range(n):
        v = np.sin(v) * x + 0.5 * v
    return np.sum(v * v)


def rnn(h, W, xs):
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + xs[t])
    return np.sum(h)


def two_loops(x, n):
    s = x
    for i in range(n):
        s = np.sin(s) + x
    t = 0.0
    for k in range(n + 1):
        t = t * 0.5 + s * np.cos(t)
    return t


def while_and_for(x, n):
    s = x
    k = 0
    while k < 3:
        s = np.sin(s) * x
        k = k + 1
    for i in range(n):
        s = s * np.cos(s) + x
    return s


def two_loops_over_one_array(y, v):
    t1 = y
    for e in v:
        t1 = t1 * 0.5
    t0 = y
    for e in v:
        t0 = np.tanh(np.log(1.0 + t0 * t0))
    return t0 + t1


RNG = np.random.default_rng(1)
VEC = RNG.normal(size=4) * 0.5
W = RNG.normal(size=(3, 3)) * 0.4
XS = RNG.normal(size=(11, 3))

CASES = [
    (scalar_loop, (0.7, 10), 0),
    (scalar_loop, (0.7, 1), 0),
    (scalar_loop, (0.7, 0), 0),
    (two_carried, (0.3, 0.8, 9), (0, 1)),
    (branch_inside, (0.9, 12), 0),
    (nested, (VEC, 5), 0),
    (carried_array, (VEC, 7), 0),
    (rnn, (np.zeros(3), W, XS), (1, 2)),
    (two_loops, (0.4, 6), 0),
    (while_and_for, (0.6, 8), 0),
    (two_loops_over_one_array, (0.3, np.arange(5.0)), 0),  # one range for both: pair each loop with its own
]
IDS = [f"{f.__name__}-{args[-1] if isinstance(args[-1], int) else 'arrays'}" for f, args, _ in CASES]


def _as_tuple(g):
    return g if isinstance(g, tuple) else (g,)


@pytest.mark.parametrize("option", ["sqrt", 1, 3, 100])
@pytest.mark.parametrize("f, args, wrt", CASES, ids=IDS)
def test_same_gradient_as_the_full_tape(f, args, wrt, option):
    full = _as_tuple(s2sad.grad(f, wrt=wrt)(*args))
    generated = s2sad.grad(f, wrt=wrt, checkpoint=option)
    assert "segment_length" in generated.source, generated.source  # checkpointed, not the full tape again
    checkpointed = _as_tuple(generated(*args))
    for a, b in zip(full, checkpointed):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("f, args, wrt", CASES, ids=IDS)
def test_matches_finite_differences(f, args, wrt):
    got = _as_tuple(s2sad.grad(f, wrt=wrt, checkpoint="sqrt")(*args))
    positions = (wrt,) if isinstance(wrt, int) else wrt
    for p, g in zip(positions, got):
        np.testing.assert_allclose(g, numeric_grad(f, args, wrt=p), rtol=1e-5, atol=1e-7)


def test_the_loop_is_rewritten_into_segments():
    src = s2sad.grad(scalar_loop, checkpoint="sqrt").source
    assert "segment_length(steps, 'sqrt')" in src, src
    assert "for start in reversed(segments):" in src, src
    full = s2sad.grad(scalar_loop).source
    assert "segment" not in full


def test_value_and_grad_with_checkpointing():
    value, gradient = s2sad.value_and_grad(scalar_loop, checkpoint=4)(0.7, 10)
    assert value == scalar_loop(0.7, 10)
    assert gradient == s2sad.grad(scalar_loop)(0.7, 10)


def _peak(fn, *args):
    fn(*args)
    tracemalloc.start()
    try:
        fn(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_grows_as_the_square_root():
    n = 10_000
    full = _peak(s2sad.grad(scalar_loop), 0.7, n)
    checkpointed = _peak(s2sad.grad(scalar_loop, checkpoint="sqrt"), 0.7, n)
    # full: 2 values per iteration (~800 KB); checkpointed: 100 snapshots and one 100-iteration tape
    assert checkpointed * 10 < full, (checkpointed, full)


@pytest.mark.parametrize("steps, option, expected", [
    (0, "sqrt", 1), (1, "sqrt", 1), (10, "sqrt", 4), (16, "sqrt", 4), (1_000_000, "sqrt", 1000),
    (100, 4, 25), (101, 4, 26), (3, 10, 1),
])
def test_segment_length(steps, option, expected):
    assert segment_length(steps, option) == expected


def writes_in_place(x, n):
    out = np.zeros(n)
    s = 0.0
    for i in range(n):
        s = np.sin(s) * x
        out[i] = s
    return np.sum(out)


def draws_random(x, n):
    s = 0.0
    for i in range(n):
        s = s * x + np.random.normal()
    return s


@pytest.mark.parametrize("f", [writes_in_place, draws_random])
def test_a_loop_that_cannot_be_run_again_is_refused(f):
    with pytest.raises(s2sad.CheckpointError) as info:
        s2sad.grad(f, checkpoint="sqrt")
    assert "line" in str(info.value) and "Hint:" in str(info.value)
    assert f.__name__ in str(info.value) or "test_checkpoint.py" in str(info.value)


def read_then_overwritten(x, c):
    c = c * 1.0
    s = 0.0
    for i in range(len(x)):
        if c[i] > 0:  # c is read only by the test: the reverse sweep does not put c[0] back
            s = np.sin(s) * x[i]
        else:
            s = np.cos(s) + x[i]
    c[0] = -5.0
    return s + np.sum(c)


def test_a_loop_reading_an_array_updated_after_it_is_refused():
    # the segments ran again on the updated c: a wrong gradient, silently
    with pytest.raises(s2sad.CheckpointError, match="updated in place after it") as info:
        s2sad.grad(read_then_overwritten, checkpoint=2)
    assert "line" in str(info.value) and "Hint:" in str(info.value)
    x, c = np.array([0.3, -0.7, 1.1, 0.4, 0.9]), np.array([1.0, -1.0, 1.0, -1.0, 1.0])
    expected = numeric_grad(read_then_overwritten, (x, c))
    np.testing.assert_allclose(s2sad.grad(read_then_overwritten)(x, c), expected, rtol=1e-6, atol=1e-8)


def overwritten_and_put_back(x):
    a = x * 2.0
    s = 0.0
    for i in range(len(x)):
        s = np.sin(s) + a[i] * x[i]
    a[1] = 10.0 * s  # the reverse sweep reads a: it puts a[1] back before the loop's segments
    return s + a[1] * x[0]


def test_an_update_after_the_loop_that_is_undone_is_checkpointed():
    x = np.array([0.3, -0.7, 1.1, 0.4, 0.9])
    g = s2sad.grad(overwritten_and_put_back, checkpoint=2)
    assert "segment_length" in g.source
    np.testing.assert_array_equal(g(x), s2sad.grad(overwritten_and_put_back)(x))


@pytest.mark.parametrize("option", [0, -3, True, "log", 2.5])
def test_bad_options_are_refused(option):
    with pytest.raises(s2sad.ArgumentError, match="checkpoint"):
        s2sad.grad(scalar_loop, checkpoint=option)


def test_helper_docstring_examples_run():
    import doctest

    from s2sad import runtime
    for helper in (runtime.segment_length, runtime.shape_of):
        finder = doctest.DocTestFinder().find(helper, globs={"np": np, helper.__name__: helper})
        runner = doctest.DocTestRunner()
        for test in finder:
            runner.run(test)
        assert runner.failures == 0 and runner.tries > 0, helper.__name__


def appended_then_overwritten(x):
    a = x * 1.0
    items = [x]
    items.append(a)
    s = 0.5
    for i in range(3):
        s = np.sin(s * items[1][i]) + s
    a[2] = 100.0
    return s + a[2] * x[0]


def test_a_loop_reading_a_list_holding_an_array_updated_after_it():
    # the segments ran again on the new a[2] (a wrong gradient, silently): now the update is undone first
    x = np.array([0.3, -0.7, 1.1, 0.4, 0.9])
    g = s2sad.grad(appended_then_overwritten, checkpoint=2)
    assert "segment_length" in g.source
    np.testing.assert_allclose(g(x), numeric_grad(appended_then_overwritten, (x,)), rtol=1e-6, atol=1e-8)
