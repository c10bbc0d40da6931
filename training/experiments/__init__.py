"""Training plug-ins that are not part of the shipped recipe but are kept runnable.

The training loop knows one hook, :class:`BatchHook`: before each optimiser step every active plug-in may
replace the batch it trains on. A plug-in is switched on by name in ``TrainConfig.experiments``::

    {"experiments": {"adversarial": {"share": 0.5, "eps": 2, "method": "pgd", "steps": 3}}}

Each plug-in is a frozen dataclass of its settings (unknown keys refused), registered in ``PLUGINS``. The loop
has no branch per plug-in, so adding one touches this package only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from detector.config import reject_unknown_keys
from detector.errors import ConfigError

from .adversarial import AdversarialTraining
from .hevc import HevcCompression


@dataclass(frozen=True)
class BatchContext:
    """What a batch hook may need besides the model and the batch: the loss and the input normalisation (pixels
    are ``x * std + mean``)."""

    loss_fn: Any
    mean: Sequence[float]
    std: Sequence[float]


class BatchHook(Protocol):
    """A training plug-in: returns the batch to train on in place of ``x`` (normalised, labels ``y``)."""

    def transform_batch(self, model: Any, x: Any, y: Any, context: BatchContext) -> Any: ...


PLUGINS: Mapping[str, type] = {"adversarial": AdversarialTraining, "hevc": HevcCompression}


def build_experiments(settings: Mapping[str, Mapping[str, Any]]) -> list[BatchHook]:
    """The plug-ins ``settings`` names, built (and so validated) in a fixed order."""
    if not isinstance(settings, Mapping):
        raise ConfigError(f"experiments must map plug-in names to their settings, got {settings!r}")
    unknown = sorted(set(settings) - set(PLUGINS))
    if unknown:
        raise ConfigError(f"unknown training experiments {unknown}; known: {sorted(PLUGINS)}")
    hooks = []
    for name, plugin in PLUGINS.items():
        if name not in settings:
            continue
        options = settings[name]
        if not isinstance(options, Mapping):
            raise ConfigError(f"experiments.{name} must be an object of settings, got {options!r}")
        reject_unknown_keys(plugin, options, what=f"experiments.{name}")
        hooks.append(plugin(**options))
    return hooks


__all__ = ["PLUGINS", "AdversarialTraining", "BatchContext", "BatchHook", "build_experiments"]
