"""A hypothesis generator of random differentiable programs, and the check they must pass.

:func:`programs` draws the source of a module defining ``f(x, y, v[, p])``: float scalars
``x, y``, a float array ``v`` of shape (3,), and with ``containers=True`` a dict ``p`` of an
array ``p["w"]`` and a nested tuple ``p["ab"] = (a, b)`` of scalars. Its body mixes

* straight-line assignments over NumPy's smooth functions, indexing, ``@``, reductions;
* ``if``/``else`` on data-dependent conditions, ``for`` loops over ``range`` and over arrays;
* in-place updates of arrays the function made itself: ``w[i] = e``, ``w[1:] = e``, ``w += e``,
  ``w *= e``, ufuncs with ``out=w``, ``np.copyto(w, e)``, ``np.add.at(w, [0, 2, 0], e)``,
  ``np.subtract.at``, ``w.fill(e)``, ``w.sort()``, ``np.put(w, [0, 2], e)``;
* calls of helper functions (one with a loop, one with two parameters, one decorated with a
  ``functools.wraps`` decorator that scales its result).

Every operation is smooth where it is used (division by ``1 + b*b``, logarithms of ``1 + a*a``,
no ``abs``/``max``), so the derivative exists except on branch boundaries; :func:`check_program`
rejects points near those (one-sided differences disagree, or two step sizes disagree, or moving
the conditions' thresholds ``EDGE_*`` a hair changes the gradient) so that every failure it
reports is real.

:func:`check_program` compares ``s2sad.grad`` with central differences in float64 (a gradient
with the structure of the argument), ``value_and_grad``'s value with ``f``, ``s2sad.jvp``'s
tangent with a directional central difference, and checks that no argument changed.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import sys
from dataclasses import dataclass, field

import numpy as np
from hypothesis import assume, note
from hypothesis import strategies as st

import s2sad
from gradcheck import module_from_source

HEADER = '''import functools

import numpy as np


def poly(a):
    return a * a * 0.5 + a


def mix(a, b):
    s = np.sin(a) * b
    return s + a / (1.0 + b * b)


def smooth_loop(a):
    acc = a * 0.5
    for k in range(2):
        acc = acc + np.tanh(a + k) * 0.5
    return acc


def scaled(fn):
    @functools.wraps(fn)
    def wrapper(a):
        return 1.5 * fn(a)

    return wrapper


@scaled
def decorated(a):
    return np.cos(a) * a


# the thresholds of the generated conditions (read live, so that the check can move them)
EDGE_A = 0.0
EDGE_B = 0.3
EDGE_C = -0.4

'''

UNARY = [
    "np.sin({a})", "np.cos({a})", "np.tanh({a})", "np.exp({a})", "{a} / (1.0 + {a} * {a})",
    "np.log(1.0 + {a} * {a})", "-{a}", "{a} ** 2", "np.sqrt(1.0 + {a} * {a})", "poly({a})",
    "smooth_loop({a})", "decorated({a})",
]
BINARY = ["{a} + {b}", "{a} - {b}", "{a} * {b}", "{a} / (1.0 + {b} * {b})", "mix({a}, {b})"]
ARRAY_TO_SCALAR = ["np.sum({a})", "np.mean({a})", "{a}[{i}]", "np.dot({a}, {a})", "{a} @ v", "np.prod({a})"]
ARRAY_TO_ARRAY = ["np.cumsum({a})", "{a}[[2, 1, 0]]", "np.concatenate([{a}[:1], {a}[1:] * 2.0])", "np.roll({a}, 1)"]
CONSTANTS = ["0.5", "1.5", "-0.7", "2.0"]
UFUNCS_OUT = ["np.multiply({a}, {b}, out={w})", "np.add({a}, {b}, out={w})", "np.subtract({a}, {b}, out={w})"]
EDGES = ("EDGE_A", "EDGE_B", "EDGE_C")
UNARY_OUT = ["np.sin({a}, out={w})", "np.tanh({a}, out={w})", "np.exp({a}, out={w})"]


@dataclass
class Env:
    """What the body can read: variable name -> kind ('s' scalar, 'a' array of shape (3,)).

    ``buffers`` are arrays the function made with np.zeros/np.ones: the only ones updated in
    place (an update of a parameter or of an array another name shares is refused by design).
    """

    kinds: dict = field(default_factory=dict)
    params: tuple = ()
    buffers: list = field(default_factory=list)
    assigned: list = field(default_factory=list)
    counter: itertools.count = field(default_factory=itertools.count)
    extra_reads: tuple = ()  # (expression, kind) reads of container parameters

    def fresh(self, prefix="t"):
        return f"{prefix}{next(self.counter)}"

    def define(self, name, kind):
        self.kinds[name] = kind
        if name not in self.assigned:
            self.assigned.append(name)


def _paren(e):
    return e if e.isidentifier() or e.replace(".", "", 1).isdigit() else f"({e})"


@st.composite
def leaf(draw, env, kind=None, extra=()):
    options = sorted(dict(env.kinds, **dict(extra)).items()) + list(env.extra_reads)
    if kind is not None:
        options = [(n, k) for n, k in options if k == kind]
    if kind != "a" and draw(st.integers(0, 6)) == 0:
        return draw(st.sampled_from(CONSTANTS)), "s"
    return draw(st.sampled_from(options))


@st.composite
def expression(draw, env, depth=2, extra=(), kind=None):
    """(source, kind) of a random expression; of kind `kind` if given."""
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(leaf(env, kind, extra))
    form = draw(st.sampled_from(["unary", "binary", "binary", "to_scalar", "to_array"]))
    if form == "to_scalar" and kind != "a":
        a, _ = draw(expression(env, depth - 1, extra, "a"))
        pattern = draw(st.sampled_from(ARRAY_TO_SCALAR))
        return pattern.format(a=_paren(a), i=draw(st.integers(0, 2))), "s"
    if form == "to_array" and kind != "s":
        a, _ = draw(expression(env, depth - 1, extra, "a"))
        return draw(st.sampled_from(ARRAY_TO_ARRAY)).format(a=_paren(a)), "a"
    if form != "binary":
        a, ka = draw(expression(env, depth - 1, extra, kind))
        return draw(st.sampled_from(UNARY)).format(a=_paren(a)), ka
    a, ka = draw(expression(env, depth - 1, extra, kind))
    b, kb = draw(expression(env, depth - 1, extra, None if kind is None else draw(st.sampled_from([kind, "s"]))))
    return draw(st.sampled_from(BINARY)).format(a=_paren(a), b=_paren(b)), "a" if "a" in (ka, kb) else "s"


@st.composite
def assignment(draw, env, pad, extra=(), target=None, kind=None):
    expr, k = draw(expression(env, extra=extra, kind=kind))
    if expr in env.buffers or expr in env.params:  # a bare name would alias an array updated later
        expr = f"{expr} * 1.5"
    if target is None:  # (rebinding a name may change its kind: straight-line code allows it)
        existing = [n for n in env.kinds if n not in env.params and n not in env.buffers]
        target = draw(st.sampled_from(sorted(existing))) if existing and draw(st.integers(0, 3)) == 0 \
            else env.fresh()
    return target, k, [f"{pad}{target} = {expr}"]


@st.composite
def update(draw, env, pad, extra=(), index_var=None, may_create=True):
    """An in-place update of a buffer: made first if there is none (or sometimes), but not inside
    a branch or loop (`may_create=False`), where it would be undefined on the other path."""
    lines = []
    if may_create and (not env.buffers or draw(st.integers(0, 3)) == 0):
        w = env.fresh("w")
        lines.append(f"{pad}{w} = np.{draw(st.sampled_from(['zeros', 'ones']))}(3)")
        env.buffers.append(w)
        env.define(w, "a")
    else:
        w = draw(st.sampled_from(env.buffers))
    # the new value does not read the buffer it is written to (only += and *= do)
    view = Env(kinds={n: k for n, k in env.kinds.items() if n != w}, params=env.params, buffers=env.buffers,
               extra_reads=env.extra_reads)
    a, _ = draw(expression(view, 1, extra, "a"))
    form = draw(st.sampled_from(["item", "slice", "iadd", "imul", "out2", "out1", "copyto", "add.at",
                                 "add.at-scalar", "subtract.at", "fill", "sort", "put"]))
    if form == "item":
        s, _ = draw(expression(view, 1, extra, "s"))
        index = index_var if index_var is not None and draw(st.booleans()) else str(draw(st.integers(0, 2)))
        lines.append(f"{pad}{w}[{index}] = {s}")
    elif form == "slice":
        lines.append(f"{pad}{w}[1:] = {_paren(a)}[:2]")
    elif form == "iadd":
        lines.append(f"{pad}{w} += {a}")
    elif form == "imul":
        lines.append(f"{pad}{w} *= np.tanh({a})")
    elif form == "out2":
        b, _ = draw(expression(view, 1, extra, "a"))
        lines.append(f"{pad}" + draw(st.sampled_from(UFUNCS_OUT)).format(a=_paren(a), b=_paren(b), w=w))
    elif form == "out1":
        lines.append(f"{pad}" + draw(st.sampled_from(UNARY_OUT)).format(a=f"np.tanh({a})", w=w))
    elif form == "copyto":
        lines.append(f"{pad}np.copyto({w}, {a})")
    elif form == "add.at":
        lines.append(f"{pad}np.add.at({w}, [0, 2, 0], {a})")
    elif form == "add.at-scalar":
        s, _ = draw(expression(view, 1, extra, "s"))
        lines.append(f"{pad}np.add.at({w}, {draw(st.integers(0, 2))}, {s})")
    elif form == "subtract.at":
        lines.append(f"{pad}np.subtract.at({w}, [1, 1], {_paren(a)}[:2])")
    elif form == "fill":
        s, _ = draw(expression(view, 1, extra, "s"))
        lines.append(f"{pad}{w}.fill({s})")
    elif form == "sort":  # a permutation; ties (where it has no derivative) are rejected as kinks
        lines.append(f"{pad}{w} += {a}")
        lines.append(f"{pad}{w}.sort()")
    else:
        lines.append(f"{pad}np.put({w}, [0, 2], {_paren(a)}[:2])")
    return w, lines


@st.composite
def condition(draw, env, extra=()):
    e, k = draw(leaf(env, None, extra))
    lhs = e if k == "s" else f"np.sum({e})"
    if draw(st.booleans()):
        lhs = f"np.sin({lhs})"
    return f"{lhs} {draw(st.sampled_from(['>', '<']))} {draw(st.sampled_from(EDGES))}"


def initial_value(kind):
    """A value for a name before a branch or loop that may not assign it."""
    return "x" if kind == "s" else "v * x"


@st.composite
def if_statement(draw, env, pad, extra=()):
    """(lines, (name, kind) of a name it defines for the first time or None)."""
    lines = [f"{pad}if {draw(condition(env, extra))}:"]
    if env.buffers and draw(st.integers(0, 2)) == 0:  # update an existing buffer in one branch or both
        lines += draw(update(env, pad + "    ", extra, may_create=False))[1]
        if draw(st.booleans()):
            lines.append(f"{pad}else:")
            lines += draw(update(env, pad + "    ", extra, may_create=False))[1]
        return lines, None
    existing = [n for n in env.kinds if n not in env.params and n not in env.buffers]
    if existing and draw(st.booleans()):
        target = draw(st.sampled_from(sorted(existing)))
        kind = env.kinds[target]
    else:
        target, kind = env.fresh(), draw(st.sampled_from(["s", "a"]))
    lines += draw(assignment(env, pad + "    ", extra, target, kind))[2]
    has_else = draw(st.integers(0, 3)) > 0
    if has_else:
        lines.append(f"{pad}else:")
        lines += draw(assignment(env, pad + "    ", extra, target, kind))[2]
    new = target not in env.kinds
    if new and not has_else:  # the path that skips the branch needs a value
        lines.insert(0, f"{pad}{target} = {initial_value(kind)}")
    env.define(target, kind)
    return lines, (target, kind) if new else None


@st.composite
def for_statement(draw, env, pad):
    lines = []
    existing = [n for n in env.kinds if n not in env.params and n not in env.buffers]
    if not existing:
        target = env.fresh()
        kind = draw(st.sampled_from(["s", "a"]))
        lines.append(f"{pad}{target} = {initial_value(kind)}")
        env.define(target, kind)
        existing = [target]
    # (not over a buffer: the body may update it while the loop reads it)
    arrays = sorted(n for n, k in env.kinds.items() if k == "a" and n not in env.buffers)
    if draw(st.booleans()):
        var, header, index = "e", f"{pad}for e in {draw(st.sampled_from(arrays or ['v']))}:", None
    else:
        var, header, index = "i", f"{pad}for i in range({draw(st.integers(1, 3))}):", "i"
    lines.append(header)
    extra = ((var, "s"),)
    for _ in range(draw(st.integers(1, 2))):
        choice = draw(st.integers(0, 5))
        if choice == 0 and env.buffers:
            lines += draw(update(env, pad + "    ", extra, index, may_create=False))[1]
        elif choice == 1:
            body, new = draw(if_statement(env, pad + "    ", extra))
            if new is not None:  # first defined in the loop: visible after it only with a value before it
                if body[0].lstrip().startswith("if "):
                    lines.insert(lines.index(header), f"{pad}{new[0]} = {initial_value(new[1])}")
                else:  # if_statement put that value first
                    lines.insert(lines.index(header), body.pop(0)[4:])
            lines += body
        else:
            target = draw(st.sampled_from(sorted(existing)))
            lines += draw(assignment(env, pad + "    ", extra, target, env.kinds[target]))[2]
    return lines


@st.composite
def programs(draw, control_flow=True, containers=False):
    """(module source, wrt, parameter names) of a random program ``f``."""
    params = ("x", "y", "v") + (("p",) if containers else ())
    env = Env(kinds={"x": "s", "y": "s", "v": "a"}, params=params)
    if containers:
        env.extra_reads = (('p["w"]', "a"), ('p["ab"][0]', "s"), ('p["ab"][1]', "s"))
    lines = []
    statements = ["assign", "assign", "update"] + (["if", "for"] if control_flow else [])
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(statements))
        if kind == "assign":
            target, k, new = draw(assignment(env, "    "))
            lines += new
            env.define(target, k)
        elif kind == "update":
            lines += draw(update(env, "    "))[1]
        elif kind == "if":
            lines += draw(if_statement(env, "    "))[0]
        else:
            lines += draw(for_statement(env, "    "))
    outputs = env.assigned[-3:] or ["x"]
    ret = " + ".join(f"np.sum({name})" for name in outputs)
    if containers and draw(st.booleans()):
        ret += ' + np.sum(p["w"] * v) * p["ab"][1]'
    source = HEADER + f"\ndef f({', '.join(params)}):\n" + "\n".join(lines) + f"\n    return {ret}\n"
    wrt = tuple(draw(st.lists(st.sampled_from(params), min_size=1, max_size=len(params), unique=True)))
    return source, wrt if len(wrt) > 1 or draw(st.booleans()) else wrt[0], params


finite = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)


@st.composite
def arguments(draw, params):
    values = [draw(finite), draw(finite), np.array(draw(st.lists(finite, min_size=3, max_size=3)))]
    if "p" in params:
        values.append({"w": np.array(draw(st.lists(finite, min_size=3, max_size=3))),
                       "ab": (draw(finite), draw(finite))})
    return tuple(values)


# ---------------------------------------------------------------------------
# structures: a parameter is a float, an array, or a dict/tuple/list of them
# ---------------------------------------------------------------------------


def flat(value) -> np.ndarray:
    """Every float in `value` (a number, array, or dict/tuple/list of them), in a fixed order."""
    if isinstance(value, dict):
        return np.concatenate([flat(value[k]) for k in sorted(value)] or [np.zeros(0)])
    if isinstance(value, (tuple, list)):
        return np.concatenate([flat(v) for v in value] or [np.zeros(0)])
    return np.ravel(np.asarray(value, dtype=np.float64))


def unflat(vector, like):
    """The inverse of :func:`flat`: `vector`'s entries in the structure of `like`."""
    parts, _ = _unflat(np.asarray(vector, dtype=np.float64), like, 0)
    return parts


def _unflat(vector, like, at):
    if isinstance(like, dict):  # entries in sorted key order (as flat), keys in like's order
        out = {}
        for k in sorted(like):
            out[k], at = _unflat(vector, like[k], at)
        return {k: out[k] for k in like}, at
    if isinstance(like, (tuple, list)):
        items = []
        for v in like:
            item, at = _unflat(vector, v, at)
            items.append(item)
        return type(like)(items), at
    n = int(np.size(like))
    if np.ndim(like) == 0:
        return float(vector[at]), at + 1
    return vector[at:at + n].reshape(np.shape(like)), at + n


def same_structure(got, like) -> bool:
    if isinstance(like, dict):
        return isinstance(got, dict) and sorted(got) == sorted(like) and all(
            same_structure(got[k], like[k]) for k in like)
    if isinstance(like, (tuple, list)):
        return isinstance(got, (tuple, list)) and len(got) == len(like) and all(
            same_structure(g, x) for g, x in zip(got, like))
    return np.shape(got) == np.shape(like)


def _evaluate(f, args, positions, vector):
    """f at the arguments whose entries at `positions` are replaced by `vector` (flattened)."""
    new = list(copy.deepcopy(args))
    at = 0
    for p in positions:
        n = flat(args[p]).size
        new[p] = unflat(vector[at:at + n], args[p])
        at += n
    return float(f(*new))


def central_gradient(f, args, positions, h):
    x0 = np.concatenate([flat(args[p]) for p in positions])
    out = np.zeros_like(x0)
    for i in range(x0.size):
        up, down = x0.copy(), x0.copy()
        up[i] += h
        down[i] -= h
        out[i] = (_evaluate(f, args, positions, up) - _evaluate(f, args, positions, down)) / (2 * h)
    return x0, out


def at_a_kink(f, args, positions, x0, h=1e-7):
    """One-sided differences disagree: a branch boundary (or tie) within reach of the step."""
    base = _evaluate(f, args, positions, x0)
    for i in range(x0.size):
        up, down = x0.copy(), x0.copy()
        up[i] += h
        down[i] -= h
        right = (_evaluate(f, args, positions, up) - base) / h
        left = (base - _evaluate(f, args, positions, down)) / h
        if abs(right - left) > 1e-3 * (1 + abs(right)):
            return True
    return False


def directional_derivative_not_linear(f, args, positions, x0, gradient, h=1e-6):
    """The slope along a direction mixing every coordinate is not gradient · direction: f has partial
    derivatives here but no gradient, as sum(sin(sort(v))) at a tie of v, where each coordinate moves
    alone past the others symmetrically (so no one-sided check sees it) but two move together."""
    direction = np.random.default_rng(x0.size).standard_normal(x0.size)
    slope = (_evaluate(f, args, positions, x0 + h * direction)
             - _evaluate(f, args, positions, x0 - h * direction)) / (2 * h)
    expected = float(gradient @ direction)
    return abs(slope - expected) > 1e-4 * (1 + abs(expected))


def on_a_branch_boundary(module, grad, args, wrt, eps=1e-9) -> bool:
    """Moving every threshold a hair up, then down, changes the gradient: some condition sits
    exactly on its threshold."""
    original = {name: getattr(module, name) for name in EDGES}
    sides = []
    try:
        for sign in (1.0, -1.0):
            for name, value in original.items():
                setattr(module, name, value + sign * eps)
            g = grad(*copy.deepcopy(args))
            sides.append(np.concatenate([flat(p) for p in (g if isinstance(wrt, tuple) else (g,))]))
    finally:
        for name, value in original.items():
            setattr(module, name, value)
    return not np.array_equal(sides[0], sides[1])


def _args_equal(a, b) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and sorted(a) == sorted(b) and all(_args_equal(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(_args_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and np.array_equal(a, b)


# ---------------------------------------------------------------------------
# the check
# ---------------------------------------------------------------------------


def check_program(program_dir, program, args, rng_seed=0, value_and_grad=True):
    """Gradient, value and jvp of the program's ``f`` against central differences; arguments
    unchanged. Points where differences are unreliable are rejected with ``assume``."""
    source, wrt, params = program
    note(source)
    note(f"wrt={wrt!r} args={args!r}")
    name = "s2sad_generated_" + hashlib.sha1(source.encode()).hexdigest()[:16]
    f = module_from_source(program_dir, name, source).f
    wrts = wrt if isinstance(wrt, tuple) else (wrt,)
    positions = [params.index(w) for w in wrts]

    try:  # an intermediate overflow makes reverse mode compute 0 * inf = nan, as every AD tool does
        with np.errstate(over="raise", invalid="raise"):
            value = f(*copy.deepcopy(args))
    except (FloatingPointError, OverflowError):
        assume(False)
    with np.errstate(all="ignore"):
        value = float(value)
        assume(np.isfinite(value) and abs(value) < 1e4)
        x0, fd = central_gradient(f, args, positions, 1e-6)
        _, fd_coarse = central_gradient(f, args, positions, 1e-4)
        assume(np.all(np.isfinite(fd)) and np.all(np.abs(fd) < 1e5))
        assume(np.allclose(fd, fd_coarse, rtol=1e-4, atol=1e-5))
        assume(not at_a_kink(f, args, positions, x0))
        assume(not directional_derivative_not_linear(f, args, positions, x0, fd))

    before = copy.deepcopy(args)
    grad = s2sad.grad(f, wrt)
    # a condition exactly at its threshold (x == 0.0 in `if x > EDGE_A`) picks one branch at a single
    # point, where f may still be smooth: the derivative of that branch is then not f's
    assume(not on_a_branch_boundary(sys.modules[f.__module__], grad, args, wrt))
    got = grad(*args)
    assert _args_equal(args, before), "grad changed its arguments"
    parts = got if isinstance(wrt, tuple) else (got,)
    assert len(parts) == len(positions)
    for w, g, p in zip(wrts, parts, positions):
        assert same_structure(g, args[p]), f"the gradient w.r.t. {w} has the wrong structure: {g!r}"
    np.testing.assert_allclose(np.concatenate([flat(g) for g in parts]), fd, rtol=1e-5, atol=1e-6,
                               err_msg=f"gradient w.r.t. {wrt}\n{source}\ngenerated:\n{grad.source}")

    if value_and_grad:
        v2, g2 = s2sad.value_and_grad(f, wrt)(*args)
        np.testing.assert_allclose(float(v2), value, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(np.concatenate([flat(g) for g in (g2 if isinstance(wrt, tuple) else (g2,))]),
                                   np.concatenate([flat(g) for g in parts]), rtol=1e-12, atol=1e-12)

    rng = np.random.default_rng(rng_seed)
    direction = rng.standard_normal(x0.size)
    tangents, at = [], 0
    for p in positions:
        n = flat(args[p]).size
        tangents.append(unflat(direction[at:at + n], args[p]))
        at += n
    jvp = s2sad.jvp(f, wrt)
    primal_out, tangent_out = jvp(*args, *tangents)
    assert _args_equal(args, before), "jvp changed its arguments"
    np.testing.assert_allclose(float(primal_out), value, rtol=1e-12, atol=1e-12)
    # the directional derivative is the gradient (already checked) dotted with the direction
    np.testing.assert_allclose(float(tangent_out), float(fd @ direction), rtol=1e-5,
                               atol=1e-6 * (1 + np.abs(fd) @ np.abs(direction)),
                               err_msg=f"jvp w.r.t. {wrt}\n{source}\ngenerated:\n{jvp.source}")
