"""Tracking-guided detection: ``MTCNN.refine`` and ``FaceConfig.redetect_every`` against full detection."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from detector.faces.extract import FaceConfig, FaceExtractor
from detector.faces.mtcnn import MTCNN
from detector.faces.track import box_iou
from detector.media import Frame
from detector.recipe import DetectionSpec, SamplingSpec


@pytest.fixture(scope="module")
def mtcnn() -> MTCNN:
    return MTCNN()


@pytest.fixture(scope="module")
def scene(astronaut: np.ndarray) -> np.ndarray:
    return cv2.resize(astronaut, (384, 384), interpolation=cv2.INTER_AREA)


def test_refine_recovers_a_face_from_a_shifted_prior(mtcnn, scene):
    [full] = mtcnn.detect([scene])
    assert len(full) == 1
    box = full.boxes[0]
    side = box[2] - box[0]
    # The face moved by 15% of its size and grew 10% since the prior was taken.
    prior = np.array([[box[0] + 0.15 * side, box[1] - 0.1 * side, box[2] + 0.25 * side, box[3]]], np.float32)
    [refined] = mtcnn.refine([scene], [prior])
    assert len(refined) == 1
    assert box_iou(refined.boxes[:1], full.boxes[:1])[0, 0] > 0.85
    assert np.abs(refined.landmarks[0] - full.landmarks[0]).max() < 0.06 * side
    assert refined.scores[0] > 0.9


def test_refine_finds_nothing_without_priors_or_away_from_faces(mtcnn, scene):
    [none] = mtcnn.refine([scene], [np.zeros((0, 4), np.float32)])
    assert len(none) == 0
    [full] = mtcnn.detect([scene])
    b = full.boxes[0]
    side = b[2] - b[0]
    # A prior two face-widths away from the only face (clipped into the frame) finds no face there.
    far = np.array([[b[0] - 2.5 * side, b[1] + 1.5 * side, b[0] - 1.5 * side, b[1] + 2.5 * side]], np.float32)
    far = np.clip(far, 0, 383)
    [missed] = mtcnn.refine([scene], [far])
    assert all(box_iou(missed.boxes[i:i + 1], full.boxes[:1])[0, 0] < 0.3 for i in range(len(missed)))
    with pytest.raises(ValueError, match="prior"):
        mtcnn.refine([scene, scene], [np.zeros((0, 4))])


def test_redetect_every_matches_full_detection_on_a_moving_face(demo_clip):
    full = FaceExtractor(FaceConfig(DetectionSpec(redetect_every=1))).extract(demo_clip, sampling=SamplingSpec(frames=16))
    fast = FaceExtractor(FaceConfig(DetectionSpec(redetect_every=4))).extract(demo_clip, sampling=SamplingSpec(frames=16))
    assert len(fast.faces) == len(full.faces) == 16
    for a, b in zip(full.faces, fast.faces):
        assert a.sample == b.sample
        assert box_iou(np.array([a.box]), np.array([b.box]))[0, 0] > 0.8
    assert len(fast.tracks) == 1


def test_a_face_that_appears_between_full_passes_is_found_at_the_next_one(astronaut, cameraman):
    # Frames 0-9: only the astronaut (left); from frame 5 a second face (camera man's is too small for MTCNN,
    # so a mirrored astronaut) appears on the right. Full passes run at samples 0, 4, 8; frame 5-7 are
    # refined from frame 4's single face, so the newcomer is first seen at sample 8.
    face = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)
    frames = []
    for i in range(10):
        canvas = np.full((256, 640, 3), 90, np.uint8)
        canvas[:, :256] = face
        if i >= 5:
            canvas[:, 384:] = face[:, ::-1]
        frames.append(Frame(i, i / 10, canvas))
    faces = FaceExtractor(FaceConfig(DetectionSpec(redetect_every=4), batch_frames=3)).extract_frames(frames)
    right = sorted({f.sample for f in faces if f.box[0] > 320})
    left = sorted({f.sample for f in faces if f.box[2] < 320})
    assert left == list(range(10))
    assert right == [8, 9]
    every = FaceExtractor(FaceConfig(DetectionSpec(redetect_every=1))).extract_frames(frames)
    assert sorted({f.sample for f in every if f.box[0] > 320}) == [5, 6, 7, 8, 9]


def test_region_downscale_equals_the_same_region_of_the_whole_downscaled_frame(astronaut):
    from detector.faces.extract import _downscale, _downscale_region, _integer_factor

    frame = cv2.resize(astronaut, (1536, 864), interpolation=cv2.INTER_LINEAR)  # 1536 / 512 = 3 exactly
    small, factor = _downscale(frame, 512)
    assert factor == 3 and _integer_factor(864, 1536, (512, 288)) == 3
    assert np.array_equal(_downscale_region(frame, 3, (37, 20, 301, 250)), small[20:250, 37:301])
    assert _integer_factor(720, 1000, (640, 461)) == 0  # not an exact shrink: the whole frame is used


class _WithoutRegion:
    """An MTCNN that hides ``refine_region``, so the face stage shrinks whole frames (the reference)."""

    def __init__(self, mtcnn: MTCNN) -> None:
        self._mtcnn = mtcnn
        self.name = mtcnn.name
        self.detect = mtcnn.detect
        self.refine = mtcnn.refine


def test_refining_on_the_region_only_finds_what_the_whole_frame_finds(astronaut, mtcnn):
    # 1920x1080 frames (factor 3 to the 640 px detection image) with the face drifting and growing.
    frames = []
    for i in range(8):
        side = 760 + 10 * i  # the photo's face is ~150 px wide, ~50 px in the detection image
        face = cv2.resize(astronaut, (side, side), interpolation=cv2.INTER_AREA)
        canvas = np.full((1080, 1920, 3), 70, np.uint8)
        x, y = 300 + 20 * i, 100 + 10 * i
        canvas[y:y + side, x:x + side] = face
        frames.append(Frame(i, i / 5, canvas))
    config = FaceConfig(DetectionSpec(redetect_every=8), batch_frames=8)
    fast = FaceExtractor(config, detector=mtcnn).extract_frames(frames)
    whole = FaceExtractor(config, detector=_WithoutRegion(mtcnn)).extract_frames(frames)
    assert [f.sample for f in fast] == [f.sample for f in whole] == list(range(8))
    for a, b in zip(fast, whole):
        np.testing.assert_allclose(a.box, b.box, atol=1e-3)
        np.testing.assert_allclose(a.landmarks, b.landmarks, atol=1e-3)
        # Landmarks agree to float rounding (offsets added back), so crops to one grey level.
        assert np.abs(a.crop.astype(int) - b.crop.astype(int)).max() <= 1


def test_redetect_every_is_validated():
    from detector.errors import ConfigError

    with pytest.raises(ConfigError, match="redetect_every"):
        FaceConfig(DetectionSpec(redetect_every=0))


def test_images_smaller_than_the_smallest_face_have_no_faces(mtcnn):
    # No pyramid level fits a 1x1 or 15 px high image (min face 20 px): nothing to find, no crash.
    for shape in ((1, 1, 3), (15, 300, 3)):
        [dets] = mtcnn.detect([np.zeros(shape, np.uint8)])
        assert len(dets) == 0
