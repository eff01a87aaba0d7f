"""Generated derivatives on Dask arrays: lazy, correct on a local cluster, and never computing early.

Every derivative here is the same generated code that runs on NumPy arrays; the
reference is that code on the NumPy data, itself checked against finite
differences. The cluster is a ``LocalCluster`` of 2 workers with 1 thread each,
in threads (``processes=False``): process workers take seconds to start on a
small machine and test nothing more about s2sad, whose generated code only
builds the graph on the client. Set ``S2SAD_DASK_PROCESSES=1`` to run the same
tests with process workers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
distributed = pytest.importorskip("dask.distributed")

import s2sad
from gradcheck import assert_grad_matches_fd
from s2sad import runtime
from s2sad.lazy import LazyValueError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def client():
    processes = os.environ.get("S2SAD_DASK_PROCESSES") == "1"
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=processes,
                                       dashboard_address=":0")
    with cluster, distributed.Client(cluster) as c:
        yield c


# ------------------------------------------------------------------ the models


def logistic_loss(w, b, X, y):
    p = 1.0 / (1.0 + np.exp(-(X @ w + b)))
    return -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))


def mlp_loss(W1, b1, W2, b2, X, y):
    h = np.tanh(X @ W1 + b1)
    out = np.maximum(h, 0.1 * h) @ W2 + b2  # a leaky ReLU over tanh
    return np.sum((out - y) ** 2) / X.shape[0]


def minibatch_loss(w, X, y):
    total = 0.0
    batch = X.shape[0] // 4
    for i in range(4):
        Xb = X[i * batch:(i + 1) * batch]
        r = Xb @ w - y[i * batch:(i + 1) * batch]
        total = total + np.mean(r * r) + 0.01 * np.sum(w * w)
    return total / 4


def _data(rows=400, features=6, hidden=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, features))
    y = (rng.random(rows) < 0.5).astype(np.float64)
    return {
        "logistic": (logistic_loss, (rng.normal(size=features) * 0.3, 0.1, X, y), (0, 1)),
        "mlp": (mlp_loss, (rng.normal(size=(features, hidden)), rng.normal(size=hidden),
                           rng.normal(size=(hidden, 1)), rng.normal(size=1), X, y[:, None]), (0, 1, 2, 3)),
        "minibatch": (minibatch_loss, (rng.normal(size=features), X, y), (0, 1)),
    }


def _lazy(value, rows_per_chunk=100):
    """Arrays as Dask arrays chunked by rows; numbers stay numbers."""
    if isinstance(value, np.ndarray):
        return da.from_array(value, chunks=(rows_per_chunk,) + value.shape[1:])
    return value


def _assert_close(got, want):
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-10, atol=1e-12)


MODELS = ["logistic", "mlp", "minibatch"]


# ------------------------------------------------------------------ on the cluster


@pytest.mark.parametrize("model", MODELS)
def test_gradient_on_cluster_matches_numpy(client, model):
    f, args, wrt = _data()[model]
    s2sad.check_grad(f, *_data(rows=40)[model][1], wrt=wrt)  # the NumPy code is right (small: fast differences)
    want = s2sad.grad(f, wrt=wrt)(*args)
    lazy_args = [_lazy(a) for a in args]
    value, grads = s2sad.value_and_grad(f, wrt=wrt)(*lazy_args)
    # every gradient of an array argument is a lazy Dask array (a number's is a 0-d one)
    assert all(isinstance(g, da.Array) for g in grads)
    assert isinstance(value, da.Array) and value.shape == ()
    value, *grads = client.compute([value, *grads], sync=True)  # one compute for all of them
    _assert_close(grads, want)
    np.testing.assert_allclose(value, f(*args), rtol=1e-12)


def test_jvp_and_vjp_on_cluster_match_numpy(client):
    f, args, _ = _data()["logistic"]
    lazy_args = [_lazy(a) for a in args]
    tangent = np.linspace(-1.0, 1.0, args[0].size)
    want_value, want_tangent = s2sad.jvp(f)(*args, tangent)
    value, out_tangent = s2sad.jvp(f)(*lazy_args, da.from_array(tangent))
    assert isinstance(out_tangent, da.Array)
    _assert_close(client.compute([value, out_tangent], sync=True), [want_value, want_tangent])

    want = s2sad.vjp(f, wrt=(0, 2))(*args, 2.0)
    got = s2sad.vjp(f, wrt=(0, 2))(*lazy_args, da.from_array(np.float64(2.0)))  # a 0-d Dask cotangent
    assert all(isinstance(g, da.Array) for g in got)
    _assert_close(client.compute(list(got), sync=True), want)


def test_python_if_on_a_lazy_value_is_refused_on_the_cluster(client):
    _, args, _ = _data()["logistic"]
    with pytest.raises(LazyValueError, match="needs the value of a Dask array") as info:
        s2sad.grad(_clipped_loss)(*[_lazy(a) for a in args])
    assert info.value.location.line == _clipped_loss.__code__.co_firstlineno + 2
    assert "if loss > 1.0:" in str(info.value)


# ------------------------------------------------------------------ laziness (local scheduler)


def _clipped_loss(w, b, X, y):
    loss = logistic_loss(w, b, X, y)
    if loss > 1.0:
        loss = 1.0 + 0.1 * (loss - 1.0)
    return loss


def _until_small(w, b, X, y):
    err = np.sum((X @ w + b - y) ** 2)
    while err > 1e-3:
        err = err / 2.0
    return err


def _counting_rows(X_numpy, rows_per_chunk, counter):
    """X as a Dask array whose blocks count how often they are produced."""
    lock = threading.Lock()

    def block(x):
        with lock:
            counter["blocks"] += 1
        return x

    rows = da.from_array(X_numpy, chunks=(rows_per_chunk, X_numpy.shape[1]))
    return da.map_blocks(block, rows, dtype=float, meta=np.empty((0, 0)))  # meta: no trial call


@pytest.mark.parametrize("model", MODELS)
def test_one_compute_shares_the_forward_sweep(model):
    f, args, wrt = _data()[model]
    counter = {"blocks": 0}
    X_position = next(i for i, a in enumerate(args) if np.ndim(a) == 2 and np.shape(a)[1] == 6)
    lazy_args = [_lazy(a) for a in args]
    lazy_args[X_position] = _counting_rows(args[X_position], 100, counter)
    value, grads = s2sad.value_and_grad(f, wrt=wrt)(*lazy_args)
    assert counter["blocks"] == 0  # building the gradient computed nothing
    value, grads = dask.compute(value, grads, scheduler="sync")
    assert counter["blocks"] == 4  # each block of X produced once for the value and every gradient
    _assert_close(grads, s2sad.grad(f, wrt=wrt)(*args))


def joined_features(w, X):
    Z = np.concatenate([X, np.tanh(X)], axis=-1)  # its adjoint splits the gradient by slicing
    pair = np.stack([Z @ w, X[:, 0]], axis=1)
    return np.sum(pair ** 2)


def moments(w, X):
    z = X @ w
    return np.var(z) + np.std(X, axis=0) @ w + np.mean(z * z, axis=0)


def promoted(w, X):
    return np.sum((X @ w - np.ones(X.shape[0])) ** 2)  # np.ones is float64: NumPy promotes float32 to it


def einsum_layer(w, X):
    W = np.reshape(w, (3, 2))
    h = np.einsum("ij,jk->ik", X, W).astype(np.float64)  # einsum's and astype's adjoints stay lazy
    return np.sum(np.tanh(h) ** 2)


@pytest.mark.parametrize("f", [joined_features, moments, promoted, einsum_layer])
def test_more_rules_stay_lazy(f):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3))
    w = rng.normal(size=6 if f in (joined_features, einsum_layer) else 3)
    s2sad.check_grad(f, w, X, wrt=(0, 1))
    want = s2sad.grad(f, wrt=(0, 1))(w, X)
    counter = {"blocks": 0}
    got = s2sad.grad(f, wrt=(0, 1))(da.from_array(w), _counting_rows(X, 10, counter))
    assert counter["blocks"] == 0 and all(isinstance(g, da.Array) for g in got)
    _assert_close(dask.compute(*got, scheduler="sync"), want)


def packed(theta, X, y):
    w = theta[:-1]  # a NumPy parameter vector, sliced: its adjoint receives lazy pieces
    b = theta[-1]
    return np.mean((X @ w + b - y) ** 2)


def embedding(E, idx, y):
    return np.sum((E[idx] @ np.arange(1.0, 4.0) - y) ** 2)  # repeated and negative indices accumulate


INDEX = np.array([0, 2, 2, 4, -1, 1, 0, 0, 3, 2])


@pytest.mark.parametrize("f, lazy_positions", [(packed, (1, 2)), (embedding, (2,)), (embedding, (0, 2))],
                         ids=["numpy-params-sliced", "numpy-embedding", "dask-embedding"])
def test_indexed_parameters_get_lazy_gradients(f, lazy_positions):
    rng = np.random.default_rng(3)
    first = rng.normal(size=4) if f is packed else rng.normal(size=(5, 3))
    args = [first, rng.normal(size=(10, 3)) if f is packed else INDEX, rng.normal(size=10)]
    s2sad.check_grad(f, *args)
    lazy_args = [da.from_array(a, chunks=5) if i in lazy_positions else a for i, a in enumerate(args)]
    got = s2sad.grad(f)(*lazy_args)
    assert isinstance(got, da.Array)
    _assert_close([got.compute(scheduler="sync")], [s2sad.grad(f)(*args)])


def test_float32_dask_arguments_get_float32_gradients():
    rng = np.random.default_rng(2)
    w, X = rng.normal(size=3).astype(np.float32), rng.normal(size=(40, 3)).astype(np.float32)
    got = s2sad.grad(promoted, wrt=(0, 1))(da.from_array(w), da.from_array(X, chunks=(10, 3)))
    assert [g.dtype for g in got] == [np.float32, np.float32]
    want = s2sad.grad(promoted, wrt=(0, 1))(w.astype(np.float64), X.astype(np.float64))
    for g, v in zip(dask.compute(*got, scheduler="sync"), want):
        np.testing.assert_allclose(g, v, rtol=1e-4)


def test_scalar_seed_of_a_lazy_scalar_is_a_lazy_one():
    loss = da.mean(da.ones((10, 2), chunks=5))
    seed = runtime.scalar_seed(loss)
    assert isinstance(seed, da.Array) and seed.shape == () and seed.dtype == np.float64
    assert seed.compute() == 1.0


def test_a_lazy_array_output_is_not_a_scalar():
    def total(x):
        return x * 2.0

    with pytest.raises(s2sad.S2SADError, match=r"returned an array of shape \(4,\)"):
        s2sad.grad(total)(da.ones(4, chunks=2))


def test_integer_dask_argument_becomes_a_lazy_float():
    def f(x):
        return np.sum(x * x)

    g = s2sad.grad(f)(da.arange(4, chunks=2))
    assert isinstance(g, da.Array) and g.dtype == np.float64
    np.testing.assert_array_equal(g.compute(), [0.0, 2.0, 4.0, 6.0])


def masked_by_itself(x):
    return np.sum(x[x > 0.5] ** 2)


def masked_by_an_argument(x, mask):
    return np.sum(x[mask] ** 2)


@pytest.mark.parametrize("f", [masked_by_itself, masked_by_an_argument], ids=lambda f: f.__name__)
def test_a_boolean_mask_into_a_lazy_gradient_is_refused_at_its_line(f):
    # Dask has no ufunc.at and cannot assign a value of unknown length through a mask: the adjoint of
    # x[mask] raised an InternalError (TypeError from __array_ufunc__) before
    x = np.linspace(0.0, 1.0, 10)
    args = (x,) if f is masked_by_itself else (x, x > 0.3)
    lazy = [da.from_array(a, chunks=5) for a in args]
    with pytest.raises(s2sad.NoDerivativeError, match="np.where") as info:
        s2sad.grad(f)(*lazy)
    assert info.value.location.line == f.__code__.co_firstlineno + 1
    assert_grad_matches_fd(f, args)  # on NumPy arrays it is differentiated


@pytest.mark.parametrize("loss, line, text", [
    (_clipped_loss, 2, "if loss > 1.0:"),
    (_until_small, 2, "while err > 1e-3:"),
])
def test_control_flow_on_a_lazy_value_raises_instead_of_computing(loss, line, text):
    _, args, _ = _data()["logistic"]
    counter = {"blocks": 0}
    lazy_args = [_lazy(a) for a in args]
    lazy_args[2] = _counting_rows(args[2], 100, counter)
    with pytest.raises(LazyValueError) as info:
        s2sad.grad(loss)(*lazy_args)
    assert counter["blocks"] == 0
    assert info.value.location.line == loss.__code__.co_firstlineno + line
    assert text in str(info.value) and "np.where" in str(info.value)
    # outside the derivative, Dask computes as usual
    assert np.isfinite(dask.compute(lazy_args[2].sum(), scheduler="sync")[0])
    # the same derivative on NumPy arrays takes the branch as Python does
    assert np.all(np.isfinite(s2sad.grad(loss)(*args)))


def test_exported_derivatives_run_on_dask_arrays(tmp_path):
    from gradcheck import module_from_source

    from s2sad.export import export_source

    source = export_source(logistic_loss, wrt=(0, 1), modes=("grad", "value_and_grad", "vjp"))
    module = module_from_source(tmp_path, "exported_logistic", source)
    f, args, wrt = _data()["logistic"]
    counter = {"blocks": 0}
    lazy_args = [_lazy(a) for a in args]
    lazy_args[2] = _counting_rows(args[2], 100, counter)
    grads = module.grad_logistic_loss(*lazy_args)
    value, same_grads = module.value_and_grad_logistic_loss(*lazy_args)
    cotangent_grads = module.vjp_logistic_loss(*lazy_args, da.from_array(np.float64(1.0)))
    assert counter["blocks"] == 0
    assert all(isinstance(g, da.Array) for g in (value, *grads, *same_grads, *cotangent_grads))
    want = s2sad.grad(f, wrt=wrt)(*args)
    value, *computed = dask.compute(value, grads, same_grads, cotangent_grads, scheduler="sync")
    np.testing.assert_allclose(value, f(*args), rtol=1e-12)
    for got in computed:
        _assert_close(got, want)


def test_exported_code_computes_a_lazy_condition_where_it_is_tested(tmp_path):
    """Exported code has no guard: Dask computes the value at the `if` (documented in docs/dask.md)."""
    from gradcheck import module_from_source

    from s2sad.export import export_source

    source = export_source(_clipped_loss, modes=("grad",))
    module = module_from_source(tmp_path, "exported_clipped", source)
    _, args, _ = _data()["logistic"]
    counter = {"blocks": 0}
    lazy_args = [_lazy(a) for a in args]
    lazy_args[2] = _counting_rows(args[2], 100, counter)
    with dask.config.set(scheduler="sync"):
        g = module.grad__clipped_loss(*lazy_args)
    assert counter["blocks"] > 0  # computed at the `if`, before anyone asked
    _assert_close([g.compute(scheduler="sync")], [s2sad.grad(_clipped_loss)(*args)])


# ------------------------------------------------------------------ other NumPy-API arrays


class StrictDuckArray(np.lib.mixins.NDArrayOperatorsMixin):
    """A minimal array of another library: NumPy calls reach it only through
    ``__array_function__``/``__array_ufunc__``, and turning it into a NumPy
    array (``np.asarray``, ``float()``) fails, as it would cost a transfer
    (CuPy) or a compute (Dask)."""

    def __init__(self, data):
        self.data = np.asarray(data)

    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    T = property(lambda self: StrictDuckArray(self.data.T))

    def __array__(self, dtype=None, copy=None):
        raise TypeError("StrictDuckArray refuses to become a NumPy array")

    def __float__(self):
        raise TypeError("StrictDuckArray refuses float()")

    def __getitem__(self, index):
        return StrictDuckArray(self.data[index])

    def __setitem__(self, index, value):
        self.data[index] = _unwrap(value)

    def copy(self):
        return StrictDuckArray(self.data.copy())

    def astype(self, dtype):
        return StrictDuckArray(self.data.astype(dtype))

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _wrap(getattr(ufunc, method)(*map(_unwrap, inputs), **_unwrap(kwargs)))

    def __array_function__(self, func, types, args, kwargs):
        return _wrap(func(*_unwrap(args), **_unwrap(kwargs)))


def _unwrap(value):
    if isinstance(value, StrictDuckArray):
        return value.data
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    return value


def _wrap(value):
    if isinstance(value, np.ndarray):
        return StrictDuckArray(value)
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    return value


@pytest.mark.parametrize("model", MODELS)
def test_any_numpy_api_array_flows_through_without_conversion(model):
    f, args, wrt = _data()[model]
    duck_args = [StrictDuckArray(a) if isinstance(a, np.ndarray) else a for a in args]
    grads = s2sad.grad(f, wrt=wrt)(*duck_args)
    assert all(isinstance(g, (StrictDuckArray, float, np.floating)) for g in grads)
    _assert_close([_unwrap(g) for g in grads], s2sad.grad(f, wrt=wrt)(*args))


# ------------------------------------------------------------------ the example


def test_example_trains_with_loss_going_down():
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "dask_logreg.py"), "--rows", "20000", "--steps", "3",
         "--workers", "1"],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    losses = [float(line.split("loss")[1].split()[0]) for line in result.stdout.splitlines()
              if line.startswith("step")]
    assert len(losses) == 3 and losses[0] > losses[1] > losses[2]
