"""The few helpers generated code calls.

They are small, depend only on NumPy, and are copied verbatim into exported
modules (see ``RUNTIME_HELPERS``), so an exported gradient runs where s2sad is
not installed. Keep each one self-contained: no imports beyond ``numpy as np``
and no calls to each other except where the export copies both.
"""

from __future__ import annotations

import numpy as np


def _is_lazy_array(x) -> bool:
    """Whether `x` is another library's NumPy-API array (Dask, CuPy, ...), not a NumPy one.

    Such arrays take part in ``np.*`` calls through ``__array_function__``;
    ``np.asarray`` or ``.item()`` would pull them into memory (computing a Dask
    graph), so the helpers keep them as they are.
    """
    return hasattr(x, "__array_function__") and not isinstance(x, (np.ndarray, np.generic))


def unbroadcast(g, x):
    """Sum the gradient `g` down to the shape of `x` (undo NumPy broadcasting).

    If ``y = f(x, ...)`` broadcast ``x`` up to ``y``'s shape, each element of
    ``x`` fed several elements of ``y``, so its adjoint is the sum of theirs.

    Example:
        >>> unbroadcast(np.ones((2, 3)), np.zeros(3))
        array([2., 2., 2.])
    """
    if isinstance(g, float) and isinstance(x, float):  # np.float64 is a float too
        return g  # two scalars: nothing was broadcast (the common case in scalar loops: its cost, ~80 ns, counts)
    if (isinstance(g, complex) or getattr(getattr(g, "dtype", None), "kind", "") == "c") and not (
            isinstance(x, complex) or getattr(getattr(x, "dtype", None), "kind", "") == "c"):
        # a complex intermediate (x * 1j, np.exp(1j * x)) whose adjoint reaches a real value: the
        # rules follow no complex convention (conjugates), so the gradient would be wrong
        raise NotImplementedError(
            "s2sad: a complex value computed from a real one: s2sad differentiates real functions of real "
            "values only. Keep the real and imaginary parts as two real arrays (or register a rule)")
    if isinstance(g, (float, int, np.number)) and isinstance(x, (float, int, np.number)):
        return g
    if isinstance(g, (list, tuple)):
        return _same_length(g, x)
    x_shape = np.shape(x)
    g_shape = np.shape(g)
    if g_shape == x_shape:
        if not x_shape and type(g) is np.ndarray and not isinstance(x, np.ndarray):
            return g[()]  # a number's adjoint is a number, not the 0-d array np.where or np.clip make
        return g
    if not x_shape:  # x is a scalar: every element of g came from it
        total = np.sum(g)
        if isinstance(x, (float, int)) and not isinstance(x, bool) and not _is_lazy_array(total):
            return total.item()
        return total
    leading = len(g_shape) - len(x_shape)
    if leading > 0:
        g = np.sum(g, axis=tuple(range(leading)))
    stretched = tuple(i for i, n in enumerate(x_shape) if n == 1 and np.shape(g)[i] != 1)
    if stretched:
        g = np.sum(g, axis=stretched, keepdims=True)
    return np.reshape(g, x_shape)


def _same_length(g, x):
    """The adjoint of a list is a list of the same length; anything else means the list was
    concatenated (``a + b``) in a way the derivative cannot split."""
    if isinstance(g, (list, tuple)) and isinstance(x, (list, tuple)) and len(g) == len(x):
        return g
    raise ValueError(LIST_CONCATENATION)


LIST_CONCATENATION = (
    "a list or tuple was concatenated with `+` where s2sad could not tell it was a list; "
    "build it with a display ([a, b]), append, or np.concatenate for arrays"
)


def reversed_float64s(tape):
    """The values saved on a float tape (an ``array.array("d")``), last first, each a NumPy float64
    scalar as it was saved: the reverse sweep reads them with ``next``, once every value is saved.

    Example:
        >>> import array
        >>> values = reversed_float64s(array.array("d", [1.0, 2.0]))
        >>> next(values), next(values)
        (np.float64(2.0), np.float64(1.0))
    """
    return iter(np.frombuffer(tape)[::-1])


def shape_of(x, _zero=np.float64(0.0), _stand_ins={}):  # noqa: B006, B008 - shared on purpose
    """A stand-in for `x` that ``unbroadcast`` and ``unreduce`` read as they read `x` (its shape and
    whether it is a Python number), keeping none of its data: what a loop's tape saves of a value
    the reverse sweep reads only for its shape. Stand-ins are shared (one NumPy zero, one read-only
    array per shape), so a saved one costs the tape's list slot alone.

    Example:
        >>> shape_of(np.ones((2, 3))).shape, shape_of(2.5)
        ((2, 3), 0.0)
    """
    if x.__class__ is float:
        return 0.0
    if x.__class__ is np.float64:  # an element of a float array, x[i], as element loops push: tested first
        return _zero
    if isinstance(x, np.ndarray):
        stand_in = _stand_ins.get(x.shape)
        if stand_in is None:
            if len(_stand_ins) >= 64:
                _stand_ins.clear()
            stand_in = _stand_ins[x.shape] = np.broadcast_to(0.0, x.shape)  # one number seen through zero strides
        return stand_in
    if isinstance(x, np.number):
        return _zero
    return x  # lists (their length), ints, foreign arrays: the value itself


def segment_length(steps: int, checkpoint) -> int:
    """Iterations per segment for a loop of `steps` iterations.

    Args:
        steps: the loop's trip count.
        checkpoint: ``"sqrt"`` (⌈√steps⌉ iterations per segment) or an int, the
            number of snapshots (segments) to keep at most.

    Returns:
        At least 1.

    Example:
        >>> segment_length(1_000_000, "sqrt"), segment_length(100, 4)
        (1000, 25)
    """
    if checkpoint == "sqrt":
        return max(1, int(np.ceil(np.sqrt(steps))))  # ⌈√steps⌉
    return max(1, -(-steps // checkpoint))  # ⌈steps / checkpoint⌉


def unreduce(g, x, axis=None, keepdims=False):
    """Spread the gradient of a reduction over `axis` back to the shape of `x`.

    ``y = x.sum(axis)`` used every element of ``x`` once, so each receives the
    adjoint of the element of ``y`` it was summed into.

    Example:
        >>> unreduce(np.array([1., 2.]), np.zeros((2, 3)), axis=1)
        array([[1., 1., 1.],
               [2., 2., 2.]])
    """
    if isinstance(g, (list, tuple)):
        return _same_length(g, x)
    x_shape = np.shape(x)
    if axis is not None and not keepdims:
        axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
        ndim = len(x_shape)
        g = np.expand_dims(g, tuple(sorted(a % ndim for a in axes)))
    return np.broadcast_to(g, x_shape).copy() if x_shape else g


def zeros_like(x):
    """A zero adjoint for `x`: ``0.0`` for Python numbers, else a float array like `x`."""
    if isinstance(x, (float, int)) and not isinstance(x, bool):
        return 0.0
    if isinstance(x, (tuple, list)):
        # a list even for a tuple: the reverse sweep adds into it item by item
        return [zeros_like(item) for item in x]
    if _is_lazy_array(x):  # zeros of the same kind (a Dask array keeps its chunks), not computed
        return np.zeros_like(x, dtype=x.dtype if np.issubdtype(x.dtype, np.inexact) else np.float64)
    if isinstance(x, dict):
        return {key: zeros_like(item) for key, item in x.items()}
    x = np.asarray(x)
    dtype = x.dtype if np.issubdtype(x.dtype, np.inexact) else np.float64
    return np.zeros(x.shape, dtype=dtype)


def _is_basic_index(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(
        item is None or item is Ellipsis or isinstance(item, (int, np.integer, slice))
        for item in items
    )


def scatter_add(g, x, index):
    """The adjoint of ``y = x[index]``: a zero array like `x` with `g` added at `index`.

    Repeated integer indices accumulate (``x[[0, 0]]`` used ``x[0]`` twice).
    Works for tuples and lists too (the adjoint of ``t[i]`` for a tuple ``t``).
    """
    if isinstance(x, (tuple, list, dict)):
        out = zeros_like(x)  # a list or dict: later contributions add into it
        out[index] = g
        return out
    out = zeros_like(x)
    if np.ndim(out) == 0:
        return out + g
    if _is_lazy_array(g) or _is_lazy_array(out):
        return _add_at_lazy(out, index, g)
    if _is_basic_index(index):
        out[index] = out[index] + g
    else:
        np.add.at(out, index, g)
    return out


def add_at(acc, index, g):
    """``acc[index] += g`` in place (repeated indices accumulate); returns `acc`.

    Generated code calls it only on adjoint arrays it created itself, so no
    other name sees the change. This keeps a loop that reads ``x[i]`` O(n)
    in its reverse sweep instead of building a zero array per iteration.
    """
    if type(acc) is np.ndarray and type(index) is int and acc.ndim and type(g) in (float, np.float64, np.ndarray):
        acc[index] += g  # one element (or row) of a NumPy array, as a loop reads x[i]: the checks below cost ~2 µs
        return acc
    if isinstance(acc, (tuple, list, dict)):
        items = dict(acc) if isinstance(acc, dict) else list(acc)
        items[index] = add_sequences(items[index], g)
        return items
    if np.ndim(acc) == 0:
        return acc + g
    if _is_lazy_array(g) or _is_lazy_array(acc):
        return _add_at_lazy(acc, index, g)
    if _is_basic_index(index):
        acc[index] += g
    else:
        np.add.at(acc, index, g)
    return acc


def _add_at_lazy(acc, index, g):
    """``acc[index] += g`` (repeated indices accumulate) where `acc` or `g` is a lazy (Dask) array.

    A NumPy `acc` cannot hold a lazy value, so it first becomes an array of
    `g`'s kind. Dask has no ``np.add.at``: for an integer-array index into the
    first axis, a one-hot matrix (built chunk by chunk) sums the rows of `g`
    that share an index, ``acc[i] += sum_k [index_k == i] g_k``. Returns `acc`
    or a new array.
    """
    if not _is_lazy_array(acc):
        acc = np.asarray(acc, like=g)
    if _is_basic_index(index):
        acc[index] += g
        return acc
    if isinstance(index, list):
        index = np.asarray(index)
    if not (hasattr(index, "dtype") and np.issubdtype(index.dtype, np.integer)):
        try:  # a mask or several index arrays: as far as the array's library goes
            np.add.at(acc, index, g)
        except TypeError:  # Dask has no ufunc.at, nor a masked assignment of a value of unknown length
            raise NotImplementedError(
                "s2sad: the adjoint of indexing a lazy array with a boolean mask (or several index arrays) "
                "must scatter into positions known only once the mask is computed, which this array's library "
                "cannot do lazily. Keep the shapes: np.where(mask, x, 0.0) instead of x[mask] (a sum over "
                "x[mask] is np.sum(np.where(mask, x, 0.0))), or compute the mask first") from None
        return acc
    n, rest = np.shape(acc)[0], np.shape(acc)[1:]
    positions = np.reshape(np.asarray(index, like=acc), (-1,)) % n
    rows = np.reshape(np.broadcast_to(g, np.shape(index) + rest), (-1, int(np.prod(rest))))
    one_hot = np.swapaxes(positions[:, None] == np.arange(n), 0, 1).astype(rows.dtype)
    return (acc + np.reshape(one_hot @ rows, np.shape(acc))).astype(acc.dtype)


def _parts(value):
    """The lists and dicts `value` is or holds (by id), and the other objects they end in
    (arrays, numbers), looking through tuples too."""
    containers, leaves, stack = {}, [], [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple, dict)):
            if id(item) in containers:
                continue  # a container that holds itself, or one held twice
            containers[id(item)] = item
            stack.extend(item.values() if isinstance(item, dict) else item)
        else:
            leaves.append(item)
    mutable = {key for key, item in containers.items() if not isinstance(item, tuple)}
    return mutable, leaves


def _shares(value, base) -> bool:
    """Would updating `base` in place change `value`? A list or dict changed in place (``b += [v]``,
    ``rows[i] = v``, ``b.append(v)``) is seen by every value that is or holds that object, and
    not by the arrays it holds (``rows[i] = v`` leaves the array ``rows[i]`` was untouched); an
    array changed in place is seen by every value that is or holds an array sharing its memory
    (``r = rows[0]; r += 1`` changes what ``rows`` holds). A tuple or a number is never changed
    in place."""
    if isinstance(base, (np.generic, int, float, complex, tuple)):
        return False  # first: a scalar loop's `s += ...` checks a number on every iteration
    if isinstance(base, (list, dict)):
        return id(base) in _parts(value)[0]
    if not isinstance(value, (list, tuple, dict)):
        return _arrays_share(value, base)
    return any(_arrays_share(v, base) for v in _parts(value)[1])


def _arrays_share(value, base) -> bool:
    if _is_lazy_array(base):  # no views: only the same array object would see the update
        return value is base
    return isinstance(value, np.ndarray) and isinstance(base, np.ndarray) and np.shares_memory(value, base)


def other_items(container, key, arrays=False):
    """The items of the list, tuple or dict `container` other than ``container[key]``: what an update
    of ``container[key]`` in place must not reach (``rows = [a, a]; rows[0] += y`` changes
    ``rows[1]`` too). A key that is not an int (a slice) or a dict key gives no items to check.
    With `arrays`, an item that is a list, tuple or dict gives the whole container (``for r in rows:
    r += [v]`` changes what rows holds: the check refuses it)."""
    if arrays and isinstance(container, (list, tuple)) and isinstance(key, (int, np.integer)) \
            and isinstance(container[key], (list, tuple, dict)):
        return container
    if isinstance(container, dict):
        return [v for k, v in container.items() if k is not key and k != key]
    if isinstance(container, (list, tuple)) and isinstance(key, (int, np.integer)) and len(container):
        at = int(key) % len(container)
        return [v for i, v in enumerate(container) if i != at]
    return []


def not_a_view(value, base, where=""):
    """`value`, checked not to share memory with `base`, which is about to be updated in place.

    ``prev = A[i]`` copies an element of a 1-D ``A`` but is a view of a row of a
    2-D one; ``A[i] = ...`` would then change ``prev`` too, which the derivative
    cannot follow. Raises ValueError in that case, saying where.
    """
    if _shares(value, base):
        raise ValueError(
            f"{where}: this in-place update would also change another variable that is read later "
            "(NumPy shares their memory), which the derivative cannot follow; take a copy (`.copy()`) first"
        )
    return value


def float_destination(array, where=""):
    """`array`, checked to hold floats before a differentiated value is stored into it.

    NumPy rounds a float stored into an integer or boolean array: a step function,
    whose derivative is 0 where it exists. Raises NotImplementedError in that case,
    saying where; float32 and float16 pass (their rounding is the identity up to precision).
    """
    kind = getattr(getattr(array, "dtype", None), "kind", "f")
    if kind in "biu":
        raise NotImplementedError(
            f"s2sad: {where}: this stores a differentiated value into an array of dtype {array.dtype}, which "
            "rounds it: the derivative through the store is 0 or undefined. Make the array float (np.zeros(n) "
            "without an integer dtype, or x.astype(float) before updating it)")
    return array


def real_tangent(value_dot, value):
    """`value_dot`, checked to be real where the function's value is: a complex tangent of a real
    value comes from a complex intermediate (``x * 1j``, ``np.abs`` of it), where the rules follow
    no complex convention. Raises NotImplementedError then."""
    kind = getattr(getattr(value_dot, "dtype", None), "kind", "c" if isinstance(value_dot, complex) else "f")
    real = not (isinstance(value, complex) or getattr(getattr(value, "dtype", None), "kind", "") == "c")
    if kind == "c" and real:
        raise NotImplementedError(
            "s2sad: a complex value computed from a real one: s2sad differentiates real functions of real "
            "values only. Keep the real and imaginary parts as two real arrays (or register a rule)")
    return value_dot


def check_cotangent(cotangent, out):
    """`cotangent`, checked to have the shape of the output `out` it is the adjoint of (vjp's seed).

    (Not named ``out_bar``: a rule template names the adjoint of ``out`` so.)"""
    if isinstance(out, dict):
        if not isinstance(cotangent, dict) or set(cotangent) != set(out):
            raise ValueError(f"the cotangent must be a dict with the output's keys {list(out)}")
        return {key: check_cotangent(cotangent[key], item) for key, item in out.items()}
    if isinstance(out, (tuple, list)):
        if not isinstance(cotangent, (tuple, list)) or len(cotangent) != len(out):
            raise ValueError(f"the cotangent must be a tuple of {len(out)} arrays, one per output")
        items = [check_cotangent(b, o) for b, o in zip(cotangent, out)]
        return type(cotangent)(*items) if hasattr(type(cotangent), "_fields") else type(cotangent)(items)
    if np.shape(cotangent) != np.shape(out):
        raise ValueError(f"the cotangent has shape {np.shape(cotangent)}, but the output has shape {np.shape(out)}")
    if isinstance(cotangent, list):  # numbers given as a list: the array they stand for
        return np.asarray(cotangent, dtype=np.result_type(out, float))
    return cotangent


def structure_spec(value):
    """The structure of `value` as literals: ``"*"`` for a leaf, else ``(kind, items)`` where kind is
    "tuple", "list", "dict" or a namedtuple's class name, and a dict's or namedtuple's items are
    ``(key, spec)`` pairs in order."""
    fields = getattr(type(value), "_fields", None)
    if isinstance(value, tuple) and isinstance(fields, tuple):
        return (type(value).__name__, tuple((k, structure_spec(v)) for k, v in zip(fields, value)))
    if isinstance(value, dict):
        return ("dict", tuple((k, structure_spec(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(structure_spec(v) for v in value))
    return "*"


def check_structure(value, spec, name):
    """`value`, checked to have the structure `spec` (see ``structure_spec``) this code was generated
    for: the same containers, keys and lengths; raises ValueError naming `name` otherwise."""
    found = structure_spec(value)
    if found != spec:
        raise ValueError(f"{name} has the structure {found!r}, but this derivative was generated for {spec!r}")
    return value


def pad_none(parts, like):
    """The adjoint of a tuple result (``w, V = eigh(A)``) from the parts the program used:
    ``parts`` padded with None to the length of ``like``, the result itself."""
    return tuple(parts) + (None,) * (len(like) - len(parts))


def add_sequences(a, b):
    """Add two adjoints of a list or tuple item by item (``+`` would concatenate them)."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        # strict: adjoints of one list have its length; cutting one short would drop derivatives
        return [add_sequences(x, y) for x, y in zip(a, b, strict=True)]
    if isinstance(a, dict) and isinstance(b, dict):
        return {key: add_sequences(a.get(key), b.get(key)) for key in {**a, **b}}
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def zero_in_place(g, index):
    """``g[index] = 0`` in place; returns `g`. Used on adjoint arrays only the reverse sweep
    holds, so that a loop filling ``out[i]`` costs O(1) per iteration in reverse, not O(n).
    In a list's adjoint the item is made a zero like it (it may be a list or an array)."""
    g[index] = zeros_like(g[index]) if isinstance(g, list) else 0
    return g


def detach(part, whole):
    """`part`, copied if it is a view into `whole` (which is about to be changed in place)."""
    if isinstance(part, np.ndarray) and isinstance(whole, np.ndarray) and np.shares_memory(part, whole):
        return part.copy()
    return part


def own(g):
    """A copy of the adjoint `g` that the reverse sweep may change in place (numbers are immutable)."""
    if isinstance(g, np.ndarray) or _is_lazy_array(g):
        return g.copy()
    return g


def fresh_copy(value):
    """A copy of `value` that may be changed in place: a new list for a list (a tape made a list,
    a list of tangents: ``np.copy`` would make it one array, or fail on items of different shapes),
    ``np.copy`` otherwise."""
    if isinstance(value, list):
        return list(value)
    return np.copy(value)


def index_after_loop(indices, before):
    """What a loop's index holds after ``for i in indices``, as in Python: the last index the loop
    took, or the value `i` had before when the loop ran no iteration. `indices` is a range."""
    return indices[-1] if len(indices) else before


def sorted_order(items, key=None, reverse=False):
    """The positions of `items` in the order ``sorted(items, key=key, reverse=reverse)`` puts them
    (equal items keep their order, as in Python): ``sorted(xs)`` is ``[xs[k] for k in
    sorted_order(xs)]``, whose items keep their derivatives. Returns a list of ints."""
    value = items.__getitem__ if key is None else (lambda k: key(items[k]))
    return sorted(range(len(items)), key=value, reverse=reverse)


def extremum_position(items, key, largest=True):
    """The position of the item ``max(items, key=key)`` (or ``min`` when not `largest`) gives: the first
    whose key is largest (smallest), as Python picks it. ``max(xs, key=f)`` is ``xs[extremum_position(xs,
    f)]``, whose item keeps its derivative (with `key` None: the items themselves compared, the keys
    of a local key function computed by the generated code). Returns an int."""
    best, best_key = 0, None
    for k, item in enumerate(items):
        value = item if key is None else key(item)
        if k == 0 or (value > best_key if largest else value < best_key):
            best, best_key = k, value
    if best_key is None:
        raise ValueError(f"{'max' if largest else 'min'}() of an empty sequence")
    return best


def zero_at(g, index):
    """The adjoint flowing past ``x[index] = v`` to the old `x`: `g` with zeros at `index`.

    The old values at `index` were overwritten, so they no longer affect the
    output. Returns a new array; `g` is not modified.
    """
    if isinstance(g, (list, tuple)):  # a list's adjoint: its items may be lists or arrays of any shapes
        out = list(g)
        out[index] = zeros_like(out[index])
        return out
    out = g.copy() if _is_lazy_array(g) else np.array(g, copy=True)
    out[index] = 0
    return out


def zero_at_like(g, index, old):
    """`zero_at` for a list's adjoint whose item at `index` replaced `old`: the zero there is shaped
    like `old` (``rows[0] = [a]`` over a 2-item row: the adjoint before it holds a 2-item zero row)."""
    out = list(g)
    out[index] = zeros_like(old)
    return out


def set_at(x, index, value):
    """``x[index] = value`` on a copy of `x`: the pure form of an in-place update, for reverse mode
    over generated code (which then needs no ``restore``). Returns the new array; `x` is not modified."""
    out = x.copy() if _is_lazy_array(x) else np.array(x, copy=True)
    out[index] = value
    return out


def appended(items, value):
    """``items.append(value)`` on a copy of the list `items`: the pure form of an append, for reverse
    mode over generated code (which then needs no ``unappend``). Returns the new list."""
    return [*items, value]


def scalar_seed(y):
    """The seed of reverse mode, dy/dy = 1, for a scalar output `y` (its dtype kept).

    Raises ValueError for an array output: its gradient is not defined; use
    ``vjp`` (with a cotangent of the output's shape) or ``jacobian`` instead.
    """
    if type(y) is float:  # the common outputs first: the checks below cost several µs
        return 1.0
    if type(y) is np.float64:
        return np.float64(1.0)  # a NumPy scalar, not np.ones_like's 0-d array, which is slower to compute with
    if np.ndim(y) != 0:
        raise ValueError(
            f"grad needs a function with a scalar output, but it returned shape {np.shape(y)}; "
            "use vjp (give a cotangent) or jacobian, or reduce the output (e.g. .sum())"
        )
    if isinstance(y, np.generic) and np.issubdtype(y.dtype, np.inexact):
        return y.dtype.type(1)  # float32, longdouble, complex: a 1 of that type
    if isinstance(y, np.ndarray) and np.issubdtype(y.dtype, np.inexact):
        return np.ones_like(y)
    if _is_lazy_array(y) and np.issubdtype(y.dtype, np.inexact):  # a 0-d Dask array: a lazy 1
        return np.ones_like(y)
    return 1.0


def _put_kept(a, indices, mode):
    """The flat positions ``np.put(a, indices, v, mode)`` writes, and for each the number of the
    write that lands there last (a repeated position keeps its last value, as NumPy does)."""
    flat = np.ravel(np.asarray(indices, dtype=np.intp))
    n = np.size(a)
    if mode == "wrap":
        flat = flat % n
    elif mode == "clip":
        flat = np.clip(flat, 0, n - 1)
    elif np.any((flat >= n) | (flat < -n)):
        raise IndexError(f"index {flat[(flat >= n) | (flat < -n)][0]} is out of bounds for size {n}")
    flat = flat % n if n else flat
    last = {int(p): k for k, p in enumerate(flat)}  # later writes replace earlier ones
    positions = np.array(sorted(last), dtype=np.intp)
    return positions, np.array([last[int(p)] for p in positions], dtype=np.intp)


def put_index(a, indices, mode="raise"):
    """The index (into `a`) of the elements ``np.put(a, indices, v, mode)`` sets."""
    positions, _ = _put_kept(a, indices, mode)
    return np.unravel_index(positions, np.shape(a))


def put_source(a, indices, values, mode="raise"):
    """Which element of ``np.ravel(values)`` each element `put_index` names receives
    (np.put repeats `values` cyclically)."""
    _, writes = _put_kept(a, indices, mode)
    return writes % max(np.size(values), 1)


RUNTIME_HELPERS = ("structure_spec", "check_structure", "LIST_CONCATENATION", "_is_lazy_array", "_add_at_lazy", "_same_length", "zero_in_place", "detach", "own", "fresh_copy", "check_cotangent", "pad_none", "_parts", "_shares", "_arrays_share", "not_a_view", "add_sequences", "scalar_seed", "add_at", "unbroadcast", "unreduce", "zeros_like", "_is_basic_index", "scatter_add", "zero_at", "zero_at_like", "set_at", "appended")
RUNTIME_HELPERS += ("_put_kept", "put_index", "put_source", "float_destination", "real_tangent")
