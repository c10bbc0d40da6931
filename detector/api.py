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
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from .batching import FaceBatcher
from .classifier import Classifier
from .errors import ConfigError, attempt, file_error
from .faces.extract import Face, FaceConfig, FaceExtractor, FaceStream, summarize_tracks
from .judge import FaceFacts, judge
from .media import Frame, MediaLimits, read_frames
from .prefetch import Prefetch
from .provenance import Provenance, read_provenance
from .recipe import SamplingSpec, ScanConfig
from .results import MediaResult, ModelInfo, TimelinePoint
from .scanned import ScannedFaces


@dataclass(eq=False)
class _Extracted:
    """One file in ``scan_many``'s pipeline: filled by the extraction thread, final once its last part is sent."""

    path: str
    elapsed: float = 0.0  # seconds of this file's own extraction (not the time it waited in the pipeline)
    kind: Literal["video", "image"] | None = None
    n_frames: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    error: dict[str, str] | None = None
    provenance: Provenance | None = None


@dataclass(frozen=True, eq=False)
class _Part:
    """Kept faces of one file on their way to the classifier; ``last``: the file's extraction ended (``item`` is
    final, its ``error`` set if it failed)."""

    item: _Extracted
    faces: list[Face]
    last: bool


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
        judge weighs it with the faces. Faces are classified as the face stage finds them, and only what the verdict
        needs of each is kept (:mod:`detector.scanned`), so memory does not grow with the sampled frames.
        """
        start = time.perf_counter()
        provenance = read_provenance(path)
        read = time.perf_counter() - start
        with self.faces.stream(path, sampling=self.sampling, limits=self.limits) as found:
            assert found.media is not None
            scanned = self._classify(found, found.media.kind, evidence)
        timings = {"provenance": read, **found.timings, "classify": scanned.classify_seconds}
        return self._judge(str(path), found.media.kind, scanned, timings, start, provenance=provenance)

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
        stage). Faces travel from the thread in parts of at most a batch and are classified as they come, keeping
        only what each file's verdict needs (:mod:`detector.scanned`): a long video is never held whole.
        """
        batcher = FaceBatcher(self.classifier)
        group: list[tuple[_Extracted, ScannedFaces]] = []
        n_faces = 0
        with Prefetch(self._extract_each(paths), depth=2, name="extract") as parts:
            for part in parts:
                if not group or group[-1][0] is not part.item:
                    group.append((part.item, ScannedFaces(evidence=evidence, rules=self.recipe.verdict)))
                item, scanned = group[-1]
                mirror = item.kind is not None and self.recipe.mirror(item.kind)
                for face in part.faces:
                    batcher.add(face.crop, mirror=mirror, sink=scanned, index=scanned.add(face))
                if part.last and item.error is None:
                    n_faces += len(scanned)
                # A group ends after the file that fills a batch, as when the files' faces were scored in one call.
                if part.last and (n_faces >= self.classifier.batch_size or prompt and not parts.ready()):
                    yield from self._finish(group, batcher)
                    group, n_faces = [], 0
        yield from self._finish(group, batcher)

    def _extract_each(self, paths: Iterable[str | os.PathLike[str]]) -> Iterator[_Part]:
        for path in paths:
            start = time.perf_counter()
            item = _Extracted(str(path))
            # Provenance first, from the file's bytes: a file whose pixels then fail to decode still reports it.
            read = attempt(item.path, read_provenance, path)
            item.timings["provenance"] = time.perf_counter() - start
            if not read.ok:
                item.error, item.elapsed = read.error, time.perf_counter() - start
                yield _Part(item, [], True)
                continue
            item.provenance = read.value
            yield from self._parts_of(item, path, start)

    def _parts_of(self, item: _Extracted, path: str | os.PathLike[str], start: float) -> Iterator[_Part]:
        """One file's kept faces in parts of at most a batch; a failure part-way ends it with its error (the faces
        sent before are discarded by the consumer)."""
        with ExitStack() as stack:
            opened = attempt(item.path, lambda: stack.enter_context(
                self.faces.stream(path, sampling=self.sampling, limits=self.limits)))
            if not opened.ok:
                item.error, item.elapsed = opened.error, time.perf_counter() - start
                yield _Part(item, [], True)
                return
            found: FaceStream = opened.value  # type: ignore[assignment]
            assert found.media is not None
            item.kind = found.media.kind
            faces = iter(found)
            part: list[Face] = []
            while True:
                step = attempt(item.path, next, faces, None)
                if not step.ok or step.value is None:
                    break
                part.append(step.value)
                if len(part) >= self.classifier.batch_size:
                    # Time spent waiting for the consumer to take this part is not this file's work.
                    paused = time.perf_counter()
                    yield _Part(item, part, False)
                    start += time.perf_counter() - paused
                    part = []
        if step.ok:
            item.n_frames, item.timings = found.n_frames, {**item.timings, **found.timings}
        else:
            item.error, part = step.error, []
        item.elapsed = time.perf_counter() - start
        yield _Part(item, part, True)

    def _finish(self, group: list[tuple[_Extracted, ScannedFaces]], batcher: FaceBatcher) -> Iterator[MediaResult]:
        """Classify what is left of a group's faces, then judge each file."""
        batcher.flush()
        for item, scanned in group:
            if item.error is not None:
                yield self.failed(item.path, item.error, provenance=item.provenance)
                continue
            assert item.kind is not None
            item.timings["classify"] = scanned.classify_seconds  # this file's share of the batches
            # A file's total is its own work: extraction, its share of the classifier batches, its verdict.
            # Measuring from when its extraction began would add the time it then waited while later files
            # were extracted to fill the batch (the first file of a batch would carry the whole batch).
            start = time.perf_counter() - item.elapsed - scanned.classify_seconds
            yield self._judge(item.path, item.kind, scanned, item.timings, start, provenance=item.provenance)

    def _classify(self, faces: Iterable[Face], kind: str, evidence: int) -> ScannedFaces:
        """Classify one file's faces as they come, keeping only what its verdict needs."""
        batcher = FaceBatcher(self.classifier)
        scanned = ScannedFaces(evidence=evidence, rules=self.recipe.verdict)
        mirror = self.recipe.mirror(kind)
        for face in faces:
            batcher.add(face.crop, mirror=mirror, sink=scanned, index=scanned.add(face))
        batcher.flush()
        return scanned

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
        start = time.perf_counter()
        kind = media or ("video" if len(items) > 1 else "image")
        found = self.faces.stream_frames(items)
        scanned = self._classify(found, kind, evidence)
        timings = {**found.timings, "classify": scanned.classify_seconds}
        return self._judge(name, kind, scanned, timings, start, provenance=provenance)

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

    def _judge(self, path: str, kind: str, scanned: ScannedFaces, timings: dict[str, float], start: float, *,
               provenance: Provenance | None = None) -> MediaResult:
        """Verdict of one file from its classified faces (short tracks already dropped by the face stage) and
        ``provenance``, what the file declares."""
        scores = scanned.scores()
        notes = scanned.notes
        probs = np.zeros(0, np.float64) if scores is None else scores.probabilities
        # The persons are summarized here rather than taken from the face stage's result because the scan keeps
        # only its notes of the faces; it is the same function the face stage uses.
        j = judge([FaceFacts.of(n) for n in notes], probs, media=kind, rules=self.recipe.verdict,
                  aggregation=self.recipe.aggregation, tracks=summarize_tracks(notes),
                  kind_probabilities=None if scores is None else scores.kind_probs,
                  novelty=None if scores is None else scores.novelty, provenance=provenance)
        if j.fake_probability is None:
            timings["total"] = time.perf_counter() - start
            # no_face, or a fake the file's provenance declared
            return MediaResult(path=path, media=kind, verdict=j.verdict,  # type: ignore[arg-type]
                               fake_probability=None, threshold=self.threshold, reasons=j.reasons, model=self.model,
                               timings=timings, kind=j.kind, kind_probability=j.kind_probability, provenance=provenance)
        timeline = tuple(TimelinePoint(n.timestamp, n.track_id, float(p)) for n, p in zip(notes, probs))
        timings["total"] = time.perf_counter() - start
        return MediaResult(path=path, media=kind, verdict=j.verdict,  # type: ignore[arg-type]
                           fake_probability=j.fake_probability, threshold=self.threshold, reasons=j.reasons,
                           model=self.model, tracks=j.tracks, timeline=timeline, timings=timings, kind=j.kind,
                           kind_probability=j.kind_probability, provenance=provenance,
                           evidence=scanned.evidence(probs))
