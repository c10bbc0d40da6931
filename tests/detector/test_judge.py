"""The judge's verdict rules, one by one, on hand-made faces (no model, no media)."""

from __future__ import annotations

import pytest

from detector.judge import FaceFacts, judge
from detector.recipe import AggregationSpec, VerdictRules

RULES = VerdictRules()  # uncertain_band 0.1, min_face_px 40, min_faces 3, min_sharpness 5, min_frontalness 0.2
MEAN = AggregationSpec()


def face(track: int = 0, size: float = 100.0, sharp: float = 50.0, front: float = 0.9) -> FaceFacts:
    return FaceFacts(track, size, sharp, front)


def run(faces, probs, media="video", threshold=0.5, rules=RULES, aggregation=MEAN):
    return judge(faces, probs, media=media, threshold=threshold, rules=rules, aggregation=aggregation)


def test_no_face_has_no_probability():
    j = run([], [])
    assert (j.verdict, j.fake_probability, j.reasons, j.tracks) == ("no_face", None, ("no_face_found",), ())


def test_clear_fake_and_clear_real():
    fake = run([face()] * 4, [0.9, 0.8, 0.95, 0.85])
    assert fake.verdict == "fake" and fake.reasons == ("above_threshold",)
    assert fake.fake_probability == pytest.approx(0.875)
    real = run([face()] * 4, [0.1, 0.2, 0.05, 0.15])
    assert real.verdict == "real" and real.reasons == ("below_threshold",)


def test_the_most_suspicious_person_decides():
    faces = [face(0), face(1), face(0), face(1), face(0), face(1)]
    j = run(faces, [0.1, 0.9, 0.1, 0.9, 0.1, 0.9])
    assert [t.track_id for t in j.tracks] == [0, 1]
    assert [t.faces for t in j.tracks] == [(0, 2, 4), (1, 3, 5)]
    assert j.tracks[0].fake_probability == pytest.approx(0.1)
    assert j.fake_probability == pytest.approx(0.9) and j.verdict == "fake"


def test_small_faces_are_not_evidence_but_their_track_is_reported():
    # Person 1 is small (30 px) and scores high; only person 0 counts.
    faces = [face(0), face(1, size=30), face(0), face(1, size=30), face(0), face(1, size=30)]
    j = run(faces, [0.1, 0.99, 0.1, 0.99, 0.1, 0.99])
    assert j.fake_probability == pytest.approx(0.1) and j.verdict == "real"
    assert [t.counted for t in j.tracks] == [True, False]
    assert j.tracks[1].fake_probability == pytest.approx(0.99)
    assert j.usable == (True, False) * 3


def test_only_small_faces_is_uncertain_with_their_probability():
    j = run([face(size=30)] * 4, [0.9] * 4)
    assert j.verdict == "uncertain" and j.reasons == ("faces_too_small",)
    assert j.fake_probability == pytest.approx(0.9)
    assert all(j.usable)


def test_a_video_needs_enough_faces_an_image_does_not():
    assert run([face()] * 2, [0.9, 0.9]).reasons == ("too_few_frames",)
    assert run([face()] * 2, [0.9, 0.9], media="image").verdict == "fake"


def test_mostly_low_quality_faces_are_uncertain():
    blurred = [face(sharp=1.0)] * 3 + [face()] * 2
    assert run(blurred, [0.9] * 5).reasons == ("low_quality",)
    profile = [face(front=0.1)] * 3 + [face()] * 2
    assert run(profile, [0.9] * 5).reasons == ("low_quality",)
    half = [face(sharp=1.0)] * 2 + [face()] * 2  # not more than half
    assert run(half, [0.9] * 4).verdict == "fake"


def test_near_the_threshold_is_uncertain_and_reasons_accumulate():
    assert run([face()] * 4, [0.55] * 4).reasons == ("near_threshold",)
    assert run([face()] * 4, [0.65] * 4, threshold=0.6).reasons == ("near_threshold",)
    both = run([face()] * 2, [0.52, 0.52])
    assert both.verdict == "uncertain" and both.reasons == ("too_few_frames", "near_threshold")


def test_the_threshold_itself_is_fake():
    j = run([face()] * 4, [0.7] * 4, threshold=0.7, rules=VerdictRules(uncertain_band=0.0))
    assert j.verdict == "fake"


def test_aggregation_comes_from_the_spec():
    faces = [face()] * 6
    probs = [0.1, 0.1, 0.1, 0.1, 0.95, 0.95]
    assert run(faces, probs).fake_probability == pytest.approx(0.383333, abs=1e-5)
    top2 = run(faces, probs, aggregation=AggregationSpec.from_dict({"strategy": "topk", "k": 2}))
    assert top2.fake_probability == pytest.approx(0.95)


def test_counts_must_match():
    with pytest.raises(ValueError, match="2 faces but 1"):
        run([face(), face()], [0.5])


def test_facts_of_a_face_read_its_quality():
    from types import SimpleNamespace

    quality = SimpleNamespace(size_px=80.0, sharpness=12.5, frontalness=0.7)
    assert FaceFacts.of(SimpleNamespace(track_id=3, quality=quality)) == FaceFacts(3, 80.0, 12.5, 0.7)
