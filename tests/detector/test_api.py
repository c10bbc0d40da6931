"""The embeddable API and the ``deepfake scan`` output contract.

These are behaviour tests: they run on a tiny random-weights model (``tiny_model`` in conftest), so they
pass or fail on the rules, never on how good the shipped model is (its golden outputs are in
``test_default_model.py``).
"""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from detector import Detector
from detector.errors import ConfigError, MediaNotFoundError
from detector.recipe import ScanConfig
from detector.results import MediaResult, ModelInfo

SCHEMA = Path(__file__).resolve().parents[2] / "detector" / "schemas" / "media_result.schema.json"


@pytest.fixture(scope="module")
def detector(tiny_model) -> Detector:
    return Detector.load(tiny_model)


@pytest.fixture(scope="module")
def validate():
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    return validator.validate


def test_video_scan_gives_a_probability_per_person(detector, demo_clip, validate):
    result = detector.scan(demo_clip)
    assert result.media == "video" and result.verdict in ("fake", "real", "uncertain")
    assert 0.0 <= result.fake_probability <= 1.0
    assert len(result.tracks) == 1 and result.tracks[0].n_faces == 32
    assert len(result.timeline) == 32 and result.reasons
    assert result.fake_probability == pytest.approx(max(t.fake_probability for t in result.tracks))
    assert set(result.timings) >= {"decode", "detect", "classify", "total"}
    validate(result.to_dict())


def test_image_and_array_scans_agree(detector, astronaut, tmp_path, validate):
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    from_file = detector.scan(path)
    from_array = detector.scan_image(astronaut)
    assert from_file.media == from_array.media == "image"
    assert from_file.fake_probability == pytest.approx(from_array.fake_probability, abs=1e-6)
    validate(from_array.to_dict())


def test_no_face_is_never_a_made_up_score(detector, tmp_path, video_writer, validate):
    path = video_writer(tmp_path / "wall.mp4", [np.full((120, 160, 3), 90, np.uint8)] * 8)
    result = detector.scan(path)
    assert result.verdict == "no_face" and result.fake_probability is None and result.tracks == ()
    assert result.reasons == ("no_face_found",)
    validate(result.to_dict())


def test_small_faces_are_uncertain_with_a_reason(detector, astronaut):
    small = cv2.resize(astronaut, (96, 96), interpolation=cv2.INTER_AREA)
    canvas = np.full((400, 400, 3), 120, np.uint8)
    canvas[150:246, 150:246] = small
    result = detector.scan_image(canvas)
    assert result.verdict == "uncertain" and "faces_too_small" in result.reasons
    assert result.fake_probability is not None


def test_one_frame_video_has_too_few_frames(detector, tmp_path, astronaut, video_writer):
    path = video_writer(tmp_path / "one.mp4", [astronaut])
    result = detector.scan(path)
    assert result.media == "video" and result.verdict == "uncertain" and "too_few_frames" in result.reasons


def test_near_threshold_band_makes_uncertain(detector, tiny_model, demo_clip):
    p = detector.scan(demo_clip).fake_probability
    wide = Detector.load(tiny_model, config=ScanConfig(threshold=min(max(p, 0.05), 0.95), uncertain_band=0.2))
    result = wide.scan(demo_clip)
    assert result.verdict == "uncertain" and "near_threshold" in result.reasons


def test_scan_many_keeps_going(detector, demo_clip, tmp_path, validate):
    results = list(detector.scan_many([demo_clip, tmp_path / "missing.mp4", demo_clip]))
    assert [r.verdict != "error" for r in results] == [True, False, True]
    assert results[1].error["code"] == "not_found" and results[1].fake_probability is None
    for r in results:
        validate(r.to_dict())
    with pytest.raises(MediaNotFoundError):
        detector.scan(tmp_path / "missing.mp4")


def test_result_types_refuse_inconsistent_states():
    model = ModelInfo("m", "1", "0" * 64)
    with pytest.raises(ValueError):
        MediaResult("x", "image", "fake", None, 0.5, (), model)
    with pytest.raises(ValueError):
        MediaResult("x", "image", "no_face", 0.5, 0.5, (), model)


def test_scan_cli_json_lines_and_exit_codes(demo_clip, tmp_path, validate, tiny_model_builder):
    """Exit codes compose: a found fake (1) wins over failed inputs (3), which win over 0."""
    from pipelines.cli import EXIT_FAKE, EXIT_INPUT_ERRORS, EXIT_OK, main

    says_fake = str(tiny_model_builder(tmp_path / "fake", bias=6.0))  # every face scores ~1
    says_real = str(tiny_model_builder(tmp_path / "real", bias=-6.0))  # every face scores ~0
    for model, verdict, code in ((says_fake, "fake", EXIT_FAKE), (says_real, "real", EXIT_OK)):
        out = io.StringIO()
        assert main(["scan", str(demo_clip), "--json", "--frames", "8", "--model", model], stdout=out) == code
        [record] = [json.loads(line) for line in out.getvalue().splitlines()]
        validate(record)
        assert record["verdict"] == verdict
    text = tmp_path / "t.mp4"
    text.write_text("hello")
    out = io.StringIO()
    assert main(["scan", str(text), str(demo_clip), "--frames", "4", "--model", says_real],
                stdout=out) == EXIT_INPUT_ERRORS
    table = out.getvalue().splitlines()
    assert table[0].split()[:2] == ["file", "verdict"] and "unsupported_media" in table[1]
    out = io.StringIO()
    assert main(["scan", str(text), str(demo_clip), "--frames", "4", "--model", says_fake],
                stdout=out) == EXIT_FAKE


def test_evidence_keeps_the_most_suspicious_crops_out_of_the_json(detector, demo_clip):
    plain = detector.scan(demo_clip)
    assert plain.evidence == ()
    result = detector.scan(demo_clip, evidence=3)
    assert len(result.evidence) == 3
    probs = [e.probability for e in result.evidence]
    assert probs == sorted(probs, reverse=True)
    assert probs[0] == pytest.approx(max(p.score for p in result.timeline))
    size = detector.classifier.align.size
    assert all(e.crop.shape == (size, size, 3) and e.crop.dtype == np.uint8 for e in result.evidence)
    assert "evidence" not in result.to_dict() and result.to_dict() == plain.to_dict() | {"timings": result.to_dict()["timings"]}


def test_scan_many_batches_faces_across_files_without_changing_answers(detector, demo_clip, astronaut, tmp_path,
                                                                       monkeypatch, validate):
    photos = []
    for i in range(5):
        path = tmp_path / f"photo{i}.png"
        cv2.imwrite(str(path), cv2.cvtColor(np.roll(astronaut, 8 * i, axis=1), cv2.COLOR_RGB2BGR))
        photos.append(path)
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    paths = [photos[0], junk, *photos[1:], demo_clip]
    one_by_one = []
    for p in paths:
        try:
            one_by_one.append(detector.scan(p))
        except Exception as exc:  # noqa: BLE001 - compared by code below
            one_by_one.append(exc)
    calls = []
    outputs = detector.classifier.outputs
    monkeypatch.setattr(detector.classifier, "outputs", lambda crops: calls.append(len(crops)) or outputs(crops))
    batched = list(detector.scan_many(paths))
    assert [r.path for r in batched] == [str(p) for p in paths]
    # 5 photos (1 face each) and the clip (32 faces) reach the classifier together, in full batches as they come
    # (the tiny model's card mirrors no image), not in six calls.
    assert not detector.recipe.mirror("image") and calls == [32, 5]
    for single, many in zip(one_by_one, batched):
        validate(many.to_dict())
        if isinstance(single, Exception):
            assert many.verdict == "error" and many.error["code"] == single.code
            continue
        assert many.verdict == single.verdict
        assert many.fake_probability == pytest.approx(single.fake_probability, abs=1e-5)


def test_scan_many_turns_unexpected_failures_into_error_results(tiny_model, demo_clip, monkeypatch, tmp_path):
    """A file that breaks part-way, after some of its faces were classified (batches of 8 here): an error result,
    and the next file's answer as if it had been scanned alone."""
    detector = Detector.load(tiny_model, batch_size=8)
    boom = tmp_path / "boom.mp4"  # a real file: its provenance is read before the decoder explodes
    boom.write_bytes(demo_clip.read_bytes())
    stream_frames = detector.faces.stream_frames

    def exploding(frames):
        for i, frame in enumerate(frames):
            if i == 20:
                raise RuntimeError("decoder exploded")
            yield frame

    def flaky(frames, **kwargs):
        if kwargs["media"].path.endswith("boom.mp4"):
            frames = exploding(frames)
        return stream_frames(frames, **kwargs)

    monkeypatch.setattr(detector.faces, "stream_frames", flaky)
    calls = []
    outputs = detector.classifier.outputs
    monkeypatch.setattr(detector.classifier, "outputs", lambda crops: calls.append(len(crops)) or outputs(crops))
    results = list(detector.scan_many([boom, demo_clip]))
    assert sum(calls) == 16 + 32  # boom's first two parts of 8 faces were classified before it broke
    assert results[0].verdict == "error" and results[0].error["code"] == "internal_error"
    assert "decoder exploded" in results[0].error["message"]
    alone = detector.scan(demo_clip)
    assert results[1].to_dict() == alone.to_dict() | {"timings": results[1].to_dict()["timings"]}


def test_guarded_is_the_one_boundary_callers_scan_through(detector, demo_clip, tmp_path):
    """``Detector.guarded``: the scan's result, or the file's ``error`` result (never a score) whatever it raised."""
    untimed = lambda r: replace(r, timings={})
    assert untimed(detector.guarded(demo_clip)) == untimed(detector.scan(demo_clip))
    missing = detector.guarded(tmp_path / "nope.mp4")
    assert missing.verdict == "error" and missing.error["code"] == "not_found"
    assert missing.fake_probability is None and missing.tracks == ()
    crashed = detector.guarded("x.mp4", lambda: 1 / 0)
    assert crashed.error == {"code": "internal_error", "message": "ZeroDivisionError: division by zero"}
    assert crashed.path == "x.mp4" and crashed.model == detector.model


def test_a_crowd_of_twenty_faces_gives_twenty_persons(detector, astronaut, tmp_path, video_writer, validate):
    face = cv2.resize(astronaut[40:200, 160:290], (128, 128), interpolation=cv2.INTER_AREA)
    frames = []
    for t in range(8):
        canvas = np.full((4 * 160, 5 * 160, 3), 100, np.uint8)
        for k in range(20):
            r, c = divmod(k, 5)
            y, x = r * 160 + 16 + t, c * 160 + 16
            canvas[y:y + 128, x:x + 128] = face if k % 2 == 0 else face[:, ::-1]
        frames.append(canvas)
    path = video_writer(tmp_path / "crowd.mp4", frames, fps=4)
    result = detector.scan(path)
    validate(result.to_dict())
    assert len(result.tracks) == 20 and all(t.n_faces == 8 for t in result.tracks)
    assert result.verdict in ("fake", "real", "uncertain") and result.fake_probability is not None
    assert result.fake_probability == pytest.approx(max(t.fake_probability for t in result.tracks))


def test_a_corrupt_model_or_card_is_refused_at_load_with_a_clear_error(tmp_path, demo_clip):
    from detector.classifier import DEFAULT_MODEL
    from detector.errors import ModelIntegrityError
    from pipelines.cli import main

    onnx, card = tmp_path / "model.onnx", tmp_path / "model.json"
    onnx.write_bytes(DEFAULT_MODEL.read_bytes()[:5000])  # truncated download
    card.write_text(DEFAULT_MODEL.with_suffix(".json").read_text())
    with pytest.raises(ModelIntegrityError, match="sha256"):
        Detector.load(onnx)
    assert main(["scan", str(demo_clip), "--model", str(onnx)], stdout=io.StringIO()) == 4
    onnx.write_bytes(DEFAULT_MODEL.read_bytes())
    card.write_text("{ not json")
    with pytest.raises(ModelIntegrityError):
        Detector.load(onnx)
    assert main(["scan", str(demo_clip), "--model", str(onnx)], stdout=io.StringIO()) == 4


# -- the kind of fake and abstention, through the scan (tiny models with the optional heads) --------------------------

@pytest.fixture(scope="module")
def kind_model(tiny_model_builder, tmp_path_factory):
    """Calls every face fake (bias 6), leans to reenactment, novelty 3 for every face."""
    return tiny_model_builder(tmp_path_factory.mktemp("kind-model"), bias=6.0, kinds=True, kind_bias=(0.0, 6.0, 0.0),
                              novelty_value=3.0)


def test_a_scan_names_the_kind_per_person_and_for_the_file(kind_model, demo_clip, validate):
    detector = Detector.load(kind_model)
    result = detector.scan(demo_clip)
    (person,) = result.tracks
    # The person's kind: its faces' P(kind | fake), each weighted by its P(fake), averaged; the file: its person's.
    found = detector.faces.extract(demo_clip, sampling=detector.sampling)
    scores = detector.classifier.score(np.stack([f.crop for f in found.faces]))
    mean = (scores.kind_probs * scores.probabilities[:, None]).sum(axis=0) / scores.probabilities.sum()
    assert person.kind == ("swap", "reenactment", "synthetic")[int(mean.argmax())] == "reenactment"
    assert person.kind_probability == pytest.approx(mean.max(), abs=1e-9)
    assert result.verdict == "fake" and (result.kind, result.kind_probability) == (person.kind, person.kind_probability)
    d = result.to_dict()
    validate(d)
    assert d["kind"] == "reenactment" and d["tracks"][0]["kind"] == "reenactment"


def test_scan_many_names_the_same_kinds_as_single_scans(kind_model, demo_clip, astronaut, tmp_path):
    detector = Detector.load(kind_model)
    photo = tmp_path / "a.png"
    cv2.imwrite(str(photo), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    paths = [photo, tmp_path / "missing.mp4", demo_clip, photo]
    batched = list(detector.scan_many(paths))
    assert batched[1].verdict == "error" and batched[1].kind is None
    for path, many in zip(paths, batched):
        if many.verdict == "error":
            continue
        single = detector.scan(path)
        assert (many.verdict, many.kind) == (single.verdict, single.kind)
        assert many.kind_probability == pytest.approx(single.kind_probability, abs=1e-6)
        assert [t.kind for t in many.tracks] == [t.kind for t in single.tracks]


def test_a_card_that_abstains_turns_an_unfamiliar_fake_into_uncertain(tiny_model_builder, tmp_path, demo_clip,
                                                                    validate):
    """Every face has novelty 3: above max_novelty 2 the fake becomes uncertain (``unfamiliar_face``), at 4 it stays
    fake; a real is never touched."""
    def scan(**kwargs):
        return Detector.load(tiny_model_builder(tmp_path / str(len(list(tmp_path.iterdir()))), kinds=True,
                                                novelty_value=3.0, **kwargs)).scan(demo_clip)

    abstains = scan(bias=6.0, max_novelty=2.0)
    assert (abstains.verdict, abstains.reasons) == ("uncertain", ("unfamiliar_face",))
    assert abstains.fake_probability > 0.99 and abstains.kind is not None  # the score and kind are still reported
    validate(abstains.to_dict())
    assert scan(bias=6.0, max_novelty=4.0).verdict == "fake"
    assert scan(bias=6.0).verdict == "fake"  # no max_novelty: never abstains
    real = scan(bias=-6.0, max_novelty=2.0)
    assert (real.verdict, real.reasons, real.kind) == ("real", ("below_threshold",), None)
    assert real.tracks[0].kind is not None  # the person still says what kind of fake it would be


def test_a_max_novelty_override_abstains_or_stops_abstaining(tiny_model_builder, tmp_path, demo_clip):
    """The scan's override beats the card: a card that never abstains abstains below the faces' novelty (3), a card
    that abstains (2) stops with ``"off"``; a model without a novelty output refuses the override at load."""
    plain = tiny_model_builder(tmp_path / "plain", bias=6.0, kinds=True, novelty_value=3.0)
    abstaining = tiny_model_builder(tmp_path / "abstaining", bias=6.0, kinds=True, novelty_value=3.0, max_novelty=2.0)
    assert Detector.load(plain, config=ScanConfig(max_novelty=2.5)).scan(demo_clip).reasons == ("unfamiliar_face",)
    assert Detector.load(abstaining).scan(demo_clip).verdict == "uncertain"
    assert Detector.load(abstaining, config=ScanConfig(max_novelty="off")).scan(demo_clip).verdict == "fake"
    assert Detector.load(abstaining, config=ScanConfig(max_novelty=3.5)).scan(demo_clip).verdict == "fake"
    blind = tiny_model_builder(tmp_path / "blind", bias=6.0)
    with pytest.raises(ConfigError, match="max_novelty 2.5: .* gives no novelty"):
        Detector.load(blind, config=ScanConfig(max_novelty=2.5))
    assert Detector.load(blind, config=ScanConfig(max_novelty="off")).scan(demo_clip).verdict == "fake"
