"""Do crop-level attacks survive the pipeline? Perturb the photo, not the crop, and scan it again.

The attack is computed on the aligned crop the scan made (:func:`training.robustness.attacks.perturb`), its
change is warped back into the photo through the inverse of the alignment transform, optionally the photo is
re-compressed as JPEG (what an upload to a platform does), and the whole scan runs on the result: the face is
detected, aligned and classified again. Still images only (a video would need every sampled frame attacked).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from torch import nn

from detector.api import Detector
from detector.faces.align import alignment_matrix
from detector.media import Frame
from detector.results import MediaResult

from .attacks import Attack, perturb
from .perturbations import jpeg


@dataclass(frozen=True)
class TransferOutcome:
    """The scan of the clean photo and of the attacked one (``None``: no face in the clean photo)."""

    clean_probability: float | None
    attacked_probability: float | None
    attacked_verdict: str | None
    linf: float  # largest change of a photo pixel, 0..255 scale


def attack_photo(detector: Detector, model: nn.Module, image: np.ndarray, label: int, attack: Attack, *,
                 jpeg_quality: int | None = None, seed: int = 0) -> np.ndarray | None:
    """The attacked photo (``None`` when the scan finds no face to attack)."""
    faces = detector.faces.extract_frames([Frame(0, 0.0, image)])
    if not faces:
        return None
    face = max(faces, key=lambda f: f.quality.size_px)  # the person the verdict most depends on
    card = detector.classifier.card
    adv = perturb(model, face.crop[None], np.array([label]), attack, mean=float(card.mean[0]),
                  std=float(card.std[0]), seed=seed)[0]
    delta = adv.astype(np.float32) - face.crop.astype(np.float32)
    inverse = cv2.invertAffineTransform(alignment_matrix(np.asarray(face.landmarks), detector.classifier.align))
    h, w = image.shape[:2]
    back = cv2.warpAffine(delta, inverse, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(0, 0, 0))
    attacked = np.clip(np.rint(image.astype(np.float32) + back), 0, 255).astype(np.uint8)
    if jpeg_quality is not None:
        attacked = jpeg(attacked, jpeg_quality, np.random.default_rng(seed))
    return attacked


def transfer(detector: Detector, model: nn.Module, image: np.ndarray, label: int, attack: Attack, *,
             jpeg_quality: int | None = None, seed: int = 0, clean: MediaResult | None = None) -> TransferOutcome:
    """``clean``: the clean photo's scan, when the caller already has it (one per photo for many settings)."""
    clean = clean if clean is not None else detector.scan_image(image)
    attacked = attack_photo(detector, model, image, label, attack, jpeg_quality=jpeg_quality, seed=seed)
    if attacked is None:
        return TransferOutcome(clean.fake_probability, None, None, 0.0)
    result = detector.scan_image(attacked)
    linf = float(np.abs(attacked.astype(np.int16) - image.astype(np.int16)).max())
    return TransferOutcome(clean.fake_probability, result.fake_probability, result.verdict, linf)
