"""The summed-area table behind MTCNN's exact ``area`` resampling."""

from __future__ import annotations

import numpy as np

from detector.faces.mtcnn import area_resize, area_resize_full, integral_image


def _reference(image: np.ndarray) -> np.ndarray:
    table = image.astype(np.int64).cumsum(axis=0).cumsum(axis=1)
    return np.pad(table, ((1, 0), (1, 0), (0, 0)))


def test_integral_image_matches_cumulative_sums():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    table = integral_image(image)
    assert table.shape == (38, 54, 3) and table.dtype == np.int32
    assert np.array_equal(table, _reference(image))
    # Regions are views into a frame (not contiguous); single-channel images keep their channel axis.
    view = image[5:30, 7:40]
    assert np.array_equal(integral_image(view), _reference(view))
    grey = image[..., :1]
    assert integral_image(grey).shape == (38, 54, 1)
    assert np.array_equal(integral_image(grey), _reference(grey))


def test_window_sums_stay_exact_when_the_table_wraps():
    # A white 3900 x 2200 frame sums to 2.19e9 > 2**31: the int32 table wraps; window sums must stay exact.
    image = np.full((2200, 3900, 3), 255, np.uint8)
    table = integral_image(image)
    assert table[-1, -1, 0] < 0  # it did wrap
    out = area_resize_full(table, 4, 4)
    assert np.allclose(out, 255.0)
    crops = area_resize(table, np.array([1000]), np.array([3000]), np.array([1160]), np.array([840]), 2, 2)
    assert np.allclose(crops, 255.0)


def test_area_resize_averages_each_window():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (24, 36, 3), dtype=np.uint8)
    out = area_resize_full(integral_image(image), 8, 12)  # whole factor 3: plain 3 x 3 block means
    expected = image.reshape(8, 3, 12, 3, 3).astype(np.float64).mean(axis=(1, 3))
    assert np.allclose(out, expected, atol=1e-4)
