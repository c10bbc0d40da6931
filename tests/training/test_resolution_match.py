"""Resolution matching removes the detail a smaller source face could not hold, and nothing else."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from training.resolution_match import ResolutionMatch, resample_as_face_of


def sharpness(img: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var())


@pytest.fixture(scope="module")
def crop(astronaut: np.ndarray) -> np.ndarray:
    # A sharp 128 px crop of a large face: what FFHQ and the StyleGAN fakes give.
    return cv2.resize(astronaut[30:290, 150:410], (128, 128), interpolation=cv2.INTER_AREA)


def test_large_face_loses_detail_in_proportion(crop):
    s0 = sharpness(crop)
    s300 = sharpness(resample_as_face_of(crop, 560.0, 300.0))
    s100 = sharpness(resample_as_face_of(crop, 560.0, 100.0))
    assert s0 > s300 > s100 and s100 < 0.35 * s0
    out = resample_as_face_of(crop, 560.0, 100.0)
    assert out.shape == crop.shape and out.dtype == np.uint8
    # Colour and layout are kept: only detail goes.
    assert abs(float(out.mean()) - float(crop.mean())) < 2.0


def test_face_not_larger_than_target_is_untouched(crop):
    assert resample_as_face_of(crop, 96.0, 96.0) is crop
    assert resample_as_face_of(crop, 80.0, 300.0) is crop


def test_both_classes_end_up_alike():
    # A sharp large-face crop and a soft small-face crop of the same content, as in the training data.
    rng = np.random.default_rng(0)
    base = (rng.random((512, 512, 3)) * 255).astype(np.uint8)
    base = cv2.GaussianBlur(base, (0, 0), 2.0)
    large = cv2.resize(base, (128, 128), interpolation=cv2.INTER_AREA)  # face 560 px in its source
    small = cv2.resize(cv2.resize(base, (96, 96), interpolation=cv2.INTER_AREA), (128, 128))  # face 96 px
    match = ResolutionMatch(p=1.0, face_px=(64.0, 96.0))
    gap_before = abs(sharpness(large) - sharpness(small))
    matched_large = match(large, 560.0, np.random.default_rng(1))
    matched_small = match(small, 96.0, np.random.default_rng(1))
    assert abs(sharpness(matched_large) - sharpness(matched_small)) < 0.5 * gap_before


def test_off_by_default_and_seeded():
    crop = np.full((32, 32, 3), 7, np.uint8)
    assert ResolutionMatch()(crop, 1000.0, np.random.default_rng(0)) is crop
    m = ResolutionMatch(p=0.5)
    a = [m(crop, 1000.0, np.random.default_rng(s)) is crop for s in range(40)]
    b = [m(crop, 1000.0, np.random.default_rng(s)) is crop for s in range(40)]
    assert a == b and 5 < sum(a) < 35
    with pytest.raises(ValueError):
        ResolutionMatch(p=1.5)
    with pytest.raises(ValueError):
        ResolutionMatch(face_px=(100.0, 50.0))


def test_training_dataset_matches_by_each_face_size(tmp_path, crop):
    from training.crops import CachedFaces
    from training.data.items import MediaItem
    from training.dataset import FaceCropDataset

    def faces(name: str, label: int, size: float) -> CachedFaces:
        item = MediaItem(tmp_path / name, label, name, "gan" if label else "none", "src", "image")
        return CachedFaces(item=item, crops=crop[None], landmarks=np.zeros((1, 5, 2), np.float32),
                           track_ids=np.zeros(1, np.int64), timestamps=np.zeros(1), scores=np.ones(1),
                           sizes=np.array([size], np.float32))

    items = [faces("large.jpg", 1, 560.0), faces("small.jpg", 1, 60.0)]
    plain = FaceCropDataset(items, size=128, sbi=False)
    matched = FaceCropDataset(items, size=128, sbi=False, resolution_match=ResolutionMatch(p=1.0))
    assert np.array_equal(plain.image(0), crop) and np.array_equal(plain.image(1), crop)
    assert sharpness(matched.image(0)) < 0.8 * sharpness(crop)  # 560 px face re-sampled to 64-320 px
    assert np.array_equal(matched.image(1), crop)  # a 60 px face is below every target: untouched
    assert np.array_equal(matched.image(0), matched.image(0))  # deterministic per seed, epoch and index
