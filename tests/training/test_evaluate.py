"""``deepfake eval`` judges an item exactly as ``deepfake scan`` does: one recipe (the card's), one judge.

Fixtures only (a random-weights model, the astronaut): behaviour, not the shipped model's quality. The slow,
data-marked ``tests/pipelines/test_scan_matches_eval.py`` checks the same on the eval videos.
"""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

from detector.api import Detector
from detector.classifier import Classifier
from detector.recipe import ScanConfig
from training.data import MediaItem
from training.evaluate import report, score_items

pytest.importorskip("sklearn")


@pytest.fixture
def media(tmp_path, astronaut, demo_clip):
    """A clip, a photo, a photo whose face is too small to be evidence, a photo without a face, a broken file."""
    out = {}
    out["clip"] = tmp_path / "clip.mp4"
    shutil.copy(demo_clip, out["clip"])
    for name, image in (("photo", astronaut),
                        ("small", cv2.copyMakeBorder(cv2.resize(astronaut, (200, 200)), 300, 300, 300, 300,
                                                     cv2.BORDER_CONSTANT, value=(127, 127, 127))),
                        ("blank", np.full((240, 320, 3), 90, np.uint8))):
        out[name] = tmp_path / f"{name}.png"
        cv2.imwrite(str(out[name]), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    out["broken"] = tmp_path / "broken.mp4"
    out["broken"].write_bytes(b"\x00" * 100)
    return out


def _items(media):
    return [MediaItem(path=p, label=i % 2, group=name, manipulation="none" if i % 2 == 0 else "x", source="t",
                      media="video" if p.suffix == ".mp4" else "image") for i, (name, p) in enumerate(media.items())]


@pytest.mark.parametrize("bias", [0.0, 3.0])
def test_eval_gives_the_scans_probability_and_verdict(tmp_path, media, tiny_model_builder, bias):
    model = tiny_model_builder(tmp_path / f"model{bias}", bias=bias)
    # A wide uncertain band and 8 frames: the verdicts then differ between the inputs.
    detector = Detector.load(model, config=ScanConfig(frames=8, uncertain_band=0.2))
    items = _items(media)
    scans = {str(it.path): detector.scan(it.path) if it.path.name != "broken.mp4" else None for it in items}
    classifier = Classifier.load(model)
    scored = score_items(classifier, items, cache_root=tmp_path / "cache", config=detector.config, workers=1,
                         progress=False)
    verdicts = set()
    for s in scored:
        scan = scans[str(s.item.path)]
        if scan is None:
            assert (s.verdict, s.score) == ("error", None)
            continue
        verdicts.add(scan.verdict)
        assert s.verdict == scan.verdict and s.reasons == scan.reasons, s.item.path.name
        if scan.fake_probability is None:
            assert s.score is None
        else:  # the same crops through the same ONNX session: equal up to float32 summation order
            assert s.score == pytest.approx(scan.fake_probability, abs=1e-6), s.item.path.name
    assert {"no_face", "uncertain"} <= verdicts  # blank; the small face (faces_too_small)
    rep = report(scored, threshold=classifier.card.scan.threshold)
    assert sum(rep["verdicts"].values()) == len(items) and rep["verdicts"]["error"] == 1
    assert {r["verdict"] for r in rep["items"]} == verdicts | {"error"}


def test_eval_mirrors_images_as_the_scan_does(tmp_path, media, tiny_model_builder):
    """A card with ``classify.mirror_images``: eval scores its photo as the scan does (mirrored), which differs
    from the plain card's score; the clip is scored as without it."""
    from dataclasses import replace

    from detector.modelcard import ModelCard
    from detector.recipe import ClassifySpec

    plain = tiny_model_builder(tmp_path / "plain")
    mirrored = tmp_path / "mirrored" / plain.name
    mirrored.parent.mkdir()
    shutil.copy(plain, mirrored)
    card = ModelCard.load(plain.with_suffix(".json"))
    replace(card, scan=replace(card.scan, classify=ClassifySpec(mirror_images=True))).save(mirrored.with_suffix(".json"))
    items = [it for it in _items(media) if it.group in ("clip", "photo")]
    config = ScanConfig(frames=8)
    scores = {}
    for name, model in (("plain", plain), ("mirrored", mirrored)):
        scored = score_items(Classifier.load(model), items, cache_root=tmp_path / "cache", config=config, workers=1,
                             progress=False)
        scores[name] = {s.item.group: s.score for s in scored}
        detector = Detector.load(model, config=config)
        for it in items:
            assert scores[name][it.group] == pytest.approx(detector.scan(it.path).fake_probability, abs=1e-6)
    assert scores["mirrored"]["photo"] != pytest.approx(scores["plain"]["photo"], abs=1e-5)
    assert scores["mirrored"]["clip"] == pytest.approx(scores["plain"]["clip"], abs=1e-6)
