"""The DCGAN face synthesiser: data loading, a tiny training run, sampling, save/load and the CLI.

Everything runs on the CPU at 32 px with 16 base channels and batch 8, so a full run of this file takes a few
seconds; it checks mechanics (finite losses, moving weights, determinism), not image quality.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math

import cv2
import numpy as np
import pytest
import torch

from detector.errors import ConfigError
from training.synth.gan import (
    Discriminator,
    GANConfig,
    Generator,
    build_models,
    load_crops,
    load_generator,
    main,
    sample,
    save_generator,
    train_gan,
)

SIZE = 32
CONFIG = GANConfig(size=SIZE, base_channels=16, batch_size=8, steps=40, seed=0, device="cpu")
LOG_EVERY = 10


def _write_rgb(path, rgb: np.ndarray):
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture(scope="module")
def clip_crops(demo_clip) -> np.ndarray:
    return load_crops([demo_clip], size=SIZE)


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory, astronaut, cameraman):
    d = tmp_path_factory.mktemp("gan_photos")
    _write_rgb(d / "astronaut.png", astronaut)
    _write_rgb(d / "cameraman.jpg", cameraman)
    (d / "broken.mp4").write_text("not a video")
    return d


@pytest.fixture(scope="module")
def crops(clip_crops, photo_dir) -> np.ndarray:
    """A few dozen real crops: the clip's faces, plus shifted/brightened copies of the two photos' faces."""
    photos = load_crops([photo_dir / "astronaut.png", photo_dir / "cameraman.jpg"], size=SIZE)
    rng = np.random.default_rng(0)
    augmented = []
    for crop in photos:
        for _ in range(8):
            dx, dy = rng.integers(-2, 3, 2)
            shifted = np.roll(crop, (int(dy), int(dx)), axis=(0, 1)).astype(np.int16)
            augmented.append(np.clip(shifted + rng.integers(-20, 21), 0, 255).astype(np.uint8))
    return np.concatenate([clip_crops, photos, np.stack(augmented)])


@pytest.fixture(scope="module")
def trained(crops):
    return train_gan(crops, CONFIG, log_every=LOG_EVERY)


# -- data ---------------------------------------------------------------------------------------------------


def test_load_crops_from_the_demo_clip(clip_crops):
    assert clip_crops.ndim == 4 and clip_crops.shape[1:] == (SIZE, SIZE, 3) and len(clip_crops) > 0
    assert clip_crops.dtype == np.uint8
    assert clip_crops.std() > 10  # real image content, not empty frames
    assert load_crops([], size=SIZE).shape == (0, SIZE, SIZE, 3)


def test_load_crops_from_photos_skips_unreadable_files_and_honours_limit(photo_dir, caplog):
    paths = [photo_dir / "broken.mp4", photo_dir / "astronaut.png", photo_dir / "cameraman.jpg"]
    with caplog.at_level(logging.WARNING, logger="training.synth.gan"):
        got = load_crops(paths, size=SIZE)
    assert got.shape == (2, SIZE, SIZE, 3) and got.dtype == np.uint8
    assert any("broken.mp4" in r.getMessage() and "unsupported_media" in r.getMessage() for r in caplog.records)
    assert load_crops(paths, size=SIZE, limit=1).shape == (1, SIZE, SIZE, 3)


def test_load_crops_from_a_folder_of_aligned_crops(tmp_path, clip_crops):
    for i, crop in enumerate(clip_crops[:3]):
        _write_rgb(tmp_path / f"crop_{i}.png", crop)
    _write_rgb(tmp_path / "big.png", cv2.resize(clip_crops[0], (96, 96), interpolation=cv2.INTER_CUBIC))
    (tmp_path / "notes.txt").write_text("ignored: not an image extension")
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG but not really")
    got = load_crops([tmp_path], size=SIZE)
    assert got.shape == (4, SIZE, SIZE, 3) and got.dtype == np.uint8
    np.testing.assert_array_equal(got[1:], clip_crops[:3])  # sorted names: big.png first; PNG is lossless, RGB kept
    assert np.abs(got[0].astype(int) - clip_crops[0]).mean() < 8  # the 96 px copy shrunk back to 32 px
    assert load_crops([tmp_path], size=SIZE, limit=2).shape == (2, SIZE, SIZE, 3)


# -- architecture and config ----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [32, 64])
def test_depth_follows_the_image_size(size):
    config = GANConfig(size=size, base_channels=8)
    g, d = build_models(config)
    assert isinstance(g, Generator) and isinstance(d, Discriminator)
    assert g(torch.randn(2, config.latent_dim)).shape == (2, 3, size, size)
    assert d(torch.zeros(2, 3, size, size)).shape == (2,)
    ups = [m for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert len(ups) == int(math.log2(size)) - 1  # 1 -> 4 px, then doubling up to size
    assert [m.out_channels for m in ups] == [8 * 2 ** k for k in range(len(ups) - 2, -1, -1)] + [3]
    assert isinstance(g.net[-1], torch.nn.Tanh)
    # DCGAN: no BatchNorm on the generator output or the discriminator input.
    assert isinstance(d.net[1], torch.nn.LeakyReLU) and d.net[1].negative_slope == 0.2
    assert not isinstance(g.net[-2], torch.nn.BatchNorm2d)


def test_dcgan_init_and_seeding_leave_the_global_rng_alone():
    state = torch.get_rng_state()
    g1, d1 = build_models(CONFIG)
    g2, _ = build_models(CONFIG)
    assert torch.equal(torch.get_rng_state(), state)
    for (_, a), (_, b) in zip(g1.state_dict().items(), g2.state_dict().items()):
        assert torch.equal(a, b)
    conv_w = torch.cat([m.weight.detach().flatten() for m in d1.modules() if isinstance(m, torch.nn.Conv2d)])
    assert abs(float(conv_w.mean())) < 0.005 and 0.015 < float(conv_w.std()) < 0.025  # N(0, 0.02)


@pytest.mark.parametrize("kwargs", [{"size": 48}, {"size": 8}, {"size": 256}, {"batch_size": 1},
                                    {"lr": 0.0}, {"betas": (0.5, 1.0)}, {"device": "tpu"}])
def test_bad_configs_are_refused(kwargs):
    with pytest.raises(ConfigError):
        GANConfig(**kwargs)


def test_config_json_round_trip():
    assert GANConfig.from_dict(json.loads(json.dumps(CONFIG.to_dict()))) == CONFIG
    with pytest.raises(ConfigError, match="unknown"):
        GANConfig.from_dict({"size": 32, "learning_rate": 1e-3})


def test_train_refuses_crops_of_the_wrong_shape(crops):
    with pytest.raises(ConfigError):
        train_gan(crops, dataclasses.replace(CONFIG, size=64))
    with pytest.raises(ConfigError):
        train_gan(crops[:0], CONFIG)


# -- training -------------------------------------------------------------------------------------------------


def test_history_is_finite_at_every_logged_step(trained):
    _, _, history = trained
    assert [h.step for h in history] == list(range(LOG_EVERY, CONFIG.steps + 1, LOG_EVERY))
    for h in history:
        values = (h.d_loss, h.g_loss, h.d_real, h.d_fake)
        assert all(math.isfinite(v) for v in values), h
        assert h.d_loss > 0 and h.g_loss > 0 and 0 < h.d_real < 1 and 0 < h.d_fake < 1


def test_both_networks_learn(trained):
    g, d, _ = trained
    g0, d0 = build_models(CONFIG)  # the exact starting weights (init depends on the seed only)
    for trained_net, initial in ((g, g0), (d, d0)):
        before = dict(initial.named_parameters())
        for name, p in trained_net.named_parameters():
            assert not torch.equal(p.detach().cpu(), before[name].detach()), f"{type(trained_net).__name__}.{name}"
    assert all(p.requires_grad for p in d.parameters())  # D is frozen during G's steps, and handed back trainable


def test_training_is_reproducible(crops):
    config = dataclasses.replace(CONFIG, steps=6)
    g1, _, h1 = train_gan(crops, config, log_every=3)
    g2, _, h2 = train_gan(crops, config, log_every=3)
    assert h1 == h2
    np.testing.assert_array_equal(sample(g1, 4, seed=0), sample(g2, 4, seed=0))
    _, _, h3 = train_gan(crops, dataclasses.replace(config, seed=1), log_every=3)
    assert h3 != h1
    assert [h.step for h in train_gan(crops, dataclasses.replace(config, steps=7), log_every=3)[2]] == [3, 6, 7]


# -- sampling, save/load ------------------------------------------------------------------------------------


def test_samples_have_the_right_shape_and_vary(trained):
    g, _, _ = trained
    images = sample(g, 16, seed=1)
    assert images.shape == (16, SIZE, SIZE, 3) and images.dtype == np.uint8
    assert images.astype(np.float64).std(axis=0).mean() > 1.0  # pixels differ across the batch
    assert len({im.tobytes() for im in images}) == 16  # no two samples identical
    assert all(im.std() > 0 for im in images)  # no flat images
    assert sample(g, 0, seed=1).shape == (0, SIZE, SIZE, 3)


def test_sampling_is_deterministic_for_a_seed(trained):
    g, _, _ = trained
    a = sample(g, 8, seed=5)
    np.testing.assert_array_equal(a, sample(g, 8, seed=5))
    assert not np.array_equal(a, sample(g, 8, seed=6))
    g.train()  # the caller's mode is restored, and train mode does not leak into the samples
    np.testing.assert_array_equal(a, sample(g, 8, seed=5))
    assert g.training
    g.eval()


def test_upscaled_samples(trained):
    g, _, _ = trained
    small = sample(g, 3, seed=2)
    big = sample(g, 3, seed=2, upscale_to=64)
    assert big.shape == (3, 64, 64, 3) and big.dtype == np.uint8
    np.testing.assert_array_equal(big[0], cv2.resize(small[0], (64, 64), interpolation=cv2.INTER_CUBIC))


def test_save_load_round_trip_reproduces_samples(trained, tmp_path):
    g, _, history = trained
    save_generator(g, tmp_path / "model", history)
    loaded = load_generator(tmp_path / "model")
    assert isinstance(loaded, Generator) and not loaded.training
    assert loaded.config == CONFIG
    np.testing.assert_array_equal(sample(loaded, 12, seed=7), sample(g, 12, seed=7))
    meta = json.loads((tmp_path / "model" / "config.json").read_text())
    assert len(meta["history"]) == len(history)
    with pytest.raises(ConfigError):
        load_generator(tmp_path / "missing")


# -- CLI ------------------------------------------------------------------------------------------------------


def test_cli_train_then_sample(tmp_path, crops, capsys):
    crop_dir = tmp_path / "crops"
    crop_dir.mkdir()
    for i, crop in enumerate(crops):
        _write_rgb(crop_dir / f"real_{i:03d}.png", crop)
    model = tmp_path / "model"
    rc = main(["train", "--crops", str(crop_dir), "--out", str(model), "--steps", "12", "--size", str(SIZE),
               "--batch-size", "8", "--base-channels", "16", "--log-every", "4", "--device", "cpu"])
    assert rc == 0
    assert (model / "generator.pt").is_file() and (model / "config.json").is_file()
    preview = cv2.imread(str(model / "preview.png"))
    assert preview is not None and preview.shape == (8 * SIZE, 8 * SIZE, 3)
    assert f"trained on {len(crops)} crops" in capsys.readouterr().out

    out = tmp_path / "fakes"
    assert main(["sample", "--model", str(model), "--n", "5", "--out", str(out), "--seed", "3", "--device", "cpu"]) == 0
    files = sorted(out.glob("*.png"))
    assert [f.name for f in files] == [f"fake_gan_s3_{i:05d}.png" for i in range(5)]
    written = np.stack([cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB) for f in files])
    np.testing.assert_array_equal(written, sample(load_generator(model), 5, seed=3))

    big = tmp_path / "big"
    assert main(["sample", "--model", str(model), "--n", "2", "--out", str(big), "--upscale-to", "64",
                 "--device", "cpu"]) == 0
    assert all(cv2.imread(str(f)).shape == (64, 64, 3) for f in big.glob("*.png"))


def test_cli_train_without_faces_fails_cleanly(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["train", "--crops", str(tmp_path / "empty"), "--out", str(tmp_path / "m"), "--size", "32"]) == 3
    assert "no face crops" in capsys.readouterr().out
    assert not (tmp_path / "m").exists()
