"""Settings of one GAN training run (saved next to the generator weights)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from detector.config import reject_unknown_keys
from detector.errors import ConfigError


@dataclass(frozen=True)
class GANConfig:
    """Settings of one GAN training run (saved next to the generator weights).

    Attributes:
        size: side of the generated images; a power of two from 16 to 128 (32 and 64 are the tested ones).
        latent_dim: length of the noise vector z (100 in the DCGAN paper).
        base_channels: channels of the generator's last hidden layer and the discriminator's first; the others
            double per level (64 as in PyTorch's reference DCGAN, ngf = ndf = 64).
        batch_size: images per step (128 in the DCGAN paper).
        steps: optimiser steps of each network.
        lr: Adam learning rate (2e-4, DCGAN paper: 1e-3 was too high).
        betas: Adam betas (beta1 0.5, DCGAN paper: 0.9 made training oscillate and unstable).
        hflip: flip real crops left-right at random (faces are near-symmetric; doubles a small data set).
        seed: seeds weight init, batches, noise and flips.
        device: ``auto`` (CUDA if available), ``cpu`` or ``cuda``.
    """

    size: int = 64
    latent_dim: int = 100
    base_channels: int = 64
    batch_size: int = 128
    steps: int = 5000
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    hflip: bool = True
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.size < 16 or self.size > 128 or self.size & (self.size - 1):
            raise ConfigError(f"size must be a power of two from 16 to 128, got {self.size}")
        for name in ("latent_dim", "base_channels", "steps"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.batch_size < 2:  # BatchNorm needs more than one sample per batch
            raise ConfigError(f"batch_size must be >= 2, got {self.batch_size}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"lr must be a positive number, got {self.lr}")
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise ConfigError(f"betas must be two numbers in [0, 1), got {self.betas}")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ConfigError(f"device must be auto, cpu or cuda, got {self.device!r}")

    @property
    def levels(self) -> int:
        """Stride-2 (transposed) convolutions between 4 x 4 and ``size`` x ``size``."""
        return int(math.log2(self.size)) - 2

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["betas"] = list(self.betas)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GANConfig:
        reject_unknown_keys(cls, data, what="GAN config")
        kwargs = dict(data)
        if "betas" in kwargs:
            kwargs["betas"] = tuple(float(b) for b in kwargs["betas"])
        return cls(**kwargs)
