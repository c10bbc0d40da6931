"""Putting a decoded face back into its frame, the way the original tool did: Reinhard colour transfer onto the
target face, the inverse of the alignment transform, and a soft mask (an ellipse fitted to the five landmarks,
shrunk and blurred) so the seam fades out."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from detector.errors import ConfigError
from detector.faces.align import AlignSpec, align_face, alignment_matrix

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


def reinhard_transfer(source: np.ndarray, target: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Give ``source`` the per-channel LAB mean and standard deviation of ``target`` (Reinhard et al. 2001).

    Args:
        source: ``(H, W, 3)`` float32 RGB in [0, 1] (the decoded face).
        target: ``(H, W, 3)`` float32 RGB in [0, 1] (the face it replaces).
        weights: ``(H, W)`` where the statistics are taken (the blending mask).
    """
    src = cv2.cvtColor(source.astype(np.float32), cv2.COLOR_RGB2LAB).reshape(-1, 3)
    tgt = cv2.cvtColor(target.astype(np.float32), cv2.COLOR_RGB2LAB).reshape(-1, 3)
    w = weights.reshape(-1, 1).astype(np.float64)
    total = float(w.sum())
    if total < 1e-6:
        return source
    stats = []
    for lab in (src, tgt):
        mean = (lab * w).sum(0) / total
        std = np.sqrt(((lab - mean) ** 2 * w).sum(0) / total)
        stats.append((mean, std))
    (ms, ss), (mt, st) = stats
    # A flat decoded face (early training) has std ~0: cap the gain instead of amplifying noise.
    gain = np.minimum(st / np.maximum(ss, 1e-3), 4.0)
    out = ((src - ms) * gain + mt).astype(np.float32).reshape(source.shape)
    return np.clip(cv2.cvtColor(out, cv2.COLOR_LAB2RGB), 0.0, 1.0)


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
    h, w = frame.shape[:2]
    m = alignment_matrix(lm, spec)
    crop = align_face(frame, lm, spec)
    fake = model.convert(crop[None], direction)[0]
    cmask = crop_mask(spec)
    if colour_transfer:
        fake = reinhard_transfer(fake, crop.astype(np.float32) / 255.0, cmask)

    # Only the frame region the crop covers is touched: warp back into that box, not the whole frame.
    inv = cv2.invertAffineTransform(m)
    s = spec.size
    corners = np.array([[0, 0, 1], [s, 0, 1], [0, s, 1], [s, s, 1]], np.float64) @ inv.T
    x0, y0 = (int(np.clip(np.floor(corners[:, i].min()) - 1, 0, lim)) for i, lim in ((0, w), (1, h)))
    x1, y1 = (int(np.clip(np.ceil(corners[:, i].max()) + 1, 0, lim)) for i, lim in ((0, w), (1, h)))
    mask = np.zeros((h, w), np.float32)
    if x1 <= x0 or y1 <= y0:
        return frame.copy(), mask
    # crop = A @ frame_xy + b, frame_xy = roi_xy + (x0, y0)  =>  crop = A @ roi_xy + (A @ (x0, y0) + b).
    m_roi = m.copy()
    m_roi[:, 2] = m[:, :2] @ np.array([x0, y0], np.float64) + m[:, 2]
    size = (x1 - x0, y1 - y0)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    face = cv2.warpAffine(fake, m_roi, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(cmask, m_roi, size, flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    alpha = np.clip(alpha, 0.0, 1.0)
    alpha[alpha < 1e-3] = 0.0  # interpolation dust: leave those pixels exactly as they were
    roi = frame[y0:y1, x0:x1].astype(np.float32)
    blended = roi * (1.0 - alpha[..., None]) + face * 255.0 * alpha[..., None]
    out = frame.copy()
    out[y0:y1, x0:x1] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
    mask[y0:y1, x0:x1] = alpha
    return out, mask
