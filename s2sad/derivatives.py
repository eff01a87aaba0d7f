"""The derivative operators of the lecture notes' table, as generated code.

=================  ==========================================  =============================
notes              s2sad                                       how
=================  ==========================================  =============================
grad               :func:`s2sad.grad`                          reverse mode
gradv, jacobianv   :func:`jvp`                                 forward mode (tangent code)
jacobianTv         :func:`vjp`                                 reverse mode, seed given
jacobian           :func:`jacobian`                            n jvps or m vjps (``mode``)
hessianv           :func:`hvp`                                 forward over reverse
hessian            :func:`hessian`                             one hvp per input entry
laplacian          :func:`laplacian`                           trace of H, one hvp per entry
div, curl          :func:`divergence`, :func:`curl`            forward mode, one jvp per entry
diffn              :func:`derivative`                          forward mode applied n times
=================  ==========================================  =============================

Every operator returns a generated function with ``.source``. The ones that
loop over basis vectors (``jacobian``, ``hessian``, ``laplacian``,
``divergence``, ``curl``) are small *driver* functions whose source shows the
loop and the generated ``jvp``/``vjp``/``hvp`` it calls; the source of those
follows the driver's in ``.source``.
"""

from __future__ import annotations

import inspect
import keyword
import numbers
import warnings

import numpy as np

from .api import (
    GeneratedFunction,
    _cached,
    _function_location,
    _live_globals,
    _param_names,
    _safe_name,
    _with_runtime,
    build as _build_from_source,
    remember_request,
    resolve_wrt,
)
from .codegen import compile_function
from .compose import build_generated, internal_errors_named, is_generated, reverse_problems
from .transforming import transforming
from .errors import ArgumentError, NonScalarOutputError, S2SADError, WrtError
from .forward import constant_seed_tangent
from .frontend import parse_function, signature, unwrap
from .routine_pairs import to_module_source
from .simplify import simplify

__all__ = ["jvp", "vjp", "jacobian", "hessian", "hvp", "derivative", "laplacian", "divergence", "curl",
           "grad_of_generated"]

_MODES = ("auto", "forward", "reverse")


# ------------------------------------------------------------------ runtime helpers of the drivers


def basis(x):
    """The standard basis vectors of `x`'s space, each shaped like `x` (1.0 for a scalar)."""
    shape = np.shape(x)
    if shape == ():
        yield 1.0
        return
    # in x's floating dtype, so that the Hessian of a float32 x is float32 as its gradient is
    dtype = np.result_type(x) if np.issubdtype(np.result_type(x), np.floating) else np.float64
    for k in range(int(np.prod(shape))):
        e = np.zeros(int(np.prod(shape)), dtype=dtype)
        e[k] = 1.0
        yield np.reshape(e, shape)


def flat(y):
    """`y` (an array, a number, or a tuple of them) as one flat float vector."""
    if isinstance(y, (tuple, list)):
        parts = [np.ravel(np.asarray(item, dtype=float)) for item in y]
        return np.concatenate(parts) if parts else np.zeros(0)
    return np.ravel(np.asarray(y, dtype=float))


def unflat(v, like):
    """The flat vector `v` shaped like `like` (an array, a number, or a tuple of them)."""
    if isinstance(like, (tuple, list)):
        out, start = [], 0
        for item in like:
            n = int(np.size(item))
            out.append(unflat(v[start:start + n], item))
            start += n
        return type(like)(out)
    if np.ndim(like) == 0:
        return float(v[0])
    return np.reshape(v, np.shape(like))


def out_shape(y):
    """The shape the Jacobian gives to `y`: its own, or (total size,) for a tuple."""
    if isinstance(y, (tuple, list)):
        return (int(sum(np.size(item) for item in y)),)
    return np.shape(y)


def size(y):
    """The number of entries of `y` (all entries of a tuple)."""
    return int(np.size(flat(y)))


def check_field(x, value, what, three=False):
    """Refuse a field that is not R^n -> R^n (R^3 -> R^3 for curl)."""
    n, m = int(np.size(x)), size(value)
    if n != m or (three and n != 3):
        need = "R^3 -> R^3" if three else "R^n -> R^n"
        raise ArgumentError(f"{what} needs a vector field {need}, but the argument has {n} entries and the "
                            f"value has {m}", hint="pass the point as one array and return one array of the same size")


def stack(parts, axis):
    """``np.stack(parts, axis)``, and an empty array for no parts (the Jacobian with respect to,
    or of, an empty array has no columns or rows; np.stack refuses an empty list)."""
    return np.stack(parts, axis=axis) if parts else np.zeros((0,))


_DRIVER_HELPERS = {"basis": basis, "flat": flat, "unflat": unflat, "out_shape": out_shape, "size": size,
                   "check_field": check_field, "stack": stack, "np": np, "float": float, "enumerate": enumerate}


# ------------------------------------------------------------------ drivers


def _signature_text(func, namespace):
    parts = []
    for name, param in signature(func).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise WrtError(f"{func.__name__} takes *args or **kwargs, which the derivative drivers do not "
                           "support", _function_location(func), hint="list the parameters explicitly")
        if param.kind is param.KEYWORD_ONLY and "*" not in parts:
            parts.append("*")  # the driver keeps f's keyword-only parameters keyword-only
        if param.default is not param.empty:
            namespace[f"{name}_default"] = param.default
            parts.append(f"{name}={name}_default")
        else:
            parts.append(name)
    return ", ".join(parts)


# What a driver's body names besides f's parameters: its own variables, then the helpers it calls
_DRIVER_LOCALS = ("e", "k", "columns", "rows", "value", "value_dot", "total", "J")


def _driver_names(func, taken=()) -> dict:
    """How a driver of `func` spells each of its variables and helpers: as itself, or with underscores
    appended where f has a parameter of that name (or `taken` holds it), which the variable would
    overwrite or the parameter would hide: ``hessian(f)(x, e)`` with the loop ``for e in basis(x)``
    passed each basis vector as f's `e`.

    Example:
        >>> def f(x, e, basis):
        ...     return x * e
        >>> names = _driver_names(f)
        >>> names["e"], names["basis"], names["k"]
        ('e_', 'basis_', 'k')
    """
    used = set(signature(func).parameters) | set(taken)
    names = {}
    for name in (*_DRIVER_LOCALS, *_DRIVER_HELPERS):
        spelled = name
        while spelled in used:
            spelled += "_"
        names[name] = spelled
        used.add(spelled)
    return names


def _driver(func, kind, wrt_names, body, doc, parts, extra_names=None, extra_sources=(), names=None):
    """Compile a driver function `<kind>_<f>` whose body is `body`; `parts` are the generated
    functions it calls (name -> GeneratedFunction); `names` how the body spells the helpers
    (`_driver_names`)."""
    name = f"{kind}_{_safe_name(func)}"
    names = names or {helper: helper for helper in _DRIVER_HELPERS}
    namespace = {names[helper]: value for helper, value in _DRIVER_HELPERS.items()}
    namespace.update(parts)
    namespace.update(extra_names or {})
    signature = _signature_text(func, namespace)
    source = f'def {name}({signature}):\n    """{doc}"""\n' + body.rstrip() + "\n"
    code = compile(source, f"<s2sad {kind} of {func.__qualname__}>", "exec")
    scope = dict(namespace)
    exec(code, scope)
    shown = [source] + [p.source for p in parts.values() if isinstance(p, GeneratedFunction)] + list(extra_sources)
    full = "\n\n".join(s.rstrip() + "\n" for s in dict.fromkeys(shown))
    return GeneratedFunction(scope[name], full, kind, func, wrt_names, None, namespace)


def build(func, kind, wrt=0):
    """The generated function of `kind`: from `func`'s source, or from its IR if it is generated code."""
    if is_generated(func):
        return build_generated(func, kind, wrt)
    return _build_from_source(func, kind, wrt)


def _user_function(f):
    """`f` as the operators take it: a user function, or generated code (whose IR is transformed)."""
    func = unwrap(f)
    if is_generated(func):
        return func
    if not inspect.isfunction(func):
        parse_function(func)  # raises SourceUnavailableError saying what was passed
    return func


def _one_wrt(func, wrt, what):
    positions, many = resolve_wrt(func, wrt)
    if many:
        if len(positions) != 1:
            raise WrtError(f"{what} takes one argument to differentiate with respect to, got wrt={wrt!r}",
                           _function_location(func),
                           hint="pass the variables as one array, or ask for each argument separately")
    return positions[0]


def _call_text(func, keywords=False):
    """The arguments of a call passing f's parameters on: all positional (to generated code, whose
    parameters are all positional), or with f's keyword-only ones by keyword (to f and to drivers)."""
    if not keywords:
        return ", ".join(_param_names(func))
    params = signature(func).parameters.values()
    return ", ".join(f"{p.name}={p.name}" if p.kind is p.KEYWORD_ONLY else p.name for p in params)


def _guard(func, make):
    return internal_errors_named(func.__name__, make, _function_location(func))


# ------------------------------------------------------------------ public API


def jvp(f, wrt=0):
    """Forward mode: the Jacobian-vector product J·v as generated tangent code.

    Each statement of ``f`` is followed by its tangent statement (``z = x * y``
    then ``z_dot = x_dot * y + x * y_dot``); no tape is used.

    Args:
        f: a Python function whose source s2sad can read.
        wrt: the parameter(s) to differentiate: a position or a name, or a tuple of them.

    Returns:
        A function ``(*args, *tangents) -> (value, value_dot)`` taking one tangent
        per ``wrt`` parameter, shaped like it; ``value_dot`` is shaped like the
        value (a tuple for a tuple). For a scalar ``f`` this is the lecture's ``gradv``.

    Example:
        >>> import numpy as np, s2sad
        >>> def f(x, y):
        ...     return x * y + np.sin(x)
        >>> value, value_dot = s2sad.jvp(f)(0.0, 3.0, 1.0)  # d/dx at (0, 3) = y + cos x
        >>> float(value), float(value_dot)
        (0.0, 4.0)
    """
    return remember_request(build(_user_function(f), "jvp", wrt), jvp, f, wrt)


def vjp(f, wrt=0, *, has_aux=False):
    """Reverse mode with a given cotangent: the vector-Jacobian product vᵀJ (``jacobianTv``).

    Args:
        f: a Python function returning an array, a number or a tuple of them.
        wrt: the parameter(s) to differentiate: a position, a name, or a tuple of them.
        has_aux: ``f`` returns ``(output, aux)``; only ``output`` is differentiated.

    Returns:
        A function ``(*args, out_bar) -> x_bar`` (a tuple when ``wrt`` is a tuple;
        ``(x_bar, aux)`` with ``has_aux``); ``out_bar`` is shaped like the output.

    Example:
        >>> import numpy as np, s2sad
        >>> def f(x):
        ...     return x * x
        >>> s2sad.vjp(f)(np.array([1.0, 2.0]), np.array([1.0, 10.0]))
        array([ 2., 40.])
    """
    return remember_request(build(_user_function(f), "vjp_aux" if has_aux else "vjp", wrt), vjp, f, wrt,
                            has_aux=has_aux)


def hvp(f, wrt=0):
    """The Hessian-vector product H·v by forward-over-reverse, never building H.

    The generated code is the tangent (forward-mode) program of the generated
    gradient: each statement of the gradient's forward and reverse sweeps is
    followed by its tangent, and values saved on the tape travel with theirs.

    Args:
        f: a Python function returning a scalar.
        wrt: the parameter(s): a position, a name, or a tuple (then one ``v`` per
            parameter, and a tuple of results).

    Returns:
        A function ``(*args, v) -> H @ v`` (``v`` shaped like the ``wrt`` argument).

    Example:
        >>> import numpy as np, s2sad
        >>> def f(x):
        ...     return np.sum(x ** 3)
        >>> s2sad.hvp(f)(np.array([1.0, 2.0]), np.array([1.0, 1.0]))  # H = diag(6 x)
        array([ 6., 12.])
    """
    return remember_request(build(_user_function(f), "hvp", wrt), hvp, f, wrt)


def derivative(f, order=1, wrt=0):
    """The n-th derivative (``diffn``) by forward mode applied n times; elementwise for arrays.

    Each order is the tangent program of the previous generated program, with
    the tangent of the argument seeded by 1.

    For an array argument ``x`` the seed is ``np.ones_like(x)``: the result is
    ``d^n/dt^n f(x + t)`` at ``t = 0``, the same ``t`` added to every entry. For an
    elementwise ``f`` (``f(x)[i]`` depends on ``x[i]`` only: ``np.sin(x) * x**3``)
    that is the elementwise n-th derivative, as ``jax.vmap(grad(grad(f)))``
    would give. For any other ``f`` it is the n-th derivative along the all-ones
    direction (for n = 1, the row sums of the Jacobian: ``J @ ones``), a
    well-defined number but not an entry of the Jacobian or Hessian; use
    :func:`jacobian`/:func:`hessian` for those. **Choice:** computed rather than
    refused, because whether ``f`` is elementwise cannot be seen from its code in
    general (``x[0] * x`` is not, ``np.sin(x)`` is), and the all-ones meaning is
    exact in both cases; JAX's elementwise idiom would need ``f`` to be applied
    to scalars, which array code often cannot be.

    Args:
        f: a Python function (or generated code); other parameters are held fixed.
        order: 1, 2, 3, ...
        wrt: the parameter: a scalar or an array.

    Returns:
        A function with ``f``'s signature returning the derivative (shaped like
        ``f``'s value).

    Example:
        >>> import numpy as np, s2sad
        >>> def f(x):
        ...     return x ** 4
        >>> float(s2sad.derivative(f, order=3)(2.0))  # 24 x
        48.0
        >>> s2sad.derivative(f, order=2)(np.array([1.0, 2.0]))  # 12 x**2, entry by entry
        array([12., 48.])
    """
    if isinstance(order, bool) or not isinstance(order, numbers.Integral) or order < 1:
        raise ArgumentError(f"order must be a positive integer, got {order!r}",
                            hint="derivative(f, order=2) is the second derivative; order=1 is grad's")
    func = _user_function(f)
    _one_wrt(func, wrt, "derivative")
    generated = build(func, f"derivative{int(order)}", wrt)
    generated._for_arrays = lambda: build(func, f"elementwise_derivative{int(order)}", wrt)
    return remember_request(generated, derivative, f, order, wrt)


def jacobian(f, wrt=0, mode="auto"):
    """The Jacobian matrix, by forward mode (one jvp per input entry) or reverse mode
    (one vjp per output entry).

    Args:
        f: a Python function returning an array, a number or a tuple of them (a
            tuple counts as the vector of all its entries).
        wrt: the parameter(s): a position, a name or a tuple (then a tuple of Jacobians).
        mode: "forward", "reverse", or "auto": forward when the input has fewer
            entries than the output, else reverse (decided at each call; the
            generated driver in ``.source`` shows both loops and the test).

    Returns:
        A function ``(*args) -> J`` with ``J.shape == out.shape + x.shape``.

    Example:
        >>> import numpy as np, s2sad
        >>> def f(x):
        ...     return np.array([x[0] * x[1] + np.sin(x[0]), np.exp(x[0] - x[1])])
        >>> J = s2sad.jacobian(f, mode="forward")(np.array([0.0, 0.0]))
        >>> J
        array([[ 1.,  0.],
               [ 1., -1.]])
    """
    if mode not in _MODES:
        raise ArgumentError(f"mode must be one of {_MODES}, got {mode!r}",
                            hint="'auto' picks forward mode for few inputs and reverse mode for few outputs")
    func = _user_function(f)
    positions, many = resolve_wrt(func, wrt)
    names = _param_names(func)
    if mode == "auto" and is_generated(func) and reverse_problems(func):
        mode = "forward"  # generated code reverse mode refuses (an in-place update put back): forward works
    return remember_request(_cached(func, ("jacobian", positions, many, mode),
                                    lambda: _guard(func, lambda: _jacobian(func, positions, many, mode, names))),
                            jacobian, f, wrt, mode)


def _jacobian(func, positions, many, mode, names):
    fname = _safe_name(func)
    args = _call_text(func)
    if many:
        parts = {f"jacobian_{fname}_{names[p]}": jacobian(func, p, mode) for p in positions}
        body = "    return (" + ", ".join(f"{k}({_call_text(func, keywords=True)})" for k in parts) + ",)\n"
        return _driver(func, "jacobian", [names[p] for p in positions], body,
                       f"The Jacobians of {func.__name__} with respect to {', '.join(names[p] for p in positions)}.",
                       parts)
    p = positions[0]
    x = names[p]
    parts = {}
    forward = reverse = ""
    primal_name = fname if fname not in names and not keyword.iskeyword(fname) else f"{fname}_primal"
    extra = {primal_name: func}
    x_bar = f"{x}_bar"
    while x_bar in names:  # (a parameter of that name: the driver's variable must not overwrite it)
        x_bar += "_"
    n = _driver_names(func, (primal_name, x_bar))
    e, np_, value = n["e"], n["np"], n["value"]
    if mode in ("auto", "forward"):
        jvp_fn = build(func, "jvp", p)
        parts[jvp_fn.__name__] = jvp_fn
        forward = (
            f"# forward mode: one jvp per entry of {x} (J @ e is a column of J)\n"
            f"{n['columns']} = []\n"
            f"for {e} in {n['basis']}({x}):\n"
            f"    {value}, {n['value_dot']} = {jvp_fn.__name__}({args}, {e})\n"
            f"    {n['columns']}.append({n['flat']}({n['value_dot']}))\n"
            f"return {np_}.reshape({n['stack']}({n['columns']}, -1), {n['out_shape']}({value}) + {np_}.shape({x}))\n"
        )
    if mode in ("auto", "reverse"):
        vjp_fn = build(func, "vjp", p)
        parts[vjp_fn.__name__] = vjp_fn
        reverse = (
            f"# reverse mode: one vjp per entry of the value (e @ J is a row of J)\n"
            f"{n['rows']} = []\n"
            f"for {e} in {n['basis']}({n['flat']}({value})):\n"
            f"    {x_bar} = {vjp_fn.__name__}({args}, {n['unflat']}({e}, {value}))\n"
            f"    {n['rows']}.append({np_}.ravel({x_bar}))\n"
            f"return {np_}.reshape({n['stack']}({n['rows']}, 0), {n['out_shape']}({value}) + {np_}.shape({x}))\n"
        )

    def indent(text, n):
        return "".join(" " * n + line + "\n" for line in text.splitlines())

    if mode == "forward":
        ret = forward.rindex("return ")
        body = indent(forward[:ret] + f"if not {n['columns']}:  # {x} is empty: no jvp ran to give the value\n"
                      f"    {value} = {primal_name}({_call_text(func, keywords=True)})\n" + forward[ret:], 4)
    elif mode == "reverse":
        body = indent(f"{value} = {primal_name}({_call_text(func, keywords=True)})\n", 4) + indent(reverse, 4)
    else:
        body = (
            indent(f"{value} = {primal_name}({_call_text(func, keywords=True)})\n", 4)
            + f"    if {np_}.size({x}) < {n['size']}({value}):  # mode='auto': fewer inputs than outputs\n"
            + indent(forward, 8)
            + "    else:\n"
            + indent(reverse, 8)
        )
    return _driver(func, "jacobian", [x], body, f"The Jacobian of {func.__name__} with respect to {x} "
                   f"(mode={mode!r}); shape: value shape + {x} shape.", parts, extra, names=n)


def hessian(f, wrt=0):
    """The Hessian matrix of a scalar function: one Hessian-vector product
    (forward over reverse, see :func:`hvp`) per entry of the argument.

    Args:
        f: a Python function returning a scalar.
        wrt: the parameter: a position or a name.

    Returns:
        A function ``(*args) -> H`` with ``H.shape == x.shape + x.shape``.

    Example:
        >>> import numpy as np, s2sad
        >>> def f(x):
        ...     return x[0] ** 2 * x[1]
        >>> s2sad.hessian(f)(np.array([1.0, 3.0]))
        array([[6., 2.],
               [2., 0.]])
    """
    func = _user_function(f)
    p = _one_wrt(func, wrt, "hessian")
    return remember_request(_cached(func, ("hessian", p), lambda: _guard(func, lambda: _hessian(func, p))),
                            hessian, f, wrt)


def _hessian(func, p):
    x = _param_names(func)[p]
    args = _call_text(func)
    hvp_fn = build(func, "hvp", p)
    n = _driver_names(func)
    e, np_, columns = n["e"], n["np"], n["columns"]
    body = (
        f"    # one Hessian-vector product (forward over reverse) per entry of {x}: H @ e is a column of H\n"
        f"    {columns} = []\n"
        f"    for {e} in {n['basis']}({x}):\n"
        f"        {columns}.append({np_}.ravel({hvp_fn.__name__}({args}, {e})))\n"
        f"    return {np_}.reshape({n['stack']}({columns}, -1), {np_}.shape({x}) + {np_}.shape({x}))\n"
    )
    return _driver(func, "hessian", [x], body, f"The Hessian of {func.__name__} with respect to {x}.",
                   {hvp_fn.__name__: hvp_fn}, names=n)


def laplacian(f, wrt=0):
    """The Laplacian (trace of the Hessian) of a scalar function, one Hessian-vector product per entry.

    Args:
        f: a Python function returning a scalar.
        wrt: the parameter: a position or a name.

    Returns:
        A function ``(*args) -> sum_k d^2 f / dx_k^2``.

    Example:
        >>> import numpy as np, s2sad
        >>> def f(x):
        ...     return np.sum(x ** 2)
        >>> s2sad.laplacian(f)(np.array([1.0, 2.0, 3.0]))
        6.0
    """
    func = _user_function(f)
    p = _one_wrt(func, wrt, "laplacian")

    def make():
        x = _param_names(func)[p]
        args = _call_text(func)
        hvp_fn = build(func, "hvp", p)
        n = _driver_names(func)
        e, total = n["e"], n["total"]
        body = (
            f"    # the trace of the Hessian: e . (H @ e) for each basis vector e of {x}\n"
            f"    {total} = 0.0\n"
            f"    for {e} in {n['basis']}({x}):\n"
            f"        {total} = {total} + {n['float']}({n['np']}.sum({e} * {hvp_fn.__name__}({args}, {e})))\n"
            f"    return {total}\n"
        )
        return _driver(func, "laplacian", [x], body, f"The Laplacian of {func.__name__} in {x}.",
                       {hvp_fn.__name__: hvp_fn}, names=n)

    return remember_request(_cached(func, ("laplacian", p), lambda: _guard(func, make)), laplacian, f, wrt)


def divergence(f, wrt=0):
    """The divergence of a vector field R^n -> R^n (trace of the Jacobian), one jvp per entry.

    Args:
        f: a Python function mapping an array of n entries to an array of n entries.
        wrt: the parameter: a position or a name.

    Returns:
        A function ``(*args) -> sum_k dF_k / dx_k``.

    Example:
        >>> import numpy as np, s2sad
        >>> def F(x):
        ...     return x * x
        >>> s2sad.divergence(F)(np.array([1.0, 2.0, 3.0]))
        12.0
    """
    func = _user_function(f)
    p = _one_wrt(func, wrt, "divergence")

    def make():
        x = _param_names(func)[p]
        args = _call_text(func)
        jvp_fn = build(func, "jvp", p)
        n = _driver_names(func)
        e, k, total, value, value_dot = n["e"], n["k"], n["total"], n["value"], n["value_dot"]
        body = (
            f"    # the trace of the Jacobian: entry k of J @ e_k, one jvp per basis vector e_k of {x}\n"
            f"    {total} = 0.0\n"
            f"    for {k}, {e} in {n['enumerate']}({n['basis']}({x})):\n"
            f"        {value}, {value_dot} = {jvp_fn.__name__}({args}, {e})\n"
            f"        {n['check_field']}({x}, {value}, 'divergence')\n"
            f"        {total} = {total} + {n['float']}({n['flat']}({value_dot})[{k}])\n"
            f"    return {total}\n"
        )
        return _driver(func, "divergence", [x], body, f"The divergence of {func.__name__} in {x}.",
                       {jvp_fn.__name__: jvp_fn}, names=n)

    return remember_request(_cached(func, ("divergence", p), lambda: _guard(func, make)), divergence, f, wrt)


def curl(f, wrt=0):
    """The curl of a vector field R^3 -> R^3, from its Jacobian by forward mode (3 jvps).

    Args:
        f: a Python function mapping an array of 3 entries to an array of 3 entries.
        wrt: the parameter: a position or a name.

    Returns:
        A function ``(*args) -> (dF3/dy - dF2/dz, dF1/dz - dF3/dx, dF2/dx - dF1/dy)``.

    Example:
        >>> import numpy as np, s2sad
        >>> def F(p):
        ...     return np.array([-p[1], p[0], 0.0 * p[2]])
        >>> s2sad.curl(F)(np.array([1.0, 2.0, 3.0])) + 0.0
        array([0., 0., 2.])
    """
    func = _user_function(f)
    p = _one_wrt(func, wrt, "curl")

    def make():
        x = _param_names(func)[p]
        args = _call_text(func)
        jvp_fn = build(func, "jvp", p)
        n = _driver_names(func)
        e, columns, value, value_dot, J, np_ = n["e"], n["columns"], n["value"], n["value_dot"], n["J"], n["np"]
        body = (
            f"    # the Jacobian by forward mode, one jvp per basis vector of {x}: J[i, j] = dF_i / dx_j\n"
            f"    {columns} = []\n"
            f"    for {e} in {n['basis']}({x}):\n"
            f"        {value}, {value_dot} = {jvp_fn.__name__}({args}, {e})\n"
            f"        {columns}.append({n['flat']}({value_dot}))\n"
            f"    {n['check_field']}({x}, {value}, 'curl', three=True)\n"
            f"    {J} = {np_}.stack({columns}, axis=-1)\n"
            f"    return {np_}.array([{J}[2, 1] - {J}[1, 2], {J}[0, 2] - {J}[2, 0], {J}[1, 0] - {J}[0, 1]])\n"
        )
        return _driver(func, "curl", [x], body, f"The curl of {func.__name__} in {x}.", {jvp_fn.__name__: jvp_fn},
                       names=n)

    return remember_request(_cached(func, ("curl", p), lambda: _guard(func, make)), curl, f, wrt)


# ------------------------------------------------------------------ grad of generated code


@transforming()
def grad_of_generated(g: GeneratedFunction, wrt=0, has_aux=False) -> GeneratedFunction:
    """``s2sad.grad`` of generated code in forward mode, for a scalar argument.

    ``s2sad.grad`` of generated code is reverse mode over its IR (`compose`);
    where that IR has what reverse mode cannot reverse yet (a value put back after an in-place update), it is
    this: the tangent program with the argument's tangent seeded by 1 (forward
    over reverse), exact, with the tape of the generated code travelling with
    its tangents. The argument must be a scalar, which the call checks.
    """
    if has_aux:
        raise ArgumentError("has_aux is not supported when differentiating generated code")
    if g.ir is None:
        raise S2SADError(f"{g!r} is a driver around generated code, which grad cannot differentiate again",
                         hint="differentiate a generated gradient, jvp, hvp or derivative")
    names = [p.var.name for p in g.ir.params]
    if isinstance(wrt, str):
        if wrt not in names:
            raise WrtError(f"the generated function {g.__name__} has no parameter named {wrt!r}",
                           hint=f"its parameters are {names}")
        position = names.index(wrt)
    elif isinstance(wrt, bool) or not isinstance(wrt, int) or not -len(names) <= wrt < len(names):
        raise WrtError(f"wrt must be one parameter position or name of {g.__name__} {names}, got {wrt!r}",
                       hint="grad of generated code differentiates scalar -> scalar functions, one argument")
    else:
        position = wrt % len(names)

    def make():
        if g._guard is not None and not g._guard():
            g._refresh()  # the program g was built from changed: differentiate g as it is now
        built_from = g.ir
        fn = simplify(constant_seed_tangent(g.ir, position, name=f"grad_{g.ir.name}"))
        source, namespace = to_module_source(fn)
        namespace = _with_runtime(namespace, g.primal, g.ir.result_loc)
        with warnings.catch_warnings():
            # the seed is the number 1.0: code indexing it is refused at run time (non-scalar argument)
            warnings.simplefilter("ignore", SyntaxWarning)
            compiled = compile_function(source, fn.name, namespace,
                                        live_globals=_live_globals(g.primal, namespace),
                                        filename=f"<s2sad grad of {g.__name__}>")
        what = names[position]

        def checked(*args, **kwargs):
            x = args[position] if position < len(args) else kwargs.get(what)
            if np.ndim(x) != 0:
                raise NonScalarOutputError(
                    f"grad of the generated {g.kind} runs in forward mode (reverse mode cannot reverse its "
                    f"in-place updates yet), which needs a scalar argument {what}, got shape {np.shape(x)}",
                    hint="differentiate the original function, or use s2sad.jvp or "
                    "s2sad.jacobian(..., mode='forward') of the generated code")
            out = compiled(*args, **kwargs)
            if isinstance(out, tuple) or np.ndim(out) != 0:
                raise NonScalarOutputError(
                    f"grad needs {g.__name__} to return a scalar, but it returned "
                    f"{'a tuple' if isinstance(out, tuple) else 'shape ' + str(np.shape(out))}",
                    hint="use s2sad.hessian or s2sad.jacobian instead")
            return out

        checked.__name__ = fn.name
        checked.__signature__ = inspect.signature(compiled)
        generated = GeneratedFunction(checked, source, "grad", g.primal, [what], fn, namespace)
        generated._splice_refusal = ("its forward-mode code is right for a scalar argument only, which it checks "
                                     "when called, not inside other code")
        # fresh while g is: g's own guard holds and g was not rebuilt since (s2sad.guards)
        generated._guard = lambda: (g._guard is None or g._guard()) and g.ir is built_from
        generated._rebuild = make
        return generated

    return _cached(g, ("grad", position), lambda: _guard(g.primal, make))
