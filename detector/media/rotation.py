"""Display rotation: which way a phone held the camera, read from a decoded frame's display matrix, an old
stream tag or a still's EXIF orientation, and applied to decoded pixels. Angles here are counter-clockwise, as
FFmpeg's display matrix gives them."""

from __future__ import annotations

import math
import os
import struct

import av
import numpy as np

from .isobmff import boxes, top_level_box

# EXIF orientation (TIFF tag 274) -> (counter-clockwise rotation, mirrored left to right after it), as Pillow's
# ``ImageOps.exif_transpose`` turns the picture. FFmpeg turns the tag into a display matrix whose angle is right for
# 1, 3, 6 and 8 but drops the mirroring of 2, 4, 5 and 7 (a mirrored selfie came out upside down: 2 read as 180°).
EXIF_ORIENTATIONS: dict[int, tuple[int, bool]] = {
    1: (0, False), 2: (0, True), 3: (180, False), 4: (180, True),
    5: (270, True), 6: (270, False), 7: (90, True), 8: (90, False),
}
_ORIENTATION_TAG = 0x0112


def frame_rotation(frame: av.VideoFrame) -> int:
    """Counter-clockwise display rotation of a decoded frame, in {0, 90, 180, 270}."""
    try:
        angle = frame.rotation
    except (AttributeError, ValueError):
        return 0
    return (round(angle / 90.0) * 90) % 360 if angle else 0


def mp4_orientation(path: str | os.PathLike[str]) -> tuple[int, bool] | None:
    """``(counter-clockwise rotation, mirrored left to right after it)`` of an MP4/MOV video track whose matrix
    mirrors (a negative determinant), read from its track header; ``None`` where the matrix does not mirror or the
    file cannot be read that far (FFmpeg's rotation then stands).

    FFmpeg's display angle reads a mirrored matrix as a rotation alone (a front camera's left-right flip as 180°:
    the picture upside down). The matrix is read from the file rather than from PyAV's frame side data, whose API
    changed between patch releases and crashed on stills' EXIF side data. A mirrored matrix ``M`` is a rotation
    ``R`` followed by the mirror ``H``: ``R = H·M``, whose angle FFmpeg's formula gives from ``M`` with its first
    column negated.
    """
    matrix = _video_track_matrix(path)
    if matrix is None:
        return None
    a, b, c, d = matrix
    if a * d - b * c >= 0 or not (a or b) or not (c or d):
        return None
    angle = -math.degrees(math.atan2(b / math.hypot(b, d), -a / math.hypot(a, c)))  # av_display_rotation_get of R
    return (round(angle / 90.0) * 90) % 360, True


# A moov box larger than this is not read for its matrix (a normal one is kilobytes to a few megabytes).
_MAX_MOOV_BYTES = 64 << 20


def _video_track_matrix(path: str | os.PathLike[str]) -> tuple[int, int, int, int] | None:
    """``a, b, c, d`` (16.16 fixed point) of the first video track's header matrix (ISO/IEC 14496-12 ``tkhd``)."""
    try:
        with open(path, "rb") as f:
            moov = top_level_box(f, b"moov", max_bytes=_MAX_MOOV_BYTES)
    except OSError:
        return None
    if moov is None:
        return None
    for kind, trak in boxes(moov):
        if kind != b"trak":
            continue
        children = dict(boxes(trak))
        hdlr = dict(boxes(children.get(b"mdia", b""))).get(b"hdlr", b"")
        tkhd = children.get(b"tkhd", b"")
        if hdlr[8:12] != b"vide" or not tkhd:
            continue
        at = 40 if tkhd[0] == 0 else 52  # after version and flags, times, ids, duration, layer, volume
        if len(tkhd) < at + 36:
            return None
        values = struct.unpack(">9i", tkhd[at:at + 36])
        return values[0], values[1], values[3], values[4]
    return None


def stream_rotation(stream: av.video.stream.VideoStream) -> int:
    """Counter-clockwise rotation from a stream's "rotate" tag, for frames that carry no display matrix."""
    # Old muxers wrote a clockwise "rotate" tag; FFmpeg >= 5 exposes a display matrix instead, which
    # reaches every decoded frame (read by ``frame_rotation``).
    for key in ("rotate",):
        value = stream.metadata.get(key)
        if value:
            try:
                return int(-float(value)) % 360
            except ValueError:
                pass
    return 0


def rotate_image(image: np.ndarray, rotation: int) -> np.ndarray:
    """``image`` turned ``rotation`` degrees counter-clockwise (a multiple of 90), as a contiguous array."""
    # np.rot90 turns counter-clockwise, as the display matrix angle counts.
    return np.ascontiguousarray(np.rot90(image, k=(rotation // 90) % 4))


def exif_orientation(path: str | os.PathLike[str]) -> int | None:
    """A still's EXIF orientation (1-8), read from its header by Pillow without decoding the picture; ``None``
    when it has none or Pillow cannot read the file (FFmpeg's decode reports what is wrong with it)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            value = image.getexif().get(_ORIENTATION_TAG)
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError):  # SyntaxError: some of Pillow's parsers
        return None
    return value if value in EXIF_ORIENTATIONS else None


def orient_image(image: np.ndarray, rotation: int, mirror: bool) -> np.ndarray:
    """``image`` turned ``rotation`` degrees counter-clockwise, then mirrored left to right if ``mirror``."""
    image = rotate_image(image, rotation) if rotation else image
    return np.ascontiguousarray(image[:, ::-1]) if mirror else image
