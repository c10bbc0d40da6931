"""The demo clip: scikit-image's bundled photos found without importing scikit-image (a ``MissingExtraError``
naming the ``demo`` extra when they are not there), the pan/zoom frames, and the video writer."""

from __future__ import annotations

import importlib.util
import itertools

import av
import numpy as np
import pytest

from detector.errors import MissingExtraError
from detector.outputs.demo import load_photo, make_demo_clip, pan_zoom_frames, skimage_photo, write_video


def decoded(path) -> tuple[list[np.ndarray], float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        return frames, float(stream.average_rate)


def test_skimage_photos(astronaut):
    path = skimage_photo("astronaut.png")
    assert path.is_file() and path.name == "astronaut.png" and path == skimage_photo()
    assert astronaut.shape == (512, 512, 3) and astronaut.dtype == np.uint8
    camera = load_photo("camera.png")  # a grey photo comes back as RGB too
    assert camera.shape == (512, 512, 3) and (camera[..., 0] == camera[..., 2]).all()


def test_a_missing_photo_names_the_demo_extra():
    with pytest.raises(MissingExtraError) as err:
        skimage_photo("no-such-photo.png")
    assert err.value.extra == "demo" and "no-such-photo.png" in err.value.message


def test_without_scikit_image_names_the_demo_extra(monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "skimage" else find_spec(name, *a))
    with pytest.raises(MissingExtraError) as err:
        load_photo()
    assert err.value.extra == "demo" and "pip install 'deepfake-detector[demo]'" in err.value.message


def test_pan_zoom_frames(astronaut):
    frames = pan_zoom_frames(astronaut, width=160, height=90, n_frames=5)
    assert len(frames) == 5 and all(f.shape == (90, 160, 3) and f.dtype == np.uint8 for f in frames)
    diffs = [np.abs(a.astype(int) - b).mean() for a, b in itertools.pairwise(frames)]
    assert all(d > 1 for d in diffs)  # it moves, frame to frame
    still = pan_zoom_frames(astronaut, width=160, height=90, n_frames=3, zoom=(1.2, 1.2), pan=(0.0, 0.0))
    assert all(np.array_equal(still[0], f) for f in still)
    [one] = pan_zoom_frames(astronaut, width=64, height=64, n_frames=1)  # a single frame: the start of the move
    assert one.shape == (64, 64, 3)
    assert pan_zoom_frames(astronaut, width=64, height=64, n_frames=0) == []


def test_pan_zoom_moves_right_zooms_in_and_keeps_the_top():
    """On a photo whose red channel is its x and green its y (in half pixels): the last frame shows a narrower
    strip (zoomed in 1.35x) right of where the first one is centred (panned), and every frame starts near the
    photo's top, where a portrait's head is."""
    y, x = np.mgrid[0:512, 0:512]
    photo = np.stack([x // 2, y // 2, np.zeros_like(x)], axis=-1).astype(np.uint8)
    first, *_, last = pan_zoom_frames(photo, width=200, height=100, n_frames=5)
    red_span = [float(f[50, -1, 0]) - float(f[50, 0, 0]) for f in (first, last)]
    assert red_span[0] == pytest.approx(255, abs=3) and red_span[0] / red_span[1] == pytest.approx(1.35, rel=0.02)
    assert float(last[50, 100, 0]) - float(first[50, 100, 0]) == pytest.approx(0.08 * 256, abs=2)
    assert first[0, :, 1].mean() == pytest.approx(0.1 * 256 / 2, abs=2)  # 10 % of the spare height from the top
    assert last[0, :, 1].mean() < 0.25 * 255 and last[-1, :, 1].mean() < 0.75 * 255


def test_write_video_round_trip(tmp_path):
    frames = [np.full((21, 33, 3), v, np.uint8) for v in (30, 120, 210)]
    path = write_video(tmp_path / "new" / "dir" / "clip.mp4", frames, fps=10)
    assert path == tmp_path / "new" / "dir" / "clip.mp4" and path.is_file()  # parents made
    back, rate = decoded(path)
    assert rate == 10 and len(back) == 3
    assert back[0].shape == (20, 32, 3)  # odd sizes lose their last row/column (4:2:0 needs even ones)
    assert [round(float(f.mean())) for f in back] == pytest.approx([30, 120, 210], abs=3)


def test_make_demo_clip(tmp_path):
    path = make_demo_clip(tmp_path / "demo.mp4", width=128, height=72, seconds=0.4, fps=10)
    back, rate = decoded(path)
    assert rate == 10 and len(back) == 4 and back[0].shape == (72, 128, 3)
