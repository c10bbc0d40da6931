"""Media ingestion: open any video or image through one interface and sample frames by time.

Videos (mp4/mov/webm/mkv/avi/...), still images (jpg/png/webp/bmp) and animated GIFs all go through
PyAV (FFmpeg), so one code path handles codecs, rotation metadata, odd sizes, grayscale, alpha and
variable frame rate.

Sampling is by time, never by frame number, so variable-frame-rate footage is sampled evenly:

* ``Sampling(num_frames=N)``: N timestamps spread evenly over the duration (centred in N equal
  slices, which skips the black first frame of a fade-in).
* ``Sampling(fps=2.0)``: one frame every 0.5 s.

Two decode strategies, chosen by duration (measured on the 2-core dev machines):
short clips decode every frame and convert only the sampled ones to RGB (a 10 s 1080p clip decodes in
~0.4-0.75 s; seeking there is 2-10x slower); long videos seek to the keyframe before each timestamp
(faster from ~60 s on). Frames are streamed: memory stays flat in video length.

When the samples are sparse (at least 4 frame intervals apart), the decoder also skips the frames no
other frame is predicted from (FFmpeg ``skip_frame=NONREF``: the non-reference B-frames, half of a
default x264 stream), so a sampled frame is the nearest *reference* frame to its time, one frame interval
off at most. Where skipping leaves a gap over 2.5 frame intervals (long runs of unreferenced frames, or
a slow stretch of variable-rate footage), every frame is decoded from there on. This halves decoding of
a 10 s 1080p x264 clip (1.1 -> 0.57 s wall, 1.9 -> 1.0 CPU-s, 2026-11-30); streams without B-frames
decode as before.
"""

from __future__ import annotations

import errno
import math
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, Literal, Self

import av
import numpy as np

from .errors import (
    ConfigError,
    CorruptMediaError,
    EmptyMediaError,
    IsADirectoryMediaError,
    MediaError,
    MediaNotFoundError,
    MediaPermissionError,
    MediaTooLargeError,
    MediaTooLongError,
    NoDecodableFramesError,
    NoVideoStreamError,
    UnreadablePathError,
    UnsupportedCodecError,
    UnsupportedMediaError,
)
from .recipe import SamplingSpec
from .sniff import sniff_image, sniff_media

VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".wmv", ".flv", ".mpg", ".mpeg",
                              ".ts", ".mts", ".m2ts", ".3gp", ".ogv", ".gif"})
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})
MEDIA_EXTENSIONS = VIDEO_EXTENSIONS | IMAGE_EXTENSIONS

# FFmpeg demuxers that hold a single still picture.
_IMAGE_DEMUXERS = ("image2", "png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "jpegls_pipe", "tiff_pipe")

# FFmpeg demuxer for each format ``sniff_media`` names, so the bytes, not the file name, choose it. Formats
# left out (elementary streams, other RIFF) are probed by FFmpeg.
_DEMUXERS: dict[str, str] = {
    "mp4/mov": "mov", "matroska/webm": "matroska", "avi": "avi", "flv": "flv", "ogg": "ogg", "mpeg-ps": "mpeg",
    "mpeg-ts": "mpegts", "m2ts": "mpegts", "asf/wmv": "asf", "jpeg": "jpeg_pipe", "png": "png_pipe", "gif": "gif",
    "bmp": "bmp_pipe", "webp": "webp_pipe", "tiff": "tiff_pipe", "mp3": "mp3", "flac": "flac", "y4m": "yuv4mpegpipe",
    "ivf": "ivf",
}

MediaKind = Literal["video", "image"]


@dataclass(frozen=True)
class MediaLimits:
    """Guard rails against hostile or absurd input.

    Attributes:
        max_pixels: most pixels allowed in one frame; 40 MP admits 8K UHD (33.2 MP) and refuses
            decompression bombs before a decoder allocates them.
        max_duration_s: longest video accepted (default 6 h).
        max_sampled_frames: most frames one media may yield (guards ``fps`` sampling on long videos).
    """

    max_pixels: int = 40_000_000
    max_duration_s: float = 6 * 3600.0
    max_sampled_frames: int = 10_000


@dataclass(frozen=True)
class Sampling:
    """Which frames to take from a video. Exactly one of ``num_frames`` / ``fps`` is used.

    Attributes:
        num_frames: frames evenly spread over the duration (default: the scan recipe's, ``SamplingSpec.frames``).
        fps: a fixed sampling rate instead; overrides ``num_frames``.
        seek_above_s: videos at least this long are read by keyframe seeking, shorter ones by decoding
            everything (seeking measured 2-10x slower on 10 s clips and faster on 60 s clips).
        reference_frames_only: when samples lie at least ``sparse_step_frames`` frame intervals apart,
            skip decoding non-reference frames (see the module docstring). False decodes every frame.
        sparse_step_frames: the spacing, in frame intervals, from which samples count as sparse. 4 keeps
            a sample's one-frame shift a quarter of the spacing or less, so samples stay distinct.
    """

    num_frames: int = SamplingSpec.frames
    fps: float | None = None
    seek_above_s: float = 30.0
    reference_frames_only: bool = True
    sparse_step_frames: float = 4.0

    def __post_init__(self) -> None:
        if self.fps is None and self.num_frames < 1:
            raise ConfigError(f"num_frames must be >= 1, got {self.num_frames}")
        if self.fps is not None and not (self.fps > 0 and math.isfinite(self.fps)):
            raise ConfigError(f"fps must be a positive number, got {self.fps}")

    @classmethod
    def from_spec(cls, spec: SamplingSpec) -> Sampling:
        """The sampling a scan recipe's :class:`SamplingSpec` describes (other fields at their defaults)."""
        return cls(num_frames=spec.frames, fps=spec.fps)

    def timestamps(self, start: float, duration: float, limits: MediaLimits) -> list[float]:
        """Target times (seconds) for a stream starting at ``start`` and lasting ``duration``."""
        if self.fps is not None:
            count = max(1, int(duration * self.fps))
            if count > limits.max_sampled_frames:
                raise MediaTooLongError(
                    f"sampling at {self.fps:g} fps gives {count} frames over {duration:.1f} s, more than the "
                    f"limit of {limits.max_sampled_frames}; lower --fps or raise the limit"
                )
            return [start + i / self.fps for i in range(count)]
        step = duration / self.num_frames
        return [start + (i + 0.5) * step for i in range(self.num_frames)]

    def skips_nonreference(self, duration: float, fps: float | None) -> bool:
        """Whether sampling a ``duration``-second stream at ``fps`` decodes reference frames only."""
        if not self.reference_frames_only or not fps or fps <= 0 or duration <= 0:
            return False
        step_s = 1.0 / self.fps if self.fps is not None else duration / self.num_frames
        return step_s * fps >= self.sparse_step_frames


@dataclass(frozen=True)
class MediaInfo:
    """What a file is. Sizes are display sizes: after rotation and non-square-pixel correction."""

    path: str
    kind: MediaKind
    container: str
    codec: str
    width: int
    height: int
    duration_s: float | None
    fps: float | None
    rotation: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind, "container": self.container, "codec": self.codec, "width": self.width,
            "height": self.height, "duration_s": self.duration_s, "fps": self.fps, "rotation": self.rotation,
        }


@dataclass(frozen=True, eq=False)
class Frame:
    """One sampled frame.

    Attributes:
        index: frame number in the stream: counted when every frame is decoded, estimated from the
            timestamp and average rate when seeking or decoding reference frames only.
        timestamp: presentation time in seconds from the start of the stream.
        image: ``(H, W, 3)`` uint8 RGB, rotation applied.
    """

    index: int
    timestamp: float
    image: np.ndarray = field(repr=False)


def check_path(path: str | os.PathLike[str]) -> Path:
    """Classify a path before any decoder sees it; raise the matching ``MediaError``."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise MediaNotFoundError(f"no such file: {p}", path=str(p)) from None
    except PermissionError:
        raise MediaPermissionError(f"permission denied: {p}", path=str(p)) from None
    except OSError as exc:
        raise _unreadable(p, exc) from None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryMediaError(f"is a directory, not a media file: {p}", path=str(p))
    if not stat.S_ISREG(st.st_mode):
        raise UnsupportedMediaError(f"not a regular file: {p}", path=str(p))
    if st.st_size == 0:
        raise EmptyMediaError(f"file is empty (0 bytes): {p}", path=str(p))
    if not os.access(p, os.R_OK):
        raise MediaPermissionError(f"permission denied: {p}", path=str(p))
    return p


def _unreadable(path: Path, exc: OSError) -> UnreadablePathError:
    # ELOOP's strerror ("Too many levels of symbolic links") does not say which link; name the cause plainly.
    reason = "a symlink loop" if exc.errno == errno.ELOOP else (exc.strerror or str(exc))
    return UnreadablePathError(f"cannot read {path}: {reason}", path=str(path))


class MediaReader:
    """An opened media file. Use :func:`open_media`; close it (or use ``with``) when done."""

    def __init__(self, path: str | os.PathLike[str], *, limits: MediaLimits | None = None) -> None:
        self.limits = limits or MediaLimits()
        # Per frames() call: whether the decoder drops non-reference frames now, and whether it has at all
        # (frame numbers are then estimated from timestamps).
        self._skipping = False
        self._skipped = False
        self.path = check_path(path)
        spath = str(self.path)
        head = self._read_head()
        # Decide from the bytes, before FFmpeg sees the name: its probing favours the extension's demuxer,
        # so unknown bytes would fail one way named .mp4 and another (or even "open") named .bin.
        kind = sniff_media(head)
        if kind is None:
            raise UnsupportedMediaError(f"not a video or image file: {spath} (its first bytes match no known "
                                        "container or image format)", path=spath)
        header = sniff_image(head)
        if header is not None:
            self._check_pixels(header.width, header.height)
        try:
            # The demuxer follows the bytes too: FFmpeg would take .jpg/.png names to the image2 demuxer,
            # which picks its codec from the extension alone, and favours the extension's demuxer when probing.
            self._format = _DEMUXERS.get(kind) or self._probe_demuxer()
            self._container = self._open()
        except av.error.PermissionError:
            raise MediaPermissionError(f"permission denied: {spath}", path=spath) from None
        except av.error.FFmpegError as exc:
            raise CorruptMediaError(f"{spath} starts like {kind} but cannot be opened: damaged or truncated "
                                    f"({exc.strerror})", path=spath) from None
        try:
            self.info = self._probe(header.format if header else None)
        except BaseException:
            self._container.close()
            raise

    def _open(self) -> av.container.InputContainer:
        return av.open(str(self.path), mode="r", format=self._format, metadata_errors="ignore")

    def _probe_demuxer(self) -> str:
        """FFmpeg's demuxer for the bytes alone, for formats ``_DEMUXERS`` does not map (elementary streams,
        RIFF other than AVI/WebP): probing through a file object without a name gives it no extension to go by.
        The path is then opened with that demuxer; file objects cost Python calls on every read."""
        with open(self.path, "rb") as f, av.open(_Unnamed(f), mode="r", metadata_errors="ignore") as probed:
            return probed.format.name.split(",")[0]

    def _read_head(self) -> bytes:
        """The first 64 KiB (``sniff_image`` may need them all to find a JPEG's size)."""
        try:
            with open(self.path, "rb") as f:
                return f.read(1 << 16)
        except PermissionError:
            raise MediaPermissionError(f"permission denied: {self.path}", path=str(self.path)) from None
        except OSError as exc:  # EIO on a failing disk, a file swapped for a loop since check_path
            raise _unreadable(self.path, exc) from None

    # -- probing -------------------------------------------------------------------------------

    def _check_pixels(self, width: int, height: int) -> None:
        if width * height > self.limits.max_pixels:
            raise MediaTooLargeError(
                f"{self.path}: {width}x{height} is {width * height / 1e6:.1f} MP per frame, over the limit of "
                f"{self.limits.max_pixels / 1e6:.1f} MP", path=str(self.path))

    def _probe(self, sniffed: str | None) -> MediaInfo:
        spath = str(self.path)
        streams = self._container.streams.video
        if not streams:
            raise NoVideoStreamError(f"no video or image stream in {spath}", path=spath)
        stream = streams[0]
        _configure_threads(stream)
        self._stream = stream
        ctx = stream.codec_context
        codec_name = ctx.name if ctx is not None else None
        if ctx is None or not codec_name or codec_name == "none":
            raise UnsupportedCodecError(f"no decoder for the video stream of {spath}", path=spath)
        if ctx.width <= 0 or ctx.height <= 0:
            raise UnsupportedCodecError(f"{codec_name} stream of {spath} has no frame size; cannot decode",
                                        path=spath)
        self._check_pixels(ctx.width, ctx.height)
        fmt = self._container.format.name
        is_still = fmt.split(",")[0] in _IMAGE_DEMUXERS or (sniffed is not None and sniffed != "gif")
        duration = self._duration(stream)
        if fmt == "gif" and not is_still and (duration is None or duration <= 0):
            duration = self._demux_duration(stream)
        if fmt == "gif" and self._count_packets(stream, limit=2) < 2:
            is_still = True
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else None
        if not is_still:
            if duration is None:
                duration = self._demux_duration(stream)
            if duration is not None and duration > self.limits.max_duration_s:
                raise MediaTooLongError(
                    f"{spath}: {duration:.0f} s long, over the limit of {self.limits.max_duration_s:.0f} s",
                    path=spath)
        sar = stream.sample_aspect_ratio
        self._sar = float(sar) if sar and float(sar) > 0 and abs(float(sar) - 1) > 1e-3 else 1.0
        # Decode the first frame now: it proves the stream decodes at all, and carries the display
        # matrix (rotation) that FFmpeg >= 6 attaches to frames. Stills keep it to avoid a second decode.
        first = self._first_frame()
        self._rotation = _frame_rotation(first) or self._stream_rotation(stream)
        self._first = first if is_still else None
        if not is_still:
            self._rewind()
        width = round(ctx.width * self._sar)
        height = ctx.height
        if self._rotation % 180:
            width, height = height, width
        return MediaInfo(
            path=spath, kind="image" if is_still else "video", container=fmt, codec=codec_name,
            width=width, height=height, duration_s=None if is_still else duration,
            fps=None if is_still else fps, rotation=self._rotation,
        )

    @staticmethod
    def _duration(stream: av.video.stream.VideoStream) -> float | None:
        if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
            return float(stream.duration * stream.time_base)
        container = stream.container
        if container.duration is not None and container.duration > 0:
            return container.duration / av.time_base
        return None

    def _demux_duration(self, stream: av.video.stream.VideoStream) -> float | None:
        """Duration from packet timestamps, for containers that don't state it (some webm/mkv, GIF).

        Demuxing without decoding is cheap; it reads the file once.
        """
        end = None
        start = stream.start_time or 0
        try:
            for packet in self._container.demux(stream):
                if packet.pts is None:
                    continue
                stop = packet.pts + (packet.duration or 0)
                end = stop if end is None else max(end, stop)
        except av.error.FFmpegError:
            pass
        self._rewind()
        if end is None or stream.time_base is None:
            return None
        return float((end - start) * stream.time_base)

    def _first_frame(self) -> av.VideoFrame:
        spath = str(self.path)
        try:
            for frame in self._container.decode(self._stream):
                return frame
        except av.error.FFmpegError as exc:
            # Not one frame decodes: the stream is unusable from the start (corrupt_media is kept for files
            # that break part-way).
            raise NoDecodableFramesError(f"no decodable frames in {spath}: {exc.strerror}", path=spath) from None
        raise NoDecodableFramesError(f"no decodable frames in {spath}: the video stream holds no frames",
                                     path=spath)

    def _count_packets(self, stream: av.video.stream.VideoStream, *, limit: int) -> int:
        n = 0
        try:
            for packet in self._container.demux(stream):
                if packet.size:
                    n += 1
                    if n >= limit:
                        break
        except av.error.FFmpegError:
            pass
        self._rewind()
        return n

    def _rewind(self) -> None:
        try:
            self._container.seek(0, any_frame=False, backward=True)
        except av.error.FFmpegError:
            # Not seekable: reopen.
            self._container.close()
            self._container = self._open()
            self._stream = self._container.streams.video[0]
            _configure_threads(self._stream)

    @staticmethod
    def _stream_rotation(stream: av.video.stream.VideoStream) -> int:
        # Old muxers wrote a clockwise "rotate" tag; FFmpeg >= 5 exposes a display matrix instead, which
        # reaches every decoded frame (``frame.rotation``, read in ``_to_frame``).
        for key in ("rotate",):
            value = stream.metadata.get(key)
            if value:
                try:
                    return int(-float(value)) % 360
                except ValueError:
                    pass
        return 0

    # -- decoding ------------------------------------------------------------------------------

    @property
    def frame_rate(self) -> Fraction | None:
        """The video stream's exact average frame rate (e.g. 30000/1001); ``None`` for stills or when unknown.

        ``info.fps`` is the same rate as a float; a writer re-encoding every frame needs the exact fraction.
        """
        if self.info.kind != "video":
            return None
        rate = self._stream.average_rate or self._stream.guessed_rate
        return Fraction(rate) if rate else None

    @property
    def frame_count(self) -> int | None:
        """Frames the stream says it holds, else estimated from duration and rate; ``None`` when neither is known."""
        if self.info.kind == "image":
            return 1
        if self._stream.frames:
            return int(self._stream.frames)
        if self.info.duration_s and self.info.fps:
            return max(1, round(self.info.duration_s * self.info.fps))
        return None

    def frames(self, sampling: Sampling | None = None) -> Iterator[Frame]:
        """Yield sampled frames in time order. Raises ``MediaError`` subclasses on broken input."""
        yield from self._checked(self._sampled(sampling or Sampling()), unit="sampled frames")

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
        self._skipping = self._skipped = False
        self._stream.codec_context.skip_frame = "DEFAULT"
        for ordinal, frame in enumerate(self._container.decode(self._stream)):
            yield self._to_frame(frame, ordinal, self._frame_time(frame, ordinal))

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

    def _sampled(self, sampling: Sampling) -> Iterator[Frame]:
        self._skipping = self._skipped = False
        if self.info.kind == "image":
            yield self._to_frame(self._first, 0, 0.0)
            return
        start = float(self._stream.start_time * self._stream.time_base) if self._stream.start_time else 0.0
        duration = self.info.duration_s
        if duration is None or duration <= 0:
            # Unknown length even after demuxing: take every frame's time as it comes, capped.
            yield from self._decode_rate(sampling)
            return
        targets = sampling.timestamps(start, duration, self.limits)
        self._skipping = self._skipped = sampling.skips_nonreference(duration, self.info.fps)
        self._stream.codec_context.skip_frame = "NONREF" if self._skipping else "DEFAULT"
        if duration >= sampling.seek_above_s:
            yield from self._decode_seek(targets)
        else:
            yield from self._decode_all(targets, tolerance_s=self._tolerance(duration, targets))

    def _tolerance(self, duration: float, targets: list[float]) -> float:
        # A target may lie at most one slice past the last decodable frame before we call the file
        # truncated; 0.5 s covers sparse frames in low-rate streams.
        slice_s = duration / max(1, len(targets))
        return max(0.5, slice_s)

    def _to_frame(self, frame: av.VideoFrame, index: int, timestamp: float) -> Frame:
        ctx_w, ctx_h = frame.width, frame.height
        width = round(ctx_w * self._sar) if self._sar != 1.0 else ctx_w
        has_alpha = any(c.is_alpha for c in frame.format.components) or frame.format.has_palette
        if width * ctx_h > self.limits.max_pixels or ctx_w * ctx_h > self.limits.max_pixels:
            raise MediaTooLargeError(f"{self.path}: frame of {ctx_w}x{ctx_h} is over the pixel limit",
                                     path=str(self.path))
        if has_alpha:
            rgba = frame.to_ndarray(format="rgba", width=width, height=ctx_h)
            # Composite over white: transparent cut-outs are meant to be seen on a page background.
            alpha = rgba[..., 3:4].astype(np.float32) / 255.0
            image = (rgba[..., :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha) + 0.5).astype(np.uint8)
        else:
            image = frame.to_ndarray(format="rgb24", width=width, height=ctx_h)
        rotation = _frame_rotation(frame) or self._rotation
        if rotation:
            # FFmpeg's display matrix angle is counter-clockwise; np.rot90 turns counter-clockwise.
            image = np.ascontiguousarray(np.rot90(image, k=(rotation // 90) % 4))
        return Frame(index=index, timestamp=timestamp, image=image)

    def _index(self, ordinal: int, t: float) -> int:
        # Decoding skips frames when sampling reference frames only: then the count of decoded frames is
        # not the frame number, and the timestamp at the average rate estimates it, as when seeking.
        return round(t * (self.info.fps or 25.0)) if self._skipped else ordinal

    def _check_gap(self, previous_t: float | None, t: float) -> None:
        """Stop skipping non-reference frames where that leaves gaps over 2.5 frame intervals.

        Skipping one frame in two (x264's B-pyramid) leaves gaps of 2; longer runs of unreferenced frames,
        or a stretch slower than the declared rate (variable frame rate), would move samples further, so
        from there on every frame is decoded.
        """
        if self._skipping and previous_t is not None and t - previous_t > 2.5 / (self.info.fps or 25.0):
            self._stream.codec_context.skip_frame = "DEFAULT"
            self._skipping = False

    def _frame_time(self, frame: av.VideoFrame, ordinal: int) -> float:
        if frame.pts is not None and frame.time_base is not None:
            return float(frame.pts * frame.time_base)
        fps = self.info.fps or 25.0
        return ordinal / fps

    def _decode_all(self, targets: list[float], *, tolerance_s: float) -> Iterator[Frame]:
        """Decode every frame; convert only the one nearest to each target time."""
        stream = self._stream
        ti = 0
        prev: tuple[av.VideoFrame, int, float] | None = None
        last_index = -1
        ordinal = -1
        for frame in self._container.decode(stream):
            ordinal += 1
            t = self._frame_time(frame, ordinal)
            self._check_gap(prev[2] if prev is not None else None, t)
            while ti < len(targets) and t >= targets[ti]:
                # Pick whichever of the previous and current frame lies nearer the target; a tie (targets
                # exactly between two frames, as when N equals the frame count) goes to the earlier frame,
                # with 1 us of slack for float rounding. Frames only move forward and are never repeated.
                if prev is not None and prev[1] > last_index and targets[ti] - prev[2] <= t - targets[ti] + 1e-6:
                    chosen = prev
                else:
                    chosen = (frame, ordinal, t)
                if chosen[1] > last_index:
                    last_index = chosen[1]
                    yield self._to_frame(chosen[0], self._index(*chosen[1:]), chosen[2])
                ti += 1
            if ti >= len(targets):
                return
            prev = (frame, ordinal, t)
        if ti < len(targets) and prev is not None:
            if targets[-1] - prev[2] > tolerance_s:
                raise CorruptMediaError(
                    f"{self.path}: stream ends at {prev[2]:.2f} s, before the sampled time {targets[-1]:.2f} s "
                    f"(declared duration {self.info.duration_s or 0:.2f} s): file truncated or damaged",
                    path=str(self.path))
            if prev[1] > last_index:
                yield self._to_frame(prev[0], self._index(*prev[1:]), prev[2])

    def _decode_seek(self, targets: list[float]) -> Iterator[Frame]:
        """Seek to the keyframe before each target, then decode forward to it."""
        stream = self._stream
        time_base = stream.time_base or Fraction(1, av.time_base)
        fps = self.info.fps or 25.0
        decoder: Iterator[av.VideoFrame] | None = None
        position = -math.inf  # time of the last decoded frame
        # Within this gap, decoding on is cheaper than a seek (typical GOP of 2-5 s at 25-30 fps).
        continue_within_s = 2.0
        last_t = None
        previous: float | None = None
        for target in targets:
            if decoder is None or target < position or target - position > continue_within_s:
                self._container.seek(int(target / time_base), stream=stream, backward=True, any_frame=False)
                decoder = iter(self._container.decode(stream))
                previous = None  # a seek's jump is no gap between decoded frames
            found = None
            prev = None
            for frame in decoder:
                t = self._frame_time(frame, 0)
                self._check_gap(previous, t)
                previous = position = t
                if t >= target:
                    # Same rule as decoding everything: nearer frame, ties to the earlier one.
                    found = prev if prev is not None and target - prev[1] <= t - target + 1e-6 else (frame, t)
                    break
                prev = (frame, t)
            if found is None:
                if prev is None:
                    if last_t is None:
                        break
                    continue
                found = prev
                if target - prev[1] > max(1.0, 2.0 / fps):
                    raise CorruptMediaError(
                        f"{self.path}: stream ends at {prev[1]:.2f} s, before the sampled time {target:.2f} s: "
                        "file truncated or damaged", path=str(self.path))
            frame, t = found
            if last_t is not None and t <= last_t:
                continue
            last_t = t
            yield self._to_frame(frame, round(t * fps), t)

    def _decode_rate(self, sampling: Sampling) -> Iterator[Frame]:
        """Unknown duration: sample on the fly at ``fps`` (or 1 fps when sampling by count)."""
        stream = self._stream
        rate = sampling.fps or 1.0
        next_t = None
        count = 0
        for ordinal, frame in enumerate(self._container.decode(stream)):
            t = self._frame_time(frame, ordinal)
            if next_t is None or t >= next_t:
                yield self._to_frame(frame, ordinal, t)
                count += 1
                if count >= self.limits.max_sampled_frames or (sampling.fps is None and count >= sampling.num_frames):
                    return
                next_t = t + 1.0 / rate

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Unnamed:
    """A binary file seen through ``read``/``seek``/``tell`` only: PyAV takes a file object's ``name`` for the
    URL that FFmpeg's probing matches extensions against, and this one has none."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f

    def read(self, n: int = -1) -> bytes:
        return self._f.read(n)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._f.seek(offset, whence)

    def tell(self) -> int:
        return self._f.tell()


def _configure_threads(stream: av.video.stream.VideoStream) -> None:
    """Pick FFmpeg's decoder threading before the codec opens.

    Measured on the 2-core machines (PyAV 18, FFmpeg 8): frame threading decodes small real clips
    (~500 x 300) 7 % faster than slice threading, but a 1080p H.264 clip 28 % slower (0.57 s vs 0.41 s for
    250 frames), since it queues whole frames per thread. So: frame threads below 1 MP, slices above.
    """
    ctx = stream.codec_context
    if ctx is not None and ctx.width * ctx.height < 1_000_000:
        stream.thread_type = "AUTO"
    else:
        stream.thread_type = "SLICE"


def _frame_rotation(frame: av.VideoFrame) -> int:
    """Counter-clockwise display rotation of a decoded frame, in {0, 90, 180, 270}."""
    try:
        angle = frame.rotation
    except (AttributeError, ValueError):
        return 0
    return (round(angle / 90.0) * 90) % 360 if angle else 0


def open_media(path: str | os.PathLike[str], *, limits: MediaLimits | None = None) -> MediaReader:
    """Open a video or image file.

    Example:
        >>> with open_media("clip.mp4") as media:  # doctest: +SKIP
        ...     for frame in media.frames(Sampling(num_frames=8)):
        ...         print(frame.timestamp, frame.image.shape)

    Raises:
        MediaError: a subclass with a stable ``code`` for each way a file can be unusable.
    """
    return MediaReader(path, limits=limits)


def read_frames(path: str | os.PathLike[str], *, sampling: Sampling | None = None,
                limits: MediaLimits | None = None) -> tuple[MediaInfo, list[Frame]]:
    """Open, sample and close in one call (holds all sampled frames; prefer :func:`open_media` for long runs)."""
    with open_media(path, limits=limits) as media:
        return media.info, list(media.frames(sampling))


def is_media_path(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in MEDIA_EXTENSIONS
