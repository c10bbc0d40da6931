"""The judge's verdict rules, one by one, on hand-made faces (no model, no media)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from detector.faces.extract import Face, summarize_tracks
from detector.faces.quality import FaceQuality
from detector.judge import FaceFacts, judge
from detector.recipe import AggregationSpec, VerdictRules
from detector.results import TrackResult

RULES = VerdictRules()  # uncertain_band 0.1, min_face_px 40, min_faces 3, min_sharpness 5, min_frontalness 0.2
MEAN = AggregationSpec()


def face(track: int = 0, size: float = 100.0, sharp: float = 50.0, front: float = 0.9) -> FaceFacts:
    return FaceFacts(track, size, sharp, front)


def persons(faces: list[FaceFacts]) -> tuple[TrackResult, ...]:
    """Unscored persons of hand-made faces (their times and boxes do not matter to the judge)."""
    ids = sorted({f.track_id for f in faces})
    return tuple(TrackResult(track_id=t, first_time=0.0, last_time=float(len(faces)), mean_size_px=100.0,
                             n_faces=sum(f.track_id == t for f in faces), box=(0.0, 0.0, 100.0, 100.0)) for t in ids)


def run(faces, probs, media="video", threshold=0.5, rules=RULES, aggregation=MEAN, tracks=None):
    rules = dataclasses.replace(rules, threshold=threshold)
    return judge(faces, probs, media=media, rules=rules, aggregation=aggregation,
                 tracks=tracks)


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
    j = run(faces, [0.1, 0.9, 0.1, 0.9, 0.1, 0.9], tracks=persons(faces))
    assert [t.track_id for t in j.tracks] == [0, 1]
    assert [t.n_faces for t in j.tracks] == [3, 3]
    assert j.tracks[0].fake_probability == pytest.approx(0.1)
    assert j.tracks[1].fake_probability == pytest.approx(0.9)
    assert j.fake_probability == pytest.approx(0.9) and j.verdict == "fake"


ONE_MANIPULATED = dataclasses.replace(RULES, combine_persons="mean_odds")


def test_mean_odds_a_group_photo_is_not_fake_because_one_of_its_real_faces_scores_high():
    # Three persons of a still: one at 0.7 alone would be fake; with two at 0.2 the odds average to 0.944.
    faces = [face(0), face(1), face(2)]
    assert run(faces, [0.2, 0.7, 0.2], media="image").verdict == "fake"  # max: the default
    j = run(faces, [0.2, 0.7, 0.2], media="image", rules=ONE_MANIPULATED, tracks=persons(faces))
    assert j.fake_probability == pytest.approx((0.25 + 7 / 3 + 0.25) / 3 / (1 + (0.25 + 7 / 3 + 0.25) / 3))
    assert (j.verdict, j.reasons) == ("uncertain", ("near_threshold",))
    # Each person keeps its own probability.
    assert [t.fake_probability for t in j.tracks] == pytest.approx([0.2, 0.7, 0.2])


def test_mean_odds_strong_evidence_on_one_person_still_makes_the_file_fake():
    faces = [face(t) for t in range(10)]
    j = run(faces, [0.98] + [0.2] * 9, media="image", rules=ONE_MANIPULATED)
    assert j.verdict == "fake" and j.fake_probability == pytest.approx(5.125 / 6.125)


def test_mean_odds_leaves_a_one_person_file_exactly_as_max_does():
    faces = [face()] * 4
    for probs in ([0.9, 0.8, 0.95, 0.85], [0.1, 0.2, 0.05, 0.15], [0.55, 0.45, 0.5, 0.52]):
        assert run(faces, probs, rules=ONE_MANIPULATED) == run(faces, probs)


def test_mean_odds_counts_only_persons_with_usable_faces_and_the_most_suspicious_still_decides_the_kind():
    # Person 1's faces are all too small: it does not count, so the file is person 0's alone.
    faces = [face(0), face(0), face(0), face(1, size=20), face(1, size=20), face(1, size=20)]
    j = run(faces, [0.9] * 3 + [0.1] * 3, rules=ONE_MANIPULATED)
    assert j.fake_probability == pytest.approx(0.9)
    kinds = [[0.1, 0.2, 0.7]] * 3 + [[0.8, 0.1, 0.1]] * 3
    faces = [face(0), face(0), face(0), face(1), face(1), face(1)]
    j = judge(faces, [0.9] * 3 + [0.3] * 3, media="video", rules=ONE_MANIPULATED, aggregation=MEAN,
              kind_probabilities=kinds)
    assert j.verdict == "fake" and j.kind == "synthetic"  # person 0's, the most suspicious
    assert j.fake_probability == pytest.approx((9 + 3 / 7) / 2 / (1 + (9 + 3 / 7) / 2))


def test_small_faces_are_not_evidence_but_their_track_is_reported():
    # Person 1 is small (30 px) and scores high; only person 0 counts.
    faces = [face(0), face(1, size=30), face(0), face(1, size=30), face(0), face(1, size=30)]
    j = run(faces, [0.1, 0.99, 0.1, 0.99, 0.1, 0.99], tracks=persons(faces))
    assert j.fake_probability == pytest.approx(0.1) and j.verdict == "real"
    assert j.tracks[1].fake_probability == pytest.approx(0.99)
    assert j.usable == (True, False) * 3  # person 1 has no usable face: it did not count


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


@pytest.mark.parametrize("tracks", [
    (),  # faces but no persons
    (TrackResult(track_id=0, first_time=0.0, last_time=1.0, n_faces=1, mean_size_px=100.0, box=(0, 0, 1, 1)),),
    (TrackResult(track_id=5, first_time=0.0, last_time=1.0, n_faces=2, mean_size_px=100.0, box=(0, 0, 1, 1)),),
])
def test_persons_must_be_those_of_the_faces(tracks):
    with pytest.raises(ValueError, match="do not match"):
        run([face(), face()], [0.5, 0.5], tracks=tracks)


def test_without_persons_the_verdict_is_the_same_and_no_person_is_returned():
    faces = [face(0), face(1), face(0), face(1)]
    probs = [0.2, 0.9, 0.3, 0.8]
    bare, described = run(faces, probs), run(faces, probs, tracks=persons(faces))
    assert bare.tracks == () and len(described.tracks) == 2
    assert (bare.verdict, bare.fake_probability, bare.reasons, bare.usable) == \
        (described.verdict, described.fake_probability, described.reasons, described.usable)


def test_the_face_stage_person_comes_back_the_same_type_with_its_probability():
    def seen(track: int, t: float, size: float) -> Face:
        quality = FaceQuality(size_px=size, eye_distance_px=size / 3, score=0.99, sharpness=50.0, frontalness=0.9)
        return Face(sample=int(t), frame_index=int(t) * 25, timestamp=t, track_id=track,
                    box=(10.0, 10.0, 10.0 + size, 10.0 + size), landmarks=((0.0, 0.0),) * 5, quality=quality,
                    crop=np.zeros((4, 4, 3), np.uint8))

    faces = [seen(0, 0.0, 80.0), seen(1, 0.0, 60.0), seen(0, 1.0, 120.0), seen(1, 1.0, 60.0), seen(0, 2.0, 100.0)]
    stage = summarize_tracks(faces)
    assert all(type(t) is TrackResult and t.fake_probability is None for t in stage)
    assert stage[0] == TrackResult(track_id=0, first_time=0.0, last_time=2.0, n_faces=3, mean_size_px=100.0,
                                   box=(10.0, 10.0, 130.0, 130.0))  # the largest face's box
    assert stage[1].box == (10.0, 10.0, 70.0, 70.0)  # equally large faces: the first one's
    j = run([FaceFacts.of(f) for f in faces], [0.9, 0.2, 0.7, 0.4, 0.8], tracks=stage)
    assert all(type(t) is TrackResult for t in j.tracks)
    # Judging fills in the probability and nothing else.
    assert [dataclasses.replace(t, fake_probability=None) for t in j.tracks] == list(stage)
    assert [t.fake_probability for t in j.tracks] == [pytest.approx(0.8), pytest.approx(0.3)]
    assert j.tracks[0].to_dict()["fake_probability"] == 0.8 and stage[0].to_dict()["fake_probability"] is None


def test_facts_of_a_face_read_its_quality():
    from types import SimpleNamespace

    quality = SimpleNamespace(size_px=80.0, sharpness=12.5, frontalness=0.7)
    assert FaceFacts.of(SimpleNamespace(track_id=3, quality=quality)) == FaceFacts(3, 80.0, 12.5, 0.7)


# -- the kind of fake and abstention on unfamiliar faces (a model with a kind head and a novelty output) -------------

SWAP, REENACT, SYNTH = [0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]


def kinded(faces, probs, kinds, novelty=None, rules=RULES, tracks=None, media="video"):
    return judge(faces, probs, media=media, rules=rules, aggregation=MEAN, tracks=tracks,
                 kind_probabilities=kinds, novelty=novelty)


def test_a_person_s_kind_is_the_argmax_of_its_mean_kind_probabilities():
    faces = [face(0)] * 4
    j = kinded(faces, [0.9] * 4, [SWAP, SWAP, REENACT, SWAP], tracks=persons(faces))
    (person,) = j.tracks
    assert person.kind == "swap" and person.kind_probability == pytest.approx((0.8 * 3 + 0.1) / 4)
    assert (j.kind, j.kind_probability) == (person.kind, person.kind_probability)


def test_the_faces_that_look_fake_decide_the_kind():
    """Weighted by P(fake): two faces that look fake and say reenactment outweigh three that look real and say swap
    (an unweighted mean would say swap)."""
    faces = [face(0)] * 5
    probs = [0.95, 0.9, 0.05, 0.05, 0.05]
    j = kinded(faces, probs, [REENACT, REENACT, SWAP, SWAP, SWAP], rules=dataclasses.replace(RULES, uncertain_band=0),
               tracks=persons(faces))
    expected = (0.8 * 1.85 + 0.1 * 0.15) / 2.0
    assert j.tracks[0].kind == "reenactment" and j.tracks[0].kind_probability == pytest.approx(expected)
    assert np.mean([SWAP, SWAP, SWAP, REENACT, REENACT], axis=0).argmax() == 0  # the unweighted mean: swap
    # Every face at P(fake) 0: nothing to weigh by, the plain mean decides.
    zero = kinded(faces, [0.0] * 5, [REENACT, REENACT, SWAP, SWAP, SWAP], tracks=persons(faces))
    assert zero.tracks[0].kind == "swap" and zero.kind is None  # real: the file names no kind


def test_the_file_s_kind_is_its_deciding_person_s():
    faces = [face(0), face(1), face(0), face(1), face(0), face(1)]
    kinds = [SWAP, SYNTH, SWAP, SYNTH, SWAP, SYNTH]
    j = kinded(faces, [0.7, 0.9, 0.7, 0.9, 0.7, 0.9], kinds, tracks=persons(faces))
    assert [t.kind for t in j.tracks] == ["swap", "synthetic"]
    assert j.verdict == "fake" and (j.kind, j.kind_probability) == ("synthetic", pytest.approx(0.8))
    # Equal scores: the first person by track id decides, as for the probability.
    tie = kinded(faces, [0.9] * 6, kinds, tracks=persons(faces))
    assert tie.kind == "swap"


def test_a_small_faced_person_that_does_not_count_does_not_name_the_file_s_kind():
    faces = [face(0, size=10)] * 3 + [face(1)] * 3
    j = kinded(faces, [0.99] * 3 + [0.9] * 3, [SYNTH] * 3 + [SWAP] * 3, tracks=persons(faces))
    assert [t.kind for t in j.tracks] == ["synthetic", "swap"] and j.kind == "swap"


@pytest.mark.parametrize(("probs", "verdict", "named"), [
    ([0.9] * 3, "fake", True), ([0.52] * 3, "uncertain", True), ([0.1] * 3, "real", False)])
def test_only_fake_and_uncertain_files_name_a_kind(probs, verdict, named):
    faces = [face()] * 3
    j = kinded(faces, probs, [SYNTH] * 3, tracks=persons(faces))
    assert j.verdict == verdict
    assert (j.kind == "synthetic") is named and (j.kind_probability is not None) is named
    assert j.tracks[0].kind == "synthetic"  # a person names its likeliest kind either way: P(kind | fake)


def test_without_a_kind_head_nothing_is_named():
    faces = [face()] * 3
    j = run(faces, [0.9] * 3, tracks=persons(faces))
    assert j.kind is None and j.kind_probability is None
    assert j.tracks[0].kind is None and j.tracks[0].kind_probability is None


def test_kind_probabilities_must_be_one_row_of_three_per_face():
    with pytest.raises(ValueError, match="kind probabilities of shape"):
        kinded([face()] * 3, [0.9] * 3, [SWAP] * 2)
    with pytest.raises(ValueError, match="kind probabilities of shape"):
        kinded([face()] * 3, [0.9] * 3, [[0.5, 0.5]] * 3)
    assert kinded([], [], np.zeros((0, 3))).verdict == "no_face"


ABSTAIN = dataclasses.replace(RULES, max_novelty=2.0)


def test_an_unfamiliar_fake_becomes_uncertain_only_above_max_novelty():
    faces = [face()] * 3
    above = kinded(faces, [0.9] * 3, [SWAP] * 3, novelty=[2.5, 2.1, 1.0], rules=ABSTAIN)  # median 2.1 > 2
    assert (above.verdict, above.reasons) == ("uncertain", ("unfamiliar_face",))
    assert above.fake_probability == pytest.approx(0.9) and above.kind == "swap"  # the score and kind stay
    at = kinded(faces, [0.9] * 3, [SWAP] * 3, novelty=[2.5, 2.0, 1.0], rules=ABSTAIN)  # median 2.0: not above
    assert (at.verdict, at.reasons) == ("fake", ("above_threshold",))
    never = kinded(faces, [0.9] * 3, None, novelty=[50.0] * 3)  # no max_novelty: never abstains
    assert never.verdict == "fake" and never.kind is None
    nan = kinded(faces, [0.9] * 3, None, novelty=[np.nan] * 3, rules=ABSTAIN)
    assert nan.verdict == "uncertain" and nan.reasons == ("unfamiliar_face",)


def test_abstention_never_touches_a_real_or_an_uncertain_verdict():
    faces = [face()] * 3
    real = kinded(faces, [0.1] * 3, [SWAP] * 3, novelty=[99.0] * 3, rules=ABSTAIN)
    assert (real.verdict, real.reasons, real.kind) == ("real", ("below_threshold",), None)
    near = kinded(faces, [0.55] * 3, None, novelty=[99.0] * 3, rules=ABSTAIN)
    assert (near.verdict, near.reasons) == ("uncertain", ("near_threshold",))


def test_the_deciding_person_s_usable_faces_decide_familiarity():
    """Person 1 (most suspicious) is familiar on its usable faces; its small face and person 0 are not."""
    faces = [face(0), face(0), face(0), face(1), face(1), face(1), face(1, size=10)]
    probs = [0.7, 0.7, 0.7, 0.9, 0.9, 0.9, 0.9]
    novelty = [9.0, 9.0, 9.0, 1.0, 1.0, 1.0, 9.0]
    j = kinded(faces, probs, None, novelty=novelty, rules=ABSTAIN)
    assert j.verdict == "fake"
    swapped = kinded(faces, probs, None, novelty=[1.0, 1.0, 1.0, 9.0, 9.0, 1.0, 1.0], rules=ABSTAIN)
    assert swapped.verdict == "uncertain" and swapped.reasons == ("unfamiliar_face",)


def test_rules_that_abstain_need_the_novelty():
    with pytest.raises(ValueError, match="no novelty was given"):
        kinded([face()] * 3, [0.9] * 3, None, rules=ABSTAIN)
    with pytest.raises(ValueError, match="novelty values"):
        kinded([face()] * 3, [0.9] * 3, None, novelty=[1.0, 1.0], rules=ABSTAIN)
    assert kinded([], [], None, rules=ABSTAIN).verdict == "no_face"
