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
    # Faded colour: saturation scaled by a uniform factor in [0, 1] (0: grey). Off by default (the shipped
    # recipe was trained without it); v1.2.0 loses 0.066 AUC and calls 33 % of reals fake (clean: 23 %) at
    # DeeperForensics' mildest desaturation (chroma x0.4), and old and faded photos are common real media.
    # On held-out sources it halved that loss at 160 px and added nothing at 224 px (detector/models/README.md).
    p_fade: float = 0.0
    # An old or poorly kept photo: two of a stronger blur, a dimmed exposure and faded colour, on this
    # share of crops of both classes. Off by default. Why (2026-12-03, `deepfake robustness` on the held-out
    # split's 163 real photos, F's draws): blurring a real photo (DeeperForensics level 5) raises the share
    # called fake from 20-23 % to 42 %, dimming it (x0.35) to 22-35 %; the blur and dimming already in this
    # pipeline (20 % of crops, sigma <= 1.8; brightness +-15 %) do not stop "soft or dark" meaning "fake".
    p_degrade: float = 0.0


def _p(p: float, strength: float) -> float:
    return float(np.clip(p * strength, 0.0, 1.0))


def _fade(*, max_saturation: float, p: float) -> A.ColorJitter:
    """Saturation x U(0, max_saturation), nothing else: brightness, contrast and hue kept."""
    return A.ColorJitter(brightness=(1.0, 1.0), contrast=(1.0, 1.0), saturation=(0.0, max_saturation),
                         hue=(0.0, 0.0), p=p, strict=True)


def _old_photo(*, p: float) -> A.SomeOf:
    """Two of: a stronger blur, a dimmed exposure, faded colour (``AugmentConfig.p_degrade``)."""
    return A.SomeOf([
        A.GaussianBlur(blur_limit=(5, 13), sigma_limit=(1.0, 2.5), p=1.0, strict=True),
        # A global multiply, the harness's "contrast" (x0.6 at level 3, x0.35 at level 5): dim exposure.
        A.MultiplicativeNoise(multiplier=(0.35, 0.85), per_channel=False, elementwise=False, p=1.0, strict=True),
        _fade(max_saturation=0.6, p=1.0),
    ], n=2, replace=False, p=p)


def build_old_photo(p: float, strength: float = 1.0) -> A.Compose:
    """The old-photo treatment alone, on a share ``p`` (scaled by ``strength``, as in :func:`build_augment`) of
    crops: ``treat(image=uint8_rgb)["image"]``. For use before self-blending (``TrainConfig.degrade_before_blend``),
    where a swap of an old photo would be made."""
    return A.Compose([_old_photo(p=_p(p, strength))], strict=True)


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
        _fade(max_saturation=1.0, p=_p(c.p_fade, s)),
        _old_photo(p=_p(c.p_degrade, s)),
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
