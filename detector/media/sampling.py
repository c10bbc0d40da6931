"""Which frames to take from a video: target times spread by count or by rate, and when sparse targets let the
decoder skip the frames nothing else is predicted from."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import ConfigError, MediaTooLongError
from ..recipe import SamplingSpec
from .limits import MediaLimits


@dataclass(frozen=True)
class Sampling:
    """Which frames to take from a video. Exactly one of ``num_frames`` / ``fps`` is used.

    Attributes:
        num_frames: frames evenly spread over the duration (default: the scan recipe's, ``SamplingSpec.frames``).
        fps: a fixed sampling rate instead; overrides ``num_frames``.
        seek_above_s: videos at least this long are read by keyframe seeking, shorter ones by decoding
            everything (seeking measured 2-10x slower on 10 s clips and faster on 60 s clips).
        reference_frames_only: when samples lie at least ``sparse_step_frames`` frame intervals apart,
            skip decoding non-reference frames (see :mod:`detector.media.reference_skip`). False decodes
            every frame.
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
        # Centred in equal slices: skips the black first frame of a fade-in.
        step = duration / self.num_frames
        return [start + (i + 0.5) * step for i in range(self.num_frames)]

    def skips_nonreference(self, duration: float, fps: float | None) -> bool:
        """Whether sampling a ``duration``-second stream at ``fps`` decodes reference frames only."""
        if not self.reference_frames_only or not fps or fps <= 0 or duration <= 0:
            return False
        step_s = 1.0 / self.fps if self.fps is not None else duration / self.num_frames
        return step_s * fps >= self.sparse_step_frames
