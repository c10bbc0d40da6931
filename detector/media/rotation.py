"""Display rotation: which way a phone held the camera, read from a decoded frame's display matrix or an old
stream tag, and applied to decoded pixels. Angles here are counter-clockwise, as FFmpeg's display matrix gives
them."""

from __future__ import annotations

import av
import numpy as np


def frame_rotation(frame: av.VideoFrame) -> int:
    """Counter-clockwise display rotation of a decoded frame, in {0, 90, 180, 270}."""
    try:
        angle = frame.rotation
    except (AttributeError, ValueError):
        return 0
    return (round(angle / 90.0) * 90) % 360 if angle else 0


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
