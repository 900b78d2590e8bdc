"""Atomic file writes: the one writer everything in stepgrad that saves a file goes through.

``write_atomically(path, data)`` writes ``data`` to a temporary file beside the real target,
flushes it to disk and renames it over the target: a reader sees the old file or the new one,
never half of one, and a failed write leaves the old file as it was. Around that rename it
behaves like a plain ``open(path, "w")``, so it never replaces what ``open`` would not:

- A symlink is followed: the file it points to is updated and the link stays a link.
- Only a regular file is replaced. A folder, device, FIFO or socket is refused (``streams=True``
  writes to a character device or FIFO directly instead, e.g. ``/dev/stdout``; ``"-"`` is stdout).
- An existing file's permissions are respected: a read-only file is refused, even as root.
  The new file keeps the old one's mode (and owner, when we may set it); a new file gets the
  mode ``open`` would give it, because the kernel applies the umask (we never change the umask).
- Errors name the path the caller gave, never the temporary file.

``write_all_atomically({path: data, ...})`` writes several files as one (every temporary written before
any is renamed into place: a refused target or a full disk leaves them all as they were), and
``check_writable(path)`` raises what a write would meet now, so a long job can refuse a bad output first.

As with any atomic replace, a file with other hard links gets a new inode under this name (the other
names keep the old content), and a process holding the old file open keeps reading the old content.

Temporaries are named ``.<name>.<target hash>.<random>.stepgrad-tmp`` (short enough for any
allowed name). A save killed between creating and renaming one leaves it behind; the next save
to the same target removes such leftovers once they are older than ``STALE_SECONDS`` and owned
by us, so they never accumulate. (A younger one may belong to a save still running.)
"""

from __future__ import annotations

import errno
import hashlib
import os
import pathlib
import re
import secrets
import stat
import sys
import time
from collections.abc import Mapping
from typing import Any, TypeVar, Union

STALE_SECONDS = 10 * 60
_SUFFIX = ".stepgrad-tmp"
_Path = TypeVar("_Path", bound=Union[str, "os.PathLike[str]"])
_TEMPORARY = re.compile(r"\.([A-Za-z0-9_-]{0,32})\.([0-9a-f]{16})\.[0-9a-f]{16}" + re.escape(_SUFFIX))


def write_atomically(path: str | os.PathLike[str], data: str | bytes, *, streams: bool = False) -> pathlib.Path:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` as a whole file or not at all; returns ``Path(path)``.

    Raises ``OSError`` (``IsADirectoryError``, ``PermissionError``, ...) naming ``path`` when the
    target is not a regular file, is read-only, or the write fails; the target is then unchanged.
    With ``streams=True``, ``"-"`` means stdout and an existing character device or FIFO
    (``/dev/stdout``, a terminal, a named pipe) is written directly, without a temporary file; opening a
    FIFO waits for its reader, as a shell redirection does. A block device, socket or folder is refused.

    >>> write_atomically("out.svg", "<svg/>")      # doctest: +SKIP
    """
    name = _path_name(path, "write_atomically")
    raw = _bytes(data, "write_atomically")
    if streams and name == "-":
        _write_stdout(raw, data)
        return pathlib.Path(name)
    target = _target(name, streams)
    if target is None:  # a device or FIFO, with streams=True
        _write_stream(name, raw)
        return pathlib.Path(name)
    real, existing = target
    folder = os.path.dirname(real)
    try:
        _remove_stale_temporaries(folder, os.path.basename(real))
        temporary = _write_temporary(folder, real, raw, existing)
        try:
            os.replace(temporary, real)
        except BaseException:
            _unlink(temporary)
            raise
    except OSError as error:
        raise _naming(error, name) from None
    _sync_folder(folder)
    return pathlib.Path(name)


def check_writable(path: str | os.PathLike[str]) -> None:
    """Raise the ``OSError`` that ``write_atomically(path, ...)`` would raise for what is at ``path`` now
    (a folder, a FIFO, a read-only file, a missing folder, a name too long), without writing anything.

    A write may still fail later (a full disk); this finds what can be known before the work is done.
    """
    _target(_path_name(path, "check_writable"), streams=False)


def write_all_atomically(files: Mapping[_Path, str | bytes]) -> list[pathlib.Path]:
    """Write several files as one: all of them, or (where it can be helped) none; returns their paths.

    Every target is checked first (as ``check_writable``), then every file is written to its
    temporary and flushed to disk, and only then are the temporaries renamed into place, in order.
    So a refused target, a full disk or any failed write leaves every target as it was, with no
    temporary behind. A rename itself needs no space and, once the checks passed, fails only if
    something else changes the folder meanwhile; the error then says which files were already replaced.
    """
    prepared: list[tuple[str, str, bytes, os.stat_result | None]] = []
    for path, data in files.items():
        name = _path_name(path, "write_all_atomically")
        target = _target(name, streams=False)
        assert target is not None  # streams=False: never a stream
        prepared.append((name, target[0], _bytes(data, "write_all_atomically"), target[1]))
    temporaries: list[str | None] = []
    try:
        for name, real, raw, existing in prepared:
            folder = os.path.dirname(real)
            try:
                _remove_stale_temporaries(folder, os.path.basename(real))
                temporaries.append(_write_temporary(folder, real, raw, existing))
            except OSError as error:
                raise OSError(error.errno, f"{error.strerror or error}; no file was replaced", name) from None
        for k, (name, real, _, _) in enumerate(prepared):
            temporary = temporaries[k]
            assert temporary is not None
            try:
                os.replace(temporary, real)
            except OSError as error:
                done = [n for n, *_ in prepared[:k]]
                note = f"; already replaced: {', '.join(map(repr, done))}" if done else "; nothing was replaced"
                raise OSError(error.errno, f"{error.strerror or error}{note}", name) from None
            temporaries[k] = None
    finally:
        for temporary in temporaries:
            if temporary is not None:
                _unlink(temporary)
    for folder in dict.fromkeys(os.path.dirname(real) for _, real, _, _ in prepared):
        _sync_folder(folder)
    return [pathlib.Path(name) for name, *_ in prepared]


def _path_name(path: Any, where: str) -> str:
    name = os.fspath(path) if isinstance(path, (str, os.PathLike)) else None
    if not isinstance(name, str):
        raise TypeError(f"{where}: path must be a str or os.PathLike, got {type(path).__name__}")
    if not name:
        raise ValueError(f"{where}: path is empty")
    return name


def _bytes(data: Any, where: str) -> bytes:
    if not isinstance(data, (str, bytes)):
        raise TypeError(f"{where}: data must be str or bytes, got {type(data).__name__}")
    return data.encode("utf-8") if isinstance(data, str) else data


def _target(name: str, streams: bool) -> tuple[str, os.stat_result | None] | None:
    """The real file to replace and its current state, or None for a stream to write directly (``streams``);
    the ``OSError`` naming ``name`` that ``open(name, "w")`` would meet, or stepgrad refuses, otherwise."""
    try:
        existing: os.stat_result | None = os.stat(name)  # follows links the kernel's way (/dev/stdout → a pipe)
    except FileNotFoundError:
        existing = None
    except OSError as error:  # a symlink loop, a file used as a folder, a name too long, ...
        raise _naming(error, name) from None
    if name.endswith(os.sep) and (existing is None or not stat.S_ISDIR(existing.st_mode)):
        raise IsADirectoryError(errno.EISDIR, "a file name cannot end with a slash", name)

    if existing is not None and not stat.S_ISREG(existing.st_mode):
        if streams and (stat.S_ISCHR(existing.st_mode) or stat.S_ISFIFO(existing.st_mode)):
            return None
        raise _not_regular(name, existing.st_mode, streams)

    real = os.path.realpath(name)  # a symlink's target: the temporary goes beside the file we update
    if existing is not None:
        try:
            same = os.path.samestat(existing, os.stat(real))
        except OSError:
            same = False
        if not same:  # a /proc magic link to a deleted file, or the file moved while we looked
            if streams:
                return None
            raise OSError(errno.EINVAL, "cannot find the file this path names to replace it", name)
        if not _may_write(real, existing):
            raise PermissionError(errno.EACCES, "Permission denied (the file is read-only)", name)
    folder = os.path.dirname(real)
    if not os.path.isdir(folder):
        shown = (os.path.dirname(name) or ".") if real == os.path.abspath(name) else folder
        raise FileNotFoundError(errno.ENOENT, f"folder {shown!r} does not exist", name)
    return real, existing


def _write_temporary(folder: str, real: str, raw: bytes, existing: os.stat_result | None) -> str:
    """A new temporary in ``folder`` holding ``raw``, flushed to disk, with the target's mode and owner."""
    fd, temporary = _create_temporary(folder, os.path.basename(real))
    try:
        try:
            if existing is not None:
                _copy_owner_and_mode(fd, existing)
            view = memoryview(raw)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        _unlink(temporary)
        raise
    return temporary


def _unlink(temporary: str) -> None:
    try:
        os.unlink(temporary)
    except OSError:
        pass


def _create_temporary(folder: str, target_name: str) -> tuple[int, str]:
    """A new file ``.<name>.<hash>.<random>.stepgrad-tmp`` created with mode 0666: the kernel applies the umask.

    That is exactly the mode ``open(path, "w")`` gives a new file (a folder's default ACL included),
    read without ``os.umask``, which sets the umask of every thread to read it.
    """
    readable = _readable(target_name)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(100):
        temporary = os.path.join(folder, f".{readable}.{_target_hash(target_name)}.{secrets.token_hex(8)}{_SUFFIX}")
        try:
            return os.open(temporary, flags, 0o666), temporary
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "could not create a temporary file", folder)  # pragma: no cover


def _readable(target_name: str) -> str:
    """The target's name in at most 32 ASCII characters: a temporary fits NAME_MAX whatever the name."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", target_name)[:32]


def _target_hash(target_name: str) -> str:
    return hashlib.sha256(os.fsencode(target_name)).hexdigest()[:16]


def _remove_stale_temporaries(folder: str, target_name: str) -> None:
    """Delete our own leftovers for this target: older than STALE_SECONDS, owned by us, regular files."""
    mine = (_readable(target_name), _target_hash(target_name))
    deadline = time.time() - STALE_SECONDS
    uid = os.geteuid() if hasattr(os, "geteuid") else None
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        match = _TEMPORARY.fullmatch(entry.name)
        if match is None or match.groups() != mine:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(info.st_mode) and info.st_mtime < deadline and (uid is None or info.st_uid == uid):
                os.unlink(entry.path)
        except OSError:
            continue  # gone already, or not ours to remove


def _may_write(real: str, existing: os.stat_result) -> bool:
    """Would ``open(path, "w")`` be allowed to write this file?"""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # Root bypasses permission bits, so the kernel would let root overwrite a 0444 file. A file
        # nobody may write is read-only on purpose: refuse it ourselves by reading the mode bits.
        return bool(existing.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    if os.access in os.supports_effective_ids:
        return os.access(real, os.W_OK, effective_ids=True)
    return os.access(real, os.W_OK)  # pragma: no cover - platforms without effective-id access()


def _copy_owner_and_mode(fd: int, existing: os.stat_result) -> None:
    """The replacement keeps the old file's owner (when we may set it) and mode, as an in-place write would."""
    if hasattr(os, "fchown"):
        try:
            os.fchown(fd, existing.st_uid, existing.st_gid)
        except PermissionError:
            pass  # only root may give a file away; we then own the new file, as with any rename
    os.fchmod(fd, stat.S_IMODE(existing.st_mode))  # after fchown, which may clear set-id bits


def _sync_folder(folder: str) -> None:
    """Flush the rename itself to disk (the folder's entry), where the platform allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_stream(name: str, raw: bytes) -> None:
    """Write to an existing character device or FIFO as it is (no temporary, no rename)."""
    # O_TRUNC matters only for a regular file reached through a /proc link (devices and FIFOs ignore it)
    flags = os.O_WRONLY | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(name, flags)  # no O_CREAT: if the device went away, that is an error
        try:
            view = memoryview(raw)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
    except OSError as error:
        raise _naming(error, name) from None


def _write_stdout(raw: bytes, data: str | bytes) -> None:
    """``-``: the bytes go to ``sys.stdout`` (its binary buffer when it has one), flushed."""
    stream = sys.stdout
    try:
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            stream.flush()
            buffer.write(raw)
            buffer.flush()
        else:  # a text-only stdout (e.g. replaced by io.StringIO)
            stream.write(data if isinstance(data, str) else raw.decode("utf-8", "replace"))
            stream.flush()
    except OSError as error:  # e.g. BrokenPipeError when the reader has gone
        raise _naming(error, "-") from None


_KINDS = (
    (stat.S_ISREG, "a regular file"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
)


def kind_of(mode: int) -> str:
    """What a file of this ``st_mode`` is, in words: "a folder", "a character device", "a FIFO (named pipe)", ..."""
    return next((what for test, what in _KINDS if test(mode)), "a special file")


def _not_regular(name: str, mode: int, streams: bool) -> OSError:
    if stat.S_ISDIR(mode):
        return IsADirectoryError(errno.EISDIR, "Is a directory", name)
    hint = "" if streams else "; stepgrad replaces regular files only"
    return OSError(errno.EINVAL, f"it is {kind_of(mode)}, not a regular file{hint}", name)


def _naming(error: OSError, name: str) -> OSError:
    """The same kind of error, naming the user's path (not a temporary file's)."""
    if error.errno is None:
        return type(error)(f"{error}: {name!r}")
    # OSError(errno, ...) builds the matching subclass: PermissionError, IsADirectoryError, ...
    return OSError(error.errno, error.strerror or os.strerror(error.errno), name)
