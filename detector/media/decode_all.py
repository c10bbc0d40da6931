"""The short-clip strategy: decode every frame in order and convert to RGB only the one nearest each target time.

On short clips this beats seeking (seeking measured 2-10x slower on 10 s clips); frames stream through, so
memory stays flat in the clip's length.
"""

from __future__ import annotations

from collections.abc import Iterator

import av

from ..errors import CorruptMediaError
from .frame import Frame, FrameConverter, frame_time
from .probe import ProbedMedia
from .reference_skip import ReferenceFrameSkip

# Slack when comparing a target's distance to two frames, so float rounding cannot break a tie.
TIE_SLACK_S = 1e-6


def truncation_tolerance(duration: float, n_targets: int) -> float:
    """How far past the last decodable frame a target may lie before the file counts as truncated."""
    # At most one sampling slice; 0.5 s covers sparse frames in low-rate streams.
    slice_s = duration / max(1, n_targets)
    return max(0.5, slice_s)


def decode_all(media: ProbedMedia, targets: list[float], *, convert: FrameConverter,
               skip: ReferenceFrameSkip) -> Iterator[Frame]:
    """Decode every frame; yield the one nearest each of ``targets`` (ascending times), each frame once at most.

    Raises:
        CorruptMediaError: the stream ends more than :func:`truncation_tolerance` before the last target.
    """
    duration = media.info.duration_s or 0.0
    tolerance_s = truncation_tolerance(duration, len(targets))
    fps = media.info.fps
    ti = 0
    prev: tuple[av.VideoFrame, int, float] | None = None
    last_index = -1
    ordinal = -1
    for frame in media.container.decode(media.stream):
        ordinal += 1
        t = frame_time(frame, ordinal, fps)
        skip.check_gap(prev[2] if prev is not None else None, t)
        while ti < len(targets) and t >= targets[ti]:
            # Pick whichever of the previous and current frame lies nearer the target; a tie (targets
            # exactly between two frames, as when N equals the frame count) goes to the earlier frame.
            # Frames only move forward and are never repeated.
            if prev is not None and prev[1] > last_index and targets[ti] - prev[2] <= t - targets[ti] + TIE_SLACK_S:
                chosen = prev
            else:
                chosen = (frame, ordinal, t)
            if chosen[1] > last_index:
                last_index = chosen[1]
                yield convert(chosen[0], skip.index(*chosen[1:]), chosen[2])
            ti += 1
        if ti >= len(targets):
            return
        prev = (frame, ordinal, t)
    if ti < len(targets) and prev is not None:
        if targets[-1] - prev[2] > tolerance_s:
            raise CorruptMediaError(
                f"{media.path}: stream ends at {prev[2]:.2f} s, before the sampled time {targets[-1]:.2f} s "
                f"(declared duration {media.info.duration_s or 0:.2f} s): file truncated or damaged",
                path=str(media.path))
        if prev[1] > last_index:
            yield convert(prev[0], skip.index(*prev[1:]), prev[2])
