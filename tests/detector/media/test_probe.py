"""Probing: the bytes pick the demuxer whatever the name; still or moving, size, duration; each way a file
fails to open or decode its first frame has its own code."""

from __future__ import annotations

import random

import av
import cv2
import numpy as np
import pytest
from PIL import Image

from detector.errors import MediaError, UnsupportedMediaError
from detector.media import IMAGE_EXTENSIONS, MediaLimits, read_frames
from detector.media.probe import ProbedMedia, probe_media
from detector.recipe import SamplingSpec


def test_probe_media_opens_a_video_rewound_to_its_start(demo_clip):
    probed = probe_media(demo_clip, MediaLimits())
    try:
        assert isinstance(probed, ProbedMedia) and probed.path == demo_clip and probed.still is None
        info = probed.info
        assert (info.kind, info.container.split(",")[0], info.codec) == ("video", "mov", "h264")
        assert (info.width, info.height, info.fps, info.rotation) == (640, 360, 25.0, 0)
        assert info.duration_s == pytest.approx(2.0, abs=0.05)
        assert probed.sample_aspect == 1.0
        first = next(iter(probed.container.decode(probed.stream)))
        assert first.pts == 0  # the first-frame decode was undone
    finally:
        probed.container.close()


def test_probe_media_keeps_the_decoded_still(tmp_path, astronaut):
    path = tmp_path / "a.png"
    assert cv2.imwrite(str(path), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    probed = probe_media(path, MediaLimits())
    try:
        assert probed.info.kind == "image" and probed.info.to_dict()["duration_s"] is None
        assert probed.still is not None and (probed.still.width, probed.still.height) == (512, 512)
    finally:
        probed.container.close()


def test_probe_media_refuses_bytes_that_are_no_media(tmp_path):
    path = tmp_path / "x.mp4"
    path.write_text("this is not a video\n" * 50)
    with pytest.raises(UnsupportedMediaError, match="its first bytes match no known"):
        probe_media(path, MediaLimits())


@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp", ".bmp"])
def test_still_images(tmp_path, astronaut, ext):
    path = tmp_path / f"a{ext}"
    assert cv2.imwrite(str(path), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    info, frames = read_frames(path)
    assert info.kind == "image" and info.duration_s is None
    assert (info.width, info.height) == (512, 512) and len(frames) == 1
    assert frames[0].timestamp == 0.0
    # Lossy formats stay close to the original; lossless ones are exact.
    diff = np.abs(frames[0].image.astype(int) - astronaut).mean()
    assert diff < 4 if ext in (".jpg", ".webp") else diff == 0


def _avif(path, image: np.ndarray):
    """``image`` saved as AVIF by Pillow (libavif); skips where this Pillow cannot write AVIF."""
    from PIL import Image, features

    if not features.check("avif"):
        pytest.skip("this Pillow has no AVIF encoder (Pillow >= 11.3 wheels bundle libavif)")
    Image.fromarray(image).save(path, format="AVIF", quality=90)
    return path


def test_an_avif_photo_is_a_still_image_whatever_its_name(tmp_path, astronaut):
    """AVIF is ISO-BMFF: FFmpeg opens it with the mov demuxer as a one-frame stream of 1 s, which sampling at its
    middle used to call truncated (corrupt_media). Its brand makes it a still, sized from its ``ispe`` box."""
    from PIL import Image

    for name in ("a.avif", "a.bin"):
        path = _avif(tmp_path / name, astronaut)
        info, frames = read_frames(path)
        assert (info.kind, info.duration_s, info.width, info.height, len(frames)) == ("image", None, 512, 512, 1)
        pillow = np.asarray(Image.open(path).convert("RGB"), np.int16)
        assert np.abs(frames[0].image.astype(np.int16) - pillow).mean() < 2  # the pixels Pillow decodes
        assert np.abs(frames[0].image.astype(int) - astronaut).mean() < 4


def test_an_avif_bomb_is_refused_from_its_header(tmp_path, astronaut):
    from detector.errors import MediaTooLargeError

    path = _avif(tmp_path / "a.avif", astronaut)
    with pytest.raises(MediaTooLargeError):
        read_frames(path, limits=MediaLimits(max_pixels=512 * 511))


def test_animated_gif_is_a_video(tmp_path, numbered, video_writer):
    path = video_writer(tmp_path / "anim.gif", numbered(20, (64, 48)), fps=10, codec="gif", pix_fmt="rgb8")
    info, sampled = read_frames(path, sampling=SamplingSpec(frames=4))
    assert info.kind == "video"
    assert info.duration_s == pytest.approx(2.0, abs=0.15)
    assert len(sampled) == 4


def test_single_frame_gif_is_an_image(tmp_path, astronaut, video_writer):
    path = video_writer(tmp_path / "still.gif", [astronaut], fps=10, codec="gif", pix_fmt="rgb8")
    info, frames = read_frames(path)
    assert info.kind == "image" and len(frames) == 1


def test_text_file_named_mp4(tmp_path, media_error_code):
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 50)
    assert media_error_code(path) == "unsupported_media"


def test_truncated_video_without_index(tmp_path, demo_clip, media_error_code):
    # PyAV writes the mp4 index (moov) at the end: cutting the file loses it.
    data = demo_clip.read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) // 2])
    assert media_error_code(path) == "corrupt_media"


def test_unsupported_codec(tmp_path, media_error_code):
    path = tmp_path / "odd.avi"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width = stream.height = 32
        stream.pix_fmt = "yuv420p"
        for _ in range(3):
            for p in stream.encode(av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")):
                out.mux(p)
        for p in stream.encode():
            out.mux(p)
    data = path.read_bytes()
    assert b"FMP4" in data
    path.write_bytes(data.replace(b"FMP4", b"ZZZZ"))  # a FourCC no decoder knows
    assert media_error_code(path) == "unsupported_codec"


def test_zero_decodable_frames(tmp_path, demo_clip, media_error_code):
    # Keep the container intact but zero every byte of coded video: it opens, yet no frame decodes.
    data = bytearray(demo_clip.read_bytes())
    start = data.find(b"mdat") + 4
    end = data.find(b"moov") - 4
    assert 8 < start < end
    data[start:end] = bytes(end - start)
    path = tmp_path / "blank.mp4"
    path.write_bytes(bytes(data))
    assert media_error_code(path) == "no_frames"


def test_audio_only_file(tmp_path, media_error_code):
    path = tmp_path / "tone.wav"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for p in stream.encode(frame):
            out.mux(p)
        for p in stream.encode():
            out.mux(p)
    assert media_error_code(path) == "no_video_stream"


# Names FFmpeg treats differently: by their extension it picks the mov demuxer (.mp4), the image2 demuxer
# with a codec taken from the name (.jpg, .png), or probes the content (.bin, no extension).
_NAMES = ("x.bin", "x.mp4", "x.jpg", "x.png", "x.mkv", "x.gif", "x")


def _codes_by_name(tmp_path, data: bytes) -> dict[str, str]:
    codes = {}
    for name in _NAMES:
        path = tmp_path / name
        path.write_bytes(data)
        try:
            read_frames(path, sampling=SamplingSpec(frames=4))
            codes[name] = "ok"
        except MediaError as exc:
            codes[name] = exc.code
    return codes


@pytest.mark.parametrize("size", [1000, 100_000, 1_000_000])
def test_random_bytes_are_unsupported_under_any_name(tmp_path, size):
    # Seed 1000 at 1 MB used to "open" under .bin (FFmpeg probed a raw stream claiming 1280x50000 pixels:
    # media_too_large) while .mp4 gave unsupported_media.
    data = np.random.default_rng(1000).integers(0, 256, size, dtype=np.uint8).tobytes()
    assert set(_codes_by_name(tmp_path, data).values()) == {"unsupported_media"}


def test_random_bytes_that_ffmpeg_probes_as_video(tmp_path):
    # These bytes opened as a raw video stream under .bin before their classification moved to the bytes.
    data = random.Random(1000).randbytes(1_000_000)
    assert set(_codes_by_name(tmp_path, data).values()) == {"unsupported_media"}


@pytest.mark.parametrize("case", ["jpeg_junk", "riff_junk", "es_junk", "truncated_mp4"])
def test_damaged_media_gets_one_code_under_any_name(tmp_path, astronaut, demo_clip, case):
    junk = np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes()
    jpeg = cv2.imencode(".jpg", astronaut)[1].tobytes()
    data = {"jpeg_junk": jpeg[:200] + junk, "riff_junk": b"RIFF" + junk, "es_junk": b"\x00\x00\x01" + junk,
            "truncated_mp4": demo_clip.read_bytes()[:3000]}[case]
    codes = _codes_by_name(tmp_path, data)
    assert len(set(codes.values())) == 1, codes
    assert codes["x.bin"] not in ("ok", "media_error")


def test_valid_media_reads_under_any_name(tmp_path, astronaut, demo_clip):
    # The demuxer follows the bytes: a JPEG named .mp4 and a video named .png still read.
    jpeg = cv2.imencode(".jpg", astronaut)[1].tobytes()
    assert set(_codes_by_name(tmp_path, jpeg).values()) == {"ok"}
    assert set(_codes_by_name(tmp_path, demo_clip.read_bytes()).values()) == {"ok"}


def test_a_stream_that_cannot_seek_back_is_probed_from_the_reopened_file(raw_h264):
    """A raw H.264 stream has no duration: probing demuxes it to the end and, unable to seek back, reopens it.
    Everything after that must come from the reopened file (reading the closed one's stream was undefined: now
    and then a garbage pixel aspect called a 64x48 clip over the pixel limit)."""
    for _ in range(5):
        probed = probe_media(raw_h264, MediaLimits())
        try:
            assert probed.stream.container is probed.container  # the live file's stream, not the closed one's
            assert (probed.info.width, probed.info.height, probed.sample_aspect) == (64, 48, 1.0)
        finally:
            probed.container.close()


def test_cut_short_jpeg_and_gif_are_corrupt_not_scored(tmp_path, astronaut, media_error_code):
    # FFmpeg decodes both without an error, the missing part grey or background (detector.media.still_end).
    jpeg = tmp_path / "whole.jpg"
    assert cv2.imwrite(str(jpeg), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    data = jpeg.read_bytes()
    for name, part in (("half.jpg", data[: len(data) // 2]), ("nearly.jpg", data[:-100])):
        (tmp_path / name).write_bytes(part)
        assert media_error_code(tmp_path / name) == "corrupt_media", name
    info, frames = read_frames(jpeg)
    assert info.kind == "image" and len(frames) == 1
    gif = tmp_path / "whole.gif"
    Image.fromarray(astronaut).convert("P", palette=Image.Palette.ADAPTIVE).save(gif)
    data = gif.read_bytes()
    (tmp_path / "half.gif").write_bytes(data[: len(data) // 2])
    assert media_error_code(tmp_path / "half.gif") == "corrupt_media"
    assert read_frames(gif)[0].kind == "image"


def test_cut_short_webp_is_corrupt_not_an_unsupported_codec(tmp_path, astronaut, media_error_code):
    path = tmp_path / "whole.webp"
    Image.fromarray(astronaut).save(path, quality=90)
    data = path.read_bytes()
    (tmp_path / "half.webp").write_bytes(data[: len(data) // 2])
    assert media_error_code(tmp_path / "half.webp") == "corrupt_media"


def test_tiff_and_jfif_are_scanned_in_directories():
    assert {".tif", ".tiff", ".jfif", ".jpe"} <= IMAGE_EXTENSIONS


def test_jpeg_over_the_pixel_limit_is_decoded_smaller_not_refused(tmp_path, astronaut):
    # A phone's 50 or 200 MP photo: the JPEG decoder's DCT scaling (1/2, 1/4, 1/8 per side) brings it within the
    # limit without allocating the whole picture. Here at test scale: 1536 x 1536 against a 1 MP limit.
    big = cv2.resize(astronaut, (1536, 1536), interpolation=cv2.INTER_CUBIC)
    path = tmp_path / "big.jpg"
    assert cv2.imwrite(str(path), cv2.cvtColor(big, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
    info, [frame] = read_frames(path, limits=MediaLimits(max_pixels=1_000_000))
    assert (info.width, info.height) == (768, 768) and frame.image.shape == (768, 768, 3)  # 1/2 per side
    box = cv2.resize(big, (768, 768), interpolation=cv2.INTER_AREA)
    assert np.abs(frame.image.astype(int) - box.astype(int)).mean() < 3.0  # DCT scaling ~ a box filter
    info, [frame] = read_frames(path, limits=MediaLimits(max_pixels=150_000))
    assert (info.width, info.height) == (384, 384)  # 1/4 per side: at most 16 times the limit is accepted
    with pytest.raises(MediaError, match="over the limit") as caught:
        read_frames(path, limits=MediaLimits(max_pixels=140_000))
    assert caught.value.code == "media_too_large"
    png = tmp_path / "big.png"
    assert cv2.imwrite(str(png), big)
    with pytest.raises(MediaError) as caught:  # other formats have no such scaling: refused as before
        read_frames(png, limits=MediaLimits(max_pixels=1_000_000))
    assert caught.value.code == "media_too_large"


def test_jpeg2000_stills_are_read_and_halved_by_their_wavelet_levels(tmp_path, astronaut):
    # Archives and digital libraries keep scanned photographs as JPEG 2000 (JP2 files or bare codestreams).
    assert {".jp2", ".j2k", ".jpf", ".jpx"} <= IMAGE_EXTENSIONS
    for name, options in (("scan.jp2", {}), ("scan.j2k", {"no_jp2": True}), ("scan.bin", {})):
        path = tmp_path / name
        Image.fromarray(astronaut).save(path, format="JPEG2000", **options)  # lossless by default
        info, [frame] = read_frames(path)
        assert info.kind == "image" and info.codec == "jpeg2000" and (info.width, info.height) == (512, 512)
        assert np.array_equal(frame.image, astronaut)
    # Over the pixel limit, the decoder leaves out the finest wavelet levels (a quarter of the pixels per level),
    # as far as the file has levels: OpenJPEG's 4 here (for 512 px) allow the two halvings a JPEG gets, one only one.
    path = tmp_path / "scan.jp2"
    info, [frame] = read_frames(path, limits=MediaLimits(max_pixels=100_000))
    assert (info.width, info.height) == (256, 256) and frame.image.shape == (256, 256, 3)
    # The 5/3 wavelet's low-pass band is sharper than a box filter: 4.7 grey levels from INTER_AREA's half size
    # (OpenJPEG 2.5 via Pillow 13, FFmpeg 8 decoding); the picture mirrored or a quarter of it gives over 70.
    box = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)
    assert np.abs(frame.image.astype(int) - box.astype(int)).mean() < 8.0
    info, _ = read_frames(path, limits=MediaLimits(max_pixels=20_000))
    assert (info.width, info.height) == (128, 128)
    one_level = tmp_path / "one.jp2"
    Image.fromarray(astronaut).save(one_level, format="JPEG2000", num_resolutions=2)
    assert read_frames(one_level, limits=MediaLimits(max_pixels=100_000))[0].width == 256
    with pytest.raises(MediaError) as caught:
        read_frames(one_level, limits=MediaLimits(max_pixels=20_000))
    assert caught.value.code == "media_too_large"


@pytest.mark.parametrize("fmt, name", [("PNG", "a.png"), ("BMP", "a.bmp"), ("TIFF", "a.tif"), ("JPEG2000", "a.jp2")])
def test_a_still_cut_short_is_corrupt_media_not_a_video_without_frames(tmp_path, astronaut, media_error_code,
                                                                       fmt, name):
    # Its one picture does not decode: a damaged file (as a JPEG cut short is), not a video stream without frames.
    path = tmp_path / name
    Image.fromarray(astronaut).save(path, format=fmt)
    path.write_bytes(path.read_bytes()[:-100])
    assert media_error_code(path) == "corrupt_media"


def _with_cover(path, astronaut, *, footage: bool, attached: bool) -> None:
    """A cover picture (one MJPEG frame) muxed ahead of 2 s of footage or of an audio track."""
    with av.open(str(path), "w") as out:
        cover = out.add_stream("mjpeg", rate=1)
        cover.width = cover.height = 64
        cover.pix_fmt = "yuvj420p"
        if attached:
            cover.disposition = av.stream.Disposition.attached_pic
        if footage:  # every stream is added before the first packet is muxed
            video = out.add_stream("libx264", rate=25)
            video.width, video.height, video.pix_fmt = 512, 512, "yuv420p"
        else:
            audio = out.add_stream("aac", rate=44100)
        picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(astronaut[::8, ::8]), format="rgb24")
        for packet in [*cover.encode(picture), *cover.encode()]:
            out.mux(packet)
        if footage:
            for i in range(50):
                out.mux(video.encode(av.VideoFrame.from_ndarray(np.roll(astronaut, 4 * i, axis=1), format="rgb24")))
            out.mux(video.encode())
        else:
            for i in range(20):
                frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
                frame.sample_rate, frame.pts = 44100, i * 1024
                out.mux(audio.encode(frame))
            out.mux(audio.encode())


def test_a_cover_picture_ahead_of_the_footage_is_not_the_video(tmp_path, astronaut):
    # Matroska keeps the picture as stream 0; the scan used to read it and call the 2 s clip truncated.
    path = tmp_path / "with_cover.mkv"
    _with_cover(path, astronaut, footage=True, attached=False)
    assert av.open(str(path)).streams.video[0].codec_context.name == "mjpeg"
    info, frames = read_frames(path, sampling=SamplingSpec(frames=8))
    assert (info.kind, info.codec, info.width, info.height) == ("video", "h264", 512, 512)
    assert len(frames) == 8 and info.duration_s == pytest.approx(2.0, abs=0.1)


def test_audio_with_cover_art_has_no_video_stream(tmp_path, astronaut, media_error_code):
    # The album art is an attached picture, not footage: scanning it gave a verdict on the artwork of a song.
    path = tmp_path / "song.mp4"  # (PyAV's .m4a muxer refuses pictures; iTunes' own files carry them the same way)
    _with_cover(path, astronaut, footage=False, attached=True)
    assert media_error_code(path) == "no_video_stream"
