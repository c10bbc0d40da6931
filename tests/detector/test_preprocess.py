"""Classifier input preprocessing (``to_input``), the one definition training and inference share: scaling and
normalisation, channel-first layout, resizing (area averaging when shrinking, bilinear when growing), and the
crops it refuses."""

from __future__ import annotations

import numpy as np
import pytest

from detector.preprocess import IMAGENET_MEAN, IMAGENET_STD, to_input


def test_to_input_normalises_and_resizes():
    crops = np.zeros((2, 64, 64, 3), np.uint8)
    crops[1] = 255
    x = to_input(crops, size=32)
    assert x.shape == (2, 3, 32, 32) and x.dtype == np.float32
    np.testing.assert_allclose(x[0, :, 0, 0], -np.array(IMAGENET_MEAN) / np.array(IMAGENET_STD), rtol=1e-6)
    np.testing.assert_allclose(x[1, :, 0, 0], (1 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD), rtol=1e-6)
    with pytest.raises(ValueError):
        to_input(np.zeros((1, 8, 8, 3), np.float32), size=8)


def test_channels_come_first_in_rgb_order_and_values_survive():
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    mean, std = (0.1, 0.5, 0.9), (0.2, 0.3, 0.4)
    x = to_input(crops, size=16, mean=mean, std=std)
    assert x.shape == (3, 3, 16, 16) and x.flags["C_CONTIGUOUS"]
    for c in range(3):  # channel c of the input is channel c of the crop, normalised with the c-th mean/std
        np.testing.assert_allclose(x[:, c], (crops[..., c] / 255 - mean[c]) / std[c], rtol=1e-5, atol=1e-5)
    assert crops.dtype == np.uint8 and crops.shape == (3, 16, 16, 3)  # the caller's crops are left alone


def test_shrinking_averages_instead_of_sampling():
    """A crop three times too large with one-pixel stripes: area averaging gives the stripes' mean everywhere;
    sampling (nearest or bilinear at an exact 3x step) would pick stripe or gap and alias."""
    crop = np.zeros((96, 96, 3), np.uint8)
    crop[:, ::3] = 255
    x = to_input([crop], size=32, mean=(0, 0, 0), std=(1, 1, 1))
    np.testing.assert_allclose(x, 85 / 255, atol=1 / 255)


def test_growing_interpolates():
    crop = np.zeros((16, 16, 3), np.uint8)
    crop[:, 8:] = 200
    x = to_input([crop], size=64, mean=(0, 0, 0), std=(1, 1, 1))[0, 0] * 255
    row = np.round(x[0]).astype(int)
    assert row[0] == 0 and row[-1] == 200
    between = row[(row > 0) & (row < 200)]
    assert len(between) >= 2 and (np.diff(row) >= 0).all()  # a ramp across the edge, not a hard step


def test_crops_of_different_sizes_in_one_batch():
    crops = [np.full((40, 40, 3), 10, np.uint8), np.full((20, 20, 3), 20, np.uint8), np.full((30, 50, 3), 30, np.uint8)]
    x = to_input(crops, size=30, mean=(0, 0, 0), std=(1, 1, 1))
    assert x.shape == (3, 3, 30, 30)
    np.testing.assert_allclose(x[:, 0, 0, 0] * 255, [10, 20, 30], atol=1e-3)


def test_no_crops():
    x = to_input([], size=24)
    assert x.shape == (0, 3, 24, 24) and x.dtype == np.float32


@pytest.mark.parametrize("crops", [
    np.zeros((1, 8, 8), np.uint8),  # grey, no channel axis
    np.zeros((1, 8, 8, 4), np.uint8),  # RGBA
    np.zeros((1, 8, 8, 3), np.float32),  # already scaled
    np.zeros((1, 8, 8, 3), np.uint16),
], ids=["grey", "rgba", "float", "uint16"])
def test_refuses_what_is_not_uint8_rgb(crops):
    with pytest.raises(ValueError, match="uint8 RGB"):
        to_input(crops, size=8)
