from __future__ import annotations

import cv2
import numpy as np
import pytest

from detector.faces.align import (
    ALIGNMENT_VERSION,
    AlignSpec,
    align_face,
    alignment_matrix,
    similarity_transform,
    transform_points,
)
from detector.faces.backends import create_detector


def test_similarity_transform_recovers_a_known_transform():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (5, 2))
    angle, scale, shift = np.deg2rad(25), 1.7, np.array([12.0, -4.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = src @ rot.T + shift
    m = similarity_transform(src, dst)
    np.testing.assert_allclose(m[:, :2], rot, atol=1e-9)
    np.testing.assert_allclose(m[:, 2], shift, atol=1e-9)


def test_mirror_images_are_not_fitted_with_a_reflection():
    src = np.array([[0, 0], [10, 0], [5, 5], [2, 9], [8, 9]], float)
    m = similarity_transform(src, src * [-1, 1])
    assert np.linalg.det(m[:, :2]) > 0


def test_template_lands_on_the_template():
    spec = AlignSpec(size=224, margin=0.3)
    m = alignment_matrix(spec.template(), spec)
    np.testing.assert_allclose(m, [[1, 0, 0], [0, 1, 0]], atol=1e-9)
    # Eyes sit symmetrically about the vertical centre line.
    t = spec.template()
    assert abs((t[0, 0] + t[1, 0]) / 2 - 112) < 1.0


def test_version_names_every_parameter():
    assert AlignSpec().version == f"align-v{ALIGNMENT_VERSION}-s224-m0.30"
    assert AlignSpec(size=112, margin=0.0).version != AlignSpec().version
    with pytest.raises(ValueError):
        AlignSpec(size=8)


def test_aligned_landmarks_match_template_and_rotation_is_undone(astronaut):
    detector = create_detector("onnx")
    spec = AlignSpec(size=160, margin=0.3)
    [upright] = detector.detect([astronaut])
    crop_upright = align_face(astronaut, upright.landmarks[0], spec)
    # The same photo rotated by 30 degrees aligns to nearly the same crop.
    rot = cv2.getRotationMatrix2D((256, 200), 30, 1.0)
    rotated = cv2.warpAffine(astronaut, rot, (512, 512), borderMode=cv2.BORDER_REFLECT)
    [dets] = detector.detect([rotated])
    crop_rotated = align_face(rotated, dets.landmarks[0], spec)
    assert crop_upright.shape == crop_rotated.shape == (160, 160, 3)
    centre = slice(40, 120)
    diff = np.abs(crop_upright[centre, centre].astype(int) - crop_rotated[centre, centre]).mean()
    assert diff < 20, diff
    # The fitted landmarks in the crop lie near the template.
    m = alignment_matrix(upright.landmarks[0], spec)
    assert np.abs(transform_points(upright.landmarks[0], m) - spec.template()).max() < 8


def test_large_faces_are_shrunk_without_aliasing(astronaut):
    # A 4x upscaled photo aligned to a small crop equals (nearly) aligning the original.
    detector = create_detector("onnx")
    spec = AlignSpec(size=112, margin=0.3)
    [dets] = detector.detect([astronaut])
    big = cv2.resize(astronaut, (2048, 2048), interpolation=cv2.INTER_CUBIC)
    crop_small = align_face(astronaut, dets.landmarks[0], spec)
    crop_big = align_face(big, dets.landmarks[0] * 4 + 1.5, spec)
    assert np.abs(crop_small.astype(int) - crop_big).mean() < 6


def test_face_at_the_border_pads_with_black(astronaut):
    spec = AlignSpec(size=112, margin=0.5)
    lm = spec.template() / spec.size * 60 - 20  # a face hanging off the top-left corner
    crop = align_face(astronaut, lm, spec)
    assert crop.shape == (112, 112, 3)
    assert (crop[:5, :5] == 0).all()
