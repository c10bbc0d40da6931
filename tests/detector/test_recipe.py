"""The scan recipe: defined once, carried by the model card, overridden explicitly."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from detector.api import Detector, ScanConfig
from detector.errors import ConfigError, ModelIntegrityError
from detector.faces.align import AlignSpec
from detector.faces.extract import FaceConfig
from detector.faces.track import TrackerConfig
from detector.media import Sampling
from detector.modelcard import ModelCard
from detector.recipe import AggregationSpec, DetectionSpec, SamplingSpec, ScanRecipe, VerdictRules


def test_every_default_comes_from_the_recipe():
    # The other configs spell no number of their own: they read the recipe's defaults.
    assert Sampling().num_frames == SamplingSpec().frames
    face = FaceConfig()
    assert face.detection() == DetectionSpec()
    assert TrackerConfig().min_track_faces == DetectionSpec().min_track_faces


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
    assert data["scan"] == ScanRecipe().to_dict()  # saved in full, so the card alone says how it scans
    del data["scan"]  # a card written before the recipe moved into it
    assert ModelCard.from_dict(data).scan == ScanRecipe()
    data["scan"] = {"sampling": {"frames": 0}}
    with pytest.raises(ModelIntegrityError):
        ModelCard.from_dict(data)


def test_detector_scans_with_its_cards_recipe(tiny_model, tmp_path):
    card = ModelCard.load(tiny_model.with_suffix(".json"))
    recipe = ScanRecipe(SamplingSpec(frames=6), DetectionSpec(min_score=0.95, min_track_faces=3),
                        VerdictRules(min_face_px=50.0))
    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(tiny_model.read_bytes())
    replace(card, scan=recipe).save(onnx.with_suffix(".json"))
    detector = Detector.load(onnx)
    assert detector.recipe == recipe and detector.sampling.num_frames == 6
    face = detector.faces.config
    assert (face.min_score, face.tracker.min_track_faces, face.align) == (0.95, 3, AlignSpec(size=card.input_size))
    overridden = Detector.load(onnx, config=ScanConfig(frames=10, min_face_px=20.0))
    assert overridden.sampling.num_frames == 10 and overridden.recipe.verdict.min_face_px == 20.0
