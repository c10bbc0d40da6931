"""HEVC compression of training crops: part of every batch passed through one HEVC frame (x265) at a random crf.

Phones record video in HEVC, while the training footage is nearly all H.264: the same real clips re-encoded in 10-bit
HEVC instead of H.264 score 0.08 higher for v1.2.3 and for recipe AK, and more of them are called fake
(``training/EXPERIMENTS.md``, 2026-12-07 session 6; real photos as HEIC stills instead of JPEG moved by under 0.01).
Real and fake crops go through it alike, so HEVC's look (deblocking and SAO smoothing, block shapes of its own)
stops being unfamiliar without becoming a label cue. One intra frame per crop is a fair stand-in: the same clips
encoded all-intra move the scores as much (0.360 → 0.459 for v1.2.3). Not yet trained with: whether training on it
removes the shift is what a trial has to show. In the loop rather than in the augmentation pipeline so that recipes without it keep
their random streams; x265 comes with PyAV's wheels, so it needs no dependency of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

import av
import numpy as np
import torch
from torch import nn

from detector.errors import ConfigError

if TYPE_CHECKING:
    from . import BatchContext

# x265's quality scale: 0 (lossless-like) to 51. 18 is visually lossless, 28 x265's default, 36 a heavy upload.
CRF_LIMITS = (0, 51)


@dataclass(frozen=True)
class HevcCompression:
    """Settings of HEVC compression (``TrainConfig.experiments["hevc"]``).

    Attributes:
        share: share of every batch passed through HEVC (the batch order is random, so the first samples are a
            random share), reals and fakes alike.
        crf: the range each crop's crf is drawn from (inclusive), uniformly.
    """

    share: float = 0.2
    crf: tuple[int, int] = (18, 36)

    def __post_init__(self) -> None:
        if not 0 < self.share <= 1:
            raise ConfigError(f"hevc share must be in (0, 1], got {self.share}")
        low, high = tuple(self.crf)
        if not CRF_LIMITS[0] <= low <= high <= CRF_LIMITS[1]:
            raise ConfigError(f"hevc crf must be a range within {CRF_LIMITS}, got {self.crf}")
        object.__setattr__(self, "crf", (int(low), int(high)))  # a config file gives a list

    def transform_batch(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, context: BatchContext
                        ) -> torch.Tensor:
        return hevc_batch(x, share=self.share, crf=self.crf, mean=context.mean, std=context.std)


def hevc_batch(x: torch.Tensor, *, share: float, crf: tuple[int, int], mean: tuple[float, ...] | list[float],
               std: tuple[float, ...] | list[float]) -> torch.Tensor:
    """``x`` (normalised ``N x 3 x H x W``) with its first ``share`` of samples through HEVC; the rest unchanged.

    Draws the crf from torch's generator, so a seeded run repeats itself.
    """
    n = round(len(x) * share)
    if n == 0:
        return x
    m = torch.tensor(mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    pixels = ((x[:n].detach() * s + m).clamp(0, 1) * 255).round().to(torch.uint8)
    levels = torch.randint(crf[0], crf[1] + 1, (n,)).tolist()
    out = x.clone()
    for i, level in enumerate(levels):
        image = pixels[i].permute(1, 2, 0).cpu().numpy()
        coded = torch.from_numpy(hevc_roundtrip(image, level)).to(x.device).permute(2, 0, 1)
        out[i] = (coded.to(x.dtype) / 255 - m[0]) / s[0]
    return out


def hevc_roundtrip(image: np.ndarray, crf: int) -> np.ndarray:
    """``image`` (``H x W x 3`` uint8 RGB) encoded as one 4:2:0 HEVC frame at ``crf`` and decoded again.

    Odd sides are padded by edge replication for the encoder (4:2:0 needs even ones) and cropped back.
    """
    height, width = image.shape[:2]
    padded = np.pad(image, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")
    encoder = av.CodecContext.create("libx265", "w")
    encoder.width, encoder.height = padded.shape[1], padded.shape[0]
    encoder.pix_fmt = "yuv420p"
    encoder.time_base = Fraction(1, 25)
    # One thread and no pools: it runs once per crop inside a data-parallel training loop.
    encoder.options = {"crf": str(crf), "preset": "ultrafast",
                       "x265-params": "log-level=none:frame-threads=1:pools=none"}
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(padded), format="rgb24").reformat(format="yuv420p")
    packets = [*encoder.encode(frame), *encoder.encode(None)]
    decoder = av.CodecContext.create("hevc", "r")
    decoded = [f for packet in [*packets, None] for f in decoder.decode(packet)]
    if len(decoded) != 1:
        raise RuntimeError(f"HEVC round trip gave {len(decoded)} frames, expected 1")
    return decoded[0].to_ndarray(format="rgb24")[:height, :width]
