"""The autoencoder face swap on two real public-domain faces: the astronaut (A) and the cameraman (B).

Tiny models (32 px, width 8) and 60 steps: the point is that training reduces the reconstruction
loss and that the swap, blending, video and CLI plumbing do what they say, not that the swap looks good.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from detector.errors import ConfigError
from detector.faces.extract import FaceExtractor
from detector.media import Frame, read_frames
from detector.outputs.demo import pan_zoom_frames
from detector.recipe import SamplingSpec
from training.synth.ae_swap import (
    AESwapConfig,
    collect_crops,
    crop_mask,
    load_model,
    main,
    save_model,
    swap_frame,
    swap_video,
    train_autoencoder,
)

SIZE = 32


def tiny_config(**overrides: object) -> AESwapConfig:
    base = {"size": SIZE, "width": 8, "latent_dim": 64, "steps": 60, "batch_size": 8, "lr": 1e-3, "log_every": 10,
            "device": "cpu", "seed": 0}
    return AESwapConfig(**{**base, **overrides})


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    # These models are tiny: a second intra-op thread gains nothing, and on a busy 2-core machine OpenMP's
    # spinning barriers made 2 threads up to 10x slower than 1 (measured).
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def extractor() -> FaceExtractor:
    return FaceExtractor()


@pytest.fixture(scope="module")
def cameraman_clip(clip_dir, cameraman, video_writer):
    frames = pan_zoom_frames(cameraman, width=640, height=360, n_frames=16)
    return video_writer(clip_dir / "cameraman.mp4", frames)


@pytest.fixture(scope="module")
def crops(demo_clip, cameraman_clip, extractor):
    a = collect_crops([demo_clip], size=SIZE, frames_per_video=10, extractor=extractor)
    b = collect_crops([cameraman_clip], size=SIZE, frames_per_video=10, extractor=extractor)
    return a, b


@pytest.fixture(scope="module")
def trained(crops):
    return train_autoencoder(*crops, tiny_config())


@pytest.fixture(scope="module")
def astronaut_face(astronaut, extractor):
    [face] = extractor.extract_frames([Frame(0, 0.0, astronaut)])
    return np.asarray(face.landmarks), face.box


def test_collect_crops_gives_aligned_crops_of_each_identity(crops):
    a, b = crops
    for c in (a, b):
        assert c.dtype == np.uint8 and c.ndim == 4 and c.shape[1:] == (SIZE, SIZE, 3)
        assert len(c) >= 6  # one main track through (nearly) every sampled frame
    assert np.abs(a.mean(axis=(0, 3)) - b.mean(axis=(0, 3))).mean() > 10  # two different people
    assert np.ptp(b.astype(int), axis=3).max() <= 3  # the cameraman photo is grey: so are his crops


def test_collect_crops_without_a_face_is_an_error(clip_dir, video_writer, extractor):
    blank = video_writer(clip_dir / "blank.mp4", [np.full((120, 160, 3), 90, np.uint8)] * 4)
    with pytest.raises(ConfigError, match="no face"):
        collect_crops([blank], size=SIZE, frames_per_video=4, extractor=extractor)


def test_training_reduces_the_reconstruction_loss(trained):
    model, history = trained
    assert [r.step for r in history] == [10, 20, 30, 40, 50, 60]
    assert all(np.isfinite([r.loss_a, r.loss_b]).all() for r in history)
    assert history[-1].loss < 0.85 * history[0].loss  # measured: 0.64-0.69 over seeds 0-3
    assert history[-1].loss_a < history[0].loss_a and history[-1].loss_b < history[0].loss_b
    assert not model.training


def test_training_is_deterministic_per_seed(crops):
    a, b = crops

    def weights(seed: int) -> torch.Tensor:
        model, _ = train_autoencoder(a, b, tiny_config(steps=3, seed=seed))
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    first = weights(1)
    assert torch.equal(first, weights(1))
    assert not torch.equal(first, weights(2))


def test_config_validation():
    with pytest.raises(ConfigError):
        AESwapConfig(size=40)  # not a multiple of 16
    with pytest.raises(ConfigError):
        AESwapConfig(device="tpu")
    with pytest.raises(ConfigError):
        train_autoencoder(np.zeros((4, 48, 48, 3), np.uint8), np.zeros((4, 32, 32, 3), np.uint8), tiny_config())


def test_crop_mask_is_a_soft_face_ellipse():
    spec = tiny_config().align
    mask = crop_mask(spec)
    assert mask.shape == (SIZE, SIZE) and mask.dtype == np.float32
    t = np.round(spec.template()).astype(int)
    assert all(mask[y, x] > 0.9 for x, y in t[:3])  # eyes and nose fully swapped
    border = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
    assert border.max() < 0.05  # fades out inside the crop: no hard crop edge in the frame


def test_swap_frame_changes_the_face_and_nothing_else(trained, astronaut, astronaut_face):
    model, _ = trained
    landmarks, box = astronaut_face
    out, mask = swap_frame(astronaut, landmarks, model, direction="a2b")
    assert out.shape == astronaut.shape and out.dtype == np.uint8
    assert mask.shape == astronaut.shape[:2] and mask.dtype == np.float32
    assert 0.0 <= mask.min() and mask.max() <= 1.0

    x1, y1, x2, y2 = (round(v) for v in box)
    assert mask[y1:y2, x1:x2].mean() > 0.5  # the mask covers the face
    w = x2 - x1
    far = np.ones_like(mask, bool)
    far[max(0, y1 - w): y2 + w, max(0, x1 - w): x2 + w] = False
    assert mask[far].max() < 1e-6  # and nothing a face-width away

    diff = np.abs(out.astype(int) - astronaut.astype(int)).max(axis=2)
    assert diff[mask > 0.5].mean() > 3.0  # the face was replaced
    assert np.array_equal(out[mask == 0], astronaut[mask == 0])  # outside the mask, untouched
    assert diff[mask < 0.05].max() <= 13  # and the seam fades in (at most 5 % of a 255 step)


def test_swap_directions_use_different_decoders(trained, astronaut, astronaut_face):
    model, _ = trained
    landmarks, _ = astronaut_face
    a2b, mask_a = swap_frame(astronaut, landmarks, model, direction="a2b")
    b2a, mask_b = swap_frame(astronaut, landmarks, model, direction="b2a")
    assert np.array_equal(mask_a, mask_b)
    assert not np.array_equal(a2b, b2a)
    with pytest.raises(ConfigError):
        swap_frame(astronaut, landmarks, model, direction="sideways")  # type: ignore[arg-type]


def test_save_load_round_trip(trained, crops, astronaut, astronaut_face, tmp_path):
    model, history = trained
    save_model(model, tmp_path / "m", history)
    meta = json.loads((tmp_path / "m" / "config.json").read_text())
    assert meta["config"]["size"] == SIZE and len(meta["history"]) == len(history)
    loaded = load_model(tmp_path / "m", device="cpu")
    assert loaded.config == model.config
    a, _ = crops
    assert np.array_equal(loaded.convert(a[:4], "a2b"), model.convert(a[:4], "a2b"))
    landmarks, _ = astronaut_face
    assert np.array_equal(swap_frame(astronaut, landmarks, loaded)[0], swap_frame(astronaut, landmarks, model)[0])
    with pytest.raises(ConfigError):
        load_model(tmp_path / "missing", device="cpu")


def test_swap_video_swaps_face_frames_and_copies_the_rest(trained, astronaut, clip_dir, video_writer, tmp_path):
    model, _ = trained
    faces = pan_zoom_frames(astronaut, width=640, height=360, n_frames=4)
    blank = np.full((360, 640, 3), 128, np.uint8)
    src = video_writer(clip_dir / "with_gaps.mp4", [faces[0], faces[1], blank, blank, faces[2], faces[3]])
    result = swap_video(src, model, tmp_path / "swapped.mp4", direction="a2b")
    assert (result.n_frames, result.n_swapped_frames, result.n_faces) == (6, 4, 4)

    _, before = read_frames(src, sampling=SamplingSpec(fps=25))
    info, after = read_frames(result.path, sampling=SamplingSpec(fps=25))
    assert (info.width, info.height, len(after)) == (640, 360, 6)
    diffs = [np.abs(a.image.astype(int) - b.image.astype(int)).mean() for a, b in zip(before, after)]
    # Face frames changed (around the face only: a small share of the frame); blank ones only by re-encoding.
    assert min(diffs[i] for i in (0, 1, 4, 5)) > 0.2
    assert max(diffs[i] for i in (2, 3)) < 0.5
    assert np.abs(after[0].image[:, :100].astype(int) - before[0].image[:, :100]).mean() < 2.0


def test_cli_trains_then_swaps(demo_clip, cameraman_clip, tmp_path, capsys):
    model_dir = tmp_path / "model"
    rc = main(["train", "--a", str(demo_clip), "--b", str(cameraman_clip), "--out", str(model_dir), "--steps", "6",
               "--size", str(SIZE), "--width", "8", "--latent-dim", "32", "--batch-size", "4", "--frames", "6",
               "--log-every", "3", "--device", "cpu"])
    assert rc == 0
    assert {p.name for p in model_dir.iterdir()} >= {"model.pt", "config.json", "preview.png"}
    assert "step 6/6" in capsys.readouterr().out

    out = tmp_path / "swapped.mp4"
    rc = main(["swap", "--model", str(model_dir), "--video", str(demo_clip), "--out", str(out), "--max-frames", "5",
               "--device", "cpu"])
    assert rc == 0
    assert "5 faces swapped in 5 of 5 frames" in capsys.readouterr().out
    info, frames = read_frames(out, sampling=SamplingSpec(fps=25))
    assert (info.width, info.height, len(frames)) == (640, 360, 5)

    assert main(["swap", "--model", str(tmp_path / "nope"), "--video", str(demo_clip), "--out", str(out)]) == 3
