"""Decoded video frames as the library hands them out: RGB arrays with rotation, pixel aspect, transparency and HDR
transfer resolved, and each frame's time."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from ..errors import MediaTooLargeError
from .hdr import hdr_to_sdr, hdr_transfer
from .rotation import frame_rotation, orient_image

# The rate assumed where a stream states none, to turn frame counts into times and back.
FALLBACK_FPS = 25.0


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


def frame_time(frame: av.VideoFrame, ordinal: int, fps: float | None) -> float:
    """A decoded frame's presentation time in seconds; from its position at ``fps`` when it carries none."""
    if frame.pts is not None and frame.time_base is not None:
        return float(frame.pts * frame.time_base)
    return ordinal / (fps or FALLBACK_FPS)


@dataclass(frozen=True)
class FrameConverter:
    """Turns decoded frames of one stream into :class:`Frame` s.

    Attributes:
        path: the file, for error messages.
        max_pixels: the pixel limit, checked again per frame since a stream may change size part-way.
        sample_aspect: width stretch for non-square pixels (1.0 for square ones).
        rotation: the stream's counter-clockwise rotation, for frames that carry no display matrix.
        mirror: mirror each frame left to right after ``rotation``, which then overrides the frame's display matrix
            (a mirrored EXIF orientation or track matrix: FFmpeg's angle for it is wrong and has no mirroring).
    """

    path: Path
    max_pixels: int
    sample_aspect: float = 1.0
    rotation: int = 0
    mirror: bool = False

    def __call__(self, frame: av.VideoFrame, index: int, timestamp: float) -> Frame:
        ctx_w, ctx_h = frame.width, frame.height
        width = round(ctx_w * self.sample_aspect) if self.sample_aspect != 1.0 else ctx_w
        has_alpha = any(c.is_alpha for c in frame.format.components) or frame.format.has_palette
        if width * ctx_h > self.max_pixels or ctx_w * ctx_h > self.max_pixels:
            raise MediaTooLargeError(f"{self.path}: frame of {ctx_w}x{ctx_h} is over the pixel limit",
                                     path=str(self.path))
        if has_alpha:
            rgba = frame.to_ndarray(format="rgba", width=width, height=ctx_h)
            # Composite over white: transparent cut-outs are meant to be seen on a page background.
            alpha = rgba[..., 3:4].astype(np.float32) / 255.0
            image = (rgba[..., :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha) + 0.5).astype(np.uint8)
        elif hdr_transfer(frame) is not None:
            image = hdr_to_sdr(frame, width, ctx_h)  # an HDR phone clip, as the SDR footage models learn from
        else:
            image = frame.to_ndarray(format="rgb24", width=width, height=ctx_h)
        rotation = self.rotation if self.mirror else frame_rotation(frame) or self.rotation
        image = orient_image(image, rotation, self.mirror)
        return Frame(index=index, timestamp=timestamp, image=image)
