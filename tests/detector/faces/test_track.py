from __future__ import annotations

import numpy as np

from detector.faces.track import FaceTracker, TrackerConfig, box_iou


def face(x: float, y: float, size: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    box = np.array([x, y, x + size, y + size], float)
    lm = np.array([[0.3, 0.4], [0.7, 0.4], [0.5, 0.6], [0.35, 0.8], [0.65, 0.8]]) * size + [x, y]
    return box, lm


def step(tracker: FaceTracker, sample: int, faces: list[tuple[np.ndarray, np.ndarray]]) -> list[int]:
    if not faces:
        return tracker.update(sample, np.zeros((0, 4)), np.zeros((0, 5, 2)))
    return tracker.update(sample, np.stack([f[0] for f in faces]), np.stack([f[1] for f in faces]))


def test_two_people_keep_their_ids_while_moving():
    tracker = FaceTracker()
    ids = [step(tracker, t, [face(100 + 20 * t, 100), face(600 - 15 * t, 120, 80)]) for t in range(10)]
    assert all(i == [0, 1] for i in ids)


def test_order_of_detections_does_not_swap_ids():
    tracker = FaceTracker()
    step(tracker, 0, [face(100, 100), face(500, 100)])
    assert step(tracker, 1, [face(505, 100), face(98, 102)]) == [1, 0]


def test_missed_frames_within_gap_keep_the_track():
    tracker = FaceTracker(TrackerConfig(max_gap=3))
    step(tracker, 0, [face(100, 100)])
    for t in (1, 2, 3):
        assert step(tracker, t, []) == []
    assert step(tracker, 4, [face(110, 100)]) == [0]


def test_a_longer_gap_starts_a_new_track():
    tracker = FaceTracker(TrackerConfig(max_gap=2))
    step(tracker, 0, [face(100, 100)])
    assert step(tracker, 4, [face(100, 100)]) == [1]


def test_far_jump_or_size_change_is_another_person():
    tracker = FaceTracker()
    step(tracker, 0, [face(100, 100)])
    assert step(tracker, 1, [face(700, 100)]) == [1]
    tracker = FaceTracker()
    step(tracker, 0, [face(100, 100, 100)])
    assert step(tracker, 1, [face(90, 90, 250)]) == [1]


def test_box_iou():
    a = np.array([[0, 0, 10, 10]], float)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], float)
    np.testing.assert_allclose(box_iou(a, b), [[1.0, 1 / 3, 0.0]])
