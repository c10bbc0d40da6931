"""Face quality signals: sharpness of the aligned crop and frontalness from the five landmarks."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from detector.faces.quality import FaceQuality, face_quality, frontalness, sharpness

SIZE = 224


def landmarks(nose_x: float, nose_y: float = 60.0) -> np.ndarray:
    """Eyes at (30, 40) and (70, 40), the nose at (nose_x, nose_y), mouth corners below."""
    return np.array([[30, 40], [70, 40], [nose_x, nose_y], [36, 80], [64, 80]], np.float64)


def rotate(points: np.ndarray, degrees: float, centre: tuple[float, float] = (50.0, 50.0)) -> np.ndarray:
    a = np.deg2rad(degrees)
    r = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return (points - centre) @ r.T + centre


@pytest.fixture(scope="module")
def texture() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (SIZE, SIZE, 3), np.uint8)


def test_flat_crop_has_zero_sharpness():
    assert sharpness(np.full((SIZE, SIZE, 3), 128, np.uint8)) == 0.0
    # A uniform colour is flat too, whatever the channel mix.
    assert sharpness(np.full((SIZE, SIZE, 3), (200, 30, 90), np.uint8)) == 0.0


def test_texture_is_sharp_and_blur_lowers_it(texture: np.ndarray):
    sharp = sharpness(texture)
    blurred = sharpness(cv2.GaussianBlur(texture, (0, 0), 2.0))
    assert sharp > 1000.0
    assert 0.0 < blurred < sharp / 10


def test_upscaled_small_face_scores_lower(texture: np.ndarray):
    # Measured at crop size: a 56 px face stretched to the crop has no fine detail left.
    small = cv2.resize(texture[:56, :56], (SIZE, SIZE), interpolation=cv2.INTER_LINEAR)
    assert sharpness(small) < sharpness(texture) / 5


def test_frontal_face_is_one():
    assert frontalness(landmarks(50.0)) == pytest.approx(1.0)


def test_profile_is_zero_and_beyond_is_clipped():
    assert frontalness(landmarks(30.0)) == pytest.approx(0.0)  # nose in line with the left eye
    assert frontalness(landmarks(70.0)) == pytest.approx(0.0)
    assert frontalness(landmarks(10.0)) == 0.0  # past the eye: clipped, not negative
    assert frontalness(landmarks(95.0)) == 0.0


def test_frontalness_falls_linearly_and_symmetrically():
    # Nose a quarter of the way along the eye axis: 1 - 2 * |0.25 - 0.5| = 0.5, turned either way.
    assert frontalness(landmarks(40.0)) == pytest.approx(0.5)
    assert frontalness(landmarks(60.0)) == pytest.approx(0.5)
    assert frontalness(landmarks(45.0)) == pytest.approx(0.75)


def test_frontalness_ignores_roll_scale_position_and_nose_height():
    for x, expected in [(50.0, 1.0), (40.0, 0.5), (66.0, 0.2)]:
        lm = landmarks(x)
        assert frontalness(rotate(lm, 35.0)) == pytest.approx(expected)  # a tilted head is not turned
        assert frontalness(lm * 3.0 + [500.0, -20.0]) == pytest.approx(expected)
        assert frontalness(landmarks(x, nose_y=90.0)) == pytest.approx(expected)


def test_frontalness_uses_eyes_and_nose_only():
    lm = landmarks(40.0)
    lm[3:] = [[0.0, 0.0], [500.0, 500.0]]  # mouth corners do not enter
    assert frontalness(lm) == pytest.approx(0.5)
    assert frontalness(landmarks(40.0).ravel()) == pytest.approx(0.5)  # a flat 10-vector is accepted


def test_coincident_eyes_are_not_frontal():
    lm = landmarks(50.0)
    lm[1] = lm[0]
    assert frontalness(lm) == 0.0


def test_face_quality_combines_box_landmarks_and_crop(texture: np.ndarray):
    box = np.array([100.0, 50.0, 180.0, 170.0])  # 80 wide, 120 tall
    q = face_quality(box, landmarks(40.0), np.float32(0.987654), texture)
    assert q.size_px == pytest.approx(80.0)  # the shorter side
    assert q.eye_distance_px == pytest.approx(40.0)
    assert q.frontalness == pytest.approx(0.5)
    assert q.sharpness == pytest.approx(sharpness(texture))
    d = q.to_dict()
    assert set(d) == {"size_px", "eye_distance_px", "score", "sharpness", "frontalness"}
    assert d["score"] == 0.9877 and all(type(v) is float for v in d.values())  # JSON-ready, 4 decimals
    with pytest.raises(dataclasses.FrozenInstanceError):
        q.score = 0.0  # type: ignore[misc]


def test_to_dict_rounds_to_four_decimals():
    q = FaceQuality(size_px=12.345678, eye_distance_px=1.0, score=0.5, sharpness=3.14159265, frontalness=1 / 3)
    assert q.to_dict() == {"size_px": 12.3457, "eye_distance_px": 1.0, "score": 0.5, "sharpness": 3.1416,
                           "frontalness": 0.3333}
