"""``python -m autograd graph|steps ...``: the ``stepgrad`` command without the ``nn`` package's ``demo``."""

from __future__ import annotations

import sys

from .cli import EXIT_USAGE, PROG, main


def _main() -> int:
    argv = sys.argv[1:]
    if argv[:1] == ["demo"]:  # the demo trains an nn.MLP, and autograd never imports nn
        sys.stderr.write(f"{PROG}: error: the demo lives in the nn package: run `stepgrad demo` instead\n")
        return EXIT_USAGE
    return main(argv)


if __name__ == "__main__":
    sys.exit(_main())
