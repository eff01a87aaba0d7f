"""In-place updates of values that may alias another live value: an item taken out of a list,
tuple or dict (by index, negative or computed index, unpacking, a loop target, a view of an
item, another name for it), updated by ``op=``, a slice or element store, ``out=`` or
``np.add.at``, with the alias read later or not. Every gradient must agree with central finite
differences, or be refused with an S2SADError (never an InternalError, never a wrong number).

The default run takes a fixed sample of the programs; ``S2SAD_LONG=1`` runs all of them.
"""

import itertools
import os

import numpy as np
import pytest
from gradcheck import module_from_source, numeric_grad

import s2sad

LONG = os.environ.get("S2SAD_LONG") == "1"

ITEMS = {"param": "a = y", "owned": "a = y * 2.0"}
CONTAINERS = {
    "list": "c = [a, b]",
    "tuple": "c = (a, b)",
    "dict": "c = {'p': a, 'q': b}",
    "appended": "c = []\n    c.append(a)\n    c.append(b)",
    "nested": "c = [[a], b]",
}
KEY = {"dict": "'p'"}  # the first item's key; 0 elsewhere
TAKES = {
    "index": "r = c[{k}]",
    "negative": "r = c[-2]",
    "computed": "k = len(c) - 2\n    r = c[k]",
    "unpack": "r, s = c",
    "view": "r = c[{k}][:]",
    "renamed": "rr = c[{k}]\n    r = rr",
    "loop": "for r in c:",
    "carried": "r = c[{k}]\n    for i in range(2):",
}
OPS = {
    "iadd": "r += 1.0",
    "imul": "r *= y",
    "isub_item": "r -= b",
    "slice": "r[:] = r * 2.0",
    "element": "r[0] = y[1]",
    "out": "np.add(r, 1.0, out=r)",
    "add_at": "np.add.at(r, [0], y[1])",
    "sub_iadd": "r[1:] += 1.0",
}
RESULTS = {
    "alias": "np.sum(r * a)",
    "self": "np.sum(r * r)",
    "container": "np.sum(r) + np.sum(c[{k}] * y)",
    "param": "np.sum(r) + np.sum(y * y)",
}
CASES = list(itertools.product(ITEMS, CONTAINERS, TAKES, OPS, RESULTS))
SAMPLE = CASES if LONG else CASES[::23]  # every item, container, way of taking, op and result


def program(item, container, take, op, result):
    key = KEY.get(container, "0")
    taken = TAKES[take].format(k=key)
    indent = "        " if take in ("loop", "carried") else "    "
    return (f"import numpy as np\n\n\ndef f(y):\n    {ITEMS[item]}\n    b = y + 1.0\n    {CONTAINERS[container]}\n"
            f"    {taken}\n{indent}{OPS[op]}\n    return {RESULTS[result].format(k=key)}\n")


def test_the_sample_covers_every_choice():
    for position, choices in enumerate((ITEMS, CONTAINERS, TAKES, OPS, RESULTS)):
        assert {case[position] for case in SAMPLE} == set(choices)


@pytest.mark.parametrize("case", SAMPLE, ids="-".join)
def test_an_update_through_an_alias_is_right_or_refused(case, tmp_path):
    module = module_from_source(tmp_path, "aliasing_" + "_".join(case), program(*case))
    y = np.array([1.0, 2.0, 3.5])
    try:
        float(module.f(y.copy()))
    except (TypeError, ValueError, KeyError):
        pytest.skip("not a program Python runs (a list multiplied by an array, unpacking a dict...)")
    try:
        gradient = s2sad.grad(module.f)(y.copy())
    except s2sad.InternalError:
        raise
    except s2sad.S2SADError as exc:
        assert exc.location is not None and exc.location.filename.endswith(".py"), exc
        return
    np.testing.assert_allclose(gradient, numeric_grad(module.f, [y.copy()]), rtol=1e-6, atol=1e-7,
                               err_msg=program(*case))


def test_the_reported_program_is_refused_at_its_line(tmp_path):
    source = ("import numpy as np\n\n\ndef f(y):\n    rows = [y]\n    r = rows[0]\n    r += 1.0\n"
              "    return np.sum(r * y)\n")
    module = module_from_source(tmp_path, "aliasing_reported", source)
    with pytest.raises(s2sad.InPlaceUpdateError) as caught:
        s2sad.grad(module.f)(np.array([1.0, 2.0]))
    assert caught.value.location.line == 7 and "copy" in caught.value.hint


@pytest.mark.parametrize("number, body", enumerate([
    # the alias is never read again: the update is only r's
    "a = y * 2.0\n    c = [a, y + 1.0]\n    r = c[0]\n    r += 1.0\n    return np.sum(r * r)",
    # a number taken out of a list is never shared
    "c = [y[0], y[1]]\n    r = c[0]\n    r *= 3.0\n    return r * c[0] + np.sum(y)",
    # an array that shares nothing with what is read later
    "c = [y * 2.0, y + 1.0]\n    d = c[1]\n    r = c[0]\n    r += y\n    return np.sum(r * d) + np.sum(y)",
]))
def test_an_update_that_shares_nothing_is_differentiated(number, body, tmp_path):
    module = module_from_source(tmp_path, f"aliasing_fine_{number}", f"import numpy as np\n\n\ndef f(y):\n"
                                f"    {body}\n")
    y = np.array([1.0, 2.0, 3.5])
    np.testing.assert_allclose(s2sad.grad(module.f)(y.copy()), numeric_grad(module.f, [y.copy()]), rtol=1e-6)


def test_a_view_of_an_array_with_two_names_is_checked(tmp_path):
    source = "import numpy as np\n\n\ndef f(y):\n    a = y\n    r = a[:]\n    r += 1.0\n    return np.sum(r * a)\n"
    module = module_from_source(tmp_path, "aliasing_view_renamed", source)
    with pytest.raises(s2sad.InPlaceUpdateError):
        s2sad.grad(module.f)(np.array([1.0, 2.0]))


JOINS = {
    "branch": "a = y * 2.0\n    c = [a]\n    if y[0] > 0:\n        r = c[0]\n    else:\n        r = y * 3.0\n"
              "    r += 1.0\n    return np.sum(r * a)",
    "conditional expression": "a = y * 2.0\n    r = a if y[0] > 0 else y * 3.0\n    r += 1.0\n    return np.sum(r * a)",
    "after a loop": "a = y * 2.0\n    c = [y * 4.0, a]\n    r = y * 3.0\n    for i in range(2):\n        r = c[i]\n"
                    "    r += 1.0\n    return np.sum(r * a)",
    "next iteration": "a = y * 2.0\n    c = [a, y * 4.0]\n    r = y * 3.0\n    for i in range(2):\n        r += 1.0\n"
                      "        r = c[i]\n    return np.sum(r * a)",
    "next iteration, another name": "a = y * 2.0\n    r = y * 3.0\n    for i in range(2):\n        r *= y\n"
                                    "        r = a\n    return np.sum(r * a)",
}


@pytest.mark.parametrize("body", JOINS.values(), ids=JOINS.keys())
def test_an_update_of_a_value_that_may_be_another_is_refused(body, tmp_path):
    # r may be a (or an item) only on some paths or in later iterations; each gave a wrong gradient
    module = module_from_source(tmp_path, "aliasing_join_" + str(list(JOINS.values()).index(body)),
                                f"import numpy as np\n\n\ndef f(y):\n    {body}\n")
    with pytest.raises(s2sad.InPlaceUpdateError):
        s2sad.grad(module.f)(np.array([1.0, 2.0]))


@pytest.mark.parametrize("body", [
    "s = 0.0\n    for i in range(3):\n        s += y[i] * y[i]\n    return s",
    "h = y * 1.0\n    for i in range(2):\n        h = np.tanh(h)\n        h += y\n    return np.sum(h)",
    "r = y * 2.0 if y[0] > 0 else y * 3.0\n    r += 1.0\n    return np.sum(r * y)",
])
def test_an_update_of_a_fresh_value_is_differentiated(body, tmp_path):
    module = module_from_source(tmp_path, f"aliasing_fresh_{abs(len(body))}", f"import numpy as np\n\n\ndef f(y):\n"
                                f"    {body}\n")
    y = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(s2sad.grad(module.f)(y.copy()), numeric_grad(module.f, [y.copy()]), rtol=1e-6)


@pytest.mark.parametrize("number, body", enumerate([
    # replacing an item of a list does not write into the array it held (y, read later)
    "rows = [y, y * 2.0]\n    rows[0] = y * 3.0\n    return np.sum(rows[0] * rows[1] * y)",
    "hs = [y, y]\n    for i in range(3):\n        hs[i % 2] = np.tanh(hs[0] + y)\n    return np.sum(hs[0] * hs[1])",
    ("rows = [y * 1.0, y * 2.0]\n    for i in range(2):\n        rows[i] = rows[i] + y\n"
     "    return np.sum(rows[0] * rows[1])"),
    # `rows[0] += y` writes into rows[0]'s array, which nothing else holds
    "rows = [y * 2.0, y * 3.0]\n    r = rows[1]\n    rows[0] += y\n    return np.sum(rows[0] * r)",
]))
def test_replacing_an_item_is_differentiated(number, body, tmp_path):
    module = module_from_source(tmp_path, f"aliasing_replace_{number}", f"import numpy as np\n\n\ndef f(y):\n"
                                f"    {body}\n")
    y = np.array([0.7, 1.3, -0.4])
    np.testing.assert_allclose(s2sad.grad(module.f)(y.copy()), numeric_grad(module.f, [y.copy()]), rtol=1e-6)


@pytest.mark.parametrize("number, helper, body", [
    # the helper updates an item of the caller's list, an array the caller reads as a
    (0, "def bump(rows, w):\n    rows[0] += w\n    return 0.0", "s = bump([a], y)"),
    # the helper updates a view of a, or an item of rows (a), made for the call
    (1, "def bump(v, w):\n    v += w\n    return np.sum(v)", "s = bump(a[1:], y[1:])"),
    (2, "def bump(v, w):\n    v += w\n    return np.sum(v)", "rows = [a, y]\n    s = bump(rows[0], y)"),
    # the caller's item updated at its own line
    (3, "", "rows = [a]\n    rows[0] += y\n    s = 0.0"),
])
def test_an_update_of_an_array_the_caller_reads_is_refused(number, helper, body, tmp_path):
    source = f"import numpy as np\n\n\n{helper}\n\n\ndef f(y):\n    a = y * 2.0\n    {body}\n" \
             "    return s + np.sum(a * y)\n"
    module = module_from_source(tmp_path, f"aliasing_caller_{number}", source)
    with pytest.raises(s2sad.InPlaceUpdateError):
        s2sad.grad(module.f)(np.array([0.7, 1.3, -0.4]))


def _same_array_twice(y):
    a = y * 2.0
    rows = [a, a]
    rows[0] += y  # NumPy changes rows[1] too: the same array
    return np.sum(rows[1] * y)


def _two_arrays(y):
    rows = [y * 2.0, y * 3.0]
    rows[0] += y
    return np.sum(rows[1] * y) + np.sum(rows[0])


def _same_number_twice(y):
    s = np.sum(y)
    rows = [s, s]
    rows[0] += 1.0  # a number: rebinds rows[0] only
    return rows[1] * rows[0]


def test_an_item_held_twice_in_its_list_is_refused_and_distinct_items_are_differentiated():
    y = np.array([0.7, 1.3, -0.4])
    with pytest.raises(s2sad.InPlaceUpdateError, match="another of its items"):
        s2sad.grad(_same_array_twice)(y)  # gave [2.8, 5.2, -1.6]; central differences [4.2, 7.8, -2.4]
    for f in (_two_arrays, _same_number_twice):
        np.testing.assert_allclose(s2sad.grad(f)(y), numeric_grad(f, (y,)), rtol=1e-6, atol=1e-8)
