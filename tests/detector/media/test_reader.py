"""The reader: one open file, frames streamed lazily through the strategy that fits, FFmpeg's failures turned
into stable error codes, and the stream's exact rate and frame count for tools that rewrite every frame."""

from __future__ import annotations

import os
from fractions import Fraction

import av
import numpy as np
import pytest

import detector.media.reader as reader_module
from detector.errors import CorruptMediaError, NoDecodableFramesError
from detector.media import MediaLimits, MediaReader, open_media, read_frames
from detector.recipe import SamplingSpec


def test_frames_stream_lazily(demo_clip):
    with open_media(demo_clip) as media:
        it = media.frames(SamplingSpec(frames=8))
        first = next(it)
        assert first.image.shape == (360, 640, 3)
        assert sum(1 for _ in it) == 7


def test_the_reader_knows_path_limits_rate_and_count(demo_clip):
    limits = MediaLimits(max_sampled_frames=99)
    with open_media(str(demo_clip), limits=limits) as media:
        assert isinstance(media, MediaReader) and media.path == demo_clip and media.limits is limits
        assert media.frame_rate == Fraction(25) and media.frame_count == 50
        assert media.info.path == str(demo_clip)


def test_every_frame_counts_the_decoded_frames(demo_clip):
    with open_media(demo_clip) as media:
        frames = list(media.every_frame())
    assert [f.index for f in frames] == list(range(50))
    assert [f.timestamp for f in frames] == pytest.approx([i / 25 for i in range(50)])


@pytest.mark.parametrize("seek_above_s, strategy", [(2.5, "decode_all"), (2.0, "decode_seek")])
def test_long_videos_seek_and_short_ones_decode_everything(demo_clip, monkeypatch, seek_above_s, strategy):
    called = []

    def spy(name):
        real = getattr(reader_module, name)

        def wrapped(*args, **kwargs):
            called.append(name)
            return real(*args, **kwargs)
        return wrapped

    for name in ("decode_all", "decode_seek"):
        monkeypatch.setattr(reader_module, name, spy(name))
    # The demo clip lasts 2 s: "long" from seek_above_s on.
    _, frames = read_frames(demo_clip, sampling=SamplingSpec(frames=4, seek_above_s=seek_above_s))
    assert called == [strategy] and len(frames) == 4


def test_ffmpeg_errors_part_way_become_corrupt_media(demo_clip, monkeypatch):
    def failing(media, targets, *, convert, skip):
        yield convert(next(iter(media.container.decode(media.stream))), 0, 0.0)
        raise av.error.InvalidDataError(1094995529, "Invalid data found when processing input")

    monkeypatch.setattr(reader_module, "decode_all", failing)
    with open_media(demo_clip) as media:
        frames = media.frames(SamplingSpec(frames=4))
        next(frames)
        with pytest.raises(CorruptMediaError, match="decoding failed in .*demo.mp4 after 1 sampled frames"):
            next(frames)


def test_no_frame_at_all_is_no_frames(demo_clip, monkeypatch):
    monkeypatch.setattr(reader_module, "decode_all", lambda *a, **k: iter(()))
    with pytest.raises(NoDecodableFramesError) as err:
        read_frames(demo_clip)
    assert err.value.code == "no_frames"


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open files through /proc")
def test_leaving_the_reader_releases_the_file(demo_clip):
    def open_files() -> int:
        return len(os.listdir("/proc/self/fd"))

    before = open_files()
    with open_media(demo_clip) as media:
        assert open_files() > before
        next(media.frames())
    assert open_files() == before


def test_error_codes_are_stable():
    import detector.errors as e

    codes = {cls.code for cls in vars(e).values() if isinstance(cls, type) and issubclass(cls, e.DetectorError)}
    assert {"not_found", "is_directory", "permission_denied", "empty_file", "unsupported_media", "unsupported_codec",
            "no_video_stream", "corrupt_media", "no_frames", "media_too_large", "media_too_long", "model_integrity",
            "missing_extra", "invalid_config", "unreadable_path", "no_media_files"} <= codes


def test_write_video_accepts_odd_sizes(tmp_path):
    from detector.outputs.demo import write_video

    path = write_video(tmp_path / "odd.mp4", [np.zeros((361, 641, 3), np.uint8)] * 3)
    info, frames = read_frames(path)
    assert (info.width, info.height) == (640, 360) and len(frames) == 3
