"""Aligned face crops from media paths, for the synthesisers that train on faces (ae-swap, the GAN).

Videos and photos go through the inference face stage (:class:`detector.faces.extract.FaceExtractor`):
detection, tracking and alignment are exactly those of a scan, only the crop definition (:class:`AlignSpec`)
is the caller's. Folders hold crops aligned before (png/jpg/...); they are only resized.

The crop cache (:mod:`training.crops`) is the other way in: it keeps every face of a whole data set, with
landmarks and scores, on disk; this returns the crops of a few inputs in memory.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from detector.errors import DetectorError
from detector.faces.align import AlignSpec
from detector.faces.extract import Face, FaceConfig, FaceExtractor
from detector.media import IMAGE_EXTENSIONS
from detector.recipe import SamplingSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class CollectedCrops:
    """Crops ``(N, S, S, 3)`` uint8 RGB (``N`` may be 0), and the inputs skipped because the face stage refused
    them (with ``skip_errors``)."""

    crops: np.ndarray
    failed: tuple[str, ...] = ()


def main_track(faces: Sequence[Face]) -> list[Face]:
    """Faces of the track seen most often (ties: the larger faces), i.e. the video's main person."""
    by_track: dict[int, list[Face]] = {}
    for face in faces:
        by_track.setdefault(face.track_id, []).append(face)
    if not by_track:
        return []
    return max(by_track.values(), key=lambda fs: (len(fs), float(np.mean([f.quality.size_px for f in fs]))))


def collect_face_crops(paths: Sequence[str | os.PathLike[str]], *, align: AlignSpec, frames_per_video: int,
                       main_track_only: bool = True, limit: int | None = None, skip_errors: bool = False,
                       extractor: FaceExtractor | None = None) -> CollectedCrops:
    """Aligned face crops of ``paths``, in input order.

    Args:
        paths: videos or photos (through the face stage), or folders of aligned crop images (resized to
            ``align.size``; unreadable files are logged and skipped).
        align: the crop definition.
        frames_per_video: frames sampled evenly over each video.
        main_track_only: keep only each input's main person (:func:`main_track`), as for training one
            identity; else every face found.
        limit: stop after this many crops.
        skip_errors: log and skip inputs the face stage refuses (``DetectorError``: unreadable media...) and
            name them in ``failed``; else the error is raised.
        extractor: a face stage to reuse (it is built on first use otherwise); its alignment is replaced by
            ``align``, keeping its detector.
    """
    crops: list[np.ndarray] = []
    failed: list[str] = []
    stage: FaceExtractor | None = None  # built on first use: loading the detector is not free

    for raw in paths:
        room = None if limit is None else limit - len(crops)
        if room is not None and room <= 0:
            break
        path = Path(raw)
        if path.is_dir():
            crops.extend(itertools.islice(_aligned_images(path, align.size), room))
            continue
        stage = stage or _with_alignment(extractor, align)
        try:
            result = stage.extract(path, sampling=SamplingSpec(frames=frames_per_video))
        except DetectorError as exc:
            if not skip_errors:
                raise
            log.warning("%s: %s: %s (skipped)", path, exc.code, exc.message)
            failed.append(str(path))
            continue
        faces = main_track(result.faces) if main_track_only else result.faces
        log.info("%s: %d face crops from %d sampled frames", path, len(faces), result.n_frames)
        crops.extend(f.crop for f in list(faces)[:room])
    array = np.stack(crops) if crops else np.zeros((0, align.size, align.size, 3), np.uint8)
    return CollectedCrops(array.astype(np.uint8, copy=False), tuple(failed))


def _with_alignment(extractor: FaceExtractor | None, align: AlignSpec) -> FaceExtractor:
    if extractor is None:
        return FaceExtractor(FaceConfig(align=align))
    if extractor.config.align == align:
        return extractor
    # Same detector (and backend), different crop definition: rebuilding the detector is the slow part.
    return FaceExtractor(replace(extractor.config, align=align), detector=extractor.detector)


def _aligned_images(directory: Path, size: int) -> Iterator[np.ndarray]:
    for path in sorted(p for p in directory.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS):
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            log.warning("%s: not a readable image, skipped", path)
            continue
        yield _resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), size)


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    if image.shape[:2] == (size, size):
        return image
    # Area averaging when shrinking (no aliasing), cubic when enlarging.
    interpolation = cv2.INTER_AREA if max(image.shape[:2]) > size else cv2.INTER_CUBIC
    return cv2.resize(image, (size, size), interpolation=interpolation)
