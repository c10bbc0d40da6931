"""Classifier input preprocessing: the one definition training and inference share.

Aligned crops (``detector.faces.align``) become the network input here and nowhere else: training calls
:func:`to_input` on the same uint8 crops the runtime feeds, so a change shows up on both sides at once.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

# ImageNet statistics: timm's default for EfficientNet/ResNet families, kept although we train from
# scratch because it centres natural-image inputs near zero.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def to_input(crops: np.ndarray | Sequence[np.ndarray], *, size: int, mean: Sequence[float] = IMAGENET_MEAN,
             std: Sequence[float] = IMAGENET_STD) -> np.ndarray:
    """``(N, H, W, 3)`` uint8 RGB crops -> ``(N, 3, size, size)`` float32, scaled to [0, 1] and normalised.

    Crops are normally aligned at ``size`` already; others are resized with area averaging (shrinking) or
    bilinear interpolation (growing).
    """
    batch = np.stack([_resize(np.asarray(c), size) for c in crops]) if len(crops) else np.zeros((0, size, size, 3),
                                                                                               np.uint8)
    if batch.dtype != np.uint8 or batch.ndim != 4 or batch.shape[-1] != 3:
        raise ValueError(f"crops must be (N, H, W, 3) uint8 RGB, got {batch.shape} {batch.dtype}")
    x = batch.astype(np.float32) * np.float32(1 / 255)
    x -= np.asarray(mean, np.float32)
    x /= np.asarray(std, np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def _resize(crop: np.ndarray, size: int) -> np.ndarray:
    h, w = crop.shape[:2]
    if (h, w) == (size, size):
        return crop
    interp = cv2.INTER_AREA if h > size else cv2.INTER_LINEAR
    return cv2.resize(crop, (size, size), interpolation=interp)
