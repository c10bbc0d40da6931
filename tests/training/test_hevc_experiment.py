"""The HEVC compression plug-in: a share of each batch through one x265 frame, the rest untouched."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from detector.errors import ConfigError
from training.config import TrainConfig
from training.experiments import BatchContext, HevcCompression, build_experiments
from training.experiments.hevc import hevc_batch, hevc_roundtrip

MEAN = STD = (0.5, 0.5, 0.5)


def test_roundtrip_compresses_more_at_higher_crf_and_keeps_odd_sizes(astronaut):
    crop = np.ascontiguousarray(astronaut[100:323, 150:373])  # 223 x 223: odd sides are padded for 4:2:0
    light, heavy = hevc_roundtrip(crop, 18), hevc_roundtrip(crop, 40)
    assert light.shape == heavy.shape == crop.shape and light.dtype == np.uint8
    error = [np.abs(out.astype(int) - crop.astype(int)).mean() for out in (light, heavy)]
    # Measured 2026-12-07 (PyAV 18.1's x265, ultrafast): 3.2 grey levels at crf 18, 9.7 at crf 40; the bound of 20
    # leaves room for another x265 build.
    assert 0 < error[0] < error[1] < 20


def test_batch_replaces_its_first_share_and_leaves_the_rest(astronaut):
    torch.manual_seed(0)
    crops = [astronaut[y:y + 64, x:x + 64] for y, x in ((100, 150), (200, 200), (50, 300), (300, 100))]
    pixels = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255
    x = (pixels - 0.5) / 0.5
    out = hevc_batch(x, share=0.5, crf=(30, 30), mean=MEAN, std=STD)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.equal(out[2:], x[2:])  # untouched
    for i in range(2):
        changed = ((out[i] * 0.5 + 0.5) * 255).round().permute(1, 2, 0).numpy().astype(np.uint8)
        assert np.array_equal(changed, hevc_roundtrip(np.ascontiguousarray(crops[i]), 30))
    assert hevc_batch(x, share=0.1, crf=(30, 30), mean=MEAN, std=STD) is x  # no sample in a 4-batch at 10 %


def test_plugin_is_switched_on_by_name_and_checks_its_settings():
    config = TrainConfig.from_dict({"experiments": {"hevc": {"share": 0.3, "crf": [20, 32]}}})
    [hook] = build_experiments(config.experiments)
    assert hook == HevcCompression(share=0.3, crf=(20, 32))
    x = torch.zeros(10, 3, 16, 16)
    out = hook.transform_batch(None, x, torch.zeros(10), BatchContext(loss_fn=None, mean=MEAN, std=STD))
    assert torch.equal(out[3:], x[3:])
    for bad in ({"share": 0}, {"share": 1.5}, {"crf": [30, 20]}, {"crf": [10, 60]}):
        with pytest.raises(ConfigError, match="hevc"):
            TrainConfig(experiments={"hevc": bad})
