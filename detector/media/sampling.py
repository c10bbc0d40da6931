"""Which frames to take from a video: target times from the scan recipe's :class:`detector.recipe.SamplingSpec`
(spread by count or by rate), and whether sparse targets let the decoder skip the frames nothing else is predicted
from."""

from __future__ import annotations

from ..errors import MediaTooLongError
from ..recipe import SamplingSpec
from .limits import MediaLimits


def target_times(sampling: SamplingSpec, start: float, duration: float, limits: MediaLimits) -> list[float]:
    """Target times (seconds) for a stream starting at ``start`` and lasting ``duration``."""
    if sampling.fps is not None:
        count = max(1, int(duration * sampling.fps))
        if count > limits.max_sampled_frames:
            raise MediaTooLongError(
                f"sampling at {sampling.fps:g} fps gives {count} frames over {duration:.1f} s, more than the "
                f"limit of {limits.max_sampled_frames}; lower --fps or raise the limit"
            )
        return [start + i / sampling.fps for i in range(count)]
    # Centred in equal slices: skips the black first frame of a fade-in.
    step = duration / sampling.frames
    return [start + (i + 0.5) * step for i in range(sampling.frames)]


def skips_nonreference(sampling: SamplingSpec, duration: float, fps: float | None) -> bool:
    """Whether sampling a ``duration``-second stream at ``fps`` decodes reference frames only."""
    if not sampling.reference_frames_only or not fps or fps <= 0 or duration <= 0:
        return False
    step_s = 1.0 / sampling.fps if sampling.fps is not None else duration / sampling.frames
    return step_s * fps >= sampling.sparse_step_frames
