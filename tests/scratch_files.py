"""Scratch special files for the file-safety tests: device nodes made with ``os.mknod`` in a temporary
folder (never the machine's ``/dev``). Making a device node needs root; in CI (``CI=true``) not being
root is a failure, not a skip (``conftest.missing``)."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path

from conftest import missing

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
NULL_DEVICE = (1, 3)  # Linux's /dev/null numbers: a scratch node with them discards what a bug would write
ZERO_DEVICE = (1, 5)  # Linux's /dev/zero numbers: endless zero bytes to a reader
NO_DRIVER = (240, 0)  # a "local/experimental" major number: no driver, opening the node fails


def needs_root() -> None:
    """Skip (locally) or fail (in CI) unless we may make device nodes and give files away."""
    if not IS_ROOT:
        missing("needs root (os.mknod, os.chown); CI runs as root")


def scratch_device(folder, name="device", kind=stat.S_IFCHR, numbers=NULL_DEVICE):
    """A device node ``folder/name`` with the given major/minor numbers."""
    needs_root()
    path = folder / name
    os.mknod(path, kind | 0o666, os.makedev(*numbers))
    return path


def fifo_with_reader(folder: Path, name: str = "pipe") -> tuple[Path, Callable[[], bytes]]:
    """A named pipe ``folder/name`` and a thread already reading it to the end; ``received()`` waits for it."""
    fifo = folder / name
    os.mkfifo(fifo)
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.append(fifo.read_bytes()), daemon=True)
    reader.start()

    def received() -> bytes:
        reader.join(timeout=30)
        assert chunks, f"nothing was read from {fifo}"
        return chunks[0]

    return fifo, received
