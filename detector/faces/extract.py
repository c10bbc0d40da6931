"""The face stage: media -> sampled frames -> detected, aligned, tracked faces with quality signals.

Detection runs on a downscaled copy of each frame (long side ``detect_long_side``) and the boxes and
landmarks are mapped back, because MTCNN's cost grows with pixel count while faces worth classifying
stay detectable at 640 px (a 60 px face in 1080p is 20 px there, MTCNN's default minimum). Alignment
then cuts the crop from the full-resolution frame. Frames are detected in batches, one PNet run per
pyramid level for the whole batch.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..errors import ConfigError
from ..media import Frame, MediaInfo, MediaLimits, open_media
from ..prefetch import Prefetch
from ..recipe import DetectionSpec, SamplingSpec
from ..results import TrackResult
from .align import AlignSpec, align_face
from .backends import create_detector
from .detections import Detections, FaceDetector
from .quality import FaceQuality, face_quality
from .short_tracks import ShortTrackFilter, drop_short_tracks
from .track import FaceTracker, TrackerConfig

__all__ = ["Face", "FaceConfig", "FaceExtractor", "FaceStream", "FacesResult", "drop_short_tracks", "summarize_tracks"]


@dataclass(frozen=True)
class FaceConfig:
    """Settings of the face stage: the scan recipe's detection and crop sections, plus how this run does the work.

    Attributes:
        detection: how faces are found and tracked (:class:`detector.recipe.DetectionSpec`: a model card's).
        align: the crop definition (shared with training; a model card's).
        backend: ``onnx`` (default, no torch) or ``facenet`` (facenet-pytorch).
        batch_frames: frames detected together.
        tracker: how faces are linked into tracks between samples.
    """

    detection: DetectionSpec = field(default_factory=DetectionSpec)
    align: AlignSpec = field(default_factory=AlignSpec)
    backend: str = "onnx"
    batch_frames: int = 8
    tracker: TrackerConfig = field(default_factory=TrackerConfig)

    def __post_init__(self) -> None:
        if self.batch_frames < 1:
            raise ConfigError(f"batch_frames must be >= 1, got {self.batch_frames}")


@dataclass(frozen=True, eq=False)
class Face:
    """One detected face in one sampled frame.

    Attributes:
        sample: ordinal of the sampled frame within its media (0-based).
        frame_index: frame number in the stream (see :class:`detector.media.Frame`).
        timestamp: seconds from the start.
        track_id: person track within this media (0-based).
        box: ``(x1, y1, x2, y2)`` in original frame pixels.
        landmarks: five ``(x, y)`` points in original frame pixels.
        quality: size, score, sharpness, frontalness.
        crop: the aligned ``(size, size, 3)`` uint8 RGB crop.
    """

    sample: int
    frame_index: int
    timestamp: float
    track_id: int
    box: tuple[float, float, float, float]
    landmarks: tuple[tuple[float, float], ...]
    quality: FaceQuality
    crop: np.ndarray = field(repr=False)

    def to_dict(self) -> dict[str, object]:
        return {
            "sample": self.sample,
            "frame_index": self.frame_index,
            "timestamp": round(self.timestamp, 4),
            "track_id": self.track_id,
            "box": [round(v, 2) for v in self.box],
            "landmarks": [[round(x, 2), round(y, 2)] for x, y in self.landmarks],
            "quality": self.quality.to_dict(),
        }


def summarize_tracks(faces: Iterable[Face]) -> tuple[TrackResult, ...]:
    """The persons of these faces, by track id, not yet scored (``fake_probability=None``); the judge
    (:func:`detector.judge.judge`) returns copies of them with their scores filled in."""
    by_track: dict[int, list[Face]] = {}
    for face in faces:
        by_track.setdefault(face.track_id, []).append(face)
    # max() keeps the first of equally large faces, so the box shown is the earliest of the largest.
    return tuple(
        TrackResult(track_id=tid, first_time=min(f.timestamp for f in fs), last_time=max(f.timestamp for f in fs),
                    n_faces=len(fs), mean_size_px=float(np.mean([f.quality.size_px for f in fs])),
                    box=max(fs, key=lambda f: f.quality.size_px).box)
        for tid, fs in sorted(by_track.items())
    )


@dataclass(frozen=True, eq=False)
class FacesResult:
    """Everything the face stage found in one media file."""

    media: MediaInfo
    n_frames: int
    faces: tuple[Face, ...]
    tracks: tuple[TrackResult, ...]
    timings: dict[str, float]
    dropped_tracks: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.media.path,
            "media": self.media.to_dict(),
            "n_frames": self.n_frames,
            "n_faces": len(self.faces),
            "tracks": [t.to_dict() for t in self.tracks],
            "dropped_tracks": self.dropped_tracks,
            "faces": [f.to_dict() for f in self.faces],
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }


def _detection_size(height: int, width: int, long_side: int) -> tuple[int, int]:
    """``(width, height)`` of the detection image: the long side shrunk to ``long_side`` (never enlarged)."""
    if not long_side or max(height, width) <= long_side:
        return width, height
    f = long_side / max(height, width)
    return max(1, round(width * f)), max(1, round(height * f))


def _downscale(image: np.ndarray, long_side: int) -> tuple[np.ndarray, float]:
    """Shrink so the long side is at most ``long_side``; returns the image and original/detection scale."""
    h, w = image.shape[:2]
    size = _detection_size(h, w, long_side)
    if size == (w, h):
        return image, 1.0
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return small, w / size[0]


def _integer_factor(height: int, width: int, size: tuple[int, int]) -> int:
    """The factor k when the detection image is the frame shrunk by exactly k in both axes, else 0."""
    k = width // size[0]
    return k if k >= 1 and size[0] * k == width and size[1] * k == height else 0


def _downscale_region(image: np.ndarray, k: int, region: tuple[int, int, int, int]) -> np.ndarray:
    """Pixels ``region`` (detection-image coordinates) of ``image`` shrunk by the integer factor ``k``.

    With an integer factor, area interpolation averages aligned k x k blocks, so this equals the same
    region cut from the whole downscaled frame, at the cost of the region only (in 1080p video the face
    region is a few percent of the frame; the full 1080p -> 640 px shrink costs ~6 ms per frame).
    """
    x0, y0, x1, y1 = region
    if k == 1:
        return image[y0:y1, x0:x1]
    return cv2.resize(image[y0 * k:y1 * k, x0 * k:x1 * k], (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)


class FaceExtractor:
    """Finds, aligns, tracks and scores faces in media files or in frames the caller already decoded.

    Example:
        >>> extractor = FaceExtractor()  # doctest: +SKIP
        >>> result = extractor.extract("clip.mp4")  # doctest: +SKIP
        >>> [(f.track_id, f.timestamp) for f in result.faces]  # doctest: +SKIP
    """

    def __init__(self, config: FaceConfig | None = None, *, detector: FaceDetector | None = None,
                 providers: Sequence[str] | None = None) -> None:
        self.config = config or FaceConfig()
        kwargs: dict[str, object] = {"min_face_size": self.config.detection.min_face_size}
        if self.config.backend == "onnx" and providers is not None:
            kwargs["providers"] = providers
        self.detector = detector or create_detector(self.config.backend, **kwargs)

    def iter_faces(self, frames: Iterable[Frame], *, timings: dict[str, float] | None = None) -> Iterator[Face]:
        """Faces of a stream of frames (one media), in frame order, with track ids assigned online (short tracks
        not dropped: :meth:`stream_frames` drops them)."""
        for faces, _ in self._iter_samples(frames, timings=timings):
            yield from faces

    def _iter_samples(self, frames: Iterable[Frame], *, timings: dict[str, float] | None = None
                      ) -> Iterator[tuple[list[Face], frozenset[int]]]:
        """One ``(faces, open tracks)`` per sampled frame, in order: its faces, and the tracks a later frame may
        still extend (what :class:`detector.faces.short_tracks.ShortTrackFilter` needs)."""
        tracker = FaceTracker(self.config.tracker)
        state: dict[str, np.ndarray] = {"prior": np.zeros((0, 4), np.float32)}  # last frame's boxes, for refine
        timings = timings if timings is not None else {}
        timings.setdefault("decode", 0.0)
        timings.setdefault("detect", 0.0)
        timings.setdefault("align", 0.0)
        batch: list[Frame] = []
        sample = 0
        it = iter(frames)
        while True:
            t0 = time.perf_counter()
            frame = next(it, None)
            timings["decode"] += time.perf_counter() - t0
            if frame is not None:
                # A batch shares one size (PNet runs on stacked frames); flush when the size changes.
                if batch and batch[0].image.shape != frame.image.shape:
                    yield from self._process(batch, sample, tracker, timings, state)
                    sample += len(batch)
                    batch = []
                batch.append(frame)
            if batch and (frame is None or len(batch) >= self.config.batch_frames):
                yield from self._process(batch, sample, tracker, timings, state)
                sample += len(batch)
                batch = []
            if frame is None:
                return

    def _process(self, batch: list[Frame], first_sample: int, tracker: FaceTracker, timings: dict[str, float],
                 state: dict[str, np.ndarray]) -> Iterator[tuple[list[Face], frozenset[int]]]:
        t0 = time.perf_counter()
        long_side = self.config.detection.detect_long_side
        sizes = [_detection_size(f.image.shape[0], f.image.shape[1], long_side) for f in batch]
        factors = [f.image.shape[1] / size[0] for f, size in zip(batch, sizes)]
        small: dict[int, np.ndarray] = {}

        def detection_image(i: int) -> np.ndarray:
            if i not in small:
                small[i] = _downscale(batch[i].image, long_side)[0]
            return small[i]

        every = self.config.detection.redetect_every if hasattr(self.detector, "refine") else 1
        region_of = getattr(self.detector, "refine_region", None)
        # Key frames get the full detector, all in one batched call; the others are refined one by one
        # from the frame before (in detection-image pixels), falling back to a full pass when it had no face.
        keys = [i for i in range(len(batch)) if (first_sample + i) % every == 0]
        full = dict(zip(keys, self.detector.detect([detection_image(i) for i in keys]))) if keys else {}
        kept: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for i in range(len(batch)):
            if i in full:
                dets = full[i]
            else:
                prior = kept[-1][0] / factors[i - 1] if kept else state["prior"]
                h, w = batch[i].image.shape[:2]
                k = _integer_factor(h, w, sizes[i])
                if len(prior) and region_of is not None and k:
                    # Shrink only the part of the frame that refine reads.
                    x0, y0, x1, y1 = region_of(prior, sizes[i][0], sizes[i][1])
                    part = _downscale_region(batch[i].image, k, (x0, y0, x1, y1))
                    offset = np.array([x0, y0, x0, y0], np.float32)
                    [dets] = self.detector.refine([part], [prior - offset])
                    dets = Detections(dets.boxes + offset, dets.scores, dets.landmarks + offset[:2])
                elif len(prior):
                    [dets] = self.detector.refine([detection_image(i)], [prior])
                else:
                    [dets] = self.detector.detect([detection_image(i)])
            keep = dets.scores >= self.config.detection.min_score
            kept.append((dets.boxes[keep] * factors[i], dets.scores[keep], dets.landmarks[keep] * factors[i]))
        state["prior"] = kept[-1][0] / factors[-1]
        t1 = time.perf_counter()
        timings["detect"] += t1 - t0
        samples: list[tuple[list[Face], frozenset[int]]] = []
        for offset, (frame, (boxes, scores, marks)) in enumerate(zip(batch, kept)):
            sample = first_sample + offset
            ids = tracker.update(sample, boxes, marks)
            faces: list[Face] = []
            for box, score, lm, tid in zip(boxes, scores, marks, ids):
                crop = align_face(frame.image, lm, self.config.align)
                faces.append(Face(
                    sample=sample, frame_index=frame.index, timestamp=frame.timestamp, track_id=tid,
                    box=tuple(float(v) for v in box), landmarks=tuple((float(x), float(y)) for x, y in lm),
                    quality=face_quality(box, lm, float(score), crop), crop=crop,
                ))
            samples.append((faces, tracker.open_tracks()))
        timings["align"] += time.perf_counter() - t1
        yield from samples

    def stream_frames(self, frames: Iterable[Frame], *, timings: dict[str, float] | None = None,
                      media: MediaInfo | None = None) -> FaceStream:
        """The kept faces of frames as they come (frames the caller holds, or a decoder's): see :class:`FaceStream`."""
        return FaceStream(self, frames, timings={} if timings is None else timings, media=media)

    @contextmanager
    def stream(self, path: str | os.PathLike[str], *, sampling: SamplingSpec | None = None,
               limits: MediaLimits | None = None) -> Iterator[FaceStream]:
        """Open one media file and stream its kept faces while it decodes (``with extractor.stream(p) as faces:``).

        Raises ``MediaError`` subclasses for unusable files: on opening, or part-way while iterating.
        """
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        with open_media(path, limits=limits) as media:
            timings["open"] = time.perf_counter() - t0
            # Decode ahead in a thread while this one detects (both release the GIL); ``decode`` then
            # times only the waits for frames, the part of decoding that detection did not hide.
            with Prefetch(media.frames(sampling), depth=self.config.batch_frames * 2, name="decode") as frames:
                yield self.stream_frames(frames, timings=timings, media=media.info)

    def extract_frames(self, frames: Sequence[Frame], *, timings: dict[str, float] | None = None) -> list[Face]:
        """Faces of frames the caller already holds (e.g. ``Frame(i, t, rgb_array)``), short tracks dropped."""
        return list(self.stream_frames(frames, timings=timings))

    def extract(self, path: str | os.PathLike[str], *, sampling: SamplingSpec | None = None,
                limits: MediaLimits | None = None) -> FacesResult:
        """Run the face stage on one media file. Raises ``MediaError`` subclasses for unusable files."""
        start = time.perf_counter()
        with self.stream(path, sampling=sampling, limits=limits) as found:
            kept = tuple(found)
        found.timings["total"] = time.perf_counter() - start
        assert found.media is not None
        return FacesResult(media=found.media, n_frames=found.n_frames, faces=kept, tracks=summarize_tracks(kept),
                           timings=found.timings, dropped_tracks=found.dropped_tracks)


class FaceStream:
    """The kept faces of one media's frames, found as the frames come: iterate it once.

    Faces come in frame order with short tracks already dropped and the rest renumbered, exactly as
    :meth:`FaceExtractor.extract` returns them, but each as soon as its track is known to be long enough (a few
    sampled frames later at most), so a consumer that keeps only what it needs of each face holds memory bounded
    by the tracks, not by the frames. After the iteration ``n_frames`` (sampled frames), ``dropped_tracks`` and
    ``timings`` (``decode``, ``detect``, ``align``; ``open`` for a file) are final.

    Attributes:
        media: what the file is, when a file was opened (:meth:`FaceExtractor.stream`); ``None`` for frames.
    """

    def __init__(self, extractor: FaceExtractor, frames: Iterable[Frame], *, timings: dict[str, float],
                 media: MediaInfo | None = None) -> None:
        self.media = media
        self.timings = timings
        self.n_frames = 0
        self.dropped_tracks = 0
        self._extractor = extractor
        self._frames = frames

    def __iter__(self) -> Iterator[Face]:
        keep: ShortTrackFilter[Face] = ShortTrackFilter(self._extractor.config.detection.min_track_faces)
        n = 0
        for faces, open_tracks in self._extractor._iter_samples(self._frames, timings=self.timings):
            n += 1
            yield from keep.add(faces, frames=n, open_tracks=open_tracks)
        yield from keep.finish(frames=n)
        self.n_frames, self.dropped_tracks = n, keep.dropped
