"""Exported jvp, hvp and vjp take f's arguments as f does, then their seeds, as in memory.

In memory, ``s2sad.jvp(f)(x, v)`` for ``f(x, scale=2.0)`` binds the arguments
the way ``f`` binds them (defaults, keywords, keyword-only parameters) and takes
the last positional values as the seeds (tangents, or the cotangent of vjp);
see ``GeneratedFunction._with_defaults``. A plain ``def jvp_f(x, scale, x_dot)``
cannot say that, so the export writes the generated function under a
``_positional`` name and, under the public name, a small wrapper that binds the
arguments with a stub carrying f's signature:

    def f_arguments(x, scale=scale_default):
        return (x, scale)

    def jvp_f(*args, **kwargs):
        if kwargs or len(args) != 3:
            args = f_arguments(*args[:-1], **kwargs) + tuple(args[-1:])
        # args: x, scale, x_dot
        return jvp_f_positional(*args[:2], as_tangent(args[2], args[0], 'x'))

The arguments are passed on by position, never bound to f's parameter names in the
wrapper: a parameter named ``len`` or ``tuple`` would hide the builtins it calls.
"""

from __future__ import annotations

from .frontend import (
    signature,  # f's parameters as s2sad reads f (a wrapper's own, not __wrapped__'s)
)

#: Copied into exported modules that have a jvp or hvp: the tangent as ``s2sad.jvp`` takes it.
AS_TANGENT_SOURCE = '''\
def as_tangent(value, primal, name):
    """A tangent as s2sad's in-memory jvp and hvp take it: a list of numbers is a float array,
    and it has the shape of its argument (a container argument's structure the code checks)."""

    def numbers(v):
        return isinstance(v, (list, tuple)) and v and all(
            isinstance(e, (int, float, np.integer, np.floating)) for e in v
        )

    if isinstance(primal, (list, tuple, dict)) and not numbers(primal):
        return value
    if isinstance(value, list) and numbers(value):
        value = np.asarray(value, dtype=np.float64)
    try:
        same = np.shape(value) == np.shape(primal)
    except ValueError:  # a ragged list
        same = False
    if not same:
        raise ValueError(f"the tangent for {name} does not have the shape of {name}, {np.shape(primal)}")
    return value
'''


def trailing_seeds(gen) -> int | None:
    """How many seeds follow f's arguments in the generated derivative `gen` (None: it takes f's only)."""
    from .api import GeneratedFunction

    if not isinstance(gen, GeneratedFunction):
        return None
    trailing = GeneratedFunction._TRAILING.get(gen.kind)
    return len(gen.wrt) if trailing == "wrt" else trailing


def arguments_stub(name: str, primal) -> tuple[str, dict]:
    """(source of ``def <name>(<f's signature>): return (<f's parameters>)``, {default name: value}).

    Each default is written as ``<param>_default``, a name the export binds to
    the default's value (a literal, or an import), as the hessian driver does.
    """
    parts, defaults, names = [], {}, []
    for param in signature(primal).parameters.values():
        if param.kind is param.KEYWORD_ONLY and "*" not in parts:
            parts.append("*")
        if param.default is not param.empty:
            defaults[f"{param.name}_default"] = param.default
            parts.append(f"{param.name}={param.name}_default")
        else:
            parts.append(param.name)
        names.append(param.name)
    doc = f"The parameters of {primal.__name__}, bound as {primal.__name__} binds them (defaults, keywords)."
    values = "(" + ", ".join(names) + ("," if len(names) == 1 else "") + ")"
    return f'def {name}({", ".join(parts)}):\n    """{doc}"""\n    return {values}\n', defaults


def seed_wrapper(public: str, positional: str, arguments: str, params: list, n_seeds: int, primal,
                 tangent_of: dict | None, as_tangent: str) -> str:
    """The source of ``def <public>(*args, **kwargs)``, which binds f's arguments and calls `positional`.

    Args:
        public: the wrapper's name (``jvp_f``).
        positional: the generated function it calls, which takes every parameter positionally.
        arguments: the name of the stub from :func:`arguments_stub`.
        params: the parameters of `positional`: f's, then the seeds.
        n_seeds: how many trailing seeds.
        primal: f itself (for the docstring).
        tangent_of: {seed name: f's parameter} for jvp and hvp (their tangents are checked
            with `as_tangent`), or None for vjp.
        as_tangent: the name of the tangent helper.
    """
    seeds = params[len(params) - n_seeds:]
    name = primal.__name__
    lines = [
        f"def {public}(*args, **kwargs):",
        f'    """{public}(<the arguments of {name}>, {", ".join(seeds)}), as s2sad takes it in memory.',
        "",
        f"    {name}'s arguments as {name} takes them (positions, keywords, defaults), then the last",
        f"    {n_seeds} positional value{'s' if n_seeds > 1 else ''}: {', '.join(seeds)}.",
        '    """',
        f"    if kwargs or len(args) != {len(params)}:",
        f"        if len(args) < {n_seeds}:",
        f"            raise TypeError(\"{public} takes the arguments of {name} and then {', '.join(seeds)}\")",
        f"        args = {arguments}(*args[:{-n_seeds}], **kwargs) + tuple(args[{-n_seeds}:])",
        # by position, never bound to f's names: a parameter named len or tuple would hide the builtins above
        f"    # args: {', '.join(params)}",
    ]
    position = {name: i for i, name in enumerate(params)}
    passed = [f"*args[:{len(params) - n_seeds}]"] if len(params) > n_seeds else []
    for seed in seeds:
        if seed in (tangent_of or {}):
            param = tangent_of[seed]
            passed.append(f"{as_tangent}(args[{position[seed]}], args[{position[param]}], {param!r})")
        else:
            passed.append(f"args[{position[seed]}]")
    lines.append(f"    return {positional}({', '.join(passed)})")
    return "\n".join(lines) + "\n"
