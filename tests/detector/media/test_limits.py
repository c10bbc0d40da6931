"""The guard rails: frame size (from the header, the stream and each frame), duration and sampled frame count."""

from __future__ import annotations

import struct
import zlib

import cv2
import pytest

from detector.errors import MediaTooLongError
from detector.media import MediaLimits, read_frames
from detector.recipe import SamplingSpec


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny but well-formed PNG whose header claims ``width`` x ``height`` pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def test_defaults_admit_8k_and_six_hours():
    limits = MediaLimits()
    assert limits.max_pixels >= 7680 * 4320 and limits.max_duration_s == 6 * 3600.0
    with pytest.raises(AttributeError):
        limits.max_pixels = 1  # type: ignore[misc]  # frozen: one set of limits serves many readers


def test_max_duration_guard(demo_clip):
    with pytest.raises(MediaTooLongError) as err:
        read_frames(demo_clip, limits=MediaLimits(max_duration_s=1.0))
    assert err.value.code == "media_too_long"


def test_fps_sampling_frame_cap(demo_clip):
    with pytest.raises(MediaTooLongError):
        read_frames(demo_clip, sampling=SamplingSpec(fps=25), limits=MediaLimits(max_sampled_frames=10))


def test_png_decompression_bomb_refused_before_decoding(tmp_path, media_error_code):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_claiming(60000, 60000))
    assert media_error_code(path) == "media_too_large"


def test_jpeg_with_absurd_dimensions(tmp_path, astronaut, media_error_code):
    _, buf = cv2.imencode(".jpg", astronaut)
    data = bytearray(buf.tobytes())
    sof = data.find(b"\xff\xc0")
    data[sof + 5: sof + 9] = struct.pack(">HH", 50000, 50000)  # height, width in the frame header
    path = tmp_path / "huge.jpg"
    path.write_bytes(bytes(data))
    assert media_error_code(path) == "media_too_large"


def test_pixel_limit_applies_to_videos(demo_clip, media_error_code):
    assert media_error_code(demo_clip, limits=MediaLimits(max_pixels=640 * 360 - 1)) == "media_too_large"
    assert read_frames(demo_clip, limits=MediaLimits(max_pixels=640 * 360))[1]  # exactly at the limit: reads
