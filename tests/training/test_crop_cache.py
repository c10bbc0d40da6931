from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest

from detector.faces.align import AlignSpec
from training.crops import CropCache, CropCacheConfig
from training.data import MediaItem


@pytest.fixture
def items(tmp_path, astronaut, demo_clip):
    img = tmp_path / "a.png"
    cv2.imwrite(str(img), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    clip = tmp_path / "clip.mp4"
    shutil.copy(demo_clip, clip)
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    return [MediaItem(path=img, label=0, group="a", manipulation="none", source="t", media="image"),
            MediaItem(path=clip, label=0, group="c", manipulation="none", source="t", media="video"),
            MediaItem(path=bad, label=1, group="b", manipulation="x", source="t", media="video")]


def test_build_load_and_resume(tmp_path, items):
    config = CropCacheConfig(align=AlignSpec(size=64), frames_per_video=4)
    cache = CropCache(tmp_path / "cache", config)
    counts = cache.build(items, workers=1, progress=False)
    assert counts == {"cached": 0, "built": 2, "failed": 1, "faces": 5}
    image_faces, clip_faces = cache.load(items[0]), cache.load(items[1])
    assert image_faces.crops.shape == (1, 64, 64, 3) and clip_faces.crops.shape == (4, 64, 64, 3)
    assert clip_faces.landmarks.shape == (4, 5, 2) and (np.diff(clip_faces.timestamps) > 0).all()
    # Landmarks are in crop pixels, near the alignment template.
    assert np.abs(image_faces.landmarks[0] - AlignSpec(size=64).template()).max() < 4
    assert cache.load(items[2]) is None
    assert [f["error"]["code"] for f in cache.failures()] == ["unsupported_media"]
    # A second build does nothing: everything is cached (failures too).
    assert cache.build(items, workers=1, progress=False) == {"cached": 3, "built": 0, "failed": 0, "faces": 0}
    # Lost npz files (an interrupted run) are rebuilt.
    next(cache.faces_dir.glob("*.npz")).unlink()
    assert cache.build(items, workers=1, progress=False)["built"] == 1
    index = [json.loads(line) for line in cache.index_path.read_text().splitlines()]
    assert {r["status"] for r in index} == {"ok", "error"}


def test_alignment_change_makes_a_new_cache(tmp_path):
    a = CropCache(tmp_path, CropCacheConfig(align=AlignSpec(size=64)))
    b = CropCache(tmp_path, CropCacheConfig(align=AlignSpec(size=64, margin=0.2)))
    c = CropCache(tmp_path, CropCacheConfig(align=AlignSpec(size=64), frames_per_video=8))
    assert len({a.dir, b.dir, c.dir}) == 3
    assert a.dir.name.startswith(AlignSpec(size=64).version)
