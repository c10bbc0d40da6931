"""ISO base media file format (MP4, MOV, HEIF, AVIF) boxes, read from bytes or a file: the few structures the
ingest looks into before FFmpeg does (a still's item layout, a video track's matrix)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import BinaryIO


def boxes(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """``(type, payload)`` of the boxes laid end to end in ``data``, up to the first that runs past it."""
    at = 0
    while at + 8 <= len(data):
        size, kind = int.from_bytes(data[at:at + 4], "big"), data[at + 4:at + 8]
        if size < 8 or at + size > len(data):
            return
        yield kind, data[at + 8:at + size]
        at += size


def child(data: bytes, kind: bytes) -> bytes | None:
    """The payload of the first box of type ``kind`` in ``data``."""
    return next((payload for found, payload in boxes(data) if found == kind), None)


def top_level_box(f: BinaryIO, kind: bytes, *, max_bytes: int) -> bytes | None:
    """The payload of the first top-level box of type ``kind`` in the open file ``f``, seeking past the others
    (``mdat`` may be gigabytes); ``None`` when there is none, or it is cut short or over ``max_bytes``."""
    while True:
        header = f.read(8)
        if len(header) < 8:
            return None
        size, found = int.from_bytes(header[:4], "big"), header[4:8]
        skip = 8
        if size == 1:  # a 64-bit size follows
            large = f.read(8)
            if len(large) < 8:
                return None
            size, skip = int.from_bytes(large, "big"), 16
        elif size == 0:  # to the end of the file: nothing follows it
            return f.read(max_bytes) if found == kind else None
        if size < skip:
            return None
        if found == kind:
            if size - skip > max_bytes:
                return None
            payload = f.read(size - skip)
            return payload if len(payload) == size - skip else None
        f.seek(size - skip, os.SEEK_CUR)
