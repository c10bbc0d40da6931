"""The face detector interface: what every backend returns, and the registry that picks one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True, eq=False)
class Detections:
    """Faces found in one image, always arrays (empty when there are none, never ``None``).

    Attributes:
        boxes: ``(n, 4)`` float32 ``x1, y1, x2, y2`` in pixels of the image passed in.
        scores: ``(n,)`` float32 detector probabilities.
        landmarks: ``(n, 5, 2)`` float32 ``(x, y)`` of left eye, right eye, nose, left and right mouth
            corner (left/right as seen in the image).
    """

    boxes: np.ndarray = field(repr=False)
    scores: np.ndarray = field(repr=False)
    landmarks: np.ndarray = field(repr=False)

    def __post_init__(self) -> None:
        n = len(self.boxes)
        if self.boxes.shape != (n, 4) or self.scores.shape != (n,) or self.landmarks.shape != (n, 5, 2):
            raise ValueError(f"inconsistent detection arrays: {self.boxes.shape}, {self.scores.shape}, "
                             f"{self.landmarks.shape}")

    def __len__(self) -> int:
        return len(self.boxes)

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), np.zeros((0, 5, 2), np.float32))

    def scaled(self, factor: float) -> Detections:
        """Coordinates multiplied by ``factor`` (maps a downscaled image's detections to the original)."""
        # Scores copied too: the result shares no array with this one (a caller filtering it in place must not
        # change the original).
        return Detections(self.boxes * np.float32(factor), self.scores.copy(), self.landmarks * np.float32(factor))

    def __repr__(self) -> str:
        return f"Detections(n={len(self)})"


class FaceDetector(Protocol):
    """Detects faces in a batch of equally sized RGB uint8 images."""

    name: str

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]: ...
