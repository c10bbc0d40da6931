"""The one judge: faces and their probabilities in, per-person scores and the file's verdict out.

``Detector`` (scan, audit, service) and ``training.evaluate`` (``deepfake eval``) both call :func:`judge`,
so a file's probability and verdict cannot differ between scanning it and evaluating it. It is pure: no
I/O, no model, no clock.

The verdict rules, in order:

1. no face -> ``no_face`` (reason ``no_face_found``);
2. faces whose box is smaller than ``min_face_px`` are not evidence; if no other face is left ->
   ``uncertain`` (``faces_too_small``), with the probability of the small faces still reported;
3. a video with fewer than ``min_faces`` usable faces -> ``uncertain`` (``too_few_frames``);
4. most usable faces blurred flat or in profile -> ``uncertain`` (``low_quality``);
5. a probability within ``uncertain_band`` of the threshold -> ``uncertain`` (``near_threshold``);
6. else ``fake`` (``above_threshold``) or ``real`` (``below_threshold``).

A person's (track's) score aggregates its usable faces with the card's strategy; the file's probability is
its most suspicious counted person's (a person counts if any of its faces is usable evidence). Given the face
stage's persons (:class:`detector.results.TrackResult`, ``fake_probability=None``), the judgement returns
them with their scores filled in. Short tracks are not filtered here: the face stage drops them once
(:func:`detector.faces.extract.drop_short_tracks`), before any face reaches a judge.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from .aggregate import video_score
from .recipe import AggregationSpec, VerdictRules
from .results import (
    ABOVE_THRESHOLD,
    BELOW_THRESHOLD,
    FACES_TOO_SMALL,
    LOW_QUALITY,
    NEAR_THRESHOLD,
    NO_FACE_FOUND,
    TOO_FEW_FRAMES,
    TrackResult,
)


@dataclass(frozen=True)
class FaceFacts:
    """What the judge needs to know of one face besides its probability."""

    track_id: int
    size_px: float  # shorter side of the detected box, original pixels
    sharpness: float
    frontalness: float

    @classmethod
    def of(cls, face: object) -> FaceFacts:
        """From a :class:`detector.faces.extract.Face` (anything with ``track_id`` and ``quality``)."""
        q = face.quality  # type: ignore[attr-defined]
        return cls(int(face.track_id), float(q.size_px), float(q.sharpness), float(q.frontalness))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Judgement:
    """A file's verdict. ``fake_probability`` is ``None`` only for ``no_face``; ``tracks`` are the persons passed
    in, scored (empty when none were passed); ``usable[i]`` says whether face ``i`` was evidence (large enough),
    for reports that show the most suspicious faces.

    A person's faces (those with its ``track_id``) and whether it counted (any of them usable) are not repeated
    here: both follow from the faces passed in and ``usable``, and a person is the same type from the face stage
    to the scan's JSON, which has no place for them.
    """

    verdict: str
    fake_probability: float | None
    reasons: tuple[str, ...]
    tracks: tuple[TrackResult, ...] = ()
    usable: tuple[bool, ...] = ()


def judge(faces: Sequence[FaceFacts], probabilities: Sequence[float] | np.ndarray, *, media: str | None,
          rules: VerdictRules, aggregation: AggregationSpec,
          tracks: Sequence[TrackResult] | None = None) -> Judgement:
    """Judge one file from its faces (after the face stage) and their calibrated fake probabilities.

    ``tracks``: the face stage's persons of these faces (:func:`detector.faces.extract.summarize_tracks`), returned
    scored in ``Judgement.tracks``. Optional because the verdict does not depend on them and ``deepfake eval``
    judges cached faces, which keep no boxes to describe a person with.
    """
    probs = np.asarray(probabilities, np.float64).reshape(-1)
    if len(probs) != len(faces):
        raise ValueError(f"{len(faces)} faces but {len(probs)} probabilities")
    if tracks is not None:
        # Scores are matched to persons by track id: persons of other faces would get someone else's score.
        described = {t.track_id: t.n_faces for t in tracks}
        counts = dict(Counter(f.track_id for f in faces))
        if len(described) != len(tracks) or described != counts:
            raise ValueError(f"tracks {described} do not match the faces' tracks {counts} (track id: faces)")
    if not faces:
        return Judgement("no_face", None, (NO_FACE_FOUND,))
    usable = np.array([f.size_px >= rules.min_face_px for f in faces])
    reasons: list[str] = []
    if not usable.any():
        reasons.append(FACES_TOO_SMALL)
        usable[:] = True  # still report what the small faces say
    scores: dict[int, float] = {}
    counted: list[float] = []
    for tid in sorted({f.track_id for f in faces}):
        idx = [i for i, f in enumerate(faces) if f.track_id == tid]
        use = [i for i in idx if usable[i]] or idx
        scores[tid] = aggregation.track_score(probs[use])
        if any(usable[i] for i in idx):
            counted.append(scores[tid])
    probability = video_score(counted)
    good = [f for f, u in zip(faces, usable) if u]
    if media == "video" and len(good) < rules.min_faces and FACES_TOO_SMALL not in reasons:
        reasons.append(TOO_FEW_FRAMES)
    low = sum(f.sharpness < rules.min_sharpness or f.frontalness < rules.min_frontalness for f in good)
    if low > len(good) / 2:
        reasons.append(LOW_QUALITY)
    if abs(probability - rules.threshold) < rules.uncertain_band:
        reasons.append(NEAR_THRESHOLD)
    if reasons:
        verdict = "uncertain"
    else:
        verdict = "fake" if probability >= rules.threshold else "real"
        reasons.append(ABOVE_THRESHOLD if verdict == "fake" else BELOW_THRESHOLD)
    scored = tuple(replace(t, fake_probability=scores[t.track_id]) for t in tracks or ())
    return Judgement(verdict, probability, tuple(reasons), scored, tuple(bool(u) for u in usable))
