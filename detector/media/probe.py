"""What a media file is, decided before any frame is sampled.

The bytes, not the name, pick the FFmpeg demuxer (``detector.sniff``); then the first video stream is probed:
codec, display size (pixel aspect and rotation applied), duration (from the container, else from packet
timestamps), still or moving, and the first frame decoded to prove the stream decodes at all. Each way this
can fail raises its own ``MediaError``; the limits refuse oversized frames and overlong videos here, before
sampling starts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import av

from ..errors import (
    CorruptMediaError,
    MediaPermissionError,
    MediaTooLargeError,
    MediaTooLongError,
    NoDecodableFramesError,
    NoVideoStreamError,
    UnsupportedCodecError,
    UnsupportedMediaError,
)
from ..sniff import jpeg2000_levels, sniff_image, sniff_media
from .limits import MediaLimits
from .paths import check_path, read_all, read_head
from .pillow_stills import (
    JPEG_COMPRESSIONS,
    avif_has_alpha,
    avif_is_grid,
    pillow_frame,
    tiff_compression,
    webp_is_animated,
)
from .rotation import EXIF_ORIENTATIONS, exif_orientation, frame_rotation, mp4_orientation, stream_rotation
from .still_end import CHECKED_FORMATS, cut_short

# FFmpeg demuxers that hold a single still picture.
_IMAGE_DEMUXERS = ("image2", "png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "jpegls_pipe", "tiff_pipe",
                   "j2k_pipe")

# FFmpeg demuxer for each format ``sniff_media`` names, so the bytes, not the file name, choose it. Formats
# left out (elementary streams, other RIFF) are probed by FFmpeg.
_DEMUXERS: dict[str, str] = {
    "mp4/mov": "mov", "matroska/webm": "matroska", "avi": "avi", "flv": "flv", "ogg": "ogg", "mpeg-ps": "mpeg",
    "mpeg-ts": "mpegts", "m2ts": "mpegts", "asf/wmv": "asf", "jpeg": "jpeg_pipe", "png": "png_pipe", "gif": "gif",
    "bmp": "bmp_pipe", "webp": "webp_pipe", "tiff": "tiff_pipe", "mp3": "mp3", "flac": "flac", "y4m": "yuv4mpegpipe",
    "ivf": "ivf", "avif": "mov", "heif": "mov", "jpeg2000": "j2k_pipe", "jpegxl": "jpegxl_pipe",
}

# Stills FFmpeg decodes whose EXIF orientation it turns into a rotation (and whose mirroring it drops).
_EXIF_FORMATS = frozenset({"jpeg", "png", "webp", "tiff"})

MediaKind = Literal["video", "image"]


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


@dataclass(frozen=True)
class ProbedMedia:
    """An open container, rewound to the start, whose first video stream has been probed.

    Attributes:
        path: the checked path.
        container: the open container; the caller closes it.
        stream: its first video stream, the one decoded.
        info: what the probe found.
        sample_aspect: width stretch for non-square pixels (1.0 for square ones).
        rotation: counter-clockwise display rotation, from the first frame or the stream's metadata.
        still: the decoded frame of a still image (kept to avoid decoding it twice); ``None`` for videos.
        mirror: frames mirrored left to right after ``rotation``: a mirrored display matrix, or a still's mirrored
            EXIF orientation, which FFmpeg reads as a rotation alone (``rotation`` then comes from the EXIF tag).
    """

    path: Path
    container: av.container.InputContainer
    stream: av.video.stream.VideoStream
    info: MediaInfo
    sample_aspect: float
    rotation: int
    still: av.VideoFrame | None
    mirror: bool = False


def probe_media(path: str | os.PathLike[str], limits: MediaLimits) -> ProbedMedia:
    """Check, sniff, open and probe ``path``; raise the matching ``MediaError`` where it is no usable media."""
    checked = check_path(path)
    spath = str(checked)
    head = read_head(checked)
    # Decide from the bytes, before FFmpeg sees the name: its probing favours the extension's demuxer,
    # so unknown bytes would fail one way named .mp4 and another (or even "open") named .bin.
    kind = sniff_media(head)
    if kind is None:
        raise UnsupportedMediaError(f"not a video or image file: {spath} (its first bytes match no known "
                                    "container or image format)", path=spath)
    header = sniff_image(head)
    lowres = 0
    if header is not None:
        levels = jpeg2000_levels(head) if header.format == "jpeg2000" else None
        lowres = _shrink_shift(header.width, header.height, limits, header.format, levels=levels)
        if lowres <= 0:
            _check_pixels(checked, limits, header.width, header.height)
        if header.format in CHECKED_FORMATS and cut_short(read_all(checked), header.format):
            # FFmpeg would decode the part that is there and fill the rest: a made-up picture, not the file's.
            raise CorruptMediaError(f"{spath}: the {header.format.upper()} ends before its picture data does "
                                    "(truncated or damaged)", path=spath)
    try:
        # The demuxer follows the bytes too: FFmpeg would take .jpg/.png names to the image2 demuxer,
        # which picks its codec from the extension alone, and favours the extension's demuxer when probing.
        prober = _Prober(checked, _DEMUXERS.get(kind) or _probe_demuxer(checked), limits)
    except av.error.PermissionError:
        raise MediaPermissionError(f"permission denied: {spath}", path=spath) from None
    except av.error.FFmpegError as exc:
        raise CorruptMediaError(f"{spath} starts like {kind} but cannot be opened: damaged or truncated "
                                f"({exc.strerror})", path=spath) from None
    # Stills FFmpeg decodes wrongly without an error (detector.media.pillow_stills).
    pillow = None
    if header is not None and header.format == "heif":
        pillow = "heif"
    elif header is not None and header.format == "jpegxl":
        pillow = "jpeg xl"
    elif header is not None and header.format == "avif" and avif_is_grid(head):
        pillow = "gridded avif"
    elif header is not None and header.format == "avif" and avif_has_alpha(head):
        pillow = "avif with alpha"
    elif header is not None and header.format == "webp" and webp_is_animated(head):
        pillow = "animated webp"
    elif kind == "tiff" and tiff_compression(read_all(checked)) in JPEG_COMPRESSIONS:
        pillow = "jpeg-compressed tiff"
    try:
        # A TIFF is an image format too, sized only when decoded (its directory may lie anywhere in the file).
        sniffed = header.format if header else ("tiff" if kind == "tiff" else None)
        return prober.probe(sniffed, pillow=pillow, lowres=lowres)
    except BaseException:
        prober.container.close()
        raise


class _Prober:
    """The container while it is probed: probing reads ahead, and a container that cannot seek back to the
    start is reopened, so the container (and its stream) may be replaced before the probe ends."""

    def __init__(self, path: Path, demuxer: str, limits: MediaLimits) -> None:
        self.path = path
        self.limits = limits
        self._format = demuxer
        self.container = self._open()

    def _open(self) -> av.container.InputContainer:
        return av.open(str(self.path), mode="r", format=self._format, metadata_errors="ignore")

    def probe(self, sniffed: str | None, *, pillow: str | None = None, lowres: int = 0) -> ProbedMedia:
        spath = str(self.path)
        stream = _main_video_stream(self.container)
        if stream is None:
            raise NoVideoStreamError(f"no video or image stream in {spath}", path=spath)
        configure_threads(stream)
        self._stream = stream
        if pillow is not None:
            return self._pillow_still(pillow, shrink=lowres)
        if lowres:
            stream.codec_context.options = {"lowres": str(lowres)}  # before the codec opens (first decode)
        ctx = stream.codec_context
        codec_name = ctx.name if ctx is not None else None
        if ctx is None or not codec_name or codec_name == "none":
            raise UnsupportedCodecError(f"no decoder for the video stream of {spath}", path=spath)
        if ctx.width <= 0 or ctx.height <= 0:
            if sniffed is not None:  # the header stated a size, so a decoder exists and the data is what fails
                raise CorruptMediaError(f"{codec_name} image {spath} cannot be decoded: truncated or damaged",
                                        path=spath)
            raise UnsupportedCodecError(f"{codec_name} stream of {spath} has no frame size; cannot decode",
                                        path=spath)
        # A JPEG decoded at 1/2**lowres per side (rounded up, as the decoder does) is that size from here on.
        coded_width, coded_height = -(-ctx.width >> lowres), -(-ctx.height >> lowres)
        _check_pixels(self.path, self.limits, coded_width, coded_height)
        fmt = self.container.format.name
        is_still = fmt.split(",")[0] in _IMAGE_DEMUXERS or (sniffed is not None and sniffed != "gif")
        duration = _stated_duration(stream)
        if fmt == "gif" and not is_still and (duration is None or duration <= 0):
            duration = self._demux_duration(stream)
        if fmt == "gif" and self._count_packets(stream, limit=2) < 2:
            is_still = True
        # Counting packets may have reopened a file that cannot seek back, closing ``stream``: read the live one.
        stream = self._stream
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else None
        if not is_still:
            if duration is None:
                duration = self._demux_duration(stream)
            if duration is not None and duration > self.limits.max_duration_s:
                raise MediaTooLongError(
                    f"{spath}: {duration:.0f} s long, over the limit of {self.limits.max_duration_s:.0f} s",
                    path=spath)
        stream = self._stream  # as above: demuxing for the duration may have reopened the file
        sar = stream.sample_aspect_ratio
        sample_aspect = float(sar) if sar and float(sar) > 0 and abs(float(sar) - 1) > 1e-3 else 1.0
        # Decode the first frame now: it proves the stream decodes at all, and carries the display
        # matrix (rotation) that FFmpeg >= 6 attaches to frames. Stills keep it to avoid a second decode.
        first = self._first_frame(still=is_still)
        rotation = frame_rotation(first) or stream_rotation(stream)
        mirror = False
        if not is_still and "mov" in fmt.split(","):
            oriented = mp4_orientation(self.path)
            if oriented is not None:
                rotation, mirror = oriented
        if is_still and sniffed in _EXIF_FORMATS:
            orientation = exif_orientation(self.path)
            if orientation is not None and EXIF_ORIENTATIONS[orientation][1]:
                rotation, mirror = EXIF_ORIENTATIONS[orientation]
        if not is_still:
            self._rewind()
        width = round(coded_width * sample_aspect)
        height = coded_height
        if rotation % 180:
            width, height = height, width
        info = MediaInfo(
            path=spath, kind="image" if is_still else "video", container=fmt, codec=codec_name,
            width=width, height=height, duration_s=None if is_still else duration,
            fps=None if is_still else fps, rotation=rotation,
        )
        return ProbedMedia(path=self.path, container=self.container, stream=self._stream, info=info,
                           sample_aspect=sample_aspect, rotation=rotation, still=first if is_still else None,
                           mirror=mirror)

    def _pillow_still(self, what: str, *, shrink: int = 0) -> ProbedMedia:
        """A still Pillow decodes (``what``: ``"heif"``, ``"jpeg xl"``, ``"gridded avif"``, ``"avif with alpha"``,
        ``"jpeg-compressed tiff"`` or ``"animated webp"``, its first frame), halved per side ``shrink`` times:
        frame, size and rotation (applied by Pillow) come from its decode; FFmpeg's container is kept only for the
        reader to close."""
        spath = str(self.path)
        ctx = self._stream.codec_context
        if ctx is not None and ctx.width > 0 and ctx.height > 0:  # FFmpeg's size, if it knows one: before decoding
            _check_pixels(self.path, self.limits, -(-ctx.width >> shrink), -(-ctx.height >> shrink))
        try:
            first = pillow_frame(self.path, what, shrink=shrink)
        except (OSError, ValueError) as exc:  # Pillow's UnidentifiedImageError is an OSError
            raise CorruptMediaError(f"{spath}: the {what} cannot be decoded ({exc})", path=spath) from None
        _check_pixels(self.path, self.limits, first.width, first.height)
        info = MediaInfo(path=spath, kind="image", container=self.container.format.name,
                         codec=ctx.name if ctx is not None and ctx.name else what, width=first.width,
                         height=first.height, duration_s=None, fps=None, rotation=0)
        return ProbedMedia(path=self.path, container=self.container, stream=self._stream, info=info,
                           sample_aspect=1.0, rotation=0, still=first)

    def _demux_duration(self, stream: av.video.stream.VideoStream) -> float | None:
        """Duration from packet timestamps, for containers that don't state it (some webm/mkv, GIF).

        Demuxing without decoding is cheap; it reads the file once.
        """
        end = None
        start = stream.start_time or 0
        try:
            for packet in self.container.demux(stream):
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

    def _first_frame(self, *, still: bool) -> av.VideoFrame:
        spath = str(self.path)
        try:
            for frame in self.container.decode(self._stream):
                return frame
        except av.error.FFmpegError as exc:
            if still:  # its one picture: a damaged or truncated file, as a JPEG cut short is
                raise CorruptMediaError(f"{spath}: the image cannot be decoded, damaged or truncated "
                                        f"({exc.strerror})", path=spath) from None
            # Not one frame decodes: the stream is unusable from the start (corrupt_media is kept for files
            # that break part-way).
            raise NoDecodableFramesError(f"no decodable frames in {spath}: {exc.strerror}", path=spath) from None
        if still:
            raise CorruptMediaError(f"{spath}: the image holds no picture its decoder returns", path=spath)
        raise NoDecodableFramesError(f"no decodable frames in {spath}: the video stream holds no frames",
                                     path=spath)

    def _count_packets(self, stream: av.video.stream.VideoStream, *, limit: int) -> int:
        n = 0
        try:
            for packet in self.container.demux(stream):
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
            # On the stream read, not FFmpeg's default one: with a cover picture ahead of the footage, seeking the
            # default stream (the picture) left the footage's demuxer at its end.
            stream = self._stream
            self.container.seek(stream.start_time or 0, stream=stream, any_frame=False, backward=True)
        except av.error.FFmpegError:
            # Not seekable: reopen.
            self.container.close()
            self.container = self._open()
            self._stream = _main_video_stream(self.container)  # the same choice as on the first opening
            configure_threads(self._stream)


def _main_video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream | None:
    """The stream a scan reads: FFmpeg's best video stream (``av_find_best_stream``), never a cover picture.

    Not simply the first: an MP4 or MKV may carry its cover art or a thumbnail as a one-frame video stream ahead
    of the footage (``attached_pic``; a music file's cover art is its only one, and it is no video).
    """
    streams = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    if not streams:
        return None
    best = container.streams.best("video")
    return best if best is not None and best in streams else streams[0]


# A HEIF is decoded whole (HEVC has no scaling while decoding), so the halving that brings it within the pixel limit
# comes after the decode, and a HEIF is admitted up to this many times the limit (80 MP at the default: an iPhone's
# 48 MP "HEIF Max" and 50 MP Android photos; ~0.6 GB at the decode's peak).
_HEIF_DECODE_FACTOR = 2


def _shrink_shift(width: int, height: int, limits: MediaLimits, fmt: str, *, levels: int | None = None) -> int:
    """The smallest ``k`` such that a ``fmt`` still halved ``k`` times per side (rounded up, as JPEG decoders do) is
    within ``limits.max_pixels``; -1 where the format allows no such halving or even the most it allows is short.

    JPEG decoders scale by 1/2 or 1/4 (or 1/8) while decoding (FFmpeg's ``lowres``), without allocating the whole
    picture, so a phone's 50 or 200 MP photo is analysed at a quarter or a sixteenth of its pixels instead of
    refused; faces in it stay far larger than the classifier's 224 px crop. Not 1/8: a header claiming more than
    16 times the limit (640 MP at the default) is a forgery or a panorama, refused as before. A HEIF is halved once
    at most, after a whole decode (an area average, as DCT scaling nearly is), within ``_HEIF_DECODE_FACTOR``.
    A JPEG 2000 is halved like a JPEG by leaving out its finest wavelet levels, as far as it has ``levels``.
    """
    if fmt == "jpeg":
        most = 2
    elif fmt == "jpeg2000":
        most = min(2, levels or 0)
    elif fmt == "heif" and width * height <= _HEIF_DECODE_FACTOR * limits.max_pixels:
        most = 1
    else:
        most = 0
    for k in range(most + 1):
        if -(-width >> k) * -(-height >> k) <= limits.max_pixels:
            return k
    return -1


def _check_pixels(path: Path, limits: MediaLimits, width: int, height: int) -> None:
    if width * height > limits.max_pixels:
        raise MediaTooLargeError(
            f"{path}: {width}x{height} is {width * height / 1e6:.1f} MP per frame, over the limit of "
            f"{limits.max_pixels / 1e6:.1f} MP", path=str(path))


def _stated_duration(stream: av.video.stream.VideoStream) -> float | None:
    """The duration the stream, else the container, states; ``None`` where neither does."""
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    container = stream.container
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    return None


def _probe_demuxer(path: Path) -> str:
    """FFmpeg's demuxer for the bytes alone, for formats ``_DEMUXERS`` does not map (elementary streams,
    RIFF other than AVI/WebP): probing through a file object without a name gives it no extension to go by.
    The path is then opened with that demuxer; file objects cost Python calls on every read."""
    with open(path, "rb") as f, av.open(_Unnamed(f), mode="r", metadata_errors="ignore") as probed:
        return probed.format.name.split(",")[0]


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


def configure_threads(stream: av.video.stream.VideoStream) -> None:
    """Pick FFmpeg's decoder threading before the codec opens.

    Frame threading decodes small clips (~500 x 300) slightly faster than slice threading, but large
    (1080p H.264) clips markedly slower, since it queues whole frames per thread; measured on 2 cores with
    PyAV 18 and FFmpeg 8. So: frame threads below 1 MP, slices above.
    """
    ctx = stream.codec_context
    if ctx is not None and ctx.width * ctx.height < 1_000_000:
        stream.thread_type = "AUTO"
    else:
        stream.thread_type = "SLICE"
