"""Training: the original method's random warp, and the loop (L1 reconstruction, Adam with beta1 0.5 as in the
original)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from ...device import resolve_device
from .config import AESwapConfig
from .model import AESwapModel, build_model, check_crops, to_tensor


def warp_batch(x: torch.Tensor, config: AESwapConfig, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The original method's augmentation: a random similarity transform (+ flip) and a random warp on top.

    Returns ``(warped_input, target)``: both share the rotation, zoom, shift and flip; only the input is
    warped, by a smooth displacement field (a 5 x 5 grid of Gaussian offsets, bicubically interpolated).
    Random numbers come from ``generator`` (on the CPU) so runs repeat on any device.
    """
    n, _, h, w = x.shape
    angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(config.rotate)
    scale = 1 + (torch.rand(n, generator=generator) * 2 - 1) * config.zoom
    shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * config.shift * 2  # normalised coords span 2
    flip = torch.where(torch.rand(n, generator=generator) < config.flip, -1.0, 1.0)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos * flip, -sin, shift[:, 0]], 1),
                         torch.stack([sin * flip, cos, shift[:, 1]], 1)], 1)
    offsets = torch.randn(n, 2, 5, 5, generator=generator) * config.warp
    theta, offsets = theta.to(x.device), offsets.to(x.device)
    grid = F.affine_grid(theta, [n, 3, h, w], align_corners=False)
    field = F.interpolate(offsets, size=(h, w), mode="bicubic", align_corners=True).permute(0, 2, 3, 1)
    target = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    warped = F.grid_sample(x, grid + field, mode="bilinear", padding_mode="border", align_corners=False)
    return warped, target


@dataclass(frozen=True)
class LossRecord:
    """Mean L1 losses over the ``log_every`` steps up to ``step``."""

    step: int
    loss_a: float
    loss_b: float
    seconds: float

    @property
    def loss(self) -> float:
        return self.loss_a + self.loss_b

    def to_dict(self) -> dict[str, float]:
        return {"step": self.step, "loss_a": round(self.loss_a, 6), "loss_b": round(self.loss_b, 6),
                "loss": round(self.loss, 6), "seconds": round(self.seconds, 3)}


def train_autoencoder(crops_a: np.ndarray, crops_b: np.ndarray, config: AESwapConfig | None = None, *,
                      on_log: Callable[[LossRecord], None] | None = None) -> tuple[AESwapModel, list[LossRecord]]:
    """Train the shared-encoder autoencoder on crops of identity A and identity B.

    Args:
        crops_a: ``(N, S, S, 3)`` uint8 RGB aligned crops of A (see :func:`collect_crops`), S = ``config.size``.
        crops_b: the same for B.
        config: hyper-parameters; the default trains 64 px crops on the CPU in a few minutes.
        on_log: called with every history entry as it is made (progress output).

    Returns:
        ``(model, history)``: the trained model (in eval mode, on the configured device) and one
        :class:`LossRecord` per ``log_every`` steps (the last one may average fewer).
    """
    config = config or AESwapConfig()
    crops_a, crops_b = np.asarray(crops_a), np.asarray(crops_b)
    check_crops(crops_a, config.size, "crops_a")
    check_crops(crops_b, config.size, "crops_b")
    device = resolve_device(config.device)
    model = build_model(config).to(device)
    # Both sets are small (hundreds of 64 px crops): keep them on the device and index batches there.
    data = {"a": to_tensor(crops_a, device), "b": to_tensor(crops_b, device)}
    generator = torch.Generator().manual_seed(config.seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(0.5, 0.999))
    history: list[LossRecord] = []
    sums = {"a": 0.0, "b": 0.0}
    counted = 0
    start = time.perf_counter()
    model.train()
    for step in range(1, config.steps + 1):
        losses = {}
        for identity in ("a", "b"):
            idx = torch.randint(len(data[identity]), (config.batch_size,), generator=generator)
            warped, target = warp_batch(data[identity][idx.to(device)], config, generator)
            losses[identity] = F.l1_loss(model(warped, identity), target)
        optimiser.zero_grad(set_to_none=True)
        (losses["a"] + losses["b"]).backward()
        optimiser.step()
        for identity in ("a", "b"):
            sums[identity] += float(losses[identity].detach())
        counted += 1
        if step % config.log_every == 0 or step == config.steps:
            record = LossRecord(step, sums["a"] / counted, sums["b"] / counted, time.perf_counter() - start)
            history.append(record)
            if on_log is not None:
                on_log(record)
            sums, counted = {"a": 0.0, "b": 0.0}, 0
    model.eval()
    return model, history
