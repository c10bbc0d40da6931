"""Whether a JPEG or GIF holds all of its picture data, or was cut short (a broken download or copy).

FFmpeg decodes a truncated JPEG or GIF without an error: the rows past the cut come out flat grey (JPEG) or as
the background (GIF), and a face across that edge would be classified as if it were whole; a grey block edge
is just the kind of artefact the classifier reacts to (half of a 512 px portrait scored 0.88 where the whole
file scored 0.24). The other still formats FFmpeg reads fail on their own when cut short (PNG, WebP, BMP, TIFF,
AVIF: their decoders check chunk sizes), so only these two are walked here, segment by segment, without
decoding anything.

A JPEG is whole when its end-of-image marker follows the last scan; an encoder that omits the marker is
indistinguishable from a file cut at the end of its entropy-coded data, and counts as cut. A GIF is whole when
its block structure ends at a block boundary (the trailer byte itself is often missing in files browsers show
fine, and nothing of the picture is lost then).
"""

from __future__ import annotations

import re

_JPEG_EOI = 0xD9
_JPEG_SOS = 0xDA
# Markers without a length field: TEM, RST0-7, SOI (EOI ends the walk).
_JPEG_STANDALONE = frozenset({0x01, 0xD8, *range(0xD0, 0xD8)})
# Inside entropy-coded data 0xFF00 is an escaped 0xFF byte and 0xFFD0-0xFFD7 are restart markers; anything
# else after 0xFF is the next marker.
_JPEG_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7]")


def jpeg_is_whole(data: bytes) -> bool:
    """True when the JPEG's segments and scans are followed by its end-of-image marker (data after it is ignored,
    as decoders ignore it: camera trailers, a second MPO picture)."""
    n = len(data)
    pos = 2  # past SOI
    while True:
        pos = data.find(b"\xff", pos)  # decoders skip stray bytes between segments the same way
        if pos < 0:
            return False
        while pos < n and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= n:
            return False
        marker = data[pos]
        pos += 1
        if marker == _JPEG_EOI:
            return True
        if marker in _JPEG_STANDALONE:
            continue
        if pos + 2 > n:
            return False
        pos += int.from_bytes(data[pos:pos + 2], "big")  # the length counts its own two bytes
        if pos > n:
            return False
        if marker == _JPEG_SOS:  # skip the entropy-coded data up to the next real marker
            found = _JPEG_NEXT_MARKER.search(data, pos)
            if found is None:
                return False
            pos = found.start()


def _gif_sub_blocks(data: bytes, pos: int) -> int:
    """Position after a chain of GIF data sub-blocks (size byte, then that many bytes; size 0 ends it), or -1
    when the data ends inside it."""
    n = len(data)
    while True:
        if pos >= n:
            return -1
        size = data[pos]
        pos += 1 + size
        if size == 0:
            return pos
        if pos > n:
            return -1


def _colour_table(flags: int) -> int:
    return 3 * (2 << (flags & 0x07)) if flags & 0x80 else 0


def gif_is_whole(data: bytes) -> bool:
    """True when the GIF holds an image and every block is complete: it ends with the trailer or at a block
    boundary."""
    n = len(data)
    if n < 13:
        return False
    pos = 13 + _colour_table(data[10])  # header, logical screen descriptor, global colour table
    images = 0
    while True:
        if pos == n:
            return images > 0  # no trailer, but no block cut either
        if pos > n:
            return False
        block = data[pos]
        if block == 0x3B:  # trailer
            return images > 0
        if block == 0x21:  # extension: label, then sub-blocks
            pos = _gif_sub_blocks(data, pos + 2)
        elif block == 0x2C:  # image descriptor (10 bytes), local colour table, LZW code size, sub-blocks
            if pos + 10 > n:
                return False
            pos += 10 + _colour_table(data[pos + 9])
            pos = _gif_sub_blocks(data, pos + 1)
            images += 1
        else:
            return False  # not a block: damaged
        if pos < 0:
            return False


# The formats :func:`cut_short` walks (:func:`detector.sniff.sniff_image`'s names); others need no read of the file.
CHECKED_FORMATS = frozenset({"jpeg", "gif"})


def cut_short(data: bytes, image_format: str) -> bool:
    """True when ``data`` of a ``"jpeg"`` or ``"gif"`` file (:func:`detector.sniff.sniff_image`'s format names)
    was cut before its picture data ends; always False for other formats (their decoders fail instead)."""
    if image_format == "jpeg":
        return not jpeg_is_whole(data)
    if image_format == "gif":
        return not gif_is_whole(data)
    return False
