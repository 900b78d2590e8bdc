"""autograd.files.write_atomically: whole files or nothing, and never what a plain ``open(path, "w")`` would not.

Every attack of issue 10 (items 1-3) is kept here. Device files are scratch nodes made with ``os.mknod``
in a temporary folder (never the machine's ``/dev``); "/dev/stdout as a pipe" is ``/proc/self/fd/N`` of
a pipe we own.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from scratch_files import IS_ROOT, NO_DRIVER, NULL_DEVICE, fifo_with_reader, needs_root, scratch_device

from autograd import files
from autograd.files import write_atomically


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def listing(folder) -> list[str]:
    return sorted(os.listdir(folder))


# ---------------------------------------------------------------- the basics


def test_new_file_gets_the_mode_a_plain_open_would_give(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomically(tmp_path / "a.svg", "<svg/>")
        with open(tmp_path / "b.svg", "w") as f:
            f.write("<svg/>")
        os.umask(0o077)
        write_atomically(tmp_path / "c.svg", "<svg/>")
    finally:
        os.umask(old)
    assert mode(tmp_path / "a.svg") == mode(tmp_path / "b.svg") == 0o644
    assert mode(tmp_path / "c.svg") == 0o600
    assert (tmp_path / "a.svg").read_text() == "<svg/>"


def test_overwriting_keeps_the_existing_mode_and_writes_bytes(tmp_path):
    target = tmp_path / "model.json"
    target.write_text("old")
    os.chmod(target, 0o600)
    write_atomically(target, b"\x00new")
    assert target.read_bytes() == b"\x00new"
    assert mode(target) == 0o600


def test_overwriting_keeps_the_existing_owner(tmp_path):
    needs_root()
    target = tmp_path / "alice.json"
    target.write_text("old")
    os.chown(target, 1234, 5678)
    os.chmod(target, 0o640)
    write_atomically(target, "new")
    info = os.stat(target)
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (1234, 5678, 0o640)
    assert target.read_text() == "new"


def test_missing_folder_is_refused_with_its_name(tmp_path):
    with pytest.raises(FileNotFoundError, match="folder '.*nope' does not exist") as e:
        write_atomically(tmp_path / "nope" / "x.txt", "x")
    assert e.value.filename == str(tmp_path / "nope" / "x.txt")


def test_bad_arguments_are_refused_before_anything_changes(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("old")
    with pytest.raises(TypeError, match="data must be str or bytes, got int"):
        write_atomically(target, 12345)
    with pytest.raises(TypeError, match="path must be a str or os.PathLike, got int"):
        write_atomically(3, "x")  # not a file descriptor
    with pytest.raises(TypeError, match="path must be a str or os.PathLike, got bytes"):
        write_atomically(b"x", "x")
    with pytest.raises(ValueError, match="path is empty"):
        write_atomically("", "x")
    with pytest.raises(IsADirectoryError, match="cannot end with a slash") as e:
        write_atomically(f"{tmp_path}/new/", "x")
    assert e.value.filename == f"{tmp_path}/new/"
    assert target.read_text() == "old"
    assert listing(tmp_path) == ["keep.txt"]


# ---------------------------------------------------------------- symlinks (issue 10, item 1)


def test_a_symlink_updates_the_file_it_points_to_and_stays_a_link(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    real = elsewhere / "model.json"
    real.write_text("old")
    os.chmod(real, 0o640)
    link = tmp_path / "link.json"
    os.symlink("elsewhere/model.json", link)  # relative, resolved from the link's folder
    chain = tmp_path / "chain.json"
    os.symlink(link, chain)

    assert write_atomically(chain, "new") == chain
    assert os.path.islink(chain) and os.path.islink(link)
    assert os.readlink(link) == "elsewhere/model.json"
    assert real.read_text() == "new" and mode(real) == 0o640
    assert listing(tmp_path) == ["chain.json", "elsewhere", "link.json"]
    assert listing(elsewhere) == ["model.json"]  # the temporary was created (and renamed) here


def test_a_dangling_symlink_creates_its_target_as_open_would(tmp_path):
    link = tmp_path / "link.svg"
    os.symlink("made.svg", link)
    write_atomically(link, "<svg/>")
    assert os.path.islink(link) and (tmp_path / "made.svg").read_text() == "<svg/>"


def test_a_dangling_symlink_into_a_missing_folder_and_a_loop_are_refused_by_name(tmp_path):
    os.symlink("gone/x.svg", tmp_path / "dangling")
    with pytest.raises(FileNotFoundError, match="folder '.*gone' does not exist") as e:
        write_atomically(tmp_path / "dangling", "x")
    assert e.value.filename == str(tmp_path / "dangling")
    os.symlink("loop", tmp_path / "loop")
    with pytest.raises(OSError, match="Too many levels of symbolic links") as e:
        write_atomically(tmp_path / "loop", "x")
    assert e.value.errno == errno.ELOOP and e.value.filename == str(tmp_path / "loop")
    assert listing(tmp_path) == ["dangling", "loop"]


# ---------------------------------------------------------------- non-regular targets (issue 10, item 1)


def test_a_character_device_is_refused_and_stays_a_device(tmp_path):
    device = scratch_device(tmp_path, "null")  # what model.save("/dev/null") met, on a scratch node
    with pytest.raises(OSError, match="it is a character device, not a regular file") as e:
        write_atomically(device, "{}")
    assert e.value.filename == str(device)
    assert stat.S_ISCHR(os.lstat(device).st_mode) and os.lstat(device).st_rdev == os.makedev(*NULL_DEVICE)
    assert listing(tmp_path) == ["null"]


def test_a_symlink_to_a_device_is_refused_and_both_stay(tmp_path):
    device = scratch_device(tmp_path, "null")
    os.symlink(device, tmp_path / "stdout")  # the shape of /dev/stdout
    with pytest.raises(OSError, match="character device"):
        write_atomically(tmp_path / "stdout", "<svg/>")
    assert os.path.islink(tmp_path / "stdout") and stat.S_ISCHR(os.lstat(device).st_mode)


def test_block_devices_sockets_and_folders_are_refused_even_with_streams(tmp_path):
    block = scratch_device(tmp_path, "disk", stat.S_IFBLK, NO_DRIVER)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "sock"))
    (tmp_path / "folder").mkdir()
    try:
        for target, error, words in [
            (block, OSError, "it is a block device, not a regular file"),
            (tmp_path / "sock", OSError, "it is a socket, not a regular file"),
            (tmp_path / "folder", IsADirectoryError, "Is a directory"),
        ]:
            for streams in (False, True):
                with pytest.raises(error, match=words) as e:
                    write_atomically(target, "x", streams=streams)
                assert e.value.filename == str(target)
    finally:
        sock.close()
    assert stat.S_ISBLK(os.lstat(block).st_mode) and stat.S_ISSOCK(os.lstat(tmp_path / "sock").st_mode)
    assert listing(tmp_path) == ["disk", "folder", "sock"]


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)  # nobody reads it: opening it for writing would block forever
    with pytest.raises(OSError, match=r"it is a FIFO \(named pipe\), not a regular file"):
        write_atomically(fifo, "x")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


# ---------------------------------------------------------------- streams=True: -o - and -o /dev/stdout


def test_streams_writes_a_fifo_directly(tmp_path):
    fifo, received = fifo_with_reader(tmp_path)
    assert write_atomically(fifo, "<svg>∂</svg>", streams=True) == fifo
    assert received() == "<svg>∂</svg>".encode()
    assert listing(tmp_path) == ["pipe"]


def test_streams_writes_a_pipe_behind_a_proc_link_like_dev_stdout(tmp_path):
    read_end, write_end = os.pipe()
    try:
        stdout_like = f"/proc/self/fd/{write_end}"  # /dev/stdout is a link to /proc/self/fd/1
        with pytest.raises(OSError, match="FIFO"):
            write_atomically(stdout_like, "x")
        write_atomically(stdout_like, b"\x00bytes", streams=True)
        assert os.read(read_end, 100) == b"\x00bytes"
    finally:
        os.close(read_end)
        os.close(write_end)


def test_streams_writes_a_character_device_directly(tmp_path):
    device = scratch_device(tmp_path, "null")
    os.symlink(device, tmp_path / "stdout")
    assert write_atomically(tmp_path / "stdout", "<svg/>", streams=True) == tmp_path / "stdout"
    assert stat.S_ISCHR(os.lstat(device).st_mode) and os.path.islink(tmp_path / "stdout")
    assert listing(tmp_path) == ["null", "stdout"]


def run_python(code: str, cwd) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, capture_output=True, timeout=60)


def test_dash_is_stdout_only_with_streams(tmp_path):
    done = run_python(
        """
        import sys
        from autograd.files import write_atomically
        print("before", flush=True)
        write_atomically("-", "<svg>∂</svg>", streams=True)
        write_atomically("-", b"|bytes", streams=True)
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "before\n<svg>∂</svg>|bytes".encode()
    assert listing(tmp_path) == []
    write_atomically(tmp_path / "-", "a file named -")  # without streams, "-" is an ordinary name
    assert (tmp_path / "-").read_text() == "a file named -"


def test_streams_to_a_closed_pipe_names_the_path(tmp_path):
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        with pytest.raises(BrokenPipeError) as e:
            write_atomically(f"/proc/self/fd/{write_end}", "x", streams=True)
        assert e.value.filename == f"/proc/self/fd/{write_end}"
    finally:
        os.close(write_end)


# ---------------------------------------------------------------- permissions (issue 10, item 1)


def test_a_read_only_file_is_refused_even_as_root(tmp_path):
    target = tmp_path / "frozen.json"
    target.write_text("keep me")
    os.chmod(target, 0o444)
    with pytest.raises(PermissionError, match=r"Permission denied \(the file is read-only\)") as e:
        write_atomically(target, "new")
    assert e.value.filename == str(target)
    os.symlink(target, tmp_path / "link")
    with pytest.raises(PermissionError, match="read-only"):
        write_atomically(tmp_path / "link", "new")
    assert target.read_text() == "keep me" and mode(target) == 0o444
    assert listing(tmp_path) == ["frozen.json", "link"]


def test_a_file_writable_by_its_owner_only_is_replaced_by_root(tmp_path):
    needs_root()  # root may write a file whose owner may (open() would): only "nobody may write" is refused
    target = tmp_path / "alice.json"
    target.write_text("old")
    os.chown(target, 1234, 1234)
    os.chmod(target, 0o600)
    write_atomically(target, "new")
    assert target.read_text() == "new" and mode(target) == 0o600


# ---------------------------------------------------------------- the umask (issue 10, item 2)


def test_saving_never_touches_the_umask(tmp_path, monkeypatch):
    def forbidden(mask):
        raise AssertionError("os.umask called: it changes the umask of every thread")

    monkeypatch.setattr(os, "umask", forbidden)
    write_atomically(tmp_path / "new.json", "{}")
    write_atomically(tmp_path / "new.json", "{}")


def test_files_another_thread_creates_during_saves_keep_their_mode(tmp_path, monkeypatch):
    """The review's attack: another thread creating files while saves run got world-writable files.

    The old writer read the umask with ``os.umask(0)`` then restored it; a thread whose ``open()`` fell in
    that window (``open`` releases the GIL, so it runs in parallel) created a 0666 file. Waiting for the
    window by chance is slow and flaky, so every os call a save makes is wrapped to have another thread
    create a file right after it: the old writer fails this test on every new-file save.
    """
    created: list = []
    busy = threading.local()

    def create_in_another_thread():
        def create():
            path = tmp_path / "other" / f"f{len(created)}"
            with open(path, "w"):
                pass
            created.append(path)

        thread = threading.Thread(target=create)
        thread.start()
        thread.join()

    def interposed(real):
        def call(*args, **kwargs):
            result = real(*args, **kwargs)
            if not getattr(busy, "on", False):
                busy.on = True
                try:
                    create_in_another_thread()
                finally:
                    busy.on = False
            return result

        return call

    (tmp_path / "other").mkdir()
    (tmp_path / "saves").mkdir()
    old_mask = os.umask(0o022)
    try:
        for name in ("umask", "stat", "scandir", "open", "write", "fsync", "fchmod", "replace", "close"):
            monkeypatch.setattr(os, name, interposed(getattr(os, name)))
        for i in range(10):
            target = tmp_path / "saves" / f"new{i}.json"
            write_atomically(target, "{}")  # a new file: the old writer read the umask here
            write_atomically(target, "{}")  # an overwrite
        monkeypatch.undo()
    finally:
        os.umask(old_mask)
    assert len(created) > 50
    assert {oct(mode(p)) for p in created} == {oct(0o644)}
    assert {oct(mode(p)) for p in (tmp_path / "saves").iterdir()} == {oct(0o644)}


# ---------------------------------------------------------------- errors name the user's path (issue 10, item 3)


def test_a_folder_in_the_way_names_the_path_and_leaves_no_temporary(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "inside").write_text("x")
    with pytest.raises(IsADirectoryError) as e:
        write_atomically(tmp_path / "taken", "new")
    assert str(e.value) == f"[Errno 21] Is a directory: '{tmp_path / 'taken'}'"
    assert listing(tmp_path) == ["taken"]
    assert (tmp_path / "taken" / "inside").read_text() == "x"


def test_a_full_disk_names_the_path_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "model.json"
    target.write_text("old")

    def full(fd, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # what os.write raises: no file name

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(OSError) as e:
        write_atomically(target, "new")
    assert str(e.value) == f"[Errno 28] No space left on device: '{target}'"
    assert target.read_text() == "old"
    assert listing(tmp_path) == ["model.json"]


def test_a_temporary_that_cannot_be_created_is_reported_under_the_users_name(tmp_path, monkeypatch):
    real_open = os.open

    def refuse_temporaries(path, flags, mode=0o777, **kwargs):
        if str(path).endswith(".stepgrad-tmp"):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_open(path, flags, mode, **kwargs)

    monkeypatch.setattr(os, "open", refuse_temporaries)
    with pytest.raises(PermissionError) as e:
        write_atomically(tmp_path / "m.json", "x")
    assert str(e.value) == f"[Errno 13] Permission denied: '{tmp_path / 'm.json'}'"
    assert "stepgrad-tmp" not in str(e.value)


def test_a_failed_rename_without_errno_still_names_the_path(tmp_path, monkeypatch):
    def crash(src, dst):
        raise OSError("disk full (simulated at the rename)")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full") as e:
        write_atomically(tmp_path / "m.json", "x")
    assert str(tmp_path / "m.json") in str(e.value) and "stepgrad-tmp" not in str(e.value)
    assert listing(tmp_path) == []


@pytest.mark.parametrize("length", [242, 250, 255])
def test_names_up_to_name_max_can_be_saved_and_overwritten(tmp_path, length):
    target = tmp_path / ("m" * (length - 5) + ".json")
    write_atomically(target, "one")
    write_atomically(target, "two")
    assert target.read_text() == "two" and listing(tmp_path) == [target.name]
    unicode_target = tmp_path / ("∂" * 80 + ".json")  # 245 bytes in UTF-8
    write_atomically(unicode_target, "∂")
    assert unicode_target.read_text() == "∂"


def test_a_name_over_name_max_is_refused_by_name(tmp_path):
    target = tmp_path / ("m" * 256)
    with pytest.raises(OSError, match="File name too long") as e:
        write_atomically(target, "x")
    assert e.value.filename == str(target)


# ---------------------------------------------------------------- killed saves (issue 10, item 3)


def test_a_killed_saves_temporary_is_removed_by_the_next_save_once_stale(tmp_path):
    killed = run_python(
        """
        import os, signal
        from autograd.files import write_atomically
        os.replace = lambda src, dst: os.kill(os.getpid(), signal.SIGKILL)   # die just before the rename
        write_atomically("model.json", "half-done")
        """,
        tmp_path,
    )
    assert killed.returncode == -9
    leftovers = [n for n in listing(tmp_path) if n.endswith(".stepgrad-tmp")]
    assert len(leftovers) == 1 and leftovers[0].startswith(".model_json.")
    leftover = tmp_path / leftovers[0]

    write_atomically(tmp_path / "model.json", "v1")  # a young leftover may be a save still running: kept
    assert leftover.exists()

    old = time.time() - files.STALE_SECONDS - 5
    os.utime(leftover, (old, old))
    other = tmp_path / leftover.name.replace(".model_json.", ".other_json.")  # not a temporary of ours
    other.write_text("x")
    os.utime(other, (old, old))
    write_atomically(tmp_path / "model.json", "v2")
    assert not leftover.exists() and other.exists()
    assert (tmp_path / "model.json").read_text() == "v2"


def test_stale_temporaries_of_another_target_or_owner_are_left_alone(tmp_path):
    old = time.time() - files.STALE_SECONDS - 5
    write_atomically(tmp_path / "a.json", "a")
    # names our writer would make for b.json, and for a.json but owned by someone else
    for_b = tmp_path / f".b_json.{files._target_hash('b.json')}.{'0' * 16}.stepgrad-tmp"
    for_a = tmp_path / f".a_json.{files._target_hash('a.json')}.{'1' * 16}.stepgrad-tmp"
    for path in (for_b, for_a):
        path.write_text("left over")
        os.utime(path, (old, old))
    if IS_ROOT:
        os.chown(for_a, 4321, 4321)
    write_atomically(tmp_path / "a.json", "a2")
    assert for_b.exists()
    assert for_a.exists() == IS_ROOT  # owned by another user: theirs; ours (not root): removed


def test_a_proc_link_to_a_deleted_file_is_refused_or_streamed(tmp_path):
    """/dev/stdout redirected to a file that was deleted since: there is no name to rename a temporary onto."""
    with open(tmp_path / "gone.svg", "w+b") as stream:
        stream.write(b"old content, longer than the new")
        stream.flush()
        os.unlink(tmp_path / "gone.svg")
        link = f"/proc/self/fd/{stream.fileno()}"
        with pytest.raises(OSError, match="cannot find the file this path names to replace it") as e:
            write_atomically(link, "new")
        assert e.value.filename == link and listing(tmp_path) == []
        write_atomically(link, "<svg/>", streams=True)  # written in place, truncated first
        stream.seek(0)
        assert stream.read() == b"<svg/>"
    assert listing(tmp_path) == []


# --------------------------------------------------------------------------- several files as one


def test_several_files_land_together(tmp_path):
    (tmp_path / "b.txt").write_text("old b")
    written = files.write_all_atomically({tmp_path / "a.txt": "new a", tmp_path / "b.txt": b"new b"})
    assert written == [tmp_path / "a.txt", tmp_path / "b.txt"]
    assert (tmp_path / "a.txt").read_text() == "new a" and (tmp_path / "b.txt").read_text() == "new b"
    assert listing(tmp_path) == ["a.txt", "b.txt"]


def test_a_full_disk_on_a_later_file_leaves_every_file_as_it_was(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text("old a")
    real_write = files._write_temporary
    calls = []

    def disk_full_on_the_second(folder, real, raw, existing):
        calls.append(real)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(folder, real, raw, existing)

    monkeypatch.setattr(files, "_write_temporary", disk_full_on_the_second)
    targets = {tmp_path / "a.txt": "new a", tmp_path / "b.txt": "new b", tmp_path / "c.txt": "new c"}
    with pytest.raises(OSError) as info:
        files.write_all_atomically(targets)
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(tmp_path / "b.txt")
    assert listing(tmp_path) == ["a.txt"]  # no new file, no temporary left
    assert (tmp_path / "a.txt").read_text() == "old a"


@pytest.mark.parametrize("kind", ["folder", "fifo", "read-only"])
def test_a_refused_target_is_found_before_any_file_is_written(tmp_path, kind):
    blocker = tmp_path / "b.txt"
    if kind == "folder":
        blocker.mkdir()
    elif kind == "fifo":
        os.mkfifo(blocker)
    else:
        blocker.write_text("keep")
        blocker.chmod(0o444)
    with pytest.raises(OSError) as info:
        files.check_writable(blocker)
    assert info.value.filename == str(blocker)
    with pytest.raises(OSError):
        files.write_all_atomically({tmp_path / "a.txt": "new a", blocker: "new b"})
    assert sorted(listing(tmp_path)) == ["b.txt"]  # a.txt was never written
    files.check_writable(tmp_path / "a.txt")  # a new file in a writable folder: fine


def test_check_writable_refuses_a_name_too_long_and_a_missing_folder(tmp_path):
    with pytest.raises(OSError) as info:
        files.check_writable(tmp_path / ("x" * 300))
    assert info.value.errno == errno.ENAMETOOLONG
    with pytest.raises(FileNotFoundError, match="does not exist"):
        files.check_writable(tmp_path / "missing" / "a.txt")
