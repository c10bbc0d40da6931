"""The strategy for streams of unknown length (nothing states a duration, and packet timestamps give none):
without a duration there are no target times, so frames are taken on the fly as their times come."""

from __future__ import annotations

from collections.abc import Iterator

from ..recipe import SamplingSpec
from .frame import Frame, FrameConverter, frame_time
from .probe import ProbedMedia

# The rate used when sampling by count, which needs a duration to spread the count over.
COUNT_SAMPLING_FPS = 1.0


def decode_rate(media: ProbedMedia, sampling: SamplingSpec, *, convert: FrameConverter,
                max_frames: int) -> Iterator[Frame]:
    """Yield the first frame, then the first frame at least one sampling interval after the last one yielded.

    The interval is ``1 / sampling.fps``, or ``1 / COUNT_SAMPLING_FPS`` when sampling by count; stops after
    ``sampling.frames`` frames (sampling by count) or ``max_frames``.
    """
    rate = sampling.fps or COUNT_SAMPLING_FPS
    next_t = None
    count = 0
    for ordinal, frame in enumerate(media.container.decode(media.stream)):
        t = frame_time(frame, ordinal, media.info.fps)
        if next_t is None or t >= next_t:
            yield convert(frame, ordinal, t)
            count += 1
            if count >= max_frames or (sampling.fps is None and count >= sampling.frames):
                return
            next_t = t + 1.0 / rate
