"""Look at a file's first bytes: which container it claims to be, and an image's pixel size.

``sniff_image`` is the decompression-bomb guard: a 200-byte PNG can claim 60000 x 60000 pixels, and
FFmpeg's stream probing would decode it. We parse the few bytes that state the size and refuse early.
``sniff_container`` tells a damaged video (right magic, unreadable) from a file that is no media at all.
"""

from __future__ import annotations

import struct
from typing import NamedTuple


class ImageHeader(NamedTuple):
    format: str
    width: int
    height: int


def sniff_image(head: bytes) -> ImageHeader | None:
    """Return format and size for PNG, JPEG, GIF, WebP and BMP headers, else ``None``.

    ``head`` should hold the first 64 KiB of the file (JPEG's size marker can sit behind EXIF data).
    """
    if head.startswith(b"\x89PNG\r\n\x1a\n") and len(head) >= 24:
        w, h = struct.unpack(">II", head[16:24])
        return ImageHeader("png", w, h)
    if head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        w, h = struct.unpack("<HH", head[6:10])
        return ImageHeader("gif", w, h)
    if head[:2] == b"BM" and len(head) >= 26:
        w, h = struct.unpack("<ii", head[18:26])
        return ImageHeader("bmp", abs(w), abs(h))
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP" and len(head) >= 30:
        chunk = head[12:16]
        if chunk == b"VP8 ":
            w, h = struct.unpack("<HH", head[26:30])
            return ImageHeader("webp", w & 0x3FFF, h & 0x3FFF)
        if chunk == b"VP8L":
            bits = int.from_bytes(head[21:25], "little")
            return ImageHeader("webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
        if chunk == b"VP8X":
            w = int.from_bytes(head[24:27], "little") + 1
            h = int.from_bytes(head[27:30], "little") + 1
            return ImageHeader("webp", w, h)
        return None
    if head[:2] == b"\xff\xd8":
        return _jpeg_size(head)
    return None


# Start-of-frame markers carry the size; C4/C8/CC are DHT/JPG/DAC, not frames.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(head: bytes) -> ImageHeader | None:
    i = 2
    while i + 9 < len(head):
        if head[i] != 0xFF:
            i += 1
            continue
        marker = head[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", head[i + 2 : i + 4])
        if marker in _SOF:
            h, w = struct.unpack(">HH", head[i + 5 : i + 9])
            return ImageHeader("jpeg", w, h)
        i += 2 + length
    return None


def sniff_container(head: bytes) -> str | None:
    """Name of the media container ``head`` starts like, else ``None``."""
    image = sniff_image(head)
    if image is not None:
        return image.format
    if head[4:8] == b"ftyp" or head[4:8] in (b"moov", b"mdat", b"wide", b"free"):
        return "mp4/mov"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska/webm"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head[:3] == b"FLV":
        return "flv"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"\x00\x00\x01\xba":
        return "mpeg-ps"
    if len(head) > 376 and head[0] == 0x47 and head[188] == 0x47 and head[376] == 0x47:
        return "mpeg-ts"
    if head[:4] == b"\x30\x26\xb2\x75":
        return "asf/wmv"
    return None
