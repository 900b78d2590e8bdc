"""The ``stepgrad`` console script: ``demo`` (here, in ``nn``) plus ``graph`` and ``steps`` (from ``autograd.cli``).

    stepgrad demo [--out DIR] [--steps N] [--seed S]
    stepgrad graph "tanh(x*w + b)" --at x=2,w=-3,b=6.88 -o neuron.svg
    stepgrad steps "x*y + sin(x)" --at x=2,y=-3 --html steps.html

``autograd`` never imports ``nn``, so the demo, which trains an ``nn.MLP``, is added to
``autograd.cli``'s parser here. Errors are one line on stderr (``stepgrad: error: ...``):
exit status 2 for bad arguments, 1 for a missing dependency, no traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from autograd import cli as autograd_cli

from . import demo


def _say(text: str) -> None:
    """Print a line; characters the terminal cannot encode (−, ·, ←) are escaped instead of crashing."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    sys.stdout.write(text.encode(encoding, "backslashreplace").decode(encoding) + "\n")
    sys.stdout.flush()


def run_demo_command(args: argparse.Namespace) -> int:
    """``stepgrad demo``: train, report the loss and accuracy, write the four files; errors → ``CommandError``."""
    try:
        demo.run_demo(args.out, steps=args.steps, seed=args.seed, progress=True, report=_say)
    except demo.DemoError as error:
        raise autograd_cli.CommandError(str(error), error.status) from None
    return autograd_cli.EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """``autograd.cli``'s parser (graph, steps) with the ``demo`` subcommand added."""
    parser, subcommands = autograd_cli.build_parser()
    parser.description = (
        "stepgrad: a scalar autodiff engine for learning backpropagation. "
        "Start with `stepgrad demo`; draw an expression's graph with `graph`, step through its backward pass "
        "with `steps`."
    )
    parser.epilog = "Example: stepgrad demo --out stepgrad-demo"
    command = subcommands.add_parser(
        "demo",
        help="train micrograd's moons classifier and write pictures and a backprop stepper page",
        description="Train MLP(2, [16, 16, 1]) on 100 two-moons points (SVM max-margin loss + 1e-4·Σp², "
        "SGD with learning rate 1.0 − 0.9·k/steps) with a progress bar, print the final loss and accuracy, "
        "and write decision_boundary.png, loss_curve.png, neuron_graph.svg and backprop_steps.html into --out.",
    )
    command.add_argument(
        "--out", default=demo.DEFAULT_OUT, metavar="DIR", help=f"folder to write into ({demo.DEFAULT_OUT})"
    )
    command.add_argument(
        "--steps", type=int, default=demo.DEFAULT_STEPS, metavar="N", help=f"training steps ({demo.DEFAULT_STEPS})"
    )
    command.add_argument(
        "--seed", type=int, default=demo.DEFAULT_SEED, metavar="S", help=f"data and weight seed ({demo.DEFAULT_SEED})"
    )
    command.set_defaults(handler=run_demo_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``stepgrad demo|graph|steps ...``: parse ``argv`` (default ``sys.argv[1:]``), run, return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help (0) or a usage error (2), already printed as one line
        return exit_.code if isinstance(exit_.code, int) else autograd_cli.EXIT_USAGE
    return autograd_cli.run(args)


if __name__ == "__main__":
    sys.exit(main())
