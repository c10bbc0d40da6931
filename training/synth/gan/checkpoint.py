"""A trained generator on disk: ``generator.pt`` (state dict) and ``config.json`` (config, loss history)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ...device import resolve_device
from ..checkpoint import read_checkpoint, save_checkpoint
from .config import GANConfig
from .model import Generator
from .train import GANLogEntry

_WEIGHTS_FILE = "generator.pt"
_FORMAT = "dcgan-generator-v1"


def save_generator(generator: Generator, directory: str | os.PathLike[str],
                   history: Sequence[GANLogEntry] = ()) -> Path:
    """Write ``generator.pt`` (state_dict) and ``config.json`` (config, and history if given) into ``directory``."""
    meta = {"format": _FORMAT, "config": generator.config.to_dict(), "history": [h.to_dict() for h in history]}
    return save_checkpoint(generator, directory, weights_file=_WEIGHTS_FILE, meta=meta)


def load_generator(directory: str | os.PathLike[str], *, device: str = "cpu") -> Generator:
    """Read a generator written by :func:`save_generator`; returned in eval mode on ``device``."""
    meta, state = read_checkpoint(directory, weights_file=_WEIGHTS_FILE, format_tag=_FORMAT, what="a GAN generator")
    generator = Generator(GANConfig.from_dict(meta["config"]))
    generator.load_state_dict(state)
    return generator.to(resolve_device(device)).eval()
