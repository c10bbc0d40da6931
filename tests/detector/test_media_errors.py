"""Every way an input can be unusable gives its own stable error code, never a crash or a partial result."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from detector.errors import DetectorError, MediaError
from detector.media import MediaLimits, Sampling, read_frames


def _code(path, **kwargs) -> str:
    with pytest.raises(MediaError) as err:
        read_frames(path, **kwargs)
    assert isinstance(err.value, DetectorError)
    assert err.value.message and str(path) in err.value.message
    return err.value.code


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny but well-formed PNG whose header claims ``width`` x ``height`` pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def test_missing_file(tmp_path):
    assert _code(tmp_path / "nope.mp4") == "not_found"


def test_directory(tmp_path):
    assert _code(tmp_path) == "is_directory"


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.mp4"
    path.touch()
    assert _code(path) == "empty_file"


def test_text_file_named_mp4(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 50)
    assert _code(path) == "unsupported_media"


def test_permission_denied(tmp_path, demo_clip, monkeypatch):
    # Tests run as root in CI, where chmod 000 does not stop reads; simulate the kernel's answer instead.
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(demo_clip) else real_access(p, mode))
    assert _code(demo_clip) == "permission_denied"


def test_permission_denied_on_stat(tmp_path, monkeypatch):
    path = tmp_path / "locked.mp4"
    path.write_bytes(b"x" * 10)
    real_stat = Path.stat

    def stat(self, *args, **kwargs):
        if self == path:
            raise PermissionError(13, "Permission denied")
        return real_stat(self, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", stat)
    assert _code(path) == "permission_denied"


def test_truncated_video_without_index(tmp_path, demo_clip):
    # PyAV writes the mp4 index (moov) at the end: cutting the file loses it.
    data = demo_clip.read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) // 2])
    assert _code(path) == "corrupt_media"


@pytest.mark.parametrize("ext, options", [(".mkv", None), (".mp4", {"movflags": "faststart"})])
def test_truncated_video_with_index_first(tmp_path, video_writer, numbered, ext, options):
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
    assert read_frames(full, sampling=Sampling(num_frames=8))[1]  # the intact file reads
    assert _code(cut, sampling=Sampling(num_frames=8)) == "corrupt_media"


def test_unsupported_codec(tmp_path):
    path = tmp_path / "odd.avi"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width = stream.height = 32
        stream.pix_fmt = "yuv420p"
        for _ in range(3):
            for p in stream.encode(av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")):
                out.mux(p)
        for p in stream.encode():
            out.mux(p)
    data = path.read_bytes()
    assert b"FMP4" in data
    path.write_bytes(data.replace(b"FMP4", b"ZZZZ"))  # a FourCC no decoder knows
    assert _code(path) == "unsupported_codec"


def test_zero_decodable_frames(tmp_path, demo_clip):
    # Keep the container intact but zero every byte of coded video: it opens, yet no frame decodes.
    data = bytearray(demo_clip.read_bytes())
    start = data.find(b"mdat") + 4
    end = data.find(b"moov") - 4
    assert 8 < start < end
    data[start:end] = bytes(end - start)
    path = tmp_path / "blank.mp4"
    path.write_bytes(bytes(data))
    assert _code(path) == "no_frames"


def test_audio_only_file(tmp_path):
    path = tmp_path / "tone.wav"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for p in stream.encode(frame):
            out.mux(p)
        for p in stream.encode():
            out.mux(p)
    assert _code(path) == "no_video_stream"


def test_png_decompression_bomb_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_claiming(60000, 60000))
    assert _code(path) == "media_too_large"


def test_jpeg_with_absurd_dimensions(tmp_path, astronaut):
    _, buf = cv2.imencode(".jpg", astronaut)
    data = bytearray(buf.tobytes())
    sof = data.find(b"\xff\xc0")
    data[sof + 5: sof + 9] = struct.pack(">HH", 50000, 50000)  # height, width in the frame header
    path = tmp_path / "huge.jpg"
    path.write_bytes(bytes(data))
    assert _code(path) == "media_too_large"


def test_pixel_limit_applies_to_videos(demo_clip):
    assert _code(demo_clip, limits=MediaLimits(max_pixels=640 * 360 - 1)) == "media_too_large"


def test_error_codes_are_stable():
    import detector.errors as e

    codes = {cls.code for cls in vars(e).values() if isinstance(cls, type) and issubclass(cls, e.DetectorError)}
    assert {"not_found", "is_directory", "permission_denied", "empty_file", "unsupported_media", "unsupported_codec",
            "no_video_stream", "corrupt_media", "no_frames", "media_too_large", "media_too_long", "model_integrity",
            "missing_extra", "invalid_config", "unreadable_path", "no_media_files"} <= codes


def test_symlink_to_itself(tmp_path):
    loop = tmp_path / "loop"
    os.symlink("loop", loop)
    assert _code(loop) == "unreadable_path"


def test_symlink_cycle_of_two(tmp_path):
    os.symlink("b.mp4", tmp_path / "a.mp4")
    os.symlink("a.mp4", tmp_path / "b.mp4")
    assert _code(tmp_path / "a.mp4") == "unreadable_path"


# Names FFmpeg treats differently: by their extension it picks the mov demuxer (.mp4), the image2 demuxer
# with a codec taken from the name (.jpg, .png), or probes the content (.bin, no extension).
_NAMES = ("x.bin", "x.mp4", "x.jpg", "x.png", "x.mkv", "x.gif", "x")


def _codes_by_name(tmp_path, data: bytes) -> dict[str, str]:
    codes = {}
    for name in _NAMES:
        path = tmp_path / name
        path.write_bytes(data)
        try:
            read_frames(path, sampling=Sampling(num_frames=4))
            codes[name] = "ok"
        except MediaError as exc:
            codes[name] = exc.code
    return codes


@pytest.mark.parametrize("size", [1000, 100_000, 1_000_000])
def test_random_bytes_are_unsupported_under_any_name(tmp_path, size):
    # Seed 1000 at 1 MB used to "open" under .bin (FFmpeg probed a raw stream claiming 1280x50000 pixels:
    # media_too_large) while .mp4 gave unsupported_media.
    data = np.random.default_rng(1000).integers(0, 256, size, dtype=np.uint8).tobytes()
    assert set(_codes_by_name(tmp_path, data).values()) == {"unsupported_media"}


def test_random_bytes_that_ffmpeg_probes_as_video(tmp_path):
    import random

    # These bytes opened as a raw video stream under .bin before their classification moved to the bytes.
    data = random.Random(1000).randbytes(1_000_000)
    assert set(_codes_by_name(tmp_path, data).values()) == {"unsupported_media"}


@pytest.mark.parametrize("case", ["jpeg_junk", "riff_junk", "es_junk", "truncated_mp4"])
def test_damaged_media_gets_one_code_under_any_name(tmp_path, astronaut, demo_clip, case):
    junk = np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes()
    jpeg = cv2.imencode(".jpg", astronaut)[1].tobytes()
    data = {"jpeg_junk": jpeg[:200] + junk, "riff_junk": b"RIFF" + junk, "es_junk": b"\x00\x00\x01" + junk,
            "truncated_mp4": demo_clip.read_bytes()[:3000]}[case]
    codes = _codes_by_name(tmp_path, data)
    assert len(set(codes.values())) == 1, codes
    assert codes["x.bin"] not in ("ok", "media_error")


def test_valid_media_reads_under_any_name(tmp_path, astronaut, demo_clip):
    # The demuxer follows the bytes: a JPEG named .mp4 and a video named .png still read.
    jpeg = cv2.imencode(".jpg", astronaut)[1].tobytes()
    assert set(_codes_by_name(tmp_path, jpeg).values()) == {"ok"}
    assert set(_codes_by_name(tmp_path, demo_clip.read_bytes()).values()) == {"ok"}
