"""Cut-short JPEGs and GIFs are told from whole ones by their structure alone, whatever the encoder wrote."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from detector.media.still_end import cut_short, gif_is_whole, jpeg_is_whole


def _pillow_jpeg(rgb: np.ndarray, **options) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="JPEG", **options)
    return out.getvalue()


@pytest.fixture(scope="module")
def jpegs(astronaut) -> dict[str, bytes]:
    """Encoders' variants: baseline, progressive (many scans), restart markers, an EXIF thumbnail (its own
    SOI/EOI inside APP1), grey, CMYK, and a camera-style trailer after EOI."""
    small = astronaut[::2, ::2]
    exif = Image.Exif()
    exif[0x010F] = "Test camera"
    thumb = io.BytesIO()
    Image.fromarray(small[::4, ::4]).save(thumb, format="JPEG")
    ok, rst = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_RST_INTERVAL, 4])
    assert ok
    cmyk = io.BytesIO()
    Image.fromarray(small).convert("CMYK").save(cmyk, format="JPEG")
    grey = io.BytesIO()
    Image.fromarray(small).convert("L").save(grey, format="JPEG")
    with_thumb = io.BytesIO()
    Image.fromarray(small).save(with_thumb, format="JPEG", exif=exif.tobytes() + b"", quality=90)
    baseline = _pillow_jpeg(small)
    return {"baseline": baseline, "progressive": _pillow_jpeg(small, progressive=True), "restarts": rst.tobytes(),
            "exif": with_thumb.getvalue(), "grey": grey.getvalue(), "cmyk": cmyk.getvalue(),
            "trailer": baseline + b"\x00SEFT trailer data" * 20}


def test_whole_jpegs_are_whole(jpegs):
    for name, data in jpegs.items():
        assert jpeg_is_whole(data), name
        assert not cut_short(data, "jpeg"), name


def test_every_cut_before_the_end_marker_is_found(jpegs):
    for name, data in jpegs.items():
        end = data.rindex(b"\xff\xd9") if name != "trailer" else data.index(b"\x00SEFT")
        # Cuts everywhere in the headers, then every 97th byte of the scans, then the last bytes.
        cuts = sorted({*range(2, 700), *range(700, end, 97), *range(max(2, end - 8), end + 1)})
        cuts = [c for c in cuts if c < end]
        assert cuts
        whole_prefixes = [c for c in cuts if jpeg_is_whole(data[:c])]
        assert whole_prefixes == [], (name, whole_prefixes[:5])


def test_a_thumbnail_end_marker_does_not_make_a_cut_jpeg_whole(jpegs):
    # An EXIF thumbnail is a whole JPEG (SOI ... EOI) inside the APP1 segment, before the main picture's scan.
    thumb = jpegs["grey"]
    payload = b"Exif\x00\x00" + thumb
    app1 = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    data = b"\xff\xd8" + app1 + jpegs["baseline"][2:]
    assert jpeg_is_whole(data)
    scan = data.index(b"\xff\xda", len(app1))
    for cut in (len(app1) + 2, scan, scan + 200, len(data) - 2):
        assert not jpeg_is_whole(data[:cut]), cut


def _gif(frames: list[np.ndarray], **options) -> bytes:
    out = io.BytesIO()
    images = [Image.fromarray(f).convert("P", palette=Image.Palette.ADAPTIVE) for f in frames]
    images[0].save(out, format="GIF", save_all=len(images) > 1, append_images=images[1:], **options)
    return out.getvalue()


@pytest.fixture(scope="module")
def gifs(astronaut) -> dict[str, bytes]:
    small = astronaut[::4, ::4]
    # Separately quantised frames get local colour tables; the comment adds an extension block.
    return {"still": _gif([small]), "comment": _gif([small], comment=b"scanned 1987"),
            "animated": _gif([small, small[::-1].copy(), np.ascontiguousarray(small[:, ::-1])], duration=100, loop=0)}


def test_whole_gifs_are_whole_with_or_without_the_trailer(gifs):
    for name, data in gifs.items():
        assert data.endswith(b";")
        assert gif_is_whole(data), name
        assert gif_is_whole(data[:-1]), name  # ends at a block boundary: nothing of the picture is missing


def test_every_cut_inside_a_gif_block_is_found(gifs):
    for name, data in gifs.items():
        cuts = sorted({*range(900), *range(900, len(data) - 1, 53)})
        for cut in (c for c in cuts if gif_is_whole(data[:c])):
            # Only a cut on a block boundary after a whole image may pass (a later frame of an animation that is
            # missing cannot be told from an animation that ends there): Pillow then reads the first frame whole.
            assert data[cut - 1] == 0, (name, cut)
            with Image.open(io.BytesIO(data[:cut])) as image:
                image.load()
        assert not any(gif_is_whole(data[:c]) for c in cuts if c < 13 + 3 * 256)  # inside the header or palette


def test_a_still_gif_is_whole_only_once_its_image_is(gifs):
    data = gifs["comment"]
    assert [c for c in range(len(data) - 1) if gif_is_whole(data[:c])] == []


def test_other_formats_are_left_to_their_decoders():
    assert not cut_short(b"\x89PNG\r\n\x1a\n", "png")
    assert not cut_short(b"RIFF", "webp")
