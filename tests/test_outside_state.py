"""Outside-style probes of state a derivative depends on: what the program reads changes between two
calls of the same derivative object, or several threads call it at once. Each test names the wrong
result it caught."""

from __future__ import annotations

import threading
import types

import numpy as np
import pytest

import s2sad

config = types.SimpleNamespace(act=np.tanh)


class Settings:
    act = staticmethod(np.tanh)


class Layer:
    def __init__(self):
        self.act = np.tanh
        self.w = 2.0

    def loss(self, x):
        return self.act(x) * self.w


def through_a_namespace(x):
    return config.act(x) * 2.0


def through_a_class(x):
    return Settings.act(x) * 2.0


def _swap(holder, name, value, monkeypatch):
    monkeypatch.setattr(holder, name, staticmethod(value) if isinstance(holder, type) else value)


CASES = {
    "a namespace's attribute": (lambda: through_a_namespace, lambda: config),
    "a class attribute": (lambda: through_a_class, lambda: Settings),
}


@pytest.mark.parametrize("kind", ["grad", "hessian", "jvp"])
@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_function_rebound_on_an_object_rebuilds_the_derivative(case, kind, monkeypatch):
    # The generated code calls `config.act(x)` by its spelling, so after `config.act = np.sin` it ran
    # np.sin with np.tanh's rule 1 - y*y: grad 2*(1 - sin(0.5)**2) = 1.540 instead of 2*cos(0.5) = 1.755
    make, holder = CASES[case]
    f = make()
    derived = {"grad": s2sad.grad(f), "hessian": s2sad.hessian(f),
               "jvp": lambda x: s2sad.jvp(f)(x, 1.0)[1]}[kind]
    exact_tanh = {"grad": 2 * (1 - np.tanh(0.5) ** 2),
                  "hessian": -4 * np.tanh(0.5) * (1 - np.tanh(0.5) ** 2)}.get(kind, 2 * (1 - np.tanh(0.5) ** 2))
    exact_sin = {"grad": 2 * np.cos(0.5), "hessian": -2 * np.sin(0.5)}.get(kind, 2 * np.cos(0.5))
    np.testing.assert_allclose(derived(0.5), exact_tanh, rtol=1e-12)
    _swap(holder(), "act", np.sin, monkeypatch)
    np.testing.assert_allclose(derived(0.5), exact_sin, rtol=1e-12)


def test_a_bound_methods_attribute_rebound_rebuilds_the_derivative():
    layer = Layer()
    g = s2sad.grad(layer.loss)
    np.testing.assert_allclose(g(0.5), 2 * (1 - np.tanh(0.5) ** 2), rtol=1e-12)
    layer.act = np.sin  # was 1.540 (np.tanh's rule applied to np.sin's value)
    np.testing.assert_allclose(g(0.5), 2 * np.cos(0.5), rtol=1e-12)
    layer.act, layer.w = np.cos, 3.0
    np.testing.assert_allclose(g(0.5), -3 * np.sin(0.5), rtol=1e-12)


def test_a_module_attribute_rebound_rebuilds_the_derivative(tmp_path, monkeypatch):
    (tmp_path / "outside_activations.py").write_text("import numpy as np\nact = np.tanh\nscale = 2.0\n")
    (tmp_path / "outside_model.py").write_text(
        "import outside_activations as acts\n\n\ndef f(x):\n    return acts.act(x) * acts.scale\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import outside_activations
    import outside_model

    g = s2sad.grad(outside_model.f)
    np.testing.assert_allclose(g(0.5), 2 * (1 - np.tanh(0.5) ** 2), rtol=1e-12)
    monkeypatch.setattr(outside_activations, "act", np.sin)
    monkeypatch.setattr(outside_activations, "scale", 3.0)  # data: read live, as before
    np.testing.assert_allclose(g(0.5), 3 * np.cos(0.5), rtol=1e-12)


def field_sum(p, x):
    s = 0.0
    for k in p:
        s = s + np.sum(np.sin(p[k]) * x)
    return s


def test_one_derivative_called_from_threads_with_different_structures_and_shapes():
    g = s2sad.grad(field_sum)
    structures = [{"a": np.ones(2)}, {"a": np.ones(2), "b": np.ones(3)}, {"c": np.ones(1)}, {"a": np.ones(3)}]
    wrong, errors = [], []

    def work(i):
        try:
            for r in range(6):
                p = {k: v * (i + 1) * 0.3 for k, v in structures[(i + r) % 4].items()}
                out = g(p, 2.0)
                wrong.extend(k for k in p if not np.allclose(out[k], 2.0 * np.cos(p[k]), rtol=1e-12))
        except Exception as exc:  # (reported below: a thread's exception is otherwise lost)
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and not wrong, (errors, wrong)


RNG = np.random.default_rng(0)


def noisy(x):
    return np.sum(x * RNG.standard_normal(3))


def test_a_bound_method_of_a_global_object_does_not_rebuild_the_derivative_on_every_call():
    # `RNG.standard_normal` is a new bound method at each lookup: guarded by identity (as `config.act`
    # is), the guard failed on every call and the derivative was rebuilt each time (6 ms a call, not 10 us)
    g = s2sad.grad(noisy)
    g(np.ones(3))
    assert g._guard is None or g._guard()


nested_config = types.SimpleNamespace(sub=types.SimpleNamespace(act=np.tanh))


def act_of_a_nested_attribute(x):
    return np.sum(nested_config.sub.act(x))


def test_swapping_the_object_that_holds_the_function_rebuilds_the_derivative():
    # nested_config.sub = <another object with act=np.sin>: only nested_config.sub.act of the old object
    # was watched, so np.sin's values were differentiated with np.tanh's rule (1 - y * y), silently
    x = np.array([0.3, 0.5])
    g = s2sad.grad(act_of_a_nested_attribute)
    try:
        np.testing.assert_allclose(g(x), 1 - np.tanh(x) ** 2, rtol=1e-12)
        nested_config.sub = types.SimpleNamespace(act=np.sin)
        np.testing.assert_allclose(g(x), np.cos(x), rtol=1e-12)
        nested_config.sub.act = np.exp
        np.testing.assert_allclose(g(x), np.exp(x), rtol=1e-12)
    finally:
        nested_config.sub = types.SimpleNamespace(act=np.tanh)
