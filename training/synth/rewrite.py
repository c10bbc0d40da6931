"""Rewrite every frame of a video, face by face: the loop the video synthesisers share (ae-swap's ``swap``,
``sbi-video``, ``mouth_video``).

Every frame is decoded (:meth:`detector.media.MediaReader.every_frame`, rotation applied), its faces come from
the inference face stage (detection, tracking and landmarks as at scan time), an edit function repaints them,
and the frame is encoded (:class:`detector.video_writer.VideoWriter`, H.264) at the source's exact frame rate.
Frames without a face are written unchanged. Frames stream through: memory does not grow with length.
An edit that needs the frames around the one it repaints (``mouth_video`` takes the mouth from another frame of the
clip) gets a bounded window of them (:func:`rewrite_faces_in_context`): frames are held back until ``context``
later ones are in, so memory grows with the window, not with the clip.

Torch-free (numpy, OpenCV, the ONNX face detector), so ``sbi-video`` runs with the ``cpu`` extra alone.
"""

from __future__ import annotations

import itertools
import os
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType

import numpy as np

from detector.errors import ConfigError
from detector.faces.extract import Face, FaceExtractor
from detector.media import Frame, open_media
from detector.video_writer import VideoWriter

# Repaints the given faces of one frame: ``(H, W, 3)`` uint8 RGB in, the new frame out.
FrameEdit = Callable[[np.ndarray, Sequence[Face]], np.ndarray]


@dataclass(frozen=True, eq=False)
class FaceFrame:
    """One decoded frame, as read (never an edited copy), and the faces the face stage found in it."""

    index: int  # ordinal in the stream (0-based), as ``Face.sample``
    image: np.ndarray
    faces: tuple[Face, ...]


# Repaints the faces of ``frame`` given the frames around it (ordinal -> frame, ``frame.index`` ± the context,
# fewer at the ends of the clip): the new ``(H, W, 3)`` uint8 RGB image out.
ContextEdit = Callable[[FaceFrame, Mapping[int, FaceFrame]], np.ndarray]
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
    def in_place(frame: FaceFrame, window: Mapping[int, FaceFrame]) -> np.ndarray:
        return edit(frame.image, list(frame.faces))

    return rewrite_faces_in_context(src, dst, in_place, context=0, extractor=extractor, max_frames=max_frames,
                                    crf=crf, progress=progress)


def rewrite_faces_in_context(src: str | os.PathLike[str], dst: str | os.PathLike[str], edit: ContextEdit, *,
                             context: int, extractor: FaceExtractor, max_frames: int | None = None, crf: int = 18,
                             progress: ProgressFn | None = None) -> RewriteCounts:
    """:func:`rewrite_faces` for an edit that also reads the ``context`` frames before and after the one it repaints.

    ``edit(frame, window)`` is called once per frame with faces; ``window`` maps the ordinals ``frame.index -
    context`` to ``frame.index + context`` (those that exist, ``frame.index`` included) to the frames as decoded,
    with their faces. At most ``2 * context + 1`` frames are held besides the face stage's batch.

    Example:
        >>> def previous_frame(frame, window):  # each face frame shows the frame before it
        ...     return window.get(frame.index - 1, frame).image
        >>> rewrite_faces_in_context("real.mp4", "late.mp4", previous_frame, context=1,
        ...                          extractor=FaceExtractor())  # doctest: +SKIP

    Raises:
        detector.errors.MediaError: ``src`` cannot be read.
        ConfigError: ``src`` is a still image, ``max_frames`` < 1 or ``context`` < 0.
    """
    if max_frames is not None and max_frames < 1:
        raise ConfigError(f"max_frames must be >= 1, got {max_frames}")
    if context < 0:
        raise ConfigError(f"context must be >= 0, got {context}")
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
            return _rewrite(frames, edit, context, extractor, writer, report)


def _rewrite(frames: Iterator[Frame], edit: ContextEdit, context: int, extractor: FaceExtractor,
             writer: VideoWriter, report: Callable[[int], None]) -> RewriteCounts:
    # The face stage batches frames and yields faces in frame order, so a frame is complete (all its faces in) once
    # a face of a later frame, or the end of the stream, shows it. A complete frame is written once ``context``
    # later frames are complete too; ``window`` keeps the last ``2 * context + 1`` complete frames.
    pending: deque[Frame] = deque()
    faces_of: dict[int, list[Face]] = {}
    window: dict[int, FaceFrame] = {}
    complete = 0  # frames complete so far (the next complete frame's ordinal)
    edited = n_faces = 0

    def source() -> Iterator[Frame]:
        for frame in frames:
            pending.append(frame)
            yield frame

    def write_until(last: int) -> None:
        nonlocal edited, n_faces
        while writer.n_frames <= last:
            frame = window[writer.n_frames]
            image = frame.image
            if frame.faces:
                # Exactly the frames within ``context``: what an edit sees must not hang on the face stage's batching.
                near = range(frame.index - context, frame.index + context + 1)
                image = edit(frame, MappingProxyType({i: window[i] for i in near if i in window}))
                edited += 1
                n_faces += len(frame.faces)
            writer.write(image)
            window.pop(writer.n_frames - 1 - context, None)  # no later frame's window reaches it
            report(writer.n_frames)

    def flush(before: int | None) -> None:
        nonlocal complete
        while pending and (before is None or complete < before):
            window[complete] = FaceFrame(complete, pending.popleft().image, tuple(faces_of.pop(complete, [])))
            complete += 1
        write_until(complete - 1 - (context if before is not None else 0))

    for face in extractor.iter_faces(source()):
        flush(face.sample)
        faces_of.setdefault(face.sample, []).append(face)
    flush(None)
    return RewriteCounts(writer.n_frames, edited, n_faces)
