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
    """Return format and size for PNG, JPEG, GIF, WebP, BMP, AVIF, HEIF, JPEG 2000 and JPEG XL headers, else
    ``None``.

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
    if head.startswith((JP2_SIGNATURE, J2K_START)):
        return _jpeg2000_size(head)
    if head.startswith((JXL_SIGNATURE, JXL_START)):
        return _jpegxl_size(head)
    if head[4:12] == b"ftypavif":
        return _largest_ispe(head, "avif")
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        size = int.from_bytes(head[:4], "big")
        compatible = {head[i:i + 4] for i in range(16, min(size, len(head)) - 3, 4)}
        return _largest_ispe(head, "avif" if b"avif" in compatible else "heif")
    return None


# Major brands of HEIF still images (ISO/IEC 23008-12): ``heic``/``heix`` from phones, ``mif1`` the generic one
# (an AVIF too when ``avif`` is among its compatible brands). Image sequences (``msf1``, ``hevc``) are videos.
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"mif1")


def _largest_ispe(head: bytes, image_format: str) -> ImageHeader | None:
    """An AVIF or HEIF still (ISO-BMFF; ``avis`` sequences are videos): the largest ``ispe`` (image spatial
    extents: version/flags, then width and height) of its items, in the ``meta`` box at the start. The largest,
    because a grid image's tiles and thumbnail have their own, smaller ones and the guard must see the whole
    picture."""
    sizes = []
    at = head.find(b"ispe")
    while at != -1 and at + 16 <= len(head):
        sizes.append(struct.unpack(">II", head[at + 8:at + 16]))
        at = head.find(b"ispe", at + 4)
    if not sizes:
        return None
    w, h = max(sizes, key=lambda wh: wh[0] * wh[1])
    return ImageHeader(image_format, w, h)


# JPEG 2000, as archives and digital libraries keep scanned photographs: the JP2 file format (a signature box,
# then boxes, the codestream in ``jp2c``) or a bare codestream (SOC marker, then SIZ).
JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
J2K_START = b"\xff\x4f\xff\x51"


def _jpeg2000_size(head: bytes) -> ImageHeader | None:
    """The size the codestream's SIZ marker states (reference grid less the image offset): the JP2 ``ihdr`` box
    states it too, but the codestream is what the decoder allocates."""
    at = head.find(J2K_START)
    if at == -1 or at + 24 > len(head):
        return None
    xsiz, ysiz, xosiz, yosiz = struct.unpack(">IIII", head[at + 8:at + 24])
    if xsiz <= xosiz or ysiz <= yosiz:
        return None
    return ImageHeader("jpeg2000", xsiz - xosiz, ysiz - yosiz)


def jpeg2000_levels(head: bytes) -> int | None:
    """The number of wavelet decomposition levels in a JPEG 2000 codestream's default coding style (COD marker):
    how many times a decoder can halve the picture by leaving out detail levels; ``None`` where unread."""
    at = head.find(J2K_START)
    if at == -1:
        return None
    at += 2  # the SIZ marker, then the main header's other marker segments, each with its length
    while at + 4 <= len(head) and head[at] == 0xFF:
        marker, length = head[at + 1], int.from_bytes(head[at + 2:at + 4], "big")
        if marker == 0x52:  # COD: Lcod, Scod, progression order, layers (2), MCT, then the levels
            return head[at + 9] if at + 10 <= len(head) else None
        if marker == 0x90:  # SOT: the first tile starts; the main header had no COD
            return None
        at += 2 + length
    return None


# JPEG XL: the container (a signature box, then ``jxlc`` or ``jxlp`` boxes holding the codestream) or a bare
# codestream, whose first bytes after its signature are the picture size.
JXL_SIGNATURE = b"\x00\x00\x00\x0cJXL \r\n\x87\n"
JXL_START = b"\xff\x0a"
# A width given as a ratio of the height (SizeHeader ``ratio`` 1..7).
_JXL_RATIOS = ((1, 1), (12, 10), (4, 3), (3, 2), (16, 9), (5, 4), (2, 1))


def _jpegxl_size(head: bytes) -> ImageHeader | None:
    """The size in a JPEG XL codestream's SizeHeader (ISO/IEC 18181-1, bits read from the lowest up)."""
    at = 0 if head.startswith(JXL_START) else _jxl_codestream(head)
    if at is None or len(head) < at + 12 or head[at:at + 2] != JXL_START:
        return None
    bits, pos = int.from_bytes(head[at + 2:at + 12], "little"), 0

    def read(n: int) -> int:
        nonlocal pos
        value = (bits >> pos) & ((1 << n) - 1)
        pos += n
        return value

    small = read(1)  # both sides multiples of 8 up to 256

    def side() -> int:
        return (read(5) + 1) * 8 if small else read((9, 13, 18, 30)[read(2)]) + 1

    height = side()
    ratio = read(3)
    if ratio:
        num, den = _JXL_RATIOS[ratio - 1]
        return ImageHeader("jpegxl", height * num // den, height)
    return ImageHeader("jpegxl", side(), height)


def _jxl_codestream(head: bytes) -> int | None:
    """Where the codestream starts in a JPEG XL container: the first ``jxlc`` box, or the first ``jxlp`` (partial
    codestream) after its 4-byte index; metadata boxes (Exif, XMP) may come first."""
    at = 0
    while at + 8 <= len(head):
        size, kind = int.from_bytes(head[at:at + 4], "big"), head[at + 4:at + 8]
        if kind == b"jxlc":
            return at + 8
        if kind == b"jxlp":
            return at + 12
        if size < 8:  # 0 (to the end) or 1 (a 64-bit size): no codestream box follows that we can reach
            return None
        at += size
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
    if head[:4] in (b"II*\x00", b"MM\x00*"):  # scanned photos; sized when decoded (the first IFD may lie anywhere)
        return "tiff"
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


# Magic numbers of files FFmpeg opens that ``sniff_container`` does not name: audio-only containers (they
# should fail as ``no_video_stream``, not as unknown bytes), other QuickTime first boxes, Blu-ray transport
# streams, MPEG/H.26x elementary streams, and image headers too short or too odd for ``sniff_image`` to size
# (a JPEG whose size marker lies past the first 64 KiB). Kept apart from ``sniff_container``, which the audit
# and the upload check read as "a video or image".
_OTHER_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", "jpeg"),
    (0, b"\x89PNG\r\n\x1a\n", "png"),
    (0, b"GIF8", "gif"),
    (0, b"RIFF", "riff"),
    (0, b"ID3", "mp3"),
    (0, b"fLaC", "flac"),
    (0, b"YUV4MPEG2", "y4m"),
    (0, b"DKIF", "ivf"),
    (0, b"\x00\x00\x00\x01", "h26x/mpeg-es"),
    (0, b"\x00\x00\x01", "h26x/mpeg-es"),
    (4, b"skip", "mp4/mov"),
    (4, b"pnot", "mp4/mov"),
    (4, b"uuid", "mp4/mov"),
)


def sniff_media(head: bytes) -> str | None:
    """Name of any format FFmpeg may hold that ``head`` starts like, else ``None``: the bytes are no media.

    Decides from the bytes alone, so the same bytes get the same answer under any file name (FFmpeg's own
    probing weighs the extension: random bytes named ``.bin`` sometimes "open" as a raw stream, named
    ``.mp4`` they never do).
    """
    container = sniff_container(head)
    if container is not None:
        return container
    if len(head) > 196 + 192 and head[4] == 0x47 and head[196] == 0x47 and head[388] == 0x47:
        return "m2ts"
    for offset, magic, name in _OTHER_MAGIC:
        if head[offset:offset + len(magic)] == magic:
            return name
    return None
