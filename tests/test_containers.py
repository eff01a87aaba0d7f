"""Containers (dicts, lists, tuples, namedtuples, nested) as parameters and results.

The structured cases are generated: a small generator draws a nested structure
of arrays and numbers, writes a module whose functions read every leaf of it
(by key, attribute, index and tuple unpacking) and build a result of the same
structure, and every derivative is compared with central differences leaf by
leaf, in memory and from an exported module. The returned structure (container
types, dict keys, namedtuple classes) must be the argument's.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import s2sad
from gradcheck import module_from_source
from s2sad.pytree import flatten, unflatten

H = 1e-6


# ------------------------------------------------------------ the generator


def random_tree(rng, depth=0):
    """A nested structure description: ("leaf", shape) or (kind, [(key, child), ...])."""
    if depth >= 3 or (depth > 0 and rng.random() < 0.35):
        return ("leaf", [(), (2,), (2, 3)][rng.integers(3)])
    kind = ["dict", "list", "tuple", "namedtuple"][rng.integers(4)]
    n = int(rng.integers(1, 4))
    if kind in ("dict", "namedtuple"):
        keys = [f"{'kfab'[depth]}{i}" for i in range(n)]
    else:
        keys = list(range(n))
    children = [(k, random_tree(rng, depth + 1)) for k in keys]
    if depth == 0 and kind in ("list", "tuple") and all(c == ("leaf", ()) for _, c in children):
        children[0] = (0, ("leaf", (2,)))  # a top-level list of plain numbers is a vector, not a container
    return (kind, children)


class _Writer:
    """Writes the generated module for one structure."""

    def __init__(self):
        self.classes = []  # (name, fields)
        self.count = 0

    def class_for(self, fields):
        name = f"NT{len(self.classes)}"
        self.classes.append((name, fields))
        return name

    def classes_of(self, node, out):
        """Class names for the namedtuple nodes, in a fixed order (depth first)."""
        kind, items = node
        if kind == "leaf":
            return
        if kind == "namedtuple":
            out[id(items)] = self.class_for([k for k, _ in items])
        for _, child in items:
            self.classes_of(child, out)

    def reads(self, node, expr, names, lines, stmts):
        """Collect an expression for every leaf; a tuple or list of leaves is unpacked into names."""
        kind, items = node
        if kind == "leaf":
            lines.append(expr)
            return
        if kind in ("tuple", "list") and all(c[0] == "leaf" for _, c in items) and len(items) > 1:
            targets = []
            for _ in items:
                self.count += 1
                targets.append(f"u{self.count}")
            stmts.append(f"    {', '.join(targets)} = {expr}")
            lines.extend(targets)
            return
        for key, child in items:
            if kind == "dict":
                sub = f"{expr}[{key!r}]"
            elif kind == "namedtuple":
                sub = f"{expr}.{key}"
            else:
                sub = f"{expr}[{key}]"
            self.reads(child, sub, names, lines, stmts)

    def display(self, node, leaf_exprs, names, use_dict_call):
        kind, items = node
        if kind == "leaf":
            return next(leaf_exprs)
        parts = [(k, self.display(c, leaf_exprs, names, not use_dict_call)) for k, c in items]
        if kind == "dict":
            if use_dict_call:
                return "dict(" + ", ".join(f"{k}={v}" for k, v in parts) + ")"
            return "{" + ", ".join(f"{k!r}: {v}" for k, v in parts) + "}"
        if kind == "namedtuple":
            return f"{names[id(items)]}(" + ", ".join(f"{k}={v}" for k, v in parts) + ")"
        if kind == "list":
            return "[" + ", ".join(v for _, v in parts) + "]"
        return "(" + ", ".join(v for _, v in parts) + ("," if len(parts) == 1 else "") + ")"


_NONLINEAR = ["np.sin({})", "np.tanh({}) * 2.0", "({}) ** 2", "np.exp(0.3 * {})", "({}) * ({})"]


def module_text(tree):
    """The generated module's text, and the namedtuple class name of each namedtuple node."""
    w = _Writer()
    names = {}
    w.classes_of(tree, names)
    leaves, stmts = [], []
    w.reads(tree, "p", names, leaves, stmts)
    lines = ["import collections", "", "import numpy as np", ""]
    for name, fields in w.classes:
        lines.append(f"{name} = collections.namedtuple({name!r}, {fields!r})")
    lines += ["", "", "def loss(p, x):"] + stmts + ["    s = 0.0"]
    for k, leaf in enumerate(leaves):
        term = _NONLINEAR[k % len(_NONLINEAR)].format(leaf, leaf)
        lines.append(f"    s = s + np.sum({term} * x[{k % 2}])")
    lines += ["    return s", "", "", "def mapped(p, x):"] + stmts
    outs = iter(f"{_NONLINEAR[k % len(_NONLINEAR)].format(leaf, leaf)} * x[{k % 2}]" for k, leaf in enumerate(leaves))
    lines.append(f"    return {w.display(tree, outs, names, False)}")
    lines += ["", "", "def with_aux(p, x):", "    s = loss(p, x)",
              "    return s * s, {'loss': s, 'echo': mapped(p, x)}", ""]
    return "\n".join(lines), names


def value_of(node, rng, module, names):
    """A random value with the structure `node` (its namedtuples the generated module's classes)."""
    kind, items = node
    if kind == "leaf":
        return float(rng.normal()) if items == () else rng.normal(size=items)
    values = [value_of(child, rng, module, names) for _, child in items]
    if kind == "dict":
        return {k: v for (k, _), v in zip(items, values)}
    if kind == "namedtuple":
        return getattr(module, names[id(items)])(*values)
    return values if kind == "list" else tuple(values)


def like(value, rng):
    """A random value with the structure and shapes of `value`."""
    leaves, tree = flatten(value, top=False)
    return unflatten(tree, [float(rng.normal()) if np.ndim(v) == 0 else rng.normal(size=np.shape(v)) for v in leaves])


def shifted(value, direction, s):
    leaves, tree = flatten(value)
    dirs, _ = flatten(direction)
    return unflatten(tree, [np.asarray(a, dtype=float) + s * np.asarray(d, dtype=float) for a, d in zip(leaves, dirs)])


def fd_gradient(f, p, x):
    """Central differences of the scalar f(p, x) in every entry of every leaf of p, with p's structure."""
    leaves, tree = flatten(p)
    grads = []
    for k, leaf in enumerate(leaves):
        base = np.array(leaf, dtype=float)
        g = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            vals = []
            for s in (H, -H):
                moved = base.copy()
                moved[idx] += s
                args = list(leaves)
                args[k] = moved if base.ndim else float(moved)
                vals.append(f(unflatten(tree, args), x))
            g[idx] = (vals[0] - vals[1]) / (2 * H)
        grads.append(g)
    return unflatten(tree, grads)


def assert_same_tree(got, expected, rtol=1e-5, atol=1e-7):
    """Same containers (types, keys, namedtuple classes) and close leaves."""
    got_leaves, got_tree = flatten(got, top=False)
    exp_leaves, exp_tree = flatten(expected, top=False)
    assert got_tree == exp_tree, f"structure {got_tree.describe()} != {exp_tree.describe()}"
    for a, b in zip(got_leaves, exp_leaves):
        assert np.shape(a) == np.shape(b)
        np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=rtol, atol=atol)


def inner(a, b):
    return sum(float(np.sum(np.asarray(u) * np.asarray(v))) for u, v in zip(flatten(a, top=False)[0],
                                                                              flatten(b, top=False)[0]))


# a fast profile by default; S2SAD_CONTAINER_CASES=500 runs a long one
SEEDS = list(range(int(os.environ.get("S2SAD_CONTAINER_CASES", "6"))))


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    made = {}
    directory = tmp_path_factory.mktemp("containers")
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        tree = random_tree(rng)
        text, names = module_text(tree)
        module = module_from_source(directory, f"generated_containers_{seed}", text)
        p = value_of(tree, rng, module, names)
        made[seed] = (module, p, np.array([0.7, -0.4]), rng)
    return made


@pytest.mark.parametrize("seed", SEEDS)
def test_grad_and_value_and_grad_have_the_argument_structure(cases, seed):
    module, p, x, _ = cases[seed]
    expected = fd_gradient(module.loss, p, x)
    assert_same_tree(s2sad.grad(module.loss)(p, x), expected)
    value, g = s2sad.value_and_grad(module.loss)(p, x)
    assert value == pytest.approx(module.loss(p, x))
    assert_same_tree(g, expected)
    g_p, g_x = s2sad.grad(module.loss, wrt=("p", "x"))(p=p, x=x)  # by keyword, and with a second wrt
    assert_same_tree(g_p, expected)
    np.testing.assert_allclose(g_x, [(module.loss(p, x + d) - module.loss(p, x - d)) / (2 * H)
                                     for d in np.eye(2) * H], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("seed", SEEDS)
def test_vjp_and_jvp_take_and_give_structures(cases, seed):
    module, p, x, rng = cases[seed]
    out = module.mapped(p, x)
    cotangent = like(out, rng)
    expected = fd_gradient(lambda q, x: inner(cotangent, module.mapped(q, x)), p, x)
    assert_same_tree(s2sad.vjp(module.mapped)(p, x, cotangent), expected)
    tangent = like(p, rng)
    value, value_dot = s2sad.jvp(module.mapped)(p, x, tangent)
    assert_same_tree(value, out)
    plus, minus = module.mapped(shifted(p, tangent, H), x), module.mapped(shifted(p, tangent, -H), x)
    fd = unflatten(flatten(out, top=False)[1], [(a - b) / (2 * H) for a, b in zip(flatten(plus, top=False)[0],
                                                                                  flatten(minus, top=False)[0])])
    assert_same_tree(value_dot, fd)


@pytest.mark.parametrize("seed", SEEDS)
def test_has_aux_with_a_structured_aux(cases, seed):
    module, p, x, _ = cases[seed]
    g, aux = s2sad.grad(module.with_aux, has_aux=True)(p, x)
    assert_same_tree(g, fd_gradient(lambda q, x: module.with_aux(q, x)[0], p, x))
    assert_same_tree(aux, module.with_aux(p, x)[1], rtol=1e-12, atol=0)


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_exported_module_handles_the_structure(cases, seed, tmp_path):
    module, p, x, rng = cases[seed]
    path = tmp_path / f"d_{seed}.py"
    s2sad.export(module.loss, str(path), modes=("grad", "value_and_grad"), like=(p, x))
    s2sad.export(module.mapped, str(tmp_path / f"m_{seed}.py"), modes=("vjp", "jvp"), like=(p, x))
    exported = module_from_source(tmp_path, f"d_{seed}", path.read_text())
    mapped = module_from_source(tmp_path, f"m_{seed}", (tmp_path / f"m_{seed}.py").read_text())
    expected = fd_gradient(module.loss, p, x)
    assert_same_tree(exported.grad_loss(p, x), expected)
    assert_same_tree(exported.value_and_grad_loss(p, x)[1], expected)
    cotangent, tangent = like(module.mapped(p, x), rng), like(p, rng)
    assert_same_tree(mapped.vjp_mapped(p, x, cotangent), s2sad.vjp(module.mapped)(p, x, cotangent))
    assert_same_tree(mapped.jvp_mapped(p, x, tangent)[1], s2sad.jvp(module.mapped)(p, x, tangent)[1])
    with pytest.raises(ValueError, match="generated for"):
        exported.grad_loss({"other": 1.0}, x)


# ------------------------------------------------------------ the examples of issue 9


def unpacks(abc):
    (a, b), c = abc
    return a * b + c


def test_nested_tuple_unpacking():
    # was [[0.0, 0.0, 3.0, 2.0], 1.0]: the adjoint of the inner tuple was concatenated
    assert s2sad.grad(unpacks)(((2.0, 3.0), 5.0)) == ((3.0, 2.0), 1.0)


def scaled_sum(xs):
    return xs[0] * np.sum(xs[1])


def test_jvp_tangent_list_of_arrays_of_different_shapes():
    xs = [np.array([1.0, 2.0]), np.array([1.0, 2.0, 3.0])]
    value, value_dot = s2sad.jvp(scaled_sum)(xs, [np.array([1.0, 0.0]), np.ones(3)])  # was a ValueError
    np.testing.assert_allclose(value_dot, np.array([1.0, 0.0]) * 6.0 + xs[0] * 3.0)  # t0 sum(x1) + x0 sum(t1)


def constant_output(x):
    return np.ones(3)


def test_jvp_of_an_output_that_does_not_depend_on_x_is_zeros():
    value, value_dot = s2sad.jvp(constant_output)(np.ones(2), np.ones(2))
    np.testing.assert_array_equal(value_dot, np.zeros(3))


def reads_dict(params, x):
    h = np.tanh(params["W"] @ x + params["b"])
    return np.sum(h ** 2)


def test_dict_parameter():
    rng = np.random.default_rng(1)
    params, x = {"W": rng.normal(size=(3, 2)), "b": rng.normal(size=3)}, rng.normal(size=2)
    g = s2sad.grad(reads_dict)(params, x)
    assert list(g) == ["W", "b"]
    assert_same_tree(g, fd_gradient(reads_dict, params, x))
    reordered = {"b": params["b"], "W": params["W"]}  # another key order: another structure, its own code
    assert list(s2sad.grad(reads_dict)(reordered, x)) == ["b", "W"]


def iterates_dict(d):
    total = 0.0
    for key, value in d.items():
        total = total + np.sum(value ** 2)
    for value in d.values():
        total = total + np.sum(np.sin(value))
    for key in d:
        total = total + np.sum(d[key]) * 2.0
    merged = dict(d, extra=3.0)
    return total * merged["extra"] + np.sum(merged.get("a", 0.0))


def test_dict_methods_and_iteration():
    d = {"a": np.array([0.5, -1.0]), "b": 0.25}
    assert_same_tree(s2sad.grad(iterates_dict)(d), fd_gradient(lambda q, _: iterates_dict(q), d, None))
    d = {"a": np.array([0.5, -1.0]), "b": 0.25}
    assert_same_tree(s2sad.grad(dynamic_key)(d, "a"), {"a": np.array([0.25, 0.25]), "b": -0.5})


# ------------------------------------------------------------ refusals and run-time checks


def mutates_dict(x):
    d = {"a": x}
    d["a"] = x * 2.0
    return d["a"]


def dict_comprehension(x):
    d = {k: x for k in "ab"}
    return d["a"]


def appends_to_parameter(xs):
    xs.append(1.0)
    return xs[0]


def dynamic_key(d, key):
    return np.sum(d[key] * d["b"])


@pytest.mark.parametrize("f, args, error, text", [
    (mutates_dict, (1.0,), s2sad.InPlaceUpdateError, 'd["a"] = x * 2.0'),
    (dict_comprehension, (1.0,), s2sad.UnsupportedSyntaxError, "d = {k: x for k in"),
    (appends_to_parameter, ([1.0, np.ones(2)],), s2sad.InPlaceUpdateError, "xs.append(1.0)"),
])
def test_unsupported_container_code_is_refused_with_its_line(f, args, error, text):
    with pytest.raises(error) as info:
        s2sad.grad(f)(*args)
    assert text in str(info.value)


def test_structure_mismatches_are_argument_errors():
    params, x = {"W": np.ones((3, 2)), "b": np.ones(3)}, np.ones(2)
    specialized = s2sad.grad(reads_dict).specialize(params, x)
    assert "params_W" in specialized.source
    with pytest.raises(s2sad.ArgumentError, match="generated for"):
        specialized({"W": np.ones((3, 2))}, x)
    with pytest.raises(s2sad.ArgumentError, match="structure"):
        s2sad.jvp(reads_dict)(params, x, {"W": np.ones((3, 2))})
    with pytest.raises(s2sad.ArgumentError, match="shape"):
        s2sad.jvp(reads_dict)(params, x, {"W": np.ones((3, 2)), "b": np.ones(2)})
    with pytest.raises(s2sad.ArgumentError, match="keys"):
        s2sad.vjp(s2sad_mapped_dict)(params, {"y": 1.0})
    with pytest.raises(s2sad.ArgumentError, match="keys"):
        s2sad.grad(reads_dict)({("W",): np.ones((3, 2))}, x)


def s2sad_mapped_dict(params):
    return {"z": np.sum(params["W"]), "b": params["b"]}


# ------------------------------------------------------------ containers read in loops, branches and helpers

Pair = __import__("collections").namedtuple("Pair", "W b")


def nested_in_loop(layers):
    s = 0.0
    for layer in layers:  # layer[0] read twice: its adjoint must add item by item, not concatenate
        s = s + np.sum(layer[0][0] * layer[0][1]) * layer[1]
    return s


def dicts_in_loop(layers):
    s = 0.0
    for layer in layers:
        s = s + np.sum(layer["W"] ** 2) * layer["b"]
    return s


def namedtuples_in_loop(layers):
    s = 0.0
    for layer in layers:
        s = s + np.sum(np.tanh(layer.W) * layer.b)
    return s


def dict_carried_by_loop(p):
    d = p
    for _ in range(3):
        d = {"a": d["a"] * 2.0 + d["b"], "b": d["b"]}
    return np.sum(d["a"] ** 2)


def dict_through_branch(p):
    d = p if np.sum(p["a"]) > 0 else {"a": p["a"] * 3.0, "b": p["b"]}
    return np.sum(d["a"] ** 2) * d["b"]


def dict_to_helper(p):
    return dicts_in_loop([p, p]) * 2.0


_A, _B = np.array([1.0, 2.0]), np.array([3.0, -4.0])


@pytest.mark.parametrize("f, p", [
    (nested_in_loop, [((_A, _B), 2.0), ((_B, _A), 3.0)]),
    (dicts_in_loop, [{"W": _A, "b": 2.0}, {"W": _B, "b": 3.0}]),
    (namedtuples_in_loop, [Pair(_A, 2.0), Pair(_B, 3.0)]),
    (dict_carried_by_loop, {"a": _A, "b": 0.5}),
    (dict_through_branch, {"a": _A, "b": 0.5}),
    (dict_through_branch, {"a": -_A, "b": 0.5}),
    (dict_to_helper, {"W": _A, "b": 0.5}),
], ids=lambda v: getattr(v, "__name__", ""))
def test_containers_read_in_loops_branches_and_helpers(f, p):
    expected = fd_gradient(lambda q, _: f(q), p, None)
    assert_same_tree(s2sad.grad(f)(p), expected)
    tangent = like(p, np.random.default_rng(0))
    _, value_dot = s2sad.jvp(f)(p, tangent)
    assert value_dot == pytest.approx(inner(expected, tangent), rel=1e-6)


def returns_its_argument(p):
    return p


def test_output_is_the_argument():
    p = {"a": _A, "b": (0.5, _B)}
    cotangent = {"a": _B, "b": (2.0, _A)}
    assert_same_tree(s2sad.vjp(returns_its_argument)(p, cotangent), cotangent)
    assert_same_tree(s2sad.jvp(returns_its_argument)(p, cotangent)[1], cotangent)


def test_float32_leaves_get_float32_gradients():
    p = {"W": np.ones((3, 2), dtype=np.float32), "b": np.ones(3, dtype=np.float64)}
    g = s2sad.grad(reads_dict)(p, np.ones(2))
    assert g["W"].dtype == np.float32 and g["b"].dtype == np.float64


def test_check_grad_takes_containers():
    params = {"W": np.ones((3, 2)), "b": (np.ones(3), 0.5)}
    assert s2sad.check_grad(reads_dict_and_tuple, params, np.ones(2)) < 1e-6


def reads_dict_and_tuple(params, x):
    b, c = params["b"]
    return np.sum(np.tanh(params["W"] @ x + b) ** 2) * c


def reads_namedtuple(p):
    return np.sum(p.W ** 2) * p.b


def test_source_of_a_function_of_containers_says_how_to_see_it():
    with pytest.raises(s2sad.NoDerivativeError, match="specialize"):
        s2sad.grad(reads_namedtuple).source
    generated = s2sad.grad(reads_namedtuple).specialize(Pair(_A, 2.0))
    assert "p.W" in generated.source and "Pair(" in generated.source
    with pytest.raises(s2sad.NoDerivativeError):  # an array has no .W: the error met when transforming
        s2sad.grad(reads_namedtuple)(_A)


def test_dict_seeds_may_list_their_keys_in_any_order():
    params, x = {"W": np.ones((3, 2)), "b": np.ones(3)}, np.array([0.5, -0.25])
    tangent = {"W": np.full((3, 2), 0.5), "b": np.arange(3.0)}
    swapped = {"b": tangent["b"], "W": tangent["W"]}
    assert s2sad.jvp(reads_dict)(params, x, swapped)[1] == pytest.approx(s2sad.jvp(reads_dict)(params, x, tangent)[1])
    cotangent = {"z": 2.0, "b": np.arange(3.0)}
    swapped = {"b": cotangent["b"], "z": 2.0}
    assert_same_tree(s2sad.vjp(s2sad_mapped_dict)(params, swapped), s2sad.vjp(s2sad_mapped_dict)(params, cotangent))
