"""The robustness harness: DeeperForensics' parameters, what each perturbation does to a frame, and the harness
end to end on fixtures (a random-weights model: behaviour, not the shipped model's quality)."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest

from detector.api import Detector, ScanConfig
from detector.media import open_media
from training.data import MediaItem
from training.robustness import DEEPERFORENSICS, Perturbation, all_perturbations, run, scan_perturbed, summary
from training.robustness.harness import reencode

pytest.importorskip("sklearn")


def test_parameters_are_deeperforensics():
    # DeeperForensics-1.0, perturbation/add_distortion_to_video.py, get_distortion_parameter (levels 1..5).
    assert DEEPERFORENSICS == {
        "saturation": (0.4, 0.3, 0.2, 0.1, 0.0),
        "contrast": (0.85, 0.725, 0.6, 0.475, 0.35),
        "block": (16, 32, 48, 64, 80),
        "noise": (0.001, 0.002, 0.005, 0.01, 0.05),
        "blur": (7, 9, 13, 17, 21),
        "pixelation": (2, 3, 4, 5, 6),
        "video": (30, 32, 35, 38, 40),
    }
    assert Perturbation("blur", 3).param == 13 and Perturbation("video", 5).param == 40
    assert len(all_perturbations(tuple(DEEPERFORENSICS))) == 35
    assert [p.name for p in all_perturbations(("jpeg", "grey"), (1, 4))] == ["jpeg-1", "jpeg-4", "grey-1"]
    with pytest.raises(ValueError):
        Perturbation("blur", 6)
    with pytest.raises(ValueError):
        Perturbation("sharpen", 1)


@pytest.fixture(scope="module")
def photo(astronaut):
    return np.ascontiguousarray(astronaut)


def test_saturation_zero_is_grey_and_contrast_scales(photo):
    grey = Perturbation("saturation", 5).apply(photo)
    assert np.abs(grey.astype(int) - grey[..., :1].astype(int)).max() <= 1  # R = G = B
    mild = Perturbation("saturation", 1).apply(photo)  # chroma x0.4: still coloured, less so
    spread = lambda im: np.abs(im.astype(int) - im.mean(axis=2, keepdims=True)).mean()
    assert 0 < spread(mild) < spread(photo)
    low = Perturbation("contrast", 5).apply(photo)
    assert low.mean() == pytest.approx(photo.mean() * 0.35, abs=1.0)


def test_blocks_follow_the_frame_size():
    black = np.zeros((512, 700, 3), np.uint8)
    out = Perturbation("block", 1).apply(black, seed=3)
    grey = (out == 128).all(axis=2)
    # 512 // 256 * 16 = 32 blocks of 8x8 (they may overlap).
    assert 8 * 8 <= grey.sum() <= 32 * 64 and grey.any()
    assert not (Perturbation("block", 5).apply(np.zeros((255, 400, 3), np.uint8)) == 128).any()


def test_noise_has_the_stated_variance_and_is_seeded():
    flat = np.full((256, 256, 3), 128, np.uint8)
    out = Perturbation("noise", 5).apply(flat, seed=1)  # variance 0.05 on the unit scale
    luma = cv2.cvtColor(out, cv2.COLOR_RGB2YCrCb)[..., 0].astype(np.float64) / 255.0
    assert luma.var() == pytest.approx(0.05, rel=0.25)  # clipping at 0/255 trims a little
    assert np.array_equal(out, Perturbation("noise", 5).apply(flat, seed=1))
    assert not np.array_equal(out, Perturbation("noise", 5).apply(flat, seed=2))


def test_blur_pixelation_jpeg_remove_detail(photo):
    def detail(im):
        return cv2.Laplacian(cv2.cvtColor(im, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var()

    for kind in ("blur", "pixelation"):
        levels = [detail(Perturbation(kind, lv).apply(photo)) for lv in (1, 5)]
        assert levels[1] < levels[0] < detail(photo), kind
    assert np.array_equal(Perturbation("blur", 2).apply(photo), cv2.GaussianBlur(photo, (9, 9), 9 / 6))
    err = [np.abs(Perturbation("jpeg", lv).apply(photo).astype(int) - photo).mean() for lv in (1, 4)]
    assert 0 < err[0] < err[1]


def test_resize_grey_flip(photo):
    tall = cv2.resize(photo, (1280, 720))
    assert Perturbation("resize", 4).apply(tall).shape == (240, 427, 3)
    assert Perturbation("resize", 1).apply(photo).shape == photo.shape  # 512 lines: never enlarged
    g = Perturbation("grey", 1).apply(photo)
    assert (g[..., 0] == g[..., 1]).all() and (g[..., 1] == g[..., 2]).all()
    assert np.array_equal(Perturbation("flip", 1).apply(photo), photo[:, ::-1])
    assert np.array_equal(Perturbation("video", 1).apply(photo), photo)  # codec types act on the file


@pytest.fixture
def items(tmp_path, astronaut, demo_clip):
    photo_path = tmp_path / "photo.png"
    cv2.imwrite(str(photo_path), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    clip = tmp_path / "clip.mp4"
    shutil.copy(demo_clip, clip)
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((200, 300, 3), 60, np.uint8))
    return [MediaItem(photo_path, 0, "p", "none", "t", "image"), MediaItem(clip, 1, "c", "swap", "t", "video"),
            MediaItem(blank, 1, "b", "swap", "t", "image")]


def test_a_perturbed_scan_equals_scanning_the_perturbed_file(tmp_path, items, tiny_model, astronaut):
    detector = Detector.load(tiny_model, config=ScanConfig(frames=8))
    flipped = tmp_path / "flipped.png"
    cv2.imwrite(str(flipped), cv2.cvtColor(np.ascontiguousarray(astronaut[:, ::-1]), cv2.COLOR_RGB2BGR))
    via_harness = scan_perturbed(detector, items[0], Perturbation("flip", 1))
    via_file = detector.scan(flipped)
    assert via_harness.path == str(items[0].path)
    assert via_harness.fake_probability == pytest.approx(via_file.fake_probability, abs=1e-6)
    assert via_harness.verdict == via_file.verdict and via_harness.media == "image"


def test_reencode_keeps_every_frame_and_the_rate(tmp_path, demo_clip):
    out = reencode(demo_clip, tmp_path / "vc.mp4", crf=40)
    with open_media(demo_clip) as a, open_media(out) as b:
        assert b.frame_rate == a.frame_rate
        assert sum(1 for _ in b.every_frame()) == sum(1 for _ in a.every_frame())


def test_harness_end_to_end(tmp_path, items, tiny_model_builder):
    model = tiny_model_builder(tmp_path / "m", bias=1.0)
    detector = Detector.load(model, config=ScanConfig(frames=6))
    conditions = run(detector, items, [Perturbation("blur", 1), Perturbation("video", 1)])
    assert [c.name for c in conditions] == ["clean", "blur-1", "video-1"]
    assert conditions[0].report["n_items"] == 3 and conditions[2].report["n_items"] == 1  # video: videos only
    assert conditions[1].report["verdicts"]["no_face"] == 1  # the blank photo, whatever is done to it
    rows = summary(conditions, items)["rows"]
    assert [r["condition"] for r in rows] == ["clean", "blur-1", "video-1"]
    assert rows[0]["auc_drop"] == 0.0 or rows[0]["auc"] is None
    assert rows[1]["param"] == 7 and rows[2]["param"] == 30


def test_cli_writes_json_and_plot(tmp_path, items, tiny_model):
    from training.data import load_dataset  # noqa: F401  (the CLI reads folders through it)
    from training.robustness.cli import main

    data = tmp_path / "data"
    for label in ("real", "fake"):
        (data / label).mkdir(parents=True)
    shutil.copy(items[0].path, data / "real" / "a.png")
    shutil.copy(items[1].path, data / "fake" / "b.mp4")
    out = tmp_path / "out"
    assert main(["--model", str(tiny_model), "--data", str(data), "--types", "contrast", "--levels", "5",
                 "--out", str(out)]) == 0
    result = json.loads((out / "robustness.json").read_text())
    assert [r["condition"] for r in result["rows"]] == ["clean", "contrast-5"]
    assert (out / "robustness.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_mean_drop_needs_all_seven_types():
    from training.robustness.harness import Condition

    def rep(auc):
        return {"item_level": {"n": 4, "auc": auc}, "items": [], "threshold": 0.5, "per_manipulation": {}}

    kinds = list(DEEPERFORENSICS)
    conditions = [Condition(None, rep(0.9))] + [Condition(Perturbation(k, 3), rep(0.8)) for k in kinds]
    out = summary(conditions, [])
    # "video" compares with the clean videos (none here: no drop), the six others drop 0.1.
    assert out["mean_auc_drop_by_level"] == {} and sum(r["auc_drop"] is not None for r in out["rows"]) == 7
    out = summary(conditions[:-1] + [Condition(Perturbation("blur", 5), rep(0.7))], [])
    assert out["mean_auc_drop_by_level"] == {}  # neither level ran all seven types
