"""The real/ + fake/ folders adapter."""

from __future__ import annotations

import logging

import pytest

from detector.errors import ConfigError
from training.data import from_folders


def test_folders_items_groups_and_fields(folders_root, assert_sorted_absolute):
    items = from_folders(folders_root)
    assert_sorted_absolute(items)
    got = {it.path.relative_to(folders_root).as_posix(): (it.label, it.group, it.manipulation, it.media)
           for it in items}
    assert got == {
        "real/007.mp4": (0, "007", "none", "video"),
        "fake/007.mp4": (1, "007", "unknown", "video"),
        "real/p1/a.png": (0, "p1", "none", "image"),
        "fake/p1/b.png": (1, "p1", "p1", "image"),  # first folder under fake/ names the manipulation
        "fake/FaceSwap/x/c.jpg": (1, "FaceSwap/x", "FaceSwap", "image"),
    }
    assert {it.source for it in items} == {"mydata"}


def test_folders_needs_both_sides_and_some_media(tmp_path, touch):
    touch(tmp_path / "a", "real/x.jpg")
    with pytest.raises(ConfigError, match="fake"):
        from_folders(tmp_path / "a")
    (tmp_path / "b" / "real").mkdir(parents=True)
    (tmp_path / "b" / "fake").mkdir()
    with pytest.raises(ConfigError, match="no media"):
        from_folders(tmp_path / "b")
    with pytest.raises(ConfigError, match="not found"):
        from_folders(tmp_path / "nope")


def test_folders_dangling_symlink_is_missing(folders_root, caplog, by_name):
    (folders_root / "fake" / "gone.mp4").symlink_to(folders_root / "does-not-exist.mp4")
    with pytest.raises(ConfigError, match="gone.mp4"):
        from_folders(folders_root)
    with caplog.at_level(logging.WARNING):
        items = from_folders(folders_root, skip_missing=True)
    assert "gone.mp4" not in by_name(items) and len(items) == 5
    assert "gone.mp4" in caplog.text
