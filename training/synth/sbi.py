"""Self-blended images (Shiohara & Yamasaki, CVPR 2022): fakes made from one real face.

A real aligned crop is blended with a slightly altered copy of itself (colour, frequency and geometry
jitter) through a deformed, blurred mask derived from the landmarks. The result carries the generic
traces of face manipulation (a blending boundary, colour and sharpness mismatch, a small misalignment of
the inner face) without any particular generator's fingerprint, which is why detectors trained on SBI
generalise to unseen face-swap methods. Cheap enough to run on the fly in a data loader.

The paper uses 68 landmarks. MTCNN gives five, so by default the face hull is built from those: eyes, nose and
mouth corners, extended up to the brows/forehead and down to the chin by ratios of the eye-mouth distance.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np


@dataclass(frozen=True)
class SBIConfig:
    """Ranges of the random alterations (defaults follow the SBI paper where it gives numbers).

    Attributes:
        blend_ratios: mask scale choices; the paper samples r from {0.25, 0.5, 0.75, 1, 1, 1}.
        max_shift: largest translation of the source, as a fraction of the crop side (paper: up to 3 %).
        scale_range: resize range of the source before re-centring (paper: 0.95-1.05).
        hull_grow: how far the face hull extends outwards, as a fraction of the eye-mouth distance.
        blur_sigma: Gaussian blur range (px at 224) for the mask edge.
        elastic_strength: mask deformation amplitude (px at 224).
    """

    blend_ratios: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0, 1.0, 1.0)
    max_shift: float = 0.03
    scale_range: tuple[float, float] = (0.95, 1.05)
    hull_grow: tuple[float, float] = (0.4, 0.9)
    blur_sigma: tuple[float, float] = (3.0, 12.0)
    elastic_strength: tuple[float, float] = (0.0, 8.0)


def face_hull(landmarks: np.ndarray, grow: float = 0.6) -> np.ndarray:
    """Polygon around the inner face from 5 landmarks (left eye, right eye, nose, mouth corners)."""
    lm = np.asarray(landmarks, np.float64).reshape(5, 2)
    eyes = (lm[0] + lm[1]) / 2
    mouth = (lm[3] + lm[4]) / 2
    down = mouth - eyes  # eye-to-mouth vector: the face's vertical axis, roll included
    height = float(np.linalg.norm(down)) or 1.0
    unit_down = down / height
    unit_right = np.array([-unit_down[1], unit_down[0]])
    if unit_right @ (lm[1] - lm[0]) < 0:
        unit_right = -unit_right
    half_width = max(float(np.linalg.norm(lm[1] - lm[0])) * 0.5, 1.0) * (1.0 + grow)
    top = eyes - unit_down * height * (0.55 + grow * 0.5)
    bottom = mouth + unit_down * height * (0.35 + grow * 0.5)
    points = []
    # An ellipse-like hull: 16 points between forehead and chin.
    centre = (top + bottom) / 2
    half_height = float(np.linalg.norm(bottom - top)) / 2
    for angle in np.linspace(0, 2 * np.pi, 16, endpoint=False):
        points.append(centre + unit_right * half_width * np.cos(angle) + unit_down * half_height * np.sin(angle))
    points.extend([lm[0], lm[1], lm[3], lm[4]])
    return cv2.convexHull(np.asarray(points, np.float32)).reshape(-1, 2)


def _elastic(mask: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    if strength <= 0:
        return mask
    h, w = mask.shape
    # A smooth random displacement field: white noise blurred to a wavelength of ~1/4 of the crop.
    sigma = max(h, w) / 8
    dx = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), sigma)
    dy = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), sigma)
    dx *= strength / (np.abs(dx).max() + 1e-6)
    dy *= strength / (np.abs(dy).max() + 1e-6)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(mask, xs + dx, ys + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def blend_mask(shape: tuple[int, int], landmarks: np.ndarray, rng: np.random.Generator,
               config: SBIConfig | None = None) -> np.ndarray:
    """Soft blending mask in [0, 1], ``shape`` = (H, W): landmark hull, deformed, blurred, scaled by r."""
    config = config or SBIConfig()
    h, w = shape
    k = max(h, w) / 224.0  # ranges are given at 224 px
    hull = face_hull(landmarks, grow=float(rng.uniform(*config.hull_grow)))
    mask = np.zeros((h, w), np.float32)
    cv2.fillConvexPoly(mask, np.round(hull).astype(np.int32), 1.0, lineType=cv2.LINE_AA)
    mask = _elastic(mask, float(rng.uniform(*config.elastic_strength)) * k, rng)
    # Paper: blur twice with random kernels so the transition width varies around the hull.
    mask = cv2.GaussianBlur(mask, (0, 0), float(rng.uniform(*config.blur_sigma)) * k)
    mask = cv2.GaussianBlur(mask, (0, 0), float(rng.uniform(*config.blur_sigma)) * k * 0.5)
    mask = mask / max(float(mask.max()), 1e-6)
    return np.clip(mask * float(rng.choice(config.blend_ratios)), 0.0, 1.0)


def _colour_jitter(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = img.astype(np.float32)
    out += rng.uniform(-20, 20, size=3).astype(np.float32)  # RGB shift
    hsv = cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(-5, 5)) % 180
    hsv[..., 1] *= rng.uniform(0.85, 1.15)
    hsv[..., 2] *= rng.uniform(0.85, 1.15)
    out = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)
    contrast, brightness = rng.uniform(0.85, 1.15), rng.uniform(-15, 15)
    out = (out - 128.0) * contrast + 128.0 + brightness
    return np.clip(out, 0, 255).astype(np.uint8)


def _frequency_jitter(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    if rng.random() < 0.5:
        f = rng.uniform(0.4, 0.8)  # lose high frequencies: down- and up-sample
        small = cv2.resize(img, (max(8, int(w * f)), max(8, int(h * f))), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    amount = rng.uniform(0.3, 1.0)  # or gain some: unsharp mask
    blurred = cv2.GaussianBlur(img, (0, 0), 1.5)
    return np.clip(img.astype(np.float32) * (1 + amount) - blurred.astype(np.float32) * amount, 0, 255).astype(np.uint8)


def _geometry_jitter(img: np.ndarray, rng: np.random.Generator, config: SBIConfig) -> np.ndarray:
    h, w = img.shape[:2]
    s = rng.uniform(*config.scale_range)
    tx, ty = rng.uniform(-config.max_shift, config.max_shift, 2) * np.array([w, h])
    m = np.array([[s, 0, (1 - s) * w / 2 + tx], [0, s, (1 - s) * h / 2 + ty]], np.float64)
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def self_blend(crop: np.ndarray, landmarks: np.ndarray, rng: np.random.Generator | int | None = None,
               config: SBIConfig | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Make one self-blended fake from a real aligned crop.

    Args:
        crop: ``(H, W, 3)`` uint8 RGB aligned face.
        landmarks: its 5 landmarks in crop pixels.
        rng: a numpy Generator or seed.
        config: ranges of the random alterations.

    Returns:
        ``(fake, mask)``: the blended uint8 image and the float32 mask used (0 = original pixels).
    """
    config = config or SBIConfig()
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    source, target = crop.copy(), crop.copy()
    # The paper alters either the source or the target, at random; geometry always moves the source.
    altered = _frequency_jitter(_colour_jitter(crop, rng), rng) if rng.random() < 0.5 else None
    if altered is not None:
        source = altered
    else:
        target = _frequency_jitter(_colour_jitter(crop, rng), rng)
    source = _geometry_jitter(source, rng, config)
    mask = blend_mask(crop.shape[:2], landmarks, rng, config)
    m = mask[..., None]
    fake = source.astype(np.float32) * m + target.astype(np.float32) * (1 - m)
    return np.clip(fake + 0.5, 0, 255).astype(np.uint8), mask


# -- CLI: make SBI fakes from images or videos -------------------------------------------------------


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepfake synth sbi", description="Write self-blended fakes (aligned "
                                     "crops) made from the faces in real images or videos.")
    parser.add_argument("paths", nargs="+", help="real images or videos")
    parser.add_argument("--out", type=Path, required=True, help="folder for fake_*.png (and real_*.png)")
    parser.add_argument("--per-face", type=int, default=1, help="fakes per detected face")
    parser.add_argument("--frames", type=int, default=8, help="frames sampled per video")
    parser.add_argument("--size", type=int, default=224, help="crop size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--with-real", action="store_true", help="also write the real crops")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from detector.errors import DetectorError
    from detector.faces.align import AlignSpec, alignment_matrix, transform_points
    from detector.faces.extract import FaceConfig, FaceExtractor
    from detector.recipe import SamplingSpec

    args = get_args_parser().parse_args(argv)
    spec = AlignSpec(size=args.size)
    extractor = FaceExtractor(FaceConfig(align=spec))
    rng = np.random.default_rng(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    written = failed = 0
    for path in args.paths:
        try:
            result = extractor.extract(path, sampling=SamplingSpec(frames=args.frames))
        except DetectorError as exc:
            print(f"{path}: {exc.code}: {exc.message}")
            failed += 1
            continue
        stem = Path(path).stem
        for face in result.faces:
            lm = transform_points(np.asarray(face.landmarks), alignment_matrix(np.asarray(face.landmarks), spec))
            name = f"{stem}_s{face.sample:04d}_t{face.track_id}"
            if args.with_real:
                cv2.imwrite(str(args.out / f"real_{name}.png"), cv2.cvtColor(face.crop, cv2.COLOR_RGB2BGR))
            for k in range(args.per_face):
                fake, _ = self_blend(face.crop, lm, rng)
                cv2.imwrite(str(args.out / f"fake_{name}_{k}.png"), cv2.cvtColor(fake, cv2.COLOR_RGB2BGR))
                written += 1
    print(f"wrote {written} self-blended fakes to {args.out}" + (f"; {failed} inputs failed" if failed else ""))
    return 3 if failed else 0
