"""The ``stepgrad`` command line: ``demo``, ``graph``, ``steps`` and ``check``.

    stepgrad demo [gpt] [--out DIR] [--steps N] [--seed S]
    stepgrad graph "tanh(x*w + b)" --at x=2,w=-3,b=6.88 -o neuron.svg [--rankdir TB] [--edge-labels]
    stepgrad steps "x*y + sin(x)" --at x=2,y=-3 [--html steps.html]
    stepgrad check my_micrograd.py [--root loss]

This is the one command-line module: the console script ``stepgrad`` and ``python -m nn`` run
``main``. It lives in ``nn`` because the demo trains an ``nn.MLP`` (``autograd`` never imports
``nn``); ``graph`` and ``steps`` use only ``autograd``: the expression parser ``autograd.expr``
(a whitelist over Python's syntax tree, never ``eval``), ``autograd.views`` (drawing, stepper).

Every error is one line on stderr (``stepgrad: error: ...``) and no traceback: exit status 2 for bad
input, 1 for what the machine lacks (a Python package, Graphviz's ``dot``) or refuses (a write).
Everything is computed and rendered before a file is written, and files are written atomically.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import os
import pathlib
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NoReturn, TextIO

from autograd.engine import Value
from autograd.expr import FUNCTIONS, ExprError, evaluate, parse_bindings
from autograd.files import check_writable, write_atomically
from autograd.views.drawing import GraphvizNotFound
from autograd.views.layout import LayoutTimeout

from . import demo

PROG = "stepgrad"
EXIT_OK = 0
EXIT_ENVIRONMENT = 1  # the machine lacks something (a package, Graphviz's dot) or refused a write
EXIT_USAGE = 2  # the input was wrong
EXIT_WRONG_GRADIENT = 1  # stepgrad check: a gradient of the learner's engine is wrong
DEMOS = ("moons", "gpt")
GPT_DEMO_STEPS = 1000  # microgpt's run
GPT_DEMO_SEED = 42  # microgpt's seed
FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}  # -o's suffix → the format Graphviz renders


class CommandError(Exception):
    """A failure to report as ``stepgrad: error: <message>`` with exit ``status`` (2: bad input, 1: environment)."""

    def __init__(self, message: str, status: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.status = status


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``stepgrad: error: <message> (see 'stepgrad graph --help')``, and a hint
    where the words typed show a likely slip (an EXPR read as an option, ``--at x=1 y=2``)."""

    _words: list[str] = []  # the arguments this parser was given (a subcommand's parser: the words after it)

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        self._words = [str(word) for word in (sys.argv[1:] if args is None else args)]
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        message += _hint(message, self._words)
        self.exit(EXIT_USAGE, f"{PROG}: error: {message} (see '{self.prog} --help')\n")


_OPTION_WORDS = {"-o", "-h", "-"}  # the short options, and '-' (stdout) as -o's value


def _hint(message: str, words: list[str]) -> str:
    """What to add to argparse's ``message`` about the words typed: ``''`` when nothing is likely."""
    if "required: EXPR" in message:  # argparse takes an EXPR such as -x*y for an option
        dashed = [w for w in words if w.startswith("-") and not w.startswith("--") and w not in _OPTION_WORDS]
        if dashed:
            return (
                f"; {dashed[0]!r} was read as an option: an EXPR that starts with '-' needs parentheses "
                "or a leading space, e.g. '(-x)*y' or ' -x*y'"
            )
        return ""
    if message.startswith("unrecognized arguments:"):
        unrecognized = message.split(":", 1)[1].split()  # argparse lists them joined by spaces
        stray = [w for w in unrecognized if _is_binding(w)]  # 'y=2': a binding outside --at's word
        at = [words[k + 1] for k, w in enumerate(words[:-1]) if w == "--at"]
        at += [w.removeprefix("--at=") for w in words if w.startswith("--at=")]
        if stray:
            together = ",".join([*(a.strip().strip(",") for a in at if a.strip(", ")), *stray])
            return (
                f"; bind the variables with one --at, NAME=VALUE pairs joined by commas without spaces: --at {together}"
            )
    return ""


def _is_binding(word: str) -> bool:
    """Whether ``word`` reads as one ``NAME=NUMBER`` binding."""
    name, equals, number = word.partition("=")
    try:
        float(number)
    except ValueError:
        return False
    return bool(equals) and name.isidentifier()


def _positive_int(text: str) -> int:
    """argparse type: a whole number ≥ 1."""
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text!r}")
    return number


_EXPR_HELP = (
    "the expression, in quotes: numbers, variables bound by --at, + - * / **, parentheses and "
    f"the functions {', '.join(FUNCTIONS)} (leaky_relu(x, alpha) takes an optional slope). "
    "An EXPR that starts with '-' needs parentheses or a leading space: '(-x)*y' or ' -x*y'."
)
_AT_HELP = "the point to evaluate at, e.g. --at x=1,w=-3 (may be repeated)"
_EDGE_HELP = "label each edge into an operation with its local derivative ∂result/∂operand"


def build_parser() -> argparse.ArgumentParser:
    """The ``stepgrad`` parser: ``demo``, ``graph`` and ``steps``, each setting ``handler(args) -> int``."""
    parser = _Parser(
        prog=PROG,
        description="stepgrad: a scalar autodiff engine for learning backpropagation. Start with `stepgrad demo`; "
        "draw an expression's graph with `graph`, step through its backward pass with `steps`.",
        epilog=f'Example: {PROG} steps "tanh(x*w + b)" --at x=2,w=-3,b=6.88',
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    command = commands.add_parser(
        "demo",
        help="train micrograd's moons classifier (or, with 'gpt', a tiny GPT) and write pictures and a stepper page",
        description="Without WHICH (or 'moons'): train MLP(2, [16, 16, 1]) on 100 two-moons points (SVM max-margin "
        "loss + 1e-4·Σp², SGD with learning rate 1.0 − 0.9·k/steps) with a progress bar, print the last step's loss "
        "and accuracy, and write decision_boundary.png, loss_curve.png, neuron_graph.svg, backprop_steps.html and "
        "training.html into --out. 'gpt': train microgpt's GPT on the shipped names, compiled (1,000 steps, one name "
        "each, Adam), sample names before and after, and write gpt_loss_curve.png, gpt_step.svg (one step drawn as "
        "its parts) and gpt_head_steps.html (its backward pass, one attention head's softmax opened) into --out.",
    )
    command.add_argument(
        "which", nargs="?", choices=DEMOS, default="moons", metavar="WHICH", help="moons (the default) or gpt"
    )
    command.add_argument(
        "--out", default=demo.DEFAULT_OUT, metavar="DIR", help=f"folder to write into ({demo.DEFAULT_OUT})"
    )
    command.add_argument(
        "--steps",
        type=_positive_int,
        metavar="N",
        help=f"training steps ({demo.DEFAULT_STEPS}; gpt: {GPT_DEMO_STEPS})",
    )
    command.add_argument(
        "--seed", type=int, metavar="S", help=f"data and weight seed ({demo.DEFAULT_SEED}; gpt: {GPT_DEMO_SEED})"
    )
    command.set_defaults(handler=run_demo)

    command = commands.add_parser(
        "graph",
        help="evaluate EXPR, run backward() and draw its graph (SVG, PNG or PDF)",
        description="Evaluate EXPR at the point given by --at, run backward() and draw the graph "
        "(values, operations, data and gradients) with Graphviz, in the format -o's suffix names.",
    )
    command.add_argument("expr", metavar="EXPR", help=_EXPR_HELP)
    command.add_argument("--at", action="append", default=[], metavar="NAME=VALUE,...", help=_AT_HELP)
    command.add_argument(
        "-o", "--output", default="graph.svg", metavar="FILE", help="file to write: .svg, .png or .pdf (graph.svg)"
    )
    command.add_argument(
        "--rankdir",
        type=str.upper,
        choices=("LR", "TB"),
        default="LR",
        help="layout direction: LR (left to right, the default) or TB (top to bottom)",
    )
    command.add_argument("--edge-labels", action="store_true", help=_EDGE_HELP)
    command.set_defaults(handler=run_graph)

    command = commands.add_parser(
        "steps",
        help="print the backward pass of EXPR step by step (chain rule with numbers)",
        description="Evaluate EXPR at the point given by --at and print the backward pass one node at a time: "
        "upstream gradient x local derivative flowing into each parent. --html also writes a page to "
        "scrub through the steps in a browser (needs Graphviz's dot program).",
    )
    command.add_argument("expr", metavar="EXPR", help=_EXPR_HELP)
    command.add_argument("--at", action="append", default=[], metavar="NAME=VALUE,...", help=_AT_HELP)
    command.add_argument("--html", metavar="FILE", help="also write the steps as one self-contained HTML page")
    command.add_argument("--edge-labels", action="store_true", help=_EDGE_HELP + " (in the --html page)")
    command.set_defaults(handler=run_steps)

    command = commands.add_parser(
        "check",
        help="run your own micrograd script and check the gradients its backward() left (exit 1 if one is wrong)",
        description="Run FILE.py as `python FILE.py` would (it is your own code, run on purpose), then check "
        "every micrograd-like root it left in its globals after backward() -- a node with parents and a gradient "
        "that no other such node uses -- or the one named by --root: stepgrad recomputes every gradient with its "
        "own rules and names the first wrong node and the likely slip. Exit status 0: all right; 1: a gradient "
        "is wrong; 2: no root, a bad file, or the script failed.",
    )
    command.add_argument("file", metavar="FILE.py", help="your script; it builds a graph and calls backward()")
    command.add_argument("--root", metavar="NAME", help="check only the global variable NAME")
    command.set_defaults(handler=run_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``stepgrad demo|graph|steps ...``: parse ``argv`` (default ``sys.argv[1:]``), run, return the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # --help (0) or a usage error (2), already printed as one line
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except (CommandError, ExprError) as error:
        return _fail(str(error), getattr(error, "status", EXIT_USAGE))
    except GraphvizNotFound as error:
        return _fail(str(error), EXIT_ENVIRONMENT)
    except LayoutTimeout as error:  # its hints are for the Python API (depth=..., timeout=...)
        return _fail(f"{str(error).split(';')[0]}; draw a smaller expression", EXIT_USAGE)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except BrokenPipeError:  # e.g. `stepgrad steps ... | head`: the reader left; nothing to report
        _silence_stdout()
        return EXIT_ENVIRONMENT


# --------------------------------------------------------------------------- the commands


def run_demo(args: argparse.Namespace) -> int:
    """``stepgrad demo``: check what it needs, train with a progress bar, report, write the five files."""
    _require(demo.PACKAGES, "demo", "the demo")
    if shutil.which("dot") is None:  # before training, not after
        raise GraphvizNotFound()
    if args.which == "gpt":
        from .gpt_views import GPT_DEMO_FILES

        return _run_gpt_demo(args, _writable_folder(args.out, GPT_DEMO_FILES))
    folder = _writable_folder(args.out, demo.FILES)
    args.steps = demo.DEFAULT_STEPS if args.steps is None else args.steps
    args.seed = demo.DEFAULT_SEED if args.seed is None else args.seed
    _print(f"training MLP(2, [16, 16, 1]) on 100 two-moons points for {args.steps} steps (seed {args.seed}) ...")
    with _write_errors():
        result = demo.run_demo(folder, args.steps, args.seed, progress=True)
    points = len(result.data[1])
    _print(f"final loss {result.final_loss:.4f} (step {args.steps}'s forward pass, as on the progress bar)")
    _print(f"training accuracy {100 * result.accuracy:.1f} % ({round(result.accuracy * points)} of {points} points)")
    shown = folder.resolve()
    width = max(len(name) for name in result.files)
    _print(f"\nwrote {len(result.files)} files to {shown}/:")
    for name in result.files:
        _print(f"  {name:<{width}}  {demo.FILES[name]}")
    page = shown / "backprop_steps.html"
    _print(
        "\nopen them: the .html and .svg files in any web browser (e.g. "
        f"{_opener()} {folder / 'backprop_steps.html'}, or the address {page.as_uri()}), "
        "the .png files in any image viewer."
    )
    return EXIT_OK


def _run_gpt_demo(args: argparse.Namespace, folder: pathlib.Path) -> int:
    """``stepgrad demo gpt``: train microgpt's GPT compiled, report, write its three files."""
    from .gpt_views import run_gpt_demo

    steps = GPT_DEMO_STEPS if args.steps is None else args.steps
    seed = GPT_DEMO_SEED if args.seed is None else args.seed
    with _write_errors():
        run_gpt_demo(folder, steps, seed, progress=True, report=_print, compile=True)  # reports each file it wrote
    page = folder.resolve() / "gpt_head_steps.html"
    _print(
        "\nopen them: the .html and .svg files in any web browser (e.g. "
        f"{_opener()} {folder / 'gpt_head_steps.html'}, or the address {page.as_uri()}), the .png in any image viewer."
    )
    return EXIT_OK


def run_graph(args: argparse.Namespace) -> int:
    """``stepgrad graph``: evaluate, backward, draw in -o's format, print the value, the gradients and the file."""
    output = _output_path(args.output, "-o/--output")
    suffix = pathlib.Path(output).suffix.lower()
    if suffix in FORMATS:
        fmt = FORMATS[suffix]
    elif not suffix and _is_stream(output):  # -o -, -o /dev/stdout, a named pipe: SVG text
        fmt = "svg"
    else:
        raise CommandError(
            f"-o/--output {output!r}: cannot tell the format from {suffix or 'a name without a suffix'}; "
            f"end the name with {', '.join(FORMATS)} (or write SVG to stdout with -o -)"
        )
    _require(("graphviz",), "viz", "stepgrad graph")
    from autograd.views import drawing as viz

    root, leaves, root_name = _evaluate(args.expr, args.at)
    root.backward()
    options = {"rankdir": args.rankdir, "edge_labels": args.edge_labels}
    try:
        if fmt == "svg":
            data: str | bytes = viz.to_svg(root, **options)
        else:
            data = viz.draw_dot(root, fmt=fmt, **options).pipe()
    except ValueError as error:  # draw_dot refuses what it cannot lay out
        raise CommandError(str(error)) from None
    lines = [f"{root_name} = {root.data!r}", *_gradient_lines(root_name, leaves)]
    _report(lines, *_write(output, data, "-o/--output"))
    return EXIT_OK


def run_steps(args: argparse.Namespace) -> int:
    """``stepgrad steps``: evaluate, print the backward pass step by step and the gradients; ``--html`` page."""
    from autograd.views import stepper

    output = None if args.html is None else _output_path(args.html, "--html")
    if output is not None:
        _require(("graphviz",), "viz", "stepgrad steps --html")
    root, leaves, root_name = _evaluate(args.expr, args.at)
    steps = stepper.backward_steps(root)
    trace = steps.explain()  # runs the whole pass: every .grad is now backward()'s
    lines = [f"{root_name} = {root.data!r}", "", trace, "", "gradients:", *_gradient_lines(root_name, leaves)]
    if output is None:
        _report(lines)
        return EXIT_OK
    title = f"stepgrad: the backward pass of {root_name} = {' '.join(args.expr.split())}"
    try:
        page = steps.to_html(title=title, edge_labels=args.edge_labels)
    except ValueError as error:  # draw_dot refuses what it cannot lay out
        raise CommandError(str(error)) from None
    _report(lines, *_write(output, page, "--html"))
    return EXIT_OK


def _set_aside_modules_of(folder: pathlib.Path) -> dict[str, dict[str, Any]]:
    """Take out of ``sys.modules`` the loaded modules a script in ``folder`` would import from that folder
    instead (a learner's ``nn.py`` or ``autograd.py`` beside their script, as ``python FILE.py`` sees it);
    returns them by top-level name, for ``_restore_modules``."""
    names = {p.stem for p in folder.glob("*.py")} | {p.parent.name for p in folder.glob("*/__init__.py")}
    aside: dict[str, dict[str, Any]] = {}
    for name in names:
        taken = {key: sys.modules.pop(key) for key in list(sys.modules) if key == name or key.startswith(name + ".")}
        if taken:
            aside[name] = taken
    return aside


def _restore_modules(aside: dict[str, dict[str, Any]]) -> None:
    """Put stepgrad's modules back, dropping the learner's modules of the same names (their objects live on)."""
    for name, taken in aside.items():
        for key in [key for key in sys.modules if key == name or key.startswith(name + ".")]:
            del sys.modules[key]
        sys.modules.update(taken)


def run_check(args: argparse.Namespace) -> int:
    """``stepgrad check FILE.py``: run the learner's script, check its roots, print the reports; 1 if one is wrong."""
    import runpy
    import traceback

    from autograd.check import ForeignGraphError, check_backward, find_roots
    from autograd.foreign import is_foreign_node

    path = pathlib.Path(args.file)
    if not path.is_file():
        raise CommandError(f"FILE {args.file!r} is not a file")
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv = [str(path)]
    sys.path.insert(0, str(path.resolve().parent))
    shadowed = _set_aside_modules_of(path.resolve().parent)  # the learner's nn.py, not stepgrad's nn
    try:
        namespace = runpy.run_path(str(path), run_name="__main__")
    except SystemExit as exit_:
        if exit_.code not in (None, 0):
            raise CommandError(f"{args.file} exited with status {exit_.code} before it could be checked") from None
        raise CommandError(f"{args.file} called exit(): nothing left to check") from None
    except Exception as error:  # the learner's own code failed: show its traceback, as python FILE.py does
        traceback.print_exc()
        raise CommandError(f"{args.file} raised {type(error).__name__}: {error}") from None
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
        _restore_modules(shadowed)
    try:
        if args.root is not None:
            if args.root not in namespace:
                raise CommandError(f"--root {args.root!r}: {args.file} left no global variable of that name")
            root = namespace[args.root]
            if not (is_foreign_node(root) or isinstance(root, Value)):
                raise CommandError(
                    f"--root {args.root!r} is a {type(root).__name__}, not a node of a micrograd-like graph "
                    "(data, grad and _prev or _children)"
                )
            roots = {args.root: root}
        else:
            roots = find_roots(namespace)
        if not roots:
            raise CommandError(
                f"{args.file} left no micrograd-like root with a gradient in its globals: call backward() on a "
                "global variable (loss.backward()), or name one with --root"
            )
        reports = {name: check_backward(root) for name, root in roots.items()}
    except (ForeignGraphError, ValueError, TypeError) as error:
        raise CommandError(str(error)) from None
    for name, report in reports.items():
        _print(f"{name}: {report}")
    return EXIT_OK if all(report.ok for report in reports.values()) else EXIT_WRONG_GRADIENT


# --------------------------------------------------------------------------- helpers


def _evaluate(text: str, at: Sequence[str]) -> tuple[Value, dict[str, Value], str]:
    """Parse the --at bindings (all flags together) and build EXPR's graph; name the root f (f1, f2, ... if taken)."""
    bindings = parse_bindings(at)
    root_label, k = "f", 0
    while root_label in bindings:
        k += 1
        root_label = f"f{k}"
    root, leaves = evaluate(text, bindings, root_label=root_label)
    return root, leaves, root.label or root_label


def _gradient_lines(root_name: str, leaves: dict[str, Value]) -> list[str]:
    """One line ``∂f/∂x = <gradient>`` per variable, full precision."""
    if not leaves:
        return ["(no variables: EXPR is a constant)"]
    return [f"∂{root_name}/∂{name} = {float(leaf.grad)!r}" for name, leaf in leaves.items()]


def _require(packages: Sequence[str], extra: str, what: str) -> None:
    """Exit status 1 with the pip command when a Python package of an extra is missing."""
    missing = []
    for name in packages:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise CommandError(
            f"{what} needs the Python package(s) {', '.join(missing)}: "
            f"install them with pip install 'stepgrad[{extra}]'",
            EXIT_ENVIRONMENT,
        )


def _output_path(path: str, option: str) -> str:
    """Refuse an output path that cannot be written as a file, before anything is computed."""
    if not path or not path.strip():
        raise CommandError(f"{option} needs a file name")
    if os.path.isdir(path):
        raise CommandError(f"{option} {path!r} is a folder; give a file name")
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise CommandError(f"{option} {path!r}: the folder {folder!r} does not exist")
    return path


def _writable_folder(text: str, names: Iterable[str]) -> pathlib.Path:
    """Before training: create the demo's --out folder if needed, prove it is writable (a probe file), and
    check that each output file ``names`` could be written there (no folder, FIFO or read-only file in its
    place). A bad --out is exit status 2; a folder or file the system will not let us write, 1."""
    if not text.strip():
        raise CommandError("--out needs a folder name")
    path = pathlib.Path(text)
    try:
        os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise CommandError(
                f"--out {text!r} is a symbolic link to {os.readlink(path)!r}, which does not exist; "
                "create that folder or choose another --out"
            ) from None
    except OSError as error:
        if error.errno == errno.ENAMETOOLONG:
            longest = max(len(os.fsencode(part)) for part in path.parts)
            raise CommandError(
                f"--out: a folder name of {longest} bytes is longer than the file system allows (usually 255)"
            ) from None
        if error.errno != errno.ENOTDIR:  # a file used as a folder: the probe below says "Not a directory"
            raise CommandError(f"--out {text!r} cannot be a folder: {error.strerror or error}") from None
    if path.exists() and not path.is_dir():
        raise CommandError(f"--out {text!r} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".stepgrad-probe-"):
            pass
    except OSError as error:
        raise CommandError(f"--out {text!r} is not writable: {error.strerror or error}", EXIT_ENVIRONMENT) from None
    for name in names:
        try:
            check_writable(path / name)
        except OSError as error:
            status = EXIT_ENVIRONMENT if isinstance(error, PermissionError) else EXIT_USAGE
            raise CommandError(
                f"--out {text!r}: cannot write {name!r} there: {error.strerror or error}; "
                "move it away or choose another --out",
                status,
            ) from None
    return path


@contextlib.contextmanager
def _write_errors() -> Iterator[None]:
    """An OS error while the demo writes its files (after training): one line, exit status 1."""
    try:
        yield
    except OSError as error:
        shown = f"{error.filename!r}: " if error.filename else ""
        raise CommandError(f"cannot write {shown}{error.strerror or error}", EXIT_ENVIRONMENT) from None


def _write(path: str, data: str | bytes, option: str) -> tuple[str, bool]:
    """Write the output: a file atomically, or ``-``, a device or a pipe directly (``/dev/stdout``).

    Returns ``(path, whether it went to our stdout)``; an OS refusal is exit status 1 naming the file.
    """
    to_stdout = _shares_stdout(path)
    if to_stdout:
        sys.stdout.flush()
    try:
        write_atomically(path, data, streams=True)
    except OSError as error:
        raise CommandError(f"cannot write {option} {path!r}: {error.strerror or error}", EXIT_ENVIRONMENT) from None
    return path, to_stdout


def _report(lines: list[str], written: str | None = None, to_stdout: bool = False) -> None:
    """The value, gradients and trace: on stdout with ``wrote FILE``, or on stderr when the output took stdout."""
    if to_stdout:
        _print("\n".join(lines), sys.stderr)
    else:
        _print("\n".join(lines + ([f"wrote {written}"] if written is not None else [])))


def _is_stream(path: str) -> bool:
    """``-``, or an existing character device or FIFO (``/dev/stdout`` on a terminal or a pipe), or our stdout."""
    if path == "-" or _shares_stdout(path):
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def _shares_stdout(path: str) -> bool:
    """Whether ``path`` is where this process's stdout goes (``-``, ``/dev/stdout``, ``/proc/self/fd/1``)."""
    if path == "-":
        return True
    try:
        target, ours = os.stat(path), os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no such file, or stdout is not a real file descriptor
        return False
    return (target.st_dev, target.st_ino) == (ours.st_dev, ours.st_ino)


def _opener() -> str:
    """The usual command that opens a file with its default program on this system."""
    if sys.platform == "darwin":
        return "open"
    return "start" if sys.platform.startswith("win") else "xdg-open"


def _print(text: str, stream: TextIO | None = None) -> None:
    """Print a line; characters the terminal cannot encode (∂, ×, →) are escaped rather than crashing."""
    out = stream or sys.stdout
    encoding = getattr(out, "encoding", None) or "utf-8"
    out.write(text.encode(encoding, "backslashreplace").decode(encoding) + "\n")
    out.flush()


def _fail(message: str, status: int) -> int:
    """``stepgrad: error: <message>`` on stderr as one line (a multi-line hint is joined); returns ``status``."""
    lines = [" ".join(line.split()) for line in message.splitlines() if line.strip()]
    joined = lines[0] if lines else "failed"
    for line in lines[1:]:
        joined += (" " if joined.endswith((":", ".")) else "; ") + line
    _print(f"{PROG}: error: {joined}", sys.stderr)
    return status


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at devnull so the interpreter's final flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor behind stdout
        pass


if __name__ == "__main__":
    sys.exit(main())
