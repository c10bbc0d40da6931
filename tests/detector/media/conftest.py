"""Helpers shared by the media tests."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

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


def _boxes(data: bytes) -> dict[bytes, bytes]:
    out, at = {}, 0
    while at + 8 <= len(data):
        size = int.from_bytes(data[at:at + 4], "big")
        out.setdefault(data[at + 4:at + 8], data[at + 8:at + size])
        at += size
    return out


def _box(kind: bytes, payload: bytes, version: int | None = None) -> bytes:
    if version is not None:  # a FullBox: version and (zero) flags first
        payload = bytes([version, 0, 0, 0]) + payload
    return (8 + len(payload)).to_bytes(4, "big") + kind + payload


def _avif_tile(tile: np.ndarray) -> tuple[bytes, bytes]:
    """One AVIF encoded by Pillow (libavif), taken apart: its ``av1C`` property and its coded picture."""
    buf = io.BytesIO()
    Image.fromarray(tile).save(buf, format="AVIF", quality=90, subsampling="4:4:4")
    data = buf.getvalue()
    meta = _boxes(_boxes(data)[b"meta"][4:])
    iloc = meta[b"iloc"]
    assert iloc[0] == 0 and int.from_bytes(iloc[6:8], "big") == 1, "expected one item with a version-0 iloc"
    off_size, len_size, base_size = iloc[4] >> 4, iloc[4] & 15, iloc[5] >> 4
    at = 8 + 2 + 2  # item id, data reference index
    base = int.from_bytes(iloc[at:at + base_size], "big")
    at += base_size + 2  # extent count (one)
    offset = int.from_bytes(iloc[at:at + off_size], "big")
    length = int.from_bytes(iloc[at + off_size:at + off_size + len_size], "big")
    return _boxes(_boxes(meta[b"iprp"])[b"ipco"])[b"av1C"], data[base + offset:base + offset + length]


def write_gridded_avif(path, image: np.ndarray, rows: int, cols: int) -> list[np.ndarray]:
    """``image`` as an AVIF whose primary item is a ``rows`` x ``cols`` grid of AV1 tiles (ISO/IEC 23008-12
    derived image items; what encoders write for pictures larger than one AV1 frame). Pillow writes only single
    items, so its tiles are encoded one by one and put into a grid container here. Returns the tiles."""
    height, width = image.shape[:2]
    th, tw = height // rows, width // cols
    tiles = [np.ascontiguousarray(image[r * th:(r + 1) * th, c * tw:(c + 1) * tw])
             for r in range(rows) for c in range(cols)]
    coded = [_avif_tile(t) for t in tiles]
    ids = list(range(2, 2 + len(tiles)))  # the grid is item 1
    u16 = functools.partial(int.to_bytes, length=2, byteorder="big")
    u32 = functools.partial(int.to_bytes, length=4, byteorder="big")
    grid = bytes([0, 0, rows - 1, cols - 1]) + u16(width) + u16(height)
    infe = [_box(b"infe", u16(1) + u16(0) + b"grid\0", 2)]
    infe += [_box(b"infe", u16(i) + u16(0) + b"av01\0", 2) for i in ids]
    props = (_box(b"ispe", u32(width) + u32(height), 0) + _box(b"ispe", u32(tw) + u32(th), 0)
             + _box(b"av1C", coded[0][0]))
    # ipma: the grid has property 1 (its size); each tile 2 (its size) and 3 (av1C, essential: high bit)
    ipma = u32(1 + len(ids)) + u16(1) + bytes([1, 1]) + b"".join(u16(i) + bytes([2, 2, 0x83]) for i in ids)
    rest = (_box(b"iinf", u16(len(infe)) + b"".join(infe), 0)
            + _box(b"iref", _box(b"dimg", u16(1) + u16(len(ids)) + b"".join(u16(i) for i in ids)), 0)
            + _box(b"iprp", _box(b"ipco", props) + _box(b"ipma", ipma, 0)))
    payloads = [grid] + [picture for _, picture in coded]

    def head(mdat_at: int) -> bytes:
        at, entries = mdat_at + 8, b""
        for item, payload in zip([1, *ids], payloads):
            entries += u16(item) + u16(0) + u16(1) + u32(at) + u32(len(payload))  # one extent in the mdat
            at += len(payload)
        iloc = _box(b"iloc", bytes([0x44, 0x00]) + u16(len(payloads)) + entries, 0)
        hdlr = _box(b"hdlr", u32(0) + b"pict" + bytes(13), 0)
        return _box(b"ftyp", b"avif" + u32(0) + b"avifmif1miaf") + _box(b"meta", hdlr + _box(b"pitm", u16(1), 0) + iloc
                                                                         + rest, 0)

    start = head(len(head(0)))  # the offsets do not change the header's length
    Path(path).write_bytes(start + _box(b"mdat", b"".join(payloads)))
    return tiles


@pytest.fixture(scope="session")
def gridded_avif() -> Callable[..., list[np.ndarray]]:
    """:func:`write_gridded_avif`, as a fixture."""
    return write_gridded_avif
