"""Occlusion sensitivity (``occlusion_map``): one batched classifier call, the per-patch logit drops and the heat
map interpolated between patch centres; ``overlay_heatmap`` paints only what pushes towards "fake". A stand-in
model with a known answer, plus the bundled classifier on the astronaut's face."""

from __future__ import annotations

import numpy as np
import pytest

from detector import Detector
from detector.outputs.occlusion import GREY, occlusion_map, overlay_heatmap, patch_positions, upsample_grid

SIZE = 128


class RegionModel:
    """A stand-in classifier whose fake logit is the mean brightness of one region (top-right 32 x 32)
    minus that of another (bottom-left), so hiding the first lowers the score and hiding the second raises it."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def logits(self, crops: np.ndarray) -> np.ndarray:
        self.calls.append(len(crops))
        x = np.asarray(crops, np.float64) / 255.0
        return x[:, 0:32, 96:128].mean(axis=(1, 2, 3)) - x[:, 96:128, 0:32].mean(axis=(1, 2, 3))


def bright_crop() -> np.ndarray:
    crop = np.full((SIZE, SIZE, 3), 60, np.uint8)
    crop[0:32, 96:128] = 250  # drives "fake"
    crop[96:128, 0:32] = 250  # drives "real"
    return crop


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector.load()


@pytest.fixture(scope="module")
def astronaut_result(detector, astronaut):
    result = detector.scan_image(astronaut, name="astronaut.png", evidence=2)
    assert len(result.evidence) == 1  # one face in the photo
    return result


class Recorder:
    """Keeps the crops it was given; its logit is a constant, so hiding anything changes nothing."""

    def __init__(self, value: float = 0.25) -> None:
        self.value = value
        self.batches: list[np.ndarray] = []

    def logits(self, crops: np.ndarray) -> np.ndarray:
        self.batches.append(np.array(crops))
        return np.full(len(crops), self.value)


def test_patch_positions_cover_the_crop():
    assert patch_positions(128, 32, 16) == [0, 16, 32, 48, 64, 80, 96]
    assert patch_positions(100, 25, 12) == [0, 12, 24, 36, 48, 60, 72, 75]  # last one pinned to the edge
    with pytest.raises(ValueError):
        patch_positions(10, 11, 1)


def test_heat_is_where_hiding_changes_the_score():
    model = RegionModel()
    occ = occlusion_map(model, bright_crop())
    assert model.calls == [1 + 7 * 7]  # one batched call: the crop plus a 7 x 7 grid of occluded copies
    assert (occ.patch_px, occ.stride_px) == (32, 16)
    assert occ.heat.shape == (SIZE, SIZE) and occ.heat.dtype == np.float32
    assert occ.grid.shape == (7, 7) and occ.grid.dtype == np.float32
    assert occ.base_logit == pytest.approx(0.0)
    # Hiding the top-right square lowers the fake logit: hot there, cold where the "real" square is.
    assert occ.grid[0, 6] == pytest.approx((250 - 128) / 255)
    assert occ.grid[6, 0] == pytest.approx(-(250 - 128) / 255)
    assert occ.heat[8, 120] > 0.3 and occ.heat[120, 8] < -0.3
    assert abs(occ.heat[64, 64]) < 1e-6 and abs(occ.heat[8, 8]) < 1e-6  # hiding uniform grey-ish areas: no effect
    y, x = np.unravel_index(np.argmax(occ.heat), occ.heat.shape)
    assert y < 32 and x >= 96
    assert occ.peak == pytest.approx(float(occ.grid.max()))


def test_patch_and_stride_follow_the_crop_size():
    model = RegionModel()
    occ = occlusion_map(model, bright_crop(), patch=0.5, stride=0.25)
    assert (occ.patch_px, occ.stride_px) == (64, 32) and occ.grid.shape == (3, 3)
    assert model.calls == [10] and occ.heat.shape == (SIZE, SIZE)
    with pytest.raises(ValueError):
        occlusion_map(model, np.zeros((64, 48, 3), np.uint8))
    with pytest.raises(ValueError):
        occlusion_map(model, np.zeros((64, 64, 3), np.float32))


def test_upsampling_is_exact_between_patch_centres():
    centres = np.array([16.0, 48.0, 80.0, 112.0])
    flat = upsample_grid(np.full((4, 4), 0.7), centres, 128)
    assert np.allclose(flat, 0.7)
    ramp = upsample_grid(np.tile(np.array([0.0, 1.0, 2.0, 3.0]), (4, 1)), centres, 128)
    # Pixel 47's centre (47.5 px) sits half a pixel left of the centre at 48; pixel 63 is halfway to 80.
    assert np.allclose(ramp[:, 47], 1.0 - 0.5 / 32) and np.allclose(ramp[:, 63], 1.0 + 15.5 / 32)
    assert np.allclose(ramp[0], ramp[-1])  # no change along y
    assert ramp[0, 0] == 0.0 and ramp[0, -1] == 3.0  # flat beyond the outer centres


def test_bundled_model_map_is_not_flat_and_deterministic(detector, astronaut_result):
    crop = astronaut_result.evidence[0].crop
    first = occlusion_map(detector.classifier, crop)
    second = occlusion_map(detector.classifier, crop)
    assert np.array_equal(first.heat, second.heat) and np.array_equal(first.grid, second.grid)
    assert first.base_logit == pytest.approx(float(detector.classifier.logits(crop[None])[0]), abs=1e-5)
    assert first.grid.std() > 0.01 and np.ptp(first.heat) > 0.05
    assert np.isfinite(first.heat).all()


def test_overlay_colours_only_where_the_score_is_driven():
    crop = bright_crop()
    heat = np.zeros((SIZE, SIZE), np.float32)
    assert np.array_equal(overlay_heatmap(crop, heat), crop)  # nothing drives "fake": the face as it is
    heat[:32, :32] = 2.0
    heat[64:, 64:] = -5.0  # negative: pushes towards "real", not painted
    out = overlay_heatmap(crop, heat)
    assert out.shape == crop.shape and out.dtype == np.uint8
    assert np.abs(out[:32, :32].astype(int) - crop[:32, :32]).mean() > 20
    assert np.array_equal(out[32:], crop[32:])
    half = overlay_heatmap(crop, heat, scale=4.0)  # a shared scale: this map is only half as strong
    assert 0 < np.abs(half[:32, :32].astype(int) - crop[:32, :32]).mean() < np.abs(out[:32, :32].astype(int)
                                                                                    - crop[:32, :32]).mean()
    with pytest.raises(ValueError):
        overlay_heatmap(crop, heat[:10])


def test_the_crop_first_then_one_patch_at_a_time_row_by_row():
    model = Recorder()
    crop = bright_crop()
    occlusion_map(model, crop, fill=7)
    [batch] = model.batches
    assert batch.shape == (50, SIZE, SIZE, 3)
    assert np.array_equal(batch[0], crop)
    for i, (y, x) in enumerate([(0, 0), (0, 16), (0, 96), (16, 0), (96, 96)]):
        k = 1 + (y // 16) * 7 + x // 16
        hidden = np.zeros((SIZE, SIZE), bool)
        hidden[y:y + 32, x:x + 32] = True
        assert (batch[k][hidden] == 7).all(), i
        assert np.array_equal(batch[k][~hidden], crop[~hidden]), i
    assert np.array_equal(crop, bright_crop())  # the caller's crop is not painted on


def test_no_change_no_heat():
    model = Recorder(0.25)
    occ = occlusion_map(model, bright_crop())
    assert occ.base_logit == 0.25 and not occ.grid.any() and not occ.heat.any() and occ.peak == 0.0
    assert (model.batches[0][1, :32, :32] == GREY).all()  # the default patch: neutral grey


def test_peak_ignores_patches_that_raise_the_score():
    """Every grey patch darkens a white crop, and darker means "more fake" to this model: no patch lowers the
    score, so the peak is 0, not the smallest rise."""
    class DarkIsFake:
        def logits(self, crops):
            return -np.asarray(crops, np.float64).mean(axis=(1, 2, 3)) / 255.0

    occ = occlusion_map(DarkIsFake(), np.full((SIZE, SIZE, 3), 250, np.uint8))
    assert occ.grid.max() < 0 and occ.peak == 0.0
