"""The embeddable API: ``Detector.load().scan(path) -> MediaResult``.

Example:
    >>> from detector import Detector
    >>> detector = Detector.load()  # bundled default model  # doctest: +SKIP
    >>> result = detector.scan("clip.mp4")  # doctest: +SKIP
    >>> result.verdict, result.fake_probability  # doctest: +SKIP
    ('real', 0.08)

Every setting starts from the model card's scan recipe (:mod:`detector.recipe`); a ``ScanConfig`` states
only what it overrides. Verdicts come from :func:`detector.judge.judge`, the same function
``deepfake eval`` uses, so scanning and evaluating a file cannot disagree.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from .classifier import Classifier, CropScores
from .errors import ConfigError, attempt, file_error
from .faces.extract import Face, FaceConfig, FaceExtractor, summarize_tracks
from .judge import FaceFacts, judge
from .media import Frame, MediaLimits, read_frames
from .prefetch import Prefetch
from .provenance import Provenance, read_provenance
from .recipe import SamplingSpec, ScanConfig
from .results import FaceEvidence, MediaResult, ModelInfo, TimelinePoint


@dataclass
class _Extracted:
    """One file between the face stage and the classifier (``scan_many``'s pipeline)."""

    path: str
    elapsed: float  # seconds this file's own extraction took (not the time it then waited in the pipeline)
    kind: str | None = None
    faces: list[Face] = field(default_factory=list)
    n_frames: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    error: dict[str, str] | None = None
    provenance: Provenance | None = None


class Detector:
    """Face stage + classifier + aggregation. Build with :meth:`load`."""

    def __init__(self, classifier: Classifier, *, config: ScanConfig | None = None,
                 face_config: FaceConfig | None = None, providers: Sequence[str] | None = None,
                 limits: MediaLimits | None = None) -> None:
        self.classifier = classifier
        self.config = config or ScanConfig()
        card = classifier.card
        # The card's whole recipe with this scan's overrides: everything below reads it, nothing else.
        self.recipe = self.config.apply(card.scan)
        if self.recipe.verdict.max_novelty is not None and not classifier.has_novelty:
            # Only an override gets here (the classifier checks the card's own rules): say so before any scan.
            raise ConfigError(f"max_novelty {self.recipe.verdict.max_novelty}: model {card.name} {card.version} "
                              "gives no novelty to abstain on")
        # Crops must be made exactly as the model was trained: its card's detection and alignment.
        face_config = face_config or FaceConfig(detection=self.recipe.detection, align=self.recipe.align)
        if face_config.align != self.recipe.align:
            face_config = replace(face_config, align=self.recipe.align)
        self.faces = FaceExtractor(face_config, providers=providers)
        self.limits = limits or MediaLimits()  # guard rails against hostile input: not part of the recipe
        self.model = ModelInfo(card.name, card.version, card.sha256)

    @property
    def threshold(self) -> float:
        """The decision threshold this detector's verdicts use (the card's, or the config's override)."""
        return self.recipe.threshold

    @property
    def sampling(self) -> SamplingSpec:
        """Which frames this detector's scans look at (the card's recipe with the config's overrides)."""
        return self.recipe.sampling

    @classmethod
    def load(cls, model: str | os.PathLike[str] | None = None, *, config: ScanConfig | None = None,
             providers: Sequence[str] | None = None, batch_size: int = 32) -> Detector:
        """The bundled default model, or ``model`` (an ``.onnx`` with its card ``.json`` beside it).

        Raises:
            ModelIntegrityError: the model file or its card is missing, unreadable or does not match.
            ConfigError: ``config`` abstains above a ``max_novelty`` but the model gives no novelty.
        """
        classifier = (Classifier.default(providers=providers, batch_size=batch_size) if model is None
                      else Classifier.load(model, providers=providers, batch_size=batch_size))
        return cls(classifier, config=config, providers=providers)

    # -- public API --------------------------------------------------------------------------------

    def scan(self, path: str | os.PathLike[str], *, evidence: int = 0) -> MediaResult:
        """Scan one video or image. Raises ``DetectorError`` subclasses for unusable files.

        ``evidence``: keep the crops of this many most suspicious faces in ``result.evidence`` (reports).
        The file's provenance (:func:`detector.provenance.read_provenance`) is read from its bytes first, and the
        judge weighs it with the faces.
        """
        start = time.perf_counter()
        provenance = read_provenance(path)
        read = time.perf_counter() - start
        found = self.faces.extract(path, sampling=self.sampling, limits=self.limits)
        return self._judge(str(path), found.media.kind, list(found.faces), found.n_frames,
                           {"provenance": read, **found.timings}, start, evidence=evidence, provenance=provenance)

    def scan_many(self, paths: Iterable[str | os.PathLike[str]], *, evidence: int = 0,
                  prompt: bool = False) -> Iterator[MediaResult]:
        """Scan many files, yielding results in input order; a bad file yields an ``error`` result and the
        rest go on.

        Throughput: the next files are decoded and searched for faces in a background thread while this one
        classifies, and the faces of consecutive files are classified together in batches of
        ``classifier.batch_size`` (a folder of photos costs one classifier call per batch, not per photo).
        Results are held back until their batch is full, at most ``batch_size`` files; with ``prompt``, only while
        the next file is already waiting to join the batch, so a result comes as soon as no other file is ready
        (a terminal shows each row when its file is done; batches still form when the classifier is the slower
        stage).
        """
        pending: list[_Extracted] = []
        n_faces = 0
        with Prefetch(self._extract_each(paths), depth=2, name="extract") as stream:
            for item in stream:
                pending.append(item)
                n_faces += len(item.faces)
                if n_faces >= self.classifier.batch_size or (prompt and not stream.ready()):
                    yield from self._finish(pending, evidence)
                    pending, n_faces = [], 0
        yield from self._finish(pending, evidence)

    def _extract_each(self, paths: Iterable[str | os.PathLike[str]]) -> Iterator[_Extracted]:
        sampling = self.sampling
        for path in paths:
            start = time.perf_counter()
            # Provenance first, from the file's bytes: a file whose pixels then fail to decode still reports it.
            read = attempt(str(path), read_provenance, path)
            if not read.ok:
                yield _Extracted(str(path), time.perf_counter() - start, error=read.error)
                continue
            timings = {"provenance": time.perf_counter() - start}
            tried = attempt(str(path), self.faces.extract, path, sampling=sampling, limits=self.limits)
            if not tried.ok:
                yield _Extracted(str(path), time.perf_counter() - start, error=tried.error, provenance=read.value)
                continue
            found = tried.value
            yield _Extracted(str(path), time.perf_counter() - start, found.media.kind, list(found.faces), found.n_frames,
                             {**timings, **found.timings}, provenance=read.value)

    def _finish(self, batch: list[_Extracted], evidence: int) -> Iterator[MediaResult]:
        """Classify the faces of several files in one go, then judge each file."""
        crops = [f.crop for item in batch for f in item.faces]
        t0 = time.perf_counter()
        mirror = [self.recipe.mirror(item.kind) for item in batch for _ in item.faces]
        scores = self.classifier.score(np.stack(crops), mirror=mirror) if crops else None
        per_face = (time.perf_counter() - t0) / max(1, len(crops))
        offset = 0
        for item in batch:
            if item.error is not None:
                yield self.failed(item.path, item.error, provenance=item.provenance)
                continue
            n = len(item.faces)
            item.timings["classify"] = per_face * n  # this file's share of the batch
            # A file's total is its own work: extraction, its share of the classifier batch, its verdict.
            # Measuring from when its extraction began would add the time it then waited while later files
            # were extracted to fill the batch (the first file of a batch would carry the whole batch).
            start = time.perf_counter() - item.elapsed - item.timings["classify"]
            yield self._judge(item.path, item.kind, item.faces, item.n_frames, item.timings, start,
                              evidence=evidence, scores=None if scores is None else scores[offset:offset + n],
                              provenance=item.provenance)
            offset += n

    def scan_frames(self, frames: Sequence[Frame] | Sequence[np.ndarray], *, name: str = "<frames>",
                    media: Literal["video", "image"] | None = None, timestamps: Sequence[float] | None = None,
                    evidence: int = 0, provenance: Provenance | None = None) -> MediaResult:
        """Scan decoded RGB frames (``Frame`` objects or ``(H, W, 3)`` uint8 arrays) as one file.

        ``media``: what the frames came from (default: ``video`` for several frames, ``image`` for one). Frames
        sampled with :meth:`sample` (by another process, say) and scanned here give exactly :meth:`scan`'s
        result; pass the ``media`` that :meth:`sample` reported, or a one-frame video is judged as an image.
        Decoded frames carry no file bytes: pass the file's ``provenance`` (:func:`detector.provenance.read_provenance`,
        read where the file is) for the judge to weigh it, as :meth:`scan` does; without it the result has none.
        """
        items = [f if isinstance(f, Frame) else Frame(i, float(timestamps[i]) if timestamps else float(i),
                                                     np.asarray(f, np.uint8)) for i, f in enumerate(frames)]
        timings: dict[str, float] = {}
        start = time.perf_counter()
        faces = self.faces.extract_frames(items, timings=timings)
        kind = media or ("video" if len(items) > 1 else "image")
        return self._judge(name, kind, faces, len(items), timings, start, evidence=evidence, provenance=provenance)

    @staticmethod
    def sample(path: str | os.PathLike[str], sampling: SamplingSpec, *, limits: MediaLimits | None = None
               ) -> tuple[Literal["video", "image"], list[Frame]]:
        """Decode the frames a scan with ``sampling`` (a detector's :attr:`sampling`) would look at, and what the
        file is. Needs no model: decode on one machine, :meth:`scan_frames` on another. Raises ``MediaError``."""
        info, frames = read_frames(path, sampling=sampling, limits=limits)
        return info.kind, frames

    def guarded(self, path: str | os.PathLike[str], work: Callable[[], MediaResult] | None = None) -> MediaResult:
        """``work()`` (default: :meth:`scan` of ``path``), or the ``error`` result of ``path`` if it fails: the
        per-file boundary (:func:`detector.errors.attempt`) that every batch caller goes through."""
        tried = attempt(str(path), work or (lambda: self.scan(path)))
        return tried.value if tried.ok else self.failed(str(path), tried.error)

    def failed(self, path: str, error: BaseException | dict[str, str], *,
               media: Literal["video", "image"] | None = None, provenance: Provenance | None = None) -> MediaResult:
        """The ``error`` result of a file that failed (an exception, or its :func:`file_error` record), with its
        provenance when that was read before the failure."""
        record = error if isinstance(error, dict) else file_error(error, path)
        return MediaResult.failed(path, record, model=self.model, threshold=self.threshold, media=media,
                                  provenance=provenance)

    def scan_image(self, image: np.ndarray, *, name: str = "<image>", evidence: int = 0) -> MediaResult:
        """Scan one decoded ``(H, W, 3)`` uint8 RGB image."""
        return self.scan_frames([Frame(0, 0.0, np.asarray(image, np.uint8))], name=name, evidence=evidence)

    # -- verdicts ----------------------------------------------------------------------------------

    def _judge(self, path: str, kind: str, faces: list[Face], n_frames: int, timings: dict[str, float],
               start: float, *, evidence: int = 0, scores: CropScores | None = None,
               provenance: Provenance | None = None) -> MediaResult:
        """Verdict of one file (its faces come from the face stage, short tracks already dropped); ``scores``
        are the faces' scores when already classified (in a batch); ``provenance`` what the file declares."""
        if faces and scores is None:
            t0 = time.perf_counter()
            scores = self.classifier.score(np.stack([f.crop for f in faces]), mirror=self.recipe.mirror(kind))
            timings["classify"] = time.perf_counter() - t0
        probs = np.zeros(0, np.float64) if scores is None else scores.probabilities
        # The persons are summarized here rather than taken from the face stage's result because scan_many and
        # scan_frames only carry the faces; it is the same function the face stage uses.
        j = judge([FaceFacts.of(f) for f in faces], probs, media=kind, rules=self.recipe.verdict,
                  aggregation=self.recipe.aggregation, tracks=summarize_tracks(faces),
                  kind_probabilities=None if scores is None else scores.kind_probs,
                  novelty=None if scores is None else scores.novelty, provenance=provenance)
        if j.fake_probability is None:
            timings["total"] = time.perf_counter() - start
            # no_face, or a fake the file's provenance declared
            return MediaResult(path=path, media=kind, verdict=j.verdict,  # type: ignore[arg-type]
                               fake_probability=None, threshold=self.threshold, reasons=j.reasons, model=self.model, timings=timings,
                               kind=j.kind, kind_probability=j.kind_probability, provenance=provenance)
        timeline = tuple(TimelinePoint(f.timestamp, f.track_id, float(p)) for f, p in zip(faces, probs))
        # Most suspicious usable faces first (ties: earlier first), for reports.
        top = sorted(np.flatnonzero(j.usable), key=lambda i: (-probs[i], i))[:max(0, evidence)]
        kept = tuple(FaceEvidence(faces[i].track_id, faces[i].timestamp, float(probs[i]), faces[i].box, faces[i].crop)
                     for i in top)
        timings["total"] = time.perf_counter() - start
        return MediaResult(path=path, media=kind, verdict=j.verdict, fake_probability=j.fake_probability,
                           threshold=self.threshold, reasons=j.reasons, model=self.model, tracks=j.tracks,
                           timeline=timeline, timings=timings, kind=j.kind, kind_probability=j.kind_probability,
                           provenance=provenance, evidence=kept)
