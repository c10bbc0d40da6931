"""The scan recipe: defined once, carried by the model card, overridden explicitly."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from detector.api import Detector
from detector.errors import ConfigError, ModelIntegrityError
from detector.faces.align import AlignSpec
from detector.faces.extract import FaceConfig
from detector.faces.track import TrackerConfig
from detector.modelcard import ModelCard
from detector.recipe import (
    AggregationSpec,
    ClassifySpec,
    DetectionSpec,
    SamplingSpec,
    ScanConfig,
    ScanRecipe,
    VerdictRules,
)


def test_every_default_comes_from_the_recipe():
    # The runtime uses the recipe's own specs: the face stage holds the card's detection and crop sections.
    face = FaceConfig()
    assert face.detection == DetectionSpec() and face.align == ScanRecipe().align
    assert not hasattr(TrackerConfig(), "min_track_faces")  # written once, in DetectionSpec


def test_recipe_round_trips_and_refuses_typos():
    recipe = ScanRecipe(SamplingSpec(frames=12), DetectionSpec(min_score=0.8), VerdictRules(min_faces=5))
    assert ScanRecipe.from_dict(json.loads(json.dumps(recipe.to_dict()))) == recipe
    assert ScanRecipe.from_dict(None) == ScanRecipe() == ScanRecipe.from_dict({"verdict": {}})
    with pytest.raises(ConfigError, match="frame"):
        ScanRecipe.from_dict({"sampling": {"frame": 8}})
    with pytest.raises(ConfigError, match="scan recipe"):
        ScanRecipe.from_dict({"samples": {}})
    with pytest.raises(ConfigError):
        SamplingSpec(frames=0)
    with pytest.raises(ConfigError):
        VerdictRules(uncertain_band=0.7)


def test_aggregation_spec_reads_the_cards_flat_form():
    spec = AggregationSpec.from_dict({"strategy": "topk", "k": 2})
    assert spec.strategy == "topk" and dict(spec.params) == {"k": 2}
    assert spec.to_dict() == {"strategy": "topk", "k": 2}
    assert spec.track_score([0.1, 0.9, 0.7]) == pytest.approx(0.8)
    assert AggregationSpec.from_dict({}) == AggregationSpec()


def test_scan_config_overrides_only_what_it_names():
    card = ScanRecipe(SamplingSpec(frames=16), verdict=VerdictRules(min_faces=5, uncertain_band=0.05))
    assert ScanConfig().apply(card) == card
    assert ScanConfig(frames=8).apply(card).sampling == SamplingSpec(frames=8)
    assert ScanConfig(fps=2.0).apply(card).sampling == SamplingSpec(frames=16, fps=2.0)
    rules = ScanConfig(uncertain_band=0.2).apply(card).verdict
    assert rules == VerdictRules(min_faces=5, uncertain_band=0.2)


def test_card_carries_the_recipe_and_old_cards_get_the_defaults(tiny_model, tmp_path):
    card = ModelCard.load(tiny_model.with_suffix(".json"))
    data = card.to_dict()
    tiny = ScanRecipe(align=AlignSpec(size=card.input_size))
    assert data["scan"] == tiny.to_dict()  # saved in full, so the card alone says how it scans
    # A card written before the recipe moved into it: the crop at the top level, nothing else recorded.
    data["align"] = data.pop("scan")["align"]
    assert ModelCard.from_dict(data).scan == tiny
    data["scan"] = {"sampling": {"frames": 0}}
    with pytest.raises(ModelIntegrityError):
        ModelCard.from_dict(data)


def test_detector_scans_with_its_cards_recipe(tiny_model, tmp_path):
    card = ModelCard.load(tiny_model.with_suffix(".json"))
    recipe = ScanRecipe(SamplingSpec(frames=6), DetectionSpec(min_score=0.95, min_track_faces=3),
                        VerdictRules(min_face_px=50.0, threshold=0.7), align=card.scan.align)
    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(tiny_model.read_bytes())
    replace(card, scan=recipe).save(onnx.with_suffix(".json"))
    detector = Detector.load(onnx)
    assert detector.recipe == recipe and detector.sampling.frames == 6
    face = detector.faces.config
    assert (face.detection, face.align) == (recipe.detection, AlignSpec(size=card.input_size))
    assert detector.threshold == 0.7
    overridden = Detector.load(onnx, config=ScanConfig(frames=10, min_face_px=20.0, threshold=0.4))
    assert overridden.sampling.frames == 10 and overridden.recipe.verdict.min_face_px == 20.0
    assert overridden.threshold == 0.4 and overridden.recipe.detection == recipe.detection


def test_the_override_type_is_checked_once_where_it_is_made():
    for bad in ({"frames": 0}, {"fps": -1.0}, {"threshold": 1.5}, {"uncertain_band": 0.6}, {"min_faces": 0}):
        with pytest.raises(ConfigError):
            ScanConfig(**bad)
    assert ScanConfig(frames=4, min_faces=2).overrides() == {"frames": 4, "min_faces": 2}


def test_mirroring_is_for_still_images_of_cards_that_ask_for_it():
    """Cards written before ``classify`` was recorded scan as they did (no mirror); a card that asks mirrors the
    faces of still images, never of videos (it would double the classifier's share of a video scan)."""
    assert ScanRecipe.from_dict({"sampling": {"frames": 8}}).classify == ClassifySpec(mirror_images=False)
    on = ScanRecipe.from_dict({"classify": {"mirror_images": True}})
    assert on.mirror("image") and not on.mirror("video") and not ScanRecipe().mirror("image")
    assert ScanRecipe.from_dict(json.loads(json.dumps(on.to_dict()))) == on
    with pytest.raises(ConfigError, match="mirror"):
        ScanRecipe.from_dict({"classify": {"mirror": True}})


def test_detector_mirrors_the_faces_of_images_when_its_card_says_so(tiny_model, tmp_path, astronaut):
    """The same image scanned through a card with and without ``classify.mirror_images``: the face's
    probability is the mirrored mean's with it, the plain one's without, in ``scan`` and in ``scan_many``."""
    import cv2
    import numpy as np

    astronaut_path = tmp_path / "astronaut.png"
    cv2.imwrite(str(astronaut_path), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    card = ModelCard.load(tiny_model.with_suffix(".json"))
    paths = {}
    for flag in (False, True):
        onnx = tmp_path / f"m{int(flag)}.onnx"
        onnx.write_bytes(tiny_model.read_bytes())
        replace(card, scan=replace(card.scan, classify=ClassifySpec(mirror_images=flag))).save(onnx.with_suffix(".json"))
        paths[flag] = onnx
    plain, mirrored = Detector.load(paths[False]), Detector.load(paths[True])
    faces = plain.faces.extract(astronaut_path, sampling=plain.sampling).faces
    crops = np.stack([f.crop for f in faces])
    expected = {False: plain.classifier.predict(crops), True: plain.classifier.predict(crops, mirror=True)}
    assert not np.allclose(expected[False], expected[True], atol=1e-6)
    for flag, det in ((False, plain), (True, mirrored)):
        one = det.scan(astronaut_path)
        batch = list(det.scan_many([astronaut_path, astronaut_path]))
        for result in (one, *batch):
            assert result.tracks[0].fake_probability == pytest.approx(float(np.mean(expected[flag])), abs=1e-6)


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), True, "2"])
def test_max_novelty_is_a_finite_positive_number_or_none(bad):
    assert VerdictRules().max_novelty is None  # never abstain unless a card says so
    assert VerdictRules(max_novelty=2).max_novelty == 2 and VerdictRules(max_novelty=0.25).max_novelty == 0.25
    with pytest.raises(ConfigError, match="max_novelty"):
        VerdictRules(max_novelty=bad)
    with pytest.raises(ConfigError, match="max_novelty"):
        ScanRecipe.from_dict({"verdict": {"max_novelty": bad}})


def test_max_novelty_override_sets_or_drops_the_cards_abstention():
    """A number replaces the card's ``max_novelty``, ``"off"`` drops it (``None`` already means "keep the card's");
    any other word or a bad number fails where the override is made."""
    abstaining = ScanRecipe.from_dict({"verdict": {"max_novelty": 2.0}})
    assert ScanConfig().apply(abstaining).verdict.max_novelty == 2.0
    assert ScanConfig(max_novelty=3.5).apply(abstaining).verdict.max_novelty == 3.5
    assert ScanConfig(max_novelty=1.5).apply(ScanRecipe()).verdict.max_novelty == 1.5
    assert ScanConfig(max_novelty="off").apply(abstaining).verdict.max_novelty is None
    assert ScanConfig(max_novelty="off").overrides() == {"max_novelty": "off"}
    for bad in ("never", "OFF", "2", 0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="max_novelty"):
            ScanConfig(max_novelty=bad)


def test_combine_persons_is_max_unless_a_card_says_otherwise():
    assert VerdictRules().combine_persons == "max"  # every card written before it: as they were scanned
    assert ScanRecipe.from_dict({"verdict": {"combine_persons": "mean_odds"}}).verdict.combine_persons == "mean_odds"
    with pytest.raises(ConfigError, match="combine_persons"):
        ScanRecipe.from_dict({"verdict": {"combine_persons": "median"}})
