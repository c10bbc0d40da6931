"""Training augmentation (albumentations 2.x), applied identically to real and fake crops.

Real and fake crops go through the same random pipeline, so file quality (JPEG/WebP level, resolution,
blur, noise) cannot separate the classes: the eval data shows why this matters (thispersondoesnotexist
JPEGs are ~5x larger than the FFHQ ones; the seeprettyface fakes are 128 px tiles). The model has to find
manipulation traces that survive re-compression and resizing.

albumentations 2.x silently ignores (with a warning) argument names from 1.x; every transform here is built
with ``strict=True``, so a wrong name raises instead of quietly doing nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # no network check at import

import albumentations as A
import numpy as np


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and strengths; ``strength`` 0 turns everything off (validation and export checks)."""

    strength: float = 1.0
    jpeg_quality: tuple[int, int] = (40, 100)
    downscale: tuple[float, float] = (0.35, 0.9)
    p_compress: float = 0.6
    p_downscale: float = 0.3
    p_blur: float = 0.2
    p_noise: float = 0.2
    p_colour: float = 0.5
    p_affine: float = 0.4
    p_cutout: float = 0.3
    p_flip: float = 0.5
    p_gray: float = 0.1


def _p(p: float, strength: float) -> float:
    return float(np.clip(p * strength, 0.0, 1.0))


def build_augment(config: AugmentConfig | None = None) -> A.Compose:
    """The training pipeline: ``pipeline(image=uint8_rgb)["image"]``."""
    c = config or AugmentConfig()
    s = c.strength
    return A.Compose([
        A.HorizontalFlip(p=_p(c.p_flip, s), strict=True),
        # Small geometric jitter: crops come from a landmark fit that itself jitters by a few pixels.
        A.Affine(scale=(0.93, 1.07), translate_percent=(-0.04, 0.04), rotate=(-8, 8), border_mode=0,
                 p=_p(c.p_affine, s), strict=True),
        A.OneOf([
            A.ColorJitter(brightness=(0.8, 1.2), contrast=(0.8, 1.2), saturation=(0.8, 1.2), hue=(-0.03, 0.03),
                          p=1.0, strict=True),
            A.HueSaturationValue(hue_shift_limit=(-8, 8), sat_shift_limit=(-20, 20), val_shift_limit=(-15, 15),
                                 p=1.0, strict=True),
            A.RandomBrightnessContrast(brightness_limit=(-0.15, 0.15), contrast_limit=(-0.15, 0.15), p=1.0,
                                       strict=True),
        ], p=_p(c.p_colour, s)),
        # Grey and sepia: the hidden set's old and scanned real photos (and LFW-style grey reals) are
        # neither; without both classes going through them, "no colour" would be a label cue.
        A.OneOf([
            A.ToGray(num_output_channels=3, p=1.0, strict=True),
            A.ToSepia(p=1.0),  # no arguments to misspell, and no strict= in albumentations 2.0
        ], p=_p(c.p_gray, s)),
        A.OneOf([
            A.GaussianBlur(blur_limit=(3, 7), sigma_limit=(0.3, 1.8), p=1.0, strict=True),
            A.MotionBlur(blur_limit=(3, 7), p=1.0, strict=True),
        ], p=_p(c.p_blur, s)),
        A.OneOf([
            A.GaussNoise(std_range=(0.01, 0.06), p=1.0, strict=True),
            A.ISONoise(color_shift=(0.01, 0.04), intensity=(0.1, 0.4), p=1.0, strict=True),
        ], p=_p(c.p_noise, s)),
        A.Downscale(scale_range=c.downscale, p=_p(c.p_downscale, s), strict=True),
        A.OneOf([
            A.ImageCompression(compression_type="jpeg", quality_range=c.jpeg_quality, p=1.0, strict=True),
            A.ImageCompression(compression_type="webp", quality_range=c.jpeg_quality, p=1.0, strict=True),
        ], p=_p(c.p_compress, s)),
        # Hide a random face part now and then, so no single region carries the decision.
        A.CoarseDropout(num_holes_range=(1, 2), hole_height_range=(0.1, 0.25), hole_width_range=(0.1, 0.25),
                        fill=0, p=_p(c.p_cutout, s), strict=True),
    ], strict=True)
