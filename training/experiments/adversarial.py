"""Adversarial training: part of every batch replaced by adversarial copies of its own crops.

Off in the shipped recipe: none of the three forms resisted a 10-step PGD attack on held-out sources
(``training/EXPERIMENTS.md``), and each costs extra forward/backward passes. Kept because users who train on
their own fakes expect it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from detector.errors import ConfigError

if TYPE_CHECKING:
    from . import BatchContext

METHODS = ("fgsm-rs", "n-fgsm", "pgd")


@dataclass(frozen=True)
class AdversarialTraining:
    """Settings of adversarial training (``TrainConfig.experiments["adversarial"]``).

    Attributes:
        share: share of every batch replaced by adversarial copies of its own crops.
        eps: L-infinity budget per pixel on the 0..255 scale (2 = 2/255).
        method: ``fgsm-rs`` (Wong et al. 2020, "Fast is better than free": uniform start in the eps ball, a
            1.25 eps step, projected back), ``n-fgsm`` (de Jorge et al. 2022, "Make Some Noise": uniform start in
            the 2 eps ball, an eps step, no projection; the noise is what keeps single-step training from
            overfitting to its own attack) or ``pgd`` (Madry et al. 2018: ``steps`` projected steps).
        steps: PGD steps (``pgd`` only).
    """

    share: float = 0.5
    eps: float = 2.0
    method: str = "fgsm-rs"
    steps: int = 3

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"adversarial method must be one of {METHODS}, got {self.method!r}")
        if not 0 < self.share <= 1:
            raise ConfigError(f"adversarial share must be in (0, 1], got {self.share}")
        if not self.eps > 0:
            raise ConfigError(f"adversarial eps must be > 0, got {self.eps}")
        if self.steps < 1:
            raise ConfigError(f"adversarial steps must be >= 1, got {self.steps}")

    def transform_batch(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, context: BatchContext) -> torch.Tensor:
        return adversarial_batch(model, x, y, share=self.share, eps=self.eps, mean=context.mean, std=context.std,
                                 loss_fn=context.loss_fn, method=self.method, steps=self.steps)


def adversarial_batch(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, share: float, eps: float,
                      mean: Sequence[float], std: Sequence[float], loss_fn: Any,
                      method: str = "fgsm-rs", steps: int = 3) -> torch.Tensor:
    """``x`` (normalised) with its first ``share`` of samples replaced by adversarial copies.

    In pixel space (0..1), then normalised again; the batch order is random, so the first samples are a random
    share. All methods clamp to valid pixels.
    """
    if method not in METHODS:
        raise ValueError(f"unknown adversarial method {method!r} (choose from {METHODS})")
    n = round(len(x) * share)
    if n == 0:
        return x
    m = torch.tensor(mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    pixels = (x[:n] * s + m).detach()
    e = eps / 255.0
    noise, step, n_steps = {"fgsm-rs": (e, 1.25 * e, 1), "n-fgsm": (2.0 * e, e, 1),
                            "pgd": (e, 2.5 * e / max(1, steps), max(1, steps))}[method]
    adv = (pixels + (torch.rand_like(pixels) * 2 - 1) * noise).clamp(0, 1)
    for _ in range(n_steps):
        adv.requires_grad_(True)
        loss = loss_fn(model((adv - m) / s).reshape(-1).float(), y[:n])
        (grad,) = torch.autograd.grad(loss, adv)
        adv = adv.detach() + step * grad.sign()
        if method != "n-fgsm":  # N-FGSM's point is not projecting
            adv = torch.min(torch.max(adv, pixels - e), pixels + e)
        adv = adv.clamp(0, 1)
    return torch.cat([((adv - m) / s).to(x.dtype), x[n:]]).contiguous(memory_format=torch.channels_last)
