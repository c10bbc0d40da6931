"""Putting a decoded face back into its frame, the way the original tool did: Reinhard colour transfer onto the
target face, the inverse of the alignment transform, and a soft mask (an ellipse fitted to the five landmarks,
shrunk and blurred) so the seam fades out. The colour transfer and the paste-back are torch-free
(:mod:`training.synth.paste`, shared with ``mouth_video``)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from detector.errors import ConfigError
from detector.faces.align import AlignSpec, align_face, alignment_matrix

from ..paste import paste_crop, reinhard_transfer
from .config import Direction, check_direction
from .model import AESwapModel


def crop_mask(spec: AlignSpec) -> np.ndarray:
    """The blending mask in aligned-crop pixels, ``(S, S)`` float32 in [0, 1].

    An ellipse fitted to the five template landmarks, from the forehead above the brows to the chin and
    across the cheeks, shrunk by its blur radius and Gaussian-blurred, so it reaches 1 over the eyes, nose
    and mouth and fades to 0 before the jaw line and the crop border.
    """
    t = spec.template()
    eyes, mouth = (t[0] + t[1]) / 2, (t[3] + t[4]) / 2
    eye_mouth = float(np.linalg.norm(mouth - eyes))
    eye_dist = float(np.linalg.norm(t[1] - t[0]))
    sigma = 0.08 * eye_mouth
    centre = (eyes + mouth) / 2 - np.array([0.0, 0.15 * eye_mouth])
    # Erosion by ~2 sigma keeps the blurred edge inside the face outline (the ellipse would reach the jaw).
    axes = (1.25 * eye_dist - 2 * sigma, 1.25 * eye_mouth - 2 * sigma)
    s = spec.size
    # Drawn at 4x with sub-pixel shift so the ellipse edge is accurate at small sizes (32 px).
    big = np.zeros((4 * s, 4 * s), np.uint8)
    cv2.ellipse(big, (round(centre[0] * 16), round(centre[1] * 16)), (round(axes[0] * 16), round(axes[1] * 16)),
                0, 0, 360, 255, thickness=-1, lineType=cv2.LINE_AA, shift=2)
    mask = cv2.resize(big, (s, s), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    mask = cv2.GaussianBlur(mask, (0, 0), sigma)
    return np.clip(mask / max(float(mask.max()), 1e-6), 0.0, 1.0)


def swap_frame(frame_rgb: np.ndarray, landmarks5: np.ndarray | Sequence[Sequence[float]], model: AESwapModel, *,
               direction: Direction = "a2b", spec: AlignSpec | None = None,
               colour_transfer: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Replace one face in a frame by the model's swap of it.

    Args:
        frame_rgb: ``(H, W, 3)`` uint8 RGB.
        landmarks5: the face's five landmarks in frame pixels (as the face stage gives them).
        model: a trained :class:`AESwapModel`.
        direction: ``a2b`` (the face is A, paint B) or ``b2a``.
        spec: crop definition; defaults to the model's (it must match what the model was trained on).
        colour_transfer: match the swapped face's LAB statistics to the original face.

    Returns:
        ``(swapped, mask)``: the blended ``(H, W, 3)`` uint8 frame and the ``(H, W)`` float32 blending mask in
        [0, 1] (0 where the frame is untouched).
    """
    check_direction(direction)
    frame = np.asarray(frame_rgb)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ConfigError(f"frame must be (H, W, 3) uint8 RGB, got {frame.shape} {frame.dtype}")
    spec = spec or model.config.align
    if spec.size != model.config.size:
        raise ConfigError(f"crop size {spec.size} does not match the model's {model.config.size}")
    lm = np.asarray(landmarks5, np.float64).reshape(5, 2)
    m = alignment_matrix(lm, spec)
    crop = align_face(frame, lm, spec)
    fake = model.convert(crop[None], direction)[0]
    cmask = crop_mask(spec)
    if colour_transfer:
        fake = reinhard_transfer(fake, crop.astype(np.float32) / 255.0, cmask)
    return paste_crop(frame, fake, cmask, m)
