"""Lower: a desugared gast function -> IR in structured SSA three-address form.

Each expression becomes a chain of statements that apply one primitive to
atoms; each assignment binds a new version of its name (``z``, ``z_1``, ...).
Branches end in phis; loops carry the names their body reassigns as block
arguments. Calls to the user's own Python functions are inlined, so their
bodies are differentiated along with the caller (recursion is refused).

The state of one walk lives in a :class:`_Lowerer` created for that walk and
discarded after it; nothing is kept between calls. The class holds only that
state and the dispatch on a node's type; each kind of node is lowered by a plain
function of the state and the node, in the modules (each imports only those
before it):

* ``lower_base``: SSA names, operator tables, which functions s2sad reads;
* ``lower_exprs``: names, literals, arithmetic, f-strings;
* ``lower_containers``: tuples, lists, dicts, namedtuples, subscripts, attributes, ``x[i] = v``;
* ``lower_control``: ``if``, ``for``, ``while``, comprehensions, ``and``/``or``/``x if c else y``;
* ``lower_statements``: assignments, ``y op= v``, ``assert``, ``raise``, a body and its result;
* ``lower_inline``: the user's own functions, inlined or called as subroutines;
* ``lower_calls``: every call (and ``lower_writes``: the calls that write into an argument;
  ``lower_builtins``: ``reversed``, ``divmod``, ``map``, ``list``, ``sorted`` written out).
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

import gast

from . import (
    closures,
    ir,
    lower_calls,
    lower_containers,
    lower_control,
    lower_exprs,
    lower_inline,
    lower_statements,
    lower_writes,
    subroutines,
)
from .desugar import refused_in, remove_early_exits, syntax_problems
from .errors import S2SADError, UnsupportedSyntaxError, raise_problems
from .frontend import ParsedFunction, parse_function, signature
from .lower_base import Namer, assigned_names, has_any_rule, names_read, is_helper, is_temp, is_user_function, literal_default
from .primitives import list_append, pack_dict, pack_list, pack_namedtuple, pack_tuple
from .pytree import leaf_paths

# Which function lowers each kind of gast node: f(lowering state, node, name hint) -> atom.
_EXPRESSIONS = {
    gast.Constant: lower_exprs.expr_Constant,
    gast.Name: lower_exprs.expr_Name,
    gast.BinOp: lower_exprs.expr_BinOp,
    gast.UnaryOp: lower_exprs.expr_UnaryOp,
    gast.JoinedStr: lower_exprs.expr_JoinedStr,
    gast.Tuple: lower_containers.expr_Tuple,
    gast.List: lower_containers.expr_List,
    gast.Dict: lower_containers.expr_Dict,
    gast.Slice: lower_containers.expr_Slice,
    gast.Subscript: lower_containers.expr_Subscript,
    gast.Attribute: lower_containers.expr_Attribute,
    gast.Compare: lower_control.expr_Compare,
    gast.BoolOp: lower_control.expr_BoolOp,
    gast.IfExp: lower_control.expr_IfExp,
    gast.ListComp: lower_control.expr_ListComp,
    gast.GeneratorExp: lower_control.expr_ListComp,  # consumed at once by the call it is passed to (sum, max, ...)
    gast.Call: lower_calls.expr_Call,
}

# ... and each kind of statement: f(lowering state, node).
_STATEMENTS = {
    gast.If: lower_control.stmt_If,
    gast.For: lower_control.stmt_For,
    gast.While: lower_control.stmt_While,
    gast.Assign: lower_statements.stmt_Assign,
    gast.AnnAssign: lower_statements.stmt_AnnAssign,
    gast.AugAssign: lower_statements.stmt_AugAssign,
    gast.Expr: lower_statements.stmt_Expr,
    gast.Pass: lower_statements.stmt_Pass,
    gast.Assert: lower_statements.stmt_Assert,
    gast.Raise: lower_statements.stmt_Raise,
    gast.Return: lower_statements.stmt_Return,
}


@dataclass
class _Lowerer:
    parsed: ParsedFunction
    namer: Namer
    env: dict
    out: list
    stack: tuple = ()
    local_names: set = field(default_factory=set)
    packs: dict = field(default_factory=dict)  # Var bound to a tuple display -> its items
    fields: dict = field(default_factory=dict)  # Var bound to a dict or namedtuple -> {key or field: item}
    frozen: set = field(default_factory=set)  # containers that are (parts of) a parameter: never written
    element_of: dict = field(default_factory=dict)  # `layer = layers[k]` (k not a literal) -> layers
    loop_items: dict = field(default_factory=dict)  # the item `for r in rows:` binds -> (the loop, its index)
    arg_inits: dict = field(default_factory=dict)  # a loop's block argument -> its initial value
    contained: set = field(default_factory=set)  # values put into a list or tuple (so reachable from it)
    viewed_from: dict = field(default_factory=dict)  # a value that may be a view (`v = y[1:]`) -> y
    joins: dict = field(default_factory=dict)  # a branch join or a loop's result -> the values it may be
    arguments: set = field(default_factory=set)  # in an inlined helper: the caller's values passed in
    callers: tuple = ()  # in an inlined helper: each caller's names read after the call -> their values
    parameters: set = field(default_factory=set)  # the differentiated function's own parameters
    result_loc: object = None
    problems: list = field(default_factory=list)  # refusals so far, shared with inlined helpers' lowerers
    stand_ins: set = field(default_factory=set)  # placeholders for what refused code would have bound
    containers: set = field(default_factory=set)  # values that are (or may be) lists, tuples or dicts
    routines: dict = field(default_factory=dict)  # "plan": helpers made subroutines; func -> Subroutine
    name_reads: dict | None = None  # name -> how many times the function's body reads it (None: unknown)


    def error(self, cls, message, node, hint=""):
        return cls(message, self.parsed.location(node), hint=hint)

    def loc(self, node):
        return self.parsed.location(node)

    def emit_call(self, func, args, kwargs=(), node=None, target=None) -> ir.Var:
        var = target if target is not None else self.namer.temp()
        ref = func if isinstance(func, ir.Ref) else ir.prim(func)
        self.out.append(ir.Assign(var, ref, list(args), list(kwargs), self.loc(node)))
        if args and isinstance(args[0], ir.Var) and lower_writes.may_view(ref.value):
            self.viewed_from[var] = args[0]
        if ref.value in (pack_tuple, pack_list, pack_dict, pack_namedtuple, list_append):
            self.containers.add(var)
        return var

    def target_for(self, hint):
        return self.namer.fresh(hint) if hint else None

    # ------------------------------------------------------------ dispatch

    def expr(self, node, hint: str | None = None):
        """Lower an expression to an atom; `hint` names the value it is assigned to."""
        lower = _EXPRESSIONS.get(type(node))
        if lower is None:
            raise self.error(
                UnsupportedSyntaxError,
                f"s2sad cannot differentiate the expression {type(node).__name__}",
                node,
                hint="rewrite it with plain arithmetic, calls, subscripts and attributes",
            )
        return lower(self, node, hint)

    def block(self, stmts):
        """Lower each statement; one s2sad refuses is recorded in `problems` and lowering goes on
        (so one error can list every problem), its names bound to placeholders."""
        for stmt in stmts:
            if any(refused_in(part) for part in lower_statements.own_parts(stmt)):
                lower_statements.stand_in(self, stmt)  # `syntax_problems` has reported it already
                continue
            try:
                self.statement(stmt)
            except S2SADError as exc:
                self.problems.append(exc)
                lower_statements.stand_in(self, stmt)

    def statement(self, stmt):
        if closures.define(self, stmt):
            return  # a nested def, `h = lambda ...` or `p = functools.partial(...)`: bound, inlined where called
        lower = _STATEMENTS.get(type(stmt))
        if lower is None:
            raise self.error(
                UnsupportedSyntaxError,
                f"s2sad cannot differentiate a {type(stmt).__name__} statement",
                stmt,
                hint="rewrite it with assignments, if/for/while and calls",
            )
        lower(self, stmt)

    # ------------------------------------------------------------ for closures.py, which comes before the
    # lowering modules and so reaches them through the state it is given

    def call_ref(self, callee, args, kwargs, node, hint):
        return lower_calls.call_ref(self, callee, args, kwargs, node, hint)

    def named_argument(self, atom, name):
        return lower_inline.named_argument(self, atom, name)

    def body_and_result(self, fdef, hint=None):
        return lower_statements.body_and_result(self, fdef, hint)


def lower_function(parsed: ParsedFunction, extra_inputs=(), name=None, template=False,
                   structures=None, subroutines_allowed=True) -> ir.Function:
    """Lower a parsed user function (or rule template) to verified SSA IR.

    Args:
        parsed: the output of :func:`frontend.parse_function`.
        extra_inputs: names bound on entry besides the parameters (``y_bar`` in
            a rule template).
        name: the IR function's name (defaults to the source name).
        template: a rule template, which may take ``*args`` (bound to a tuple).
        structures: ``{parameter name: pytree.Tree}`` for parameters passed as
            containers: each becomes one IR parameter per leaf (``params_W``,
            ``params_b``), and the body starts by rebuilding the container.
        subroutines_allowed: helpers called more than once, recursive or large
            become calls of their own IR (:mod:`subroutines`); False inlines
            every helper (``explain`` shows each inlined line).
    """
    structures = structures or {}
    problems = syntax_problems(parsed, allow_varargs=template)
    if (parsed.node.args.vararg is not None and not template) or parsed.node.args.kwarg is not None:
        raise_problems(problems, parsed.name, parsed.filename)  # no parameters to lower the body with
    fdef = remove_early_exits(parsed)
    args = fdef.args
    namer = Namer()
    func = parsed.func
    defaults = {}
    sig = signature(func)
    for pname, param in sig.parameters.items():
        if param.default is not inspect.Parameter.empty:
            defaults[pname] = literal_default(param.default) or ir.Ref(
                (f"{pname}_default",), param.default, param.default
            )
    params = []
    env = {}
    leaves = {}
    varargs = [args.vararg] if template and args.vararg is not None else []
    all_args = list(args.posonlyargs) + list(args.args) + varargs + list(args.kwonlyargs)
    namer.taken.update(a.id for a in all_args if a.id in structures)  # kept for the generated function's own
    for a in all_args:
        if a.id in structures:
            leaves[a.id] = [namer.fresh(_leaf_name(a.id, path)) for path in leaf_paths(structures[a.id])]
            params.extend(ir.Param(var) for var in leaves[a.id])
            continue
        var = namer.fresh(a.id)
        params.append(ir.Param(var, defaults.get(a.id), keyword_only=a in args.kwonlyargs))
        env[a.id] = var
    for extra in extra_inputs:
        var = namer.fresh(extra)
        params.append(ir.Param(var, None))
        env[extra] = var
    local_names = set(assigned_names(fdef.body)) | set(env)
    local_names |= set(leaves)
    lowerer = _Lowerer(parsed, namer, env, [], (), local_names, problems=problems,
                       parameters=set() if template else set(env.values()), name_reads=names_read(fdef.body))
    if not template and subroutines_allowed:
        lowerer.routines["plan"], lowerer.routines["calls"] = subroutines.plan(parsed, is_helper)
    try:
        for a in all_args:
            if a.id in leaves:
                env[a.id] = lower_containers.structured_parameter(lowerer, a.id, structures[a.id],
                                                                  iter(leaves[a.id]), fdef)
        result = lower_statements.body_and_result(lowerer, fdef)
    except Exception as exc:
        if not problems:
            raise
        if isinstance(exc, S2SADError):
            problems.append(exc)
        # otherwise a knock-on failure of code already refused: report the refusals
    raise_problems(problems, parsed.name, parsed.filename)
    fn = ir.Function(
        name=name or parsed.name,
        params=params,
        body=lowerer.out,
        result=result,
        filename=parsed.filename,
        firstline=parsed.line_offset + parsed.node.lineno,
        doc=inspect.getdoc(func),
        exports=closures.without_locals(lowerer.env),
        result_loc=lowerer.result_loc,
    )
    return ir.verify_pass(fn)


def _leaf_name(param: str, path) -> str:
    """``params`` at path ("layers", 0, "W") -> ``params_layers_0_W`` (a valid identifier)."""
    parts = [param] + [re.sub(r"\W", "_", str(key)) for key in path]
    return "_".join(p for p in parts if p)


def normalize(func, extra_inputs=(), structures=None, subroutines_allowed=True) -> ir.Function:
    """Parse, desugar and lower `func` into SSA IR: the front half of the pipeline.

    `structures` maps parameters passed as containers to their pytree structure
    (see :func:`lower_function`)."""
    return lower_function(parse_function(func), extra_inputs, structures=structures,
                          subroutines_allowed=subroutines_allowed)


__all__ = ["normalize", "lower_function", "Namer", "is_temp", "assigned_names", "is_user_function", "has_any_rule"]
