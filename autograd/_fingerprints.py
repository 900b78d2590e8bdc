"""Regenerate the accelerator's fingerprints of ``engine.py`` (``_fast.FINGERPRINTS``).

    python -m autograd._fingerprints           # print the table for the engine.py beside this file
    python -m autograd._fingerprints --write   # and write it into autograd/_fast.py

Run it after changing ``engine.py`` and checking that ``_fast.py``'s copies still copy it (the
contract tests in ``tests/test_fast.py``); until then ``tests/test_fast.py`` fails and prints the new
table, and importing ``autograd`` sets aside the copies whose reference changed (saying so on stderr).
"""

from __future__ import annotations

import argparse
import hashlib
import pathlib
import re
import sys

from ._watch import fingerprints, with_other_files

HERE = pathlib.Path(__file__).resolve().parent
_TABLE = re.compile(
    r"# ---- fingerprints \(generated[^\n]*\n# fmt: off\n(?P<table>.*?)# fmt: on\n# ---- end of fingerprints",
    re.DOTALL,
)


def table(engine_source: bytes) -> str:
    """The fingerprint table of ``engine_source`` and ``OTHER_FILES`` beside it, as source for ``_fast.py``."""
    from . import _fast

    names = _fast.watched()
    engine_source = with_other_files(engine_source, str(HERE))  # and OTHER_FILES (op.py, limits.py, cases.py, ...)
    now = fingerprints(engine_source, names)
    lines = [f'ENGINE_SHA256 = "{hashlib.sha256(engine_source).hexdigest()}"', "FINGERPRINTS = {"]
    lines += [f'    "{name}": "{now.get(name, "missing")}",' for name in names]
    return "\n".join(lines) + "\n}\n"


def updated(fast_source: str, new_table: str) -> str:
    """``_fast.py``'s source with its table replaced by ``new_table``."""
    match = _TABLE.search(fast_source)
    if match is None:
        raise ValueError("autograd/_fast.py: the fingerprint table's marker comments are missing")
    return fast_source[: match.start("table")] + new_table + fast_source[match.end("table") :]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write the table into autograd/_fast.py")
    args = parser.parse_args(argv)
    new_table = table((HERE / "engine.py").read_bytes())
    if not args.write:
        sys.stdout.write(new_table)
        return 0
    from .files import write_atomically

    fast = HERE / "_fast.py"
    source = fast.read_text(encoding="utf-8")
    result = updated(source, new_table)
    if result == source:
        print(f"{fast}: the fingerprints are current")
    else:
        write_atomically(fast, result)
        print(f"{fast}: fingerprints written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
