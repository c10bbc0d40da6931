"""Display rotation: which way a phone held the camera, read from a decoded frame's display matrix, an old
stream tag or a still's EXIF orientation, and applied to decoded pixels. Angles here are counter-clockwise, as
FFmpeg's display matrix gives them."""

from __future__ import annotations

import math
import os
import struct

import av
import av.sidedata.sidedata
import numpy as np

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


def frame_orientation(frame: av.VideoFrame) -> tuple[int, bool]:
    """``(counter-clockwise rotation, mirrored left to right after it)`` of a decoded frame's display matrix.

    ``frame.rotation`` is FFmpeg's ``av_display_rotation_get``, which reads a mirrored matrix as a rotation alone (a
    front camera's left-right flip as 180°). A matrix with a negative determinant is a rotation ``R`` followed by
    that mirror ``H``: ``R = H·M``, whose angle FFmpeg's formula gives from the matrix with its first column negated.
    """
    matrix = _display_matrix(frame)
    if matrix is None or matrix[0] * matrix[4] - matrix[1] * matrix[3] >= 0:
        return frame_rotation(frame), False
    # av_display_rotation_get of R (16.16 entries; the scales cancel in atan2's quadrant up to their sign).
    angle = -math.degrees(math.atan2(matrix[1] / math.hypot(matrix[1], matrix[4]),
                                     -matrix[0] / math.hypot(matrix[0], matrix[3])))
    return (round(angle / 90.0) * 90) % 360, True


def _display_matrix(frame: av.VideoFrame) -> tuple[int, ...] | None:
    try:  # PyAV raises on side data of types it does not know (FFmpeg 8's EXIF side data of stills)
        for data in frame.side_data:
            if data.type == av.sidedata.sidedata.Type.DISPLAYMATRIX:
                values = struct.unpack("=9i", bytes(data))
                return values if any(values[:2]) and any(values[3:5]) else None
    except (AttributeError, ValueError, TypeError, struct.error):
        return None
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
