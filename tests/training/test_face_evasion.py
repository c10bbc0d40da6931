"""Face-detector evasion (``deepfake face-evasion``): noise that makes the face stage miss the face, on the bundled
model's face stage and scikit-image's astronaut photo."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from detector.api import Detector
from detector.media import Frame
from training.data import MediaItem
from training.robustness.face_evasion import (
    ItemResult,
    Noise,
    Trial,
    face_boxes,
    frames_keeping,
    iou,
    noise_settings,
    psnr,
    run,
    smallest_hiding_level,
    summarize,
    wilson_interval,
)

ASTRONAUT_FACE = (181, 62, 268, 172)  # where the face stage finds her face (x1, y1, x2, y2), within a pixel or two


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector.load()  # the bundled default model: its card's recipe sets the face stage


@pytest.fixture(scope="module")
def photo(astronaut) -> np.ndarray:
    return np.ascontiguousarray(astronaut)


@pytest.fixture
def item(tmp_path, photo) -> MediaItem:
    path = tmp_path / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    return MediaItem(path, 1, "a", "swap", "t", "image")


def test_clean_detection_finds_the_face(detector, photo):
    boxes = face_boxes(detector, [Frame(0, 0.0, photo)])
    assert list(boxes) == [0] and len(boxes[0]) == 1
    assert iou(boxes[0], np.array([ASTRONAUT_FACE]))[0, 0] > 0.9
    assert face_boxes(detector, [Frame(0, 0.0, np.full_like(photo, 90))]) == {}  # flat grey: no face


def test_sign_noise_is_seeded_bounded_and_shares_its_pattern_across_levels(photo):
    noisy = Noise("sign", 8).apply(photo, (0, 3, 1))
    assert np.array_equal(noisy, Noise("sign", 8).apply(photo, (0, 3, 1)))  # same seed, same noise
    assert not np.array_equal(noisy, Noise("sign", 8).apply(photo, (1, 3, 1)))
    delta = noisy.astype(int) - photo.astype(int)
    assert np.abs(delta).max() <= 8
    inside = (photo >= 8) & (photo <= 247)  # where clipping cannot bite, every value moves by exactly eps
    assert set(np.unique(np.abs(delta[inside]))) == {8}
    assert 0.45 < (delta[inside] > 0).mean() < 0.55  # random signs
    # Levels share the pattern: eps 4 moves every value the same way eps 8 does.
    grey = np.full((64, 64, 3), 128, np.uint8)
    d4 = Noise("sign", 4).apply(grey, 5).astype(int) - 128
    d8 = Noise("sign", 8).apply(grey, 5).astype(int) - 128
    assert np.array_equal(np.sign(d4), np.sign(d8)) and np.abs(d4).max() == 4
    # uint8 frames: a fractional budget is taken in whole levels, rounded down, so the bound holds.
    assert np.abs(Noise("sign", 2.7).apply(grey, 5).astype(int) - 128).max() == 2
    assert np.array_equal(Noise("sign", 0).apply(photo, 1), photo)


def test_gaussian_noise_is_seeded_with_the_stated_sigma():
    grey = np.full((128, 128, 3), 128, np.uint8)
    a, b = Noise("gaussian", 16).apply(grey, (2, 0, 0)), Noise("gaussian", 16).apply(grey, (2, 0, 0))
    assert np.array_equal(a, b)
    assert (a.astype(float) - 128).std() == pytest.approx(16, rel=0.05)
    # The sign and Gaussian kinds draw different patterns from the same seed.
    signs = np.sign(Noise("sign", 16).apply(grey, (2, 0, 0)).astype(int) - 128)
    assert (signs == np.sign(a.astype(int) - 128)).mean() < 0.9
    assert psnr(grey, a) == pytest.approx(20 * np.log10(255 / 16), abs=0.3)
    assert psnr(grey, grey) == float("inf")


def test_noise_settings_and_their_checks():
    settings = noise_settings((8, 2), (16,))
    assert [s.name for s in settings] == ["sign-2", "sign-8", "gaussian-16"]
    with pytest.raises(ValueError):
        Noise("salt", 1)
    with pytest.raises(ValueError):
        Noise("sign", -1)


def test_no_noise_loses_nothing(detector, item):
    report = run(detector, [item], [Noise("sign", 0), Noise("gaussian", 0)])
    assert len(report.with_face) == 1
    for row in report.settings:
        assert row.items.n == 1 and row.items.lost == 0 and row.items.missed == 0
        assert row.frame_detection_rate == 1.0 and row.psnr_db is None
    assert report.noise_to_hide["sign"]["all"] is None


def test_huge_noise_loses_the_face_and_counts_it_as_an_evasion(detector, item):
    report = run(detector, [item], [Noise("sign", 2), Noise("sign", 255)], seed=1)
    mild, huge = report.settings
    assert mild.items.lost == 0  # +-2 levels: the face is still found
    assert huge.items.n == 1 and huge.items.lost == 1 and huge.items.missed == 1
    assert huge.items.rate == 1.0 and huge.frame_detection_rate == 0.0
    assert huge.by_label["fake"].lost == 1 and huge.by_label["real"].n == 0
    assert report.noise_to_hide["sign"] == {"all": 255.0, "fake": 255.0, "real": None}
    assert report.items[0].to_dict()["lost"] == ["sign-255"]
    # The item is lost exactly when the scan of those noisy frames says no_face.
    noisy = Noise("sign", 255).apply(cv2.cvtColor(cv2.imread(str(item.path)), cv2.COLOR_BGR2RGB), (1, 0, 0))
    assert detector.scan_frames([noisy], media="image").verdict == "no_face"


def test_items_without_a_clean_face_are_left_out(detector, tmp_path, item):
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((200, 300, 3), 60, np.uint8))
    missing = tmp_path / "missing.png"
    items = [item, MediaItem(blank, 0, "b", "none", "t", "image"), MediaItem(missing, 0, "m", "none", "t", "image")]
    report = run(detector, items, [Noise("sign", 0)])
    out = report.to_dict()
    assert (out["n_items"], out["n_with_face"], out["n_no_face_clean"], out["n_errors"]) == (3, 1, 1, 1)
    assert report.settings[0].items.n == 1
    assert out["per_item"][2]["error"] == "not_found"


def test_an_unexpected_failure_is_that_items_error_not_the_end_of_the_run(detector, item, monkeypatch):
    import training.robustness.face_evasion as fe

    calls = {"n": 0}
    real_face_boxes = fe.face_boxes

    def flaky(det, frames):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the face stage broke on this item")
        return real_face_boxes(det, frames)

    monkeypatch.setattr(fe, "face_boxes", flaky)
    out = run(detector, [item, item], [Noise("sign", 0)]).to_dict()
    assert out["per_item"][0]["error"] == "internal_error" and out["per_item"][1]["error"] is None
    assert out["n_errors"] == 1 and out["n_with_face"] == 1


def test_a_face_made_up_by_the_noise_is_not_the_original():
    clean = {0: np.array([[100.0, 100, 200, 200]]), 1: np.array([[100.0, 100, 200, 200]])}
    noisy = {0: np.array([[105.0, 102, 204, 198]]), 1: np.array([[370.0, 430, 390, 460]])}
    assert frames_keeping(clean, noisy) == 1  # frame 1's face is somewhere else
    assert frames_keeping(clean, {}) == 0
    assert iou(np.array([[0, 0, 10, 10]]), np.array([[5, 0, 15, 10], [20, 20, 30, 30]])) == pytest.approx(
        np.array([[1 / 3, 0.0]]))
    made_up = Trial(frames_with_face=1, frames_with_original=0, psnr_db=5.0)
    assert not made_up.lost and made_up.missed


def test_wilson_interval_known_cases():
    lo, hi = wilson_interval(5, 10)
    assert (lo, hi) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 1.959964 ** 2 / (10 + 1.959964 ** 2)))  # 0.2775
    assert wilson_interval(10, 10) == pytest.approx((1 - 0.27755, 1.0), abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def test_smallest_level_hiding_half_the_faces():
    settings = noise_settings((2, 4, 8), ())

    def result(label, lost_from):  # loses its face from level ``lost_from`` up
        trials = {s.name: Trial(int(s.level < lost_from), int(s.level < lost_from), 30.0) for s in settings}
        return ItemResult(f"/x{label}{lost_from}", label, "image", 1, 1, trials)

    report = summarize([result(1, 4), result(1, 8), result(0, 8), result(0, 99)], settings)
    assert [r.items.lost for r in report.settings] == [0, 1, 3]
    assert report.noise_to_hide["sign"] == {"all": 8.0, "fake": 4.0, "real": 8.0}
    assert "gaussian" not in report.noise_to_hide
    assert smallest_hiding_level(report.settings, "sign", rate=0.25) == 4.0
    assert smallest_hiding_level(report.settings, "sign", rate=1.0) is None
    assert report.settings[1].items.ci95 == pytest.approx(wilson_interval(1, 4))


def test_cli_end_to_end_on_a_folder_dataset(tmp_path, photo, capsys):
    from training.robustness.face_evasion_cli import main

    data = tmp_path / "data"
    for label in ("real", "fake"):
        (data / label).mkdir(parents=True)
    cv2.imwrite(str(data / "real" / "astronaut.png"), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    crop = np.ascontiguousarray(photo[0:320, 80:400])
    cv2.imwrite(str(data / "fake" / "crop.png"), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
    out = tmp_path / "out"
    assert main(["--data", str(data), "--eps", "0", "255", "--sigma", "8", "--seed", "1", "--out", str(out)]) == 0
    result = json.loads((out / "face_evasion.json").read_text())
    assert {"model", "seed", "eps", "sigma", "detection", "sampling", "n_items", "n_with_face", "n_no_face_clean",
            "n_with_face_by_label", "clean_frame_detection_rate", "noise_to_hide", "settings", "per_item"} <= set(result)
    assert result["n_items"] == 2 and result["n_with_face"] == 2
    assert result["n_with_face_by_label"] == {"real": 1, "fake": 1}
    assert [r["setting"] for r in result["settings"]] == ["sign-0", "sign-255", "gaussian-8"]
    row = result["settings"][0]
    assert {"n", "lost", "evasion_rate", "evasion_95ci", "original_missed", "frame_detection_rate", "psnr_db",
            "by_label"} <= set(row)
    assert row["lost"] == 0 and row["evasion_95ci"] == pytest.approx(list(wilson_interval(0, 2)))
    assert result["settings"][1]["psnr_db"] < 10 and set(result["noise_to_hide"]) == {"sign", "gaussian"}
    assert (out / "face_evasion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    assert "sign-255" in printed and "noise needed to hide the face" in printed
    # --limit spreads the chosen items over the set; --no-plot skips the PNG.
    assert main(["--data", str(data), "--eps", "4", "--sigma", "--limit", "1", "--no-plot", "--out",
                 str(tmp_path / "o2")]) == 0
    limited = json.loads((tmp_path / "o2" / "face_evasion.json").read_text())
    assert limited["n_items"] == 1 and [r["setting"] for r in limited["settings"]] == ["sign-4"]
    assert not (tmp_path / "o2" / "face_evasion.png").exists()
    # --render draws the PNG from the JSON alone (no --data, nothing probed).
    assert main(["--render", str(tmp_path / "o2")]) == 0
    assert (tmp_path / "o2" / "face_evasion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(SystemExit):
        main(["--eps", "4"])  # without --render, --data and --out are required


def test_the_command_is_registered(capsys):
    from pipelines.cli import DELEGATED, main

    assert "face-evasion" in DELEGATED
    assert main(["face-evasion", "--help"]) == 0
    assert "deepfake face-evasion" in capsys.readouterr().out
    assert main(["--help"]) == 0
    assert "face-evasion" in capsys.readouterr().out
