"""ISO-BMFF boxes: walked in bytes and in a file, stopping at whatever is cut short."""

from __future__ import annotations

import io
import struct

from detector.media.isobmff import boxes, child, top_level_box


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def test_boxes_are_read_end_to_end_up_to_one_cut_short():
    data = box(b"ftyp", b"isom") + box(b"free", b"") + box(b"moov", b"x" * 10)
    assert list(boxes(data)) == [(b"ftyp", b"isom"), (b"free", b""), (b"moov", b"x" * 10)]
    assert list(boxes(data[:-1])) == [(b"ftyp", b"isom"), (b"free", b"")]  # the last runs past the data
    assert list(boxes(struct.pack(">I", 4) + b"bad!" + box(b"ftyp", b""))) == []  # a size under 8 stops the walk
    assert child(data, b"moov") == b"x" * 10 and child(data, b"trak") is None


def test_top_level_box_seeks_past_others_and_reads_large_sizes():
    mdat = box(b"mdat", bytes(1000))
    large = struct.pack(">I", 1) + b"moov" + struct.pack(">Q", 16 + 3) + b"abc"  # a 64-bit size
    assert top_level_box(io.BytesIO(mdat + large), b"moov", max_bytes=100) == b"abc"
    assert top_level_box(io.BytesIO(mdat + box(b"moov", b"abc")), b"moov", max_bytes=2) is None  # over the cap
    assert top_level_box(io.BytesIO(mdat + box(b"moov", b"abc")[:-1]), b"moov", max_bytes=100) is None  # cut short
    assert top_level_box(io.BytesIO(mdat), b"moov", max_bytes=100) is None
    to_end = struct.pack(">I", 0) + b"moov" + b"rest of the file"  # size 0: to the end of the file
    assert top_level_box(io.BytesIO(mdat + to_end), b"moov", max_bytes=100) == b"rest of the file"
    assert top_level_box(io.BytesIO(struct.pack(">I", 0) + b"mdat" + bytes(50)), b"moov", max_bytes=100) is None
