"""EXIF, XMP and PNG text written here with Pillow, read back without decoding pixels; damaged, oversized and
hostile blocks are reported with their codes, never raised."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, PngImagePlugin

from detector.provenance.embedded import MAX_XMP_BYTES, decode_user_comment, read_embedded

IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"


def xmp_packet(source_type: str | None = None, creator_tool: str | None = None, *, as_element: bool = False) -> bytes:
    """An XMP packet with the IPTC digital source type and xmp:CreatorTool, as attributes or as elements."""
    attrs, elements = "", ""
    if source_type and not as_element:
        attrs += f' Iptc4xmpExt:DigitalSourceType="{source_type}"'
    if source_type and as_element:
        elements += f"<Iptc4xmpExt:DigitalSourceType>{source_type}</Iptc4xmpExt:DigitalSourceType>"
    if creator_tool:
        attrs += f' xmp:CreatorTool="{creator_tool}"'
    return (f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
            f'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
            f'xmlns:Iptc4xmpExt="{IPTC_EXT}" xmlns:xmp="http://ns.adobe.com/xap/1.0/"{attrs}>{elements}'
            f'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>').encode()


def _image() -> Image.Image:
    return Image.fromarray(np.full((16, 16, 3), 128, np.uint8))


def _save(tmp_path, name: str, fmt: str, **params) -> str:
    path = tmp_path / name
    _image().save(path, fmt, **params)
    return str(path)


def _exif(software: str | None = None, make: str | None = None, comment: bytes | None = None) -> bytes:
    exif = Image.Exif()
    if software:
        exif[0x0131] = software
    if make:
        exif[0x010F] = make
    if comment is not None:
        exif.get_ifd(0x8769)[0x9286] = comment
    return exif.tobytes()


def test_xmp_digital_source_type_as_attribute_or_element(tmp_path):
    uri = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
    for as_element in (False, True):
        path = _save(tmp_path, f"x{as_element}.jpg", "JPEG", xmp=xmp_packet(uri, "Gen 1.0", as_element=as_element))
        found = read_embedded(path)
        assert found.source_type is not None and found.source_type.value == uri
        assert found.source_type.field == "xmp/Iptc4xmpExt:DigitalSourceType"
        assert [(e.field, e.value) for e in found.evidence] == [("xmp/xmp:CreatorTool", "Gen 1.0")]
        assert found.problems == ()


def test_xmp_in_png_and_webp(tmp_path):
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp_packet("trainedAlgorithmicMedia").decode())
    png = _save(tmp_path, "x.png", "PNG", pnginfo=info)
    webp = _save(tmp_path, "x.webp", "WEBP", xmp=xmp_packet("compositeWithTrainedAlgorithmicMedia"))
    assert read_embedded(png).source_type.value == "trainedAlgorithmicMedia"
    assert read_embedded(png).texts == {}  # the XMP chunk is XMP, not a generator's text
    assert read_embedded(webp).source_type.value == "compositeWithTrainedAlgorithmicMedia"


def test_exif_fields_and_user_comment(tmp_path):
    comment = b"UNICODE\x00" + "a cat\nSteps: 20, Sampler: Euler".encode("utf-16-be")
    path = _save(tmp_path, "e.jpg", "JPEG", exif=_exif("Editor 2", "Canon", comment))
    found = read_embedded(path)
    assert [(e.field, e.value) for e in found.evidence] == [("exif/Make", "Canon"), ("exif/Software", "Editor 2")]
    assert found.texts == {"exif/UserComment": "a cat\nSteps: 20, Sampler: Euler"}
    # A camera's comment of zeros is no comment.
    assert read_embedded(_save(tmp_path, "z.jpg", "JPEG", exif=_exif(comment=bytes(40)))).texts == {}


def test_user_comment_encodings():
    text = "prompt, Steps: 20"
    assert decode_user_comment(b"UNICODE\x00" + text.encode("utf-16-le")) == text
    assert decode_user_comment(b"UNICODE\x00" + text.encode("utf-16-be")) == text
    assert decode_user_comment(b"ASCII\x00\x00\x00" + text.encode()) == text
    assert decode_user_comment(b"\x00" * 8 + b"\x00\x00") is None


def test_png_text_chunks(tmp_path):
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a cat\nSteps: 20, Sampler: Euler a")
    info.add_text("prompt", '{"3": {"class_type": "KSampler"}}', zip=True)
    found = read_embedded(_save(tmp_path, "t.png", "PNG", pnginfo=info))
    assert found.texts == {"png/parameters": "a cat\nSteps: 20, Sampler: Euler a",
                           "png/prompt": '{"3": {"class_type": "KSampler"}}'}


def test_stripped_files_say_nothing(tmp_path):
    found = read_embedded(_save(tmp_path, "plain.png", "PNG"))
    assert (found.texts, found.source_type, found.evidence, found.problems) == ({}, None, (), ())


def test_malformed_xmp_is_reported(tmp_path):
    broken = _save(tmp_path, "b.jpg", "JPEG", xmp=xmp_packet("trainedAlgorithmicMedia")[:-40])
    found = read_embedded(broken)
    assert found.source_type is None and [p.code for p in found.problems] == ["metadata_malformed"]


def test_an_xmp_packet_with_entities_is_refused_unparsed(tmp_path):
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b'<x:xmpmeta xmlns:x="adobe:ns:meta/">&b;</x:xmpmeta>')
    found = read_embedded(_save(tmp_path, "bomb.jpg", "JPEG", xmp=bomb))
    assert [p.code for p in found.problems] == ["metadata_malformed"]
    assert "document type" in found.problems[0].message


def test_an_oversized_xmp_packet_is_not_read(tmp_path):
    huge = xmp_packet("trainedAlgorithmicMedia").replace(b"</x:xmpmeta>", b" " * MAX_XMP_BYTES + b"</x:xmpmeta>")
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", huge.decode())
    found = read_embedded(_save(tmp_path, "huge.png", "PNG", pnginfo=info))
    assert found.source_type is None and [p.code for p in found.problems] == ["metadata_too_large"]


def test_a_text_chunk_over_pillows_limit_is_too_large(tmp_path):
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "x" * (PngImagePlugin.MAX_TEXT_CHUNK + 10), zip=True)  # compresses to a few KiB
    found = read_embedded(_save(tmp_path, "zbomb.png", "PNG", pnginfo=info))
    assert [p.code for p in found.problems] == ["metadata_too_large"]


def test_broken_exif_is_reported_and_the_rest_still_read(tmp_path):
    path = tmp_path / "badexif.png"
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "x\nSteps: 1, Sampler: y")
    # Not TIFF-structured at all. (A TIFF block cut short is read as far as it goes: Pillow only warns.)
    _image().save(path, "PNG", pnginfo=info, exif=b"Exif\x00\x00XX not a TIFF header")
    found = read_embedded(str(path))
    assert [p.code for p in found.problems] == ["metadata_malformed"]
    assert "png/parameters" in found.texts


def test_not_an_image_for_pillow_is_malformed_metadata(tmp_path):
    path = tmp_path / "cut.png"
    buf = io.BytesIO()
    _image().save(buf, "PNG")
    path.write_bytes(buf.getvalue()[:20])
    assert [p.code for p in read_embedded(str(path)).problems] == ["metadata_malformed"]
