"""Scan results: ``MediaResult``'s invariants (a probability exactly when there is a score), ``to_dict`` as the JSON
contract of ``deepfake scan --json`` (checked against ``detector/schemas/media_result.schema.json`` when
jsonschema is installed), and ``MediaResult.failed``."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from detector import results as R
from detector.results import FaceEvidence, MediaResult, ModelInfo, TimelinePoint, TrackResult

SCHEMA_PATH = Path(R.__file__).resolve().parent / "schemas" / "media_result.schema.json"
MODEL = ModelInfo("tiny", "0.1", "ab" * 32)
REASONS = (R.NO_FACE_FOUND, R.FACES_TOO_SMALL, R.TOO_FEW_FRAMES, R.LOW_QUALITY, R.NEAR_THRESHOLD, R.ABOVE_THRESHOLD,
           R.BELOW_THRESHOLD, R.ERROR)


def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


def video(**changes) -> MediaResult:
    base = MediaResult(
        path="clips/a.mp4", media="video", verdict="fake", fake_probability=0.87654321, threshold=0.5,
        reasons=(R.ABOVE_THRESHOLD,), model=MODEL,
        tracks=(TrackResult(track_id=0, first_time=0.04, last_time=1.96, n_faces=49, mean_size_px=99.8765,
                            box=(10.123, 20.456, 110.789, 140.001), fake_probability=0.812345678),
                TrackResult(track_id=1, first_time=0.5, last_time=0.9, n_faces=3, mean_size_px=61.0,
                            box=(200.0, 20.0, 260.0, 90.0), fake_probability=0.9)),
        timeline=(TimelinePoint(0.04, 0, 0.7000004), TimelinePoint(0.5, 1, 0.9)),
        timings={"decode": 0.123456, "total": 1.5})
    return dataclasses.replace(base, **changes)


def all_kinds() -> dict[str, MediaResult]:
    return {
        "fake video": video(),
        "real image": video(path="a.jpg", media="image", verdict="real", fake_probability=0.1,
                            reasons=(R.BELOW_THRESHOLD,), tracks=video().tracks[:1], timeline=()),
        "uncertain": video(verdict="uncertain", fake_probability=0.49, reasons=(R.NEAR_THRESHOLD, R.LOW_QUALITY)),
        "no face": MediaResult(path="wall.mp4", media="video", verdict="no_face", fake_probability=None,
                               threshold=0.5, reasons=(R.NO_FACE_FOUND,), model=MODEL),
        "failed": MediaResult.failed("bad.mp4", {"code": "corrupt_media", "message": "truncated"}, model=MODEL,
                                     threshold=0.5),
    }


@pytest.mark.parametrize("verdict", ["fake", "real", "uncertain"])
def test_a_scored_verdict_needs_a_probability(verdict):
    with pytest.raises(ValueError, match="fake_probability"):
        video(verdict=verdict, fake_probability=None)


@pytest.mark.parametrize("verdict", ["no_face", "error"])
def test_no_face_and_error_never_carry_a_made_up_probability(verdict):
    with pytest.raises(ValueError, match="fake_probability"):
        video(verdict=verdict, fake_probability=0.5)


def test_unknown_verdict_is_refused():
    with pytest.raises(ValueError, match="unknown verdict"):
        video(verdict="maybe")


def test_results_are_frozen_and_is_fake():
    result = video()
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.verdict = "real"  # type: ignore[misc]
    assert result.is_fake and not video(verdict="real", fake_probability=0.1).is_fake
    assert not all_kinds()["failed"].is_fake


def test_to_dict_is_plain_json_with_rounded_numbers():
    d = video().to_dict()
    assert list(d) == ["path", "media", "verdict", "fake_probability", "threshold", "reasons", "model", "tracks",
                       "timeline", "timings", "error"]
    assert json.loads(json.dumps(d)) == d  # lists, not tuples; nothing JSON cannot hold
    assert d["fake_probability"] == 0.876543 and d["reasons"] == ["above_threshold"]
    assert d["model"] == {"name": "tiny", "version": "0.1", "sha256": "ab" * 32}
    assert d["tracks"][0] == {"track_id": 0, "first_time": 0.04, "last_time": 1.96, "n_faces": 49,
                              "fake_probability": 0.812346, "box": [10.12, 20.46, 110.79, 140.0],
                              "mean_size_px": 99.88}
    assert d["timeline"][0] == {"t": 0.04, "track_id": 0, "score": 0.7}
    assert d["timings"] == {"decode": 0.1235, "total": 1.5} and d["error"] is None


def test_an_unscored_person_has_a_null_probability_and_no_place_in_a_scan():
    unscored = dataclasses.replace(video().tracks[0], fake_probability=None)
    d = unscored.to_dict()  # the face stage's person (``deepfake faces --json``): the scan's keys, in its order
    assert list(d) == list(video().to_dict()["tracks"][0]) and d["fake_probability"] is None
    with pytest.raises(ValueError, match="tracks are judged"):
        video(tracks=(unscored,))
    with pytest.raises(TypeError):
        TrackResult(0, 0.04, 1.96, 49, 99.8765, (0.0, 0.0, 1.0, 1.0), 0.8)  # type: ignore[misc]  # keywords only


def test_evidence_stays_out_of_json_and_equality():
    crop = np.zeros((8, 8, 3), np.uint8)
    with_evidence = video(evidence=(FaceEvidence(0, 0.04, 0.9, (0, 0, 8, 8), crop),))
    assert with_evidence.to_dict() == video().to_dict() and "evidence" not in with_evidence.to_dict()
    assert with_evidence == video()  # a scan asked for faces equals the same scan without


def test_failed():
    error = {"code": "corrupt_media", "message": "truncated at 3000 bytes"}
    result = MediaResult.failed("bad.mp4", error, model=MODEL, threshold=0.6, media="video")
    assert (result.verdict, result.fake_probability, result.reasons) == ("error", None, (R.ERROR,))
    assert (result.path, result.media, result.threshold, result.model) == ("bad.mp4", "video", 0.6, MODEL)
    assert result.tracks == () and result.timeline == () and result.evidence == ()
    assert result.to_dict()["error"] == error
    assert MediaResult.failed("x", error, model=MODEL, threshold=0.5).media is None


def test_the_schema_knows_every_verdict_and_reason():
    props = schema()["properties"]
    assert props["verdict"]["enum"] == list(R.VERDICTS)
    assert set(props["reasons"]["items"]["enum"]) == set(REASONS)
    assert set(props) == set(video().to_dict())


@pytest.mark.parametrize("kind", list(all_kinds()))
def test_to_dict_matches_the_schema(kind):
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(all_kinds()[kind].to_dict(), schema())


def test_the_schema_catches_a_broken_result():
    """The schema check above can fail: the contract's own rules reject results the dataclass would refuse."""
    jsonschema = pytest.importorskip("jsonschema")
    d = all_kinds()["no face"].to_dict()
    for bad in ({**d, "fake_probability": 0.5}, {**d, "error": {"code": "x", "message": "y"}},
                {**d, "evidence": []}, {**d, "reasons": ["because"]}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema())
