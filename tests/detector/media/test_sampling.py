"""Sampling by time: target times spread by count or by rate, the frame cap, and when samples count as sparse."""

from __future__ import annotations

import pytest

from detector.errors import ConfigError, MediaTooLongError
from detector.media import MediaLimits, read_frames
from detector.media.sampling import skips_nonreference, target_times
from detector.recipe import SamplingSpec


def test_count_targets_are_centred_in_equal_slices():
    assert target_times(SamplingSpec(frames=4), 1.0, 8.0, MediaLimits()) == [2.0, 4.0, 6.0, 8.0]


def test_rate_targets_start_at_the_stream_start():
    assert target_times(SamplingSpec(fps=2.0), 0.5, 2.2, MediaLimits()) == [0.5, 1.0, 1.5, 2.0]
    assert target_times(SamplingSpec(fps=2.0), 0.0, 0.1, MediaLimits()) == [0.0]  # at least one


def test_rate_targets_over_the_cap_are_refused():
    with pytest.raises(MediaTooLongError, match="more than the limit of 10"):
        target_times(SamplingSpec(fps=5.0), 0.0, 2.2, MediaLimits(max_sampled_frames=10))


def test_sparse_means_samples_at_least_four_frame_intervals_apart():
    assert skips_nonreference(SamplingSpec(frames=10), 2.0, 25.0)  # 5 intervals apart
    assert not skips_nonreference(SamplingSpec(frames=20), 2.0, 25.0)  # 2.5 intervals apart
    assert skips_nonreference(SamplingSpec(fps=5.0), 60.0, 25.0)
    assert not skips_nonreference(SamplingSpec(frames=10, reference_frames_only=False), 2.0, 25.0)
    assert not skips_nonreference(SamplingSpec(frames=10), 2.0, None)  # no rate: no frame interval to count


def test_invalid_sampling_is_a_config_error():
    with pytest.raises(ConfigError):
        SamplingSpec(frames=0)
    with pytest.raises(ConfigError):
        SamplingSpec(fps=-1.0)


def test_even_sampling_spreads_over_duration(tmp_path, video_writer, numbered, read_number):
    path = video_writer(tmp_path / "n.mp4", numbered(100), fps=25, options={"qp": "0"})
    info, frames = read_frames(path, sampling=SamplingSpec(frames=10))
    assert info.kind == "video" and info.duration_s == pytest.approx(4.0, abs=0.05) and info.fps == 25
    assert len(frames) == 10
    # Centre of each of 10 slices of 4 s: 0.2, 0.6, ... 3.8 s -> frames 5, 15, ... 95.
    assert [f.index for f in frames] == [5 + 10 * i for i in range(10)]
    assert [read_number(f.image) for f in frames] == [5 + 10 * i for i in range(10)]
    assert [f.timestamp for f in frames] == pytest.approx([0.2 + 0.4 * i for i in range(10)], abs=0.021)


def test_fixed_rate_sampling(tmp_path, video_writer, numbered):
    path = video_writer(tmp_path / "n.mp4", numbered(100), fps=25)
    # Every frame decoded: each sample is the frame nearest its time (reference-only decoding: test_reference_skip).
    _, frames = read_frames(path, sampling=SamplingSpec(fps=2.0, reference_frames_only=False))
    assert len(frames) == 8
    assert [f.timestamp for f in frames] == pytest.approx([0.5 * i for i in range(8)], abs=0.021)
