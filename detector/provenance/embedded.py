"""Metadata embedded in an image, read with Pillow's own readers without decoding a pixel: EXIF (``Software``,
``Make``, ``Model``, ``UserComment``), the XMP packet (IPTC ``DigitalSourceType``, ``xmp:CreatorTool``) and PNG text
chunks (where generator front-ends write their parameters: :mod:`detector.provenance.generators` reads them).

Pillow gives what it finds before the image data when it opens a file (``Image.info``): that is where every
generator front-end we know writes its text. Chunks after the image data are only reached by decoding the whole image,
which would cost as much as the scan's own decoding, so they are not read. XMP is parsed with the standard library's
expat, which refuses entity expansion attacks itself; a packet with a document type declaration is refused before
that (XMP never has one).
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass, field
from xml.etree import ElementTree

from .result import (
    METADATA_MALFORMED,
    METADATA_TOO_LARGE,
    PROVENANCE_UNAVAILABLE,
    Evidence,
    Problem,
    clip,
)

MAX_XMP_BYTES = 1 << 20  # real packets are a few KiB (Lightroom's with its whole edit history: ~20 KiB)
# A text chunk over this is not handed to the generator rules (a ComfyUI workflow of a large graph: ~100 KiB).
MAX_TEXT_CHARS = 1 << 20
_IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
_XMP = "http://ns.adobe.com/xap/1.0/"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_XMP_FIELDS = {f"{{{_IPTC_EXT}}}DigitalSourceType": "Iptc4xmpExt:DigitalSourceType",
               f"{{{_XMP}}}CreatorTool": "xmp:CreatorTool"}
_EXIF_FIELDS = {0x010F: "Make", 0x0110: "Model", 0x0131: "Software"}
_EXIF_IFD, _USER_COMMENT = 0x8769, 0x9286
# What Pillow raises on a damaged file or metadata block (SyntaxError: its "not a TIFF/PNG file"; struct.error and
# EOFError: a block shorter than it says; zlib.error: a broken compressed text chunk).
_PILLOW_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError, KeyError,
                  TypeError)


@dataclass(frozen=True)
class EmbeddedFindings:
    """``texts``: PNG text chunks and the decoded EXIF ``UserComment`` (key ``exif/UserComment``), for the generator
    rules; ``source_type``: the XMP digital source type, as evidence; ``evidence``: the other fields read (camera,
    software), which are context only; ``problems``: what could not be read."""

    texts: dict[str, str] = field(default_factory=dict)
    source_type: Evidence | None = None
    evidence: tuple[Evidence, ...] = ()
    problems: tuple[Problem, ...] = ()


def read_embedded(path: str | os.PathLike[str]) -> EmbeddedFindings:
    """EXIF, XMP and PNG text of the image at ``path``. Never raises for what the file holds."""
    try:
        from PIL import Image
    except ImportError as exc:
        return EmbeddedFindings(problems=(Problem(PROVENANCE_UNAVAILABLE, f"Pillow cannot be loaded ({exc}): EXIF, "
                                                  "XMP and PNG text not read"),))
    try:
        with Image.open(path) as image:
            info = dict(image.info)
            is_png = image.format == "PNG"
    except Image.DecompressionBombError as exc:
        return EmbeddedFindings(problems=(Problem(METADATA_TOO_LARGE, clip(f"image metadata not read: {exc}")),))
    except ValueError as exc:  # Pillow's limits on PNG text (MAX_TEXT_CHUNK, MAX_TEXT_MEMORY)
        code = METADATA_TOO_LARGE if "too large" in str(exc).lower() or "memory" in str(exc).lower() \
            else METADATA_MALFORMED
        return EmbeddedFindings(problems=(Problem(code, clip(f"image metadata not read: {exc}")),))
    except _PILLOW_ERRORS as exc:
        return EmbeddedFindings(problems=(Problem(METADATA_MALFORMED, clip(f"image metadata not read: {exc!r}")),))
    evidence: list[Evidence] = []
    problems: list[Problem] = []
    texts = {}
    for key, value in info.items() if is_png else ():
        if not (isinstance(key, str) and isinstance(value, str)) or key == "XML:com.adobe.xmp":
            continue
        if len(value) > MAX_TEXT_CHARS:
            problems.append(Problem(METADATA_TOO_LARGE, clip(f"PNG text {key!r} of {len(value)} characters "
                                                             f"(limit {MAX_TEXT_CHARS}): not read")))
        else:
            texts[f"png/{key}"] = value
    exif = info.get("exif")
    if isinstance(exif, bytes) and exif:
        comment = _read_exif(Image, exif, evidence, problems)
        if comment:
            texts["exif/UserComment"] = comment
    xmp = info.get("xmp", info.get("XML:com.adobe.xmp"))
    source_type = None if not xmp else _read_xmp(xmp, evidence, problems)
    return EmbeddedFindings(texts, source_type, tuple(evidence), tuple(problems))


def _read_exif(image_module: object, raw: bytes, evidence: list[Evidence], problems: list[Problem]) -> str | None:
    exif = image_module.Exif()  # type: ignore[attr-defined]
    try:
        exif.load(raw)
        for tag, name in _EXIF_FIELDS.items():
            value = exif.get(tag)
            if isinstance(value, str | bytes) and (text := clip(_text(value))):
                evidence.append(Evidence("exif", f"exif/{name}", text))
        comment = exif.get_ifd(_EXIF_IFD).get(_USER_COMMENT)
    except _PILLOW_ERRORS as exc:
        problems.append(Problem(METADATA_MALFORMED, clip(f"EXIF not read: {exc!r}")))
        return None
    return None if comment is None else decode_user_comment(comment)


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def decode_user_comment(value: bytes | str) -> str | None:
    """EXIF ``UserComment``: an 8-byte character code, then the text. ``UNICODE`` is UTF-16 in either byte order
    (Stable Diffusion front-ends write big-endian whatever the file's order), so the order that reads as more plain
    text wins. ``None`` for an empty or all-NUL comment (cameras fill it with zeros).

    >>> decode_user_comment(b"UNICODE\\x00" + "Steps: 20".encode("utf-16-be"))
    'Steps: 20'
    """
    if isinstance(value, str):
        text = value
    else:
        code, body = value[:8], value[8:]
        if code.startswith(b"UNICODE"):
            candidates = [body.decode(enc, "replace") for enc in ("utf-16-be", "utf-16-le")]
            text = max(candidates, key=lambda t: sum(c.isascii() and c.isprintable() for c in t))
        else:  # ASCII, undefined (zeros) or JIS: read as UTF-8, which covers ASCII
            text = body.decode("utf-8", "replace")
    text = text.replace("\x00", "").strip()
    return text or None


def _read_xmp(packet: bytes | str, evidence: list[Evidence], problems: list[Problem]) -> Evidence | None:
    data = packet.encode("utf-8") if isinstance(packet, str) else packet
    if len(data) > MAX_XMP_BYTES:
        problems.append(Problem(METADATA_TOO_LARGE,
                                f"XMP packet of {len(data)} bytes (limit {MAX_XMP_BYTES}): not read"))
        return None
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        problems.append(Problem(METADATA_MALFORMED, "XMP packet with a document type declaration: not read"))
        return None
    try:
        root = ElementTree.fromstring(data.strip(b"\x00 \r\n\t"))
    except (ElementTree.ParseError, ValueError) as exc:
        problems.append(Problem(METADATA_MALFORMED, clip(f"XMP not read: {exc}")))
        return None
    source_type = None
    for element in root.iter():
        # RDF writes a simple property either as an attribute of rdf:Description or as an element of its own
        # (its text, or an rdf:resource attribute for a URI).
        found = [(k, v) for k, v in element.attrib.items() if k in _XMP_FIELDS]
        if element.tag in _XMP_FIELDS:
            found.append((element.tag, (element.text or "").strip() or element.attrib.get(f"{{{_RDF}}}resource", "")))
        for key, value in found:
            if not value.strip():
                continue
            item = Evidence("xmp", f"xmp/{_XMP_FIELDS[key]}", clip(value))
            if _XMP_FIELDS[key] == "Iptc4xmpExt:DigitalSourceType":
                source_type = source_type or item
            else:
                evidence.append(item)
    return source_type
