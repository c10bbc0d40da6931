"""The embeddable API: ``Detector.load().scan(path) -> MediaResult``.

Example:
    >>> from detector import Detector
    >>> detector = Detector.load()  # bundled default model  # doctest: +SKIP
    >>> result = detector.scan("clip.mp4")  # doctest: +SKIP
    >>> result.verdict, result.fake_probability  # doctest: +SKIP
    ('real', 0.08)

The verdict rules, in order:

1. no face in any sampled frame -> ``no_face`` (reason ``no_face_found``);
2. faces whose box is smaller than ``min_face_px`` are not evidence; if no other face is left ->
   ``uncertain`` (``faces_too_small``), with the probability of the small faces still reported;
3. a video with fewer than ``min_faces`` usable faces -> ``uncertain`` (``too_few_frames``);
4. most usable faces blurred flat or in profile -> ``uncertain`` (``low_quality``);
5. a probability within ``uncertain_band`` of the threshold -> ``uncertain`` (``near_threshold``);
6. else ``fake`` (``above_threshold``) or ``real`` (``below_threshold``).

Person (track) scores aggregate face probabilities with the model card's strategy; the video's
probability is its most suspicious person's.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .aggregate import track_score, video_score
from .classifier import Classifier
from .errors import DetectorError
from .faces.extract import Face, FaceConfig, FaceExtractor, drop_short_tracks
from .media import Frame, MediaLimits, Sampling
from .prefetch import Prefetch
from .results import (
    ABOVE_THRESHOLD,
    BELOW_THRESHOLD,
    FACES_TOO_SMALL,
    LOW_QUALITY,
    NEAR_THRESHOLD,
    NO_FACE_FOUND,
    TOO_FEW_FRAMES,
    FaceEvidence,
    MediaResult,
    ModelInfo,
    TimelinePoint,
    TrackResult,
)

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class ScanConfig:
    """Attributes:
        frames: frames sampled evenly per video.
        fps: sample at a fixed rate instead.
        threshold: decision threshold on the calibrated probability (None: the model card's).
        uncertain_band: half-width of the ``uncertain`` band around the threshold.
        min_face_px: faces with a shorter box side are not evidence (the default model sees 128 px crops;
            a 40 px face upscaled 3x carries little of what it looks for).
        min_faces: usable faces a video needs for a verdict.
        min_sharpness: faces below this Laplacian variance (at crop size) count as low quality.
        min_frontalness: faces below this are in profile and count as low quality.
        limits: media guard rails.
    """

    frames: int = 32
    fps: float | None = None
    threshold: float | None = None
    uncertain_band: float = 0.1
    min_face_px: float = 40.0
    min_faces: int = 3
    min_sharpness: float = 5.0
    min_frontalness: float = 0.2
    limits: MediaLimits = field(default_factory=MediaLimits)


class Detector:
    """Face stage + classifier + aggregation. Build with :meth:`load`."""

    def __init__(self, classifier: Classifier, *, config: ScanConfig | None = None,
                 face_config: FaceConfig | None = None, providers: Sequence[str] | None = None) -> None:
        self.classifier = classifier
        self.config = config or ScanConfig()
        # Crops must be made exactly as the model was trained: its card's alignment.
        face_config = face_config or FaceConfig()
        if face_config.align != classifier.align:
            face_config = replace(face_config, align=classifier.align)
        self.faces = FaceExtractor(face_config, providers=providers)
        card = classifier.card
        self.model = ModelInfo(card.name, card.version, card.sha256)
        self.threshold = self.config.threshold if self.config.threshold is not None else card.threshold

    @classmethod
    def load(cls, model: str | os.PathLike[str] | None = None, *, config: ScanConfig | None = None,
             providers: Sequence[str] | None = None, batch_size: int = 32) -> Detector:
        """The bundled default model, or ``model`` (an ``.onnx`` with its card ``.json`` beside it).

        Raises:
            ModelIntegrityError: the model file or its card is missing, unreadable or does not match.
        """
        classifier = (Classifier.default(providers=providers, batch_size=batch_size) if model is None
                      else Classifier.load(model, providers=providers, batch_size=batch_size))
        return cls(classifier, config=config, providers=providers)

    # -- public API --------------------------------------------------------------------------------

    def scan(self, path: str | os.PathLike[str], *, evidence: int = 0) -> MediaResult:
        """Scan one video or image. Raises ``DetectorError`` subclasses for unusable files.

        ``evidence``: keep the crops of this many most suspicious faces in ``result.evidence`` (reports).
        """
        start = time.perf_counter()
        found = self.faces.extract(path, sampling=Sampling(num_frames=self.config.frames, fps=self.config.fps),
                                   limits=self.config.limits)
        return self._judge(str(path), found.media.kind, list(found.faces), found.n_frames, dict(found.timings), start,
                           evidence=evidence)

    def scan_many(self, paths: Iterable[str | os.PathLike[str]], *, evidence: int = 0) -> Iterator[MediaResult]:
        """Scan many files, yielding results in input order; a bad file yields an ``error`` result and the
        rest go on.

        Throughput: the next files are decoded and searched for faces in a background thread while this one
        classifies, and the faces of consecutive files are classified together in batches of
        ``classifier.batch_size`` (a folder of photos costs one classifier call per batch, not per photo).
        Results are held back until their batch is full, at most ``batch_size`` files.
        """
        pending: list[_Extracted] = []
        n_faces = 0
        with Prefetch(self._extract_each(paths), depth=2, name="extract") as stream:
            for item in stream:
                pending.append(item)
                n_faces += len(item.faces)
                if n_faces >= self.classifier.batch_size:
                    yield from self._finish(pending, evidence)
                    pending, n_faces = [], 0
        yield from self._finish(pending, evidence)

    def _extract_each(self, paths: Iterable[str | os.PathLike[str]]) -> Iterator[_Extracted]:
        sampling = Sampling(num_frames=self.config.frames, fps=self.config.fps)
        for path in paths:
            start = time.perf_counter()
            try:
                found = self.faces.extract(path, sampling=sampling, limits=self.config.limits)
            except DetectorError as exc:
                yield _Extracted(str(path), time.perf_counter() - start, error=exc.to_dict())
                continue
            except Exception as exc:  # one broken file must not end the batch
                log.debug("unexpected error on %s", path, exc_info=True)
                yield _Extracted(str(path), time.perf_counter() - start,
                                 error={"code": "internal_error", "message": f"{type(exc).__name__}: {exc}"})
                continue
            faces = self._evidence_faces(list(found.faces), found.n_frames)
            yield _Extracted(str(path), time.perf_counter() - start, found.media.kind, faces, found.n_frames,
                             dict(found.timings))

    def _finish(self, batch: list[_Extracted], evidence: int) -> Iterator[MediaResult]:
        """Classify the faces of several files in one go, then judge each file."""
        crops = [f.crop for item in batch for f in item.faces]
        t0 = time.perf_counter()
        probs = self.classifier.predict(np.stack(crops)) if crops else np.zeros(0, np.float32)
        per_face = (time.perf_counter() - t0) / max(1, len(crops))
        offset = 0
        for item in batch:
            if item.error is not None:
                yield MediaResult.failed(item.path, item.error, model=self.model, threshold=self.threshold)
                continue
            n = len(item.faces)
            item.timings["classify"] = per_face * n  # this file's share of the batch
            # A file's total is its own work: extraction, its share of the classifier batch, its verdict.
            # Measuring from when its extraction began would add the time it then waited while later files
            # were extracted to fill the batch (the first file of a batch would carry the whole batch).
            start = time.perf_counter() - item.elapsed - item.timings["classify"]
            yield self._judge(item.path, item.kind, item.faces, item.n_frames, item.timings, start,
                              evidence=evidence, probs=probs[offset:offset + n])
            offset += n

    def scan_frames(self, frames: Sequence[Frame] | Sequence[np.ndarray], *, name: str = "<frames>",
                    timestamps: Sequence[float] | None = None, evidence: int = 0) -> MediaResult:
        """Scan decoded RGB frames (``Frame`` objects or ``(H, W, 3)`` uint8 arrays) as one video."""
        items = [f if isinstance(f, Frame) else Frame(i, float(timestamps[i]) if timestamps else float(i),
                                                     np.asarray(f, np.uint8)) for i, f in enumerate(frames)]
        timings: dict[str, float] = {}
        start = time.perf_counter()
        faces = list(self.faces.iter_faces(items, timings=timings))
        return self._judge(name, "video" if len(items) > 1 else "image", faces, len(items), timings, start,
                           evidence=evidence)

    def scan_image(self, image: np.ndarray, *, name: str = "<image>", evidence: int = 0) -> MediaResult:
        """Scan one decoded ``(H, W, 3)`` uint8 RGB image."""
        return self.scan_frames([Frame(0, 0.0, np.asarray(image, np.uint8))], name=name, evidence=evidence)

    # -- verdicts ----------------------------------------------------------------------------------

    def _evidence_faces(self, faces: list[Face], n_frames: int) -> list[Face]:
        """Faces that count: tracks seen in too few frames are detector noise."""
        return list(drop_short_tracks(faces, n_frames, self.faces.config.tracker.min_track_faces)[0])

    def _judge(self, path: str, kind: str, faces: list[Face], n_frames: int, timings: dict[str, float],
               start: float, *, evidence: int = 0, probs: np.ndarray | None = None) -> MediaResult:
        """Verdict of one file; ``probs`` are the faces' probabilities when already classified (in a batch)."""
        cfg = self.config
        if probs is None:
            faces = self._evidence_faces(faces, n_frames)
        if not faces:
            timings["total"] = time.perf_counter() - start
            return MediaResult(path=path, media=kind, verdict="no_face", fake_probability=None,
                               threshold=self.threshold, reasons=(NO_FACE_FOUND,), model=self.model, timings=timings)
        if probs is None:
            t0 = time.perf_counter()
            probs = self.classifier.predict(np.stack([f.crop for f in faces]))
            timings["classify"] = time.perf_counter() - t0
        params = dict(self.classifier.card.aggregation)
        strategy = params.pop("strategy", "mean")
        usable = np.array([f.quality.size_px >= cfg.min_face_px for f in faces])
        reasons: list[str] = []
        if not usable.any():
            reasons.append(FACES_TOO_SMALL)
            usable[:] = True  # still report what the small faces say
        tracks, per_track = [], {}
        for tid in sorted({f.track_id for f in faces}):
            idx = [i for i, f in enumerate(faces) if f.track_id == tid]
            use = [i for i in idx if usable[i]] or idx
            score = track_score(probs[use], strategy, **params)
            if any(usable[i] for i in idx):
                per_track[tid] = score
            largest = max(idx, key=lambda i: faces[i].quality.size_px)
            tracks.append(TrackResult(tid, faces[idx[0]].timestamp, faces[idx[-1]].timestamp, len(idx), score,
                                      faces[largest].box, float(np.mean([faces[i].quality.size_px for i in idx]))))
        probability = video_score(per_track)
        good = [f for f, u in zip(faces, usable) if u]
        if kind == "video" and len(good) < cfg.min_faces and FACES_TOO_SMALL not in reasons:
            reasons.append(TOO_FEW_FRAMES)
        low = sum(f.quality.sharpness < cfg.min_sharpness or f.quality.frontalness < cfg.min_frontalness for f in good)
        if low > len(good) / 2:
            reasons.append(LOW_QUALITY)
        if abs(probability - self.threshold) < cfg.uncertain_band:
            reasons.append(NEAR_THRESHOLD)
        if reasons:
            verdict = "uncertain"
        else:
            verdict = "fake" if probability >= self.threshold else "real"
            reasons.append(ABOVE_THRESHOLD if verdict == "fake" else BELOW_THRESHOLD)
        timeline = tuple(TimelinePoint(f.timestamp, f.track_id, float(p)) for f, p in zip(faces, probs))
        # Most suspicious usable faces first (ties: earlier first), for reports.
        top = sorted(np.flatnonzero(usable), key=lambda i: (-probs[i], i))[:max(0, evidence)]
        kept = tuple(FaceEvidence(faces[i].track_id, faces[i].timestamp, float(probs[i]), faces[i].box, faces[i].crop)
                     for i in top)
        timings["total"] = time.perf_counter() - start
        return MediaResult(path=path, media=kind, verdict=verdict, fake_probability=float(probability),
                           threshold=self.threshold, reasons=tuple(reasons), model=self.model, tracks=tuple(tracks),
                           timeline=timeline, timings=timings, evidence=kept)
