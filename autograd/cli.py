"""The ``stepgrad`` command line: ``graph`` and ``steps`` for an expression typed at the shell.

    stepgrad graph "tanh(x*w + b)" --at x=2,w=-3,b=6.88 -o neuron.svg --rankdir TB
    stepgrad steps "x*y + sin(x)" --at x=2,y=-3 --html steps.html

``EXPR`` is parsed by ``autograd.expr`` (a whitelist over Python's syntax tree, never
``eval``). Every mistake in the input is one line on stderr (``stepgrad: error: ...``)
and exit status 2, with no traceback and no file written: everything is parsed,
computed and rendered before a file is written, and files are written atomically.
A missing Graphviz ``dot`` program gives its install instructions and exit status 1.

The ``demo`` subcommand lives in the ``nn`` package (``autograd`` never imports
``nn``). ``nn.cli`` extends this parser::

    parser, subcommands = build_parser()
    demo = subcommands.add_parser("demo", help="...")
    demo.set_defaults(handler=run_demo)      # run_demo(args) -> int; may raise CommandError
    return run(parser.parse_args(argv))
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from .engine import Value
from .expr import FUNCTIONS, ExprError, evaluate, parse_bindings
from .graph import topological_order

PROG = "stepgrad"
EXIT_OK = 0
EXIT_ENVIRONMENT = 1  # the machine lacks something (Graphviz's dot) or refused a write
EXIT_USAGE = 2  # the input was wrong
MAX_DRAWN_NODES = 1000  # values in one drawing (Graphviz layout is unusable far beyond this)
MAX_HTML_STEPS = 200  # frames in one stepper page (each frame is one Graphviz layout)


class CommandError(Exception):
    """A failure to report as ``stepgrad: error: <message>`` with exit ``status`` (2: bad input, 1: environment)."""

    def __init__(self, message: str, status: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.status = status


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``stepgrad: error: <message> (see 'stepgrad graph --help')``."""

    def error(self, message: str) -> NoReturn:
        if "EXPR" in message:  # argparse takes an EXPR such as -x*y for an option
            message += "; an EXPR that starts with '-' needs parentheses or a leading space, e.g. '(-x)*y'"
        self.exit(EXIT_USAGE, f"{PROG}: error: {message} (see '{self.prog} --help')\n")


_EXPR_HELP = (
    "the expression, in quotes: numbers, variables bound by --at, + - * / **, parentheses and "
    f"the functions {', '.join(FUNCTIONS)} (leaky_relu(x, alpha) takes an optional slope). "
    "An EXPR that starts with '-' needs parentheses or a leading space: '(-x)*y' or ' -x*y'."
)
_AT_HELP = "the point to evaluate at, e.g. --at x=1,w=-3 (may be repeated)"


def build_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    """The ``stepgrad`` parser with its ``graph`` and ``steps`` subcommands, and the subparsers action.

    Each subcommand sets ``handler`` (``handler(args) -> int``); ``run(args)`` calls it.
    """
    parser = _Parser(
        prog=PROG,
        description="See reverse-mode autodiff at work: draw an expression's graph with its gradients, "
        "or step through its backward pass one chain-rule update at a time.",
        epilog=f'Example: {PROG} steps "tanh(x*w + b)" --at x=2,w=-3,b=6.88',
    )
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    graph = subcommands.add_parser(
        "graph",
        help="evaluate EXPR, run backward() and write its graph as SVG",
        description="Evaluate EXPR at the point given by --at, run backward() and draw the graph "
        "(values, operations, data and gradients) as an SVG file. Needs Graphviz's dot program.",
    )
    graph.add_argument("expr", metavar="EXPR", help=_EXPR_HELP)
    graph.add_argument("--at", action="append", default=[], metavar="NAME=VALUE,...", help=_AT_HELP)
    graph.add_argument("-o", "--output", default="graph.svg", metavar="FILE", help="SVG file to write (graph.svg)")
    graph.add_argument(
        "--rankdir",
        type=str.upper,
        choices=("LR", "TB"),
        default="LR",
        help="layout direction: LR (left to right, the default) or TB (top to bottom)",
    )
    graph.set_defaults(handler=run_graph)

    steps = subcommands.add_parser(
        "steps",
        help="print the backward pass of EXPR step by step (chain rule with numbers)",
        description="Evaluate EXPR at the point given by --at and print the backward pass one node at a time: "
        "upstream gradient x local derivative flowing into each parent. --html also writes a page to "
        "scrub through the steps in a browser (needs Graphviz's dot program).",
    )
    steps.add_argument("expr", metavar="EXPR", help=_EXPR_HELP)
    steps.add_argument("--at", action="append", default=[], metavar="NAME=VALUE,...", help=_AT_HELP)
    steps.add_argument("--html", metavar="FILE", help="also write the steps as one self-contained HTML page")
    steps.set_defaults(handler=run_steps)
    return parser, subcommands


def run(args: argparse.Namespace) -> int:
    """Run the subcommand chosen in ``args`` (its ``handler``); errors become one line on stderr and an exit status."""
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        return _fail("no command given: use graph or steps (see 'stepgrad --help')", EXIT_USAGE)
    try:
        return handler(args)
    except (CommandError, ExprError) as error:
        return _fail(str(error), getattr(error, "status", EXIT_USAGE))
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except BrokenPipeError:  # e.g. `stepgrad steps ... | head`: the reader left; nothing to report
        _silence_stdout()
        return EXIT_ENVIRONMENT


def main(argv: Sequence[str] | None = None) -> int:
    """``stepgrad graph|steps ...``: parse ``argv`` (default ``sys.argv[1:]``), run, return the exit status."""
    parser, _ = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help (0) or a usage error (2), already printed by argparse
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    return run(args)


# --------------------------------------------------------------------------- subcommands


def run_graph(args: argparse.Namespace) -> int:
    """``stepgrad graph``: evaluate, backward, write the SVG, print the value, the gradients and the file."""
    from . import viz

    root, leaves, root_name = _evaluate(args.expr, args.at)
    root.backward()
    _check_drawable(root)
    output = _output_path(args.output, "-o/--output")
    try:
        written = viz.save_svg(root, output, rankdir=args.rankdir, max_nodes=MAX_DRAWN_NODES)
    except viz.GraphvizNotFound as error:
        raise CommandError(str(error), EXIT_ENVIRONMENT) from None
    except OSError as error:
        raise CommandError(f"cannot write {output!r}: {error.strerror or error}", EXIT_ENVIRONMENT) from None
    lines = [f"{root_name} = {root.data!r}", *_gradient_lines(root_name, leaves), f"wrote {written}"]
    _print("\n".join(lines))
    return EXIT_OK


def run_steps(args: argparse.Namespace) -> int:
    """``stepgrad steps``: evaluate, print the backward pass step by step and the gradients; ``--html`` page."""
    from . import stepper, viz

    root, leaves, root_name = _evaluate(args.expr, args.at)
    steps = stepper.backward_steps(root)
    trace = steps.explain()  # runs the whole pass: every .grad is now backward()'s
    written = None
    if args.html is not None:
        if len(steps) > MAX_HTML_STEPS:
            raise CommandError(
                f"--html draws one graph per step; this expression has {len(steps)} steps, "
                f"the limit is {MAX_HTML_STEPS}: use a smaller expression"
            )
        _check_drawable(root)
        output = _output_path(args.html, "--html")
        try:
            written = steps.save_html(output, max_nodes=MAX_DRAWN_NODES)
        except viz.GraphvizNotFound as error:
            raise CommandError(str(error), EXIT_ENVIRONMENT) from None
        except OSError as error:
            raise CommandError(f"cannot write {output!r}: {error.strerror or error}", EXIT_ENVIRONMENT) from None
    lines = [f"{root_name} = {root.data!r}", "", trace, "", "gradients:", *_gradient_lines(root_name, leaves)]
    if written is not None:
        lines.append(f"wrote {written}")
    _print("\n".join(lines))
    return EXIT_OK


# --------------------------------------------------------------------------- helpers


def _evaluate(text: str, at: Sequence[str]) -> tuple[Value, dict[str, Value], str]:
    """Parse the --at bindings (possibly several flags) and build EXPR's graph; name the root."""
    bindings: dict[str, float] = {}
    for chunk in at:
        for name, number in parse_bindings(chunk).items():
            if name in bindings:
                raise ExprError(f"--at binds {name!r} twice")
            bindings[name] = number
    root_label, k = "f", 0
    while root_label in bindings:  # the output is f unless a variable is called f: then f1, f2, ...
        k += 1
        root_label = f"f{k}"
    root, leaves = evaluate(text, bindings, root_label=root_label)
    return root, leaves, root.label or root_label


def _gradient_lines(root_name: str, leaves: dict[str, Value]) -> list[str]:
    """One line ``∂f/∂x = <gradient>`` per variable, full precision."""
    if not leaves:
        return ["(no variables: EXPR is a constant)"]
    return [f"∂{root_name}/∂{name} = {float(leaf.grad)!r}" for name, leaf in leaves.items()]


def _check_drawable(root: Value) -> None:
    count = len(topological_order(root))
    if count > MAX_DRAWN_NODES:
        raise CommandError(
            f"the graph of EXPR has {count} values, more than the {MAX_DRAWN_NODES} a drawing allows "
            "(Graphviz layout becomes unusable): draw a smaller expression"
        )


def _output_path(path: str, option: str) -> str:
    """Refuse an output path that cannot be written as a file, before anything is written."""
    if not path or not path.strip():
        raise CommandError(f"{option} needs a file name")
    if os.path.isdir(path):
        raise CommandError(f"{option} {path!r} is a folder; give a file name")
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise CommandError(f"{option} {path!r}: the folder {folder!r} does not exist")
    return path


def _print(text: str) -> None:
    """Print to stdout; characters the terminal cannot encode (∂, ×, →) are escaped rather than crashing."""
    stream = sys.stdout
    encoding = getattr(stream, "encoding", None) or "utf-8"
    stream.write(text.encode(encoding, "backslashreplace").decode(encoding) + "\n")
    stream.flush()


def _fail(message: str, status: int) -> int:
    sys.stderr.write(f"{PROG}: error: {message}\n")
    return status


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at devnull so the interpreter's final flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor behind stdout
        pass
