"""Decoded frames into RGB: grey, odd sizes, transparency over white, non-square pixels, the pixel limit, the
stream's rotation and its colour matrix and range; and each frame's time."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from detector.errors import MediaTooLargeError
from detector.media import Frame, read_frames
from detector.media.frame import FrameConverter, frame_time
from detector.recipe import SamplingSpec


def _video_frame(image: np.ndarray, fmt: str = "rgb24") -> av.VideoFrame:
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format=fmt)


def test_frame_time_is_the_presentation_time():
    frame = _video_frame(np.zeros((4, 4, 3), np.uint8))
    frame.pts, frame.time_base = 300, Fraction(1, 100)
    assert frame_time(frame, 7, 25.0) == 3.0


def test_frame_time_without_timestamps_counts_frames_at_the_rate():
    frame = _video_frame(np.zeros((4, 4, 3), np.uint8))
    assert frame.pts is None
    assert frame_time(frame, 10, 50.0) == 0.2
    assert frame_time(frame, 10, None) == 0.4  # no stated rate: 25 fps assumed


def test_converter_keeps_index_time_and_pixels():
    image = np.random.default_rng(0).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    frame = FrameConverter(path=Path("x.mp4"), max_pixels=10_000)(_video_frame(image), 4, 0.16)
    assert isinstance(frame, Frame) and (frame.index, frame.timestamp) == (4, 0.16)
    assert frame.image.dtype == np.uint8 and np.array_equal(frame.image, image)


def test_converter_stretches_non_square_pixels():
    image = np.full((6, 8, 3), 128, np.uint8)
    frame = FrameConverter(path=Path("x.mp4"), max_pixels=10_000, sample_aspect=2.0)(_video_frame(image), 0, 0.0)
    assert frame.image.shape == (6, 16, 3)


def test_converter_applies_the_stream_rotation_when_the_frame_has_none():
    image = np.zeros((6, 8, 3), np.uint8)
    image[0, -1] = 255  # top right
    frame = FrameConverter(path=Path("x.mp4"), max_pixels=10_000, rotation=90)(_video_frame(image), 0, 0.0)
    assert frame.image.shape == (8, 6, 3) and frame.image[0, 0].tolist() == [255, 255, 255]


def test_converter_refuses_frames_over_the_pixel_limit():
    convert = FrameConverter(path=Path("big.mp4"), max_pixels=47)
    with pytest.raises(MediaTooLargeError, match="big.mp4: frame of 8x6 is over the pixel limit"):
        convert(_video_frame(np.zeros((6, 8, 3), np.uint8)), 0, 0.0)
    # The stretched width counts too.
    stretched = FrameConverter(path=Path("big.mp4"), max_pixels=48, sample_aspect=1.5)
    with pytest.raises(MediaTooLargeError):
        stretched(_video_frame(np.zeros((6, 8, 3), np.uint8)), 0, 0.0)


def test_converter_composites_transparency_over_white():
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., :3] = 100
    rgba[0, :, 3] = 255  # top row opaque, bottom row transparent
    frame = FrameConverter(path=Path("x.png"), max_pixels=100)(_video_frame(rgba, "rgba"), 0, 0.0)
    assert frame.image[0].tolist() == [[100] * 3] * 2 and frame.image[1].tolist() == [[255] * 3] * 2


def test_odd_sizes_and_grayscale(tmp_path, video_writer, cameraman):
    gray = cameraman[:241, :317, 0]
    path = video_writer(tmp_path / "gray.mkv", [gray] * 3, codec="ffv1", pix_fmt="gray")
    info, frames = read_frames(path, sampling=SamplingSpec(frames=2))
    assert (info.width, info.height) == (317, 241)
    assert frames[0].image.shape == (241, 317, 3) and frames[0].image.dtype == np.uint8
    assert np.array_equal(frames[0].image[..., 0], gray)  # lossless: grey replicated into RGB


def test_png_alpha_is_composited_on_white(tmp_path, astronaut):
    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    rgba[:, :256, 3] = 0  # left half fully transparent
    path = tmp_path / "alpha.png"
    cv2.imwrite(str(path), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    _, [frame] = read_frames(path)
    assert frame.image.shape == (512, 512, 3)
    assert (frame.image[:, :256] == 255).all()
    assert np.array_equal(frame.image[:, 256:], astronaut[:, 256:])


@pytest.mark.parametrize(("matrix", "code", "colour_range"), [
    ("ITU709", 1, "MPEG"),   # HD footage: BT.709, limited range
    ("ITU601", 5, "MPEG"),   # SD footage and most old clips: BT.601
    ("ITU709", 1, "JPEG"),   # phones that record full range (yuvj420p)
])
def test_video_colours_follow_the_matrix_and_range_the_stream_states(tmp_path, tagged_clip, matrix, code,
                                                                     colour_range):
    # PyAV converts with each frame's own matrix and range (checked 2026-12-07 with PyAV 18.1 / FFmpeg 8): reading
    # BT.709 as BT.601 moves this orange by 14 grey levels, limited range read as full by 14; H.264 at its default
    # quality keeps a flat patch within 3 levels (measured). Training and inference share the conversion, so a
    # change here would shift every video crop a model was trained on.
    colour = np.array([200, 60, 40], np.uint8)
    path = tmp_path / f"{matrix}_{colour_range}.mp4"
    frame = _video_frame(np.broadcast_to(colour, (128, 128, 3))).reformat(
        format="yuv420p", dst_colorspace=matrix, dst_color_range=colour_range)
    tagged_clip(path, frame, codec="libx264", colorspace=code, color_range=2 if colour_range == "JPEG" else 1)
    _, frames = read_frames(path)
    assert frames
    for decoded in frames:
        assert np.abs(decoded.image[32:96, 32:96].astype(int) - colour.astype(int)).max() <= 4
