"""The running weight mean (SWA/SWAD) that a run with ``weight_average_from`` exports."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn

from training.weight_average import WeightAverage


def _net(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    net.train()
    net(torch.randn(2, 3, 8, 8) * (seed + 1))  # BN running statistics differ per net, and the batch counter moves
    return net


def test_mean_of_weights_and_batchnorm_statistics_integer_buffers_from_the_latest():
    nets = [_net(s) for s in range(3)]
    for _ in range(2):  # the last net's batch counter ends at 3, the others' at 1
        nets[2](torch.randn(2, 3, 8, 8))
    average = WeightAverage()
    for net in nets:
        average.update(net)
    mean = average.state_dict()
    assert average.count == 3
    for key in ("0.weight", "0.bias", "1.weight", "1.running_mean", "1.running_var"):
        expected = torch.stack([n.state_dict()[key] for n in nets]).mean(0)
        torch.testing.assert_close(mean[key], expected, rtol=1e-6, atol=1e-6)
    assert int(mean["1.num_batches_tracked"]) == 3
    # The mean is a copy: later steps of the live net do not move it.
    nets[0][0].weight.data.add_(1.0)
    torch.testing.assert_close(average.state_dict()["0.weight"], mean["0.weight"])


def test_save_and_restore_continue_the_same_mean():
    nets = [_net(s) for s in range(4)]
    whole, split = WeightAverage(), WeightAverage()
    for net in nets:
        whole.update(net)
    for net in nets[:2]:
        split.update(net)
    resumed = WeightAverage.restore(split.save())
    for net in nets[2:]:
        resumed.update(net)
    assert resumed.count == 4
    for key, value in whole.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value)


def test_nothing_averaged_is_an_error():
    with pytest.raises(ValueError, match="no weights"):
        WeightAverage().state_dict()
