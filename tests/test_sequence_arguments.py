"""A top-level list or tuple of numbers is differentiated as the vector of them; a function that
uses it as a list or tuple (joins, repeats, compares, isinstance, methods) is refused for it,
since the array's derivative would be another function's (found by adapting autograd's container
tests: ``y = x + x`` at (1.0, 2.0, 3.0) gave the value 16 for 34)."""

from __future__ import annotations

import numpy as np
import pytest

import s2sad


def joins(x):
    y = x + x
    return np.sum(np.array(y) * np.arange(len(y)))


def repeats_in_a_helper(x):
    return np.sum(np.array(_twice(x)) * np.arange(2 * len(x)))


def _twice(v):
    return v * 2


def checks_its_type(x):
    assert isinstance(x, tuple)
    return x[0] ** 2


def compares(x):
    return x[0] * 2.0 if x == (1.0, 2.0, 3.0) else x[1]


def joins_a_slice(x):
    head = x[:2]
    head += (5.0,)
    return np.sum(np.array(head) ** 2)


def counts(x):
    return x[0] * x.count(2.0)


def indexes_and_iterates(x):
    x = x.copy()
    return x[0] * x[1] + np.sum(np.sin(x)) + sum(v * v for v in x) + len(x) + (3.0 in x)


@pytest.mark.parametrize("f", [joins, repeats_in_a_helper, checks_its_type, compares, joins_a_slice, counts])
@pytest.mark.parametrize("container", [tuple, list])
def test_a_sequence_used_as_a_sequence_is_refused(f, container):
    with pytest.raises(s2sad.ArgumentError, match="uses it here as a") as info:
        s2sad.grad(f)(container([1.0, 2.0, 3.0]))
    assert info.value.location is not None and info.value.hint


def products(x):
    return np.sum(x * x) + np.sum(x * 2.0) + np.sum(x + np.ones(3))  # a list's * and + would raise here


@pytest.mark.parametrize("f", [indexes_and_iterates, products])
@pytest.mark.parametrize("container", [tuple, list, np.array])
def test_a_sequence_used_as_a_vector_is_differentiated(f, container):
    x = np.array([1.0, 2.0, 3.0])
    gradient = s2sad.grad(f)(container(list(x)))
    h = 1e-6
    expected = [(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(3)]
    np.testing.assert_allclose(gradient, expected, rtol=1e-6)


def test_the_same_function_takes_an_array():
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(s2sad.grad(joins)(x), 2 * np.arange(3.0))
