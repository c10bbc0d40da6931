"""Stills FFmpeg decodes wrongly without saying so, read with Pillow instead.

- **JPEG-compressed TIFF** (compression 6 or 7, common from scanners and document cameras): FFmpeg's TIFF decoder
  returns an all-black frame without an error, so the scan would report ``no_face`` for a picture it never saw.
  Pillow (libtiff) decodes it. Every other TIFF stays with FFmpeg, which also scales 16-bit samples to 8 bits
  properly (Pillow's conversion of 16-bit grey clips them).
- **HEIF / HEIC** (iPhones' and many Android phones' photo format): FFmpeg's MP4 demuxer takes it for a one-second
  video, and a phone photo is a grid of 512 px tiles of which FFmpeg gives one. ``pillow-heif`` (the optional
  ``heif`` extra: its wheels bundle libheif, libde265 and the GPL x265 encoder, so it is not a core dependency)
  composes the grid and applies the item's rotation and mirroring; without it a HEIF is ``unsupported_codec``
  with the install hint.
- **JPEG XL**: this FFmpeg has a JPEG XL demuxer but no decoder. ``pillow-jxl-plugin`` (the optional ``jxl``
  extra: Rust wheels, not a core dependency for a format few cameras write yet) decodes it; without it a JPEG XL is
  ``unsupported_codec`` with the install hint. Its size is read from the codestream first (``detector.sniff``),
  so the pixel limit holds before anything is decoded.
- **Animated WebP**: FFmpeg's WebP decoder has no animation (it finds no frame size); Pillow gives its first frame,
  scanned as a still (animated GIFs, which FFmpeg decodes, are scanned as videos).
- **Gridded AVIF** (the primary item a ``grid`` of AV1 tiles, as encoders write pictures larger than one AV1 frame
  or cut them for parallel decoding): FFmpeg's demuxer gives each tile a stream of its own and decodes the first
  tile as if it were the picture. **AVIF with alpha**: FFmpeg decodes the colour item alone, so a cut-out's
  transparent part shows whatever colour the encoder left under it (black from libavif) where every other format's
  cut-out is composited over white. Pillow's AVIF plug-in (libavif, in Pillow's wheels since 11.3) composes the grid,
  applies the alpha and the item's rotation and mirroring; a Pillow without it makes either ``unsupported_codec``.
"""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np

from ..errors import UnsupportedCodecError
from .isobmff import boxes, child

# TIFF tag 259 values: 6 = old-style JPEG, 7 = JPEG.
JPEG_COMPRESSIONS = frozenset({6, 7})
_COMPRESSION_TAG = 259
_TYPE_SIZES = {3: 2, 4: 4}  # SHORT, LONG: the types tag 259 is stored as
HEIF_HINT = "HEIF/HEIC photos need the optional pillow-heif package: pip install 'deepfake-detector[heif]'"
JXL_HINT = "JPEG XL pictures need the optional pillow-jxl-plugin package: pip install 'deepfake-detector[jxl]'"
AVIF_HINT = ("gridded or transparent AVIF pictures need a Pillow with AVIF support (its wheels since 11.3): "
             "pip install -U pillow")
# Stills read here whose EXIF orientation is applied here (FFmpeg would have turned them by it).
_EXIF_ORIENTED = frozenset({"jpeg-compressed tiff", "animated webp"})
# The auxiliary-image types (``auxC``) that mark an item as another's alpha plane: AV1's (AVIF) and HEVC's.
_ALPHA_URNS = (b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha", b"urn:mpeg:hevc:2015:auxid:1")


def tiff_compression(data: bytes) -> int | None:
    """The compression of the first image of a TIFF (tag 259; 1 = none when the tag is absent), or ``None``
    when the header or first directory cannot be read."""
    order = {b"II": "little", b"MM": "big"}.get(data[:2])
    if order is None or len(data) < 8:
        return None
    ifd = int.from_bytes(data[4:8], order)
    if ifd + 2 > len(data):
        return None
    count = int.from_bytes(data[ifd:ifd + 2], order)
    for i in range(count):
        entry = data[ifd + 2 + 12 * i: ifd + 14 + 12 * i]
        if len(entry) < 12:
            return None
        if int.from_bytes(entry[0:2], order) == _COMPRESSION_TAG:
            size = _TYPE_SIZES.get(int.from_bytes(entry[2:4], order))
            return int.from_bytes(entry[8:8 + size], order) if size else None
    return 1


def webp_is_animated(head: bytes) -> bool:
    """Whether a WebP's extended header (``VP8X``) sets the animation flag."""
    return head[12:16] == b"VP8X" and len(head) > 20 and bool(head[20] & 0x02)


def avif_is_grid(head: bytes) -> bool:
    """Whether an AVIF's (or HEIF's) primary item is a ``grid`` of tiles, from the ``meta`` box at its start: the
    primary item's id (``pitm``) and that item's type in the item information (``iinf``/``infe``). ``False`` when
    the header cannot be read that far (FFmpeg's decode then reports what is wrong)."""
    meta = child(head, b"meta")
    if meta is None or len(meta) < 4:
        return False
    items = dict(boxes(meta[4:]))  # after the FullBox version and flags
    pitm, iinf = items.get(b"pitm"), items.get(b"iinf")
    if pitm is None or iinf is None or len(pitm) < 6 or len(iinf) < 6:
        return False
    primary = int.from_bytes(pitm[4:6], "big") if pitm[0] == 0 else int.from_bytes(pitm[4:8], "big")
    entries = iinf[6:] if iinf[0] == 0 else iinf[8:]  # the entry count is 16 bits in version 0, else 32
    for kind, infe in boxes(entries):
        if kind != b"infe" or len(infe) < 4 or infe[0] not in (2, 3):
            continue  # versions 0 and 1 carry no item type
        size = 2 if infe[0] == 2 else 4
        item, item_type = int.from_bytes(infe[4:4 + size], "big"), infe[6 + size:10 + size]
        if item == primary:
            return item_type == b"grid"
    return False


def avif_has_alpha(head: bytes) -> bool:
    """Whether an AVIF's ``meta`` box at its start declares an alpha plane (an ``auxC`` property of an alpha type)."""
    meta = child(head, b"meta")
    ipco = child(child(meta[4:], b"iprp") or b"", b"ipco") if meta is not None and len(meta) >= 4 else None
    return ipco is not None and any(kind == b"auxC" and payload[4:].startswith(_ALPHA_URNS)
                                    for kind, payload in boxes(ipco))


def pillow_frame(path: Path, what: str, *, shrink: int = 0) -> av.VideoFrame:
    """The first (primary) image of ``path`` decoded by Pillow, as the RGB frame FFmpeg would have given, halved per
    side ``shrink`` times (an area average; sides rounded up, as a JPEG decoder's DCT scaling rounds them). ``what``
    names the kind of still (``"heif"``, ``"jpeg xl"``, ``"gridded avif"``, ...): the first two need a plug-in.

    Raises:
        UnsupportedCodecError: a HEIF without ``pillow-heif``, a JPEG XL without ``pillow-jxl-plugin``, an AVIF
            without Pillow's AVIF codec.
        OSError, ValueError: Pillow cannot decode it.
    """
    from PIL import Image, ImageOps, features

    if what == "heif":
        try:
            import pillow_heif
        except ImportError:
            raise UnsupportedCodecError(f"{path}: {HEIF_HINT}", path=str(path)) from None
        pillow_heif.register_heif_opener()
    elif what == "jpeg xl":
        try:
            import pillow_jxl  # noqa: F401 (importing it registers the JPEG XL plug-in with Pillow)
        except ImportError:
            raise UnsupportedCodecError(f"{path}: {JXL_HINT}", path=str(path)) from None
    elif "avif" in what and not features.check("avif"):
        raise UnsupportedCodecError(f"{path}: {AVIF_HINT}", path=str(path))
    with Image.open(path) as opened:
        # The EXIF orientation of the formats FFmpeg would otherwise decode (it turns those by the tag too); HEIF,
        # AVIF and JPEG XL carry theirs in the container or codestream, which their decoders apply.
        image = ImageOps.exif_transpose(opened) if what in _EXIF_ORIENTED else opened
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            # Over white, as the FFmpeg path composites (detector.media.frame): cut-outs are meant for a page.
            rgba = image.convert("RGBA")
            rgb = np.asarray(Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
                             .convert("RGB"))
        else:
            rgb = np.asarray(image.convert("RGB"))
    if shrink:
        height, width = rgb.shape[:2]
        rgb = cv2.resize(rgb, (-(-width >> shrink), -(-height >> shrink)), interpolation=cv2.INTER_AREA)
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
