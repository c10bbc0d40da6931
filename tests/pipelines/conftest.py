"""A tiny media archive for the audit tests: clips, images, a duplicate, a symlink, a symlink loop, a video
with a non-media name, corrupt / empty / text-named-.mp4 files, plain text, and hidden files.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from detector.outputs.demo import pan_zoom_frames, write_video

# Relative paths the walk must record (hidden files, the loop and anything under it must not appear),
# and what each file holds; files sharing a label share their bytes.
ARCHIVE_FILES: dict[str, str] = {
    "bad/empty.mp4": "empty",
    "bad/text.mp4": "text",
    "bad/truncated.mp4": "truncated",
    "clips/copy_of_talk.mp4": "talk",
    "clips/renamed_video.dat": "pan",
    "clips/talk.mp4": "talk",
    "docs/notes.txt": "notes",
    "images/astronaut.jpg": "astronaut",
    "images/camera.png": "camera",
    "images/link.jpg": "astronaut",
}


def build_archive(root: Path, astronaut: np.ndarray, cameraman: np.ndarray) -> Path:
    """Write the archive under ``root`` (about 100 KB; a second or two to encode)."""
    for sub in ("clips", "images", "bad", "docs", "docs/.cache"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    write_video(root / "clips" / "talk.mp4", pan_zoom_frames(astronaut, width=320, height=240, n_frames=12), fps=12)
    shutil.copy(root / "clips" / "talk.mp4", root / "clips" / "copy_of_talk.mp4")
    write_video(root / "clips" / "pan.tmp.mp4", pan_zoom_frames(astronaut, width=256, height=192, n_frames=10), fps=10)
    os.replace(root / "clips" / "pan.tmp.mp4", root / "clips" / "renamed_video.dat")
    cv2.imwrite(str(root / "images" / "astronaut.jpg"), cv2.cvtColor(cv2.resize(astronaut, (256, 256)),
                                                                     cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(root / "images" / "camera.png"), cv2.resize(cameraman, (128, 128)))
    os.symlink("astronaut.jpg", root / "images" / "link.jpg")
    (root / "bad" / "truncated.mp4").write_bytes((root / "clips" / "talk.mp4").read_bytes()[:3000])
    (root / "bad" / "text.mp4").write_text("not a video\n")
    (root / "bad" / "empty.mp4").touch()
    (root / "docs" / "notes.txt").write_text("inventory notes\n")
    shutil.copy(root / "images" / "astronaut.jpg", root / "docs" / ".hidden.jpg")
    shutil.copy(root / "images" / "camera.png", root / "docs" / ".cache" / "thumb.png")
    os.symlink("..", root / "docs" / "loop")  # a cycle: docs/loop/docs/loop/...
    return root


@pytest.fixture(scope="session")
def archive_template(tmp_path_factory: pytest.TempPathFactory, astronaut: np.ndarray, cameraman: np.ndarray) -> Path:
    return build_archive(tmp_path_factory.mktemp("archive_template"), astronaut, cameraman)


@pytest.fixture
def archive(tmp_path: Path, archive_template: Path) -> Path:
    """A fresh copy per test (tests add, rename and delete files)."""
    return Path(shutil.copytree(archive_template, tmp_path / "archive", symlinks=True))


@pytest.fixture(scope="session")
def archive_files() -> dict[str, str]:
    """:data:`ARCHIVE_FILES` (test modules are imported in importlib mode and cannot import this one)."""
    return dict(ARCHIVE_FILES)
