"""Face-detector evasion: how much random noise makes the face stage (MTCNN) miss the face.

A scan classifies only faces its face stage finds; a file in which none is found gets the ``no_face`` verdict
and is never classified. So missing the face is itself an evasion route: a fake whose face the detector no
longer finds is never called fake, whatever the classifier would have said. This module measures how much
noise that takes, on the product's own path: the frames a scan samples (``Detector.sample``), noise added to
those frames at full resolution (as on an upload), then the scan's face stage
(``FaceExtractor.extract_frames``: downscaling to the recipe's detection size, MTCNN with its thresholds,
tracking-guided refinement between key frames, short tracks dropped). An item counts as evaded when no sampled
frame keeps a face, exactly when the scan would say ``no_face``. Strong noise can also make up a face (MTCNN
finds small faces in pure noise now and then), so each setting also counts the items in which none of the clean
faces is found any more (no noisy box overlapping a clean one, IoU >= 0.5, in the same frame): their face is
never classified either, though the scan then judges the made-up faces (small ones give ``uncertain``).

Two kinds of noise, both on RGB, independent per pixel and channel, levels on the 0..255 scale:

- ``sign``: every value moved by exactly ``+eps`` or ``-eps`` (random sign), then clipped to 0..255; the
  L-inf worst case for random noise of budget ``eps`` (``eps`` is taken in whole levels, rounded down,
  since frames are uint8, so ``|noisy - clean| <= eps`` holds exactly);
- ``gaussian``: white Gaussian noise of standard deviation ``sigma``, rounded and clipped.

Each frame's noise pattern is drawn from ``(seed, item, frame, kind)`` and scaled by the level, so the levels
of one kind share their pattern (a curve over levels, not independent draws) and a run is deterministic given
its seed. Only items whose clean frames show a face are tried. Per setting: items whose face is lost (with a
95 % Wilson interval), split by label (fakes going unclassified is the attacker's aim), the per-frame
detection rate, and the PSNR of the noisy frames for scale; per kind, the smallest level that hides the face
in at least half of the items.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from detector.api import Detector
from detector.errors import attempt
from detector.media import Frame

from ..data.items import MediaItem

NoiseKind = Literal["sign", "gaussian"]
NOISE_KINDS: tuple[NoiseKind, ...] = ("sign", "gaussian")
# Levels on the 0..255 scale, up to where the face goes: on 12 eval items nothing up to 64 hid a single face
# (the face stage shrinks frames to its detection size, which averages noise away); sign noise hid half of
# them between 160 and 192, Gaussian noise a quarter at 192 and no more at 255.
DEFAULT_EPS: tuple[float, ...] = (4, 16, 64, 96, 128, 160, 192, 224)  # sign noise, L-inf budget
DEFAULT_SIGMA: tuple[float, ...] = (16, 64, 96, 128, 192, 255)  # Gaussian noise, standard deviation
HIDE_RATE = 0.5  # "noise needed to hide the face": the smallest level losing the face in this share of items
Z95 = 1.959963984540054  # two-sided 95 % normal quantile
LABELS = {0: "real", 1: "fake"}
SAME_FACE_IOU = 0.5  # a noisy detection is the clean face when their boxes overlap this much (the usual match)


@dataclass(frozen=True)
class Noise:
    """One noise setting: a kind and its level on the 0..255 scale (``eps`` for sign, ``sigma`` for Gaussian)."""

    kind: NoiseKind
    level: float

    def __post_init__(self) -> None:
        if self.kind not in NOISE_KINDS:
            raise ValueError(f"unknown noise kind {self.kind!r} (choose from {NOISE_KINDS})")
        if not (self.level >= 0 and math.isfinite(self.level)):
            raise ValueError(f"noise level must be a finite number >= 0, got {self.level}")

    @property
    def name(self) -> str:
        return f"{self.kind}-{self.level:g}"

    def apply(self, image: np.ndarray, seed: int | Sequence[int] = 0) -> np.ndarray:
        """``image`` (uint8, any shape) with this noise; the same ``seed`` gives the same noise."""
        image = np.asarray(image, np.uint8)
        entropy = [int(s) for s in np.atleast_1d(seed)]
        rng = np.random.default_rng([*entropy, NOISE_KINDS.index(self.kind)])
        if self.kind == "sign":
            step = math.floor(self.level)
            signs = rng.integers(0, 2, size=image.shape, dtype=np.int16) * 2 - 1
            noisy = image.astype(np.int16) + signs * np.int16(step)
        else:
            noisy = np.rint(image.astype(np.float32) + rng.standard_normal(image.shape, np.float32) * self.level)
        return np.clip(noisy, 0, 255).astype(np.uint8)


def noise_settings(eps: Iterable[float] = DEFAULT_EPS, sigmas: Iterable[float] = DEFAULT_SIGMA) -> tuple[Noise, ...]:
    """The sign settings at ``eps``, then the Gaussian ones at ``sigmas``, each in ascending order."""
    return (*(Noise("sign", float(e)) for e in sorted(eps)), *(Noise("gaussian", float(s)) for s in sorted(sigmas)))


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (95 % by default); ``(0, 1)`` when ``n`` is 0."""
    if not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At 0 (or n) successes that bound is exactly 0 (or 1); computed, it can land a rounding error off.
    return (0.0 if successes == 0 else max(0.0, centre - half)), (1.0 if successes == n else min(1.0, centre + half))


def psnr(clean: np.ndarray, noisy: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB (255 peak); ``inf`` for identical images."""
    mse = float(np.mean((clean.astype(np.float64) - noisy.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def face_boxes(detector: Detector, frames: Sequence[Frame]) -> dict[int, np.ndarray]:
    """The boxes (``(k, 4)``, original pixels) the scan's face stage keeps in each of ``frames``, by frame ordinal;
    frames without a face are absent. Short tracks are dropped, as a scan does: an empty result means the scan's
    verdict would be ``no_face``."""
    boxes: dict[int, list[tuple[float, ...]]] = {}
    for face in detector.faces.extract_frames(list(frames)):
        boxes.setdefault(face.sample, []).append(face.box)
    return {sample: np.array(b, np.float64).reshape(-1, 4) for sample, b in sorted(boxes.items())}


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box of ``a`` (``(n, 4)``) with every box of ``b`` (``(m, 4)``)."""
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    w = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    h = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = w * h
    area_a, area_b = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]), (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def frames_keeping(clean: Mapping[int, np.ndarray], noisy: Mapping[int, np.ndarray], *,
                   min_iou: float = SAME_FACE_IOU) -> int:
    """Frames in which a noisy detection is one of the clean faces (IoU >= ``min_iou`` with a clean box of the
    same frame): the original face still found, not a face the noise made up."""
    return sum(1 for s, boxes in noisy.items() if s in clean and (iou(clean[s], boxes) >= min_iou).any())


@dataclass(frozen=True)
class Trial:
    """One item under one noise setting: frames that kept a face, frames that kept one of the clean faces (not
    one the noise made up), and the mean PSNR of its noisy frames."""

    frames_with_face: int
    frames_with_original: int
    psnr_db: float

    @property
    def lost(self) -> bool:
        """No sampled frame kept a face: the scan would say ``no_face`` (the evasion counted)."""
        return self.frames_with_face == 0

    @property
    def missed(self) -> bool:
        """No sampled frame kept one of the clean faces: whatever the scan then says rests on faces the noise made
        up (or on none). Implied by :attr:`lost`."""
        return self.frames_with_original == 0


@dataclass(frozen=True)
class ItemResult:
    """One item: its clean detection and, when that found a face, one :class:`Trial` per setting (by name)."""

    path: str
    label: int
    media: str
    n_frames: int = 0
    clean_frames_with_face: int = 0
    trials: Mapping[str, Trial] = field(default_factory=dict)
    error: str | None = None

    @property
    def has_face(self) -> bool:
        return self.error is None and self.clean_frames_with_face > 0

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "label": self.label, "media": self.media, "n_frames": self.n_frames,
                "clean_frames_with_face": self.clean_frames_with_face, "error": self.error,
                "frames_with_face": {name: t.frames_with_face for name, t in self.trials.items()},
                "frames_with_original": {name: t.frames_with_original for name, t in self.trials.items()},
                "lost": [name for name, t in self.trials.items() if t.lost],
                "original_missed": [name for name, t in self.trials.items() if t.missed]}


def probe_item(detector: Detector, item: MediaItem, settings: Sequence[Noise], *, seed: int = 0,
               index: int = 0) -> ItemResult:
    """The face stage on ``item``'s sampled frames, clean and under each setting (tried only when the clean
    frames show a face). ``index`` (the item's place in the run) enters the noise seed. A file that cannot be
    decoded is an ``error`` result."""
    path = str(item.path)

    def run() -> ItemResult:
        _, frames = detector.sample(path, detector.sampling, limits=detector.limits)
        clean = face_boxes(detector, frames)
        trials: dict[str, Trial] = {}
        if clean:
            for noise in settings:
                noisy = [replace(f, image=noise.apply(f.image, (seed, index, i))) for i, f in enumerate(frames)]
                db = [psnr(f.image, g.image) for f, g in zip(frames, noisy)]
                found = face_boxes(detector, noisy)
                trials[noise.name] = Trial(len(found), frames_keeping(clean, found), float(np.mean(db)))
        return ItemResult(path, item.label, item.media, len(frames), len(clean), trials)

    # One bad item is an error row, never the end of the run.
    tried = attempt(path, run)
    return tried.value if tried.ok else ItemResult(path, item.label, item.media, error=tried.error["code"])


@dataclass(frozen=True)
class Count:
    """Items with a face when clean (``n``), how many lost it (``lost``: ``no_face``, the evasion rate and its 95 %
    Wilson interval) and how many lost the original face at least (``missed``: ``lost`` plus those left with
    made-up faces only)."""

    n: int
    lost: int
    missed: int = 0

    @property
    def rate(self) -> float | None:
        return self.lost / self.n if self.n else None

    @property
    def ci95(self) -> tuple[float, float] | None:
        return wilson_interval(self.lost, self.n) if self.n else None

    def to_dict(self) -> dict[str, Any]:
        ci = self.ci95
        return {"n": self.n, "lost": self.lost, "evasion_rate": self.rate,
                "evasion_95ci": None if ci is None else list(ci), "original_missed": self.missed,
                "original_missed_rate": self.missed / self.n if self.n else None}


@dataclass(frozen=True)
class SettingResult:
    """One row: a noise setting over the items that had a face when clean.

    Attributes:
        noise: the setting.
        items: all such items; ``lost`` of them would be ``no_face`` under this noise (evasions).
        by_label: the same, per label (``"fake"``, ``"real"``).
        frame_detection_rate: share of their sampled frames that kept a face (pooled over frames).
        frame_original_rate: share that kept one of the clean faces.
        psnr_db: mean PSNR of the noisy frames against the clean ones (``None`` when the noise is nil).
    """

    noise: Noise
    items: Count
    by_label: Mapping[str, Count]
    frame_detection_rate: float | None
    frame_original_rate: float | None
    psnr_db: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"setting": self.noise.name, "kind": self.noise.kind, "level": self.noise.level,
                **self.items.to_dict(), "frame_detection_rate": self.frame_detection_rate,
                "frame_original_rate": self.frame_original_rate, "psnr_db": self.psnr_db,
                "by_label": {k: v.to_dict() for k, v in self.by_label.items()}}


@dataclass(frozen=True)
class FaceEvasionReport:
    """The whole run: per-item results, one :class:`SettingResult` per setting, and per kind the smallest level
    that hides the face (``noise_to_hide[kind][group]``, group ``all``/``fake``/``real``; ``None``: no tested
    level reached :data:`HIDE_RATE`)."""

    items: tuple[ItemResult, ...]
    settings: tuple[SettingResult, ...]
    noise_to_hide: Mapping[str, Mapping[str, float | None]]

    @property
    def with_face(self) -> tuple[ItemResult, ...]:
        return tuple(r for r in self.items if r.has_face)

    @property
    def clean_frame_detection_rate(self) -> float | None:
        kept = self.with_face
        frames = sum(r.n_frames for r in kept)
        return sum(r.clean_frames_with_face for r in kept) / frames if frames else None

    def to_dict(self) -> dict[str, Any]:
        kept = self.with_face
        return {
            "n_items": len(self.items),
            "n_errors": sum(r.error is not None for r in self.items),
            "n_no_face_clean": sum(r.error is None and not r.has_face for r in self.items),
            "n_with_face": len(kept),
            "n_with_face_by_label": {name: sum(r.label == lab for r in kept) for lab, name in LABELS.items()},
            "clean_frame_detection_rate": self.clean_frame_detection_rate,
            "hide_rate": HIDE_RATE,
            "noise_to_hide": {k: dict(v) for k, v in self.noise_to_hide.items()},
            "settings": [s.to_dict() for s in self.settings],
            "per_item": [r.to_dict() for r in self.items],
        }


def summarize(results: Sequence[ItemResult], settings: Sequence[Noise]) -> FaceEvasionReport:
    """Rows per setting over the items with a face when clean, and the noise needed to hide the face."""
    kept = [r for r in results if r.has_face]
    rows = []
    for noise in settings:
        trials = [(r, r.trials[noise.name]) for r in kept]
        by_label = {name: _count([t for r, t in trials if r.label == lab]) for lab, name in LABELS.items()}
        frames = sum(r.n_frames for r, _ in trials)
        rate = sum(t.frames_with_face for _, t in trials) / frames if frames else None
        original = sum(t.frames_with_original for _, t in trials) / frames if frames else None
        finite = [(t.psnr_db, r.n_frames) for r, t in trials if math.isfinite(t.psnr_db)]
        db = sum(d * n for d, n in finite) / sum(n for _, n in finite) if finite else None
        rows.append(SettingResult(noise, _count([t for _, t in trials]), by_label, rate, original, db))
    hide = {kind: {group: smallest_hiding_level(rows, kind, group) for group in ("all", *LABELS.values())}
            for kind in NOISE_KINDS if any(s.kind == kind for s in settings)}
    return FaceEvasionReport(tuple(results), tuple(rows), hide)


def _count(trials: Sequence[Trial]) -> Count:
    return Count(len(trials), sum(t.lost for t in trials), sum(t.missed for t in trials))


def smallest_hiding_level(rows: Sequence[SettingResult], kind: str, group: str = "all",
                          rate: float = HIDE_RATE) -> float | None:
    """The smallest tested level of ``kind`` at which at least ``rate`` of the items (``group``: ``all`` or a
    label name) lose their face; ``None`` when none does (or there are no such items)."""
    levels = []
    for row in rows:
        count = row.items if group == "all" else row.by_label[group]
        if row.noise.kind == kind and count.rate is not None and count.rate >= rate:
            levels.append(row.noise.level)
    return min(levels, default=None)


def run(detector: Detector, items: Sequence[MediaItem], settings: Sequence[Noise], *, seed: int = 0,
        progress: Callable[[int, int], None] | None = None) -> FaceEvasionReport:
    """Probe every item (:func:`probe_item`, seeded by ``seed`` and its index) and summarize."""
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    results = []
    for i, item in enumerate(items):
        results.append(probe_item(detector, item, settings, seed=seed, index=i))
        if progress is not None:
            progress(i + 1, len(items))
    return summarize(results, settings)
