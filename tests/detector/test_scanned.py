"""A scan that keeps only notes of its faces (and the crops of the most suspicious) answers exactly as the whole-file
path did: every face with its crop held to the end, one classifier call, the judge.

The whole-file path is rebuilt here from its public parts: the face stage's raw faces, the whole-list short-track
rule, ``Classifier.score`` over all crops and :func:`detector.judge.judge`.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from detector import Detector
from detector.classifier import Classifier, CropScores
from detector.faces.extract import drop_short_tracks, summarize_tracks
from detector.judge import FaceFacts, judge
from detector.media import Frame
from detector.provenance import read_provenance
from detector.recipe import ScanConfig, VerdictRules
from detector.results import MediaResult, TimelinePoint
from detector.scanned import ScannedFaces


def _whole_file(detector: Detector, frames: list[Frame], kind: str, evidence: int, provenance=None) -> dict:
    raw = list(detector.faces.iter_faces(frames))
    faces, _ = drop_short_tracks(raw, len(frames), detector.faces.config.detection.min_track_faces)
    scores = (detector.classifier.score(np.stack([f.crop for f in faces]), mirror=detector.recipe.mirror(kind))
              if faces else None)
    probs = np.zeros(0) if scores is None else scores.probabilities
    j = judge([FaceFacts.of(f) for f in faces], probs, media=kind, rules=detector.recipe.verdict,
              aggregation=detector.recipe.aggregation, tracks=summarize_tracks(faces),
              kind_probabilities=None if scores is None else scores.kind_probs,
              novelty=None if scores is None else scores.novelty, provenance=provenance)
    top = sorted(np.flatnonzero(j.usable), key=lambda i: (-probs[i], i))[:evidence] if faces else []
    return {"verdict": j.verdict, "fake_probability": j.fake_probability, "reasons": j.reasons,
            "tracks": j.tracks if j.fake_probability is not None else (), "kind": j.kind,
            "kind_probability": j.kind_probability,
            "timeline": tuple(TimelinePoint(f.timestamp, f.track_id, float(p)) for f, p in zip(faces, probs))
            if j.fake_probability is not None else (),
            "evidence": [(faces[i].track_id, faces[i].timestamp, float(probs[i]), faces[i].box, faces[i].crop)
                         for i in top], "n_faces": len(faces), "dropped": len(raw) - len(faces)}


def _as_scanned(result: MediaResult) -> dict:
    return {"verdict": result.verdict, "fake_probability": result.fake_probability, "reasons": result.reasons,
            "tracks": result.tracks, "kind": result.kind, "kind_probability": result.kind_probability,
            "timeline": result.timeline, "evidence": [(e.track_id, e.t, e.probability, e.box, e.crop)
                                                      for e in result.evidence]}


def _assert_same(result: MediaResult, whole: dict) -> None:
    got, expected = _as_scanned(result), {k: v for k, v in whole.items() if k not in ("n_faces", "dropped")}
    got_evidence, expected_evidence = got.pop("evidence"), expected.pop("evidence")
    assert got == expected  # exact: floats compared with ==
    assert len(got_evidence) == len(expected_evidence)
    for a, b in zip(got_evidence, expected_evidence):
        assert a[:4] == b[:4] and np.array_equal(a[4], b[4])


@pytest.fixture(scope="module")
def kind_mirror_model(tiny_model_builder, tmp_path_factory) -> Classifier:
    """Kind and novelty heads (novelty varying per face), and a card that classifies still images mirrored."""
    path = tiny_model_builder(tmp_path_factory.mktemp("scanned"), kinds=True, novelty_value=1.0, novelty_spread=3.0)
    plain = Classifier.load(path)
    card = replace(plain.card, scan=replace(plain.card.scan, classify=replace(plain.card.scan.classify,
                                                                              mirror_images=True)))
    return Classifier(path, card, batch_size=8)


def _face(astronaut: np.ndarray, side: int) -> np.ndarray:
    return cv2.resize(astronaut[30:230, 140:320], (side, side), interpolation=cv2.INTER_AREA)


def _two_people_and_noise(astronaut: np.ndarray) -> list[Frame]:
    """40 frames: one person throughout, a second from frame 20 to 31, and a face in frame 16 alone (a key frame of
    the detector, so it is found, then dropped as a one-frame track)."""
    big, small = _face(astronaut, 150), _face(astronaut, 110)
    frames = []
    for i in range(40):
        canvas = np.full((360, 640, 3), 90, np.uint8)
        canvas[40 + i:190 + i, 20 + 2 * i:170 + 2 * i] = big
        if 20 <= i < 32:
            canvas[200:310, 480 - i:590 - i] = small[:, ::-1]
        if i == 16:
            canvas[220:330, 300:410] = small
        frames.append(Frame(i, i / 10, canvas))
    return frames


@pytest.mark.parametrize("evidence", [0, 3, 50])
def test_scan_frames_equal_the_whole_file_path(tiny_model, astronaut, evidence):
    detector = Detector.load(tiny_model, batch_size=8)  # several batches, and a partial last one
    frames = _two_people_and_noise(astronaut)
    whole = _whole_file(detector, frames, "video", evidence)
    assert whole["dropped"] >= 1 and len(whole["tracks"]) == 2 and whole["n_faces"] > 40
    _assert_same(detector.scan_frames(frames, media="video", evidence=evidence), whole)


def test_scans_of_files_and_scan_many_equal_the_whole_file_path(kind_mirror_model, demo_clip, astronaut, tmp_path,
                                                                video_writer):
    crowd = np.full((360, 640, 3), 100, np.uint8)  # six faces in one photo, mirrored views beside their own
    for k in range(6):
        r, c = divmod(k, 3)
        crowd[20 + 170 * r:170 + 170 * r, 20 + 210 * c:170 + 210 * c] = _face(astronaut, 150)[:, ::(1 if k % 2 else -1)]
    photo = tmp_path / "crowd.png"
    cv2.imwrite(str(photo), cv2.cvtColor(crowd, cv2.COLOR_RGB2BGR))
    empty = video_writer(tmp_path / "empty.mp4", [np.full((240, 320, 3), 60 + i, np.uint8) for i in range(20)])
    frames = [f.image for f in _two_people_and_noise(astronaut)]
    people = video_writer(tmp_path / "people.mp4", frames, fps=10)
    paths = [photo, demo_clip, empty, people, photo]
    for config in (ScanConfig(), ScanConfig(fps=25.0, min_face_px=120.0)):  # 50 faces, some too small as evidence
        detector = Detector(kind_mirror_model, config=config)
        expected = []
        for path in paths:
            kind, decoded = Detector.sample(path, detector.sampling)
            whole = _whole_file(detector, decoded, kind, 4, read_provenance(path))
            expected.append(whole)
            _assert_same(detector.scan(path, evidence=4), whole)
        assert [e["n_faces"] for e in expected][::2] == [6, 0, 6] and expected[0]["evidence"]
        for result, whole in zip(detector.scan_many(paths, evidence=4), expected, strict=True):
            _assert_same(result, whole)


def test_evidence_is_the_most_suspicious_usable_faces_ties_earlier_first():
    class _Note:
        def __init__(self, track_id: int, size: float) -> None:
            from detector.faces.quality import FaceQuality

            self.track_id, self.timestamp, self.box = track_id, float(track_id), (0.0, 0.0, size, size)
            self.quality = FaceQuality(size, size / 3, 0.99, 100.0, 1.0)

    rules = VerdictRules(min_face_px=40.0)
    sizes = [100, 20, 100, 100, 100, 30]
    probs = np.array([0.5, 0.99, 0.7, 0.5, 0.7, 0.98])
    for evidence, expected in ((2, [2, 4]), (3, [2, 4, 0]), (10, [2, 4, 0, 3]), (0, [])):
        scanned = ScannedFaces(evidence=evidence, rules=rules)
        for i, size in enumerate(sizes):
            scanned.add(_Note(i, size))
        crops = [np.full((4, 4, 3), i, np.uint8) for i in range(6)]
        for part in ([3, 0], [5, 1, 2, 4]):  # scores arrive out of order, in parts
            logits = np.zeros(len(part), np.float32)
            scanned.receive(part, [crops[i] for i in part], CropScores(logits, probs[part]), 0.1)
        assert [e.track_id for e in scanned.evidence(probs)] == expected
        assert np.array_equal(scanned.scores().probabilities, probs)
    # No usable face at all: the most suspicious of all of them, as the judge then counts every face.
    scanned = ScannedFaces(evidence=2, rules=VerdictRules(min_face_px=500.0))
    for i, size in enumerate(sizes):
        scanned.add(_Note(i, size))
    scanned.receive(range(6), crops, CropScores(np.zeros(6, np.float32), probs), 0.1)
    assert [e.track_id for e in scanned.evidence(probs)] == [1, 5]


def test_judging_before_every_face_is_classified_is_refused():
    scanned = ScannedFaces(evidence=0, rules=VerdictRules())
    scanned.add(type("F", (), {"track_id": 0, "timestamp": 0.0, "box": (0, 0, 9, 9), "quality": None})())
    with pytest.raises(ValueError, match="flush"):
        scanned.scores()


def test_when_judging_a_scan_holds_only_the_evidence_crops(tiny_model, astronaut, monkeypatch):
    """Memory bounded by tracks, not frames: of the crops the face stage made, only the ``evidence`` ones are alive
    when the verdict is made (the whole-file path held every one of them)."""
    import gc
    import weakref

    from detector.faces import extract

    made: list[weakref.ref] = []
    align = extract.align_face

    def tracked_align(*args, **kwargs):
        crop = align(*args, **kwargs)
        made.append(weakref.ref(crop))
        return crop

    alive: list[int] = []
    judge_file = Detector._judge

    def judging(self, *args, **kwargs):
        gc.collect()
        alive.append(sum(ref() is not None for ref in made))
        return judge_file(self, *args, **kwargs)

    monkeypatch.setattr(extract, "align_face", tracked_align)
    monkeypatch.setattr(Detector, "_judge", judging)
    result = Detector.load(tiny_model, batch_size=8).scan_frames(_two_people_and_noise(astronaut), media="video",
                                                                evidence=3)
    assert len(made) > 40 and alive == [3] and len(result.evidence) == 3
