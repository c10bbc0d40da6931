"""Display rotation: read from the frame's display matrix, the stream's tag or a still's EXIF orientation, and
applied to the pixels."""

from __future__ import annotations

import struct
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image, ImageOps

from detector.media import read_frames
from detector.media.rotation import (
    EXIF_ORIENTATIONS,
    exif_orientation,
    frame_rotation,
    mp4_orientation,
    orient_image,
    rotate_image,
    stream_rotation,
)
from detector.recipe import SamplingSpec


@pytest.mark.parametrize("angle, expected", [(0.0, 0), (90.0, 90), (-90.0, 270), (180.0, 180), (-179.9, 180),
                                             (89.6, 90)])
def test_frame_rotation_snaps_to_quarter_turns(angle, expected):
    assert frame_rotation(SimpleNamespace(rotation=angle)) == expected


def test_frame_rotation_without_a_display_matrix_is_none():
    assert frame_rotation(SimpleNamespace()) == 0


@pytest.mark.parametrize("tag, expected", [("90", 270), ("270", 90), ("180", 180), ("0", 0), ("sideways", 0)])
def test_stream_rotation_turns_the_clockwise_tag_counter_clockwise(tag, expected):
    assert stream_rotation(SimpleNamespace(metadata={"rotate": tag})) == expected


def test_stream_rotation_without_a_tag_is_none():
    assert stream_rotation(SimpleNamespace(metadata={})) == 0


def test_rotate_image_turns_counter_clockwise():
    image = np.arange(6, dtype=np.uint8).reshape(2, 3, 1)
    turned = rotate_image(image, 90)
    assert turned.shape == (3, 2, 1) and turned.flags.c_contiguous
    assert turned[0, 0, 0] == image[0, 2, 0]  # the top-right corner comes to the top left
    assert np.array_equal(rotate_image(image, 360), image)


@pytest.mark.parametrize("rotation, corner", [(90, "bottom_left"), (-90, "top_right"), (180, "bottom_right")])
def test_rotation_metadata_is_applied(tmp_path, video_writer, rotation, corner):
    img = np.zeros((48, 64, 3), np.uint8)
    img[:16, :16] = 255  # a white top-left corner marks the orientation
    path = video_writer(tmp_path / "rot.mp4", [img] * 5, rotation=rotation)
    info, frames = read_frames(path, sampling=SamplingSpec(frames=1))
    out = frames[0].image
    expected_shape = (48, 64, 3) if rotation == 180 else (64, 48, 3)
    assert out.shape == expected_shape
    assert (info.height, info.width) == expected_shape[:2]
    h, w = out.shape[:2]
    corners = {"top_left": out[:8, :8], "top_right": out[:8, w - 8:], "bottom_left": out[h - 8:, :8],
               "bottom_right": out[h - 8:, w - 8:]}
    assert corners[corner].mean() > 200
    assert corners["top_left"].mean() < 50


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_jpeg_exif_orientation_matches_pillow(tmp_path, orientation):
    image_mod = pytest.importorskip("PIL.Image")
    ops = pytest.importorskip("PIL.ImageOps")
    img = np.zeros((48, 64, 3), np.uint8)
    img[:16, :16] = 255
    exif = image_mod.Exif()
    exif[0x0112] = orientation  # how a phone records a sideways shot
    path = tmp_path / f"o{orientation}.jpg"
    image_mod.fromarray(img).save(path, exif=exif.tobytes(), quality=95)
    expected = np.asarray(ops.exif_transpose(image_mod.open(path)))
    _, [frame] = read_frames(path)
    assert frame.image.shape == expected.shape
    assert np.abs(frame.image.astype(int) - expected).mean() < 3


def test_orient_image_mirrors_after_turning():
    image = np.arange(6, dtype=np.uint8).reshape(2, 3, 1)
    assert np.array_equal(orient_image(image, 0, True), image[:, ::-1])
    oriented = orient_image(image, 90, True)
    assert oriented.flags.c_contiguous and np.array_equal(oriented, rotate_image(image, 90)[:, ::-1])
    assert orient_image(image, 0, False) is image


@pytest.mark.parametrize("orientation", sorted(EXIF_ORIENTATIONS))
@pytest.mark.parametrize("fmt, name, options", [("JPEG", "a.jpg", {}), ("PNG", "a.png", {}), ("WEBP", "a.webp", {}),
                                               ("TIFF", "a.tif", {}), ("TIFF", "jpeg.tif", {"compression": "jpeg"})])
def test_stills_are_turned_and_mirrored_as_their_exif_orientation_says(tmp_path, astronaut, orientation, fmt, name,
                                                                       options):
    # Pillow's exif_transpose is the reference. FFmpeg reads the tag as a rotation and drops the mirroring of 2, 4,
    # 5 and 7: a mirrored selfie (2) came out upside down, 4 unturned. A JPEG-compressed TIFF, which Pillow decodes
    # (detector.media.pillow_stills), was not turned at all.
    picture = Image.fromarray(np.ascontiguousarray(astronaut[:, :384]))  # not square: a wrong quarter turn shows
    exif = picture.getexif()
    exif[0x0112] = orientation
    path = tmp_path / name
    picture.save(path, format=fmt, exif=exif.tobytes(), quality=95, **options)
    assert exif_orientation(path) == orientation
    with Image.open(path) as saved:
        expected = np.asarray(ImageOps.exif_transpose(saved).convert("RGB"))
    info, [frame] = read_frames(path)
    assert (info.height, info.width) == expected.shape[:2] and frame.image.shape == expected.shape
    # JPEG and lossy WebP: the same decoded picture through two decoders (libjpeg / FFmpeg), ~1 grey level apart;
    # a wrong turn or mirror of this photo is over 40 apart.
    assert np.abs(frame.image.astype(int) - expected).mean() < 3.0


def test_exif_orientation_is_none_without_a_tag_or_a_readable_header(tmp_path, astronaut):
    plain = tmp_path / "plain.jpg"
    Image.fromarray(astronaut).save(plain)
    assert exif_orientation(plain) is None
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"\xff\xd8\xff" + bytes(50))
    assert exif_orientation(junk) is None


# The track header's matrix (ISO/IEC 14496-12 ``tkhd``: a b c d, source (x, y) to display (a x + c y, b x + d y)) of
# each EXIF orientation's turn: the same eight pictures, as a video's display matrix instead of a still's tag.
_TKHD = {1: (1, 0, 0, 1), 2: (-1, 0, 0, 1), 3: (-1, 0, 0, -1), 4: (1, 0, 0, -1),
         5: (0, 1, 1, 0), 6: (0, 1, -1, 0), 7: (0, -1, -1, 0), 8: (0, -1, 1, 0)}


@pytest.fixture(scope="module")
def small_clip(tmp_path_factory, astronaut, video_writer):
    """Ten frames of a 192 x 256 picture (not square) as H.264 in MP4, and the picture."""
    picture = np.ascontiguousarray(astronaut[::2, :384:2])
    path = video_writer(tmp_path_factory.mktemp("matrix") / "clip.mp4", [picture] * 10)
    return path, picture


@pytest.mark.parametrize("orientation", sorted(_TKHD))
def test_videos_are_turned_and_mirrored_as_their_display_matrix_says(tmp_path, small_clip, orientation):
    # FFmpeg's angle of a mirrored matrix is a rotation alone (a front camera's left-right flip read as 180°, the
    # picture upside down); the track matrix is read from the file and its determinant tells the mirror.
    source, picture = small_clip
    data = bytearray(source.read_bytes())
    matrix = data.find(b"tkhd") + 4 + 40  # version 0: the matrix follows 40 bytes of other fields
    a, b, c, d = _TKHD[orientation]
    data[matrix:matrix + 36] = struct.pack(">9i", a << 16, b << 16, 0, c << 16, d << 16, 0, 0, 0, 1 << 30)
    path = tmp_path / "turned.mp4"
    path.write_bytes(bytes(data))
    expected = orient_image(picture, *EXIF_ORIENTATIONS[orientation])
    info, frames = read_frames(path)
    assert (info.height, info.width) == expected.shape[:2]
    for frame in frames:
        # x264 at its defaults: ~4 grey levels from the picture; a wrong turn or mirror is over 40.
        assert frame.image.shape == expected.shape
        assert np.abs(frame.image.astype(int) - expected).mean() < 8.0


def test_mp4_orientation_is_none_where_no_track_matrix_mirrors(tmp_path, small_clip):
    source, _ = small_clip
    assert mp4_orientation(source) is None  # the identity matrix: FFmpeg's rotation stands
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(source.read_bytes()[:-200])  # the moov box (written last) cut short
    assert mp4_orientation(cut) is None
    other = tmp_path / "a.bin"
    other.write_bytes(b"\x00\x00\x00\x00" * 10)  # a box "to the end of the file" that is not moov
    assert mp4_orientation(other) is None
    assert mp4_orientation(tmp_path / "missing.mp4") is None
