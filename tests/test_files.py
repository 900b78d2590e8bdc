"""autograd.files.write_atomically: whole files or nothing, with ordinary permissions."""

from __future__ import annotations

import os
import stat

import pytest

from autograd.files import write_atomically


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_new_file_gets_the_mode_a_plain_open_would_give(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomically(tmp_path / "a.svg", "<svg/>")
        with open(tmp_path / "b.svg", "w") as f:
            f.write("<svg/>")
    finally:
        os.umask(old)
    assert mode(tmp_path / "a.svg") == mode(tmp_path / "b.svg") == 0o644
    assert (tmp_path / "a.svg").read_text() == "<svg/>"


def test_overwriting_keeps_the_existing_mode_and_writes_bytes(tmp_path):
    target = tmp_path / "model.json"
    target.write_text("old")
    os.chmod(target, 0o600)
    write_atomically(target, b"\x00new")
    assert target.read_bytes() == b"\x00new"
    assert mode(target) == 0o600


def test_missing_folder_is_refused_with_its_name(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_atomically(tmp_path / "nope" / "x.txt", "x")


def test_bad_data_is_refused_before_anything_changes(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("old")
    with pytest.raises(TypeError, match="str or bytes, got int"):
        write_atomically(target, 12345)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_a_write_that_fails_at_the_rename_leaves_no_temporary(tmp_path):
    (tmp_path / "taken").mkdir()  # a folder where the file should go: the final rename fails
    (tmp_path / "taken" / "inside").write_text("x")
    with pytest.raises(OSError):
        write_atomically(tmp_path / "taken", "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
    assert (tmp_path / "taken" / "inside").read_text() == "x"
