"""Stills FFmpeg decodes wrongly without an error, read with Pillow: JPEG-compressed TIFFs (black from FFmpeg),
HEIF/HEIC photos (a one-second video of one tile), animated WebP (no frame size), gridded AVIF (one tile), AVIF
with alpha (the colour item alone) and JPEG XL (no decoder in FFmpeg)."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest
from PIL import Image

from detector.errors import MediaError
from detector.media import MediaLimits, read_frames
from detector.media.pillow_stills import avif_has_alpha, avif_is_grid, tiff_compression, webp_is_animated


def test_tiff_compression_reads_the_first_directory(tmp_path, astronaut):
    for compression, tag in (("raw", 1), ("tiff_lzw", 5), ("jpeg", 7), ("tiff_deflate", 8), ("packbits", 32773)):
        path = tmp_path / f"{compression}.tif"
        Image.fromarray(astronaut).save(path, compression=None if compression == "raw" else compression)
        assert tiff_compression(path.read_bytes()) == tag, compression
    assert tiff_compression(b"II*\x00" + (10_000).to_bytes(4, "little")) is None  # directory past the end
    assert tiff_compression(b"not a tiff") is None


def test_webp_animation_flag(tmp_path, astronaut):
    still, animated = tmp_path / "still.webp", tmp_path / "animated.webp"
    Image.fromarray(astronaut).save(still)
    Image.fromarray(astronaut).save(animated, save_all=True, append_images=[Image.fromarray(astronaut).rotate(9)])
    assert not webp_is_animated(still.read_bytes()[:64])
    assert webp_is_animated(animated.read_bytes()[:64])


def test_jpeg_compressed_tiff_is_decoded_not_black(tmp_path, astronaut):
    # FFmpeg returns an all-black frame for it without an error; Pillow decodes it (detector.media.pillow_stills).
    path = tmp_path / "scan.tif"
    Image.fromarray(astronaut).save(path, compression="jpeg", quality=95)
    assert tiff_compression(path.read_bytes()) == 7
    info, [frame] = read_frames(path)
    assert info.kind == "image" and frame.image.shape == astronaut.shape
    # JPEG at quality 95: a few grey levels from the original (measured 1.3 mean absolute difference).
    assert np.abs(frame.image.astype(int) - astronaut.astype(int)).mean() < 4.0
    lzw = tmp_path / "scan_lzw.tif"
    Image.fromarray(astronaut).save(lzw, compression="tiff_lzw")
    assert tiff_compression(lzw.read_bytes()) == 5
    assert np.array_equal(read_frames(lzw)[1][0].image, astronaut)  # lossless, through FFmpeg as before


@pytest.fixture
def heic_photo(tmp_path, astronaut):
    pillow_heif = pytest.importorskip("pillow_heif")  # in the dev extra; the `heif` extra for users
    path = tmp_path / "IMG_0001.HEIC"
    pillow_heif.from_pillow(Image.fromarray(astronaut)).save(path, quality=95)
    return path


def test_heic_photo_is_a_still_decoded_whole(heic_photo, astronaut):
    # FFmpeg alone takes it for a 1 s video and fails it as truncated (a phone photo: one tile of its grid).
    info, [frame] = read_frames(heic_photo)
    assert info.kind == "image" and (info.width, info.height) == (512, 512)
    assert frame.image.shape == astronaut.shape
    # HEVC at quality 95 (measured mean absolute difference 1.5 grey levels).
    assert np.abs(frame.image.astype(int) - astronaut.astype(int)).mean() < 4.0


def test_heic_over_the_pixel_limit_is_halved_after_decoding_within_twice_the_limit(tmp_path, astronaut):
    # An iPhone's 48 MP "HEIF Max" photo against the 40 MP limit, at test scale: 1536 x 1536 (2.36 MP). HEVC has no
    # scaling while decoding, so the whole picture is decoded and then halved per side; a HEIF over twice the
    # limit is refused before decoding, as every format without scaling is over the limit.
    pillow_heif = pytest.importorskip("pillow_heif")
    big = cv2.resize(astronaut, (1536, 1536), interpolation=cv2.INTER_CUBIC)
    path = tmp_path / "IMG_0002.HEIC"
    pillow_heif.from_pillow(Image.fromarray(big)).save(path, quality=95)
    info, [frame] = read_frames(path, limits=MediaLimits(max_pixels=1_200_000))
    assert (info.width, info.height) == (768, 768) and frame.image.shape == (768, 768, 3)
    box = cv2.resize(big, (768, 768), interpolation=cv2.INTER_AREA)
    # HEVC at quality 95, then the same box filter (measured mean absolute difference 0.44 grey levels).
    assert np.abs(frame.image.astype(int) - box.astype(int)).mean() < 4.0
    assert read_frames(path)[0].width == 1536  # within the default limit: decoded as it is
    with pytest.raises(MediaError, match="over the limit") as caught:
        read_frames(path, limits=MediaLimits(max_pixels=1_100_000))  # 2.36 MP > 2 x 1.1 MP
    assert caught.value.code == "media_too_large"


def test_heic_without_pillow_heif_says_how_to_read_it(heic_photo, media_error_code, monkeypatch):
    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # import fails as if not installed
    with pytest.raises(MediaError, match=r"pip install 'deepfake-detector\[heif\]'") as caught:
        read_frames(heic_photo)
    assert caught.value.code == "unsupported_codec"


def test_animated_webp_is_scanned_from_its_first_frame(tmp_path, astronaut):
    # FFmpeg's WebP decoder has no animation: it finds no frame size (this is not a damaged file).
    path = tmp_path / "sticker.webp"
    first = Image.fromarray(astronaut)
    first.save(path, save_all=True, append_images=[first.rotate(20), first.rotate(40)], duration=100, lossless=True)
    info, [frame] = read_frames(path)
    assert info.kind == "image" and (info.width, info.height) == (512, 512)
    assert np.array_equal(frame.image, astronaut)  # lossless: exactly the first frame


def test_pillow_decoded_stills_with_alpha_are_composited_over_white(tmp_path, astronaut):
    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    rgba[:100, :100, 3] = 0  # a transparent corner
    path = tmp_path / "cutout.webp"
    Image.fromarray(rgba).save(path, save_all=True, append_images=[Image.fromarray(rgba)], duration=100,
                               lossless=True)
    _, [frame] = read_frames(path)
    assert (frame.image[:100, :100] == 255).all()
    assert np.array_equal(frame.image[200:], astronaut[200:])


def test_a_damaged_tiff_is_corrupt_media(tmp_path, media_error_code):
    path = tmp_path / "scan.tif"
    path.write_bytes(b"II*\x00\x08\x00\x00\x00" + bytes(range(256)) * 4)  # a header, then no valid directory
    assert media_error_code(path) == "corrupt_media"


@pytest.fixture
def avif_writer():
    from PIL import features

    if not features.check("avif"):
        pytest.skip("this Pillow has no AVIF codec (Pillow >= 11.3 wheels bundle libavif)")


def test_avif_grid_flag_reads_the_primary_items_type(tmp_path, astronaut, gridded_avif, avif_writer):
    single, grid = tmp_path / "single.avif", tmp_path / "grid.avif"
    Image.fromarray(astronaut).save(single, format="AVIF")
    gridded_avif(grid, astronaut, 2, 2)
    assert not avif_is_grid(single.read_bytes()[:65536])
    assert avif_is_grid(grid.read_bytes()[:65536])
    assert not avif_is_grid(grid.read_bytes()[:60])  # cut inside the meta box: unknown, left to FFmpeg
    assert not avif_is_grid(b"not an avif at all")


def test_gridded_avif_is_the_whole_picture_not_its_first_tile(tmp_path, astronaut, gridded_avif, avif_writer):
    # FFmpeg gives each tile a stream and decodes the first as the picture (256 x 256 of 512 x 512 here).
    path = tmp_path / "photo.avif"
    tiles = gridded_avif(path, astronaut, 2, 2)
    info, [frame] = read_frames(path)
    assert info.kind == "image" and (info.width, info.height) == (512, 512)
    # Each tile decoded alone, by the same libavif, put side by side: the grid composes exactly these (4:4:4
    # tiles, so no chroma is shared across a seam).
    decoded = []
    for i, tile in enumerate(tiles):
        Image.fromarray(tile).save(tmp_path / f"{i}.avif", format="AVIF", quality=90, subsampling="4:4:4")
        with Image.open(tmp_path / f"{i}.avif") as im:
            decoded.append(np.asarray(im.convert("RGB")))
    expected = np.vstack([np.hstack(decoded[:2]), np.hstack(decoded[2:])])
    assert np.array_equal(frame.image, expected)


def test_gridded_avif_without_pillows_avif_codec_says_how_to_read_it(tmp_path, astronaut, gridded_avif, avif_writer,
                                                                      monkeypatch):
    from PIL import features

    path = tmp_path / "photo.avif"
    gridded_avif(path, astronaut, 2, 2)
    check = features.check
    monkeypatch.setattr(features, "check", lambda feature: False if feature == "avif" else check(feature))
    with pytest.raises(MediaError, match="pip install -U pillow") as caught:
        read_frames(path)
    assert caught.value.code == "unsupported_codec"


def test_transparent_avif_is_composited_over_white_like_every_cut_out(tmp_path, astronaut, avif_writer):
    # FFmpeg decodes the colour item alone: the transparent corner came out black (what libavif leaves under it).
    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    rgba[:100, :100] = 0  # a transparent corner
    path = tmp_path / "cutout.avif"
    Image.fromarray(rgba).save(path, format="AVIF", quality=90)
    assert avif_has_alpha(path.read_bytes()[:65536])
    plain = tmp_path / "plain.avif"
    Image.fromarray(astronaut).save(plain, format="AVIF", quality=90)
    assert not avif_has_alpha(plain.read_bytes()[:65536])
    info, [frame] = read_frames(path)
    assert (info.width, info.height) == (512, 512)
    assert frame.image[:90, :90].min() >= 250  # the alpha plane is lossy too: its edge blurs over a few pixels
    # The opaque part is the picture, within AV1's coding error at quality 90 (mean error to the original measured
    # 1.99 grey levels, Pillow 13 / libavif; the same picture without alpha through FFmpeg 2.12).
    opaque = np.abs(frame.image[200:].astype(int) - astronaut[200:]).mean()
    assert opaque < 3.0


def test_jpegxl_is_read_with_its_plugin(tmp_path, astronaut):
    pytest.importorskip("pillow_jxl", reason="the jxl extra")
    for name, options in (("a.jxl", {}), ("b.jxl", {"use_container": True}), ("c.bin", {})):
        path = tmp_path / name
        Image.fromarray(astronaut[:, :384]).save(path, format="JXL", lossless=True, **options)
        info, [frame] = read_frames(path)
        assert info.kind == "image" and (info.width, info.height) == (384, 512)
        assert np.array_equal(frame.image, astronaut[:, :384])


def test_jpegxl_over_the_pixel_limit_is_refused_before_it_is_decoded(tmp_path, astronaut, monkeypatch):
    pytest.importorskip("pillow_jxl", reason="the jxl extra")
    path = tmp_path / "a.jxl"
    Image.fromarray(astronaut).save(path, format="JXL", lossless=True)

    def decode(*args, **kwargs):
        raise AssertionError("decoded a picture over the limit")

    monkeypatch.setattr("detector.media.probe.pillow_frame", decode)
    with pytest.raises(MediaError, match="over the limit") as caught:
        read_frames(path, limits=MediaLimits(max_pixels=512 * 512 - 1))
    assert caught.value.code == "media_too_large"


def test_jpegxl_without_its_plugin_says_how_to_read_it(tmp_path, astronaut, monkeypatch):
    pytest.importorskip("pillow_jxl", reason="the jxl extra writes the file")
    path = tmp_path / "a.jxl"
    Image.fromarray(astronaut).save(path, format="JXL", lossless=True)
    monkeypatch.setitem(sys.modules, "pillow_jxl", None)  # import fails as if not installed
    with pytest.raises(MediaError, match=r"pip install 'deepfake-detector\[jxl\]'") as caught:
        read_frames(path)
    assert caught.value.code == "unsupported_codec"
