from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from detector.errors import ConfigError, MediaTooLongError
from detector.media import MediaLimits, Sampling, is_media_path, open_media, read_frames


def test_even_sampling_spreads_over_duration(tmp_path, video_writer, numbered, read_number):
    path = video_writer(tmp_path / "n.mp4", numbered(100), fps=25, options={"qp": "0"})
    info, frames = read_frames(path, sampling=Sampling(num_frames=10))
    assert info.kind == "video" and info.duration_s == pytest.approx(4.0, abs=0.05) and info.fps == 25
    assert len(frames) == 10
    # Centre of each of 10 slices of 4 s: 0.2, 0.6, ... 3.8 s -> frames 5, 15, ... 95.
    assert [f.index for f in frames] == [5 + 10 * i for i in range(10)]
    assert [read_number(f.image) for f in frames] == [5 + 10 * i for i in range(10)]
    assert [f.timestamp for f in frames] == pytest.approx([0.2 + 0.4 * i for i in range(10)], abs=0.021)


def test_fixed_rate_sampling(tmp_path, video_writer, numbered):
    path = video_writer(tmp_path / "n.mp4", numbered(100), fps=25)
    # Every frame decoded: each sample is the frame nearest its time (reference-only decoding is tested below).
    _, frames = read_frames(path, sampling=Sampling(fps=2.0, reference_frames_only=False))
    assert len(frames) == 8
    assert [f.timestamp for f in frames] == pytest.approx([0.5 * i for i in range(8)], abs=0.021)


def test_more_samples_than_frames_gives_each_frame_once(tmp_path, video_writer, numbered):
    path = video_writer(tmp_path / "short.mp4", numbered(5), fps=25)
    _, frames = read_frames(path, sampling=Sampling(num_frames=32))
    assert [f.index for f in frames] == [0, 1, 2, 3, 4]


def _bframe_clip(tmp_path, video_writer, numbered, n=250):
    # x264's default GOP: B-frames in a pyramid, half of them never referenced (what the skip drops).
    return video_writer(tmp_path / "b.mp4", numbered(n), fps=25, options={"bf": "3", "b_strategy": "0"})


def test_sparse_samples_decode_reference_frames_only(tmp_path, video_writer, numbered, read_number):
    path = _bframe_clip(tmp_path, video_writer, numbered)
    info, every = read_frames(path, sampling=Sampling(num_frames=32, reference_frames_only=False))
    _, refs = read_frames(path, sampling=Sampling(num_frames=32))
    assert len(refs) == len(every) == 32
    # The skip took effect: some samples moved to a neighbouring reference frame ...
    assert [f.index for f in refs] != [f.index for f in every]
    targets = [(i + 0.5) * info.duration_s / 32 for i in range(32)]
    for frame, target in zip(refs, targets):
        # ... by at most one frame interval, and index, time and pixels still agree.
        assert abs(frame.timestamp - target) <= 0.04 + 1e-6
        assert frame.index == round(frame.timestamp * 25) == read_number(frame.image)
    with open_media(path) as media:
        decoded = sum(1 for _ in media.frames(Sampling(num_frames=32)))
    assert decoded == 32


def test_dense_samples_decode_every_frame(tmp_path, video_writer, numbered):
    path = _bframe_clip(tmp_path, video_writer, numbered, n=50)
    # 2 s at 25 fps, 20 samples: 2.5 frame intervals apart, under the sparse threshold of 4.
    assert not Sampling(num_frames=20).skips_nonreference(2.0, 25.0)
    assert Sampling(num_frames=10).skips_nonreference(2.0, 25.0)
    _, a = read_frames(path, sampling=Sampling(num_frames=20))
    _, b = read_frames(path, sampling=Sampling(num_frames=20, reference_frames_only=False))
    assert [f.index for f in a] == [f.index for f in b]


def test_seek_and_decode_all_pick_the_same_frames(tmp_path, video_writer, numbered):
    # 40 s at 10 fps, keyframe every 2 s: above the seek threshold.
    path = video_writer(tmp_path / "long.mp4", numbered(400, (32, 32)), fps=10,
                        options={"g": "20", "qp": "0"})
    sampling_all = Sampling(num_frames=16, seek_above_s=1e9)
    sampling_seek = Sampling(num_frames=16, seek_above_s=1.0)
    _, all_frames = read_frames(path, sampling=sampling_all)
    _, seek_frames = read_frames(path, sampling=sampling_seek)
    assert len(all_frames) == len(seek_frames) == 16
    assert [f.timestamp for f in all_frames] == pytest.approx([f.timestamp for f in seek_frames], abs=1e-6)
    assert [f.index for f in all_frames] == [f.index for f in seek_frames]
    for a, b in zip(all_frames, seek_frames):
        assert np.array_equal(a.image, b.image)


def test_variable_frame_rate_is_sampled_by_time(tmp_path, video_writer, numbered):
    # First second at 50 fps, next three seconds at 5 fps: frame counts would oversample the start.
    times = [i / 50 for i in range(50)] + [1.0 + i / 5 for i in range(15)]
    tb = Fraction(1, 1000)
    path = video_writer(tmp_path / "vfr.mkv", numbered(len(times)), fps=50, pts=[round(t * 1000) for t in times],
                        time_base=tb)
    # Samples 1 s apart are sparse, so decoding starts on reference frames only; the 5-fps stretch must make
    # it fall back to every frame (skipping there moved the sample at 2.5 s to 2.2 s).
    info, frames = read_frames(path, sampling=Sampling(num_frames=4))
    assert info.duration_s == pytest.approx(4.0, abs=0.25)
    # Targets at 0.5, 1.5, 2.5, 3.5 s: nearest frames lie within one 5-fps step of them.
    for frame, target in zip(frames, [0.5, 1.5, 2.5, 3.5]):
        assert abs(frame.timestamp - target) <= 0.11
    assert len(frames) == 4


@pytest.mark.parametrize("rotation, corner", [(90, "bottom_left"), (-90, "top_right"), (180, "bottom_right")])
def test_rotation_metadata_is_applied(tmp_path, video_writer, rotation, corner):
    img = np.zeros((48, 64, 3), np.uint8)
    img[:16, :16] = 255  # a white top-left corner marks the orientation
    path = video_writer(tmp_path / "rot.mp4", [img] * 5, rotation=rotation)
    info, frames = read_frames(path, sampling=Sampling(num_frames=1))
    out = frames[0].image
    expected_shape = (48, 64, 3) if rotation == 180 else (64, 48, 3)
    assert out.shape == expected_shape
    assert (info.height, info.width) == expected_shape[:2]
    h, w = out.shape[:2]
    corners = {"top_left": out[:8, :8], "top_right": out[:8, w - 8:], "bottom_left": out[h - 8:, :8],
               "bottom_right": out[h - 8:, w - 8:]}
    assert corners[corner].mean() > 200
    assert corners["top_left"].mean() < 50


def test_odd_sizes_and_grayscale(tmp_path, video_writer, cameraman):
    gray = cameraman[:241, :317, 0]
    path = video_writer(tmp_path / "gray.mkv", [gray] * 3, codec="ffv1", pix_fmt="gray")
    info, frames = read_frames(path, sampling=Sampling(num_frames=2))
    assert (info.width, info.height) == (317, 241)
    assert frames[0].image.shape == (241, 317, 3) and frames[0].image.dtype == np.uint8
    assert np.array_equal(frames[0].image[..., 0], gray)  # lossless: grey replicated into RGB


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


def test_png_alpha_is_composited_on_white(tmp_path, astronaut):
    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    rgba[:, :256, 3] = 0  # left half fully transparent
    path = tmp_path / "alpha.png"
    cv2.imwrite(str(path), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    _, [frame] = read_frames(path)
    assert frame.image.shape == (512, 512, 3)
    assert (frame.image[:, :256] == 255).all()
    assert np.array_equal(frame.image[:, 256:], astronaut[:, 256:])


def test_animated_gif_is_a_video(tmp_path, numbered, video_writer):
    path = video_writer(tmp_path / "anim.gif", numbered(20, (64, 48)), fps=10, codec="gif", pix_fmt="rgb8")
    info, sampled = read_frames(path, sampling=Sampling(num_frames=4))
    assert info.kind == "video"
    assert info.duration_s == pytest.approx(2.0, abs=0.15)
    assert len(sampled) == 4


def test_single_frame_gif_is_an_image(tmp_path, astronaut, video_writer):
    path = video_writer(tmp_path / "still.gif", [astronaut], fps=10, codec="gif", pix_fmt="rgb8")
    info, frames = read_frames(path)
    assert info.kind == "image" and len(frames) == 1


def test_frames_stream_lazily(demo_clip):
    with open_media(demo_clip) as media:
        it = media.frames(Sampling(num_frames=8))
        first = next(it)
        assert first.image.shape == (360, 640, 3)
        assert sum(1 for _ in it) == 7


def test_max_duration_guard(demo_clip):
    with pytest.raises(MediaTooLongError) as err:
        read_frames(demo_clip, limits=MediaLimits(max_duration_s=1.0))
    assert err.value.code == "media_too_long"


def test_fps_sampling_frame_cap(demo_clip):
    with pytest.raises(MediaTooLongError):
        read_frames(demo_clip, sampling=Sampling(fps=25), limits=MediaLimits(max_sampled_frames=10))


def test_invalid_sampling_is_a_config_error():
    with pytest.raises(ConfigError):
        Sampling(num_frames=0)
    with pytest.raises(ConfigError):
        Sampling(fps=-1.0)


def test_media_extensions():
    assert is_media_path("a/b.MP4") and is_media_path("x.webp") and not is_media_path("notes.txt")
    assert is_media_path(Path("clip.gif"))


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


@pytest.mark.parametrize("n", [12, 50])
def test_as_many_samples_as_frames_returns_every_frame(tmp_path, video_writer, numbered, read_number, n):
    # Sample times then fall exactly between two frames; none may be dropped or repeated.
    path = video_writer(tmp_path / "n.mp4", numbered(n), fps=25, options={"qp": "0"})
    _, frames = read_frames(path, sampling=Sampling(num_frames=n))
    assert [f.index for f in frames] == list(range(n))
    assert [read_number(f.image) for f in frames] == list(range(n))


def test_write_video_accepts_odd_sizes(tmp_path):
    from detector.outputs.demo import write_video

    path = write_video(tmp_path / "odd.mp4", [np.zeros((361, 641, 3), np.uint8)] * 3)
    info, frames = read_frames(path)
    assert (info.width, info.height) == (640, 360) and len(frames) == 3
