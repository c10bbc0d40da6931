"""Resolution matching: give real and fake training crops the same spread of source resolutions.

Aligned crops are all 128 px (or whatever the card says), but how much detail they hold depends on how large
the face was in its source file. In ``../shared/data/train`` that differs by class (median face box in source
pixels / median Laplacian variance of the 128 px crop, measured on the crop cache; ``training/EXPERIMENTS.md``):

    real  LFW-style (Gender-Image-Classifier)   96 px / 531     real  UTKFace (AgeProgression)  199 px / 483
    fake  StyleGAN faces (BaseMax/FakeFaces)   283 px / 1197    real  FFHQ (realorfake)         569 px / 1392

so "a sharp crop of a large face" means fake in training, and the real FFHQ photos of the eval set (as sharp
as the fakes) were scored fake. Augmentation applied equally to both classes does not remove such a gap;
re-sampling every crop as if its face had been ``target_px`` wide, with ``target_px`` drawn from one
distribution for both classes, does: a face larger than the target loses the detail the target size could
not hold (down to ``crop * target / face`` then back up), a face already smaller than the target is left
alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class ResolutionMatch:
    """``p``: share of crops re-sampled; target face size drawn log-uniformly from ``face_px``."""

    p: float = 0.0
    face_px: tuple[float, float] = (64.0, 320.0)

    def __post_init__(self) -> None:
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"resolution match probability must be in [0, 1], got {self.p}")
        lo, hi = self.face_px
        if not 0 < lo <= hi:
            raise ValueError(f"face_px must be 0 < low <= high, got {self.face_px}")

    def __call__(self, crop: np.ndarray, face_px: float, rng: np.random.Generator) -> np.ndarray:
        if self.p <= 0.0 or rng.random() >= self.p:
            return crop
        lo, hi = self.face_px
        target = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        return resample_as_face_of(crop, face_px, target)


def resample_as_face_of(crop: np.ndarray, face_px: float, target_px: float) -> np.ndarray:
    """``crop`` (a face ``face_px`` wide in its source) as if the face had been ``target_px`` wide.

    Area-averaged down (what a smaller camera image or a downscaled upload holds), bilinear back up (what the
    aligner does with a small face). Unchanged when the face is not larger than the target.
    """
    if face_px <= target_px:
        return crop
    h, w = crop.shape[:2]
    scale = target_px / face_px
    small = cv2.resize(crop, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
