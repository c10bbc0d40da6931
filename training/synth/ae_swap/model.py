"""The networks: one shared encoder, one decoder per identity.

At ``size`` = 64 and ``width`` = w (the 2017 script used w = 128 at 64 px; w = 32 trains in minutes on a CPU):
four 5 x 5 stride-2 convolutions (w, 2w, 4w, 8w channels, LeakyReLU 0.1) down to ``size / 16``, a dense
bottleneck of ``latent_dim``, a dense layer back to ``size / 16`` and one pixel-shuffle upscale to ``size / 8``
(4w); each decoder upscales three times (2w, w, w/2) and ends in a 5 x 5 convolution with a sigmoid.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import nn

from detector.errors import ConfigError

from .config import AESwapConfig, Direction, check_direction


def _down(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 5, stride=2, padding=2), nn.LeakyReLU(0.1))


def _up(cin: int, cout: int) -> nn.Sequential:
    # Convolution to 4x the channels + pixel shuffle (the original's "upscale" block): no transposed-conv
    # checkerboard of its own.
    return nn.Sequential(nn.Conv2d(cin, cout * 4, 3, padding=1), nn.LeakyReLU(0.1), nn.PixelShuffle(2))


class Encoder(nn.Module):
    """Shared encoder: crops ``(N, 3, S, S)`` in [0, 1] -> feature maps ``(N, 4w, S/8, S/8)``."""

    def __init__(self, config: AESwapConfig) -> None:
        super().__init__()
        w = config.width
        self.side = config.size // 16
        self.channels = 8 * w
        self.convs = nn.Sequential(_down(3, w), _down(w, 2 * w), _down(2 * w, 4 * w), _down(4 * w, 8 * w))
        flat = self.channels * self.side * self.side
        self.bottleneck = nn.Linear(flat, config.latent_dim)
        self.expand = nn.Linear(config.latent_dim, flat)
        self.upscale = _up(8 * w, 4 * w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.convs(x).flatten(1)
        h = self.expand(self.bottleneck(h))
        return self.upscale(h.view(-1, self.channels, self.side, self.side))


class Decoder(nn.Module):
    """One identity's decoder: ``(N, 4w, S/8, S/8)`` -> crops ``(N, 3, S, S)`` in [0, 1]."""

    def __init__(self, config: AESwapConfig) -> None:
        super().__init__()
        w = config.width
        self.ups = nn.Sequential(_up(4 * w, 2 * w), _up(2 * w, w), _up(w, w // 2))
        self.out = nn.Conv2d(w // 2, 3, 5, padding=2)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.out(self.ups(h)))


class AESwapModel(nn.Module):
    """Shared encoder + decoders A and B."""

    def __init__(self, config: AESwapConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.decoder_a = Decoder(config)
        self.decoder_b = Decoder(config)

    def forward(self, x: torch.Tensor, identity: Literal["a", "b"]) -> torch.Tensor:
        """Encode ``x`` and decode it as ``identity``."""
        decoder = self.decoder_a if identity == "a" else self.decoder_b
        return decoder(self.encoder(x))

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @torch.inference_mode()
    def convert(self, crops: np.ndarray, direction: Direction = "a2b") -> np.ndarray:
        """Swap aligned crops: ``(N, S, S, 3)`` uint8 RGB -> ``(N, S, S, 3)`` float32 RGB in [0, 1].

        ``a2b`` decodes with B's decoder (faces of A come out as B), ``b2a`` with A's.
        """
        check_direction(direction)
        crops = np.asarray(crops)
        if crops.ndim == 3:
            crops = crops[None]
        check_crops(crops, self.config.size, "crops")
        was_training = self.training
        self.eval()
        try:
            x = to_tensor(crops, self.device)
            y = self(x, "b" if direction == "a2b" else "a")
        finally:
            self.train(was_training)
        return y.permute(0, 2, 3, 1).float().cpu().numpy()


def check_crops(crops: np.ndarray, size: int, name: str) -> None:
    if crops.ndim != 4 or crops.shape[1:] != (size, size, 3) or crops.dtype != np.uint8:
        raise ConfigError(f"{name} must be (N, {size}, {size}, 3) uint8, got {crops.shape} {crops.dtype}")
    if len(crops) == 0:
        raise ConfigError(f"{name} is empty")


def to_tensor(crops: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(crops)).to(device).permute(0, 3, 1, 2).float().div_(255.0)


def build_model(config: AESwapConfig) -> AESwapModel:
    """A freshly initialised model; the weights depend only on ``config.seed``."""
    # fork_rng: seed the initialisation without changing the caller's global torch RNG state.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return AESwapModel(config)
