"""One face of a still replaced by another person's inner face, the way single-image face swappers leave it.

inswapper and ReSwapper generate the donor's identity in the target's pose at 128 px (the ArcFace-aligned face
square), give it the target's colours and paste it back into the real photo through a soft mask. Without a
generator, this does the same with a real donor face of similar pose (:mod:`training.synth.cross_swap` picks it):

* the donor's aligned crop is warped onto the target's aligned crop by the transform between the two 5-point sets
  (a least-squares affine held close to a similarity, so eyes and mouth land on eyes and mouth without shearing),
* squeezed through a resolution bottleneck (shrunk to a 96 to 160 px face and back: a generator's output is soft
  against the real photo around it),
* colour-matched to the face it replaces (Reinhard, :func:`training.synth.paste.reinhard_transfer`), and
* blended through a feathered mask over the inner face (eyebrows to chin, cheek to cheek, from the target's
  landmarks), its edge eroded and blurred by drawn amounts, and warped back with :func:`.paste.paste_crop`.

Pixels outside the mask stay exactly as they were. Torch-free: numpy and OpenCV.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from detector.errors import ConfigError
from detector.faces.align import AlignSpec, align_face, alignment_matrix, similarity_transform, transform_points

from .paste import paste_crop, reinhard_transfer

# How far the fitted warp may stretch one axis against the other: 1.15 absorbs different face proportions (a
# wider-set pair of eyes, a longer chin) while a badly placed landmark cannot shear the donor face.
_MAX_STRETCH = 1.15


@dataclass(frozen=True)
class SwapConfig:
    """How a donor face is put into a target face.

    Attributes:
        face_px: the range of face sizes (px, the aligned face's inner square) the swapped face is shrunk to and
            back; inswapper generates at 128.
        erode: the range of the mask's inward shrink, as a fraction of the eye distance.
        blur: the range of the mask edge's Gaussian sigma, as a fraction of the eye-to-mouth distance.
        size: side of the aligned crop in which the face is warped, matched and blended (256: the 160 px inner
            face holds the bottleneck's largest size).
        margin: that crop's margin (0.3, the classifier's: it keeps the chin).
    """

    face_px: tuple[int, int] = (96, 160)
    erode: tuple[float, float] = (0.0, 0.1)
    blur: tuple[float, float] = (0.05, 0.15)
    size: int = 256
    margin: float = 0.3

    def __post_init__(self) -> None:
        if not 8 <= self.face_px[0] <= self.face_px[1]:
            raise ConfigError(f"face_px must be 8 <= low <= high, got {self.face_px}")
        for name, (low, high) in (("erode", self.erode), ("blur", self.blur)):
            if not 0 <= low <= high <= 0.5:
                raise ConfigError(f"{name} must be 0 <= low <= high <= 0.5, got {(low, high)}")

    @property
    def spec(self) -> AlignSpec:
        return AlignSpec(size=self.size, margin=self.margin)


@dataclass(frozen=True)
class SwapDraw:
    """The random choices of one face's swap (drawn by :meth:`draw`, so a seed gives the same swap)."""

    face_px: int
    erode: float
    blur: float

    @classmethod
    def draw(cls, rng: np.random.Generator, config: SwapConfig) -> SwapDraw:
        return cls(face_px=int(rng.integers(config.face_px[0], config.face_px[1] + 1)),
                   erode=float(rng.uniform(*config.erode)), blur=float(rng.uniform(*config.blur)))


def inner_face_polygon(landmarks: np.ndarray) -> np.ndarray:
    """The inner face around five landmarks, ``(n, 2)`` float32 in the landmarks' pixels: from the eyebrows
    (half the eye-to-mouth distance above the eyes) to the chin (0.6 of it below the mouth, as the mouth fakes'
    mask), 0.95 of the eye distance either side of the face's axis below the eyes (the outer eye corners well
    inside, the face's outline outside: a swap keeps the target's head shape), narrowing to the jaw.

    Built from the landmarks and their distances only, so it moves with the face (rotation and scale included):
    the polygon of transformed landmarks is the transformed polygon.
    """
    lm = np.asarray(landmarks, np.float64).reshape(5, 2)
    eyes, mouth = (lm[0] + lm[1]) / 2, (lm[3] + lm[4]) / 2
    height = max(float(np.linalg.norm(mouth - eyes)), 1.0)
    down = (mouth - eyes) / height
    right = np.array([-down[1], down[0]])
    if right @ (lm[1] - lm[0]) < 0:
        right = -right
    width = max(float(np.linalg.norm(lm[1] - lm[0])), 1.0)
    points = [eyes - down * 0.5 * height + right * side * 0.7 * width for side in (-1, 1)]  # brows
    points += [eyes + down * 0.1 * height + right * side * 0.95 * width for side in (-1, 1)]  # cheeks
    points += [mouth + right * side * 0.85 * width for side in (-1, 1)]
    points += [mouth + down * 0.4 * height + right * side * 0.6 * width for side in (-1, 1)]  # jaw
    points += [mouth + down * 0.6 * height]  # chin
    return cv2.convexHull(np.asarray(points, np.float32)).reshape(-1, 2)


def inner_face_mask(landmarks: np.ndarray, size: int, *, erode: float, blur: float) -> np.ndarray:
    """The blending mask of :func:`inner_face_polygon` in a ``size`` x ``size`` crop, float32 in [0, 1].

    Args:
        landmarks: the face's five landmarks in crop pixels.
        size: the crop's side.
        erode: the edge drawn inward by this fraction of the eye distance.
        blur: the edge's Gaussian sigma, as a fraction of the eye-to-mouth distance.
    """
    lm = np.asarray(landmarks, np.float64).reshape(5, 2)
    eye_dist = float(np.linalg.norm(lm[1] - lm[0]))
    eye_mouth = float(np.linalg.norm((lm[3] + lm[4]) / 2 - (lm[0] + lm[1]) / 2))
    mask = np.zeros((size, size), np.uint8)
    # Sub-pixel vertices (shift=2), so the edge stays where the landmarks put it at small crop sizes.
    cv2.fillPoly(mask, [np.round(inner_face_polygon(lm) * 4).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=2)
    radius = round(erode * eye_dist)
    if radius >= 1:
        mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))
    soft = mask.astype(np.float32) / 255.0
    if blur > 0:
        soft = cv2.GaussianBlur(soft, (0, 0), max(blur * eye_mouth, 0.5))
    return np.clip(soft, 0.0, 1.0)


def fit_face_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2 x 3 transform taking five landmarks ``src`` onto ``dst``: the least-squares affine fit, its two scales
    held within :data:`_MAX_STRETCH` of each other; a fit that would mirror the face falls back to the similarity."""
    src = np.asarray(src, np.float64).reshape(-1, 2)
    dst = np.asarray(dst, np.float64).reshape(-1, 2)
    solution, *_ = np.linalg.lstsq(np.hstack([src, np.ones((len(src), 1))]), dst, rcond=None)
    linear = solution[:2].T
    if np.linalg.det(linear) <= 0:
        return similarity_transform(src, dst)
    u, scales, vt = np.linalg.svd(linear)
    mean = float(np.sqrt(scales[0] * scales[1]))
    linear = u @ np.diag(np.clip(scales, mean / np.sqrt(_MAX_STRETCH), mean * np.sqrt(_MAX_STRETCH))) @ vt
    matrix = np.zeros((2, 3))
    matrix[:, :2] = linear
    matrix[:, 2] = dst.mean(0) - linear @ src.mean(0)  # the centroids still meet
    return matrix


def swap_face(image: np.ndarray, landmarks: np.ndarray, donor_crop: np.ndarray, donor_landmarks: np.ndarray, *,
              draw: SwapDraw, config: SwapConfig | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Replace the inner face of one face of ``image`` by a donor's.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        landmarks: the face's five landmarks in ``image`` pixels.
        donor_crop: the donor face's aligned crop (``config.spec``), ``(S, S, 3)`` uint8 RGB.
        donor_landmarks: the donor's five landmarks in ``donor_crop`` pixels.
        draw: bottleneck size and mask edge (:meth:`SwapDraw.draw`).
        config: crop size and margin.

    Returns:
        ``(new_image, mask)``; ``mask`` is float32 in image pixels (1 = pixel fully from the donor).

    Example:
        >>> out, mask = swap_face(photo, lm, donor.crop, donor.landmarks,
        ...                       draw=SwapDraw(face_px=128, erode=0.05, blur=0.1))  # doctest: +SKIP
    """
    config = config or SwapConfig()
    spec = config.spec
    lm = np.asarray(landmarks, np.float64).reshape(5, 2)
    to_crop = alignment_matrix(lm, spec)
    target = align_face(image, lm, spec)
    target_lm = transform_points(lm, to_crop)  # the target's layout in its crop: its pose, not the template's
    warp = fit_face_transform(donor_landmarks, target_lm)
    face = cv2.warpAffine(donor_crop, warp, (spec.size, spec.size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
    small = round(draw.face_px * (1 + 2 * spec.margin))  # face_px is the inner face square; the crop adds the margin
    if small < spec.size:
        face = cv2.resize(cv2.resize(face, (small, small), interpolation=cv2.INTER_AREA), (spec.size, spec.size),
                          interpolation=cv2.INTER_LINEAR)
    mask = inner_face_mask(target_lm, spec.size, erode=draw.erode, blur=draw.blur)
    matched = reinhard_transfer(face.astype(np.float32) / 255.0, target.astype(np.float32) / 255.0, mask)
    return paste_crop(image, matched, mask, to_crop)
