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
6. else ``fake`` (``above_threshold``) or ``real`` (``below_threshold``);
7. a ``fake`` whose deciding person's faces are unfamiliar to the model -> ``uncertain`` (``unfamiliar_face``):
   when the rules set ``max_novelty`` and the median ``novelty`` of that person's usable faces is above it (or not
   a number). Only a ``fake`` abstains: a ``real`` stays ``real`` (abstaining on reals would only lower the reals
   called real), and a verdict already ``uncertain`` keeps its reasons;
8. the file's own provenance (:mod:`detector.provenance`, when given) declares generative AI -> ``fake`` whatever
   the pixels said (no face, uncertain or real included), the reason naming who declared it first
   (``declared_synthetic_c2pa``, ``declared_synthetic_iptc``, ``declared_edited_with_ai_c2pa``,
   ``declared_edited_with_ai_iptc``, ``generator_metadata``) and the pixels' reasons after it; kind ``synthetic``
   for a generated file (its ``kind_probability`` stays the model's to give: ``None``), the pixels' kind for an AI
   edit. Statements against interest are taken at their word: a declaration is stripped far more often than forged;
9. a C2PA manifest broken after signing (``invalid_signature``) -> the pixels' verdict, with ``provenance_invalid``
   first among its reasons. A signed capture never turns a ``fake`` into ``real`` (metadata can be copied onto other
   pixels): it, and every other state, leaves the verdict as the pixels made it.

A person's (track's) score aggregates its usable faces with the card's strategy; the file's probability combines
the counted persons' (a person counts if any of its faces is usable evidence) as the rules' ``combine_persons``
says (:func:`detector.aggregate.file_score`): the most suspicious one's (``max``), or the probability that one of
them is manipulated (``mean_odds``); either way one person's file has that person's probability. The *deciding*
person, whose kind and novelty rules 7 and the kind of fake read, is the most suspicious counted one (the first by
track id among equals). Given the face stage's persons (:class:`detector.results.TrackResult`,
``fake_probability=None``), the judgement returns them with their scores filled in.

The kind of fake (a model with a kind head): a person's ``kind`` is the argmax of the mean P(kind | fake) over the
faces its score was taken from, each face weighted by its fake probability (the faces that look fake decide what
kind of fake it is; all weights zero: the plain mean), and ``kind_probability`` that mean's largest value. The
file's kind is its deciding person's, named only when the verdict is ``fake`` or ``uncertain``. Short tracks are not filtered here: the face stage drops them once
(:func:`detector.faces.extract.drop_short_tracks`), before any face reaches a judge.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from .aggregate import file_score
from .kinds import FAKE_KINDS
from .provenance.result import Provenance
from .recipe import AggregationSpec, VerdictRules
from .results import (
    ABOVE_THRESHOLD,
    BELOW_THRESHOLD,
    DECLARED_EDITED_WITH_AI_C2PA,
    DECLARED_EDITED_WITH_AI_IPTC,
    DECLARED_SYNTHETIC_C2PA,
    DECLARED_SYNTHETIC_IPTC,
    FACES_TOO_SMALL,
    GENERATOR_METADATA,
    KIND_VERDICTS,
    LOW_QUALITY,
    NEAR_THRESHOLD,
    NO_FACE_FOUND,
    PROVENANCE_INVALID,
    TOO_FEW_FRAMES,
    UNFAMILIAR_FACE,
    TrackResult,
)

# Rule 8: (state, who declared it) -> the reason, and the kind it names (None: the pixels' kind stands).
_DECLARED: dict[tuple[str, str | None], tuple[str, str | None]] = {
    ("declared_synthetic", "c2pa"): (DECLARED_SYNTHETIC_C2PA, "synthetic"),
    ("declared_synthetic", "iptc"): (DECLARED_SYNTHETIC_IPTC, "synthetic"),
    ("declared_edited_with_ai", "c2pa"): (DECLARED_EDITED_WITH_AI_C2PA, None),
    ("declared_edited_with_ai", "iptc"): (DECLARED_EDITED_WITH_AI_IPTC, None),
    ("generator_metadata", "generator"): (GENERATOR_METADATA, "synthetic"),
}


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

    def usable(self, rules: VerdictRules) -> bool:
        """Whether this face is evidence under ``rules`` (rule 2: large enough). When no face of a file is, the
        judge still reports what they all say."""
        return self.size_px >= rules.min_face_px


@dataclass(frozen=True)
class Judgement:
    """A file's verdict. ``fake_probability`` is ``None`` only without a face (``no_face``, or ``fake`` declared by the
    file's provenance); ``tracks`` are the persons passed
    in, scored (empty when none were passed); ``usable[i]`` says whether face ``i`` was evidence (large enough),
    for reports that show the most suspicious faces. ``kind``/``kind_probability``: the deciding person's kind of
    fake, for ``fake`` and ``uncertain`` verdicts of a model with a kind head, else ``None``.

    A person's faces (those with its ``track_id``) and whether it counted (any of them usable) are not repeated
    here: both follow from the faces passed in and ``usable``, and a person is the same type from the face stage
    to the scan's JSON, which has no place for them.
    """

    verdict: str
    fake_probability: float | None
    reasons: tuple[str, ...]
    tracks: tuple[TrackResult, ...] = ()
    usable: tuple[bool, ...] = ()
    kind: str | None = None
    kind_probability: float | None = None


def judge(faces: Sequence[FaceFacts], probabilities: Sequence[float] | np.ndarray, *, media: str | None,
          rules: VerdictRules, aggregation: AggregationSpec,
          tracks: Sequence[TrackResult] | None = None,
          kind_probabilities: Sequence[Sequence[float]] | np.ndarray | None = None,
          novelty: Sequence[float] | np.ndarray | None = None, provenance: Provenance | None = None) -> Judgement:
    """Judge one file from its faces (after the face stage) and their calibrated fake probabilities.

    ``tracks``: the face stage's persons of these faces (:func:`detector.faces.extract.summarize_tracks`), returned
    scored in ``Judgement.tracks``. Optional because the verdict does not depend on them and ``deepfake eval``
    judges cached faces, which keep no boxes to describe a person with.
    ``kind_probabilities``: (faces, kinds) P(kind | fake) per face in the order of :data:`detector.kinds.FAKE_KINDS`
    (:attr:`detector.classifier.CropScores.kind_probs`); ``None`` for a model without a kind head (no kinds named).
    ``novelty``: the model's novelty per face (:attr:`detector.classifier.CropScores.novelty`); required when
    ``rules.max_novelty`` is set, so a caller cannot skip the abstention by leaving it out.
    ``provenance``: what the file declares (rules 8 and 9); ``None`` (decoded frames, ``deepfake eval``'s cached
    faces) leaves the pixels' verdict as it is.

    Example:
        >>> from detector.recipe import AggregationSpec, VerdictRules
        >>> faces = [FaceFacts(0, 120.0, 50.0, 0.9)] * 3
        >>> j = judge(faces, [0.9] * 3, media="video", rules=VerdictRules(max_novelty=2.0),
        ...           aggregation=AggregationSpec(), kind_probabilities=[[0.7, 0.2, 0.1]] * 3, novelty=[3.0] * 3)
        >>> j.verdict, j.reasons, j.kind
        ('uncertain', ('unfamiliar_face',), 'swap')
    """
    pixels = _judge_pixels(faces, probabilities, media=media, rules=rules, aggregation=aggregation, tracks=tracks,
                           kind_probabilities=kind_probabilities, novelty=novelty)
    return pixels if provenance is None else _with_provenance(pixels, provenance)


def _with_provenance(j: Judgement, provenance: Provenance) -> Judgement:
    """Rules 8 and 9: what the file declares, applied to the pixels' judgement."""
    declared = _DECLARED.get((provenance.state, provenance.declared_by))
    if declared is not None:
        reason, kind = declared
        if kind is None:  # an AI edit: the pixels' kind of fake, if they named one
            kind, kind_probability = j.kind, j.kind_probability
        else:
            kind_probability = None
        return replace(j, verdict="fake", reasons=(reason, *j.reasons), kind=kind, kind_probability=kind_probability)
    if provenance.state == "invalid_signature":
        return replace(j, reasons=(PROVENANCE_INVALID, *j.reasons))
    return j


def _judge_pixels(faces: Sequence[FaceFacts], probabilities: Sequence[float] | np.ndarray, *, media: str | None,
                  rules: VerdictRules, aggregation: AggregationSpec, tracks: Sequence[TrackResult] | None,
                  kind_probabilities: Sequence[Sequence[float]] | np.ndarray | None,
                  novelty: Sequence[float] | np.ndarray | None) -> Judgement:
    """Rules 1 to 7: the verdict of the faces alone."""
    probs = np.asarray(probabilities, np.float64).reshape(-1)
    if len(probs) != len(faces):
        raise ValueError(f"{len(faces)} faces but {len(probs)} probabilities")
    kinds = None if kind_probabilities is None else np.asarray(kind_probabilities, np.float64)
    if kinds is not None and kinds.shape != (len(faces), len(FAKE_KINDS)):
        raise ValueError(f"kind probabilities of shape {kinds.shape} for {len(faces)} faces: expected one row of "
                         f"{len(FAKE_KINDS)} ({', '.join(FAKE_KINDS)}) per face")
    novel = None if novelty is None else np.asarray(novelty, np.float64).reshape(-1)
    if novel is not None and len(novel) != len(faces):
        raise ValueError(f"{len(faces)} faces but {len(novel)} novelty values")
    if rules.max_novelty is not None and novel is None and faces:
        raise ValueError("the verdict rules abstain above max_novelty, but no novelty was given")
    if tracks is not None:
        # Scores are matched to persons by track id: persons of other faces would get someone else's score.
        described = {t.track_id: t.n_faces for t in tracks}
        counts = dict(Counter(f.track_id for f in faces))
        if len(described) != len(tracks) or described != counts:
            raise ValueError(f"tracks {described} do not match the faces' tracks {counts} (track id: faces)")
    if not faces:
        return Judgement("no_face", None, (NO_FACE_FOUND,))
    usable = np.array([f.usable(rules) for f in faces], bool)
    reasons: list[str] = []
    if not usable.any():
        reasons.append(FACES_TOO_SMALL)
        usable[:] = True  # still report what the small faces say
    scores: dict[int, float] = {}
    evidence: dict[int, list[int]] = {}  # per person, the faces its score was taken from
    person_kinds: dict[int, tuple[str, float]] = {}
    counted: list[float] = []
    deciding: int | None = None
    for tid in sorted({f.track_id for f in faces}):
        idx = [i for i, f in enumerate(faces) if f.track_id == tid]
        use = evidence[tid] = [i for i in idx if usable[i]] or idx
        scores[tid] = aggregation.track_score(probs[use])
        if kinds is not None:
            person_kinds[tid] = _kind(kinds[use], probs[use])
        if any(usable[i] for i in idx):
            counted.append(scores[tid])
            if deciding is None or scores[tid] > scores[deciding]:
                deciding = tid
    probability = file_score(counted, rules.combine_persons)
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
    assert deciding is not None  # some face is usable (or all were made usable above), so some person counted
    if verdict == "fake" and rules.max_novelty is not None and novel is not None:
        median = float(np.median(novel[evidence[deciding]]))
        if not median <= rules.max_novelty:  # NaN too: a novelty that is no number is no sign of familiarity
            verdict, reasons = "uncertain", [UNFAMILIAR_FACE]
    kind, kind_probability = person_kinds.get(deciding, (None, None)) if verdict in KIND_VERDICTS else (None, None)
    scored = tuple(replace(t, fake_probability=scores[t.track_id], kind=person_kinds.get(t.track_id, (None,))[0],
                           kind_probability=person_kinds.get(t.track_id, (None, None))[1]) for t in tracks or ())
    return Judgement(verdict, probability, tuple(reasons), scored, tuple(bool(u) for u in usable), kind,
                     kind_probability)


def _kind(kind_probs: np.ndarray, fake_probs: np.ndarray) -> tuple[str, float]:
    """A person's kind of fake: the argmax of its faces' P(kind | fake), averaged with each face weighted by its
    P(fake); (all weights zero: the plain mean), and that mean's value."""
    weights = fake_probs if fake_probs.sum() > 0 else np.ones_like(fake_probs)
    mean = (kind_probs * weights[:, None]).sum(axis=0) / weights.sum()
    best = int(np.argmax(mean))
    return FAKE_KINDS[best], float(mean[best])
