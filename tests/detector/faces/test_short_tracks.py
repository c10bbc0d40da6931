"""The streaming short-track rule gives exactly the whole-list rule, while holding faces back only briefly."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from detector.faces.short_tracks import ShortTrackFilter, drop_short_tracks
from detector.faces.track import FaceTracker, TrackerConfig


@dataclass(frozen=True)
class _Face:
    sample: int
    track_id: int
    person: int  # which simulated person it was, to tell faces apart after renumbering


def _tracked_samples(seed: int, n_samples: int, max_gap: int) -> list[tuple[list[_Face], frozenset[int]]]:
    """Three people walking about, each seen or missed at random (a flicker: 1-sample noise tracks), tracked."""
    rng = np.random.default_rng(seed)
    tracker = FaceTracker(TrackerConfig(max_gap=max_gap))
    out = []
    for s in range(n_samples):
        boxes, marks, who = [], [], []
        for person in range(3):
            if rng.random() < (0.1 if person == 2 else 0.75):  # person 2 flickers
                x = 40.0 + 300 * person + 2 * s
                boxes.append([x, 50, x + 100, 150])
                marks.append([[x + 30, 80], [x + 70, 80], [x + 50, 100], [x + 35, 125], [x + 65, 125]])
                who.append(person)
        ids = tracker.update(s, np.reshape(boxes, (-1, 4)), np.reshape(marks, (-1, 5, 2)))
        out.append(([_Face(s, tid, p) for tid, p in zip(ids, who)], tracker.open_tracks()))
    return out


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("min_faces", [1, 2, 3, 5])
@pytest.mark.parametrize("max_gap", [0, 3])
def test_streaming_equals_the_whole_list_and_lags_little(seed, min_faces, max_gap):
    samples = _tracked_samples(seed, 60, max_gap)
    whole, dropped = drop_short_tracks([f for faces, _ in samples for f in faces], len(samples), min_faces)
    keep: ShortTrackFilter[_Face] = ShortTrackFilter(min_faces)
    streamed: list[_Face] = []
    lag = 0
    for n, (faces, open_tracks) in enumerate(samples, start=1):
        released = keep.add(faces, frames=n, open_tracks=open_tracks)
        lag = max([lag] + [n - 1 - f.sample for f in released])
        streamed += released
    streamed += keep.finish(frames=len(samples))
    assert streamed == list(whole) and keep.dropped == dropped
    if min_faces > 1:
        assert dropped > 0  # the flickering person left tracks to drop, so the test saw the rule at work
    # A face waits only until its track has min_faces faces or has closed (max_gap + 1 samples without one).
    assert lag <= min_faces * (max_gap + 2)


def test_fewer_sampled_frames_than_the_rule_needs_keep_everything():
    keep: ShortTrackFilter[_Face] = ShortTrackFilter(3)
    # Two sampled frames: track 0 closed after the first (the tracker says so), but the rule never applies.
    assert keep.add([_Face(0, 0, 0)], frames=1, open_tracks=frozenset()) == []
    assert keep.add([_Face(1, 1, 1)], frames=2, open_tracks=frozenset({1})) == []
    assert keep.finish(frames=2) == [_Face(0, 0, 0), _Face(1, 1, 1)] and keep.dropped == 0


def test_renumbering_follows_the_first_kept_face():
    faces = [_Face(0, 5, 0), _Face(0, 9, 1), _Face(1, 9, 1), _Face(2, 5, 0), _Face(3, 7, 2)]
    kept, dropped = drop_short_tracks(faces, 4, 2)
    assert [(f.sample, f.track_id) for f in kept] == [(0, 0), (0, 1), (1, 1), (2, 0)] and dropped == 1
