"""An opened media file: probes it once, then hands out frames through the decoding strategy that fits."""

from __future__ import annotations

import os
from collections.abc import Iterator
from fractions import Fraction
from typing import Self

import av

from ..errors import CorruptMediaError, MediaError, NoDecodableFramesError
from ..recipe import SamplingSpec
from .decode_all import decode_all
from .decode_rate import decode_rate
from .decode_seek import decode_seek
from .frame import Frame, FrameConverter, frame_time
from .limits import MediaLimits
from .probe import MediaInfo, probe_media
from .reference_skip import ReferenceFrameSkip
from .sampling import skips_nonreference, target_times


class MediaReader:
    """An opened media file. Use :func:`open_media`; close it (or use ``with``) when done.

    Attributes:
        path: the checked path.
        limits: the guard rails it was opened under.
        info: what the file is (see :class:`MediaInfo`).
    """

    def __init__(self, path: str | os.PathLike[str], *, limits: MediaLimits | None = None) -> None:
        self.limits = limits or MediaLimits()
        self._media = probe_media(path, self.limits)
        self.path = self._media.path
        self.info: MediaInfo = self._media.info
        self._convert = FrameConverter(path=self.path, max_pixels=self.limits.max_pixels,
                                       sample_aspect=self._media.sample_aspect, rotation=self._media.rotation,
                                       mirror=self._media.mirror)
        # Shared by every pass over this reader: each frames()/every_frame() call starts it afresh.
        self._skip = ReferenceFrameSkip(self._media.stream, self.info.fps)

    @property
    def frame_rate(self) -> Fraction | None:
        """The video stream's exact average frame rate (e.g. 30000/1001); ``None`` for stills or when unknown.

        ``info.fps`` is the same rate as a float; a writer re-encoding every frame needs the exact fraction.
        """
        if self.info.kind != "video":
            return None
        stream = self._media.stream
        rate = stream.average_rate or stream.guessed_rate
        return Fraction(rate) if rate else None

    @property
    def frame_count(self) -> int | None:
        """Frames the stream says it holds, else estimated from duration and rate; ``None`` when neither is known."""
        if self.info.kind == "image":
            return 1
        if self._media.stream.frames:
            return int(self._media.stream.frames)
        if self.info.duration_s and self.info.fps:
            return max(1, round(self.info.duration_s * self.info.fps))
        return None

    def frames(self, sampling: SamplingSpec | None = None) -> Iterator[Frame]:
        """Yield sampled frames in time order. Raises ``MediaError`` subclasses on broken input."""
        yield from self._checked(self._sampled(sampling or SamplingSpec()), unit="sampled frames")

    def every_frame(self) -> Iterator[Frame]:
        """Yield every frame of a video in stream order, rotation applied (a still image: its one frame).

        For tools that rewrite a whole video (a face swap re-encodes every frame). Sampling at the stream's rate
        is not the same: variable-rate footage has stretches faster than the average, whose extra frames a
        time grid would drop. ``Frame.index`` counts the decoded frames; no ``MediaLimits.max_sampled_frames``
        cap, since frames stream through and are not held.
        """
        if self.info.kind == "image":
            yield from self.frames()
            return
        yield from self._checked(self._every_frame(), unit="frames")

    def _every_frame(self) -> Iterator[Frame]:
        self._skip.begin(False)
        for ordinal, frame in enumerate(self._media.container.decode(self._media.stream)):
            yield self._convert(frame, ordinal, frame_time(frame, ordinal, self.info.fps))

    def _sampled(self, sampling: SamplingSpec) -> Iterator[Frame]:
        """Pick the strategy: the still itself, on-the-fly sampling without a duration, else seeking for long
        videos and decoding everything for short ones."""
        self._skip.reset()
        if self.info.kind == "image":
            assert self._media.still is not None
            yield self._convert(self._media.still, 0, 0.0)
            return
        stream = self._media.stream
        start = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
        duration = self.info.duration_s
        if duration is None or duration <= 0:
            # Unknown length even after demuxing: take every frame's time as it comes, capped.
            yield from decode_rate(self._media, sampling, convert=self._convert,
                                   max_frames=self.limits.max_sampled_frames)
            return
        targets = target_times(sampling, start, duration, self.limits)
        self._skip.begin(skips_nonreference(sampling, duration, self.info.fps))
        strategy = decode_seek if duration >= sampling.seek_above_s else decode_all
        yield from strategy(self._media, targets, convert=self._convert, skip=self._skip)

    def _checked(self, frames: Iterator[Frame], *, unit: str) -> Iterator[Frame]:
        """``frames``, with FFmpeg's errors turned into ``MediaError`` subclasses, and none at all an error."""
        spath = str(self.path)
        yielded = 0
        try:
            for frame in frames:
                yielded += 1
                yield frame
        except MediaError:
            raise
        except av.error.FFmpegError as exc:
            raise CorruptMediaError(f"decoding failed in {spath} after {yielded} {unit}: {exc}", path=spath) from None
        if yielded == 0:
            raise NoDecodableFramesError(f"no decodable frames in {spath}", path=spath)

    def close(self) -> None:
        self._media.container.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_media(path: str | os.PathLike[str], *, limits: MediaLimits | None = None) -> MediaReader:
    """Open a video or image file.

    Example:
        >>> with open_media("clip.mp4") as media:  # doctest: +SKIP
        ...     for frame in media.frames(SamplingSpec(frames=8)):
        ...         print(frame.timestamp, frame.image.shape)

    Raises:
        MediaError: a subclass with a stable ``code`` for each way a file can be unusable.
    """
    return MediaReader(path, limits=limits)


def read_frames(path: str | os.PathLike[str], *, sampling: SamplingSpec | None = None,
                limits: MediaLimits | None = None) -> tuple[MediaInfo, list[Frame]]:
    """Open, sample and close in one call (holds all sampled frames; prefer :func:`open_media` for long runs)."""
    with open_media(path, limits=limits) as media:
        return media.info, list(media.frames(sampling))
