"""Occlusion sensitivity: which regions of an aligned face drive the classifier's "fake" score.

Zeiler & Fergus (2014): hide one square region at a time behind a grey patch and see how far the fake
logit drops. Only the model's forward pass is needed, so this runs on the ONNX classifier without torch
and without gradients, whatever the architecture.

Defaults: the patch side is 1/4 of the crop and the stride 1/8 (32 px and 16 px on a 128 px crop), so
each patch overlaps its neighbours by half and a 7 x 7 grid of positions covers the whole crop. All
occluded copies plus the unoccluded crop go to the classifier in a single ``logits`` call (50 crops at the
defaults, run in the classifier's own batches). The per-position drops are interpolated between patch
centres to a map at crop size.

Example:
    >>> occ = occlusion_map(classifier, evidence.crop)  # doctest: +SKIP
    >>> picture = overlay_heatmap(evidence.crop, occ.heat)  # (S, S, 3) uint8 RGB  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import cv2
import numpy as np

# Neutral grey: close to the ImageNet mean, which the usual normalisation maps to ~0 input, so a hidden
# region carries as little signal as a constant can.
GREY = 128


class LogitModel(Protocol):
    """Anything with the classifier's ``logits``: ``(N, S, S, 3)`` uint8 crops -> ``(N,)`` fake logits."""

    def logits(self, crops: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True, eq=False)
class OcclusionMap:
    """The result of :func:`occlusion_map`.

    Attributes:
        heat: ``(S, S)`` float32 at crop size: the grid interpolated bilinearly between patch centres.
            Positive: the region pushes towards "fake"; negative: towards "real".
        grid: ``(G, G)`` float32, the logit drop per patch position (row-major, top-left first).
        base_logit: the unoccluded crop's fake logit.
        patch_px: patch side in pixels.
        stride_px: step between patch positions in pixels.
    """

    heat: np.ndarray = field(repr=False)
    grid: np.ndarray = field(repr=False)
    base_logit: float
    patch_px: int
    stride_px: int

    @property
    def peak(self) -> float:
        """The largest logit drop any single patch caused (0 when hiding nothing lowers the score)."""
        return max(0.0, float(self.grid.max()))


def patch_positions(size: int, patch: int, stride: int) -> list[int]:
    """Top-left offsets along one axis; the last patch is pinned to the far edge so the crop is covered."""
    if not 0 < patch <= size or stride < 1:
        raise ValueError(f"need 0 < patch <= size and stride >= 1, got patch {patch}, size {size}, stride {stride}")
    return sorted(set(range(0, size - patch + 1, stride)) | {size - patch})


def occlusion_map(model: LogitModel, crop: np.ndarray, *, patch: float = 0.25, stride: float = 0.125,
                  fill: int = GREY) -> OcclusionMap:
    """Occlusion sensitivity of one aligned crop.

    Args:
        model: the classifier (or anything with its ``logits``).
        crop: ``(S, S, 3)`` uint8 RGB, the aligned crop exactly as the classifier sees it.
        patch: patch side as a fraction of the crop side.
        stride: step between patch positions as a fraction of the crop side.
        fill: grey level of the patch.

    Returns:
        The crop-size heat map and the per-position grid it was interpolated from.
    """
    crop = np.asarray(crop)
    if crop.dtype != np.uint8 or crop.ndim != 3 or crop.shape[2] != 3 or crop.shape[0] != crop.shape[1]:
        raise ValueError(f"crop must be a square (S, S, 3) uint8 RGB image, got {crop.shape} {crop.dtype}")
    size = crop.shape[0]
    patch_px = max(1, round(size * patch))
    stride_px = max(1, round(size * stride))
    starts = patch_positions(size, patch_px, stride_px)
    batch = np.repeat(crop[None], 1 + len(starts) ** 2, axis=0)
    boxes = [(y, x) for y in starts for x in starts]
    for i, (y, x) in enumerate(boxes, start=1):
        batch[i, y:y + patch_px, x:x + patch_px] = fill
    logits = np.asarray(model.logits(batch), np.float64).reshape(-1)
    grid = (logits[0] - logits[1:]).reshape(len(starts), len(starts))
    heat = upsample_grid(grid, np.asarray(starts) + patch_px / 2, size)
    return OcclusionMap(heat=heat, grid=grid.astype(np.float32), base_logit=float(logits[0]), patch_px=patch_px,
                        stride_px=stride_px)


def upsample_grid(grid: np.ndarray, centres: np.ndarray, size: int) -> np.ndarray:
    """Bilinear interpolation of a ``(G, G)`` grid whose values sit at ``centres`` (px, both axes) onto
    ``(size, size)`` pixel centres; flat beyond the outermost centres. Exact at the patch centres, unlike
    ``cv2.resize``, which assumes the grid cells tile the image (the last patch may be pinned to the edge)."""
    pixels = np.arange(size) + 0.5
    rows = np.stack([np.interp(pixels, centres, row) for row in grid])  # (G, size): along x
    return np.stack([np.interp(pixels, centres, col) for col in rows.T], axis=1).astype(np.float32)


def overlay_heatmap(crop: np.ndarray, heat: np.ndarray, *, scale: float | None = None, alpha: float = 0.6,
                    colormap: int = cv2.COLORMAP_JET) -> np.ndarray:
    """Paint the positive part of ``heat`` over ``crop`` as a colour map; regions that don't push towards
    "fake" keep the face as it is.

    Args:
        crop: ``(S, S, 3)`` uint8 RGB.
        heat: ``(S, S)`` map, e.g. :attr:`OcclusionMap.heat`.
        scale: heat value shown at full strength (None: the map's own maximum, so every map uses its full
            colour range; pass one value to compare faces on one scale).
        alpha: opacity of the strongest colour.
        colormap: an OpenCV colour map.

    Returns:
        ``(S, S, 3)`` uint8 RGB.
    """
    crop = np.asarray(crop, np.uint8)
    heat = np.asarray(heat, np.float32)
    if heat.shape != crop.shape[:2]:
        raise ValueError(f"heat {heat.shape} does not match crop {crop.shape[:2]}")
    top = float(heat.max()) if scale is None else float(scale)
    level = np.clip(heat / top, 0.0, 1.0) if top > 0 else np.zeros_like(heat)
    colour = cv2.cvtColor(cv2.applyColorMap(np.round(level * 255).astype(np.uint8), colormap), cv2.COLOR_BGR2RGB)
    # Opacity follows the heat, so a flat or negative map leaves the face untouched.
    weight = (alpha * level)[..., None]
    return np.round(crop * (1.0 - weight) + colour * weight).astype(np.uint8)
