"""Putting a re-synthesised face crop back into its frame, torch-free: the ae-swap's blend
(:mod:`training.synth.ae_swap.blend`) and ``mouth_video`` share it.

Reinhard colour transfer gives the new crop the colour statistics of the face it replaces; :func:`paste_crop`
warps it back with the inverse of the alignment transform and blends it through a soft mask, touching only the
frame region the crop covers.
"""

from __future__ import annotations

import cv2
import numpy as np


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


def paste_crop(frame: np.ndarray, face: np.ndarray, alpha: np.ndarray,
               matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Blend an aligned crop back into its frame.

    Args:
        frame: ``(H, W, 3)`` uint8 RGB.
        face: ``(S, S, 3)`` float32 RGB in [0, 1], the new face in aligned-crop pixels.
        alpha: ``(S, S)`` float32 in [0, 1], how much of ``face`` each crop pixel takes.
        matrix: the 2 x 3 frame-to-crop transform (:func:`detector.faces.align.alignment_matrix`).

    Returns:
        ``(blended, mask)``: the new ``(H, W, 3)`` uint8 frame, and ``alpha`` in frame pixels (0 where untouched).
    """
    h, w = frame.shape[:2]
    mask = np.zeros((h, w), np.float32)
    # Only the frame region the crop covers is touched: warp back into that box, not the whole frame.
    inv = cv2.invertAffineTransform(matrix)
    s = face.shape[0]
    corners = np.array([[0, 0, 1], [s, 0, 1], [0, s, 1], [s, s, 1]], np.float64) @ inv.T
    x0, y0 = (int(np.clip(np.floor(corners[:, i].min()) - 1, 0, lim)) for i, lim in ((0, w), (1, h)))
    x1, y1 = (int(np.clip(np.ceil(corners[:, i].max()) + 1, 0, lim)) for i, lim in ((0, w), (1, h)))
    if x1 <= x0 or y1 <= y0:
        return frame.copy(), mask
    # crop = A @ frame_xy + b, frame_xy = roi_xy + (x0, y0)  =>  crop = A @ roi_xy + (A @ (x0, y0) + b).
    m_roi = np.array(matrix, np.float64)
    m_roi[:, 2] = m_roi[:, :2] @ np.array([x0, y0], np.float64) + m_roi[:, 2]
    size = (x1 - x0, y1 - y0)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    back = cv2.warpAffine(face, m_roi, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
    roi_alpha = cv2.warpAffine(alpha, m_roi, size, flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    roi_alpha = np.clip(roi_alpha, 0.0, 1.0)
    roi_alpha[roi_alpha < 1e-3] = 0.0  # interpolation dust: leave those pixels exactly as they were
    roi = frame[y0:y1, x0:x1].astype(np.float32)
    blended = roi * (1.0 - roi_alpha[..., None]) + back * 255.0 * roi_alpha[..., None]
    out = frame.copy()
    out[y0:y1, x0:x1] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
    mask[y0:y1, x0:x1] = roi_alpha
    return out, mask
