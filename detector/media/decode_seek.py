"""The long-video strategy: seek to the keyframe before each target time, then decode forward to it.

Faster than decoding everything from about a minute of video on; the threshold is ``SamplingSpec.seek_above_s``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from fractions import Fraction

import av

from ..errors import CorruptMediaError
from .decode_all import TIE_SLACK_S
from .frame import FALLBACK_FPS, Frame, FrameConverter, frame_time
from .probe import ProbedMedia
from .reference_skip import ReferenceFrameSkip

# Within this gap, decoding on is cheaper than a seek (typical GOP of 2-5 s at 25-30 fps).
CONTINUE_WITHIN_S = 2.0


def decode_seek(media: ProbedMedia, targets: list[float], *, convert: FrameConverter,
                skip: ReferenceFrameSkip) -> Iterator[Frame]:
    """Yield the frame nearest each of ``targets`` (ascending times), seeking between distant ones.

    Frame numbers are estimated from timestamps at the average rate. A target whose nearest frame was already
    yielded is passed over.

    Raises:
        CorruptMediaError: the stream ends well before a target (over a second, or two frame intervals).
    """
    container, stream = media.container, media.stream
    time_base = stream.time_base or Fraction(1, av.time_base)
    fps = media.info.fps or FALLBACK_FPS
    decoder: Iterator[av.VideoFrame] | None = None
    position = -math.inf  # time of the last decoded frame
    last_t = None
    previous: float | None = None
    for target in targets:
        if decoder is None or target < position or target - position > CONTINUE_WITHIN_S:
            container.seek(int(target / time_base), stream=stream, backward=True, any_frame=False)
            decoder = iter(container.decode(stream))
            previous = None  # a seek's jump is no gap between decoded frames
        found = None
        prev = None
        for frame in decoder:
            t = frame_time(frame, 0, media.info.fps)
            skip.check_gap(previous, t)
            previous = position = t
            if t >= target:
                # Same rule as decoding everything: nearer frame, ties to the earlier one.
                found = prev if prev is not None and target - prev[1] <= t - target + TIE_SLACK_S else (frame, t)
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
                    f"{media.path}: stream ends at {prev[1]:.2f} s, before the sampled time {target:.2f} s: "
                    "file truncated or damaged", path=str(media.path))
        frame, t = found
        if last_t is not None and t <= last_t:
            continue
        last_t = t
        yield convert(frame, round(t * fps), t)
