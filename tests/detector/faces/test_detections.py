"""``Detections``, what every face detector backend returns per image: always arrays of consistent shapes (empty,
never ``None``, when there is no face), scaled back to the original image with ``scaled``."""

from __future__ import annotations

import numpy as np
import pytest

from detector.faces.detections import Detections


def two_faces() -> Detections:
    boxes = np.array([[10, 20, 50, 70], [100, 10, 160, 90]], np.float32)
    scores = np.array([0.99, 0.8], np.float32)
    landmarks = np.arange(2 * 5 * 2, dtype=np.float32).reshape(2, 5, 2)
    return Detections(boxes, scores, landmarks)


def test_empty_is_arrays_of_no_faces():
    empty = Detections.empty()
    assert len(empty) == 0
    assert (empty.boxes.shape, empty.scores.shape, empty.landmarks.shape) == ((0, 4), (0,), (0, 5, 2))
    assert empty.boxes.dtype == empty.scores.dtype == empty.landmarks.dtype == np.float32


@pytest.mark.parametrize("boxes, scores, landmarks", [
    ((2, 4), (3,), (2, 5, 2)),  # one score too many
    ((2, 4), (2,), (1, 5, 2)),  # landmarks of one face only
    ((2, 5), (2,), (2, 5, 2)),  # boxes with a score column
    ((2, 4), (2, 1), (2, 5, 2)),
    ((2, 4), (2,), (2, 10)),  # landmarks flattened
])
def test_inconsistent_arrays_are_refused(boxes, scores, landmarks):
    with pytest.raises(ValueError, match="inconsistent"):
        Detections(np.zeros(boxes, np.float32), np.zeros(scores, np.float32), np.zeros(landmarks, np.float32))


def test_scaled_maps_coordinates_not_scores():
    dets = two_faces()
    big = dets.scaled(2.5)
    assert len(big) == 2 and big is not dets
    np.testing.assert_allclose(big.boxes, dets.boxes * 2.5)
    np.testing.assert_allclose(big.landmarks, dets.landmarks * 2.5)
    np.testing.assert_array_equal(big.scores, dets.scores)
    assert big.boxes.dtype == big.landmarks.dtype == np.float32
    np.testing.assert_array_equal(dets.boxes, two_faces().boxes)  # the original is unchanged
    big.scores[0] = -1.0  # no array is shared: changing the copy leaves the original alone
    np.testing.assert_array_equal(dets.scores, two_faces().scores)
    assert len(Detections.empty().scaled(3.0)) == 0


def test_repr_does_not_dump_arrays():
    assert repr(two_faces()) == "Detections(n=2)"
