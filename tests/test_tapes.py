"""Lean tapes (issue 11 §2): a loop saves only what its reverse sweep reads and cannot get otherwise.

Each case pins what one iteration pushes, so a change that tapes more fails here, and checks the
gradient against central differences (the tape changes must not change a single value).
"""

import math
import sys

import numpy as np
import pytest

import s2sad
from s2sad.tape import pushes_by_loop
from gradcheck import assert_grad_matches_fd


def sin_loop(x):
    s = 0.0
    for i in range(20):
        s = np.sin(s) * x + 1.0
    return s


def four_statements(x, y):
    s = 0.0
    for i in range(20):
        a = s * x
        b = np.sin(a) + y
        c = b * b
        s = c * 0.5 + s
    return s


def rnn(x, W):
    h = np.zeros(3)
    for t in range(4):
        h = np.tanh(W @ h + x[t])
    return np.sum(h)


def vector_loop(x):
    v = x
    for i in range(10):
        v = np.sin(v) * x + v
    return np.sum(v)


def invariant_in_loop(x, w):
    s = 0.0
    for i in range(len(x) - 1):
        c = np.cos(w) * 2.0
        s = s + c * x[i + 1] * x[i]
    return s


def branch_in_loop(x, w):
    s = 0.0
    for i in range(len(x)):
        if x[i] > 0:
            s = s + w * x[i] ** 2
        else:
            s = s - np.sin(x[i])
    return s


def while_rnn(x, W):
    h = np.zeros(3)
    t = 0
    while t < 4:
        h = np.tanh(W @ h + x[t])
        t = t + 1
    return np.sum(h * h)


def nested_loops(x):
    s = 0.0
    for i in range(3):
        for j in range(len(x)):
            s = np.sin(s + x[j]) * x[i]
    return s


def rosenbrock_loop(x):
    s = 0.0
    for i in range(len(x) - 1):
        s = s + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


def carried_witness(v, x):
    # the shape of np.sin(t) is read from t, whose next value the reverse loop carries down
    # instead of saving: the witness kept its forward name (IRError: read before it is bound)
    w = np.zeros(3)
    t = v * x
    for i in range(2):
        if x > 0.0:
            t = v * 1.5
        np.add.at(w, [0, 2, 0], np.sin(t))
    return np.sum(w) + np.sum(t)


RNG = np.random.default_rng(0)
W = RNG.normal(size=(3, 3)) * 0.5
XS = RNG.normal(size=(4, 3))
VEC = RNG.normal(size=5)

# (function, arguments, wrt, names pushed per iteration of each saving loop, outermost first)
CASES = [
    (sin_loop, (0.7,), 0, [["s", "t2"]]),
    (four_statements, (0.3, 0.2), (0, 1), [["s", "b", "a"]]),             # was s, t3, b, t2, a
    (rnn, (XS, W), (0, 1), [["h", "t_shape"]]),                          # was h, h, t2 (h twice)
    (vector_loop, (VEC,), 0, [["v", "t_shape", "t2"]]),                   # t3 only for its shape
    (invariant_in_loop, (VEC, 0.4), (0, 1), [["s_shape", "t_shape"]]),  # c, x[i + 1], c * x[i + 1] computed again
    (branch_in_loop, (VEC, 0.4), (0, 1), [["t_shape", "s_shape"]]),     # the test x[i] > 0 computed again
    (while_rnn, (XS, W), (0, 1), [["t", "h", "t_shape", "t_shape_1"]]),
    (nested_loops, (VEC[:3],), 0, [["s_shape", "t3", "t2"]]),              # range(len(x)) not saved
    # was 9 (s and 8 temporaries); arithmetic of x[i + 1], x[i] has their shape: x[i + 1] read again for it
    (rosenbrock_loop, (VEC,), 0, [["s_shape", "t_shape"]]),
    (carried_witness, (VEC[:3], 0.4), (0, 1), [["w_shape", "t", "t4", "w", "w_saved", "t_shape", "t2"]]),
]


def _pushed_names(generated):
    """What the generated code's ``tape.append(...)`` lines push, in order."""
    return [line.strip()[len("tape.append("):-1] for line in generated.source.splitlines()
            if line.strip().startswith("tape.append(")]


@pytest.mark.parametrize("f, args, wrt, expected", CASES, ids=[c[0].__name__ for c in CASES])
def test_pushes_per_iteration(f, args, wrt, expected):
    generated = s2sad.grad(f, wrt=wrt)
    per_loop = [len(values) for _, values in pushes_by_loop(generated.ir)]
    assert per_loop == [len(names) for names in expected], generated.source
    assert sorted(_pushed_names(generated)) == sorted(n for names in expected for n in names), generated.source


@pytest.mark.parametrize("f, args, wrt, expected", CASES, ids=[c[0].__name__ for c in CASES])
def test_gradient_matches_finite_differences(f, args, wrt, expected):
    assert_grad_matches_fd(f, args, wrt=wrt)


def test_rnn_saves_the_hidden_state_once():
    src = s2sad.grad(rnn, wrt=(0, 1)).source
    assert src.count("tape.append(h)") == 1, src


def test_cost_counts_a_shape_stand_in_as_its_list_slot():
    # the stand-ins are shared (one per shape): a push of one keeps 8 bytes alive, not another array object
    (loop,) = s2sad.grad(rnn, wrt=(0, 1)).cost(XS, W).loops
    assert loop.names == ["h", "t_shape"], loop
    assert loop.bytes_per_iteration == (sys.getsizeof(np.zeros(3)) + 8) + 8, loop  # was 264 (t_shape: 120)


def test_shape_stand_in_keeps_no_data():
    from s2sad.runtime import shape_of, unbroadcast
    big = np.ones((1000, 3))
    stand_in = shape_of(big)
    assert stand_in.shape == big.shape and stand_in.nbytes == big.nbytes  # nbytes counts the view...
    assert stand_in.base is not None and stand_in.base.size == 1          # ...of one number
    g = np.ones((1000, 3))
    np.testing.assert_array_equal(unbroadcast(g, shape_of(np.ones(3))), unbroadcast(g, np.ones(3)))
    assert unbroadcast(g, shape_of(2.0)) == unbroadcast(g, 2.0) and isinstance(unbroadcast(g, shape_of(2.0)), float)
    # shared: a saved stand-in costs the tape's list slot alone
    assert shape_of(np.float64(2.0)) is shape_of(np.float64(-1.0)) and shape_of(big) is shape_of(np.zeros((1000, 3)))


# ---------------------------------------------------------------------------- grad(f).cost(...)


def known_loop(x, n):
    s = 0.0
    for i in range(n):
        s = np.sin(s) * x + 1.0
    return s


def test_cost_reports_the_tape_of_a_known_loop():
    report = s2sad.grad(known_loop).cost(0.5, 50)
    (loop,) = report.loops
    assert loop.line == known_loop.__code__.co_firstlineno + 2 and loop.text == "for i in range(n):"
    assert loop.names == ["s", "t2"] and loop.pushes == 100 and loop.iterations == 50
    # t2 = np.sin(s), a NumPy float64 scalar: 8 bytes on the float tape; s is the float 0.0 first and
    # a NumPy scalar after: 8 bytes on the float tape and a byte of kind (was an object and a list slot)
    assert loop.bytes == 50 * 8 + 50 * (8 + 1)
    assert report.pushes == 100 and report.tape_bytes == loop.bytes
    assert report.function_seconds > 0 and report.derivative_seconds > 0
    assert report.ratio == report.derivative_seconds / report.function_seconds and report.bound == 4.0
    assert f"loop at line {loop.line}" in report.hint and "2 values per iteration" in report.hint and "checkpoint" in report.hint
    text = str(report)
    assert "saves 2 per iteration (s, t2)" in text and "50 iterations" in text


def test_cost_of_a_checkpointed_loop_shows_a_smaller_peak():
    # (the full tape keeps 17 bytes an iteration on float tapes; the segments' NumPy scalars are on the list)
    full = s2sad.grad(known_loop).cost(0.5, 1600)
    checkpointed = s2sad.grad(known_loop, checkpoint="sqrt").cost(0.5, 1600)
    assert checkpointed.tape_bytes * 5 < full.tape_bytes
    assert [len(loop.names) for loop in checkpointed.loops] == [1, 2]  # the snapshots, one segment's tape
    assert checkpointed.loops[0].iterations == 40 and checkpointed.hint.startswith("checkpointed")


def test_cost_hint_of_a_derivative_without_checkpointing():
    report = s2sad.hvp(known_loop).cost(0.5, 20, 1.0)
    assert report.loops and "checkpoint" not in report.hint  # hvp takes no checkpoint=


def test_cost_without_a_tape():
    report = s2sad.grad(lambda x: np.sum(np.sin(x))).cost(np.ones(3))
    assert report.loops == [] and report.tape_bytes == 0 and report.hint.startswith("no tape")


@pytest.mark.parametrize("args", [(), (np.ones(3), 2.0), ("abc",)])
def test_cost_with_wrong_arguments_says_so_as_a_call_does(args):
    g = s2sad.grad(lambda x: np.sum(np.sin(x)))  # no tape: the function was timed first, a bare TypeError
    with pytest.raises(s2sad.ArgumentError) as call:
        g(*args)
    with pytest.raises(s2sad.ArgumentError) as cost:
        g.cost(*args)
    assert str(cost.value) == str(call.value)


def test_cost_leaves_the_derivative_as_it_was():
    g = s2sad.grad(known_loop)
    before = g(0.5, 10)
    g.cost(0.5, 10)
    assert g(0.5, 10) == before and "measured_tape" not in g.source


def test_cost_docstring_example_runs():
    import doctest

    from s2sad.api import GeneratedFunction
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in doctest.DocTestFinder().find(GeneratedFunction.cost, globs={}):
        runner.run(test)
    assert runner.failures == 0 and runner.tries > 0


def item_of_a_list_overwritten_after(x):
    a = x * 1.0
    items = [a, x]
    s = 0.5
    for i in range(3):
        s = np.sin(s * items[0][i]) + s  # items[0][i] read again in the reverse sweep: it is a[i]
    a[2] = 100.0
    return s + a[2] * x[0]


def row_of_a_list_overwritten_after(x):
    a = x * 1.0
    items = [a, x]
    s = 0.5
    for i in range(3):
        s = np.sum(np.sin(s * items[0][i])) + s  # the row saved is a view of a
    a[2] = 100.0
    return s + np.sum(a[2] * x[0])


@pytest.mark.parametrize("f, x", [(item_of_a_list_overwritten_after, VEC),
                                  (row_of_a_list_overwritten_after, RNG.normal(size=(4, 3)))])
def test_an_item_of_a_list_is_read_as_it_was(f, x):
    # the list holds the array updated after the loop: an item read again, or a view of it saved,
    # gave the new value (a wrong gradient, silently)
    assert_grad_matches_fd(f, (x,))


# ---------------------------------------------------------------------------- typed tapes (issue 11 §2)


def math_loop(x, n):
    s = x
    for i in range(n):
        s = math.sin(s) * x + 0.5  # Python floats throughout
    return s


def bench_scalar_loop(x, n):
    s = x
    for i in range(n):
        t = s * 0.99
        u = np.tanh(t)
        s = u + 0.01 * x
    return s


def bench_rnn(h, W, xs):
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + xs[t])
    return np.sum(h * h)


def division_loop(x, n):
    s = x
    for i in range(n):
        s = np.sin(s) * x  # 0.0 at x == 0.0: the reverse sweep divides by nothing, but reads s's type
    return 1.0 / (s + 1.0)


@pytest.mark.parametrize("f, args, wrt, per_iteration", [
    (math_loop, (0.3, 40), 0, 2 * 8),        # s and math.sin(s), Python floats: were 2 * (24 + 8)
    (bench_scalar_loop, (0.5, 40), 0, 8),    # u, a NumPy float64 scalar: was 32 + 8
    # b on the float tape; s, a Python float on the first iteration and a NumPy scalar after, too, with a
    # byte of kind; a = s * x computed again from s: was 8 + 2 * 40 (s and a on the list tape)
    (four_statements, (0.3, 0.2), (0, 1), 8 + 9),
    (rosenbrock_loop, (VEC,), 0, None),      # nothing: was s_shape, t_shape (read for their shape only)
])
def test_a_float64_scalar_costs_8_bytes(f, args, wrt, per_iteration):
    report = s2sad.grad(f, wrt=wrt).cost(*args)
    if per_iteration is None:
        assert report.loops == [] and report.tape_bytes == 0, report
        return
    (loop,) = report.loops
    # the first iteration may save a Python float (24 bytes) where the others save a NumPy one (32)
    assert abs(loop.bytes_per_iteration - per_iteration) <= 16.0 / loop.iterations, report


@pytest.mark.parametrize("n", [100, 1000])
def test_a_vector_loop_saves_one_array_an_iteration_when_shapes_are_known(n):
    # v = np.sin(v) * x + v saved v and t2 = np.sin(v) (the generic code also t_shape): 2 arrays where
    # one is needed; t2 is computed again from the v popped in the reverse sweep
    x = np.random.default_rng(n).uniform(-0.5, 0.5, size=n)
    g = s2sad.grad(vector_loop)
    (loop,) = g.cost(x).loops
    assert loop.names == ["v"] and loop.bytes_per_iteration == sys.getsizeof(x) + 8, loop  # was 2 arrays
    assert loop.bytes_per_iteration <= 2 * x.nbytes  # the bound: 2x the bytes strictly needed
    assert "np.sin(v)" in g.for_shapes(x).source.split("# reverse sweep")[1]
    assert np.array_equal(g(x), g._func(x))  # bit for bit the generic code's (which saves t2)
    if n <= 100:  # (a sum of 1000 terms: finite differences lose the digits to check)
        assert_grad_matches_fd(vector_loop, (x,))


def exp_then_sin(x, w):
    v = x
    for i in range(4):
        a = np.exp(v * w)  # saved (the reverse sweep reads it for exp's derivative)
        b = np.sin(a)      # computed again from the a popped in the reverse sweep
        v = b * a + v * 0.5
    return np.sum(v * x)


@pytest.mark.parametrize("w", [0.7, -0.7])
def test_recomputed_saves_keep_the_gradient(w):
    x = np.random.default_rng(3).uniform(-0.5, 0.5, size=5)
    g = s2sad.grad(exp_then_sin, wrt=(0, 1))
    source = g.for_shapes(x, w).source
    assert "tape.append(b)" in g.source and "tape.append(b)" not in source, source
    assert "b = np.sin(a)" in source.split("# reverse sweep")[1], source
    assert_grad_matches_fd(exp_then_sin, (x, w), wrt=(0, 1))
    assert _same(g(x, w), g._func(x, w))


@pytest.mark.parametrize("keywords", [{"y": 0.2}, {"x": 0.3, "y": 0.2}])
def test_cost_with_keywords_measures_the_code_a_call_runs(keywords):
    # keywords that bind in order run the specialized code, as a call does: it measured the generic code
    g = s2sad.grad(four_statements, wrt=(0, 1))
    positional = (0.3, 0.2)[:2 - len(keywords)]
    (loop,) = g.cost(*positional, **keywords).loops
    (expected,) = g.cost(0.3, 0.2).loops
    assert loop.bytes == expected.bytes == 20 * (8 + 9) and loop.names == expected.names, loop


def test_the_rnn_saves_no_shape_stand_in_when_shapes_are_known():
    args = (RNG.normal(size=4), RNG.normal(size=(4, 4)), RNG.normal(size=(5, 4)))
    g = s2sad.grad(bench_rnn, wrt=1)
    assert "shape_of" in g.source  # the generic code reads it: unbroadcast(t, t_shape)
    specialized = g.for_shapes(*args).source
    assert "shape_of" not in specialized and specialized.count("tape.append(") == 1, specialized
    assert_grad_matches_fd(bench_rnn, args, wrt=1)


def _same(a, b):
    """Equal values of the same types (a float is not an np.float64, a 0-d array not a scalar)."""
    if isinstance(a, tuple):
        return type(b) is tuple and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and np.array_equal(a, b, equal_nan=True) and np.asarray(a).dtype == np.asarray(b).dtype


def overflow_at_first(x, n):
    s = 1e-200  # a Python float on the first iteration, a NumPy scalar after
    for i in range(n):
        # the reverse sweep's s ** -2 at 1e-200: OverflowError for a Python float, inf (a warning) for NumPy's
        s = np.sin(s ** -1 * 1e-300) * x
    return s


def log_switch(x, n):
    s = 0.5
    for i in range(n):
        s = np.arctan(np.log(s * s)) + x  # s and s * s: a Python float first, a NumPy scalar after
    return s


def branch_switch(x, n):
    s = 0.5
    for i in range(n):
        if s > 0.6:
            s = np.cos(s) * x  # a NumPy scalar on this path...
        else:
            s = s * x + 0.5    # ...a Python float on this one while s is
    return s


def ratio_loop(x, n):
    s = 0.0
    for i in range(n):
        a = s / x  # computed again from s in the reverse sweep: a Python float on the first iteration
        s = np.sin(a) * s + x
    return s


def int_start(x, n):
    s = 0  # an int first: not a float of either kind, so the list tape
    for i in range(n):
        s = s * x + np.sin(x)
    return s


def float32_carry(x, n):
    s = np.float32(0.5)  # float32 throughout: the list tape
    for i in range(n):
        s = s * x + np.float32(0.25)
    return s


@pytest.mark.parametrize("x", [0.0, 0.7, np.float64(0.0), np.float64(0.7), np.array(0.7), np.float32(0.7)],
                         ids=["float 0", "float", "float64 0", "float64", "0-d array", "float32"])
@pytest.mark.parametrize("f", [math_loop, bench_scalar_loop, four_statements, division_loop, sin_loop,
                               overflow_at_first, log_switch, branch_switch, ratio_loop, int_start,
                               float32_carry])
def test_typed_tapes_give_back_what_was_saved(f, x):
    # the specialized code (float tapes) against the generic code (the list tape): same values, same types,
    # same warnings or errors
    import warnings
    args = {four_statements: (x, 0.2), sin_loop: (x,)}.get(f, (x, 6))
    g = s2sad.grad(f)
    outcomes = []
    for code in (g, g.for_shapes(*args)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                outcomes.append(("value", code._func(*args), [str(w.message) for w in caught]))
            except Exception as exc:  # noqa: BLE001 - compared, not hidden
                outcomes.append(("error", type(exc), [str(w.message) for w in caught]))
    (kind_a, a, warn_a), (kind_b, b, warn_b) = outcomes
    assert kind_a == kind_b and warn_a == warn_b
    assert (a is b) if kind_a == "error" else _same(a, b), (a, b)


def test_only_proven_float64_scalars_go_to_the_float_tape():
    src = s2sad.grad(four_statements, wrt=(0, 1)).for_shapes(0.3, 0.2).source
    assert "tape_float64.append(b)" in src and "b = next(tape_float64_reversed)" in src, src
    # s and a: a Python float on the first iteration, a NumPy scalar after: a byte says which
    assert "tape_kinds.append(type(s) is float)" in src and "tape.append(" not in src, src
    assert "s = next(tape_float64_reversed)\n        if tape_kinds.pop():\n            s = float(s)" in src, src
    src = s2sad.grad(math_loop).for_shapes(0.3, 4).source
    assert "tape_floats.append(s)" in src and "s = tape_floats.pop()" in src and "float64" not in src, src
    # a 0-d array or an np.float64 argument is the same kind to `shapes`: a value made from it alone
    # could be either, so it stays on the list tape
    src = s2sad.grad(_carry).for_shapes(np.float64(0.3)).source
    assert "tape.append(s)" in src and "tape_floats" not in src, src


@pytest.mark.parametrize("f, x, kinds_tape", [
    (log_switch, 0.7, True), (branch_switch, 0.9, True), (four_statements, 0.3, True), (sin_loop, 0.7, True),
    (ratio_loop, 0.7, True), (int_start, 0.7, False),
])
def test_a_saved_scalar_of_either_kind_costs_9_bytes(f, x, kinds_tape):
    # a value that is a Python float on some iterations and a NumPy float64 scalar on others: its 8 bytes on
    # the float tape and a byte of kind, read back as the type it was saved as (was an object and a list slot)
    args = (x, 0.2) if f is four_statements else (x,) if f is sin_loop else (x, 7)
    src = s2sad.grad(f).for_shapes(*args).source
    assert ("tape_kinds.append(type(s) is float)" in src) == kinds_tape, src
    assert ("tape.append(s)" in src) == (not kinds_tape), src
    if f in (ratio_loop, four_statements):  # a = s / x (s * x): made again from s, not saved
        assert "tape_float64.append(a)" not in src and "tape.append(a)" not in src, src
        assert ("a = s / x" if f is ratio_loop else "a = s * x") in src.split("# reverse sweep")[1], src
    assert_grad_matches_fd(f, args)


def test_a_scalar_saved_as_a_python_float_overflows_as_one():
    # the reverse sweep of overflow_at_first raises as the generic code does: s comes back a Python float
    g = s2sad.grad(overflow_at_first)
    assert "tape_kinds" in g.for_shapes(0.7, 3).source
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(OverflowError):
        g.for_shapes(0.7, 3)._func(0.7, 3)
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(OverflowError):
        g._func(0.7, 3)


def _carry(x):
    s = x
    for i in range(3):
        s = s * x
    return s


def test_generic_code_keeps_the_list_tape():
    assert "array" not in s2sad.grad(bench_scalar_loop).source


@pytest.mark.parametrize("n", [0, 1, 7, 400])
def test_checkpointed_specialized_code_gives_the_full_tape_gradient(n):
    # the segments save again in the reverse sweep: NumPy scalars stay on the list there, bit for bit
    plain, checkpointed = s2sad.grad(known_loop), s2sad.grad(known_loop, checkpoint="sqrt")
    assert _same(plain(0.5, n), checkpointed(0.5, n)) and _same(plain(0.5, n), s2sad.grad(known_loop).__call__(0.5, n))
    assert "tape_float64" in plain.for_shapes(0.5, n).source and "array" not in checkpointed.for_shapes(0.5, n).source


def test_cost_counts_iterations_when_branches_save_different_values():
    x = np.array([1.0, -1.0, 2.0, 3.0, -2.0, 4.0], dtype=np.float32)  # float32: the generic code
    report = s2sad.grad(branch_in_loop, wrt=(0, 1)).cost(x, 0.4)
    (loop,) = report.loops
    assert loop.pushes == 4 * 2 + 2 and loop.iterations == 6  # was 10 // 2 = 5


@pytest.mark.parametrize("make, args, bound", [
    (lambda: s2sad.grad(known_loop), (0.5, 5), 4.0),
    (lambda: s2sad.hvp(known_loop), (0.5, 5, 1.0), 10.0),
    (lambda: s2sad.jvp(known_loop), (0.5, 5, 1.0), 2.5),
    (lambda: s2sad.jacobian(np.sin), (np.ones(3),), None),
    (lambda: s2sad.hessian(lambda x: np.sum(np.sin(x) * x)), (np.ones(3),), None),
])
def test_cost_bound_is_the_one_for_the_kind(make, args, bound):
    report = make().cost(*args)
    assert report.bound == bound
    assert ("bound" in str(report).splitlines()[1]) == (bound is not None)
