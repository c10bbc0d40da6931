"""The scan recipe: how a model's evidence is gathered and judged, defined once.

A model is trained on crops made one way and calibrated on videos judged one way; scanning with other
settings quietly changes what its probabilities mean. So the recipe travels in the model card
(``ModelCard.scan``, beside ``align``, ``aggregation`` and ``threshold``), and every caller - ``Detector``,
``deepfake scan``/``eval``/``audit``/``serve``, the training crop cache - starts from the loaded card and
states only what it overrides. The defaults below are the only place these numbers are written; cards
made before the recipe was recorded get them.

Example:
    >>> recipe = ScanRecipe.from_dict({"sampling": {"frames": 16}})
    >>> recipe.sampling.frames, recipe.detection.min_score, recipe.verdict.min_face_px
    (16, 0.9, 40.0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .config import reject_unknown_keys
from .errors import ConfigError


@dataclass(frozen=True)
class SamplingSpec:
    """Which frames of a video are looked at.

    Attributes:
        frames: frames spread evenly over the duration. 32 is what the DFDC winners scored per video
            (Seferbekov 2020: 32 frames), and what 1080p decoding plus detection affords on 2 cores within
            1.5x decode time (``benchmarks/scan.py``).
        fps: a fixed sampling rate instead of ``frames`` (long videos, timelines); ``None``: use ``frames``.
    """

    frames: int = 32
    fps: float | None = None

    def __post_init__(self) -> None:
        if self.frames < 1:
            raise ConfigError(f"frames must be >= 1, got {self.frames}")
        if self.fps is not None and not (self.fps > 0 and math.isfinite(self.fps)):
            raise ConfigError(f"fps must be a positive number, got {self.fps}")


@dataclass(frozen=True)
class DetectionSpec:
    """How faces are found and tracked (MTCNN and the tracker).

    Attributes:
        detect_long_side: frames are shrunk to this long side for detection (0: full resolution). MTCNN's cost
            grows with pixels; at 640 px a 60 px face of a 1080p frame is 20 px, MTCNN's smallest.
        min_face_size: smallest face searched for, in pixels of the detection image (MTCNN's default).
        min_score: faces below this detector probability are dropped (MTCNN's own last cut is 0.7; 0.9 keeps
            textures such as headphones out).
        redetect_every: in videos, the full detector runs on every n-th sampled frame and tracking-guided
            refinement in between (~20x cheaper per frame).
        min_track_faces: tracks with fewer faces are detector noise (never applied to media with fewer sampled
            frames than this, so a still image keeps its faces).
    """

    detect_long_side: int = 640
    min_face_size: float = 20.0
    min_score: float = 0.9
    redetect_every: int = 8
    min_track_faces: int = 2

    def __post_init__(self) -> None:
        if self.detect_long_side and self.detect_long_side < 64:
            raise ConfigError(f"detect_long_side must be 0 or >= 64, got {self.detect_long_side}")
        if self.redetect_every < 1:
            raise ConfigError(f"redetect_every must be >= 1, got {self.redetect_every}")
        if self.min_track_faces < 1:
            raise ConfigError(f"min_track_faces must be >= 1, got {self.min_track_faces}")


@dataclass(frozen=True)
class VerdictRules:
    """When a probability becomes a verdict (see :func:`detector.judge.judge` for the order of the rules).

    Attributes:
        uncertain_band: half-width of the ``uncertain`` band around the threshold.
        min_face_px: faces with a shorter box side are not evidence (a 40 px face upscaled 4-5x to the
            classifier's input carries little of what it looks for).
        min_faces: usable faces a video needs for a verdict.
        min_sharpness: faces below this Laplacian variance (at crop size) count as low quality.
        min_frontalness: faces below this are in profile and count as low quality.
    """

    uncertain_band: float = 0.1
    min_face_px: float = 40.0
    min_faces: int = 3
    min_sharpness: float = 5.0
    min_frontalness: float = 0.2

    def __post_init__(self) -> None:
        if not 0.0 <= self.uncertain_band < 0.5:
            raise ConfigError(f"uncertain_band must be within [0, 0.5), got {self.uncertain_band}")
        if self.min_faces < 1:
            raise ConfigError(f"min_faces must be >= 1, got {self.min_faces}")


@dataclass(frozen=True)
class ClassifySpec:
    """How the classifier looks at a face.

    Attributes:
        mirror_images: in still images, a face's logit is the mean of the crop's and its mirror image's (test-time
            flip; horizontal mirroring is in the training augmentation, so both views are in-distribution). On
            held-out sources it raised the image AUC of all five models it was tried on (+0.005 to +0.012; SD 2.1
            +0.009 to +0.017; ``detector/models/README.md``) and did nothing consistent for videos, where it would
            double the classifier's share of the 1080p scan (``benchmarks/scan.py``), so videos are not
            mirrored. Off in cards written before it was recorded (2026-12-03), as they were scanned.
    """

    mirror_images: bool = False


@dataclass(frozen=True)
class AggregationSpec:
    """How face probabilities become a person's (track's) score; see :mod:`detector.aggregate`.

    Stored flat in the card's ``aggregation`` (``{"strategy": "topk", "k": 5}``), as cards always were.
    """

    strategy: str = "mean"
    params: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AggregationSpec:
        params = dict(data)
        return cls(strategy=str(params.pop("strategy", cls.strategy)), params=params)

    def to_dict(self) -> dict[str, Any]:
        return {"strategy": self.strategy, **self.params}

    def track_score(self, probabilities: Any) -> float:
        from .aggregate import track_score

        return track_score(probabilities, self.strategy, **self.params)


@dataclass(frozen=True)
class ScanRecipe:
    """Sampling, detection, classification and verdict rules: the part of the card's recipe that is not the crop
    (``align``), the aggregation or the threshold."""

    sampling: SamplingSpec = field(default_factory=SamplingSpec)
    detection: DetectionSpec = field(default_factory=DetectionSpec)
    verdict: VerdictRules = field(default_factory=VerdictRules)
    classify: ClassifySpec = field(default_factory=ClassifySpec)

    def mirror(self, media: str) -> bool:
        """Whether the faces of ``media`` (``"image"`` or ``"video"``) are classified with their mirror image."""
        return self.classify.mirror_images and media == "image"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ScanRecipe:
        """Missing sections and keys take the defaults above; unknown keys are refused (a typo must not scan
        with a default)."""
        data = dict(data or {})
        reject_unknown_keys(cls, data, what="scan recipe")
        parts: dict[str, Any] = {}
        for f in fields(cls):
            spec_type = _SECTIONS[f.name]
            section = data.get(f.name) or {}
            if not isinstance(section, Mapping):
                raise ConfigError(f"scan recipe section {f.name!r} must be an object, got {section!r}")
            reject_unknown_keys(spec_type, section, what=f"scan recipe {f.name}")
            parts[f.name] = spec_type(**section)
        return cls(**parts)


_SECTIONS: dict[str, type] = {"sampling": SamplingSpec, "detection": DetectionSpec, "verdict": VerdictRules,
                              "classify": ClassifySpec}
