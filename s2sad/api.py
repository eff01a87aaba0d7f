"""The reverse-mode builder: grad and value_and_grad code from a function's source, cached; show and source.

Each transformation runs the pipeline once per (function, kind, wrt) and is
cached on the function object, so asking again costs a dictionary lookup.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import numbers
import operator
import os
import sys
import types
import warnings
import weakref

import numpy as np

from . import ir, runtime, sequence_uses
from .codegen import Namespace, compile_function
from .errors import (ArgumentError, InPlaceUpdateError, InternalError, Location, NoDerivativeError, NonScalarOutputError,
                     UnsupportedCodeError,
                     S2SADError, WrtError)
from .failures import derivative_failure, failing_location, is_users_own, users_own_error
from .frontend import parse_function, signature, unwrap
from .lazy import computes_refused
from .analysis import guard_inplace_updates
from .checkpoint import check_option, checkpoint_loops
from .cost import measure as measure_cost
from .containers import leaf_positions, with_containers
from .pytree import StructureError, flatten, in_order, is_structured, unflatten
from .guards import attribute_assumptions, live_assumptions, make_guard
from .kinds import build_ir
from .lower import lower_function, normalize
from .reverse import reverse_function
from .rules import registry
from .routine_pairs import to_module_source
from .simplify import simplify
from .shapes import UNKNOWN, of_value, signature as abstract_signature
from .outer_sums import outer_products_as_matmul
from .specialize import specialize_adjoint, specialize_primal, tidy
from .typed_tapes import drop_unread_saves, float_tapes
from .recomputed_saves import recompute_saves
from .subroutines import subroutines_of
from .transforming import transforming


# ------------------------------------------------------------------ wrt


def _param_names(func) -> list[str]:
    return list(_signatures(func)[3])


# func -> (key, s2sad's signature, inspect's signature, parameter names): a call on the general path
# needs them several times, and inspect.signature costs ~8 µs each time.
_SIGNATURE_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _signature_key(func) -> list:
    """What a function's signatures are computed from, down its ``__wrapped__`` chain: compared by
    identity, so assigning any of these attributes (or a keyword-only default) misses the cache."""
    key = []
    for _ in range(16):  # a wrapper chain; a cycle ends here
        if func is None:
            break
        kwdefaults = getattr(func, "__kwdefaults__", None)
        wrapped = getattr(func, "__wrapped__", None)
        key += [getattr(func, "__code__", None), getattr(func, "__defaults__", None), kwdefaults,
                getattr(func, "__signature__", None), wrapped]
        if kwdefaults:  # a dict, which may change in place
            key += [*kwdefaults.keys(), *kwdefaults.values()]
        func = wrapped
    return key


def _signatures(func) -> tuple:
    """``(key, signature(func), inspect.signature(func), parameter names, whether a default is a
    container)``, cached per function while its `_signature_key` is the same object for object."""
    key = _signature_key(func)
    try:
        cached = _SIGNATURE_CACHE.get(func)
    except TypeError:  # not weakly referenceable: no cache
        cached = None
    if cached is not None and len(cached[0]) == len(key) and all(map(operator.is_, cached[0], key)):
        return cached
    own = signature(func)
    try:
        followed = inspect.signature(func)
    except (TypeError, ValueError):
        followed = own
    structured_default = any(is_structured(p.default) for p in followed.parameters.values())
    entry = (key, own, followed, tuple(own.parameters), structured_default)
    try:
        _SIGNATURE_CACHE[func] = entry
    except TypeError:
        pass
    return entry


def _function_location(func) -> Location:
    code = getattr(func, "__code__", None)
    if code is None:
        return None
    import linecache

    text = linecache.getline(code.co_filename, code.co_firstlineno).rstrip("\n")
    col = len(text) - len(text.lstrip())
    return Location(code.co_filename, code.co_firstlineno, col, text, func.__name__)


def resolve_wrt(func, wrt) -> tuple[tuple[int, ...], bool]:
    """Positions of the parameters in `wrt`, and whether the caller asked for a tuple.

    Args:
        func: the user's function.
        wrt: a position, a parameter name, or a tuple/list of them.
    """
    names = _param_names(func)
    many = isinstance(wrt, (tuple, list))
    items = list(wrt) if many else [wrt]
    if many and not items:
        raise WrtError(f"wrt=() asks for no derivative of {func.__name__}", _function_location(func),
                       hint=f"name at least one parameter: one of {names}")
    positions = []
    for item in items:
        if isinstance(item, numbers.Integral) and not isinstance(item, (bool, np.bool_)):
            item = int(item)  # a NumPy integer position (np.int64(1), from np.arange) is a position
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise WrtError(f"wrt must be a parameter position or name, got {item!r}", _function_location(func),
                           hint=f"use a position 0..{len(names) - 1} or one of {names}")
        if isinstance(item, str):
            if item not in names:
                raise WrtError(f"{func.__name__} has no parameter named {item!r}", _function_location(func),
                               hint=f"its parameters are {names}")
            positions.append(names.index(item))
        else:
            if not -len(names) <= item < len(names):
                raise WrtError(
                    f"wrt={item} is out of range: {func.__name__} takes {len(names)} parameter(s) {names}",
                    _function_location(func), hint=f"use a position 0..{len(names) - 1} or one of {names}")
            positions.append(item % len(names))
    if len(set(positions)) != len(positions):
        raise WrtError(f"wrt={wrt!r} names a parameter twice", _function_location(func),
                       hint="name each parameter once (a position and its name are the same parameter)")
    return tuple(positions), many


# ------------------------------------------------------------------ generated functions


class GeneratedFunction:
    """A generated derivative of a user function.

    Call it like the original function. ``.source`` is the Python it runs;
    ``.ir`` the IR it was generated from.
    """

    def __init__(self, func, source, kind, primal, wrt_names, ir_function, namespace, many=False):
        self._func = func
        self.source = source
        self.kind = kind
        self.primal = primal
        self.wrt = wrt_names
        self.ir = ir_function
        self.namespace = namespace
        self._wrt_positions = [_param_names(primal).index(p) for p in wrt_names]
        self._many = many
        self._plain_counts = _plain_counts(func, kind)
        self._guard = None  # true while what the code was built from is unchanged (s2sad.guards)
        self._rebuild = None
        self.__name__ = func.__name__
        self.__qualname__ = func.__name__
        self.__doc__ = f"The {kind} of {primal.__name__} with respect to {', '.join(wrt_names)} (generated by s2sad)."
        try:
            self.__signature__ = inspect.signature(func)
        except (TypeError, ValueError):  # pragma: no cover
            pass

    s2sad_generated = True  # lowering splices a call of generated code in (`program_for_calls`)
    _request = None  # the public call that made it, as a functools.partial (`remember_request`)

    def __reduce__(self):
        # Pickled as the request that made it (``s2sad.grad(f, wrt)``), made again where it is unpickled:
        # its compiled code is a closure that pickle cannot take, and `f` is pickled by reference, so
        # a process pool can run the derivative of a module-level function.
        if self._request is None:
            raise ArgumentError(
                f"{self!r} cannot be pickled: it was made inside s2sad (a specialized or spliced variant)",
                hint="pickle the function and make its derivative in the other process (s2sad.grad(f)), "
                "or write it to a module with s2sad.export")
        return self._request, ()

    def __copy__(self):
        return self  # a generated function never changes (it rebuilds itself when its program does)

    def __deepcopy__(self, memo):
        return self
    _splice_refusal = ""  # why a call of this function cannot be spliced into differentiated code

    def is_fresh(self) -> bool:
        """Whether what this code was built from is unchanged (its guard holds)."""
        try:
            return self._guard is None or bool(self._guard())
        except Exception:  # an emptied closure cell, a deleted attribute: it changed
            return False

    def program_for_calls(self, assumptions: list, location) -> "ir.Function":
        """The IR a call of this function inside a differentiated function is lowered to.

        Records in `assumptions` that the caller's derivative holds while this
        function is fresh and not rebuilt; refreshes it first if it is stale.
        ``s2sad.derivative`` of an array is its elementwise form, so the array
        form is what runs for both scalars and arrays.
        """
        target = self._for_arrays() if self._for_arrays is not None else self
        if target.ir is None or target._structures or target._splice_refusal:
            reason = target._splice_refusal or (
                f"it is a driver looping over generated code ({target.kind})" if target.ir is None
                else "it takes containers of arrays")
            raise S2SADError(f"s2sad cannot differentiate a call of the generated {target.__name__}: {reason}",
                             location, hint="call a generated grad, vjp, jvp or hvp, or differentiate the "
                             "original function instead")
        if not target.is_fresh():
            target._refresh()
        assumptions += [("attr", target, "ir", target.ir), ("fresh", target, "is_fresh", None)]
        # the data globals its code reads live are read as they are now, and the caller rebuilds when they change
        globs, live = target.live_data_globals()
        assumptions += [("global", globs, name, value) for name, value in live.items()]
        refs = {a: ir.Ref(a.path, live[a.path[0]]) for s in ir.walk(target.ir.body) for a in ir.uses(s)
                if isinstance(a, ir.Ref) and len(a.path) == 1 and a.path[0] in live}
        fn = target.ir
        return ir.Function(fn.name, fn.params, ir.substitute(fn.body, refs), refs.get(fn.result, fn.result),
                           fn.filename, fn.firstline, fn.doc, fn.exports, fn.result_loc) if refs else fn

    def live_data_globals(self) -> tuple:
        """``(module namespace, {name: current value})`` of the data globals of the user's module that
        this code reads live at each call (see `_live_globals`), rather than from its snapshot."""
        root = self.primal
        while isinstance(root, GeneratedFunction):
            root = root.primal
        globs = getattr(root, "__globals__", None)
        if globs is None or self.ir is None:
            return globs, {}
        names = {a.path[0] for s in ir.walk(self.ir.body) for a in ir.uses(s)
                 if isinstance(a, ir.Ref) and len(a.path) == 1}
        return globs, {name: globs[name] for name in sorted(names)
                       if name in globs and name not in self.namespace.bindings}

    # kinds whose generated function takes f's arguments then this many trailing ones (the seeds)
    _TRAILING = {"jvp": "wrt", "hvp": "wrt", "vjp": 1, "vjp_aux": 1}

    _dispatch = False  # set on the functions `_build` makes: they dispatch on containers
    _structures: dict = {}
    _checkpoint = None  # the checkpointing option it was built with (s2sad.checkpoint)

    def __call__(self, *args, **kwargs):
        # The common call (every argument positional and plain, see `_plain_arguments`) needs none of the
        # general path's work: no matrix, container or Dask argument, no defaults to bind, no float32 to
        # cast back. It still checks the staleness guard and makes differentiated ints floats.
        if not kwargs and len(args) in self._plain_counts:
            runs = self
            variants = self._variants
            if variants is not None:  # code specialized for the arguments' kinds and ranks (`_variant`)
                key = tuple([(a.shape, a.dtype) if a.__class__ is _NDARRAY else a.__class__ for a in args])
                seen = variants.get(key)
                if seen is not None:  # a key seen before, with plain arguments
                    runs, converts = seen
                    plain = _plain_arguments(args, self._wrt_positions) if converts else args
                else:
                    plain = _plain_arguments(args, self._wrt_positions)
                    runs = self._variant(key, plain, plain is not args) if plain is not None else self
            else:
                plain = _plain_arguments(args, self._wrt_positions)
            guard = self._guard
            if plain is not None and guard is not None:
                try:
                    fresh = guard()
                except Exception:  # an emptied closure cell: the general path rebuilds
                    fresh = False
                if not fresh:
                    plain = None
            if plain is not None:
                try:
                    return runs._func(*plain)
                except S2SADError:
                    raise
                except Exception as exc:
                    primal_args, primal_kwargs = (self._primal_arguments(args) if self.kind in self._TRAILING
                                                  else (args, kwargs))
                    error = runs._call_failure(exc, primal_args, primal_kwargs)
                raise error  # outside the handler: a user's own error is not chained to s2sad's attempt
        return self._call_general(args, kwargs)

    # ------------------------------------------------------------ shape specialization

    _variants = None  # call key -> the GeneratedFunction that runs for it (`_build` turns it on)
    _SPECIALIZED_KINDS = ("grad", "value_and_grad")
    _MAX_VARIANTS = 256  # call keys remembered (a key holds exact shapes; the code is per signature)

    def _variant(self, key, plain, converts):
        """The derivative specialized for arguments like `plain` (the call's arguments made plain by
        `_plain_arguments`), built once per signature (`s2sad.shapes.signature`: kinds, dtypes, ranks,
        axes of length 1 and equal sizes); this one when specializing gains nothing. The call key
        `key` (exact types, shapes and dtypes) leads to it from now on, with `converts` (ints made floats)."""
        variant = self._for_signature(abstract_signature(plain))
        if len(self._variants) < self._MAX_VARIANTS:
            self._variants[key] = (variant, converts)
        return variant

    def _for_signature(self, shapes):
        by_signature = self._by_signature
        variant = by_signature.get(shapes)
        if variant is None:
            try:
                variant = _build(self.primal, self.kind, tuple(self._wrt_positions), self._many, None, self._checkpoint,
                                 shapes)
            except Exception as exc:  # the generic code still serves: specializing is an optimization only
                if _strict_specializing(exc):
                    raise
                variant = self
            if variant is not self and variant.source == self.source:
                variant = self  # nothing to specialize: keep one compiled function
            by_signature[shapes] = variant
        return variant

    def for_shapes(self, *args):
        """The derivative this one runs for arguments like `args` (f's own arguments): code specialized
        for their kinds (float, int, array), dtypes, ranks, axes of length 1 and equal sizes, which drops
        the helpers that do nothing for them. Arguments it does not specialize for (keywords, containers,
        float32 ...) give the generic derivative.

        Example:
            >>> import numpy as np, s2sad
            >>> def f(x):
            ...     return np.sum(x * x)
            >>> print(s2sad.grad(f).for_shapes(np.ones(3)).source)  # doctest: +NORMALIZE_WHITESPACE
            def grad_f(x):
                # reverse sweep
                # line 2: return np.sum(x * x)
                x_bar = x + x
                return x_bar
            <BLANKLINE>
        """
        if self._variants is None or len(args) not in self._plain_counts:
            return self
        plain = _plain_arguments(args, self._wrt_positions)
        return self if plain is None else self._for_signature(abstract_signature(plain))

    def _call_general(self, args, kwargs):
        """Any call: refreshes a stale derivative, refuses what it cannot differentiate, dispatches on
        containers, binds defaults and seeds, makes differentiated arguments real, casts gradients back."""
        if self._guard is not None:
            try:
                fresh = self._guard()
            except Exception:  # an emptied closure cell, a deleted attribute: it changed
                fresh = False
            if not fresh:
                self._refresh()
        _refuse_array_subclasses(self.primal, args, kwargs)
        if self._dispatch and not self._structures and self.kind in self._STRUCTURED_KINDS:
            structures = self._argument_structures(args, kwargs)
            if structures:
                return self._for_structures(structures)(*args, **kwargs)
        if kwargs and self._variants is not None:  # grad(f)(x, w=w): by position, the code for the shapes too
            positional = _as_positional(self.primal, args, kwargs)
            if positional is not None:
                return self(*positional)
        trailing = self._TRAILING.get(self.kind)
        primal_args, primal_kwargs = args, kwargs
        if trailing is not None:
            args, kwargs = self._with_defaults(args, kwargs, len(self.wrt) if trailing == "wrt" else trailing)
            primal_args, primal_kwargs = self._primal_arguments(args)
        if self.kind.startswith("derivative"):
            if self._for_arrays is not None and self._array_arguments(args, kwargs):
                return self._for_arrays()(*args, **kwargs)  # s2sad.derivative of an array: along all ones
            self._check_scalar_arguments(args, kwargs)
        if self._wrt_positions:
            args = list(args)
            name_of = _param_names(self.primal)
            real = lambda value, pos: (self._real_leaves(value, pos) if name_of[pos] in self._structures  # noqa: E731
                                       else _as_real(value, self.primal, pos))
            for pos in self._wrt_positions:
                if pos < len(args):
                    args[pos] = real(args[pos], pos)
            for pos in self._wrt_positions:
                name = name_of[pos]
                if name in kwargs:
                    kwargs[name] = real(kwargs[name], pos)
        error = None
        try:
            with computes_refused((args, kwargs), self.primal):  # Dask arguments: no hidden compute
                result = self._func(*args, **kwargs)
        except S2SADError:
            raise
        except Exception as exc:
            error = self._call_failure(exc, primal_args, primal_kwargs)
        if error is not None:
            raise error  # outside the handler, so s2sad's failed attempt is not chained to a user's own error
        if self.kind in ("grad", "value_and_grad", "vjp"):
            result = self._match_dtypes(result, args, kwargs)
        return result

    def _call_failure(self, exc, primal_args, primal_kwargs) -> BaseException:
        """The exception a call raises when the generated code raised `exc` (caught in the frame that
        called ``self._func``), with its cause set as ``raise ... from`` would set it."""
        if isinstance(exc, ValueError) and str(exc) == runtime.LIST_CONCATENATION:
            return _caused(ArgumentError(f"{self.primal.__name__}: {exc}", _function_location(self.primal),
                                         hint="make the lists inside the function, or pass arrays"), None)
        if isinstance(exc, TypeError) and exc.__traceback__ is not None and exc.__traceback__.tb_next is None:
            return _caused(ArgumentError(f"{self.__name__}{self.__signature__}: {exc}".replace(  # the call: arity
                "__s2sad_factory__.<locals>.", ""), _function_location(self.primal),
                hint="pass the arguments the signature shows"), None)
        failure = self._failure(exc, primal_args, primal_kwargs)
        if not is_users_own(failure):
            return _caused(failure, exc)
        return failure

    def _failure(self, exc, primal_args, primal_kwargs):
        """What to raise when the generated code raised `exc`: the user's own exception if their
        function fails on these arguments too, else an S2SADError at the line behind the failure."""
        # (also when `exc` is the user's own error from a generated function this one calls, as a
        # Hessian calls hvp: that one ran f on arguments converted by s2sad, this one has the originals)
        own, value = users_own_error(self.primal, primal_args, primal_kwargs, exc)
        if own is not None:
            return own
        where = failing_location(exc, self._func.__code__.co_filename, self.ir, self.primal)
        return derivative_failure(exc, self.kind, self.primal, where or _function_location(self.primal), value)

    _for_arrays = None  # derivative<n>: makes the generated function for array arguments (s2sad.derivatives)

    def _array_arguments(self, args, kwargs) -> bool:
        """Whether a differentiated argument is an array (of any dimension but 0)."""
        names = _param_names(self.primal)
        values = [args[p] if p < len(args) else kwargs.get(names[p]) for p in self._wrt_positions]
        return any(isinstance(v, np.ndarray) and v.ndim > 0 for v in values)

    def _check_scalar_arguments(self, args, kwargs):
        names = _param_names(self.primal)
        for pos in self._wrt_positions:
            value = args[pos] if pos < len(args) else kwargs.get(names[pos])
            try:
                scalar = np.ndim(value) == 0 or isinstance(value, (str, bytes))
            except ValueError:  # a ragged list
                scalar = False
            if not scalar:
                raise ArgumentError(f"s2sad.derivative differentiates with respect to a scalar, but argument {pos} "
                                    f"of {self.primal.__name__} is {type(value).__name__} {value!r:.40}",
                                    _function_location(self.primal),
                                    hint="pass an np.ndarray for the elementwise derivative, or use s2sad.jacobian "
                                    "or s2sad.hessian")

    def _primal_arguments(self, args):
        """f's arguments out of the arguments of a jvp/vjp/hvp (f's, in order, then the seeds)."""
        params = list(_signatures(self.primal)[1].parameters.values())
        positional = [a for p, a in zip(params, args) if p.kind is not p.KEYWORD_ONLY]
        keywords = {p.name: a for p, a in zip(params, args) if p.kind is p.KEYWORD_ONLY}
        return positional, keywords

    def _refresh(self):
        """Rebuild from the program as it is now (a helper, closure value, default or global changed)."""
        new = self._rebuild()
        self._func, self.source, self.ir, self.namespace = new._func, new.source, new.ir, new.namespace
        self._guard, self._rebuild = new._guard, new._rebuild
        self._plain_counts = new._plain_counts
        if self._variants is not None:  # the specialized code was built from the old program
            self._variants, self._by_signature = {}, {}
        self.__signature__ = getattr(new, "__signature__", None)

    def _with_defaults(self, args, kwargs, n_trailing):
        """``jvp(f)(x, v)`` for ``f(x, scale=2.0)``: the last `n_trailing` positional values are the
        seeds (tangents or cotangent); f's own arguments take their defaults and keywords as in f."""
        params = list(_signatures(self.primal)[1].parameters.values())
        if not kwargs and len(args) == len(params) + n_trailing:
            primal_args, seeds = list(args[: len(params)]), list(args[len(params):])
        else:
            if len(args) < n_trailing:
                raise ArgumentError(f"{self.__name__} takes {self.primal.__name__}'s arguments and then "
                                    f"{n_trailing} more", _function_location(self.primal),
                                    hint=_seeds_hint(self.kind, n_trailing))
            primal_args, seeds = list(args[: len(args) - n_trailing]), list(args[len(args) - n_trailing:])
            own = {k: v for k, v in kwargs.items() if k in {p.name for p in params}}
            extra = {k: v for k, v in kwargs.items() if k not in own}
            try:
                bound = _signatures(self.primal)[1].bind(*primal_args, **own)
            except TypeError as exc:
                raise ArgumentError(
                    f"{self.__name__} takes the arguments of {self.primal.__name__}{signature(self.primal)} "
                    f"and then {n_trailing} more ({'a tangent for each of ' + ', '.join(self.wrt) if self.kind != 'vjp' else 'the cotangent of the output'}): {exc}",
                    _function_location(self.primal), hint=_seeds_hint(self.kind, n_trailing)) from None
            bound.apply_defaults()
            primal_args = [bound.arguments[p.name] for p in params]
            kwargs = extra
        if self.kind in ("jvp", "hvp"):  # a tangent given as a list of numbers is a vector
            seeds = [np.asarray(v, dtype=np.float64) if isinstance(v, list) and v
                     and all(isinstance(e, numbers.Real) for e in v) else v for v in seeds]
        if self.kind in ("jvp", "hvp"):
            seeds = list(seeds)
            for k, (pos, tangent) in enumerate(zip(self._wrt_positions, seeds)):
                if is_structured(primal_args[pos]):  # a dict's tangent may list its keys in another order
                    seeds[k] = tangent = in_order(tangent, primal_args[pos])
                self._check_tangent(_param_names(self.primal)[pos], tangent, primal_args[pos])
        return tuple(primal_args) + tuple(seeds), kwargs

    def _check_tangent(self, name, tangent, primal):
        """A tangent has its argument's structure (containers, keys) and each leaf its leaf's shape."""
        hint = "give one tangent per differentiated argument, with that argument's structure and shapes"
        try:
            tangent_leaves, tangent_tree = flatten(tangent, top=not is_structured(primal))
            primal_leaves, primal_tree = flatten(primal)
        except StructureError as exc:
            raise ArgumentError(f"the tangent for {name}: {exc}", _function_location(self.primal), hint=hint) from None
        if tangent_tree != primal_tree:
            raise ArgumentError(f"the tangent for {name} has the structure {tangent_tree.describe()}, but {name} has "
                                f"{primal_tree.describe()}", _function_location(self.primal), hint=hint)
        for t, x in zip(tangent_leaves, primal_leaves):
            try:
                same = np.shape(t) == np.shape(x)
            except ValueError:  # a ragged list: no shape at all
                same = False
            if not same:
                shape = "a ragged shape" if not same and _ragged(t) else f"shape {np.shape(t)}"
                raise ArgumentError(f"the tangent for {name} has {shape}, but {name} has shape {np.shape(x)}",
                                    _function_location(self.primal), hint=hint)

    # ------------------------------------------------------------ containers

    _STRUCTURED_KINDS = ("grad", "value_and_grad", "vjp", "jvp", "hvp", "grad_aux", "value_and_grad_aux", "vjp_aux")

    def cost(self, *args, **kwargs):
        """Run this derivative once with its tape measured, and time it against the function.

        Args:
            *args, **kwargs: arguments, as for a call.

        Returns:
            A :class:`s2sad.cost.Cost` report (print it, or read its fields): the tape's bytes, for
            each loop that saves values the names it pushes per iteration, their count and bytes,
            the time of the derivative against the function's, and a one-line hint.

        Example:
            >>> import numpy as np, s2sad
            >>> def loop(x):
            ...     s = 0.0
            ...     for i in range(1000):
            ...         s = np.sin(s) * x + 1.0
            ...     return s
            >>> report = s2sad.grad(loop).cost(0.5)
            >>> report.loops[0].names, report.loops[0].iterations
            (['s', 't2'], 1000)
            >>> print(report)  # doctest: +SKIP
            tape: 17.0 kB at most, 2000 values pushed
            time: function 263 us, derivative 1.05 ms = 4.0x the function (cheap-gradient bound: 4x)
              line 4: for i in range(1000):
                saves 2 per iteration (s, t2): 1000 iterations, 17.0 kB, 17 bytes per iteration
            hint: loop at line 4 stores 2 values per iteration (17 bytes), 17.0 MB for 1e6 iterations: ...
        """
        generated = self.specialize(*args, **kwargs) if self.kind in self._STRUCTURED_KINDS else self
        if kwargs and generated._variants is not None:  # keywords in order run as a positional call does
            positional = _as_positional(self.primal, args, kwargs)
            if positional is not None:
                args, kwargs = positional, {}
        if not kwargs:
            generated = generated.for_shapes(*args)  # the code a call with these arguments runs
        primal_args, primal_kwargs = (self._primal_arguments(args) if self.kind in self._TRAILING
                                      else (args, kwargs))
        return measure_cost(generated, args, kwargs, primal_args, primal_kwargs, self._checkpoint is not None,
                            can_checkpoint=self.kind in ("grad", "value_and_grad", "grad_aux", "value_and_grad_aux"),
                            kind=self.kind)

    def specialize(self, *args, **kwargs):
        """The derivative for arguments structured like these: f's own arguments, without tangents or
        cotangent. For containers it is code generated for their structure; its ``.source`` shows it.

        Example:
            >>> import numpy as np, s2sad
            >>> def loss(p):
            ...     return np.sum(p["w"] ** 2) + p["b"]
            >>> print(s2sad.grad(loss).specialize({"w": np.ones(2), "b": 0.5}).source)  # doctest: +SKIP
        """
        if not self._dispatch or self._structures or self.kind not in self._STRUCTURED_KINDS:
            return self
        structures = self._argument_structures(args, kwargs, with_seeds=False)
        return self._for_structures(structures) if structures else self

    def _argument_structures(self, args, kwargs, with_seeds=True) -> dict:
        """``{name: pytree.Tree}`` of the differentiated arguments passed as containers."""
        trailing = self._TRAILING.get(self.kind) if with_seeds else None
        primal = self.primal
        if not (_signatures(primal)[4] or any(map(is_structured, args)) or any(map(is_structured, kwargs.values()))):
            return {}  # no container among the arguments or defaults: binding them (~4 µs) would find none
        try:
            if trailing is not None:
                n = len(self.wrt) if trailing == "wrt" else trailing
                primal_args = list(args[: len(args) - n]) if len(args) >= n else []
                names = set(_param_names(primal))
                own = {k: v for k, v in kwargs.items() if k in names}
                bound = _signatures(primal)[2].bind(*primal_args, **own)
            else:
                bound = _signatures(primal)[2].bind(*args, **kwargs)
        except TypeError:
            return {}  # the ordinary call reports the wrong arguments
        bound.apply_defaults()
        structures = {}
        for pos in self._wrt_positions:
            name = _param_names(primal)[pos]
            value = bound.arguments.get(name)
            if is_structured(value):
                try:
                    structures[name] = flatten(value)[1]
                except StructureError as exc:
                    raise ArgumentError(f"argument {name} of {primal.__name__}: {exc}", _function_location(primal),
                                        hint="use string keys") from None
        return structures

    def _for_structures(self, structures):
        """The derivative generated for arguments with these structures (built once, then cached)."""
        positions = tuple(self._wrt_positions)
        key = ("structured", self.kind, positions, self._many, registry.generation(), tuple(sorted(structures.items(),
                                                                                                 key=lambda kv: kv[0])))
        if self._checkpoint is not None:
            key += (self._checkpoint,)
        return _cached(self.primal, key, lambda: _build(self.primal, self.kind, positions, self._many, structures,
                                                        self._checkpoint))

    def _real_leaves(self, value, pos):
        leaves, tree = flatten(value)
        return unflatten(tree, [_as_real(leaf, self.primal, pos, top=False) for leaf in leaves])

    def _match_dtypes(self, result, args, kwargs):
        """A float32 (or float16) argument gets a gradient of its own dtype, as it would in JAX.

        NumPy promotes float32 to float64 when it meets a float64 constant (an
        ``np.eye`` in the function, say); the gradient is cast back at the end.
        """
        inputs = [args[p] if p < len(args) else kwargs.get(_param_names(self.primal)[p]) for p in self._wrt_positions]
        if all(type(x) in _NEVER_CAST or (type(x) is np.ndarray and x.dtype == _FLOAT64) for x in inputs):
            return result  # float64 and Python numbers: nothing to cast back (flattening them costs ~2 µs)

        def is_array(v):  # a NumPy array or scalar, or a lazy (Dask) array
            return isinstance(v, (np.ndarray, np.floating)) or runtime._is_lazy_array(v)

        if not any(is_array(x) and x.dtype in (np.float32, np.float16) for i in inputs for x in flatten(i)[0]):
            return result

        def cast_leaf(g, x):
            if is_array(x) and x.dtype in (np.float32, np.float16) and is_array(g) and g.dtype != x.dtype:
                return g.astype(x.dtype)
            return g

        def cast(g, x):  # a container's gradient has its structure: cast leaf by leaf
            if not is_structured(x):
                return cast_leaf(g, x)
            g_leaves, tree = flatten(g)
            return unflatten(tree, [cast_leaf(a, b) for a, b in zip(g_leaves, flatten(x)[0])])

        if self.kind == "value_and_grad":
            value, grads = result
            return value, self._cast_grads(grads, inputs, cast)
        return self._cast_grads(result, inputs, cast)

    def _cast_grads(self, grads, inputs, cast):
        if isinstance(grads, tuple) and self._many:
            return tuple(cast(g, x) for g, x in zip(grads, inputs))
        return cast(grads, inputs[0])

    def __repr__(self) -> str:
        params = ", ".join(_param_names(self.primal))
        return (f"<s2sad {self.kind} of {self.primal.__name__}({params}) with respect to "
                f"{', '.join(self.wrt)}; print(.source) to read it>")


def _strict_specializing(exc: BaseException) -> bool:
    """Whether a failure to specialize is raised rather than served by the generic code: an s2sad
    bug (a broken IR, an internal error) while the test suite verifies every pass, which is what
    turns a wrongly specialized program into an IRError there; the user keeps the fallback."""
    return bool(os.environ.get("S2SAD_VERIFY_PASSES")) and isinstance(exc, (ir.IRError, InternalError))


def _seeds_hint(kind: str, n_trailing: int) -> str:
    """What to pass after the function's own arguments to a jvp, hvp or vjp."""
    if kind == "vjp":
        return "pass all of the function's arguments, then one cotangent shaped like its output"
    return (f"pass all of the function's arguments, then {n_trailing} tangent(s), each shaped like "
            "its differentiated argument")


def _caused(error: BaseException, cause) -> BaseException:
    """`error` as ``raise error from cause`` raises it (``cause`` None: ``from None``)."""
    error.__cause__ = cause
    error.__suppress_context__ = True
    return error


# The kinds whose generated function takes exactly the arguments it is called with (f's, then for a vjp
# the cotangent): a jvp/hvp checks its tangents, a `derivative` its scalars, other kinds wrap code.
_PLAIN_KINDS = frozenset({"grad", "value_and_grad", "grad_aux", "value_and_grad_aux", "vjp", "vjp_aux"})
# Exact types, not isinstance: an np.matrix (whose `*` is a matrix product), another ndarray subclass,
# a bool, a container or a Dask array is not plain and takes the general path.
_PLAIN_TYPES = frozenset({float, int, np.float64, np.ndarray})
_REAL_SCALARS = frozenset({float, np.float64, np.float32, np.float16, np.longdouble})
_NEVER_CAST = frozenset({float, int, np.float64, type(None)})  # inputs whose gradient `_match_dtypes` keeps
_FLOAT64 = np.dtype(np.float64)
_NDARRAY = np.ndarray


def _plain_counts(func, kind) -> range:
    """How many positional arguments a call may pass to take the plain path: all of the compiled
    function's parameters, or (grad, value_and_grad) all but some with defaults, which the compiled
    function fills in as the general path lets it; none for other kinds or signatures with *args,
    **kwargs or keyword-only parameters."""
    if kind not in _PLAIN_KINDS or type(func) is not types.FunctionType:
        return range(0)
    code = func.__code__
    if code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS) or code.co_kwonlyargcount:
        return range(0)
    if kind in GeneratedFunction._TRAILING:  # the seed comes last: only a full call says which it is
        return range(code.co_argcount, code.co_argcount + 1)
    return range(code.co_argcount - len(func.__defaults__ or ()), code.co_argcount + 1)


def _plain_arguments(args: tuple, wrt_positions) -> tuple | None:
    """`args` as the generated code takes them, if the general path would pass them on unchanged but
    for ints made floats; None if it has more to decide.

    Plain means: every argument is exactly a float, int, np.float64 or ndarray, and each differentiated
    ndarray has dtype float64 (an int or complex array, or a float32 one whose gradient is cast back,
    goes the general way). Mirrors `_as_real` for those types.

    Example:
        >>> _plain_arguments((2, 3), [0])
        (2.0, 3)
        >>> _plain_arguments((np.asmatrix([[1.0]]),), [0]) is None
        True
    """
    for value in args:
        if type(value) not in _PLAIN_TYPES:
            return None
    converted = None
    for pos in wrt_positions:
        if pos >= len(args):  # left to its default, as the general path leaves it
            continue
        value = args[pos]
        kind = type(value)
        if kind is np.ndarray:
            if value.dtype is not _FLOAT64:  # also a non-native byte order: the general path decides
                return None
        elif kind is int:
            if abs(value) > sys.float_info.max:  # `_as_real` refuses it, naming the digits
                return None
            if converted is None:
                converted = list(args)
            converted[pos] = float(value)
    return args if converted is None else tuple(converted)


def _as_positional(func, args, kwargs) -> tuple | None:
    """A call's arguments all by position, when its keywords name `func`'s parameters in order up to
    the last one given (``f(x, w=w)``, ``f(x=x)``); None otherwise (a keyword-only parameter, one left
    to its default before one given, a name `func` lacks), for the general path to bind or refuse.

    Example:
        >>> def f(x, w=2.0, *, k=1):
        ...     return x * w * k
        >>> _as_positional(f, (1.0,), {"w": 3.0}), _as_positional(f, (), {"x": 1.0, "k": 2})
        ((1.0, 3.0), None)
    """
    try:
        bound = _signatures(func)[1].bind(*args, **kwargs)
    except TypeError:
        return None
    return None if bound.kwargs else bound.args


def _refuse_matrix(func):
    # `*` and `**` are matrix operations on np.matrix, so rules written for arrays would be wrong
    raise ArgumentError(f"{func.__name__} was called with an np.matrix, whose `*` is a matrix product; "
                        "s2sad differentiates ndarray code", _function_location(func),
                        hint="pass np.asarray(m) instead (and write @ for matrix products)")


def _refuse_masked(func):
    # np.mean of a masked array divides by the count of unmasked entries and np.log masks a negative
    # entry, so rules written for arrays (mean's adjoint g / x.size, log's g / x) would be silently wrong
    raise ArgumentError(f"{func.__name__} was called with a masked array (np.ma), whose operations skip "
                        "masked entries; s2sad differentiates ndarray code", _function_location(func),
                        hint="pass m.filled(value) or m.data with a separate boolean mask, and write the "
                        "masking with np.where")


def _refuse_array_subclasses(func, args, kwargs):
    """Refuses a call passing an np.matrix or a masked array (at the top level of an argument), whose
    operators mean something else than ndarray's: the derivative rules would be wrong for them."""
    for value in itertools.chain(args, kwargs.values()) if kwargs else args:
        if isinstance(value, np.ndarray) and type(value) is not np.ndarray:
            if isinstance(value, np.matrix):
                _refuse_matrix(func)
            if isinstance(value, np.ma.MaskedArray):
                _refuse_masked(func)


class _Deferred(GeneratedFunction):
    """The derivative of a function that reads its arguments as containers (``p.W``): built when it is
    called with containers; called with arrays, or asked for its source, it raises the error it met."""

    def __init__(self, func, kind, wrt_names, many, error):
        super().__init__(self._refuse, "", kind, func, wrt_names, None, None, many)
        self._error = error
        self._dispatch = True

    def _refuse(self, *args, **kwargs):
        raise self._error.with_traceback(None)

    @property
    def source(self):
        error = self._error
        if isinstance(error, UnsupportedCodeError):  # several missing rules: the hint goes with the first
            error = error.problems[0]
        hint = (error.hint + "\n" if error.hint else "") + (
            "if the argument is a container (a dict, list, tuple or namedtuple), the code is generated for its "
            f"structure: read it with s2sad.{self.kind}(f).specialize(<arguments>).source")
        raise type(error)(error.message, error.location, hint=hint)

    @source.setter
    def source(self, value):
        pass


def _ragged(value) -> bool:
    try:
        np.shape(value)
    except ValueError:
        return True
    return False


def _refuse_sequence_use(value, func, pos):
    """A list or tuple of numbers is differentiated as a vector: refuse it where `func` uses it as a
    list or tuple (``x + x`` joins, an array would add), which would differentiate another function."""
    found = sequence_uses.sequence_use(func, pos)
    if found:
        parsed, node = found
        kind = type(value).__name__
        raise ArgumentError(
            f"argument {pos} of {func.__name__} is a {kind} of numbers, which s2sad differentiates as the vector "
            f"np.asarray(...), but {parsed.name} uses it here as a {kind} (+ joins, * repeats, == compares whole "
            f"{kind}s, methods and isinstance see the {kind}): the derivative would be another function's",
            parsed.location(node), hint=f"pass np.asarray(...) and write the function for an array, or pass the "
            "numbers as separate arguments")


def _as_real(value, func, pos, top=True):
    """Differentiable arguments are real numbers: ints become floats; other types are refused.
    `top`: `value` is the argument itself, not a leaf of a container argument."""
    if isinstance(value, bool):
        raise ArgumentError(f"argument {pos} of {func.__name__} is a bool, which has no derivative",
                            _function_location(func), hint="pass a float or a float array")
    if isinstance(value, numbers.Integral):
        if abs(value) > sys.float_info.max:  # float(10**400) would raise OverflowError
            raise ArgumentError(f"argument {pos} of {func.__name__} is an int too large for a float "
                                f"({len(str(abs(value)))} digits), so it has no derivative", _function_location(func),
                                hint="pass a float within the float64 range (about 1.8e308)")
        return float(value)
    if isinstance(value, (float, np.floating)):
        return value
    if isinstance(value, complex) or (isinstance(value, (np.ndarray, np.generic)) and np.iscomplexobj(value)):
        raise ArgumentError(f"argument {pos} of {func.__name__} is complex; s2sad differentiates real functions",
                            _function_location(func), hint="split it into real and imaginary parts")
    if isinstance(value, np.matrix):
        _refuse_matrix(func)
    if isinstance(value, np.ma.MaskedArray):
        _refuse_masked(func)
    if isinstance(value, np.ndarray) or runtime._is_lazy_array(value):  # a Dask array stays lazy: dtype only
        if np.issubdtype(value.dtype, np.complexfloating):
            raise ArgumentError(f"argument {pos} of {func.__name__} is complex; s2sad differentiates real "
                                "functions", _function_location(func), hint="split it into real and imaginary parts")
        if np.issubdtype(value.dtype, np.integer) or value.dtype == np.bool_:
            return value.astype(np.float64)
        if np.issubdtype(value.dtype, np.floating):
            return value
        raise ArgumentError(
            f"argument {pos} of {func.__name__} is an array of dtype {value.dtype}, which has no derivative",
            _function_location(func), hint="pass a float array")
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value):
            if top:
                _refuse_sequence_use(value, func, pos)
            return np.asarray(value, dtype=np.float64)  # a list of numbers is a vector
        return value
    if isinstance(value, np.generic) and np.issubdtype(value.dtype, np.integer):
        return float(value)
    if isinstance(value, np.generic) and not np.issubdtype(value.dtype, np.floating):
        raise ArgumentError(f"argument {pos} of {func.__name__} is a NumPy {value.dtype} scalar, which has no "
                            "derivative", _function_location(func), hint="pass a float or a float array")
    if isinstance(value, (dict, list, tuple)):  # a container where this derivative takes an array
        raise ArgumentError(
            f"argument {pos} of {func.__name__} is a {type(value).__name__} of arrays or numbers; the Hessian, "
            "Jacobian, Laplacian, divergence, curl, derivative() and grad of a gradient take arrays and numbers",
            _function_location(func),
            hint="grad, value_and_grad, jvp, vjp and hvp take containers (hvp with a tangent of the same structure "
            "gives the Hessian's products); or pass the leaves as separate array arguments")
    if isinstance(value, (str, bytes)) or value is None or not isinstance(value, (np.ndarray, np.generic)):
        raise ArgumentError(
            f"argument {pos} of {func.__name__} is {type(value).__name__!s} {value!r:.40}, which has no derivative",
            _function_location(func),
            hint="differentiate with respect to float (array) arguments only; pass other arguments as they are "
            "and leave them out of wrt",
        )
    return value


# ------------------------------------------------------------------ the pipeline

_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _cached(func, key, build):
    per_function = _CACHE.setdefault(func, {})
    if key not in per_function:
        per_function[key] = build()
    return per_function[key]


def _scalar_seed_for(func, location):
    def scalar_seed(y):
        if type(y) in _REAL_SCALARS:  # a real number: nothing to refuse (the checks below cost ~2 µs)
            return runtime.scalar_seed(y)
        lazy = runtime._is_lazy_array(y)  # a 0-d Dask array (np.mean of one) is a scalar too
        if not (isinstance(y, (numbers.Real, np.ndarray, np.generic)) or lazy) or (
            isinstance(y, (np.ndarray, np.generic)) and not np.issubdtype(np.asarray(y).dtype, np.number)
        ) or (lazy and not np.issubdtype(y.dtype, np.number)):
            raise NonScalarOutputError(
                f"grad needs {func.__name__} to return a real number, but it returned {type(y).__name__} {y!r:.40}",
                location,
                hint="return the scalar loss you want to differentiate",
            )
        if np.ndim(y) != 0:
            raise NonScalarOutputError(
                f"grad needs {func.__name__} to return a scalar, but it returned an array of shape {np.shape(y)}",
                location,
                hint="use s2sad.vjp (with a cotangent of that shape) or s2sad.jacobian, or reduce the output, "
                "e.g. return loss.sum()",
            )
        return runtime.scalar_seed(y)

    return scalar_seed


def remember_request(generated, operator, *args, **options):
    """`generated`, which ``operator(*args, **options)`` (a public s2sad function) returned, remembers that
    request for pickling (the first one that made it: equal requests share one cached object).

    Example:
        >>> def f(x):
        ...     return x
        >>> g = GeneratedFunction(f, "", "grad", f, [], None, None)
        >>> remember_request(g, max, 1, 2)._request()
        2
    """
    if isinstance(generated, GeneratedFunction) and generated._request is None:
        generated._request = functools.partial(operator, *args, **options)
    return generated


def build(func, kind: str, wrt=0, checkpoint=None):
    """Run the pipeline and compile. Cached per function, kind, wrt and checkpointing option."""
    try:  # the fast path: this exact request was answered before
        return _CACHE[func][("request", kind, wrt, registry.generation(), checkpoint)]
    except (KeyError, TypeError):
        pass
    check_option(checkpoint)
    generated = _build_cached(func, kind, wrt, checkpoint)
    try:
        _CACHE.setdefault(func, {})[("request", kind, wrt, registry.generation(), checkpoint)] = generated
    except TypeError:  # unhashable wrt (a list) or a function that cannot be weakly referenced
        pass
    return generated


def _build_cached(func, kind: str, wrt=0, checkpoint=None):
    func = unwrap(func)
    if not inspect.isfunction(func):
        parse_function(func)  # raises SourceUnavailableError saying what was passed
    positions, many = resolve_wrt(func, wrt)
    key = (kind, positions, many, registry.generation()) + ((checkpoint,) if checkpoint is not None else ())
    return _cached(func, key, lambda: _build_or_defer(func, kind, positions, many, checkpoint))


def _build_or_defer(func, kind, positions, many, checkpoint=None):
    """`_build`, except that a missing rule for an attribute or method (``p.W``, ``d.items()``) may be a
    container's: then the error waits for the call, which refuses arrays and rebuilds for containers."""
    try:
        return _build(func, kind, positions, many, checkpoint=checkpoint)
    except (NoDerivativeError, UnsupportedCodeError) as exc:
        missing_rules = getattr(exc, "problems", [exc])  # one call without a rule, or several listed
        if kind not in GeneratedFunction._STRUCTURED_KINDS or not all(
                isinstance(p, NoDerivativeError) for p in missing_rules):
            raise
        names = _param_names(func)
        deferred = _Deferred(func, kind, [names[i] for i in positions], many, exc)
        deferred._checkpoint = checkpoint
        return deferred


@transforming()
def _build(func, kind, positions, many, structures=None, checkpoint=None, shapes=None):
    """`shapes`: the abstract values of the arguments (`s2sad.shapes.signature`) the code is
    specialized for (`s2sad.specialize`); None for code that serves any arguments."""
    # (rebuild: when a guard fails)
    rebuild = functools.partial(_build, func, kind, positions, many, structures, checkpoint, shapes)
    try:
        # dead values (a loop-carried name never read after the loop) go first: they must not
        # look like readers of an array updated in place
        parsed = parse_function(func)
        primal = guard_inplace_updates(simplify(lower_function(parsed, structures=structures)))
        if shapes is not None:
            shapes = tuple(shapes) + tuple(  # the parameters left to their defaults: a literal's kind
                of_value(p.default.value, {}) if isinstance(p.default, ir.Const) else UNKNOWN
                for p in primal.params[len(shapes):])
            primal = specialize_primal(primal, shapes)
        if structures:  # differentiate leaf by leaf; `with_containers` puts the containers back
            names = _param_names(func)
            wrt_names = [names[i] for i in positions]
            user_positions, user_many = positions, many
            positions, many = leaf_positions(names, structures, positions), True
        else:
            names = [p.var.name for p in primal.params]
            wrt_names = [names[i] for i in positions]
        if kind in ("grad", "value_and_grad"):
            adjoint = reverse_function(primal, list(positions), seed="scalar",
                                       return_value=(kind == "value_and_grad"),
                                       name=f"{kind}_{_safe_name(func)}", tuple_grads=many)
        elif kind == "vjp":
            adjoint = reverse_function(primal, list(positions), seed="param", name=f"vjp_{_safe_name(func)}",
                                       tuple_grads=many)
        else:  # forward mode and higher order (s2sad.derivatives)
            adjoint = build_ir(primal, kind, list(positions), many, _safe_name(func))
        adjoint = simplify(checkpoint_loops(adjoint, checkpoint))
        if shapes is not None and [p.var for p in adjoint.params] == [p.var for p in primal.params]:
            adjoint = simplify(specialize_adjoint(adjoint, shapes))
            # again: a helper made an identity above lets the next one's readers be seen through it
            adjoint = simplify(specialize_adjoint(adjoint, shapes))
            adjoint = tidy(simplify(outer_products_as_matmul(adjoint, shapes)), shapes)
            adjoint = simplify(recompute_saves(simplify(drop_unread_saves(adjoint)), shapes))
            adjoint = float_tapes(adjoint, shapes)  # 8 bytes a float64 scalar
        if structures:
            adjoint = simplify(with_containers(adjoint, kind, _param_names(func), structures, user_positions,
                                               user_many))
            many = user_many
        source, namespace = to_module_source(adjoint)
        namespace = _with_runtime(namespace, func, primal.result_loc)
        snapshot = set(namespace.bindings)
        live = _live_globals(func, namespace)
        with warnings.catch_warnings():
            if kind.startswith("derivative"):
                # its seed is the number 1.0: code indexing the argument (`1.0[i]`, made for an array, which
                # calls the elementwise variant instead) would warn the user at compile time
                warnings.simplefilter("ignore", SyntaxWarning)
            compiled = compile_function(source, adjoint.name, namespace, live_globals=live,
                                        filename=f"<s2sad {kind} of {func.__qualname__}>")
        assumptions = parsed.assumptions + attribute_assumptions(primal)  # `mylib.act` rebound: rebuild
        guard = make_guard(live_assumptions(assumptions, live, snapshot - set(namespace.bindings)))
    except S2SADError:
        raise
    except RecursionError as exc:
        raise InternalError(f"s2sad ran out of recursion depth while transforming {func.__name__}: {exc}",
                            _function_location(func), hint="simplify deeply nested expressions") from exc
    except Exception as exc:  # an s2sad bug: say so, keep the cause attached
        raise InternalError(
            f"s2sad failed while transforming {func.__name__} ({type(exc).__name__}: {exc}). "
            "This is a bug in s2sad; please report it with the function.",
            _function_location(func),
        ) from exc
    generated = GeneratedFunction(compiled, source, kind, func, wrt_names, adjoint, namespace, many)
    generated._structures = structures or {}
    generated._checkpoint = checkpoint
    if structures:  # its arguments are containers: only the general path flattens them
        generated._plain_counts = range(0)
    generated._dispatch = True
    generated._guard, generated._rebuild = guard, rebuild
    if shapes is None and not structures and kind in GeneratedFunction._SPECIALIZED_KINDS:
        generated._variants, generated._by_signature = {}, {}
    return generated


def _safe_name(func) -> str:
    return func.__name__.replace("<lambda>", "lambda")


def _with_runtime(namespace: Namespace, func, location) -> Namespace:
    """In memory, the run-time checks of generated code raise s2sad's own errors."""
    checked = ((runtime.scalar_seed, lambda: _scalar_seed_for(func, location or _function_location(func))),
               (runtime.not_a_view, lambda: _not_a_view_for(func)),
               (runtime.check_cotangent, lambda: _check_cotangent_for(func)),
               (runtime.check_structure, lambda: _check_structure_for(func)))
    for name, value in namespace.bindings.items():  # by identity: a parameter may have taken the helper's name
        for helper, make in checked:
            if value is helper:
                namespace.bindings[name] = make()
    return namespace


def _check_structure_for(func):
    def check_structure(value, spec, name):
        try:
            return runtime.check_structure(value, spec, name)
        except ValueError as exc:
            raise ArgumentError(f"{func.__name__}: {exc}", _function_location(func),
                                hint="pass the same containers, keys and lengths, or ask s2sad for the "
                                "derivative again") from None

    return check_structure


def _check_cotangent_for(func):
    def check_cotangent(out_bar, out):
        try:
            return runtime.check_cotangent(out_bar, out)
        except ValueError as exc:
            raise ArgumentError(f"vjp of {func.__name__}: {exc}", _function_location(func),
                                hint="pass out_bar with the shape of the function's output") from None

    return check_cotangent


def _not_a_view_for(func):
    def not_a_view(value, base, where=""):
        try:
            return runtime.not_a_view(value, base, where)
        except ValueError as exc:
            raise InPlaceUpdateError(str(exc), _update_location(func, where),
                                     hint="take a copy (`.copy()`) of the array before updating it") from None

    return not_a_view


def _update_location(func, where: str) -> Location:
    """The in-place update `where` ("line N: <its text>...") names, in `func`'s file; the
    function's own line when that line is not there (an update inlined from another file)."""
    import linecache
    import re

    fallback = _function_location(func)
    match = re.match(r"line (\d+): (.*)", where)
    if fallback is None or match is None:
        return fallback
    line = int(match.group(1))
    text = linecache.getline(fallback.filename, line).rstrip("\n")
    if not text.strip() or not match.group(2).startswith(text.strip()):
        return fallback
    lines = [n for *_, n in func.__code__.co_lines() if n is not None]
    inside = fallback.line <= line <= max(lines, default=fallback.line)  # else: an inlined helper's line
    return Location(fallback.filename, line, len(text) - len(text.lstrip()), text, fallback.function if inside else "")


def _live_globals(func, namespace: Namespace):
    """Data globals of the user's module stay live: drop them from the snapshot."""
    globs = getattr(func, "__globals__", None)
    if globs is None:
        return None
    for name in list(namespace.bindings):
        value = namespace.bindings[name]
        if name in globs and globs[name] is value and not callable(value) and not isinstance(value, types.ModuleType):
            del namespace.bindings[name]
    return globs


# ------------------------------------------------------------------ public API


_STAGES = ("ssa", "grad", "value_and_grad", "vjp", "jvp", "hvp")


def source(f, stage: str = "grad", wrt=0, example_args=None) -> str:
    """The text :func:`show` prints."""
    if example_args is not None and not isinstance(example_args, tuple):
        raise ArgumentError(f"example_args must be a tuple of arguments, got {type(example_args).__name__}",
                            _function_location(unwrap(f)) if inspect.isfunction(unwrap(f)) else None,
                            hint="pass example_args=(x,) for one argument")
    if isinstance(f, GeneratedFunction):
        if stage not in ("grad", f.kind):
            raise S2SADError(f"this is generated {f.kind} code; show it with stage={f.kind!r}")
        return f.source if example_args is None else f.specialize(*example_args).for_shapes(*example_args).source
    if stage not in _STAGES:
        raise S2SADError(f"unknown stage {stage!r}", hint=f"use one of {', '.join(_STAGES)}")
    func = unwrap(f)
    if stage == "ssa":
        try:
            fn = normalize(func)  # preceded by the helpers lowered once as subroutines, as in generated code
            return "\n\n".join(ir.format_function(r.ir) for r in subroutines_of(fn)) + (
                "\n\n" if subroutines_of(fn) else "") + ir.format_function(fn) + "\n"
        except S2SADError:
            raise
        except Exception as exc:
            raise InternalError(f"s2sad failed while normalizing {func.__name__}: {exc}") from exc
    generated = build(func, stage, wrt)
    if example_args is not None:
        generated = generated.specialize(*example_args).for_shapes(*example_args)
    return generated.source


def show(f, stage: str = "grad", wrt=0, file=None, example_args=None) -> None:
    """Print generated source: the derivative, or ``stage="ssa"`` for the normalized form of ``f``.

    Args:
        f: a user function, a ``@differentiate`` function, or a generated function.
        stage: "grad" (default), "value_and_grad", "vjp", "jvp", "hvp", or "ssa".
        wrt: as for :func:`grad`.
        file: where to print (default: standard output).
        example_args: f's arguments as a tuple, e.g. ``(x,)``: show the code a call with arguments
            like these runs, specialized for their kinds, dtypes and ranks (``grad`` and
            ``value_and_grad``; see :meth:`GeneratedFunction.for_shapes`). Without it, the code that
            serves any arguments.

    Example:
        >>> import s2sad
        >>> def f(x):
        ...     return x * x
        >>> s2sad.show(f, stage="ssa")
        def f(x):
            # line 2: return x * x
            t1 = x * x
            return t1
    """
    print(source(f, stage, wrt, example_args), file=file, end="")
