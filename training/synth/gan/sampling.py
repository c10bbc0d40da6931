"""Generating faces from a trained generator."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from detector.errors import ConfigError

from .model import Generator


def _to_uint8(images: torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) in [-1, 1] -> (B, H, W, 3) uint8."""
    out = images.detach().clamp(-1.0, 1.0).add(1.0).mul(127.5).round().to(torch.uint8)
    return out.permute(0, 2, 3, 1).cpu().numpy()

@torch.no_grad()
def sample(generator: Generator, n: int, *, seed: int = 0, batch_size: int = 256,
           upscale_to: int | None = None) -> np.ndarray:
    """Generate ``n`` faces.

    The noise is drawn on the CPU from ``seed`` alone, and the generator runs in eval mode (BatchNorm uses its
    running statistics, so one image does not depend on the others in its batch): a seed always gives the same
    faces from the same generator (bit for bit on one device; other devices may differ in the last digits).

    Args:
        generator: a trained generator (its train/eval mode is restored afterwards).
        n: how many images.
        seed: noise seed.
        batch_size: images per forward pass.
        upscale_to: resize each image to this side with bicubic interpolation (e.g. to the classifier's
            crop size). Upscaling adds its own smoothness, so real crops used beside these should be
            treated alike or the detector may learn the resampling instead of the generator.

    Returns:
        ``(n, S, S, 3)`` uint8 RGB, ``S`` = ``upscale_to`` or the generator's size.
    """
    if n < 0:
        raise ConfigError(f"n must be >= 0, got {n}")
    side = upscale_to or generator.size
    if n == 0:
        return np.zeros((0, side, side, 3), np.uint8)
    device = next(generator.parameters()).device
    z = torch.randn(n, generator.latent_dim, generator=torch.Generator().manual_seed(seed))
    was_training = generator.training
    generator.eval()
    try:
        images = np.concatenate([_to_uint8(generator(chunk.to(device))) for chunk in z.split(batch_size)])
    finally:
        generator.train(was_training)
    if upscale_to and upscale_to != generator.size:
        images = np.stack([cv2.resize(im, (upscale_to, upscale_to), interpolation=cv2.INTER_CUBIC)
                           for im in images])
    return images
