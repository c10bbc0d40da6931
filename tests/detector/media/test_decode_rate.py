"""Streams of unknown length (a raw H.264 stream states no duration): frames taken as their times come, at
the sampling rate or one a second, capped."""

from __future__ import annotations

import numpy as np

from detector.media import MediaLimits, open_media
from detector.media.decode_rate import decode_rate
from detector.media.frame import FrameConverter
from detector.media.probe import probe_media
from detector.recipe import SamplingSpec


def _rate(path, sampling, max_frames=10_000):
    media = probe_media(path, MediaLimits())
    try:
        convert = FrameConverter(path=media.path, max_pixels=MediaLimits().max_pixels)
        return list(decode_rate(media, sampling, convert=convert, max_frames=max_frames))
    finally:
        media.container.close()


def test_the_stream_has_no_duration(raw_h264):
    with open_media(raw_h264) as media:
        assert media.info.kind == "video" and media.info.duration_s is None and media.frame_count is None


def test_count_sampling_takes_one_frame_a_second(raw_h264, read_number):
    frames = _rate(raw_h264, SamplingSpec(frames=8))
    assert [(f.index, f.timestamp) for f in frames] == [(0, 0.0), (25, 1.0), (50, 2.0)]
    assert [read_number(f.image) for f in frames] == [0, 25, 50]
    assert [f.index for f in _rate(raw_h264, SamplingSpec(frames=2))] == [0, 25]  # the count caps too


def test_rate_sampling_steps_from_the_last_frame_taken(raw_h264):
    frames = _rate(raw_h264, SamplingSpec(fps=2.0))
    assert [f.index for f in frames] == [0, 13, 26, 39, 52]  # 0.5 s at 25 fps falls between frames
    assert np.diff([f.timestamp for f in frames]).min() >= 0.5


def test_max_frames_caps_rate_sampling(raw_h264):
    assert len(_rate(raw_h264, SamplingSpec(fps=25.0), max_frames=7)) == 7


def test_the_reader_samples_unknown_lengths_on_the_fly(raw_h264):
    with open_media(raw_h264, limits=MediaLimits(max_sampled_frames=4)) as media:
        assert [f.index for f in media.frames(SamplingSpec(fps=10.0))] == [0, 3, 6, 9]
