"""Settings of an autoencoder face-swap run (saved next to the weights), and the swap directions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from detector.config import reject_unknown_keys
from detector.errors import ConfigError
from detector.faces.align import AlignSpec

Direction = Literal["a2b", "b2a"]


@dataclass(frozen=True)
class AESwapConfig:
    """Settings of one autoencoder training run (saved next to the weights).

    Attributes:
        size: side of the aligned crops and of the autoencoder's input/output; a multiple of 16, >= 32.
        margin: alignment margin of the crops (see :class:`detector.faces.align.AlignSpec`); tight, since only
            the inner face is swapped.
        latent_dim: length of the shared bottleneck vector (1024 in the original at w = 128).
        width: channels of the first encoder convolution; deeper layers double it.
        steps: optimiser steps (each sees one batch of A and one of B). The default takes ~4 min at 64 px on
            one busy CPU core (0.25 s/step measured) and gives blurry but face-shaped swaps; sharper ones need
            10k+ steps (a GPU), the original trained for tens of thousands.
        batch_size: crops of each identity per step.
        lr: Adam learning rate. Higher than the original 5e-5 so short runs get somewhere.
        warp: standard deviation of the random warp, in normalised coordinates ([-1, 1] across the crop); the
            original's 5 px over a 160 px grid is 0.0625.
        rotate: largest random rotation in degrees (original: 10).
        zoom: largest random zoom, as a fraction (original: 0.05).
        shift: largest random shift, as a fraction of the crop (original: 0.05).
        flip: probability of a left-right flip (original: 0.4).
        log_every: steps per entry of the loss history (each entry averages its steps).
        seed: seeds weight initialisation, batches and augmentation (runs are repeatable on CPU; CUDA
            convolutions may differ in the last bits).
        device: ``auto`` (CUDA if available), ``cpu`` or ``cuda``.
    """

    size: int = 64
    margin: float = 0.15
    latent_dim: int = 256
    width: int = 32
    steps: int = 1000
    batch_size: int = 16
    lr: float = 2e-4
    warp: float = 0.0625
    rotate: float = 10.0
    zoom: float = 0.05
    shift: float = 0.05
    flip: float = 0.4
    log_every: int = 50
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.size < 32 or self.size % 16:
            raise ConfigError(f"size must be a multiple of 16 and >= 32, got {self.size}")
        if self.width < 2 or self.width % 2:
            raise ConfigError(f"width must be an even number >= 2, got {self.width}")
        for name in ("latent_dim", "steps", "batch_size", "log_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ConfigError(f"lr must be > 0, got {self.lr}")
        if not 0.0 <= self.flip <= 1.0:
            raise ConfigError(f"flip must be a probability, got {self.flip}")
        if min(self.warp, self.rotate, self.zoom, self.shift) < 0:
            raise ConfigError("warp, rotate, zoom and shift must be >= 0")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"device must be auto, cpu or cuda, got {self.device!r}")
        AlignSpec(size=self.size, margin=self.margin)  # validates the margin

    @property
    def align(self) -> AlignSpec:
        """The crop definition the model was trained on (and must be swapped with)."""
        return AlignSpec(size=self.size, margin=self.margin)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AESwapConfig:
        reject_unknown_keys(cls, data, what="AESwapConfig")
        return cls(**data)


def check_direction(direction: str) -> None:
    if direction not in ("a2b", "b2a"):
        raise ConfigError(f"direction must be 'a2b' or 'b2a', got {direction!r}")
