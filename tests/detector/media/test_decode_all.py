"""Decoding every frame of a short clip: the nearest frame to each target, each frame once, ties to the earlier
frame, and a stream that ends early reported as truncated."""

from __future__ import annotations

import av
import cv2
import numpy as np
import pytest

from detector.errors import CorruptMediaError
from detector.media import MediaLimits, read_frames
from detector.media.decode_all import decode_all, truncation_tolerance
from detector.media.frame import FrameConverter
from detector.media.probe import probe_media
from detector.media.reference_skip import ReferenceFrameSkip
from detector.recipe import SamplingSpec


def _decode(path, targets):
    media = probe_media(path, MediaLimits())
    try:
        convert = FrameConverter(path=media.path, max_pixels=MediaLimits().max_pixels)
        return list(decode_all(media, targets, convert=convert, skip=ReferenceFrameSkip(media.stream, 25.0)))
    finally:
        media.container.close()


def test_truncation_tolerance_is_one_slice_and_half_a_second_at_least():
    assert truncation_tolerance(40.0, 10) == 4.0
    assert truncation_tolerance(2.0, 10) == 0.5
    assert truncation_tolerance(2.0, 0) == 2.0


def test_decode_all_picks_the_nearest_frames_once_each(tmp_path, video_writer, numbered, read_number):
    path = video_writer(tmp_path / "n.mp4", numbered(25), fps=25, options={"qp": "0"})
    # 0.06 s lies halfway between frames 1 and 2: a tie, to the earlier; 0.061 s is nearest frame 2, and so is
    # 0.07 s, which yields nothing more; 0.5 s ties frames 12 and 13.
    frames = _decode(path, [0.0, 0.06, 0.061, 0.07, 0.5])
    assert [f.index for f in frames] == [0, 1, 2, 12]
    assert [read_number(f.image) for f in frames] == [0, 1, 2, 12]
    assert [f.timestamp for f in frames] == pytest.approx([0.0, 0.04, 0.08, 0.48])


def test_decode_all_reports_a_stream_that_ends_before_the_targets(tmp_path, video_writer, numbered):
    path = video_writer(tmp_path / "n.mp4", numbered(25), fps=25)
    with pytest.raises(CorruptMediaError, match="stream ends at 0.96 s, before the sampled time 3.00 s"):
        _decode(path, [0.5, 3.0])
    # Within the tolerance the last frame stands in for the target.
    assert [f.index for f in _decode(path, [0.5, 1.2])] == [12, 24]


def test_more_samples_than_frames_gives_each_frame_once(tmp_path, video_writer, numbered):
    path = video_writer(tmp_path / "short.mp4", numbered(5), fps=25)
    _, frames = read_frames(path, sampling=SamplingSpec(frames=32))
    assert [f.index for f in frames] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("n", [12, 50])
def test_as_many_samples_as_frames_returns_every_frame(tmp_path, video_writer, numbered, read_number, n):
    # Sample times then fall exactly between two frames; none may be dropped or repeated.
    path = video_writer(tmp_path / "n.mp4", numbered(n), fps=25, options={"qp": "0"})
    _, frames = read_frames(path, sampling=SamplingSpec(frames=n))
    assert [f.index for f in frames] == list(range(n))
    assert [read_number(f.image) for f in frames] == list(range(n))


@pytest.mark.parametrize("ext, options", [(".mkv", None), (".mp4", {"movflags": "faststart"})])
def test_truncated_video_with_index_first(tmp_path, video_writer, numbered, ext, options, media_error_code):
    full = tmp_path / f"full{ext}"
    noise = np.random.default_rng(0).integers(0, 40, (96, 128, 3), dtype=np.uint8)
    # Noise makes every frame cost bytes, so the cut lands mid-stream rather than in the header.
    frames = [cv2.resize(f, (128, 96)) + np.roll(noise, i, axis=1) for i, f in enumerate(numbered(100))]
    out = av.open(str(full), "w", options=options or {})
    stream = out.add_stream("libx264", rate=25)
    stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p"
    for img in frames:
        for p in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
            out.mux(p)
    for p in stream.encode():
        out.mux(p)
    out.close()
    data = full.read_bytes()
    cut = tmp_path / f"cut{ext}"
    cut.write_bytes(data[: len(data) * 2 // 5])
    assert read_frames(full, sampling=SamplingSpec(frames=8))[1]  # the intact file reads
    assert media_error_code(cut, sampling=SamplingSpec(frames=8)) == "corrupt_media"
