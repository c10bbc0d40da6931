"""Per-face quality signals, so later stages can weigh or discard weak evidence."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class FaceQuality:
    """Attributes:
        size_px: shorter side of the detected box, in pixels of the original frame.
        eye_distance_px: distance between the eye centres, original pixels.
        score: detector probability.
        sharpness: variance of the Laplacian of the aligned crop (grey, at crop size): low is blurry.
            Measured on the crop, so faces of any size compare; upscaled small faces score low.
        frontalness: 1 for a frontal face, falling to 0 at profile; from where the nose tip sits between
            the eyes along the eye axis (roll removed).
    """

    size_px: float
    eye_distance_px: float
    score: float
    sharpness: float
    frontalness: float

    def to_dict(self) -> dict[str, float]:
        return {k: round(float(v), 4) for k, v in asdict(self).items()}


def sharpness(crop: np.ndarray) -> float:
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def frontalness(landmarks: np.ndarray) -> float:
    lm = np.asarray(landmarks, np.float64).reshape(5, 2)
    left_eye, right_eye, nose = lm[0], lm[1], lm[2]
    axis = right_eye - left_eye
    length2 = float(axis @ axis)
    if length2 < 1e-6:
        return 0.0
    # Position of the nose along the eye axis: 0.5 when frontal, toward 0 or 1 (and beyond) when turned.
    t = float((nose - left_eye) @ axis / length2)
    return float(np.clip(1.0 - 2.0 * abs(t - 0.5), 0.0, 1.0))


def face_quality(box: np.ndarray, landmarks: np.ndarray, score: float, crop: np.ndarray) -> FaceQuality:
    lm = np.asarray(landmarks, np.float64).reshape(5, 2)
    return FaceQuality(
        size_px=float(min(box[2] - box[0], box[3] - box[1])),
        eye_distance_px=float(np.linalg.norm(lm[1] - lm[0])),
        score=float(score),
        sharpness=sharpness(crop),
        frontalness=frontalness(lm),
    )
