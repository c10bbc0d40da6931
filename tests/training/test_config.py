"""``TrainConfig()`` is the shipped recipe: one source, checked against what the bundled model's card records."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytest.importorskip("torch")

from detector.errors import ConfigError
from detector.modelcard import ModelCard
from training.config import _REMOVED_OPTIONS, TrainConfig

REPO = Path(__file__).resolve().parents[2]
# Where a run wrote its checkpoints and crops: a property of the machine, not of the recipe.
RUN_LOCATIONS = {"out", "cache"}


def _bundled_card() -> ModelCard:
    return ModelCard.load(REPO / "detector" / "models" / "default" / "model.json")


def test_the_default_config_is_the_recipe_the_bundled_model_was_trained_with():
    card = _bundled_card()
    recorded = TrainConfig.from_dict(card.recipe["train_config"]).to_dict()  # the recorded keys, read as today's
    default = TrainConfig().to_dict()
    differ = {k: (recorded[k], default[k]) for k in recorded if k not in RUN_LOCATIONS and recorded[k] != default[k]}
    assert differ == {}
    # Nothing in the record was dropped on the way, apart from keys that moved (frames_per_video into scan).
    assert set(card.recipe["train_config"]) - set(default) == {"frames_per_video"}
    # What the card records only through its scan recipe.
    assert TrainConfig().scan_recipe() == card.scan
    assert TrainConfig().align_spec() == card.scan.align


def test_the_recorded_config_loads_as_the_default():
    recorded = dict(_bundled_card().recipe["train_config"])
    loaded = TrainConfig.from_dict(recorded)
    assert {k: v for k, v in loaded.to_dict().items() if k not in RUN_LOCATIONS} == \
        {k: v for k, v in TrainConfig().to_dict().items() if k not in RUN_LOCATIONS}


def test_removed_options_load_when_off_and_are_refused_when_on():
    off = TrainConfig.from_dict({"pair_batches": False, "train_patch": 0, "sbi_mask": "hull", "content_clip": 3.0})
    assert off == TrainConfig()
    for key, value in {"pair_batches": True, "train_patch": 112, "sbi_mask": "mesh", "weight_average_from": 2}.items():
        with pytest.raises(ConfigError, match=f"{key}.*removed"):
            TrainConfig.from_dict({key: value})
    assert "adversarial_share" not in _REMOVED_OPTIONS  # moved, not removed: see test_attacks


def test_the_training_loop_has_no_branch_for_a_removed_option():
    tree = ast.parse((REPO / "training" / "train.py").read_text())
    used = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)} | \
        {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert sorted(used & set(_REMOVED_OPTIONS)) == []
    # Plug-ins reach the loop through training.experiments' one hook, never by name.
    assert not [name for name in used if "adversarial" in name]


def test_default_model_trains_the_default_config_without_a_config_file(monkeypatch, tmp_path):
    import training.default_model as dm

    seen = {}

    def build(config, **kwargs):
        seen["config"] = config
        return {"onnx": "", "card": "", "calibration": {}}

    monkeypatch.setattr(dm, "build", build)
    assert dm.main(["--out", str(tmp_path), "--set", "epochs=1"]) == 0
    assert seen["config"] == TrainConfig(epochs=1)
    # The held-out part to choose the abstention on is looked for before training, not after it.
    with pytest.raises(SystemExit):
        dm.main(["--out", str(tmp_path), "--abstain-on", str(tmp_path / "missing.csv")])
    assert list(seen) == ["config"] and seen["config"] == TrainConfig(epochs=1)
    assert not (REPO / "training" / "configs").exists()  # no second copy of the recipe
