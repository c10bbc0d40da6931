"""Content sniffing: formats and image sizes from the first bytes, as written by real encoders; never from names."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from detector.sniff import (
    J2K_START,
    JXL_SIGNATURE,
    JXL_START,
    ImageHeader,
    jpeg2000_levels,
    sniff_container,
    sniff_image,
    sniff_media,
)

HEAD = 64 * 1024  # what callers read (detector.media.paths, the audit, uploads)
W, H = 37, 21  # not square, odd: a swapped or rounded width/height shows


@pytest.fixture(scope="module")
def rgb() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (H, W, 3), np.uint8)


def pil_bytes(image: np.ndarray, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, fmt, **options)
    return out.getvalue()


def head_of(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(HEAD)


@pytest.mark.parametrize("ext, fmt", [(".png", "png"), (".jpg", "jpeg"), (".bmp", "bmp"), (".webp", "webp")])
def test_opencv_images(rgb: np.ndarray, ext: str, fmt: str):
    ok, data = cv2.imencode(ext, rgb)
    assert ok
    head = data.tobytes()
    assert sniff_image(head) == ImageHeader(fmt, W, H)
    assert sniff_container(head) == fmt and sniff_media(head) == fmt


@pytest.mark.parametrize("fmt, options, name", [
    ("PNG", {}, "png"),
    ("JPEG", {}, "jpeg"),
    ("JPEG", {"progressive": True}, "jpeg"),  # SOF2, not SOF0
    ("GIF", {}, "gif"),
    ("BMP", {}, "bmp"),
    ("WEBP", {"quality": 80}, "webp"),  # VP8 (lossy)
    ("WEBP", {"lossless": True}, "webp"),  # VP8L
])
def test_pil_images(rgb: np.ndarray, fmt: str, options: dict, name: str):
    head = pil_bytes(rgb, fmt, **options)
    assert sniff_image(head) == ImageHeader(name, W, H)
    assert sniff_container(head) == name


def test_webp_extended_header(rgb: np.ndarray):
    # Lossy with alpha is written as VP8X, whose size fields are 24-bit minus one.
    head = pil_bytes(np.dstack([rgb, rgb[..., :1]]), "WEBP", quality=80)
    assert head[12:16] == b"VP8X"
    assert sniff_image(head) == ImageHeader("webp", W, H)


def test_jpeg_size_found_behind_large_exif(rgb: np.ndarray):
    exif = Image.Exif()
    exif[0x010E] = "x" * 30_000  # ImageDescription: pushes the SOF marker ~30 KB in
    head = pil_bytes(rgb, "JPEG", exif=exif.tobytes())
    assert head.index(b"\xff\xc0") > 30_000
    assert sniff_image(head[:HEAD]) == ImageHeader("jpeg", W, H)
    # Cut before the SOF: no size, but still recognisably a JPEG for sniff_media.
    assert sniff_image(head[:20_000]) is None
    assert sniff_container(head[:20_000]) is None and sniff_media(head[:20_000]) == "jpeg"


def test_jpeg_skips_non_frame_markers_and_fill_bytes():
    # DHT (C4) looks like a SOF by number but is not one; 0xFF fill bytes may precede a marker.
    dht = b"\xff\xc4" + struct.pack(">H", 8) + b"\x00\x99\x99\x99\x99\x99"
    sof = b"\xff\xff\xff\xc0" + struct.pack(">HBHHB", 11, 8, 480, 640, 3) + b"\x01\x11\x00"
    head = b"\xff\xd8" + dht + sof + b"\x00" * 16
    assert sniff_image(head) == ImageHeader("jpeg", 640, 480)


def test_png_size_is_read_without_decoding():
    # The decompression-bomb case: a few hundred bytes that claim 60000 x 60000 pixels.
    ihdr = struct.pack(">IIBBBBB", 60000, 50000, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    head = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    assert sniff_image(head) == ImageHeader("png", 60000, 50000)


def test_avif_stills_are_sized_from_their_largest_ispe(rgb: np.ndarray):
    from PIL import features

    if not features.check("avif"):
        pytest.skip("this Pillow has no AVIF encoder (Pillow >= 11.3 wheels bundle libavif)")
    head = pil_bytes(rgb, "AVIF")
    assert sniff_image(head) == ImageHeader("avif", W, H)
    assert sniff_container(head) == "avif" and sniff_media(head) == "avif"
    # A grid image: tiles and a thumbnail with their own, smaller extents; the guard takes the largest.
    ispe = lambda w, h: struct.pack(">I4sIII", 20, b"ispe", 0, w, h)
    grid = b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + ispe(512, 512) + ispe(8000, 6000) + ispe(160, 120)
    assert sniff_image(grid) == ImageHeader("avif", 8000, 6000)
    # An AVIF sequence (brand avis) is a video; a still whose extents lie past the head is left to FFmpeg.
    assert sniff_image(b"\x00\x00\x00\x1cftypavis" + bytes(16) + ispe(64, 64)) is None
    assert sniff_image(b"\x00\x00\x00\x1cftypavif" + bytes(16)) is None


def test_jpeg2000_is_sized_from_its_codestream(rgb: np.ndarray):
    for fmt, options in (("JPEG2000", {}), ("JPEG2000", {"no_jp2": True})):  # the JP2 file, a bare codestream
        head = pil_bytes(rgb, fmt, num_resolutions=3, **options)
        assert sniff_image(head) == ImageHeader("jpeg2000", W, H)
        assert sniff_container(head) == "jpeg2000" and sniff_media(head) == "jpeg2000"
        assert jpeg2000_levels(head) == 2  # resolutions = levels + 1
    assert jpeg2000_levels(pil_bytes(rgb, "JPEG2000", num_resolutions=2)) == 1
    # The bomb case: a 60-byte codestream header claiming 60000 x 50000 (less a 100 x 10 image offset).
    siz = J2K_START + struct.pack(">HHIIIIIIII", 41, 0, 60100, 50010, 100, 10, 256, 256, 0, 0)
    assert sniff_image(siz) == ImageHeader("jpeg2000", 60000, 50000)
    assert sniff_image(J2K_START + bytes(8)) is None  # cut inside SIZ: no size, left to FFmpeg
    assert jpeg2000_levels(siz) is None  # no COD marker within the head


def _jxl_size_header(width: int, height: int) -> bytes:
    """A JPEG XL codestream's first bytes for a large picture: signature, then SizeHeader fields written lowest bit
    first (not small; each side as U32 selector 2, 18 bits of side - 1; ratio 0)."""
    fields = [(0, 1), (2, 2), (height - 1, 18), (0, 3), (2, 2), (width - 1, 18)]
    bits, pos = 0, 0
    for value, n in fields:
        bits |= value << pos
        pos += n
    return JXL_START + bits.to_bytes(10, "little")


def test_jpegxl_is_sized_from_its_size_header(rgb: np.ndarray):
    # The bomb case first, by hand: 12 bytes claiming 60000 x 50000.
    assert sniff_image(_jxl_size_header(60000, 50000)) == ImageHeader("jpegxl", 60000, 50000)
    # In a container, behind a metadata box: the size is the codestream's (jxlc), not bytes of the Exif box.
    box = lambda kind, payload: struct.pack(">I", 8 + len(payload)) + kind + payload
    container = (JXL_SIGNATURE + box(b"ftyp", b"jxl \x00\x00\x00\x00jxl ") + box(b"Exif", b"\xff\x0a" * 8)
                 + box(b"jxlc", _jxl_size_header(4032, 3024)))
    assert sniff_image(container) == ImageHeader("jpegxl", 4032, 3024)
    assert sniff_container(container) == "jpegxl"
    assert sniff_image(JXL_START + b"\x00") is None  # cut inside the size header
    pytest.importorskip("pillow_jxl", reason="the jxl extra writes the encoded pictures")
    # Encoded ones: sides that are multiples of 8 ("small"), U32 sides, and widths given as a ratio of the height.
    for w, h in ((16, 256), (W, H), (400, 300), (1920, 1080), (123, 457), (8, 8)):
        image = np.resize(rgb, (h, w, 3))
        for options in ({"lossless": True}, {"quality": 80, "use_container": True}):
            assert sniff_image(pil_bytes(image, "JXL", **options)) == ImageHeader("jpegxl", w, h), (w, h, options)


def test_top_down_bmp_height_is_positive(rgb: np.ndarray):
    head = bytearray(pil_bytes(rgb, "BMP"))
    head[22:26] = struct.pack("<i", -H)  # a negative height means rows stored top-down
    assert sniff_image(bytes(head)) == ImageHeader("bmp", W, H)


@pytest.mark.parametrize("head", [b"\x89PNG\r\n\x1a\n", b"GIF89a", b"\xff\xd8\xff\xe0", b"RIFF\x00\x00\x00\x00WEBP"])
def test_truncated_image_headers_have_no_size_but_are_still_media(head: bytes):
    assert sniff_image(head) is None
    assert sniff_media(head) is not None


def test_tiff_is_an_image_container_without_a_header_size(rgb: np.ndarray):
    # Audits and uploads take TIFF scans as media; their size is read when decoded.
    head = pil_bytes(rgb, "TIFF")
    assert sniff_image(head) is None and sniff_container(head) == "tiff"
    assert sniff_media(head) == "tiff"


@pytest.mark.parametrize("name, codec, container", [
    ("clip.mp4", "libx264", "mp4/mov"),
    ("clip.mov", "libx264", "mp4/mov"),
    ("clip.mkv", "libx264", "matroska/webm"),
    ("clip.webm", "libvpx", "matroska/webm"),
    ("clip.avi", "mpeg4", "avi"),
    ("clip.flv", "flv", "flv"),
    ("clip.mpg", "mpeg1video", "mpeg-ps"),
    ("clip.ts", "mpeg2video", "mpeg-ts"),
    ("clip.wmv", "wmv2", "asf/wmv"),
])
def test_videos_written_by_pyav(tmp_path: Path, video_writer, name: str, codec: str, container: str):
    frames = [np.full((32, 48, 3), 60 * i, np.uint8) for i in range(3)]
    head = head_of(video_writer(tmp_path / name, frames, codec=codec))
    assert sniff_image(head) is None
    assert sniff_container(head) == container and sniff_media(head) == container


def test_demo_clip(demo_clip: Path):
    assert sniff_container(head_of(demo_clip)) == "mp4/mov"


@pytest.mark.parametrize("name, codec, media", [
    ("clip.m2ts", "mpeg2video", "m2ts"),  # 192-byte packets: a timestamp before each 0x47
    ("clip.y4m", "rawvideo", "y4m"),
    ("clip.h264", "libx264", "h26x/mpeg-es"),
])
def test_streams_ffmpeg_opens_that_are_not_named_containers(tmp_path: Path, video_writer, name: str, codec: str,
                                                            media: str):
    frames = [np.full((32, 48, 3), 60 * i, np.uint8) for i in range(3)]
    head = head_of(video_writer(tmp_path / name, frames, codec=codec))
    # The audit and upload check read sniff_container as "a video or image"; these are left to FFmpeg.
    assert sniff_container(head) is None
    assert sniff_media(head) == media


@pytest.mark.parametrize("head, media", [
    (b"ID3\x04\x00" + b"\x00" * 64, "mp3"),
    (b"fLaC\x00\x00\x00\x22" + b"\x00" * 64, "flac"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 64, "riff"),
    (b"OggS\x00\x02" + b"\x00" * 64, "ogg"),
])
def test_audio_headers(head: bytes, media: str):
    assert sniff_media(head) == media
    assert sniff_image(head) is None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_bytes_are_no_media(seed: int):
    head = np.random.default_rng(seed).bytes(HEAD)
    assert sniff_image(head) is None and sniff_container(head) is None and sniff_media(head) is None


def test_empty_file(tmp_path: Path):
    path = tmp_path / "empty.mp4"
    path.touch()
    head = head_of(path)
    assert sniff_image(head) is None and sniff_container(head) is None and sniff_media(head) is None


def test_text_file_named_mp4_is_no_media(tmp_path: Path):
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 50)
    head = head_of(path)
    assert sniff_container(head) is None and sniff_media(head) is None


def test_answer_depends_on_bytes_not_on_the_file_name(tmp_path: Path, rgb: np.ndarray):
    # A PNG saved under a video's name is still a PNG.
    path = tmp_path / "actually_a_png.mp4"
    path.write_bytes(pil_bytes(rgb, "PNG"))
    assert sniff_media(head_of(path)) == "png"


def test_heif_photos_are_sized_stills_and_a_mif1_avif_is_an_avif():
    pillow_heif = pytest.importorskip("pillow_heif")
    out = io.BytesIO()
    # Even sides: x265 pads odd ones (37 x 21 is stored as a 64 x 64 item cropped on decoding, and the largest
    # ``ispe`` is then the padded size, still a bound for the pixel guard).
    picture = np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8)
    pillow_heif.from_pillow(Image.fromarray(picture)).save(out, format="HEIF", quality=80)
    head = out.getvalue()[:65536]
    assert head[8:12] in (b"heic", b"mif1")
    assert sniff_image(head) == ImageHeader("heif", 128, 96)
    assert sniff_container(head) == "heif" and sniff_media(head) == "heif"

    def ispe(w: int, h: int) -> bytes:
        return b"\x00\x00\x00\x14ispe\x00\x00\x00\x00" + w.to_bytes(4, "big") + h.to_bytes(4, "big")

    mif1_avif = b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00avifmiaf" + ispe(640, 480)
    assert sniff_image(mif1_avif) == ImageHeader("avif", 640, 480)
    sequence = b"\x00\x00\x00\x18ftypmsf1\x00\x00\x00\x00hevcmsf1" + ispe(640, 480)
    assert sniff_image(sequence) is None and sniff_container(sequence) == "mp4/mov"  # an image sequence is a video
