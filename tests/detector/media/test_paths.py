"""Path checks before any decoder runs: each way the file system can refuse a path has its own code."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from detector.errors import (
    EmptyMediaError,
    IsADirectoryMediaError,
    MediaNotFoundError,
    UnreadablePathError,
    UnsupportedMediaError,
)
from detector.media import is_media_path
from detector.media.paths import HEAD_BYTES, check_path, read_head, unreadable


def test_media_extensions():
    assert is_media_path("a/b.MP4") and is_media_path("x.webp") and not is_media_path("notes.txt")
    assert is_media_path(Path("clip.gif"))


def test_check_path_returns_the_path_of_a_readable_file(demo_clip):
    assert check_path(str(demo_clip)) == demo_clip


def test_check_path_raises_the_matching_error(tmp_path):
    with pytest.raises(MediaNotFoundError):
        check_path(tmp_path / "nope.mp4")
    with pytest.raises(IsADirectoryMediaError):
        check_path(tmp_path)
    (tmp_path / "empty.mp4").touch()
    with pytest.raises(EmptyMediaError):
        check_path(tmp_path / "empty.mp4")


def test_check_path_refuses_what_is_not_a_regular_file(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(UnsupportedMediaError):
        check_path(fifo)


def test_read_head_reads_the_first_bytes_only(tmp_path):
    path = tmp_path / "big.bin"
    data = bytes(range(256)) * (HEAD_BYTES // 128)
    path.write_bytes(data)
    assert read_head(path) == data[:HEAD_BYTES]


def test_unreadable_names_a_symlink_loop_plainly(tmp_path):
    err = unreadable(tmp_path / "x", OSError(errno.ELOOP, "Too many levels of symbolic links"))
    assert isinstance(err, UnreadablePathError) and "a symlink loop" in err.message
    assert "Input/output error" in unreadable(tmp_path / "x", OSError(errno.EIO, "Input/output error")).message


def test_missing_file(tmp_path, media_error_code):
    assert media_error_code(tmp_path / "nope.mp4") == "not_found"


def test_directory(tmp_path, media_error_code):
    assert media_error_code(tmp_path) == "is_directory"


def test_zero_byte_file(tmp_path, media_error_code):
    path = tmp_path / "empty.mp4"
    path.touch()
    assert media_error_code(path) == "empty_file"


def test_permission_denied(tmp_path, demo_clip, monkeypatch, media_error_code):
    # Tests run as root in CI, where chmod 000 does not stop reads; simulate the kernel's answer instead.
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(demo_clip) else real_access(p, mode))
    assert media_error_code(demo_clip) == "permission_denied"


def test_permission_denied_on_stat(tmp_path, monkeypatch, media_error_code):
    path = tmp_path / "locked.mp4"
    path.write_bytes(b"x" * 10)
    real_stat = Path.stat

    def stat(self, *args, **kwargs):
        if self == path:
            raise PermissionError(13, "Permission denied")
        return real_stat(self, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", stat)
    assert media_error_code(path) == "permission_denied"


def test_symlink_to_itself(tmp_path, media_error_code):
    loop = tmp_path / "loop"
    os.symlink("loop", loop)
    assert media_error_code(loop) == "unreadable_path"


def test_symlink_cycle_of_two(tmp_path, media_error_code):
    os.symlink("b.mp4", tmp_path / "a.mp4")
    os.symlink("a.mp4", tmp_path / "b.mp4")
    assert media_error_code(tmp_path / "a.mp4") == "unreadable_path"
