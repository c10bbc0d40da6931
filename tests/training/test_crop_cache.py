from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest

from detector.faces.align import AlignSpec
from detector.recipe import SamplingSpec
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
    config = CropCacheConfig(align=AlignSpec(size=64), sampling=SamplingSpec(frames=4))
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
    c = CropCache(tmp_path, CropCacheConfig(align=AlignSpec(size=64), sampling=SamplingSpec(frames=8)))
    assert len({a.dir, b.dir, c.dir}) == 3
    assert a.dir.name.startswith(AlignSpec(size=64).version)


def test_keys_of_existing_caches_do_not_change():
    # Keys computed by the code that built the ../shared/data caches (before the scan recipe existed): a changed
    # key would silently rebuild them (the 224 px one takes over an hour on 2 cores).
    assert CropCacheConfig(align=AlignSpec(size=160)).key() == "align-v1-s160-m0.30-67ab1a6369"
    assert CropCacheConfig(align=AlignSpec(size=224)).key() == "align-v1-s224-m0.30-65df9842e6"
    # Settings that were not in the key then enter it when changed.
    from detector.recipe import DetectionSpec

    changed = CropCacheConfig(align=AlignSpec(size=224), detection=DetectionSpec(min_track_faces=3))
    assert changed.key() != CropCacheConfig(align=AlignSpec(size=224)).key()
    assert CropCacheConfig(align=AlignSpec(size=224), max_faces_per_frame=None).key() != changed.key()


def test_judge_facts_of_entries_written_before_they_were_cached(tmp_path, items):
    cache = CropCache(tmp_path / "cache", CropCacheConfig(align=AlignSpec(size=64), sampling=SamplingSpec(frames=4)))
    cache.build(items[:2], workers=1, progress=False)
    fresh = cache.load(items[1])
    assert fresh.kind == "video" and fresh.sharpness is not None
    # An entry from before: no quality arrays, no media kind. The judge's facts are recomputed alike.
    path = next(p for p in cache.faces_dir.glob("*.npz") if len(np.load(p)["crops"]) == 4)
    with np.load(path) as data:
        old = {k: data[k] for k in data.files if k not in ("sharpness", "frontalness", "kind")}
    np.savez(path, **old)
    legacy = cache.load(items[1])
    assert legacy.kind is None and legacy.media == "video"
    for a, b in zip(fresh.facts(), legacy.facts()):
        assert a.track_id == b.track_id and a.size_px == b.size_px and a.sharpness == b.sharpness
        # Landmarks are cached in crop pixels as float32: frontalness agrees to float32 precision.
        assert a.frontalness == pytest.approx(b.frontalness, abs=1e-5)
