"""One error lists every problem in a function and the helpers it calls (issue 10 §4).

Each offending line carries a ``# P<k>`` comment, k being its place in the expected list; the
tests find the lines from those comments, so editing this file does not break them.
"""

import inspect
import re

import numpy as np
import pytest

import s2sad
from gradcheck import numeric_grad


def marked(f, k):
    """The absolute line number (in this file) of the line of `f` marked ``# P<k>``."""
    lines, start = inspect.getsourcelines(f)
    hits = [start + i for i, text in enumerate(lines) if re.search(rf"# P{k}\b", text)]
    assert len(hits) == 1, f"test bug: {f.__name__} must mark one line with '# P{k}'"
    return hits[0]


# ------------------------------------------------------------------ programs with several problems

def helper_with_set(x):
    s = {x}  # P1
    return x * 2.0


def four_problems(x):
    try:  # P2
        y = x + 1.0
    except ValueError:
        y = x
    z = helper_with_set(y)
    g = [lambda t: t][0]  # P3 (a lambda bound to a name is inlined; one in a list is refused)
    w = undefined_thing(z) + g(z)  # noqa: F821  # P4
    return np.sum(w * z)


def helper_fixed(x):
    s = (x,)
    return x * 2.0


def four_problems_fixed(x):
    y = x + 1.0
    z = helper_fixed(y)
    w = np.sin(z) + z
    return np.sum(w * z)


def inner_helper(x):
    while x > 10.0:
        x = x / 2.0
    seen = {x}  # P1
    return x


def outer_helper(x):
    del x  # P2
    x = 3.0
    return inner_helper(3.0)


def three_problems(x):
    a = outer_helper(x) * x
    if a > 0:
        b = a > 1.0 and (c := a + 1.0)  # P3
    else:
        b = a
    return b


def three_problems_fixed(x):
    a = 3.0 * x
    if a > 0:
        c = a + 1.0
        b = c
    else:
        b = a
    return b


def twice_called(x):
    return {x, 2.0 * x}  # P1


def helper_used_twice(x):
    u = twice_called(x)
    v = twice_called(u)
    for k in range(2):
        import math  # P2
        u = u * math.pi
    return u + v


namespace = {"__name__": "generated_elsewhere"}
exec("def no_source(x):\n    return x * x\n", namespace)
no_source = namespace["no_source"]


def with_unreadable_helper(x):
    global GLOBAL_COUNTER  # P1
    GLOBAL_COUNTER = GLOBAL_COUNTER + 1
    y = no_source(x)  # P2
    return y * GLOBAL_COUNTER


CASES = [
    pytest.param(four_problems, four_problems_fixed, 4,
                 [s2sad.UnsupportedSyntaxError, s2sad.UnsupportedSyntaxError, s2sad.UnsupportedSyntaxError,
                  s2sad.NameResolutionError],
                 [helper_with_set, four_problems, four_problems, four_problems], id="function-and-helper"),
    pytest.param(three_problems, three_problems_fixed, 3, [s2sad.UnsupportedSyntaxError] * 3,
                 [inner_helper, outer_helper, three_problems], id="helper-of-a-helper"),
    pytest.param(helper_used_twice, None, 2, [s2sad.UnsupportedSyntaxError] * 2,
                 [twice_called, helper_used_twice], id="helper-called-twice-reported-once"),
    pytest.param(with_unreadable_helper, None, 2, [s2sad.UnsupportedSyntaxError, s2sad.NoDerivativeError],
                 [with_unreadable_helper, with_unreadable_helper], id="unreadable-helper"),
]


def order_key(f):
    return f.__code__.co_firstlineno


@pytest.mark.parametrize("f, fixed, count, kinds, where", CASES)
def test_every_problem_is_listed_in_one_error(f, fixed, count, kinds, where):
    with pytest.raises(s2sad.UnsupportedCodeError) as info:
        s2sad.grad(f)(0.7)
    err = info.value
    text = str(err)
    assert text.splitlines()[0] == f"{count} problems in {f.__name__} (test_all_problems.py) prevent differentiation:"
    assert [type(p) for p in err.problems] == kinds
    expected_lines = [marked(w, k) for k, w in enumerate(where, 1)]
    assert [p.location.line for p in err.problems] == expected_lines
    assert expected_lines == sorted(expected_lines)  # ordered by line (all in this file)
    assert [p.location.function for p in err.problems] == [w.__name__ for w in where]
    for k, problem in enumerate(err.problems, 1):
        assert isinstance(problem, s2sad.S2SADError) and problem.hint
        entry = f"{k}. " + str(problem).replace("\n", "\n   ")  # each entry reads as the single error would
        assert entry in text
        assert "^" in str(problem)  # the caret under the column


@pytest.mark.parametrize("f, fixed", [(c.values[0], c.values[1]) for c in CASES if c.values[1] is not None])
def test_fixing_every_listed_problem_makes_it_differentiate(f, fixed):
    x = 0.7
    assert np.allclose(s2sad.grad(fixed)(x), numeric_grad(fixed, (x,)), rtol=1e-6, atol=1e-8)


# ------------------------------------------------------------------ one problem: as before

def one_problem(x):
    s = {x}
    return x * 2.0


def one_problem_with_knock_ons(x):
    g = [lambda t: t * t][0]
    h = g(x) + 1.0  # calls what the refused line defined: not a second problem
    global TOTAL
    TOTAL = TOTAL + h  # names the refused lines bind are not reported as undefined
    return TOTAL


def test_one_problem_is_raised_as_itself():
    with pytest.raises(s2sad.UnsupportedSyntaxError) as info:
        s2sad.grad(one_problem)(0.7)
    assert not isinstance(info.value, s2sad.UnsupportedCodeError)
    assert str(info.value).startswith("s2sad cannot differentiate a set display\nFile ")


def test_knock_on_failures_of_refused_lines_are_not_listed():
    with pytest.raises(s2sad.UnsupportedCodeError) as info:
        s2sad.grad(one_problem_with_knock_ons)(0.7)
    assert [p.message for p in info.value.problems] == [
        "s2sad cannot differentiate a lambda that is not assigned to a name",
        "s2sad cannot differentiate a global statement",
    ]


def test_the_listing_is_an_s2sad_error_for_every_entry_point():
    for transform in (s2sad.grad, s2sad.value_and_grad, s2sad.jacobian, s2sad.hessian):
        with pytest.raises(s2sad.UnsupportedCodeError) as info:
            transform(four_problems)(0.7)
        assert len(info.value.problems) == 4
    with pytest.raises(s2sad.UnsupportedCodeError):
        s2sad.show(four_problems)


# ------------------------------------------------------------------ calls without a derivative rule

def helper_without_rule(x):
    return np.i0(x)  # P1


def two_missing_rules(x):
    a = helper_without_rule(x) * x
    b = np.sin(a)
    c = np.i0(b) + a  # P2
    return c


def two_missing_rules_fixed(x):
    a = np.cosh(x) * x
    b = np.sin(a)
    return np.cosh(b) + a


def test_every_call_without_a_rule_is_listed_in_one_error():
    with pytest.raises(s2sad.UnsupportedCodeError) as info:
        s2sad.grad(two_missing_rules)(0.7)
    err = info.value
    assert str(err).splitlines()[0] == "2 problems in two_missing_rules (test_all_problems.py) prevent differentiation:"
    assert [type(p) for p in err.problems] == [s2sad.NoDerivativeError] * 2
    assert isinstance(err, s2sad.NoDerivativeError)  # `except NoDerivativeError` still catches the listing
    assert [p.location.line for p in err.problems] == [marked(helper_without_rule, 1), marked(two_missing_rules, 2)]
    assert all("np.i0" in p.message and "s2sad.adjoint(np.i0)" in p.hint for p in err.problems)
    x = 0.7
    assert np.allclose(s2sad.grad(two_missing_rules_fixed)(x), numeric_grad(two_missing_rules_fixed, (x,)))


def test_forward_mode_lists_every_call_without_a_tangent_rule():
    with pytest.raises(s2sad.UnsupportedCodeError) as info:
        s2sad.jvp(two_missing_rules)(0.7, 1.0)
    err = info.value
    assert [type(p) for p in err.problems] == [s2sad.NoDerivativeError] * 2
    assert [p.location.line for p in err.problems] == [marked(helper_without_rule, 1), marked(two_missing_rules, 2)]
    assert all("tangent" in p.message for p in err.problems)


# ------------------------------------------------------------------ unsafe in-place updates

def two_unsafe_updates(x):
    x[0] = 2.0 * x[0]  # P1
    y = np.zeros(3)
    v = y[1:]
    y[1] = x[1]  # P2
    return np.sum(v * x) + np.sum(y)


def two_unsafe_updates_fixed(x):
    x = x.copy()
    x[0] = 2.0 * x[0]
    y = np.zeros(3)
    v = y[1:].copy()
    y[1] = x[1]
    return np.sum(v * x[1:]) + np.sum(y)


def test_every_unsafe_in_place_update_is_listed_in_one_error():
    x = np.array([0.3, -0.5, 0.8])
    with pytest.raises(s2sad.UnsupportedCodeError) as info:
        s2sad.grad(two_unsafe_updates)(x)
    err = info.value
    assert [type(p) for p in err.problems] == [s2sad.InPlaceUpdateError] * 2
    assert [p.location.line for p in err.problems] == [marked(two_unsafe_updates, 1), marked(two_unsafe_updates, 2)]
    assert np.allclose(s2sad.grad(two_unsafe_updates_fixed)(x), numeric_grad(two_unsafe_updates_fixed, (x,)))
