"""Rewrite every frame of a video, face by face: the loop the video synthesisers share (ae-swap's ``swap``,
``sbi-video``).

Every frame is decoded (:meth:`detector.media.MediaReader.every_frame`, rotation applied), its faces come from
the inference face stage (detection, tracking and landmarks as at scan time), an edit function repaints them,
and the frame is encoded (:class:`detector.video_writer.VideoWriter`, H.264) at the source's exact frame rate.
Frames without a face are written unchanged. Frames stream through: memory does not grow with length.

Torch-free (numpy, OpenCV, the ONNX face detector), so ``sbi-video`` runs with the ``cpu`` extra alone.
"""

from __future__ import annotations

import itertools
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from detector.errors import ConfigError
from detector.faces.extract import Face, FaceExtractor
from detector.media import Frame, open_media
from detector.video_writer import VideoWriter

# Repaints the given faces of one frame: ``(H, W, 3)`` uint8 RGB in, the new frame out.
FrameEdit = Callable[[np.ndarray, Sequence[Face]], np.ndarray]
# Called with (frames done, frame count or None when the container does not say); first with 0 frames done.
ProgressFn = Callable[[int, int | None], None]

# Containers that state no frame rate: PAL's 25 fps, the usual fallback.
_FALLBACK_RATE = Fraction(25)


@dataclass(frozen=True)
class RewriteCounts:
    """What :func:`rewrite_faces` wrote: frames, frames with at least one face, faces."""

    n_frames: int
    n_edited_frames: int
    n_faces: int


def rewrite_faces(src: str | os.PathLike[str], dst: str | os.PathLike[str], edit: FrameEdit, *,
                  extractor: FaceExtractor, max_frames: int | None = None, crf: int = 18,
                  progress: ProgressFn | None = None) -> RewriteCounts:
    """Write ``dst`` (H.264; its folder is created): ``src`` with ``edit`` applied to each frame that has faces.

    Args:
        src: a video (a still image is refused).
        dst: output file (``.mp4``).
        edit: called once per frame with faces, with all of that frame's faces (the extractor's ``min_score``
            and tracker decide which), in the extractor's order.
        extractor: the face stage.
        max_frames: stop after this many frames.
        crf: x264 quality (lower is better; 18 is visually lossless).
        progress: called once before the first frame and after each one.

    Raises:
        detector.errors.MediaError: ``src`` cannot be read.
        ConfigError: ``src`` is a still image, or ``max_frames`` < 1.
    """
    if max_frames is not None and max_frames < 1:
        raise ConfigError(f"max_frames must be >= 1, got {max_frames}")
    with open_media(src) as media:
        if media.info.kind != "video":
            raise ConfigError(f"{src} is a still image, not a video")
        total = media.frame_count
        if max_frames is not None and total is not None:
            total = min(total, max_frames)
        if progress is not None:
            progress(0, total)

        def report(done: int) -> None:
            if progress is not None:
                progress(done, total)

        frames = itertools.islice(media.every_frame(), max_frames)
        with VideoWriter(dst, media.frame_rate or _FALLBACK_RATE, crf=crf) as writer:
            return _rewrite(frames, edit, extractor, writer, report)


def _rewrite(frames: Iterator[Frame], edit: FrameEdit, extractor: FaceExtractor, writer: VideoWriter,
             report: Callable[[int], None]) -> RewriteCounts:
    # The face stage batches frames and yields faces in frame order, so a frame can be written once a face of a
    # later frame (or the end of the stream) shows that all its faces are in.
    pending: deque[Frame] = deque()
    faces_of: dict[int, list[Face]] = {}
    edited = n_faces = 0

    def source() -> Iterator[Frame]:
        for frame in frames:
            pending.append(frame)
            yield frame

    def flush(before: int | None) -> None:
        nonlocal edited, n_faces
        while pending and (before is None or writer.n_frames < before):
            image = pending.popleft().image
            faces = faces_of.pop(writer.n_frames, [])
            if faces:
                image = edit(image, faces)
                edited += 1
                n_faces += len(faces)
            writer.write(image)
            report(writer.n_frames)

    for face in extractor.iter_faces(source()):
        flush(face.sample)
        faces_of.setdefault(face.sample, []).append(face)
    flush(None)
    return RewriteCounts(writer.n_frames, edited, n_faces)
