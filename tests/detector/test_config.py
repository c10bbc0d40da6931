"""reject_unknown_keys: a typo in a config file fails loudly instead of silently keeping the default."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import pytest

from detector.config import reject_unknown_keys
from detector.errors import ConfigError, DetectorError, ModelIntegrityError


@dataclass
class TrainConfig:
    lr: float = 1e-3
    epochs: int = 3
    name: str = "run"


@pytest.mark.parametrize("data", [{}, {"lr": 0.1}, {"lr": 0.1, "epochs": 5, "name": "x"}])
def test_known_keys_pass(data: dict):
    assert reject_unknown_keys(TrainConfig, data, what="training config") is None


def test_unknown_keys_raise_config_error_naming_them():
    data = {"lr": 0.1, "momentum": 0.9, "learning_rate": 0.01}
    with pytest.raises(ConfigError) as err:
        reject_unknown_keys(TrainConfig, data, what="training config")
    message = err.value.message
    assert err.value.code == "invalid_config"
    assert "training config" in message
    # Both offenders, sorted (stable messages), and the valid names to pick from.
    assert "['learning_rate', 'momentum']" in message
    assert "known: ['epochs', 'lr', 'name']" in message


def test_a_single_typo_is_enough():
    with pytest.raises(ConfigError, match="'epoch'"):
        reject_unknown_keys(TrainConfig, {"epoch": 5}, what="training config")


def test_keys_compare_exactly():
    # No case folding or prefix matching: "LR" is not "lr".
    with pytest.raises(ConfigError, match="'LR'"):
        reject_unknown_keys(TrainConfig, {"LR": 0.1}, what="training config")


def test_caller_chooses_the_error_class():
    # A model card with a stray key is a broken model file, not a user's config mistake.
    with pytest.raises(ModelIntegrityError) as err:
        reject_unknown_keys(TrainConfig, {"extra": 1}, what="model card", error=ModelIntegrityError)
    assert not isinstance(err.value, ConfigError)
    assert isinstance(err.value, DetectorError) and err.value.code == "model_integrity"
    assert "model card" in err.value.message and "'extra'" in err.value.message


def test_any_read_only_mapping_works():
    # Typed as Mapping: a read-only view of parsed JSON is checked the same way as a dict.
    reject_unknown_keys(TrainConfig, MappingProxyType({"lr": 0.5}), what="training config")
    with pytest.raises(ConfigError, match="'batch'"):
        reject_unknown_keys(TrainConfig, MappingProxyType({"batch": 8}), what="training config")
