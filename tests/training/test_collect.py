"""The synthesisers' crop collector: main-track choice, folders of aligned crops, limits, failing inputs.

Face-stage runs on real clips are covered where the collector is used (test_ae_swap, test_gan); these are cheap.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from detector.errors import UnsupportedMediaError
from detector.faces.align import AlignSpec
from detector.faces.extract import Face
from detector.faces.quality import FaceQuality
from training.collect import collect_face_crops, main_track

ALIGN = AlignSpec(size=32, margin=0.3)


def _face(track_id: int, size_px: float) -> Face:
    quality = FaceQuality(size_px=size_px, eye_distance_px=size_px / 3, score=0.99, sharpness=100.0, frontalness=1.0)
    return Face(sample=0, frame_index=0, timestamp=0.0, track_id=track_id, box=(0.0, 0.0, size_px, size_px),
                landmarks=((0.0, 0.0),) * 5, quality=quality, crop=np.zeros((32, 32, 3), np.uint8))


def test_main_track_is_the_one_seen_most_then_the_largest():
    longest = [_face(0, 50), _face(0, 50), _face(0, 50)]
    assert main_track(longest + [_face(1, 200), _face(1, 200)]) == longest
    large = [_face(2, 90), _face(2, 90)]
    assert main_track([_face(1, 60), _face(1, 60)] + large) == large
    assert main_track([]) == []


@pytest.fixture
def crop_dir(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(3):
        assert cv2.imwrite(str(tmp_path / f"crop_{i}.png"), rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    (tmp_path / "broken.png").write_bytes(b"not a png")  # logged and skipped
    return tmp_path


def test_folders_of_aligned_crops_are_resized_and_limited(crop_dir):
    got = collect_face_crops([crop_dir], align=ALIGN, frames_per_video=4)
    assert got.crops.shape == (3, 32, 32, 3) and got.crops.dtype == np.uint8 and got.failed == ()
    assert collect_face_crops([crop_dir, crop_dir], align=ALIGN, frames_per_video=4, limit=4).crops.shape[0] == 4
    assert collect_face_crops([], align=ALIGN, frames_per_video=4).crops.shape == (0, 32, 32, 3)


def test_refused_inputs_raise_or_are_skipped(crop_dir, tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_text("not a video")
    with pytest.raises(UnsupportedMediaError):
        collect_face_crops([bad], align=ALIGN, frames_per_video=4)
    got = collect_face_crops([bad, crop_dir], align=ALIGN, frames_per_video=4, skip_errors=True)
    assert got.failed == (str(bad),) and len(got.crops) == 3
