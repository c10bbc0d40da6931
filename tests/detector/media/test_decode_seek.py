"""Seeking to the keyframe before each target: the same frames as decoding everything, decoding on across
short gaps, and a stream that ends before a target reported as truncated."""

from __future__ import annotations

import numpy as np
import pytest

from detector.errors import CorruptMediaError
from detector.media import MediaLimits, read_frames
from detector.media.decode_seek import decode_seek
from detector.media.frame import FrameConverter
from detector.media.probe import probe_media
from detector.media.reference_skip import ReferenceFrameSkip
from detector.recipe import SamplingSpec


def _seek(path, targets):
    media = probe_media(path, MediaLimits())
    try:
        convert = FrameConverter(path=media.path, max_pixels=MediaLimits().max_pixels)
        return list(decode_seek(media, targets, convert=convert, skip=ReferenceFrameSkip(media.stream, media.info.fps)))
    finally:
        media.container.close()


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory, video_writer, numbered):
    # 40 s at 10 fps, keyframe every 2 s: above the seek threshold.
    return video_writer(tmp_path_factory.mktemp("seek") / "long.mp4", numbered(400, (32, 32)), fps=10,
                        options={"g": "20", "qp": "0"})


def test_decode_seek_finds_the_nearest_frame_to_each_target(long_clip, read_number):
    # Far apart (a seek), then close together (decoding on): 25.36 s is nearest 25.4 s; 25.45 s ties 25.4 s,
    # already yielded, so it takes the next frame. A target before the last frame yielded is passed over.
    frames = _seek(long_clip, [25.0, 25.36, 25.45, 3.0])
    assert [f.index for f in frames] == [250, 254, 255]
    assert [read_number(f.image) for f in frames] == [250, 254, 255]


def test_decode_seek_reports_a_stream_that_ends_before_a_target(long_clip):
    with pytest.raises(CorruptMediaError, match="stream ends at 39.90 s, before the sampled time 45.00 s"):
        _seek(long_clip, [10.0, 45.0])


def test_seek_and_decode_all_pick_the_same_frames(long_clip):
    sampling_all = SamplingSpec(frames=16, seek_above_s=1e9)
    sampling_seek = SamplingSpec(frames=16, seek_above_s=1.0)
    _, all_frames = read_frames(long_clip, sampling=sampling_all)
    _, seek_frames = read_frames(long_clip, sampling=sampling_seek)
    assert len(all_frames) == len(seek_frames) == 16
    assert [f.timestamp for f in all_frames] == pytest.approx([f.timestamp for f in seek_frames], abs=1e-6)
    assert [f.index for f in all_frames] == [f.index for f in seek_frames]
    for a, b in zip(all_frames, seek_frames):
        assert np.array_equal(a.image, b.image)
