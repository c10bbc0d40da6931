"""Model cards: round trip through JSON, refusal of unknown / missing / mismatched fields, and calibration.
Preprocessing (``detector.preprocess``) has its own file, ``test_preprocess.py``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from detector.errors import ModelIntegrityError
from detector.faces.align import AlignSpec
from detector.modelcard import Calibration, ModelCard
from detector.preprocess import IMAGENET_MEAN, IMAGENET_STD


def _card(**kw) -> ModelCard:
    base = {"name": "m", "version": "1", "sha256": "0" * 64, "arch": "efficientnet_b0", "input_size": 128,
            "mean": IMAGENET_MEAN, "std": IMAGENET_STD, "align": AlignSpec(size=128).to_dict()}
    base.update(kw)
    return ModelCard(**base)


def test_card_round_trip(tmp_path):
    card = _card(calibration=Calibration(temperature=1.7, bias=0.1), threshold=0.6, metrics={"auc": 0.9})
    path = card.save(tmp_path / "m.json")
    assert ModelCard.load(path) == card
    assert card.align_spec() == AlignSpec(size=128)


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
    old = _card(align={**AlignSpec(size=128).to_dict(), "version": "align-v0-s128-m0.30"})
    with pytest.raises(ModelIntegrityError, match="retrain"):
        old.align_spec()


def test_calibration_apply():
    cal = Calibration(temperature=2.0, bias=0.0)
    assert cal.apply([0.0])[0] == pytest.approx(0.5)
    assert cal.apply([4.0])[0] == pytest.approx(1 / (1 + np.exp(-2.0)))
    with pytest.raises(ValueError):
        Calibration(temperature=0.0)
