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
from detector.kinds import FAKE_KINDS
from detector.provenance import Action, Evidence, Manifest, Problem, Provenance
from detector.results import FaceEvidence, MediaResult, ModelInfo, TimelinePoint, TrackResult

SCHEMA_PATH = Path(R.__file__).resolve().parent / "schemas" / "media_result.schema.json"
MODEL = ModelInfo("tiny", "0.1", "ab" * 32)
REASONS = (R.NO_FACE_FOUND, R.FACES_TOO_SMALL, R.TOO_FEW_FRAMES, R.LOW_QUALITY, R.NEAR_THRESHOLD, R.ABOVE_THRESHOLD,
           R.BELOW_THRESHOLD, R.UNFAMILIAR_FACE, R.ERROR, *R.DECLARED_REASONS, R.PROVENANCE_INVALID)
SIGNED = Provenance("declared_synthetic", "c2pa", "Gen", "trainedAlgorithmicMedia",
                    Manifest("Gen 1", "Org", "2026-01-01T00:00:00+00:00", "Valid", True,
                             ("signingCredential.untrusted",), (Action("active", "c2pa.created", "Gen", "trainedAlgorithmicMedia"),)),
                    (Evidence("c2pa", "c2pa/active/c2pa.created/digitalSourceType", "trainedAlgorithmicMedia"),))


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
        "fake with kinds": with_kinds(),
        "abstained": with_kinds(verdict="uncertain", reasons=(R.UNFAMILIAR_FACE,)),
        "failed": MediaResult.failed("bad.mp4", {"code": "corrupt_media", "message": "truncated"}, model=MODEL,
                                     threshold=0.5),
        # Schema version 3: what the file declares, and the verdicts a declaration makes.
        "declared, no face": MediaResult(path="gen.png", media="image", verdict="fake", fake_probability=None,
                                         threshold=0.5, reasons=(R.DECLARED_SYNTHETIC_C2PA, R.NO_FACE_FOUND),
                                         model=MODEL, kind="synthetic", provenance=SIGNED),
        "declared over real pixels": video(verdict="fake", fake_probability=0.1,
                                           reasons=(R.GENERATOR_METADATA, R.BELOW_THRESHOLD), kind="synthetic",
                                           provenance=Provenance("generator_metadata", "generator", "ComfyUI")),
        "tampered": video(reasons=(R.PROVENANCE_INVALID, R.ABOVE_THRESHOLD), provenance=Provenance(
            "invalid_signature", manifest=Manifest(None, "Org", None, "Invalid", False,
                                                   ("assertion.dataHash.mismatch",)))),
        "unreadable, failed": MediaResult.failed(
            "cut.jpg", {"code": "corrupt_media", "message": "truncated"}, model=MODEL, threshold=0.5,
            provenance=Provenance("unreadable", problems=(Problem("metadata_malformed", "XMP not read"),))),
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
    # Schema version 2 appended kind and kind_probability, version 3 provenance: older keys keep their order.
    assert list(d) == ["path", "media", "verdict", "fake_probability", "threshold", "reasons", "model", "tracks",
                       "timeline", "timings", "error", "kind", "kind_probability", "provenance"]
    assert d["provenance"] is None  # no file read
    assert json.loads(json.dumps(d)) == d  # lists, not tuples; nothing JSON cannot hold
    assert d["fake_probability"] == 0.876543 and d["reasons"] == ["above_threshold"]
    assert d["model"] == {"name": "tiny", "version": "0.1", "sha256": "ab" * 32}
    assert d["tracks"][0] == {"track_id": 0, "first_time": 0.04, "last_time": 1.96, "n_faces": 49,
                              "fake_probability": 0.812346, "box": [10.12, 20.46, 110.79, 140.0],
                              "mean_size_px": 99.88, "kind": None, "kind_probability": None}
    assert d["timeline"][0] == {"t": 0.04, "track_id": 0, "score": 0.7}
    assert d["timings"] == {"decode": 0.1235, "total": 1.5} and d["error"] is None
    assert d["kind"] is None and d["kind_probability"] is None  # a model without a kind head


def with_kinds(**changes) -> MediaResult:
    """A fake video from a model with a kind head."""
    base = video()
    tracks = (dataclasses.replace(base.tracks[0], kind="reenactment", kind_probability=0.61234567),
              dataclasses.replace(base.tracks[1], kind="swap", kind_probability=0.8))
    return dataclasses.replace(base, tracks=tracks, kind="swap", kind_probability=0.8, **changes)


def test_a_named_kind_is_in_the_json_of_file_and_persons():
    d = with_kinds().to_dict()
    assert (d["kind"], d["kind_probability"]) == ("swap", 0.8)
    assert [(t["kind"], t["kind_probability"]) for t in d["tracks"]] == [("reenactment", 0.612346), ("swap", 0.8)]
    assert with_kinds(verdict="uncertain", reasons=(R.UNFAMILIAR_FACE,)).kind == "swap"


@pytest.mark.parametrize("verdict", ["real", "no_face", "error"])
def test_only_fake_and_uncertain_name_a_kind(verdict):
    probability = 0.1 if verdict == "real" else None
    with pytest.raises(ValueError, match="names the kind"):
        with_kinds(verdict=verdict, fake_probability=probability,
                   error={"code": "x", "message": "y"} if verdict == "error" else None)


def test_a_kind_is_one_of_the_kinds_and_comes_with_its_probability():
    with pytest.raises(ValueError, match="unknown kind"):
        video(kind="morph", kind_probability=0.5)
    with pytest.raises(ValueError, match="both or neither"):
        video(kind="swap")
    with pytest.raises(ValueError, match="both or neither"):
        dataclasses.replace(video().tracks[0], kind_probability=0.5)


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
    kinds = [k for k in props["kind"]["enum"] if k is not None]
    assert tuple(kinds) == FAKE_KINDS
    assert props["tracks"]["items"]["properties"]["kind"]["enum"] == props["kind"]["enum"]


def test_the_schema_says_its_version():
    assert f"/v{R.SCHEMA_VERSION}/" in schema()["$id"]
    assert f"Schema version {R.SCHEMA_VERSION}" in schema()["description"]


@pytest.mark.parametrize("kind", list(all_kinds()))
def test_to_dict_matches_the_schema(kind):
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(all_kinds()[kind].to_dict(), schema())


def test_a_declaration_decides_the_verdict_and_only_then_may_leave_out_probabilities():
    declared = all_kinds()["declared, no face"]
    assert declared.declared and declared.is_fake and declared.to_dict()["provenance"]["state"] == "declared_synthetic"
    with pytest.raises(ValueError, match="fake_probability"):  # without a declaration, a fake needs its probability
        dataclasses.replace(declared, reasons=(R.NO_FACE_FOUND,), kind=None)
    with pytest.raises(ValueError, match="makes the verdict fake"):
        dataclasses.replace(declared, verdict="no_face", kind=None)
    with pytest.raises(ValueError, match="both or neither"):  # the model's kind keeps its probability
        video(kind="swap")
    assert not all_kinds()["tampered"].declared


def test_the_schema_catches_a_broken_result():
    """The schema check above can fail: the contract's own rules reject results the dataclass would refuse."""
    jsonschema = pytest.importorskip("jsonschema")
    d = all_kinds()["no face"].to_dict()
    for bad in ({**d, "fake_probability": 0.5}, {**d, "error": {"code": "x", "message": "y"}},
                {**d, "evidence": []}, {**d, "reasons": ["because"]}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema())
    # The kind's rules: only fake and uncertain name one, with its probability, from the one vocabulary.
    good = with_kinds().to_dict()
    jsonschema.validate(good, schema())
    real = {**good, "verdict": "real", "reasons": ["below_threshold"]}
    track = good["tracks"][0]
    for bad in (real, {**good, "kind": "morph"}, {**good, "kind_probability": None}, {**good, "kind": None},
                {**good, "kind_probability": 1.5}, {k: v for k, v in good.items() if k != "kind"},
                {**good, "tracks": [{**track, "kind_probability": None}]},
                {**good, "tracks": [{k: v for k, v in track.items() if k != "kind"}]}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema())
    # Version 3: a fake without a probability needs its face-less reason; the provenance block has one shape.
    declared = all_kinds()["declared, no face"].to_dict()
    block = declared["provenance"]
    for bad in ({**declared, "reasons": ["declared_synthetic_c2pa"]}, {**declared, "reasons": ["no_face_found"],
                                                                          "kind": None},
                {**declared, "provenance": {**block, "state": "probably_fake"}},
                {**declared, "provenance": {**block, "evidence": [{"source": "exif", "field": "x",
                                                                     "value": "y" * 201}]}},
                {**declared, "provenance": {**block, "problems": [{"code": "oops", "message": ""}]}},
                {k: v for k, v in declared.items() if k != "provenance"}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema())
