"""Call overhead of a generated derivative: ``grad(f)(x)`` against the bare generated function.

``grad(f)`` is a :class:`s2sad.api.GeneratedFunction`; calling it checks the
arguments (staleness guard, np.matrix and complex refusal, ints to floats,
containers, float32 casting) before it runs the compiled code, which is
``grad(f)._func``, or for plain arguments the code specialized for their shapes
(``grad(f).for_shapes(*args)._func``). The difference of the two times is what the wrapper costs.
As that difference is small against the noise of a shared machine, the last
column times the wrapper alone: around a compiled function that does nothing.
Each time is the minimum over many short repeats (timeit), in microseconds per
call. An empty Python function call is timed too, as a yardstick.
It asserts nothing; it prints a table.

    python bench/bench_overhead.py [--number N] [--repeat R]
"""

from __future__ import annotations

import argparse
import copy
import timeit

import numpy as np

import s2sad


def normal_pdf(x, mu, sigma):
    return np.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * np.sqrt(2.0 * np.pi))


def logistic_one(w, x, y):
    z = w * x
    return np.log(1.0 + np.exp(-y * z))


def square(x):
    return x * x


def sum_tanh(x):
    return np.sum(np.tanh(x) * x)


def scaled(x, scale=2.0):
    return scale * x * x


def _empty(x):
    return x


def _nothing(*args, **kwargs):
    return None


def wrapper_alone(generated):
    """`generated` calling a compiled function that does nothing: times the wrapper's own work."""
    alone = copy.copy(generated)
    alone._func = _nothing
    if generated._variants is not None:  # the call keys seen so far run `alone` (the key is still computed)
        alone._variants = {key: (alone, converts) for key, (_, converts) in generated._variants.items()}
    return alone


def cases():
    """(name, generated function, positional arguments, keyword arguments)."""
    v = np.linspace(0.1, 1.0, 10)
    return [
        ("square(float)", s2sad.grad(square), (1.5,), {}),
        ("square(np.float64)", s2sad.grad(square), (np.float64(1.5),), {}),
        ("square(int)", s2sad.grad(square), (3,), {}),
        ("normal_pdf(3 floats)", s2sad.grad(normal_pdf), (0.3, 0.1, 1.2), {}),
        ("logistic_one wrt (w, x)", s2sad.grad(logistic_one, wrt=(0, 1)), (0.5, 2.0, 1.0), {}),
        ("value_and_grad square", s2sad.value_and_grad(square), (1.5,), {}),
        ("sum_tanh(10-vector)", s2sad.grad(sum_tanh), (v,), {}),
        ("vjp sum_tanh(10-vector)", s2sad.vjp(sum_tanh), (v, 1.0), {}),
        ("scaled(x) default", s2sad.grad(scaled), (1.5,), {}),
        ("scaled(x, scale=3.0) keyword", s2sad.grad(scaled), (1.5,), {"scale": 3.0}),
        ("sum_tanh(float32 10-vector)", s2sad.grad(sum_tanh), (v.astype(np.float32),), {}),
    ]


def per_call(call, number, repeat) -> float:
    """Minimum time of one call in microseconds."""
    return min(timeit.repeat(call, number=number, repeat=repeat)) / number * 1e6


def bare_arguments(generated, args, kwargs):
    """The arguments the bare compiled function is called with: ints as floats, as the wrapper does."""
    return tuple(float(a) if type(a) is int else a for a in args), kwargs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=100)
    options = parser.parse_args(argv)
    print(f"{'case':32} {'bare µs':>9} {'s2sad µs':>9} {'overhead µs':>12} {'wrapper alone µs':>17}")
    for name, generated, args, kwargs in cases():
        generated(*args, **kwargs)  # build (containers, rebuilds) before timing
        bare = generated.for_shapes(*args)._func if not kwargs else generated._func  # the code the call runs
        bare_args, bare_kwargs = bare_arguments(generated, args, kwargs)
        t_bare = per_call(lambda: bare(*bare_args, **bare_kwargs), options.number, options.repeat)
        t_wrapped = per_call(lambda: generated(*args, **kwargs), options.number, options.repeat)
        alone = wrapper_alone(generated)
        t_nothing = per_call(lambda: _nothing(*bare_args, **bare_kwargs), options.number, options.repeat)
        t_alone = per_call(lambda: alone(*args, **kwargs), options.number, options.repeat) - t_nothing
        print(f"{name:32} {t_bare:9.2f} {t_wrapped:9.2f} {t_wrapped - t_bare:12.2f} {t_alone:17.2f}")
    t_empty = per_call(lambda: _empty(1.5), options.number, options.repeat)
    print(f"{'an empty Python call (yardstick)':32} {'':9} {t_empty:9.2f}")
    f = square
    t_lookup = per_call(lambda: s2sad.grad(f), options.number, options.repeat)
    print(f"{'s2sad.grad(f) (cached)':32} {'':9} {t_lookup:9.2f}")


if __name__ == "__main__":
    main()
