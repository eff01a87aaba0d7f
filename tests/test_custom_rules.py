"""Users register rules for their own functions, read them in generated code, and check them."""

import numpy as np
import pytest

import s2sad


def softplus(x):
    return np.logaddexp(0.0, x)


@s2sad.adjoint(softplus)
def softplus_adjoint(y, x):
    x_bar = y_bar / (1.0 + np.exp(-x))


@s2sad.tangent(softplus)
def softplus_tangent(y, x):
    y_dot = x_dot / (1.0 + np.exp(-x))


def uses_softplus(w, x):
    return np.sum(softplus(w * x))


def test_user_rule_is_used_and_shown():
    g = s2sad.grad(uses_softplus)
    assert "softplus(" in g.source and "np.exp(-" in g.source  # the rule's body, inlined
    assert "logaddexp" not in g.source  # the function itself is not differentiated through
    x = np.linspace(-1, 1, 5)
    assert s2sad.check_grad(uses_softplus, 0.3, x) < 1e-7


def test_check_rule_accepts_a_right_rule():
    s2sad.check_rule(softplus, np.linspace(-2.0, 2.0, 5))


def wrong(x):
    return x ** 3


def wrong_adjoint(y, x):
    x_bar = y_bar * 2 * x  # should be 3 x^2


def wrong_tangent(y, x):
    y_dot = x_dot * 3 * x ** 2


@pytest.fixture
def wrong_rules():
    """Register a deliberately wrong adjoint for `wrong` for one test, then take it away."""
    from s2sad.rules import registry

    s2sad.adjoint(wrong)(wrong_adjoint)
    s2sad.tangent(wrong)(wrong_tangent)
    yield
    registry.ADJOINT_RULES.pop(wrong, None)
    registry.TANGENT_RULES.pop(wrong, None)
    registry._generation[0] += 1


def test_check_rule_catches_a_wrong_rule(wrong_rules):
    with pytest.raises(AssertionError):
        s2sad.check_rule(wrong, np.array([0.5, 1.5]), modes=("adjoint",))
    s2sad.check_rule(wrong, np.array([0.5, 1.5]), modes=("tangent",))


def test_registering_twice_needs_override(wrong_rules):
    with pytest.raises(s2sad.RuleError, match="override=True"):

        @s2sad.adjoint(softplus)
        def again(y, x):
            x_bar = y_bar

    @s2sad.adjoint(wrong, override=True)
    def fixed(y, x):
        x_bar = y_bar * 3 * x ** 2

    assert s2sad.grad(lambda x: wrong(x))(2.0) == pytest.approx(12.0)


def opaque_rounding(x):
    return np.round(x * 100) / 100


s2sad.nondifferentiable(opaque_rounding)


def test_user_nondifferentiable_function_passes_through():
    def f(x):
        return x * opaque_rounding(x)

    # opaque_rounding contributes nothing: d/dx [x * c] = c
    assert s2sad.grad(f)(1.234) == pytest.approx(1.23)


def test_a_rule_that_does_not_match_the_call_is_a_clear_error():
    def f(x):
        return softplus(x, 3)

    with pytest.raises(s2sad.RuleError, match="does not match"):
        s2sad.grad(f)(1.0)


def test_check_grad_reports_a_wrong_gradient(wrong_rules):
    def g(x):
        return wrong(x)

    with pytest.raises(AssertionError, match="finite differences"):
        s2sad.check_grad(g, 1.5)


def cube(x):
    return x ** 3


def test_registering_a_rule_invalidates_cached_gradients():
    def f(x):
        return cube(x)

    assert s2sad.grad(f)(2.0) == pytest.approx(12.0)  # cube's source is read and differentiated

    @s2sad.adjoint(cube)
    def cube_adjoint(y, x):
        x_bar = y_bar * 100.0  # deliberately different, to see it used

    try:
        assert s2sad.grad(f)(2.0) == pytest.approx(100.0)
    finally:
        from s2sad.rules import registry

        registry.ADJOINT_RULES.pop(cube)
        registry._generation[0] += 1
