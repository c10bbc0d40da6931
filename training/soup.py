"""A uniform model soup: the mean of several fine-tuned checkpoints' weights, exported as one net.

Wortsman et al. (ICML 2022, "Model soups") average the weights of models fine-tuned from one pretrained
start with different hyper-parameters or seeds: the fine-tunes stay in one basin, and the mean is about as
accurate as their ensemble out of distribution, at one net's inference cost. Here that is the point: the
held-out sources moved by up to 0.12 AUC between two seeds of one recipe, an ensemble would reduce that
spread, and the 1080p scan has no room for a second classifier pass per face (1.39–1.49x decode against a
1.5x budget).

``python -m training.soup A/best.pt B/best.pt --out soup.pt`` writes a checkpoint in the shape of
``best.pt`` (``model``, ``config``, ``backbone``), so ``deepfake export`` and ``python -m
training.default_model --checkpoint soup.pt`` take it as they take any run's. Floating-point weights and
batch-norm running statistics are averaged; integer buffers (``num_batches_tracked``) come from the first
ingredient. The ingredients must be one architecture at one input size with one normalisation; the first
one's config is the soup's, and ``soup`` lists every ingredient (file, sha256, seed, epoch, validation AUC).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from detector.errors import ConfigError
from detector.runtime import sha256_file

from .model import checkpoint_backbone

# What must agree between ingredients for their mean to be one model with one preprocessing.
_SAME_CONFIG = ("arch", "align_size", "align_margin")


def _ingredient(path: Path, ckpt: dict[str, Any]) -> dict[str, Any]:
    config = ckpt["config"]
    return {"file": str(path), "sha256": sha256_file(path), "seed": config.get("seed"), "epoch": ckpt.get("epoch"),
            "val_auc": (ckpt.get("val") or {}).get("auc")}


def _check_compatible(first: dict[str, Any], other: dict[str, Any], path: Path) -> None:
    for key in _SAME_CONFIG:
        if first["config"].get(key) != other["config"].get(key):
            raise ConfigError(f"{path}: {key} is {other['config'].get(key)!r}, the first ingredient's is "
                              f"{first['config'].get(key)!r}; a soup needs one architecture and one input")
    a, b = checkpoint_backbone(first), checkpoint_backbone(other)
    if (a["mean"], a["std"]) != (b["mean"], b["std"]):
        raise ConfigError(f"{path}: normalisation {b['mean']}/{b['std']} differs from {a['mean']}/{a['std']}")
    sa, sb = first["model"], other["model"]
    if sa.keys() != sb.keys():
        raise ConfigError(f"{path}: its weights have other names than the first ingredient's")
    for key, value in sa.items():
        if value.shape != sb[key].shape:
            raise ConfigError(f"{path}: {key} has shape {tuple(sb[key].shape)}, expected {tuple(value.shape)}")


def soup_state(states: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The element-wise mean of floating-point tensors (in float64, cast back); others from the first state."""
    if not states:
        raise ValueError("a soup needs at least one ingredient")
    out: dict[str, torch.Tensor] = {}
    for key, value in states[0].items():
        if value.is_floating_point():
            mean = torch.stack([s[key].to(torch.float64) for s in states]).mean(dim=0)
            out[key] = mean.to(value.dtype)
        else:
            out[key] = value.clone()
    return out


def make_soup(paths: Sequence[str | Path]) -> dict[str, Any]:
    """Load the checkpoints at ``paths`` and return the soup as a checkpoint dict (see the module docstring)."""
    paths = [Path(p) for p in paths]
    if len(paths) < 2:
        raise ConfigError("a soup needs at least two checkpoints")
    ckpts = [torch.load(p, map_location="cpu", weights_only=False) for p in paths]
    for path, ckpt in zip(paths[1:], ckpts[1:], strict=True):
        _check_compatible(ckpts[0], ckpt, path)
    return {"model": soup_state([c["model"] for c in ckpts]), "config": ckpts[0]["config"],
            "backbone": checkpoint_backbone(ckpts[0]),
            "soup": [_ingredient(p, c) for p, c in zip(paths, ckpts, strict=True)]}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.soup", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", type=Path, help="two or more checkpoints (best.pt of each run)")
    parser.add_argument("--out", type=Path, required=True, help="where to write the soup checkpoint")
    args = parser.parse_args(argv)
    try:
        ckpt = make_soup(args.checkpoints)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, args.out)
    print(f"soup of {len(args.checkpoints)} checkpoints -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
