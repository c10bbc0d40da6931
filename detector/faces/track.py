"""Link faces across sampled frames into per-person tracks.

Online and greedy: each new frame's faces are matched to the live tracks by the distance between face
centres (in face sizes) and box overlap, best pairs first. A track survives ``max_gap`` sampled frames
without a face (a blink of the detector, a hand in front of the face) before it closes. Sampled frames
can be a third of a second or more apart, so the gates are loose on position and strict on size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class TrackerConfig:
    """Attributes:
        max_gap: sampled frames a track may miss and still continue.
        max_center_distance: largest centre shift between matches, in face sizes (box side).
        min_iou: pairs overlapping at least this much always qualify on position.
        max_size_ratio: largest size change between matches (a face does not double between samples).

    Which tracks are too short to be a face is the scan recipe's ``DetectionSpec.min_track_faces``.
    """

    max_gap: int = 3
    max_center_distance: float = 0.75
    min_iou: float = 0.3
    max_size_ratio: float = 1.6


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of ``(n, 4)`` and ``(m, 4)`` boxes."""
    a = np.asarray(a, np.float64)[:, None, :]
    b = np.asarray(b, np.float64)[None, :, :]
    w = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    h = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = w * h
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter / np.maximum(area_a + area_b - inter, 1e-9)


@dataclass
class _LiveTrack:
    track_id: int
    box: np.ndarray
    landmarks: np.ndarray
    last_sample: int
    n_faces: int = 1


def _centre(landmarks: np.ndarray) -> np.ndarray:
    # Landmark centroid: steadier than the box centre, which jitters with MTCNN's box regression.
    return np.asarray(landmarks, np.float64).reshape(-1, 5, 2).mean(axis=1)


def _size(boxes: np.ndarray) -> np.ndarray:
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    return np.sqrt(np.maximum((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]), 1e-9))


@dataclass
class FaceTracker:
    """Assigns a track id to every face, frame by frame.

    Example:
        >>> tracker = FaceTracker()
        >>> ids = tracker.update(0, boxes, landmarks)  # doctest: +SKIP
    """

    config: TrackerConfig = field(default_factory=TrackerConfig)
    _live: list[_LiveTrack] = field(default_factory=list)
    _next_id: int = 0

    def update(self, sample: int, boxes: np.ndarray, landmarks: np.ndarray) -> list[int]:
        """Match this sampled frame's faces to tracks; returns one track id per face."""
        cfg = self.config
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        landmarks = np.asarray(landmarks, np.float64).reshape(-1, 5, 2)
        self._live = [t for t in self._live if sample - t.last_sample <= cfg.max_gap + 1]
        ids = [-1] * len(boxes)
        if self._live and len(boxes):
            t_boxes = np.stack([t.box for t in self._live])
            t_marks = np.stack([t.landmarks for t in self._live])
            iou = box_iou(t_boxes, boxes)
            t_size, d_size = _size(t_boxes), _size(boxes)
            dist = np.linalg.norm(_centre(t_marks)[:, None] - _centre(landmarks)[None], axis=2)
            dist = dist / np.maximum(t_size[:, None], d_size[None, :])
            ratio = np.maximum(t_size[:, None] / d_size[None, :], d_size[None, :] / t_size[:, None])
            ok = ((iou >= cfg.min_iou) | (dist <= cfg.max_center_distance)) & (ratio <= cfg.max_size_ratio)
            # Best pairs first: closest centres, ties broken by overlap.
            cost = dist - iou
            pairs = sorted(zip(*np.nonzero(ok)), key=lambda ij: cost[ij])
            used_t: set[int] = set()
            for ti, di in pairs:
                if ti in used_t or ids[di] != -1:
                    continue
                used_t.add(ti)
                track = self._live[ti]
                ids[di] = track.track_id
                track.box, track.landmarks, track.last_sample = boxes[di], landmarks[di], sample
                track.n_faces += 1
        for di in range(len(boxes)):
            if ids[di] == -1:
                ids[di] = self._next_id
                self._live.append(_LiveTrack(self._next_id, boxes[di], landmarks[di], sample))
                self._next_id += 1
        return ids

    def open_tracks(self) -> frozenset[int]:
        """The tracks a later sampled frame may still extend; a track missing here has closed for good."""
        return frozenset(t.track_id for t in self._live)
