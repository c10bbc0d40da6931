"""A synthesiser's trained network on disk: its weights (a torch state dict) beside ``config.json`` (a format tag,
the run's config, its loss history), as ae-swap and the GAN write them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from detector.errors import ConfigError

CONFIG_FILE = "config.json"


def save_checkpoint(net: nn.Module, out_dir: str | os.PathLike[str], *, weights_file: str,
                    meta: dict[str, Any]) -> Path:
    """Write ``net``'s state dict (on the CPU) to ``weights_file`` and ``meta`` to ``config.json`` in ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    torch.save(state, out / weights_file)
    (out / CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return out


def read_checkpoint(directory: str | os.PathLike[str], *, weights_file: str, format_tag: str,
                    what: str) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """``(meta, state_dict)`` of a folder :func:`save_checkpoint` wrote, ``meta["format"]`` being ``format_tag``.

    Raises:
        ConfigError: not such a folder (``what`` names the kind in the message), another format, or unreadable.
    """
    path = Path(directory)
    config_path = path / CONFIG_FILE
    try:
        meta = json.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path} is not {what} folder (no {CONFIG_FILE})") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {config_path}: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != format_tag:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise ConfigError(f"{config_path}: format {found!r}, expected {format_tag!r}")
    if not isinstance(meta.get("config"), dict):
        raise ConfigError(f"{config_path} holds no config")
    try:
        # weights_only: a state dict needs nothing else, and it refuses pickled code.
        state = torch.load(path / weights_file, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError) as exc:
        raise ConfigError(f"cannot read the weights of {what} from {path}: {exc}") from exc
    return meta, state
