"""Hostile small functions found by the leftovers hunt: each was a wrong gradient or an InternalError.

Each is now either differentiated (checked against central differences) or refused with an
S2SADError at the offending line.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from gradcheck import assert_grad_matches_fd, numeric_grad

import s2sad
from s2sad.errors import InPlaceUpdateError, NoDerivativeError

X = np.array([0.3, 0.8, 1.7])


def _line(f, marker="# HERE"):
    lines, start = inspect.getsourcelines(f)
    return next(start + i for i, text in enumerate(lines) if marker in text)


# ---------------------------------------------------------------------------
# complex values computed from real ones: the rules follow no complex convention
# (before: a complex "gradient" such as -1.34+1.79j where the true one is 2.24)
# ---------------------------------------------------------------------------


def times_complex(x):
    return np.sum(np.abs(x * (1 + 2j)))  # HERE


def exp_of_imaginary(x):
    z = np.exp(1j * x)  # HERE
    return np.sum(np.abs(z + 2.0))


def cast_to_complex(x):
    z = x.astype(complex) * (1 + 1j)  # HERE
    return np.sum(np.abs(z))


@pytest.mark.parametrize("f", [times_complex, exp_of_imaginary, cast_to_complex], ids=lambda f: f.__name__)
def test_a_complex_intermediate_is_refused_in_reverse_mode(f):
    with pytest.raises(NoDerivativeError, match="complex value computed from a real one") as info:
        s2sad.grad(f)(X.copy())
    assert info.value.location.line == _line(f)


@pytest.mark.parametrize("kind", ["jvp", "derivative"])
@pytest.mark.parametrize("f", [times_complex, exp_of_imaginary, cast_to_complex], ids=lambda f: f.__name__)
def test_a_complex_intermediate_is_refused_in_forward_mode(f, kind):
    # before: jvp gave a complex tangent of the real value, e.g. -4.02+5.37j where the true one is 6.71
    call = (lambda: s2sad.jvp(f)(X.copy(), np.ones(3))) if kind == "jvp" else \
        (lambda: s2sad.derivative(lambda a: f(np.array([a, 0.8, 1.7])))(0.3))
    with pytest.raises(NoDerivativeError, match="complex value computed from a real one") as info:
        call()
    assert info.value.location is not None


def real_only(x):
    return np.sum(np.abs(x - 0.5) ** 2)


def test_a_function_without_complex_numbers_has_no_tangent_check():
    assert "real_tangent" not in s2sad.jvp(real_only).source
    assert "real_tangent" in s2sad.jvp(times_complex).source


# ---------------------------------------------------------------------------
# `v op= w` where v is also another name, or a view of an array read later
# ---------------------------------------------------------------------------


def list_extended_under_another_name(x):
    a = [x[0], x[1]]
    b = a
    b += [x[2]]  # HERE
    return a[2] * x[0] + len(a)


def list_extended_in_a_loop(x):
    a = [x[0]]
    b = a
    for i in range(2):
        b += [x[i + 1]]  # HERE
    return a[-1] * x[0]


def slice_updated_in_place(x):
    y = x.copy()
    v = y[0:2]
    v *= 2.0  # HERE
    return np.sum(y * x)


def transpose_updated_in_place(x):
    y = np.outer(x, x)
    t = y.T
    t += 1.0  # HERE
    return np.sum(y * y)


def reshape_updated_in_place(x):
    y = x * 1.0
    r = y.reshape(3, 1)
    r -= x[0]  # HERE
    return np.sum(y * x)


def view_of_a_view_updated_in_place(x):
    y = x * 1.0
    v = y[1:]
    w = v[:1]
    w *= 2.0  # HERE
    return np.sum(y * x)


def _bump(a):
    a += 1.0  # HERE
    return a


def helper_updates_its_argument(x):
    y = x * 1.0
    _bump(y)
    return np.sum(y * x)


@pytest.mark.parametrize("f", [list_extended_under_another_name, list_extended_in_a_loop, slice_updated_in_place,
                               transpose_updated_in_place, reshape_updated_in_place,
                               view_of_a_view_updated_in_place, helper_updates_its_argument],
                         ids=lambda f: f.__name__)
@pytest.mark.parametrize("kind", ["grad", "jvp"])
def test_an_augmented_update_seen_under_another_name_is_refused(f, kind):
    # before: the lists gave an InternalError (IndexError) or a wrong gradient, the views a wrong
    # gradient (the update was lowered as `v = v * 2.0`, which leaves y unchanged)
    args = (X.copy(), np.ones(3)) if kind == "jvp" else (X.copy(),)
    with pytest.raises(InPlaceUpdateError) as info:
        getattr(s2sad, kind)(f)(*args)
    assert info.value.location.line == _line(_bump if f is helper_updates_its_argument else f)


def element_updated(x):
    y = x * 1.0
    e = y[0]  # a 1-D array's element is a copy: `e += 5.0` changes only e
    e += 5.0
    return np.sum(y * x) + e * x[1]


def view_of_a_temporary_updated(x):
    v = (x * 2.0)[1:]  # nobody else sees the array v was taken from
    v *= 3.0
    return np.sum(v * x[1:])


def helper_updates_an_argument_read_nowhere_else(x):
    return np.sum(_bump(x * 1.0) ** 2) + np.sum(_bump(x[0] * 1.0))


def helper_updates_a_number(x):
    s = x[0] * 2.0
    return _bump(s) * s


@pytest.mark.parametrize("f", [element_updated, view_of_a_temporary_updated,
                               helper_updates_an_argument_read_nowhere_else, helper_updates_a_number],
                         ids=lambda f: f.__name__)
def test_an_augmented_update_nobody_else_sees_is_differentiated(f):
    assert_grad_matches_fd(f, (X.copy(),))


# ---------------------------------------------------------------------------
# values the generated code computed differently from the function
# ---------------------------------------------------------------------------


def formatted_length(x):
    s = f"{x[0]:.2f}|{len(x)!r:>4}"  # the format spec and conversion were dropped: len(s) was 5
    return x[0] * len(s)


def test_an_f_string_keeps_its_format_spec_and_conversion():
    g = assert_grad_matches_fd(formatted_length, (X.copy(),))
    assert g[0] == pytest.approx(len(f"{X[0]:.2f}|{len(X)!r:>4}"))


def list_repeated(x):
    a = [x[0]] * 3  # HERE
    return a[0] * a[2]


def tuple_repeated(x):
    a = (x[0], x[1]) * 2  # HERE
    return a[0] * a[3]


@pytest.mark.parametrize("f", [list_repeated, tuple_repeated], ids=lambda f: f.__name__)
def test_a_repeated_list_is_refused_in_reverse_mode(f):
    # before: the adjoint was (a_bar * 3)[0], a repeat of the list adjoint, not the sum of the repeats
    with pytest.raises(NoDerivativeError, match="repeating a list") as info:
        s2sad.grad(f)(X.copy())
    assert info.value.location.line == _line(f)


def list_by_comprehension(x):
    a = [x[0] for _ in range(3)]
    return a[0] * a[2]


def test_the_suggested_comprehension_is_differentiated():
    assert_grad_matches_fd(list_by_comprehension, (X.copy(),))


# ---------------------------------------------------------------------------
# an argument a rule has no derivative in
# ---------------------------------------------------------------------------


def interp_in_its_sample_points(x):
    return np.interp(0.5, x, np.array([1.0, 2.0, 4.0]))  # HERE


@pytest.mark.parametrize("kind", ["grad", "jvp"])
def test_an_argument_a_rule_does_not_differentiate_is_refused(kind):
    # before: np.interp's gradient in xp was silently zero (the rule has no term for it)
    args = (X.copy(), np.ones(3)) if kind == "jvp" else (X.copy(),)
    with pytest.raises(NoDerivativeError, match="not differentiated in its argument 'xp'") as info:
        getattr(s2sad, kind)(interp_in_its_sample_points)(*args)
    assert info.value.location.line == _line(interp_in_its_sample_points)


def interp_in_its_values(x):
    return np.interp(x[0], np.array([0.0, 0.5, 1.0]), x)


def test_the_other_arguments_of_that_rule_are_still_differentiated():
    assert_grad_matches_fd(interp_in_its_values, (X.copy(),))


# ---------------------------------------------------------------------------
# lists in forward mode, and lists outside the function
# ---------------------------------------------------------------------------


def appended_to_an_empty_list(x):
    items = []
    items.append(x[0])
    items.append(x[1] * 2.0)
    return items[0] * items[1]


def appended_to_a_constant_list(x):
    items = [1.0, 2.0]
    items.append(x[0])
    return items[0] * items[2] + items[1]


@pytest.mark.parametrize("f", [appended_to_an_empty_list, appended_to_a_constant_list], ids=lambda f: f.__name__)
def test_jvp_of_a_list_first_appended_a_differentiated_value(f):
    # before: the zero tangents of the list's old items were made after the append (the same list
    # object), one too many, so every tangent was shifted by one place: 0.3 instead of 2.2
    x, t = X.copy(), np.array([1.0, -0.5, 2.0])
    value, tangent = s2sad.jvp(f)(x, t)
    expected = float(np.dot(numeric_grad(f, (x,)), t))
    assert tangent == pytest.approx(expected, rel=1e-6) and value == pytest.approx(f(x))


_LOG = []


def appends_to_a_global_list(x):
    _LOG.append(x * 2.0)  # HERE
    return np.sum(_LOG[-1] * x)


@pytest.mark.parametrize("kind", ["grad", "jvp"])
def test_a_global_list_changed_in_place_is_refused(kind):
    # before: _LOG[-1] was read as a constant, so the gradient was half the true one
    args = (X.copy(), np.ones(3)) if kind == "jvp" else (X.copy(),)
    with pytest.raises(InPlaceUpdateError, match="outside the function") as info:
        getattr(s2sad, kind)(appends_to_a_global_list)(*args)
    assert info.value.location.line == _line(appends_to_a_global_list)


# ---------------------------------------------------------------------------
# explain runs the rules itself: the same refusals
# ---------------------------------------------------------------------------


def test_explain_refuses_an_argument_a_rule_does_not_differentiate():
    # before: explain gave 0.0 for np.interp's xp (the rule's mark evaluated to 0)
    with pytest.raises(NoDerivativeError, match="not differentiated in its argument 'xp'"):
        s2sad.explain(interp_in_its_sample_points, X.copy())


def test_explain_refuses_a_user_method_given_a_differentiated_value():
    import test_writes

    # before: explain's trace gave 2 * x where the gradient is 4 * x
    with pytest.raises(NoDerivativeError, match="does not read methods"):
        s2sad.explain(test_writes._method_result_in_a_condition, X.copy())
