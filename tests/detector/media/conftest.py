"""Helpers shared by the media tests."""

from __future__ import annotations

from collections.abc import Callable

import av
import pytest

from detector.errors import DetectorError, MediaError
from detector.media import read_frames


def error_code(path, **kwargs) -> str:
    """The ``code`` of the ``MediaError`` that reading ``path`` raises; its message must name the path."""
    with pytest.raises(MediaError) as err:
        read_frames(path, **kwargs)
    assert isinstance(err.value, DetectorError)
    assert err.value.message and str(path) in err.value.message
    return err.value.code


@pytest.fixture(scope="session")
def media_error_code() -> Callable[..., str]:
    """:func:`error_code`, as a fixture (test modules are imported in importlib mode)."""
    return error_code


@pytest.fixture(scope="session")
def raw_h264(tmp_path_factory, numbered):
    """2.4 s at 25 fps as an H.264 elementary stream: no container, so no duration anywhere."""
    path = tmp_path_factory.mktemp("raw") / "clip.h264"
    with av.open(str(path), "w", format="h264") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for image in numbered(60):
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def write_tagged_clip(path, frame: av.VideoFrame, *, codec: str, colorspace: int, color_range: int,
                      primaries: int | None = None, trc: int | None = None, options: dict[str, str] | None = None,
                      frames: int = 5) -> None:
    """``frames`` copies of ``frame`` (already in the encoder's pixel format) encoded with ``codec``, the stream
    tagged with the given FFmpeg colour matrix, range, primaries and transfer values."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=25, options=options or {})
        stream.width, stream.height, stream.pix_fmt = frame.width, frame.height, frame.format.name
        ctx = stream.codec_context
        ctx.colorspace, ctx.color_range = colorspace, color_range
        if primaries is not None:
            ctx.color_primaries = primaries
        if trc is not None:
            ctx.color_trc = trc
        for i in range(frames):
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


@pytest.fixture(scope="session")
def tagged_clip() -> Callable[..., None]:
    """:func:`write_tagged_clip`, as a fixture."""
    return write_tagged_clip
