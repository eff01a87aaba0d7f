"""Outside-style probes of the API's own tools: a check must be able to fail. Each test names the
wrong answer it caught."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import s2sad


def root_where_positive(x):
    return np.sum(np.where(x > 0, np.sqrt(np.abs(x)), 0.0))


def square(x):
    return x * x


def test_check_grad_fails_on_a_nan_gradient_that_differences_call_finite():
    # the gradient at x = 0 is nan (0 * inf in the untaken branch of np.where, as in every AD tool),
    # finite differences give 500: max(|nan - 500|) is nan, `nan > tolerance` is False, and
    # check_grad returned 0.0, a pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(AssertionError, match="differs from finite differences by inf"):
            s2sad.check_grad(root_where_positive, np.array([0.0, 4.0]))
        # an infinite gradient where differences give nan (x = inf) is no pass either (it returned 0.0)
        with pytest.raises(AssertionError, match="by inf"):
            s2sad.check_grad(square, np.inf)
    assert s2sad.check_grad(square, 2.0) < 1e-9  # a finite point still passes


class Model:
    def __init__(self, w):
        self.w = w

    @s2sad.differentiate
    def loss(self, x):
        return np.sum((self.w * x) ** 2)

    @s2sad.differentiate
    def cubic(self, x):
        return x * x * 3.0


OPERATORS_OF_A_BOUND_METHOD = {
    # s2sad.grad(m.loss) read the unbound function and differentiated it with respect to self
    # ("the attribute .w has no derivative rule"), or took x for self (missing argument 'x')
    "grad": (lambda m: s2sad.grad(m.loss)(np.ones(2)), [2.0, 8.0]),
    "grad by name": (lambda m: s2sad.grad(m.loss, "x")(np.ones(2)), [2.0, 8.0]),
    "value_and_grad": (lambda m: s2sad.value_and_grad(m.loss)(np.ones(2))[1], [2.0, 8.0]),
    "hessian": (lambda m: s2sad.hessian(m.loss)(np.ones(2)), [[2.0, 0.0], [0.0, 8.0]]),
    "jvp": (lambda m: s2sad.jvp(m.cubic)(2.0, 1.0)[1], 12.0),
    "derivative": (lambda m: s2sad.derivative(m.cubic, 2)(2.0), 6.0),
    "the method's own .grad": (lambda m: m.loss.grad(np.ones(2)), [2.0, 8.0]),
}


@pytest.mark.parametrize("call, expected", OPERATORS_OF_A_BOUND_METHOD.values(), ids=OPERATORS_OF_A_BOUND_METHOD)
def test_operators_of_a_differentiate_method_bound_to_an_object_differentiate_its_argument(call, expected):
    np.testing.assert_allclose(call(Model(np.array([1.0, 2.0]))), expected, rtol=1e-12)


DRIVER_NAMES = ["e", "k", "value", "value_dot", "columns", "rows", "total", "J", "x_bar", "basis", "flat",
                "unflat", "size", "stack", "out_shape", "check_field", "np", "float", "enumerate"]


@pytest.fixture(scope="module")
def parameter_named(tmp_path_factory):
    """name -> (f(x, <name>) = sum(x**3) * <name>, F(x, <name>) = x**2 * <name>), from a module file."""
    from gradcheck import module_from_source

    lines = ["import numpy\n"]
    for name in DRIVER_NAMES:
        lines.append(f"def scalar_{name}(x, {name}):\n    return numpy.sum(x ** 3) * {name}\n")
        lines.append(f"def field_{name}(x, {name}):\n    return x ** 2 * {name}\n")
    module = module_from_source(tmp_path_factory.mktemp("driver_names"), "outside_driver_names", "\n".join(lines))
    return {name: (getattr(module, f"scalar_{name}"), getattr(module, f"field_{name}")) for name in DRIVER_NAMES}


@pytest.mark.parametrize("name", DRIVER_NAMES)
def test_drivers_of_a_function_with_a_parameter_named_like_their_variables(parameter_named, name):
    # hessian(f)(x, e) looped `for e in basis(x)` and passed each basis vector as f's e: a Hessian of
    # half the right size, silently; a parameter named basis, flat, size, stack, value ... hid the
    # driver's helper or was overwritten by its variable (InternalError "'float' object is not callable")
    scalar, field = parameter_named[name]
    x, c = np.array([0.5, -1.0, 2.0]), 2.0
    np.testing.assert_allclose(s2sad.hessian(scalar)(x, c), np.diag(6 * x) * c, rtol=1e-12)
    np.testing.assert_allclose(s2sad.laplacian(scalar)(x, c), np.sum(6 * x) * c, rtol=1e-12)
    for mode in ("forward", "reverse", "auto"):
        np.testing.assert_allclose(s2sad.jacobian(field, mode=mode)(x, c), np.diag(2 * x) * c, rtol=1e-12)
    np.testing.assert_allclose(s2sad.jacobian(field, (0, 1))(x, c)[1], x ** 2, rtol=1e-12)
    np.testing.assert_allclose(s2sad.divergence(field)(x, c), np.sum(2 * x) * c, rtol=1e-12)
    np.testing.assert_allclose(s2sad.curl(field)(x, c), np.zeros(3), atol=1e-12)


def tanh_loss(x, w):
    return np.sum(np.tanh(w * x) ** 2)


def vector_field(x):
    return np.array([x[1] * x[2], x[0] ** 2, np.sin(x[2])])


X, W = np.array([0.3, -0.5]), 1.5
PICKLED = {
    "grad": (lambda: s2sad.grad(tanh_loss, ("x", "w")), (X, W)),
    "value_and_grad with checkpoint": (lambda: s2sad.value_and_grad(tanh_loss, checkpoint=2), (X, W)),
    "jvp": (lambda: s2sad.jvp(tanh_loss), (X, W, np.ones(2))),
    "vjp": (lambda: s2sad.vjp(tanh_loss), (X, W, 1.0)),
    "hvp": (lambda: s2sad.hvp(tanh_loss), (X, W, np.ones(2))),
    "hessian": (lambda: s2sad.hessian(tanh_loss), (X, W)),
    "jacobian": (lambda: s2sad.jacobian(vector_field, mode="reverse"), (np.ones(3),)),
    "laplacian": (lambda: s2sad.laplacian(tanh_loss), (X, W)),
    "divergence": (lambda: s2sad.divergence(vector_field), (np.ones(3),)),
    "curl": (lambda: s2sad.curl(vector_field), (np.ones(3),)),
    "derivative": (lambda: s2sad.derivative(square, 2), (np.array([1.0, 2.0]),)),
    "grad of grad": (lambda: s2sad.grad(s2sad.grad(square)), (2.0,)),
}


@pytest.mark.parametrize("make, args", PICKLED.values(), ids=PICKLED)
def test_a_derivative_of_a_module_function_pickles_as_the_request_that_made_it(make, args):
    # a process pool pickles the function it maps: pickle.dumps(s2sad.grad(f)) raised AttributeError
    # "Can't pickle local object '__s2sad_factory__.<locals>.grad_f'"
    import copy
    import pickle

    derived = make()
    again = pickle.loads(pickle.dumps(derived))
    assert repr(again(*args)) == repr(derived(*args))
    assert copy.deepcopy(derived) is derived


def dict_loss(p):
    return np.sum(p["w"] ** 2)


def test_a_variant_made_inside_s2sad_refuses_pickling_with_a_hint():
    import pickle

    variant = s2sad.grad(dict_loss).specialize({"w": np.ones(2)})  # the code for that structure
    with pytest.raises(s2sad.ArgumentError, match="cannot be pickled") as info:
        pickle.dumps(variant)
    assert "s2sad.grad(f)" in info.value.hint


HELPER_NAMES = ["unbroadcast", "scalar_seed", "zeros_like", "unreduce", "shape_of", "np"]


@pytest.mark.parametrize("name", HELPER_NAMES)
def test_a_parameter_named_like_a_runtime_helper_leaves_the_printed_source_the_code_that_runs(tmp_path, name):
    # def f(x, unbroadcast): the generated def took the parameter's name and called the helper by the
    # same name, so `.source` (and the generic code) called the user's array: "'numpy.ndarray' object
    # is not callable" where the shape-specialized code in memory gave the right gradient
    from gradcheck import module_from_source

    module = module_from_source(tmp_path, f"outside_helper_named_{name}", (
        "import numpy\n\n\n"
        f"def f(x, {name}):\n"
        "    s = 0.0\n"
        "    for i in range(2):\n"
        f"        s = s + numpy.sum(numpy.sin(x) * {name})\n"
        "    return s\n"))
    g = s2sad.grad(module.f)
    x, c = np.array([0.3, -1.2, 2.0]), np.array([1.5, -0.5, 2.0])
    namespace = dict(g.namespace.bindings)
    exec(g.source, namespace)  # the printed source, run as printed
    printed = namespace[f"grad_f"](x, c)
    np.testing.assert_allclose(printed, 2 * np.cos(x) * c, rtol=1e-12)
    np.testing.assert_allclose(g(x, c), printed, rtol=1e-12)
    assert s2sad.source(module.f) == g.source
    assert f"def grad_f(x, {name}):" in g.source
    # and exported (export refused it: the parameter would hide the helper)
    from s2sad.export import export_source

    exported: dict = {}
    exec(export_source(module.f, modes=("grad",)), exported)
    np.testing.assert_allclose(exported["grad_f"](x, c), printed, rtol=1e-12)


COUNT = [1.0]
WEIGHTS = np.ones(2)


def calls_a_global_list(x):
    return x * COUNT(2.6)


def calls_a_closure_list():
    count = [1.0]

    def f(x):
        return x * count(x)

    return f


def calls_a_global_array(x):
    return np.sum(WEIGHTS(x))


@pytest.mark.parametrize("f, what", [(calls_a_global_list, "COUNT is a list"),
                                     (calls_a_closure_list(), "count is a list"),
                                     (calls_a_global_array, "WEIGHTS is a ndarray")])
def test_calling_a_value_that_is_no_function_is_refused_naming_it_and_its_line(f, what):
    # count = [1.0] captured and count(2.6) called: InternalError "unhashable type: 'list'" (an s2sad
    # bug report) from the code generator, or NoDerivativeError "[1.0] has no derivative rule"
    with pytest.raises(s2sad.errors.UnsupportedSyntaxError, match=f"{what}, not a function") as info:
        s2sad.grad(f)(np.ones(2))
    assert info.value.location.line is not None and info.value.hint


def test_adjoints_of_one_list_are_added_item_by_item_never_cut_short():
    from s2sad import runtime

    assert runtime.add_sequences([1.0, None], [None, 2.0]) == [1.0, 2.0]
    assert runtime.add_sequences({"a": 1.0}, {"b": 2.0}) == {"a": 1.0, "b": 2.0}  # was {"a": 1.0}
    with pytest.raises(ValueError):
        runtime.add_sequences([1.0, 2.0], [3.0])  # was [4.0]: the second item's derivative dropped
