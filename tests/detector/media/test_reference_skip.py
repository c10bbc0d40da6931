"""Reference frames only, for sparse samples: the decoder setting, the fallback on long gaps, frame numbers
estimated from time; and on real B-frame clips, samples one frame interval off at most."""

from __future__ import annotations

from fractions import Fraction
from types import SimpleNamespace

import pytest

from detector.media import open_media, read_frames
from detector.media.reference_skip import ReferenceFrameSkip
from detector.media.sampling import skips_nonreference
from detector.recipe import SamplingSpec


def _stream() -> SimpleNamespace:
    return SimpleNamespace(codec_context=SimpleNamespace(skip_frame="DEFAULT"))


def test_begin_sets_the_decoder_and_reset_leaves_it():
    stream = _stream()
    skip = ReferenceFrameSkip(stream, 25.0)
    skip.begin(True)
    assert stream.codec_context.skip_frame == "NONREF" and skip.active and skip.used
    skip.reset()
    assert stream.codec_context.skip_frame == "NONREF" and not skip.active and not skip.used
    skip.begin(False)
    assert stream.codec_context.skip_frame == "DEFAULT" and not skip.active and not skip.used


def test_a_gap_over_two_and_a_half_intervals_stops_skipping_for_good():
    stream = _stream()
    skip = ReferenceFrameSkip(stream, 25.0)
    skip.begin(True)
    skip.check_gap(None, 0.0)  # the first frame, or the first after a seek: no gap
    skip.check_gap(0.0, 0.08)  # 2 intervals: x264's B-pyramid
    assert skip.active and stream.codec_context.skip_frame == "NONREF"
    skip.check_gap(0.08, 0.2)  # 3 intervals
    assert not skip.active and skip.used and stream.codec_context.skip_frame == "DEFAULT"


def test_index_counts_decoded_frames_until_frames_were_skipped():
    skip = ReferenceFrameSkip(_stream(), None)  # no stated rate: 25 fps assumed
    assert skip.index(3, 1.0) == 3
    skip.begin(True)
    assert skip.index(3, 1.0) == 25


def _bframe_clip(tmp_path, video_writer, numbered, n=250):
    # x264's default GOP: B-frames in a pyramid, half of them never referenced (what the skip drops).
    return video_writer(tmp_path / "b.mp4", numbered(n), fps=25, options={"bf": "3", "b_strategy": "0"})


def test_sparse_samples_decode_reference_frames_only(tmp_path, video_writer, numbered, read_number):
    path = _bframe_clip(tmp_path, video_writer, numbered)
    info, every = read_frames(path, sampling=SamplingSpec(frames=32, reference_frames_only=False))
    _, refs = read_frames(path, sampling=SamplingSpec(frames=32))
    assert len(refs) == len(every) == 32
    # The skip took effect: some samples moved to a neighbouring reference frame ...
    assert [f.index for f in refs] != [f.index for f in every]
    targets = [(i + 0.5) * info.duration_s / 32 for i in range(32)]
    for frame, target in zip(refs, targets):
        # ... by at most one frame interval, and index, time and pixels still agree.
        assert abs(frame.timestamp - target) <= 0.04 + 1e-6
        assert frame.index == round(frame.timestamp * 25) == read_number(frame.image)
    with open_media(path) as media:
        decoded = sum(1 for _ in media.frames(SamplingSpec(frames=32)))
    assert decoded == 32


def test_dense_samples_decode_every_frame(tmp_path, video_writer, numbered):
    path = _bframe_clip(tmp_path, video_writer, numbered, n=50)
    # 2 s at 25 fps, 20 samples: 2.5 frame intervals apart, under the sparse threshold of 4.
    assert not skips_nonreference(SamplingSpec(frames=20), 2.0, 25.0)
    assert skips_nonreference(SamplingSpec(frames=10), 2.0, 25.0)
    _, a = read_frames(path, sampling=SamplingSpec(frames=20))
    _, b = read_frames(path, sampling=SamplingSpec(frames=20, reference_frames_only=False))
    assert [f.index for f in a] == [f.index for f in b]


def test_variable_frame_rate_is_sampled_by_time(tmp_path, video_writer, numbered):
    # First second at 50 fps, next three seconds at 5 fps: frame counts would oversample the start.
    times = [i / 50 for i in range(50)] + [1.0 + i / 5 for i in range(15)]
    tb = Fraction(1, 1000)
    path = video_writer(tmp_path / "vfr.mkv", numbered(len(times)), fps=50, pts=[round(t * 1000) for t in times],
                        time_base=tb)
    # Samples 1 s apart are sparse, so decoding starts on reference frames only; the 5-fps stretch must make
    # it fall back to every frame (skipping there moved the sample at 2.5 s to 2.2 s).
    info, frames = read_frames(path, sampling=SamplingSpec(frames=4))
    assert info.duration_s == pytest.approx(4.0, abs=0.25)
    # Targets at 0.5, 1.5, 2.5, 3.5 s: nearest frames lie within one 5-fps step of them.
    for frame, target in zip(frames, [0.5, 1.5, 2.5, 3.5]):
        assert abs(frame.timestamp - target) <= 0.11
    assert len(frames) == 4
