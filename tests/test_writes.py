"""Calls that write into an array (issue 9 section 1).

Each writing call is either differentiated (value, grad and jvp match central
differences, the caller's inputs are untouched) or refused when the function is
transformed, with a specific error class pointing at the line of the call.
"""

import inspect
import operator

import numpy as np
import pytest
from gradcheck import assert_grad_matches_fd, call_unchanged, numeric_grad

import s2sad
from s2sad.errors import InPlaceUpdateError, WritingCallError
from s2sad.primitives import Method
from s2sad.rules import registry

RNG = np.random.default_rng(0)
GLOBAL = np.zeros(3)


# ------------------------------------------------------------------ differentiated


def copyto(x):
    y = np.zeros(3)
    np.copyto(y, x)
    return np.sum(y * y)  # the issue's example: grad 2 * x, not zeros


def copyto_where(x):
    y = np.ones(3)
    np.copyto(y, x, where=x > 1.5)
    return np.sum(y * y * x)


def out_matmul(x):
    y = np.zeros(3)
    np.matmul(np.eye(3), x, out=y)
    return np.sum(y * y)  # the issue's example: value_and_grad gave the value 0


def out_result_is_out(x):
    y = np.zeros(3)
    z = np.sin(x, out=y)
    return np.sum(z * y)


def out_ufunc_where(x):
    y = np.ones(3)
    np.multiply(x, x, out=y, where=np.array([True, False, True]))
    return np.sum(y * x)


def out_reduction(x):
    y = np.zeros(())
    np.sum(x * x, out=y)
    return y * 3.0


def out_method(x):
    y = np.zeros(())
    x.sum(out=y)
    return y * y


def out_in_branch(x):
    y = np.zeros(3)
    if x[0] > 0:
        np.exp(x, out=y)
    return np.sum(y * x)


def copyto_in_loop(x):
    y = np.zeros(3)
    for i in range(3):
        np.copyto(y, y * x + 1.0)
    return np.sum(y)


def fill(x):
    y = x * 2.0
    y.fill(x[0])
    return np.sum(y * x)


def add_at(x):
    y = x * 1.0
    np.add.at(y, [0, 0, 2], x * x)  # repeated indices add up
    return np.sum(y * y)


def subtract_at(x):
    y = np.zeros(3)
    np.subtract.at(y, np.array([1, 1]), x[:2])
    return np.sum(y * x)


def put(x):
    y = x * 3.0
    np.put(y, [0, 2, 0], x[1:] * 2)  # a repeated position keeps its last value
    return np.sum(y * y * x)


def put_cyclic(x):
    y = np.zeros((2, 2))
    np.put(y, [0, 1, 3], x[:2])  # values repeat: x[0], x[1], x[0]
    return np.sum(y * y) + y[1, 1] * x[2]


def put_method(x):
    y = x * 3.0
    y.put([1], x[0])
    return np.sum(y * x)


def sort(x):
    y = x * 1.0
    y.sort()  # a permutation; x itself must stay unsorted
    return np.sum(y * np.arange(3.0)) + np.sum(x * x)


def sort_rows(x):
    y = np.outer(x, x)
    y.sort(axis=0)
    return np.sum(y * np.arange(9.0).reshape(3, 3))


def self_out(x):
    y = x * 1.0
    np.multiply(y, y, out=y)
    np.sin(y, out=y)
    return np.sum(y * x)

def self_copy(x):
    y = x * 2.0
    np.copyto(y, y[::-1])
    return np.sum(y * np.arange(3.0))

def self_add_at(x):
    y = x * 2.0
    np.add.at(y, [0, 0], y[1:])
    return np.sum(y * y)

def loop_add_at(x):
    y = np.zeros(3)
    for i in range(3):
        np.add.at(y, [i, (i + 1) % 3], x[i] * y[i] + 1.0)
    return np.sum(y * y)

def loop_sort(x):
    y = x * 1.0
    for i in range(2):
        y = y * x
        y.sort()
    return np.sum(y * np.arange(3.0))

def while_fill(x):
    y = x * 1.0
    k = 0
    while k < 2:
        y.fill(np.sum(y * x))
        k = k + 1
    return np.sum(y)

def out_2d(x):
    A = np.outer(x, x)
    y = np.zeros((3, 3))
    np.matmul(A, A, out=y)
    s = np.zeros(3)
    np.sum(y, axis=0, out=s)
    return np.sum(s * x)


def helper_sorts_and_returns(x):
    y = x * 1.0
    z = _sorted_in_place(y)  # the helper's result is the sorted array
    return np.sum(z * np.arange(3.0))


def fill_through_the_class(x):
    y = x * 2.0
    np.ndarray.fill(y, x[0])  # the method called on the class: the same write as y.fill(x[0])
    return np.sum(y * x)


def sort_through_the_class(x):
    y = x * 1.0
    np.ndarray.sort(y)
    return np.sum(y * np.arange(3.0))


DIFFERENTIATED = [
    fill_through_the_class, sort_through_the_class,
    helper_sorts_and_returns,
    self_out, self_copy, self_add_at, loop_add_at, loop_sort, while_fill, out_2d,
    copyto, copyto_where, out_matmul, out_result_is_out, out_ufunc_where, out_reduction, out_method,
    out_in_branch, copyto_in_loop, fill, add_at, subtract_at, put, put_cyclic, put_method, sort, sort_rows,
]


@pytest.mark.parametrize("f", DIFFERENTIATED, ids=[f.__name__ for f in DIFFERENTIATED])
def test_writing_call_is_differentiated(f):
    x = np.array([1.0, 3.0, 2.0])
    x_before = x.copy()
    assert_grad_matches_fd(f, [x])
    value, grad = call_unchanged(s2sad.value_and_grad(f), x)
    np.testing.assert_allclose(value, f(x.copy()), rtol=1e-12)
    np.testing.assert_allclose(grad, numeric_grad(f, [x_before]), rtol=1e-6, atol=1e-8)
    t = np.array([0.3, -0.2, 0.7])
    primal, tangent = call_unchanged(s2sad.jvp(f), x, t)
    np.testing.assert_allclose(primal, f(x.copy()), rtol=1e-12)
    np.testing.assert_allclose(tangent, numeric_grad(f, [x_before]) @ t, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(x, x_before)


def test_issue_examples_give_the_right_numbers():
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(s2sad.grad(copyto)(x), 2 * x)
    value, grad = s2sad.value_and_grad(out_matmul)(x)
    assert value == pytest.approx(14.0)
    np.testing.assert_allclose(grad, 2 * x)


# ------------------------------------------------------------------ refused


def shuffle_generator(x):
    y = x * 1.0
    RNG.shuffle(y)
    return np.sum(y * np.arange(3.0))


def shuffle_global(x):
    y = x * 1.0
    np.random.shuffle(y)
    return np.sum(y * np.arange(3.0))


def shuffle_local_generator(x):
    rng = np.random.default_rng(1)
    y = x * 1.0
    rng.shuffle(y)
    return np.sum(y * np.arange(3.0))


def multiply_at(x):
    y = x * 1.0
    np.multiply.at(y, [0], 2.0)
    return np.sum(y)


def putmask(x):
    y = x * 1.0
    np.putmask(y, x > 1, 0.0)
    return np.sum(y)


def place(x):
    y = x * 1.0
    np.place(y, x > 1, [0.0])
    return np.sum(y)


def fill_diagonal(x):
    y = np.outer(x, x)
    np.fill_diagonal(y, 0.0)
    return np.sum(y)


def put_along_axis(x):
    y = x * 1.0
    np.put_along_axis(y, np.array([0]), 5.0, axis=0)
    return np.sum(y)


def partition(x):
    y = x * 1.0
    y.partition(1)
    return np.sum(y * np.arange(3.0))


def resize(x):
    y = x * 1.0
    y.resize(2, refcheck=False)
    return np.sum(y)


def byteswap_in_place(x):
    y = x * 1.0
    y.byteswap(inplace=True)
    return np.sum(y)


def nan_to_num_in_place(x):
    y = x * 1.0
    np.nan_to_num(y, copy=False)
    return np.sum(y)


def positional_out(x):
    y = np.zeros(3)
    np.add(x, x, y)
    return np.sum(y)


def positional_out_dot(x):
    y = np.zeros(3)
    np.dot(np.eye(3), x, y)
    return np.sum(y)


def positional_out_method(x):
    y = np.zeros(())
    x.sum(0, None, y)
    return y * 1.0


def sort_global(x):
    GLOBAL.sort()
    return np.sum(x * GLOBAL)


def out_into_a_view(x):
    y = np.zeros((2, 3))
    np.sin(x, out=y[0])
    return np.sum(y)


def fill_parameter(x):
    x.fill(1.0)
    return np.sum(x)


def out_parameter(x, y):
    np.sin(x, out=y)
    return np.sum(y)


def copyto_under_a_view(x):
    y = np.zeros(3)
    z = y[:2]
    np.copyto(y, x)
    return np.sum(z * z)


def sort_a_list(x):
    items = [x[1], x[0]]
    items.sort()  # list.sort, not an array's
    return items[0] * 2.0


def operator_iadd(x):
    y = x * 1.0
    operator.iadd(y, x)
    return np.sum(y)


def dunder_iadd(x):
    y = x * 1.0
    y.__iadd__(x)
    return np.sum(y)


def dunder_setitem(x):
    y = x * 1.0
    y.__setitem__(0, 5.0)
    return np.sum(y * x)


def _copy_into(y, x):
    np.copyto(y, x)  # a helper writing into its caller's array


def _sorted_in_place(y):
    y.sort()
    return y


def helper_writes_into_callers_array(x):
    y = np.zeros(3)
    _copy_into(y, x)
    return np.sum(y * y)


REFUSED = [
    (helper_writes_into_callers_array, InPlaceUpdateError, "np.copyto(y, x)  # a helper"),
    (operator_iadd, WritingCallError, "operator.iadd(y, x)"),
    (dunder_iadd, WritingCallError, "y.__iadd__(x)"),
    (dunder_setitem, WritingCallError, "y.__setitem__(0, 5.0)"),
    (sort_a_list, WritingCallError, "items.sort()"),
    (shuffle_generator, WritingCallError, "RNG.shuffle(y)"),
    (shuffle_global, WritingCallError, "np.random.shuffle(y)"),
    (shuffle_local_generator, WritingCallError, "rng.shuffle(y)"),
    (multiply_at, WritingCallError, "np.multiply.at"),
    (putmask, WritingCallError, "np.putmask"),
    (place, WritingCallError, "np.place"),
    (fill_diagonal, WritingCallError, "np.fill_diagonal"),
    (put_along_axis, WritingCallError, "np.put_along_axis"),
    (partition, WritingCallError, "y.partition"),
    (resize, WritingCallError, "y.resize"),
    (byteswap_in_place, WritingCallError, "y.byteswap"),
    (nan_to_num_in_place, WritingCallError, "np.nan_to_num"),
    (positional_out, WritingCallError, "np.add(x, x, y)"),
    (positional_out_dot, WritingCallError, "np.dot(np.eye(3), x, y)"),
    (positional_out_method, WritingCallError, "x.sum(0, None, y)"),
    (sort_global, WritingCallError, "GLOBAL.sort()"),
    (out_into_a_view, WritingCallError, "np.sin(x, out=y[0])"),
    (fill_parameter, InPlaceUpdateError, "x.fill(1.0)"),
    (out_parameter, InPlaceUpdateError, "np.sin(x, out=y)"),
    (copyto_under_a_view, InPlaceUpdateError, "np.copyto(y, x)"),
]


def _line_of(f, text) -> int:
    """The line of `text` in `f`, or (for a write inside a helper) the one line of the module with it."""
    lines, first = inspect.getsourcelines(f)
    found = [first + k for k, line in enumerate(lines) if text in line]
    if not found:
        module_lines = inspect.getsource(inspect.getmodule(f)).splitlines()
        found = [k + 1 for k, line in enumerate(module_lines) if text in line and "Error, " not in line]
    assert len(found) == 1, (text, found)
    return found[0]


@pytest.mark.parametrize("f, error, text", REFUSED, ids=[r[0].__name__ for r in REFUSED])
@pytest.mark.parametrize("kind", ["grad", "jvp"])
def test_writing_call_is_refused_with_its_line(f, error, text, kind):
    args = [np.array([1.0, 3.0, 2.0])] + ([np.zeros(3)] if f is out_parameter else [])
    before = [a.copy() for a in args]
    with pytest.raises(error) as info:
        if kind == "grad":
            s2sad.grad(f)(*args)
        else:
            s2sad.jvp(f)(*args, np.ones(3))
    assert type(info.value) is error
    assert info.value.location.line == _line_of(f, text)
    assert "^" in str(info.value) and "Hint:" in str(info.value)
    for a, b in zip(args, before):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(GLOBAL, np.zeros(3))


# ------------------------------------------------------------------ the caller's arrays


def sort_a_copy_made_by_multiplying_by_one(x):
    y = x * 1.0  # simplify must not turn this into y = x: the sort would then sort the caller's x
    y.sort()
    return np.sum(y * np.arange(3.0))


def test_generated_code_never_writes_into_the_callers_arrays():
    x = np.array([3.0, 1.0, 2.0])
    grad = call_unchanged(s2sad.grad(sort_a_copy_made_by_multiplying_by_one), x)
    np.testing.assert_array_equal(x, [3.0, 1.0, 2.0])
    np.testing.assert_allclose(grad, [2.0, 0.0, 1.0])
    assert "y = x\n" not in s2sad.source(sort_a_copy_made_by_multiplying_by_one)


def test_the_harness_notices_a_write_into_an_argument():
    with pytest.raises(AssertionError, match="changed in place"):
        call_unchanged(lambda a: a.sort(), np.array([2.0, 1.0]))
    with pytest.raises(AssertionError, match="changed in place"):
        call_unchanged(lambda items: items.append(1), [np.zeros(1)])


# ------------------------------------------------------------------ declarations

# NumPy's functions that write into an argument (besides out=), and the parameter they write.
NUMPY_WRITING_FUNCTIONS = {
    np.copyto: "dst", np.put: "a", np.putmask: "a", np.place: "arr", np.fill_diagonal: "a",
    np.put_along_axis: "arr", np.nan_to_num: "x",
}
# ndarray's public methods, split into those that write into the array and those that do not;
# a method NumPy adds must be put in one of the two (and declared if it writes).
NDARRAY_WRITING_METHODS = {"fill", "sort", "put", "partition", "resize", "itemset", "setfield", "byteswap"}
NDARRAY_OTHER_METHODS = {
    "all", "any", "argmax", "argmin", "argpartition", "argsort", "astype", "choose", "clip", "compress", "conj",
    "conjugate", "copy", "cumprod", "cumsum", "diagonal", "dot", "dump", "dumps", "flatten", "getfield", "item",
    "max", "mean", "min", "nonzero", "prod", "ravel", "repeat", "reshape", "round", "searchsorted", "setflags",
    "squeeze", "std", "sum", "swapaxes", "take", "to_device", "tobytes", "tofile", "tolist", "trace", "transpose",
    "var", "view",
    "tostring",  # tobytes' old name, until NumPy 2.3
}


def _public_methods(cls):
    return {n for n in dir(cls) if not n.startswith("_") and callable(getattr(cls, n, None))
            and not isinstance(getattr(cls, n), type)}


def test_every_ndarray_method_is_classified():
    unknown = _public_methods(np.ndarray) - NDARRAY_WRITING_METHODS - NDARRAY_OTHER_METHODS
    assert not unknown, f"classify these ndarray methods as writing or not: {sorted(unknown)}"


def _known_writers():
    """(callable, how it is looked up) for every writing callable NumPy has."""
    found = [(f, f) for f in NUMPY_WRITING_FUNCTIONS]
    found += [(Method(name), Method(name)) for name in NDARRAY_WRITING_METHODS]
    ufuncs = [getattr(np, n) for n in dir(np) if isinstance(getattr(np, n), np.ufunc)]
    assert len(ufuncs) > 50
    found += [(u.at, u.at) for u in ufuncs]
    found += [(getattr(operator, n), getattr(operator, n)) for n in dir(operator) if n[:1] == "i" and n != "index"
              and n not in ("indexOf", "is_", "is_not", "invert", "inv", "is_none", "is_not_none", "itemgetter")]
    found += [(Method(n), Method(n)) for n in dir(np.ndarray) if n.startswith("__i") and n.endswith("__")
              and n not in ("__init__", "__index__", "__invert__", "__init_subclass__", "__iter__", "__int__")]
    found += [(operator.setitem,) * 2, (operator.delitem,) * 2, (Method("__setitem__"),) * 2]
    found += [(np.random.shuffle, np.random.shuffle), (RNG.shuffle, RNG.shuffle), (Method("shuffle"),) * 2]
    found += [(getattr(np.ndarray(3), name), getattr(np.ndarray(3), name)) for name in NDARRAY_WRITING_METHODS
              if hasattr(np.ndarray(3), name)]  # NumPy 2.1 keeps a stub of the removed itemset
    return found


@pytest.mark.parametrize("writer, key", _known_writers(), ids=lambda w: getattr(w, "__qualname__", repr(w)))
def test_every_numpy_writer_is_declared(writer, key):
    declared = registry.writes_of(key)
    assert declared is not None, f"{writer!r} writes into an argument but has no write declaration"
    if writer in NUMPY_WRITING_FUNCTIONS:
        assert declared.param[1] == NUMPY_WRITING_FUNCTIONS[writer]
        try:
            params = list(inspect.signature(writer).parameters)
        except ValueError:  # NumPy < 2.4 gives some of its builtins no signature
            return
        assert params[declared.param[0]] == declared.param[1]


def test_no_rule_is_registered_for_a_writer_without_its_declaration():
    writers = {key for _, key in _known_writers()}
    tables = [registry.ADJOINT_RULES, registry.TANGENT_RULES, registry.NONDIFFERENTIABLE]
    registered = {k for table in tables for k in table} | {Method(n) for n in registry.METHOD_MIRRORS}
    for key in registered:
        try:
            writes = key in writers
        except TypeError:
            continue
        if writes:
            assert registry.writes_of(key) is not None, f"a rule is registered for {key!r} without writes="
    # a writing method must never borrow a pure function's rules (x.sort() is not np.sort(x))
    assert not NDARRAY_WRITING_METHODS & set(registry.METHOD_MIRRORS)


def test_a_rule_can_declare_what_it_writes(monkeypatch):
    def scale_into(dst, x):  # pragma: no cover - never called
        dst[...] = 2 * x

    monkeypatch.setattr(registry, "WRITES", dict(registry.WRITES))
    registry.nondifferentiable(scale_into, writes={"param": (0, "dst"), "hint": "return a new array"})
    try:
        assert registry.writes_of(scale_into).param == (0, "dst")
    finally:
        registry.NONDIFFERENTIABLE.pop(scale_into, None)


@pytest.mark.parametrize("func, kwargs", [
    (np.putmask, []), (np.copyto, []), (np.add.at, []), (Method("partition"), []),
    (np.sin, [("out", "y")]),
], ids=["putmask", "copyto", "add.at", "partition", "sin-out"])
def test_dead_code_removal_keeps_declared_writers(func, kwargs):
    from s2sad import ir
    from s2sad.simplify import is_pure

    y = ir.Var("y", "y")
    stmt = ir.Assign(ir.Var("t1", "t"), ir.Ref(("f",), func), [y], [(k, ir.Var(v, v)) for k, v in kwargs])
    assert not is_pure(stmt)
    assert is_pure(ir.Assign(ir.Var("t2", "t"), ir.Ref(("np", "sin"), np.sin), [y]))


def every_rewrite(x):
    y = np.zeros(3)
    np.copyto(y, x * x)
    np.add.at(y, [0, 1, 1], x)
    np.put(y, [2], x[0] * x[1])
    y.sort()
    z = np.zeros(3)
    np.tanh(y, out=z)
    return np.sum(z * y)


def test_second_derivatives_through_writes():
    x = np.array([0.3, -0.5, 0.8])
    hessian = s2sad.hessian(every_rewrite)(x)
    numeric = np.array([numeric_grad(lambda v: s2sad.grad(every_rewrite)(v)[i], [x]) for i in range(3)])
    np.testing.assert_allclose(hessian, numeric, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(s2sad.hvp(every_rewrite)(x, np.ones(3)), numeric @ np.ones(3), rtol=1e-5, atol=1e-7)


def test_exported_writes_run_without_s2sad(tmp_path):
    from gradcheck import module_from_source

    path = tmp_path / "exported_every_rewrite.py"
    s2sad.export(every_rewrite, str(path), modes=("grad", "jvp"))
    assert "s2sad" not in "\n".join(line for line in path.read_text().splitlines() if line.startswith("import")
                                    or line.startswith("from"))
    module = module_from_source(tmp_path, "exported_every_rewrite_mod", path.read_text())
    x = np.array([0.3, -0.5, 0.8])
    np.testing.assert_allclose(module.grad_every_rewrite(x), numeric_grad(every_rewrite, [x]), rtol=1e-6, atol=1e-8)


def test_positional_outputs_are_found_without_signatures(monkeypatch):
    # NumPy before 2.4 gives np.dot and ndarray's methods no signature: the tables say where `out` is
    from s2sad import lower_writes

    for name, position in lower_writes._METHOD_OUT.items():
        assert list(inspect.signature(getattr(np.ndarray, name)).parameters)[1 + position] == "out", name
    for name, position in lower_writes._FUNCTION_OUT.items():
        assert list(inspect.signature(getattr(np, name)).parameters)[position] == "out", name

    def no_signature(obj):
        raise ValueError("no signature found")

    monkeypatch.setattr(lower_writes, "_signature", no_signature)
    for f in (positional_out_dot, positional_out_method):
        with pytest.raises(WritingCallError):
            s2sad.grad(f)(np.array([1.0, 3.0, 2.0]))


class _Applier:
    def apply(self, y, x):
        y[...] = x * 2.0


_APPLIER = _Applier()


def _user_method_drops_its_result(x):
    y = np.zeros(3)
    _APPLIER.apply(y, x)  # writes y: s2sad does not read methods, so this must be refused
    return np.sum(y * x)


def test_a_user_method_whose_result_is_dropped_is_refused():
    # before: the call was lowered as a pure library call, nobody asked for its rule, and the
    # gradient came back as zeros with no error
    with pytest.raises(s2sad.NoDerivativeError) as info:
        s2sad.grad(_user_method_drops_its_result)(np.array([1.0, 2.0, 3.0]))
    assert "_Applier.apply" in str(info.value)
    assert info.value.location.line == _user_method_drops_its_result.__code__.co_firstlineno + 2


_STATE = np.zeros(3)


class _Stepper:
    def step(self, x):
        _STATE[...] = x * 2.0  # the derivative must see this, and cannot: the call is refused
        return 1.0

    def into(self, y, x):
        y[...] = x * 2.0
        return True


_STEPPER = _Stepper()


def _method_result_in_a_condition(x):
    if _STEPPER.step(x) > 0:  # HERE
        pass
    return np.sum(_STATE * x)


def _method_result_made_int(x):
    n = int(_STEPPER.step(x))  # HERE
    return np.sum(_STATE * x) * n


def _method_writes_its_argument(x):
    y = np.zeros(3)
    ok = _STEPPER.into(y, x)  # HERE
    return np.sum(y * x) if ok else 0.0


@pytest.mark.parametrize("kind", ["grad", "jvp"])
@pytest.mark.parametrize("f", [_method_result_in_a_condition, _method_result_made_int, _method_writes_its_argument],
                         ids=lambda f: f.__name__)
def test_a_user_method_given_a_differentiated_value_is_refused_even_if_its_result_is_not(f, kind):
    # before: nobody asked for the method's rule (its result is not differentiated), and the gradient
    # missed what it wrote: 2 * x instead of 4 * x, with no error
    x = np.array([1.0, 2.0, 3.0])
    args = (x, np.ones(3)) if kind == "jvp" else (x,)
    with pytest.raises(s2sad.NoDerivativeError, match="does not read methods") as info:
        getattr(s2sad, kind)(f)(*args)
    lines, start = inspect.getsourcelines(f)
    assert info.value.location.line == start + next(i for i, t in enumerate(lines) if "# HERE" in t)


class _Constant:
    def value(self):
        _STATE[...] = 3.0
        return 2.0


def _method_without_a_differentiated_argument(x):
    c = _Constant().value()
    return np.sum(_STATE * x) * c


def test_a_user_method_without_a_differentiated_argument_still_runs():
    assert_grad_matches_fd(_method_without_a_differentiated_argument, (np.array([1.0, 2.0, 3.0]),))


class _Checker:
    def positive(self, x):
        return bool(np.all(x > 0))


_CHECKER = _Checker()


def _method_only_reads(x):
    if _CHECKER.positive(x):
        return np.sum(x * x)
    return 0.0


def test_a_method_that_only_reads_can_be_declared_nondifferentiable(scratch_nondifferentiable):
    x = np.array([0.3, 0.8])
    with pytest.raises(s2sad.NoDerivativeError, match=r"nondifferentiable\(<the object>.positive\)"):
        s2sad.grad(_method_only_reads)(x)
    scratch_nondifferentiable(_CHECKER.positive)
    assert_grad_matches_fd(_method_only_reads, (x,))


@pytest.fixture
def scratch_nondifferentiable():
    """s2sad.nondifferentiable for one test, then removed."""
    declared = []

    def declare(obj):
        s2sad.nondifferentiable(obj)
        declared.append(obj)

    yield declare
    for obj in declared:
        registry.NONDIFFERENTIABLE.pop(obj, None)
