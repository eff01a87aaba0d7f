"""The command line: ``python -m s2sad export|show|check|explain`` (also installed as ``s2sad``).

    python -m s2sad export mymodel:loss --wrt x,w --mode grad --mode value_and_grad -o grad_loss.py
    python -m s2sad show mymodel:loss --stage ssa
    python -m s2sad check grad_loss.py          # exit status 1 when the file is stale (for CI)
    python -m s2sad explain mymodel:f --args 2,5

MODULE in ``MODULE:FUNCTION`` is a dotted module importable from the current
directory, or a path to a ``.py`` file. Errors are one line on stderr and a
non-zero exit status (2 for a bad command line, 1 otherwise); never a traceback.
"""

from __future__ import annotations

import argparse
import ast
import shlex
import sys

EXIT_STALE = 1
EXIT_ERROR = 1
EXIT_USAGE = 2


class _Usage(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse, with a one-line error instead of the usage block."""

    def error(self, message):
        raise _Usage(f"{self.prog}: {message} (see {self.prog} --help)")


def _parse_wrt(text: str | None):
    """``--wrt x,w`` -> ("x", "w"); ``--wrt 0`` -> 0; ``--wrt x,`` -> ("x",) (a one-element tuple)."""
    if text is None:
        return 0
    text = text.strip()
    if text.lower() in ("all", "none"):
        return None
    parts = [p.strip() for p in text.split(",")]
    many = len(parts) > 1
    parts = [p for p in parts if p]
    if not parts:
        raise _Usage(f"--wrt {text!r} names no parameter")
    items = [int(p) if p.lstrip("-").isdigit() else p for p in parts]
    return tuple(items) if many else items[0]


def _parse_args(text: str):
    """``--args 2,5`` or ``--args "[1, 2], 3.5"``: Python literals; lists of numbers become float arrays."""
    import numpy as np

    try:
        values = ast.literal_eval(f"({text},)")
    except (ValueError, SyntaxError):
        raise _Usage(f"--args {text!r}: give comma-separated Python literals, e.g. --args 2,5 or "
                     "--args '[1.0, 2.0], 3'") from None

    def convert(v):
        if isinstance(v, list):
            return np.asarray(v, dtype=np.float64)
        return v

    return [convert(v) for v in values]


def _parse_like(text):
    """The example arguments of ``--like`` (see ``export_shapes.parse_like``), or None without it."""
    import importlib

    if text is None:
        return None
    try:
        return importlib.import_module("s2sad.export_shapes").parse_like(text)
    except ValueError as exc:
        raise _Usage(f"argument --like: {exc}") from None


def _command_line(argv) -> str:
    return "python -m s2sad " + " ".join(shlex.quote(a) for a in argv)


def _cmd_export(args, argv) -> int:
    import importlib

    ex = importlib.import_module("s2sad.export")
    shapes = importlib.import_module("s2sad.export_shapes")  # the --like text as export records it

    func = ex.load_function(args.function)
    modes = list(dict.fromkeys(args.mode or ["grad"]))
    wrt = _parse_wrt(args.wrt)
    like = _parse_like(args.like)
    command = ex.regenerate_command(args.function, args.wrt, modes, args.output,
                                    like=None if like is None else shapes.like_text(like))
    written = ex.export(func, args.output, wrt=wrt, modes=tuple(modes), command=command, force=args.force,
                        parents=args.parents, like=like)
    if not args.quiet:
        print(f"wrote {args.output}")
        for note in ex.header_notes(written):  # e.g. that running it needs s2sad after all
            print(f"note: {note}", file=sys.stderr)
    return 0


def _cmd_show(args, argv) -> int:
    import s2sad

    from . import api
    import importlib

    ex = importlib.import_module("s2sad.export")

    func = ex.load_function(args.function)
    wrt = _parse_wrt(args.wrt)
    stage = args.stage
    like = _parse_like(args.like)
    if like is not None:
        ex._check_like(func, like)  # as export: examples that do not fit would show the generic code
    if stage in ("ssa", "grad", "value_and_grad", "vjp") or stage in getattr(api, "_STAGES", ()):
        text = api.source(func, stage, wrt, example_args=like)
    else:
        maker = getattr(s2sad, stage, None)
        if maker is None:
            raise ex.ExportError(f"stage {stage!r} needs forward mode, which this version of s2sad does not have")
        text = maker(func, wrt=wrt).source
    sys.stdout.write(text)
    return 0


def _cmd_check(args, argv) -> int:
    import importlib

    ex = importlib.import_module("s2sad.export")

    status = 0
    for path in args.files:
        problems = ex.check(path)
        shown = ex.escape_comment(path)
        if problems:
            status = EXIT_STALE
            label = "modified" if problems[0] == ex.MODIFIED else "stale"
            print(f"{shown}: {label}: " + "; ".join(problems), file=sys.stderr)
        elif not args.quiet:
            print(f"{shown}: up to date")
    return status


def _cmd_explain(args, argv) -> int:
    import importlib

    ex = importlib.import_module("s2sad.export")

    try:
        from .explain import explain
    except ImportError as exc:
        raise ex.ExportError(f"explain is not available in this version of s2sad ({exc})") from None
    func = ex.load_function(args.function)
    values = _parse_args(args.args) if args.args is not None else []
    # like the lecture's traces, show the adjoint of every real argument unless told otherwise
    kwargs = {"wrt": None}
    if args.wrt is not None and args.wrt != "all":
        kwargs["wrt"] = _parse_wrt(args.wrt)
    if args.digits is not None:
        kwargs["digits"] = args.digits
    result = explain(func, *values, **kwargs)
    if result is not None:
        text = result.to_markdown() if args.markdown and hasattr(result, "to_markdown") else str(result)
        print(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .export import MODES, NOT_EXPORTED

    parser = _Parser(
        prog="s2sad",
        description="Source-to-source automatic differentiation for Python/NumPy: export, show, check, explain.",
        epilog="MODULE:FUNCTION names a function: MODULE is a dotted module importable from the current "
        "directory or a path to a .py file, e.g. mymodel:loss or src/mymodel.py:loss.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("export", help="write derivatives of a function to a module that runs without s2sad",
                       description="Write derivatives of FUNCTION to a standalone Python module that needs only "
                       "NumPy (and the function's own module, for its globals).")
    p.add_argument("function", metavar="MODULE:FUNCTION")
    p.add_argument("--wrt", metavar="PARAMS",
                   help="parameters to differentiate with respect to: positions or names, comma-separated "
                   "(0 | x | x,w | 0,1); a trailing comma (x,) asks for a one-element tuple; default 0")
    # a mode export does not write (derivative) is accepted here so that export refuses it with its hint
    p.add_argument("--mode", action="extend", nargs="+", choices=MODES + tuple(NOT_EXPORTED), metavar="MODE",
                   help=f"derivatives to define: one or more of {', '.join(MODES)}, as --mode grad hvp "
                   "or --mode grad --mode hvp (default: grad)")
    p.add_argument("--like", metavar="VALUES",
                   help="example arguments, comma-separated: numbers and arrays as DTYPE[SHAPE], e.g. "
                   "'float64[256,784], float64[784], 0.5'; grad and value_and_grad are then written for their "
                   "signature (kinds, dtypes, ranks, sizes of 1, equal sizes), with a guard that sends other "
                   "arguments to the generic code, which is written too")
    p.add_argument("-o", "--output", required=True, metavar="OUT.py",
                   help="the module to write; an existing file is replaced only if s2sad generated it "
                   "(and it was not edited since); never the function's own source")
    p.add_argument("--force", action="store_true",
                   help="replace OUT.py even if s2sad did not generate it or it was edited by hand")
    p.add_argument("--parents", action="store_true",
                   help="create OUT.py's directory (and its parents) if missing; without it a missing "
                   "directory is an error")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(run=_cmd_export)

    p = sub.add_parser("show", help="print the SSA form or a generated derivative of a function",
                       description="Print the normalized SSA form of FUNCTION or the source of a derivative.")
    p.add_argument("function", metavar="MODULE:FUNCTION")
    p.add_argument("--stage", default="grad", metavar="STAGE",
                   choices=("ssa", "grad", "value_and_grad", "vjp", "jvp", "hvp", "hessian"),
                   help="ssa | grad | value_and_grad | vjp | jvp (default: grad)")
    p.add_argument("--wrt", metavar="PARAMS", help="as for export (default 0)")
    p.add_argument("--like", metavar="VALUES",
                   help="example arguments as for export: show the code a call with arguments like them runs")
    p.set_defaults(run=_cmd_show)

    p = sub.add_parser("check", help="exit non-zero when an exported file is stale (its source changed)",
                       description="Check that exported files are up to date: the sources recorded in their "
                       "headers still hash the same. Exit status 1 when one is stale. Imports nothing.")
    p.add_argument("files", nargs="+", metavar="OUT.py")
    p.add_argument("-q", "--quiet", action="store_true", help="print only stale files")
    p.set_defaults(run=_cmd_check)

    p = sub.add_parser("explain", help="print the evaluation traces (values forward, adjoints backward)",
                       description="Evaluate FUNCTION at --args and print its forward and reverse traces.")
    p.add_argument("function", metavar="MODULE:FUNCTION")
    p.add_argument("--args", metavar="VALUES", help="comma-separated Python literals, e.g. 2,5 or '[1.0, 2.0], 3'")
    p.add_argument("--wrt", metavar="PARAMS", help="as for export (default: every real argument)")
    p.add_argument("--digits", type=int, metavar="N", help="significant digits to print")
    p.add_argument("--markdown", action="store_true", help="print Markdown tables")
    p.set_defaults(run=_cmd_explain)
    return parser


def main(argv=None) -> int:
    """Run the command line; returns the exit status (the console script exits with it)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "command", None):
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        return args.run(args, argv)
    except _Usage as exc:
        print(f"s2sad: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("s2sad: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `s2sad show ... | head`
        return 0
    except Exception as exc:  # noqa: BLE001 - the command line reports every failure as one line
        print(f"s2sad: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR


def _one_line(exc) -> str:
    from .errors import S2SADError

    if isinstance(exc, S2SADError):
        text = exc.message
        loc = exc.location
        if loc is not None:
            text = f"{loc.filename}:{loc.line}:{loc.col + 1}: {text}"
        if exc.hint:
            text += f" (hint: {exc.hint})"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
