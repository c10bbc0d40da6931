"""Guard rails against hostile or absurd input, shared by probing, sampling and frame conversion."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MediaLimits:
    """Guard rails against hostile or absurd input.

    Attributes:
        max_pixels: most pixels allowed in one frame; 40 MP admits 8K UHD (33.2 MP) and refuses
            decompression bombs before a decoder allocates them. A JPEG still up to 16 times larger is decoded
            at 1/2 or 1/4 of its size per side to fit (the decoder's DCT scaling) instead of refused.
        max_duration_s: longest video accepted (default 6 h).
        max_sampled_frames: most frames one media may yield (guards ``fps`` sampling on long videos).
    """

    max_pixels: int = 40_000_000
    max_duration_s: float = 6 * 3600.0
    max_sampled_frames: int = 10_000
