"""Face alignment: one 5-point similarity transform to a canonical crop, shared by training and inference.

The canonical landmark positions are the widely used ArcFace/insightface 112 x 112 template (eyes, nose
tip, mouth corners), expressed in a unit square and widened by ``margin`` on every side so the crop keeps
the face outline, hairline and chin, where blending seams of face swaps sit. A similarity transform
(rotation, uniform scale, translation; no shear, no reflection) is fitted to the five detected points by
least squares (Umeyama 1991) and the image is warped once.

Changing anything here changes what a trained classifier sees: bump ``ALIGNMENT_VERSION``; model cards
record it and the training crop cache keys on it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

ALIGNMENT_VERSION = 1

# insightface's arcface_dst for 112 x 112 crops: left eye, right eye, nose, left mouth, right mouth.
_ARCFACE_112 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float64,
) / 112.0


@dataclass(frozen=True)
class AlignSpec:
    """Where the aligned crop comes from.

    Attributes:
        size: side of the square crop in pixels.
        margin: extra border around the template's tight face square, as a fraction of that square on each
            side (0.3 keeps forehead, cheeks and chin; 0.3 is also the DFDC winner's crop margin).
    """

    size: int = 224
    margin: float = 0.3

    def __post_init__(self) -> None:
        if self.size < 16:
            raise ValueError(f"crop size must be >= 16 px, got {self.size}")
        if not 0.0 <= self.margin <= 2.0:
            raise ValueError(f"margin must be within [0, 2], got {self.margin}")

    @property
    def version(self) -> str:
        """Identifier stored in model cards and crop caches, e.g. ``"align-v1-s224-m0.30"``."""
        return f"align-v{ALIGNMENT_VERSION}-s{self.size}-m{self.margin:.2f}"

    def template(self) -> np.ndarray:
        """The five canonical points in crop pixels, ``(5, 2)`` float64."""
        return (_ARCFACE_112 + self.margin) / (1.0 + 2.0 * self.margin) * self.size

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "version": self.version, "template": "arcface-5pt"}


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform mapping ``src`` points onto ``dst`` (Umeyama). Returns 2 x 3."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1.0  # no reflections
    rot = u @ sign @ vt
    var_s = (s**2).sum() / len(src)
    scale = float((sig * np.diag(sign)).sum() / var_s) if var_s > 0 else 1.0
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - m[:, :2] @ mu_s
    return m


def alignment_matrix(landmarks: np.ndarray, spec: AlignSpec) -> np.ndarray:
    """2 x 3 matrix taking image coordinates to aligned-crop coordinates."""
    return similarity_transform(np.asarray(landmarks, np.float64).reshape(5, 2), spec.template())


def align_face(image: np.ndarray, landmarks: np.ndarray, spec: AlignSpec | None = None) -> np.ndarray:
    """Warp ``image`` (H, W, 3 uint8) to the canonical crop for a face with these 5 landmarks.

    When the face is much larger than the crop, the region is first shrunk with area averaging, so the
    bilinear warp does not alias (high-frequency artefacts are exactly what the classifier looks at).
    """
    spec = spec or AlignSpec()
    m = alignment_matrix(landmarks, spec)
    scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
    size = spec.size
    if scale < 0.5:
        inv = cv2.invertAffineTransform(m)
        corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], np.float64) @ inv.T
        h, w = image.shape[:2]
        x0 = int(np.clip(np.floor(corners[:, 0].min()) - 2, 0, w))
        y0 = int(np.clip(np.floor(corners[:, 1].min()) - 2, 0, h))
        x1 = int(np.clip(np.ceil(corners[:, 0].max()) + 2, 0, w))
        y1 = int(np.clip(np.ceil(corners[:, 1].max()) + 2, 0, h))
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            region = image[y0:y1, x0:x1]
            # Shrink to about twice the final scale: the warp then only resamples mildly.
            rw, rh = max(1, round((x1 - x0) * scale * 2)), max(1, round((y1 - y0) * scale * 2))
            small = cv2.resize(region, (rw, rh), interpolation=cv2.INTER_AREA)
            fx, fy = (x1 - x0) / rw, (y1 - y0) / rh
            a = m[:, :2]
            m = np.concatenate([a * np.array([fx, fy]), (a @ np.array([x0, y0]) + m[:, 2])[:, None]], axis=1)
            image = small
    return cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(0, 0, 0))


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2 x 3 affine matrix to ``(n, 2)`` points."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    return pts @ matrix[:, :2].T + matrix[:, 2]
