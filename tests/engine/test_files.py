"""engine.files: typed paths and the one atomic writer (permissions, symlinks, odd targets, leftovers)."""

from __future__ import annotations

import os
import stat

import pytest

from engine.errors import CnnError, quoted
from engine.files import user_path, write_atomic


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_file_follows_the_umask_like_an_editors(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "a.toml", b"x")
        os.umask(0o077)
        write_atomic(tmp_path / "private.toml", b"x")
    finally:
        os.umask(old)
    assert mode(tmp_path / "a.toml") == 0o644
    assert mode(tmp_path / "private.toml") == 0o600


def test_overwriting_keeps_the_existing_files_mode(tmp_path):
    path = tmp_path / "a.toml"
    path.write_bytes(b"old")
    path.chmod(0o640)
    write_atomic(path, b"new")
    assert path.read_bytes() == b"new" and mode(path) == 0o640


def test_writes_through_a_symlink_and_keeps_the_link(tmp_path):
    real = tmp_path / "real.toml"
    real.write_bytes(b"old")
    link = tmp_path / "link.toml"
    link.symlink_to(real)
    assert write_atomic(link, b"new") == real
    assert link.is_symlink() and real.read_bytes() == b"new"


def test_leaves_no_temporary_file_and_a_failed_write_changes_nothing(tmp_path, monkeypatch):
    path = tmp_path / "a.toml"
    write_atomic(path, b"one")
    assert os.listdir(tmp_path) == ["a.toml"]

    def full_disk(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(CnnError, match="No space left"):
        write_atomic(path, b"two")
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["a.toml"] and path.read_bytes() == b"one"


def test_removes_temporaries_left_by_a_killed_save_but_not_a_live_ones(tmp_path):
    dead = tmp_path / ".cnn-tui.999999999.0123abcd.tmp"  # no such process
    live = tmp_path / f".cnn-tui.{os.getpid()}.0123abcd.tmp"
    other = tmp_path / ".something.tmp"
    for leftover in (dead, live, other):
        leftover.write_bytes(b"")
    write_atomic(tmp_path / "a.toml", b"x")
    assert not dead.exists() and live.exists() and other.exists()


def test_a_name_of_255_bytes_can_be_written(tmp_path):
    path = tmp_path / ("n" * 250 + ".toml")
    write_atomic(path, b"x")
    assert path.read_bytes() == b"x"


@pytest.mark.parametrize("text", ["", "   ", ".", "/", "..", "some/folder/", "a\0b"])
def test_text_that_names_no_file_is_one_clear_error(text):
    with pytest.raises(CnnError) as error:
        user_path(text)
    assert "\n" not in str(error.value)


def test_an_existing_folder_is_refused_as_a_target(tmp_path):
    with pytest.raises(CnnError, match="is a folder"):
        write_atomic(tmp_path, b"x")


def test_a_missing_or_unwritable_folder_is_one_clear_error(tmp_path):
    with pytest.raises(CnnError, match="no such folder"):
        write_atomic(tmp_path / "nowhere" / "a.toml", b"x")
    with pytest.raises(CnnError, match="cannot write"):
        write_atomic("/proc/cnn-tui-test.toml", b"x")


def test_tilde_without_a_home_or_for_an_unknown_user_is_one_clear_error(monkeypatch):
    with pytest.raises(CnnError, match="home folder"):
        user_path("~nosuchuser-cnn-tui/x.toml")
    monkeypatch.delenv("HOME", raising=False)
    monkeypatch.setattr("pwd.getpwuid", lambda uid: (_ for _ in ()).throw(KeyError(uid)))
    with pytest.raises(CnnError, match="home folder"):
        user_path("~/x.toml")


def test_tilde_expands_to_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert user_path("~/x.toml") == tmp_path / "x.toml"


def test_quoted_cuts_long_input():
    assert quoted("x" * 10_000) == '"' + "x" * 39 + '…"'
