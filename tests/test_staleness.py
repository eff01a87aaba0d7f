"""s2sad differentiates what actually runs (issue 9 §3).

Decorators are differentiated, not skipped; NumPy's own functions are
transformed through their rules; np.matrix arguments are refused.
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pytest

import s2sad
from gradcheck import assert_grad_matches_fd, numeric_grad

# ---------------------------------------------------------------------------
# decorators: the wrapper runs, so the wrapper is differentiated


def doubled(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return 2.0 * fn(*args, **kwargs)

    return wrapper


def doubled_explicit(fn):
    @functools.wraps(fn)
    def wrapper(x):
        return 2.0 * fn(x)

    return wrapper


def logged(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        print(args)
        return fn(*args, **kwargs)

    return wrapper


@doubled
def scaled(x, y=3.0):
    return x * y


@doubled_explicit
def sine(x):
    return np.sin(x)


@doubled
def square(x):
    return x * x


def calls_decorated_helper(x):
    return square(x) + np.cos(x)


@doubled
@doubled_explicit
def stacked(x):
    return x ** 3


@functools.lru_cache
def cached_cube(x):
    return x ** 3


@logged
def logs_its_args(x):
    return x


@pytest.mark.parametrize("f, args, wrt", [
    (scaled, (1.3,), 0),
    (scaled, (1.3, 0.4), "y"),
    (sine, (0.6,), 0),
    (calls_decorated_helper, (0.8,), 0),
    (stacked, (0.9,), 0),
    (cached_cube, (1.1,), 0),
])
def test_decorated_functions_are_differentiated_with_their_wrapper(f, args, wrt):
    # s2sad used to follow __wrapped__ and differentiate the undecorated function (half the gradient)
    assert_grad_matches_fd(f, args, wrt)


def test_decorated_function_keeps_the_wrapped_signature():
    assert s2sad.grad(scaled)(1.0, y=5.0) == pytest.approx(10.0)
    assert s2sad.jvp(scaled)(1.0, 1.0) == pytest.approx((6.0, 6.0))


def test_a_wrapper_that_uses_its_args_otherwise_is_refused():
    with pytest.raises(s2sad.UnsupportedSyntaxError, match="passing it on") as info:
        s2sad.grad(logs_its_args)(1.0)
    assert info.value.location is not None and info.value.hint


# ---------------------------------------------------------------------------
# NumPy's own functions: their rules, never their source


def test_grad_of_numpy_ufunc():
    x = 0.7
    assert s2sad.grad(np.tanh)(x) == pytest.approx(1 - np.tanh(x) ** 2, rel=1e-12)


def test_grad_of_numpy_python_function_uses_its_rule():
    x = np.array([0.3, -1.2, 2.0, 0.5])
    g = s2sad.grad(np.var)
    np.testing.assert_allclose(g(x), numeric_grad(np.var, [x]), rtol=1e-6)
    np.testing.assert_allclose(g(x, ddof=1), numeric_grad(lambda a: np.var(a, ddof=1), [x]), rtol=1e-6)
    assert "np.var(a" in g.source and "umr_" not in g.source  # numpy's internals were never read


def test_vjp_of_numpy_cross():
    a, b, ct = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 2.0]), np.array([0.2, -0.4, 1.0])
    da, db = s2sad.vjp(np.cross, wrt=(0, 1))(a, b, ct)
    np.testing.assert_allclose(da, numeric_grad(lambda a_: ct @ np.cross(a_, b), [a]), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(db, numeric_grad(lambda b_: ct @ np.cross(a, b_), [b]), rtol=1e-6, atol=1e-9)


def test_a_function_with_a_custom_rule_is_transformed_through_the_rule():
    def softplus(x):
        return np.log1p(np.exp(x))

    @s2sad.adjoint(softplus)
    def softplus_adjoint(y, x):
        x_bar = y_bar * 7.0  # deliberately not the derivative: proves the rule is used

    try:
        assert s2sad.grad(softplus)(0.3) == pytest.approx(7.0)
    finally:
        from s2sad.rules import registry

        registry.ADJOINT_RULES.pop(softplus, None)


# ---------------------------------------------------------------------------
# np.r_[...] and np.c_[...] are concatenations (they were taken as constants: gradient zero)


def r_mixed(x, y):
    return np.sum(np.r_[x, 2.0 * y, 0:3] ** 2 * np.arange(1.0, x.size + 5.0))


def r_twice(x):
    return np.sum(np.sin(np.r_[x, x]))


def c_columns(x, y):
    return np.sum(np.c_[x, y ** 2] @ np.array([1.0, 3.0]))


def c_matrix_and_column(A, x):
    return np.sum(np.c_[A, x, 0:3] ** 2)


def r_directive(x):
    return np.sum(np.r_["0,2", x, x])


_V = np.array([0.3, -0.7, 1.1])


@pytest.mark.parametrize("f, args, wrt", [
    (r_mixed, (_V, 0.4), (0, 1)),
    (r_twice, (_V,), 0),
    (c_columns, (_V, _V + 1.0), (0, 1)),
    (c_matrix_and_column, (np.arange(6.0).reshape(3, 2), _V), (0, 1)),
])
def test_index_concatenations_are_differentiated(f, args, wrt):
    assert_grad_matches_fd(f, args, wrt)


def test_index_concatenation_tangent():
    y, y_dot = s2sad.jvp(c_columns, wrt=1)(_V, _V + 1.0, np.ones(3))
    assert y == pytest.approx(c_columns(_V, _V + 1.0))
    assert y_dot == pytest.approx(6.0 * np.sum(_V + 1.0))


def test_index_concatenation_with_a_directive_is_refused():
    with pytest.raises(s2sad.UnsupportedSyntaxError, match="directive") as info:
        s2sad.grad(r_directive)(_V)
    assert "np.concatenate" in info.value.hint


# ---------------------------------------------------------------------------
# np.matrix: `*` is a matrix product there


def matrix_loss(x, m):
    return np.sum(x * m)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix itself is deprecated
@pytest.mark.parametrize("wrt", [0, 1])
def test_matrix_arguments_are_refused(wrt):
    m = np.matrix([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(s2sad.ArgumentError, match="np.matrix") as info:
        s2sad.grad(matrix_loss, wrt)(np.ones((2, 2)), m)
    assert info.value.hint
    with pytest.raises(s2sad.ArgumentError, match="np.matrix"):
        s2sad.grad(matrix_loss, wrt)(np.ones((2, 2)), m=m)


# ---------------------------------------------------------------------------
# staleness: a derivative follows the program as it is when it is called

HELPERS = '''\
import numpy as np

SCALE = 2.0


def scaled(x):
    return SCALE * x


def square(x):
    return x * x
'''

MAIN = '''\
import numpy as np
import {helpers} as hm
from {helpers} import scaled, square


def via_helper(x):
    return scaled(x) + 1.0


def via_attribute(x):
    return hm.square(x)


def with_default(x, a=2.0):
    return a * x


def make_closure():
    k = 2.0

    def f(x):
        return k * np.sin(x)

    def set_k(value):
        nonlocal k
        k = value

    return f, set_k
'''


@pytest.fixture
def modules(tmp_path, request):
    import sys

    from gradcheck import module_from_source

    name = re.sub(r"\W", "_", request.node.name)
    helpers = module_from_source(tmp_path, f"helpers_{name}", HELPERS)
    main = module_from_source(tmp_path, f"main_{name}", MAIN.format(helpers=helpers.__name__))
    yield main, helpers
    sys.modules.pop(main.__name__, None)
    sys.modules.pop(helpers.__name__, None)


def cube(x):
    return x ** 3


def test_rebinding_a_data_global_of_a_helpers_module(modules):
    main, helpers = modules
    g = s2sad.grad(main.via_helper)
    assert g(1.0) == pytest.approx(2.0)
    helpers.SCALE = 5.0
    assert g(1.0) == pytest.approx(5.0)  # was 2.0: the value seen when g was built


def test_redefining_a_helper(modules):
    main, helpers = modules
    g = s2sad.grad(main.via_helper)
    assert g(3.0) == pytest.approx(2.0)
    main.scaled = cube  # the notebook workflow: run the helper's cell again with a new body
    assert g(3.0) == pytest.approx(27.0)
    assert s2sad.grad(main.via_helper)(3.0) == pytest.approx(27.0)


def test_redefining_a_helper_reached_through_a_module_attribute(modules):
    main, helpers = modules
    g = s2sad.grad(main.via_attribute)
    assert g(3.0) == pytest.approx(6.0)
    helpers.square = cube
    assert g(3.0) == pytest.approx(27.0)


def test_replacing_a_helpers_code(modules):
    main, helpers = modules
    g = s2sad.grad(main.via_attribute)
    assert g(3.0) == pytest.approx(6.0)
    helpers.square.__code__ = cube.__code__
    assert g(3.0) == pytest.approx(27.0)


def test_changing_defaults(modules):
    main, _ = modules
    g = s2sad.grad(main.with_default)
    assert g(1.0) == pytest.approx(2.0)
    main.with_default.__defaults__ = (5.0,)
    assert g(1.0) == pytest.approx(5.0)
    assert s2sad.jvp(main.with_default)(1.0, 1.0) == pytest.approx((5.0, 5.0))


def test_rebinding_a_closure_variable(modules):
    main, _ = modules
    f, set_k = main.make_closure()
    g = s2sad.grad(f)
    assert g(0.5) == pytest.approx(2.0 * np.cos(0.5))
    set_k(3.0)
    assert g(0.5) == pytest.approx(3.0 * np.cos(0.5))


def test_editing_the_source_file_after_import_is_refused(modules):
    main, _ = modules
    path = main.__file__
    with open(path) as fh:
        text = fh.read()
    with open(path, "w") as fh:
        fh.write(text.replace("return a * x", "return a * x * x * 10.0"))
    with pytest.raises(s2sad.SourceChangedError, match="changed since it was imported") as info:
        s2sad.grad(main.with_default)(1.0)
    assert info.value.location is not None and "reload" in info.value.hint
    # a function of that file whose own text did not change is still differentiated
    assert s2sad.grad(main.via_helper)(1.0) == pytest.approx(2.0)


def test_a_derivative_built_before_the_edit_refuses_once_it_must_be_rebuilt(modules):
    main, _ = modules
    g = s2sad.grad(main.with_default)
    with open(main.__file__) as fh:
        text = fh.read()
    with open(main.__file__, "w") as fh:
        fh.write(text.replace("return a * x", "return a * x * x * 10.0"))
    assert g(1.0) == pytest.approx(2.0)  # built from the code that runs, which did not change
    main.with_default.__defaults__ = (5.0,)
    with pytest.raises(s2sad.SourceUnavailableError, match="changed since it was imported"):
        g(1.0)


def test_editing_a_helpers_file_after_import_is_refused_naming_the_helper(modules):
    main, helpers = modules
    with open(helpers.__file__) as fh:
        text = fh.read()
    with open(helpers.__file__, "w") as fh:
        fh.write(text.replace("return SCALE * x", "return SCALE * x * x"))
    with pytest.raises(s2sad.SourceChangedError, match="scaled") as info:
        s2sad.grad(main.via_helper)(1.0)
    assert info.value.location.filename == helpers.__file__ and "reload" in info.value.hint
    helpers.__spec__.loader.exec_module(helpers)  # a reload, as the hint says: the code that runs is the text
    main.scaled = helpers.scaled
    assert s2sad.grad(main.via_helper)(3.0) == pytest.approx(12.0)


@pytest.mark.parametrize("transform, before, after", [
    pytest.param(lambda f: s2sad.grad(f), 4.0, 12.0, id="grad"),
    pytest.param(lambda f: (lambda x: s2sad.value_and_grad(f)(x)[1]), 4.0, 12.0, id="value_and_grad"),
    pytest.param(lambda f: (lambda x: s2sad.jvp(f)(x, 1.0)[1]), 4.0, 12.0, id="jvp"),
    pytest.param(lambda f: s2sad.grad(s2sad.grad(f)), 2.0, 12.0, id="grad_of_grad"),
    pytest.param(lambda f: s2sad.derivative(f, order=2), 2.0, 12.0, id="derivative2"),
    pytest.param(lambda f: s2sad.hessian(f), 2.0, 12.0, id="hessian"),
    pytest.param(lambda f: (lambda x: s2sad.hvp(f)(x, 1.0)), 2.0, 12.0, id="hvp"),
])
def test_every_derivative_follows_a_redefined_helper(modules, transform, before, after):
    main, helpers = modules
    d = transform(main.via_attribute)  # x ** 2 at x = 2, then x ** 3
    assert np.asarray(d(2.0)).item() == pytest.approx(before)
    helpers.square = cube
    assert np.asarray(d(2.0)).item() == pytest.approx(after)
