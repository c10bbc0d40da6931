"""A trained model on disk: ``model.pt`` (state dict) and ``config.json`` (config, crop definition, losses)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from ...device import resolve_device
from ..checkpoint import read_checkpoint, save_checkpoint
from .config import AESwapConfig
from .model import AESwapModel
from .train import LossRecord

_WEIGHTS_FILE = "model.pt"
_FORMAT = "ae-swap-v1"


def save_model(model: AESwapModel, out_dir: str | os.PathLike[str],
               history: Sequence[LossRecord] = ()) -> Path:
    """Write ``model.pt`` (state dict) and ``config.json`` (config, crop definition, loss history) to ``out_dir``."""
    meta = {"format": _FORMAT, "config": asdict(model.config), "align": model.config.align.to_dict(),
            "history": [r.to_dict() for r in history]}
    return save_checkpoint(model, out_dir, weights_file=_WEIGHTS_FILE, meta=meta)


def load_model(model_dir: str | os.PathLike[str], *, device: str = "auto") -> AESwapModel:
    """Load a model written by :func:`save_model` onto ``device`` (``auto``, ``cpu`` or ``cuda``), in eval mode."""
    meta, state = read_checkpoint(model_dir, weights_file=_WEIGHTS_FILE, format_tag=_FORMAT, what="an ae-swap model")
    model = AESwapModel(AESwapConfig.from_dict({**meta["config"], "device": device}))
    model.load_state_dict(state)
    return model.to(resolve_device(device)).eval()
