"""The scan recipe: how a model's evidence is gathered and judged, defined once.

A model is trained on crops made one way and calibrated on videos judged one way; scanning with other
settings quietly changes what its probabilities mean. So the whole recipe - frame sampling, face detection,
the crop, classification, aggregation and the verdict rules with the threshold - is one object,
:class:`ScanRecipe`, that travels in the model card (``ModelCard.scan``). Every caller (``Detector``,
``deepfake scan``/``eval``/``audit``/``serve``, the training crop cache) starts from the loaded card and states
only what it overrides, with one override type, :class:`ScanConfig`. The defaults below are the only place these
numbers are written; cards made before a section was recorded get them.

Example:
    >>> recipe = ScanRecipe.from_dict({"sampling": {"frames": 16}})
    >>> recipe.sampling.frames, recipe.detection.min_score, recipe.verdict.min_face_px, recipe.verdict.threshold
    (16, 0.9, 40.0, 0.5)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

from .aggregate import PERSON_COMBINERS
from .config import reject_unknown_keys
from .errors import ConfigError
from .faces.align import ALIGNMENT_VERSION, AlignSpec


@dataclass(frozen=True)
class SamplingSpec:
    """Which frames of a video are looked at (:mod:`detector.media.sampling` turns it into target times).

    Attributes:
        frames: frames spread evenly over the duration. 32 is what the DFDC winners scored per video
            (Seferbekov 2020: 32 frames), and what 1080p decoding plus detection affords on 2 cores within
            1.5x decode time (``benchmarks/scan.py``).
        fps: a fixed sampling rate instead of ``frames`` (long videos, timelines); ``None``: use ``frames``.
        seek_above_s: videos at least this long are read by keyframe seeking, shorter ones by decoding
            everything (seeking is slower on short clips and faster on long ones: ``benchmarks/media.py``).
        reference_frames_only: when samples lie at least ``sparse_step_frames`` frame intervals apart, skip
            decoding non-reference frames (:mod:`detector.media.reference_skip`); a sample may then move by one
            frame. False decodes every frame.
        sparse_step_frames: the spacing, in frame intervals, from which samples count as sparse. 4 keeps a
            sample's one-frame shift a quarter of the spacing or less, so samples stay distinct.
    """

    frames: int = 32
    fps: float | None = None
    seek_above_s: float = 30.0
    reference_frames_only: bool = True
    sparse_step_frames: float = 4.0

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
        threshold: calibrated probability at and above which a face, a person or a file is called fake.
        uncertain_band: half-width of the ``uncertain`` band around the threshold.
        min_face_px: faces with a shorter box side are not evidence (a 40 px face upscaled 4-5x to the
            classifier's input carries little of what it looks for).
        min_faces: usable faces a video needs for a verdict.
        min_sharpness: faces below this Laplacian variance (at crop size) count as low quality.
        min_frontalness: faces below this are in profile and count as low quality.
        max_novelty: a ``fake`` verdict becomes ``uncertain`` (``unfamiliar_face``) when the median ``novelty`` of
            the deciding person's usable faces is above this: the model's output of how far a face's features lie
            from what it was trained and calibrated on (larger: less familiar). ``None``: never abstain (every
            card without it). Needs a model with a ``novelty`` output (checked at load). It never touches a
            ``real`` verdict: abstaining on reals would only lower the reals called real.
        combine_persons: how the counted persons' probabilities make the file's (:func:`detector.aggregate.file_score`):
            ``max``, the most suspicious person's (every card without it), or ``mean_odds``, the probability that one
            of them is manipulated (their odds averaged), so that each added real face is not another chance of a
            false alarm. The same for one person.
    """

    threshold: float = 0.5
    uncertain_band: float = 0.1
    min_face_px: float = 40.0
    min_faces: int = 3
    min_sharpness: float = 5.0
    min_frontalness: float = 0.2
    max_novelty: float | None = None
    combine_persons: str = "max"

    def __post_init__(self) -> None:
        if self.combine_persons not in PERSON_COMBINERS:
            raise ConfigError(f"combine_persons must be one of {list(PERSON_COMBINERS)}, got {self.combine_persons!r}")
        if not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"threshold must be within [0, 1], got {self.threshold}")
        if not 0.0 <= self.uncertain_band < 0.5:
            raise ConfigError(f"uncertain_band must be within [0, 0.5), got {self.uncertain_band}")
        if self.min_faces < 1:
            raise ConfigError(f"min_faces must be >= 1, got {self.min_faces}")
        if self.max_novelty is not None and (isinstance(self.max_novelty, bool) or not isinstance(
                self.max_novelty, int | float) or not (math.isfinite(self.max_novelty) and self.max_novelty > 0)):
            raise ConfigError(f"max_novelty must be a finite number > 0 (or null: never abstain), got "
                              f"{self.max_novelty!r}")


@dataclass(frozen=True)
class ClassifySpec:
    """How the classifier looks at a face.

    Attributes:
        mirror_images: in still images, a face's logit is the mean of the crop's and its mirror image's (test-time
            flip; horizontal mirroring is in the training augmentation, so both views are in-distribution). On
            held-out sources it raised the image AUC of every model it was tried on and did nothing consistent for
            videos, where it would double the classifier's share of the scan, so videos are not mirrored
            (``training/EXPERIMENTS.md``). Off in cards written before it was recorded, as they were scanned.
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
    """The whole scan recipe of a model: sampling, detection, the crop, classification, aggregation, verdict."""

    sampling: SamplingSpec = field(default_factory=SamplingSpec)
    detection: DetectionSpec = field(default_factory=DetectionSpec)
    verdict: VerdictRules = field(default_factory=VerdictRules)
    classify: ClassifySpec = field(default_factory=ClassifySpec)
    align: AlignSpec = field(default_factory=AlignSpec)
    aggregation: AggregationSpec = field(default_factory=AggregationSpec)

    @property
    def threshold(self) -> float:
        return self.verdict.threshold

    def mirror(self, media: str) -> bool:
        """Whether the faces of ``media`` (``"image"`` or ``"video"``) are classified with their mirror image."""
        return self.classify.mirror_images and media == "image"

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: asdict(getattr(self, f.name)) for f in fields(self) if f.name not in ("align", "aggregation")}
        # The crop records its version (alignment code, size, margin): a card made for other crops is refused.
        d["align"] = self.align.to_dict()
        d["aggregation"] = self.aggregation.to_dict()
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ScanRecipe:
        """Missing sections and keys take the defaults above; unknown keys are refused (a typo must not scan
        with a default)."""
        data = dict(data or {})
        reject_unknown_keys(cls, data, what="scan recipe")
        parts: dict[str, Any] = {}
        for f in fields(cls):
            section = data.get(f.name) or {}
            if not isinstance(section, Mapping):
                raise ConfigError(f"scan recipe section {f.name!r} must be an object, got {section!r}")
            parts[f.name] = _SECTION_READERS[f.name](section)
        return cls(**parts)


def _read_spec(spec_type: type, name: str) -> Any:
    def read(section: Mapping[str, Any]) -> Any:
        reject_unknown_keys(spec_type, section, what=f"scan recipe {name}")
        return spec_type(**section)

    return read


def _read_align(section: Mapping[str, Any]) -> AlignSpec:
    """The crop section: ``size`` and ``margin``, with the ``version`` and ``template`` they were recorded with."""
    fields_ = {k: v for k, v in section.items() if k not in ("version", "template")}
    reject_unknown_keys(AlignSpec, fields_, what="scan recipe align")
    spec = AlignSpec(**fields_)
    if section.get("version") not in (None, spec.version):
        raise ConfigError(f"the model was trained on crops {section.get('version')}, but this library makes "
                          f"{spec.version} (alignment v{ALIGNMENT_VERSION}); retrain or use a matching version")
    return spec


_SECTION_READERS = {"sampling": _read_spec(SamplingSpec, "sampling"), "detection": _read_spec(DetectionSpec, "detection"),
                    "verdict": _read_spec(VerdictRules, "verdict"), "classify": _read_spec(ClassifySpec, "classify"),
                    "align": _read_align, "aggregation": AggregationSpec.from_dict}


@dataclass(frozen=True)
class ScanConfig:
    """Overrides of a model card's scan recipe; ``None`` keeps the card's value. The one override type: ``deepfake
    scan``, the audit, the HTTP service and the training crop cache all state their changes with it, and it is
    checked here, once.

    Attributes:
        frames: frames sampled evenly per video.
        fps: sample at a fixed rate instead (wins over ``frames``).
        threshold: decision threshold on the calibrated probability.
        uncertain_band, min_face_px, min_faces, min_sharpness, min_frontalness: the verdict rules
            (:class:`VerdictRules`).
        max_novelty: abstain above this novelty instead of the card's (:class:`VerdictRules`), or ``"off"``: never
            abstain, whatever the card says.
        combine_persons: how persons' probabilities make the file's instead of the card's (:class:`VerdictRules`).
    """

    frames: int | None = None
    fps: float | None = None
    threshold: float | None = None
    uncertain_band: float | None = None
    min_face_px: float | None = None
    min_faces: int | None = None
    min_sharpness: float | None = None
    min_frontalness: float | None = None
    max_novelty: float | Literal["off"] | None = None
    combine_persons: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.max_novelty, str) and self.max_novelty != NEVER_ABSTAIN:
            raise ConfigError(f"max_novelty must be a number > 0 or {NEVER_ABSTAIN!r}, got {self.max_novelty!r}")
        # Build what these overrides would make, so a bad value fails where it is given, not at the first scan.
        self.apply(ScanRecipe())

    def apply(self, recipe: ScanRecipe) -> ScanRecipe:
        """``recipe`` with these overrides. Naming ``frames`` or ``fps`` replaces the card's frame choice."""
        sampling = recipe.sampling
        if self.fps is not None:
            sampling = replace(sampling, frames=self.frames or sampling.frames, fps=self.fps)
        elif self.frames is not None:
            sampling = replace(sampling, frames=self.frames, fps=None)
        rules = {name: getattr(self, name) for name in _VERDICT_OVERRIDES if getattr(self, name) is not None}
        if rules.get("max_novelty") == NEVER_ABSTAIN:
            rules["max_novelty"] = None  # the rules' own spelling of "never abstain"
        return replace(recipe, sampling=sampling, verdict=replace(recipe.verdict, **rules))

    def overrides(self) -> dict[str, Any]:
        """The fields that are set (what a ledger or a log records)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


NEVER_ABSTAIN = "off"  # ScanConfig.max_novelty: drop the card's abstention (None already means "keep the card's")
_VERDICT_OVERRIDES = {f.name for f in fields(ScanConfig)} - {"frames", "fps"}
