"""``python -m nn demo|graph|steps ...``: the ``stepgrad`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
