"""Decoding reference frames only, when samples are sparse.

When the samples lie at least ``SamplingSpec.sparse_step_frames`` frame intervals apart, the decoder skips the
frames no other frame is predicted from (FFmpeg ``skip_frame=NONREF``: the non-reference B-frames, half of a
default x264 stream), so a sampled frame is the nearest *reference* frame to its time, one frame interval off
at most. Where skipping leaves a gap over 2.5 frame intervals (long runs of unreferenced frames, or a slow
stretch of variable-rate footage), every frame is decoded from there on. This roughly halves the decoding of
x264 clips; streams without B-frames decode as before.
"""

from __future__ import annotations

import av

from .frame import FALLBACK_FPS

# Largest gap between decoded frames, in frame intervals, that skipping may leave: x264's B-pyramid leaves 2.
MAX_GAP_FRAMES = 2.5


class ReferenceFrameSkip:
    """The skip state of one stream's decoder over one decoding pass.

    ``active``: the decoder drops non-reference frames now. ``used``: it has in this pass, so counting
    decoded frames no longer gives frame numbers and :meth:`index` estimates them from timestamps.
    """

    def __init__(self, stream: av.video.stream.VideoStream, fps: float | None) -> None:
        self._stream = stream
        self._fps = fps or FALLBACK_FPS
        self.active = False
        self.used = False

    def reset(self) -> None:
        """Start a pass: nothing skipped yet (the decoder's setting is left as it is)."""
        self.active = self.used = False

    def begin(self, enabled: bool) -> None:
        """Start a pass that skips non-reference frames when ``enabled``, and decodes every frame otherwise."""
        self.active = self.used = enabled
        self._stream.codec_context.skip_frame = "NONREF" if enabled else "DEFAULT"

    def check_gap(self, previous_t: float | None, t: float) -> None:
        """Stop skipping non-reference frames where that leaves gaps over ``MAX_GAP_FRAMES`` frame intervals.

        Skipping one frame in two (x264's B-pyramid) leaves gaps of 2; longer runs of unreferenced frames,
        or a stretch slower than the declared rate (variable frame rate), would move samples further, so
        from there on every frame is decoded.
        """
        if self.active and previous_t is not None and t - previous_t > MAX_GAP_FRAMES / self._fps:
            self._stream.codec_context.skip_frame = "DEFAULT"
            self.active = False

    def index(self, ordinal: int, t: float) -> int:
        """The frame number of the ``ordinal``-th decoded frame, shown at ``t`` seconds."""
        # Once frames were skipped, the count of decoded frames is not the frame number: the timestamp at the
        # average rate estimates it, as when seeking.
        return round(t * self._fps) if self.used else ordinal
