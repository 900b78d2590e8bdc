"""Atomic file writes, shared by everything in stepgrad that saves a file.

A file is written to a temporary file in the target's folder, flushed to disk, given
the permissions a plain ``open(path, "w")`` would give it (the existing file's mode,
or 0666 less the umask), and only then renamed over the target. A reader sees the old
file or the new one, never half of one, and a failed write leaves nothing behind.
"""

from __future__ import annotations

import os
import pathlib
import tempfile


def _default_mode(target: pathlib.Path) -> int:
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomically(path: str | os.PathLike[str], data: str | bytes) -> pathlib.Path:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` atomically; returns the path.

    >>> write_atomically("out.svg", "<svg/>")      # doctest: +SKIP
    """
    target = pathlib.Path(path)
    directory = target.parent if str(target.parent) else pathlib.Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(f"cannot write {str(target)!r}: folder {str(directory)!r} does not exist")
    if not isinstance(data, (str, bytes)):
        raise TypeError(f"write_atomically: data must be str or bytes, got {type(data).__name__}")
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(raw)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(tmp, _default_mode(target))
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return target
