"""Scan results: frozen, always the same types, JSON-safe through ``to_dict()``.

``MediaResult.to_dict()`` is the output contract of ``deepfake scan --json`` (one object per input) and
matches ``detector/schemas/media_result.schema.json``. No face gives ``tracks == ()`` and verdict
``no_face``; a failed input gives verdict ``error`` with ``error = {code, message}``; neither carries a
made-up probability (``fake_probability`` is ``None`` only for those two).

The kind of fake (``kind``, ``kind_probability``: :mod:`detector.kinds`) is named per person and per file by a model
with a kind head (``ModelCard.kinds``); it is ``None`` for models without one, and a file's only for the verdicts
``fake`` and ``uncertain``. ``kind_probability`` is P(kind | fake): how sure the head is of the kind *if* the face
is fake, not that it is.

``provenance`` (:mod:`detector.provenance`) is what the file itself declares (C2PA, IPTC, generator parameters), read
from its bytes before the pixels; ``None`` when no file was read (decoded frames, a path that failed first). A
declaration of AI makes the verdict ``fake`` whatever the pixels say (reasons :data:`DECLARED_REASONS`); then ``kind``
may be named without a ``kind_probability`` (the declaration named it, not the model), and a file without a face has
no ``fake_probability``. A broken manifest adds :data:`PROVENANCE_INVALID` before the pixels' reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .kinds import FAKE_KINDS
from .pathtext import path_to_text
from .provenance.result import Provenance

# The version of ``media_result.schema.json`` (its ``$id``), bumped whenever a key is added or changes meaning;
# ``detector/README.md`` says what changed for readers of an older version.
SCHEMA_VERSION = 3

Verdict = Literal["fake", "real", "uncertain", "no_face", "error"]
VERDICTS: tuple[str, ...] = ("fake", "real", "uncertain", "no_face", "error")

# Machine-readable reasons (stable strings).
NO_FACE_FOUND = "no_face_found"
FACES_TOO_SMALL = "faces_too_small"
TOO_FEW_FRAMES = "too_few_frames"
LOW_QUALITY = "low_quality"
NEAR_THRESHOLD = "near_threshold"
ABOVE_THRESHOLD = "above_threshold"
BELOW_THRESHOLD = "below_threshold"
UNFAMILIAR_FACE = "unfamiliar_face"
ERROR = "error"
# Provenance (the judge's rules 8 and 9): the file declares generative AI, each reason naming who declared it.
DECLARED_SYNTHETIC_C2PA = "declared_synthetic_c2pa"
DECLARED_SYNTHETIC_IPTC = "declared_synthetic_iptc"
DECLARED_EDITED_WITH_AI_C2PA = "declared_edited_with_ai_c2pa"
DECLARED_EDITED_WITH_AI_IPTC = "declared_edited_with_ai_iptc"
GENERATOR_METADATA = "generator_metadata"
DECLARED_REASONS: tuple[str, ...] = (DECLARED_SYNTHETIC_C2PA, DECLARED_SYNTHETIC_IPTC, DECLARED_EDITED_WITH_AI_C2PA,
                                     DECLARED_EDITED_WITH_AI_IPTC, GENERATOR_METADATA)
PROVENANCE_INVALID = "provenance_invalid"  # a C2PA manifest broken after signing: shown first, verdict unchanged
# Verdicts that may name a kind of fake: a file called real, or not judged, has none.
KIND_VERDICTS: tuple[str, ...] = ("fake", "uncertain")


@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: str
    sha256: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "sha256": self.sha256}


@dataclass(frozen=True, kw_only=True)
class TrackResult:
    """One person (a face track), from the face stage to the scan result.

    The face stage (:func:`detector.faces.extract.summarize_tracks`) describes each person with
    ``fake_probability=None``; the judge returns the same tracks with it filled in, and those are a scan's
    ``tracks``. Times are the first and last sampled faces' (seconds), ``mean_size_px`` the mean of the faces'
    shorter box sides and ``box`` the largest face's box (x1, y1, x2, y2) in frame pixels. ``kind`` and
    ``kind_probability``: what kind of fake this person's faces look like, if fake (filled by the judge for a model
    with a kind head, else ``None``).
    """

    # Keyword-only: five of the fields are plain numbers, so a positional call with two of them swapped would
    # type-check and go unnoticed.
    track_id: int
    first_time: float
    last_time: float
    n_faces: int
    mean_size_px: float
    box: tuple[float, float, float, float]
    fake_probability: float | None = None
    kind: str | None = None
    kind_probability: float | None = None

    def __post_init__(self) -> None:
        _check_kind(self.kind, self.kind_probability)

    def to_dict(self) -> dict[str, Any]:
        # Key order and rounding are the scan JSON contract (media_result.schema.json), not the field order.
        return {"track_id": self.track_id, "first_time": round(self.first_time, 4),
                "last_time": round(self.last_time, 4), "n_faces": self.n_faces,
                "fake_probability": None if self.fake_probability is None else round(self.fake_probability, 6),
                "box": [round(v, 2) for v in self.box], "mean_size_px": round(self.mean_size_px, 2),
                "kind": self.kind, "kind_probability": _round(self.kind_probability)}


@dataclass(frozen=True)
class TimelinePoint:
    t: float
    track_id: int
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"t": round(self.t, 4), "track_id": self.track_id, "score": round(self.score, 6)}


@dataclass(frozen=True, eq=False)
class FaceEvidence:
    """One of a scan's most suspicious faces, kept for reports (not part of the JSON contract).

    ``crop`` is the aligned uint8 RGB face exactly as the classifier saw it (the model card's alignment).
    """

    track_id: int
    t: float
    probability: float
    box: tuple[float, float, float, float]
    crop: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class MediaResult:
    """The verdict on one input."""

    path: str
    media: Literal["video", "image"] | None
    verdict: Verdict
    fake_probability: float | None
    threshold: float
    reasons: tuple[str, ...]
    model: ModelInfo
    tracks: tuple[TrackResult, ...] = ()
    timeline: tuple[TimelinePoint, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    error: dict[str, str] | None = None
    kind: str | None = None
    kind_probability: float | None = None
    provenance: Provenance | None = None
    # Filled only when asked for (``Detector.scan(..., evidence=k)``); reports use it, JSON leaves it out.
    evidence: tuple[FaceEvidence, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}")
        declared = self.declared
        # No probability: no face, no file, or a declared fake without a face (the declaration decided, not pixels).
        unscored = self.verdict in ("no_face", "error") or (declared and NO_FACE_FOUND in self.reasons)
        if (self.fake_probability is None) != unscored:
            raise ValueError(f"verdict {self.verdict} with fake_probability {self.fake_probability}")
        if declared and self.verdict != "fake":
            raise ValueError(f"a declaration of AI ({self.reasons}) makes the verdict fake, not {self.verdict}")
        if any(t.fake_probability is None for t in self.tracks):  # the schema's tracks always carry one
            raise ValueError("a scan's tracks are judged: each needs its fake_probability")
        _check_kind(self.kind, self.kind_probability, named_by_declaration=declared)
        if self.kind is not None and self.verdict not in KIND_VERDICTS:
            raise ValueError(f"verdict {self.verdict} names the kind {self.kind!r}: only {KIND_VERDICTS} may")

    @property
    def is_fake(self) -> bool:
        return self.verdict == "fake"

    @property
    def declared(self) -> bool:
        """Whether the file's own provenance declared generative AI (and so decided the verdict)."""
        return any(r in DECLARED_REASONS for r in self.reasons)

    def to_dict(self) -> dict[str, Any]:
        # A path that is not UTF-8 (and its error message) as valid text that maps back to the file: detector.pathtext.
        error = None if self.error is None else {**self.error, "message": path_to_text(self.error["message"])}
        return {
            "path": path_to_text(self.path),
            "media": self.media,
            "verdict": self.verdict,
            "fake_probability": None if self.fake_probability is None else round(self.fake_probability, 6),
            "threshold": self.threshold,
            "reasons": list(self.reasons),
            "model": self.model.to_dict(),
            "tracks": [t.to_dict() for t in self.tracks],
            "timeline": [p.to_dict() for p in self.timeline],
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "error": error,
            "kind": self.kind,
            "kind_probability": _round(self.kind_probability),
            "provenance": None if self.provenance is None else self.provenance.to_dict(),
        }

    @classmethod
    def failed(cls, path: str, error: dict[str, str], *, model: ModelInfo, threshold: float,
               media: Literal["video", "image"] | None = None, provenance: Provenance | None = None) -> MediaResult:
        """The result of a file that could not be scanned; ``provenance`` when it was read before the failure."""
        return cls(path=path, media=media, verdict="error", fake_probability=None, threshold=threshold,
                   reasons=(ERROR,), model=model, error=error, provenance=provenance)


def _round(p: float | None) -> float | None:
    return None if p is None else round(p, 6)


def _check_kind(kind: str | None, probability: float | None, *, named_by_declaration: bool = False) -> None:
    if (kind is None) != (probability is None) and not (named_by_declaration and probability is None):
        raise ValueError(f"kind {kind!r} with kind_probability {probability}: both or neither")
    if kind is not None and kind not in FAKE_KINDS:
        raise ValueError(f"unknown kind {kind!r} (kinds: {FAKE_KINDS})")
