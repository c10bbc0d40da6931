"""Model cards: round trip through JSON, refusal of unknown / missing / mismatched fields, and calibration.
Preprocessing (``detector.preprocess``) has its own file, ``test_preprocess.py``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from detector.errors import ModelIntegrityError
from detector.faces.align import AlignSpec
from detector.modelcard import Calibration, ModelCard
from detector.preprocess import IMAGENET_MEAN, IMAGENET_STD
from detector.recipe import ScanRecipe, VerdictRules

REPO = Path(__file__).resolve().parents[2]
CARDS = Path(__file__).parent / "cards"


def _card(**kw) -> ModelCard:
    base = {"name": "m", "version": "1", "sha256": "0" * 64, "arch": "efficientnet_b0", "input_size": 128,
            "mean": IMAGENET_MEAN, "std": IMAGENET_STD, "scan": ScanRecipe(align=AlignSpec(size=128))}
    base.update(kw)
    return ModelCard(**base)


def test_card_round_trip(tmp_path):
    scan = ScanRecipe(align=AlignSpec(size=128), verdict=VerdictRules(threshold=0.6))
    card = _card(calibration=Calibration(temperature=1.7, bias=0.1), scan=scan, metrics={"auc": 0.9})
    path = card.save(tmp_path / "m.json")
    assert ModelCard.load(path) == card
    saved = json.loads(path.read_text())
    # One recipe object: the crop, the aggregation and the threshold live in ``scan`` only.
    assert not {"align", "aggregation", "threshold"} & set(saved)
    assert saved["scan"]["align"]["version"] == AlignSpec(size=128).version and saved["scan"]["verdict"]["threshold"] == 0.6


def test_card_rejects_unknown_missing_and_mismatched_fields(tmp_path):
    d = _card().to_dict()
    (tmp_path / "a.json").write_text(json.dumps({**d, "surprise": 1}))
    with pytest.raises(ModelIntegrityError, match="unknown"):
        ModelCard.load(tmp_path / "a.json")
    (tmp_path / "b.json").write_text(json.dumps({k: v for k, v in d.items() if k != "sha256"}))
    with pytest.raises(ModelIntegrityError, match="sha256"):
        ModelCard.load(tmp_path / "b.json")
    (tmp_path / "c.json").write_text("{not json")
    with pytest.raises(ModelIntegrityError):
        ModelCard.load(tmp_path / "c.json")
    old_crops = {**d, "scan": {**d["scan"], "align": {**d["scan"]["align"], "version": "align-v0-s128-m0.30"}}}
    with pytest.raises(ModelIntegrityError, match="retrain"):
        ModelCard.from_dict(old_crops)
    with pytest.raises(ModelIntegrityError, match="128 px inputs"):
        _card(scan=ScanRecipe(align=AlignSpec(size=224)))


@pytest.mark.parametrize("card_file", sorted(CARDS.glob("model-v*.json")), ids=lambda p: p.stem)
def test_every_shipped_card_still_loads_with_its_recipe(card_file):
    """The bundled model's cards from v0.3.0 on (kept as written under tests/detector/cards/): the parts of the
    recipe they kept at the top level (``align``; ``threshold``, ``aggregation``) land in ``scan``, unchanged."""
    data = json.loads(card_file.read_text())
    card = ModelCard.from_dict(data)
    recorded = data.get("scan") or {}
    align = data.get("align") or recorded["align"]  # v1.2.4 on: written in today's layout, all of it in ``scan``
    assert card.scan.align == AlignSpec(size=align["size"], margin=align["margin"])
    assert card.scan.align.version == align["version"] and card.input_size == card.scan.align.size
    assert card.scan.threshold == data.get("threshold", recorded.get("verdict", {}).get("threshold", 0.5))
    assert card.scan.aggregation.to_dict() == data.get("aggregation", recorded.get("aggregation", {"strategy": "mean"}))
    assert card.scan.sampling.frames == recorded.get("sampling", {}).get("frames", 32)
    assert card.scan.classify.mirror_images == recorded.get("classify", {}).get("mirror_images", False)
    assert card.scan.verdict.combine_persons == recorded.get("verdict", {}).get("combine_persons", "max")
    # Written back in today's layout, it reads as the same card.
    assert ModelCard.from_dict(card.to_dict()) == card
    # Before the kind head and abstention: no kinds, never abstains.
    assert card.kinds == () and card.scan.verdict.max_novelty is None


def test_the_bundled_card_is_v1_2_4_in_todays_layout():
    bundled = ModelCard.load(REPO / "detector" / "models" / "default" / "model.json")
    assert bundled == ModelCard.from_dict(json.loads((CARDS / "model-v1.2.4.json").read_text()))
    # v1.2.3's graph and calibration; only how persons make a file's probability changed.
    v123 = ModelCard.from_dict(json.loads((CARDS / "model-v1.2.3.json").read_text()))
    assert (bundled.sha256, bundled.calibration) == (v123.sha256, v123.calibration)
    assert (v123.scan.verdict.combine_persons, bundled.scan.verdict.combine_persons) == ("max", "mean_odds")
    assert "scan" in json.loads((REPO / "detector" / "models" / "default" / "model.json").read_text())


def test_calibration_apply():
    cal = Calibration(temperature=2.0, bias=0.0)
    assert cal.apply([0.0])[0] == pytest.approx(0.5)
    assert cal.apply([4.0])[0] == pytest.approx(1 / (1 + np.exp(-2.0)))
    with pytest.raises(ValueError):
        Calibration(temperature=0.0)


def test_a_card_names_the_kinds_of_its_kind_head_exactly(tmp_path):
    from detector.kinds import FAKE_KINDS

    scan = ScanRecipe(align=AlignSpec(size=128), verdict=VerdictRules(max_novelty=3.5))
    card = _card(kinds=FAKE_KINDS, scan=scan)
    saved = json.loads(card.save(tmp_path / "m.json").read_text())
    assert saved["kinds"] == ["swap", "reenactment", "synthetic"] and saved["scan"]["verdict"]["max_novelty"] == 3.5
    assert ModelCard.load(tmp_path / "m.json") == card
    assert _card().to_dict()["kinds"] == []
    d = _card().to_dict()
    for bad in (["reenactment", "swap", "synthetic"], ["swap", "reenactment"], ["swap", "reenactment", "morph"]):
        with pytest.raises(ModelIntegrityError, match="kind head must give exactly"):
            ModelCard.from_dict({**d, "kinds": bad})
    with pytest.raises(ModelIntegrityError, match="kinds must be a list"):
        ModelCard.from_dict({**d, "kinds": "swap"})
    with pytest.raises(ModelIntegrityError, match="kind head must give exactly"):
        _card(kinds=("swap",))
