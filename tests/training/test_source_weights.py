"""``source_weights``: one source's sampling weight changed inside its domain, every domain's and class's mass kept."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from detector.errors import ConfigError
from training.sampling import SBI_SOURCE, sample_domains, stratum_shares
from training.train import TrainConfig, apply_overrides, epoch_weights


@dataclass(frozen=True)
class _Sample:
    label: int
    sbi: bool
    item: int


class _Dataset:
    """What ``epoch_weights`` reads of a ``FaceCropDataset``: labels, sources, origins, samples."""

    def __init__(self, counts: dict[tuple[str, int], int]) -> None:
        self.samples, self._sources, self._origins = [], [], []
        for (source, label), n in counts.items():
            for _ in range(n):
                self.samples.append(_Sample(label, False, len(self.samples)))
                self._sources.append(source)
                self._origins.append(source)
                if label == 0:  # every real face also yields a self-blended fake
                    self.samples.append(_Sample(1, True, len(self.samples)))
                    self._sources.append(SBI_SOURCE)
                    self._origins.append(source)

    def labels(self) -> list[int]:
        return [s.label for s in self.samples]

    def sources(self) -> list[str]:
        return self._sources

    def origins(self) -> list[str]:
        return self._origins


# A portrait domain with one big GAN source and one small diffusion source, and a video domain of its own.
COUNTS = {("ffhq", 0): 30, ("gan", 1): 25, ("sd", 1): 10, ("clips", 0): 12, ("talking", 1): 6}
DOMAINS = {"ffhq": "portrait", "gan": "portrait", "sd": "portrait", "clips": "video", "talking": "video"}


# stratum_shares rounds to 4 decimals: hence the absolute tolerance of two rounding steps below.
def _shares(config: TrainConfig, ds: _Dataset) -> tuple[dict[str, float], dict[str, float]]:
    w = epoch_weights(ds, config)
    by_source = stratum_shares(ds.labels(), ds.sources(), w)
    by_domain = stratum_shares(ds.labels(), sample_domains(ds.origins(), config.domains or {}), w)
    return by_source, by_domain


def test_a_down_weighted_source_gives_its_mass_to_its_domains_other_fakes():
    ds = _Dataset(COUNTS)
    plain = TrainConfig(domains=DOMAINS)
    halved = TrainConfig(domains=DOMAINS, source_weights={"gan": 0.5})
    (src0, dom0), (src1, dom1) = _shares(plain, ds), _shares(halved, ds)
    assert src1["fake:gan"] < 0.75 * src0["fake:gan"]
    # The portrait domain's other fakes (diffusion, self-blended portraits) take what the GAN gave up ...
    assert src1["fake:sd"] > src0["fake:sd"]
    assert pytest.approx(dom1["fake:portrait"], abs=2e-4) == dom0["fake:portrait"]
    # ... and nothing else moves: the reals, and the other domain.
    for key in ("real:ffhq", "real:clips", "fake:talking"):
        assert pytest.approx(src1[key], abs=2e-4) == src0[key]
    assert dom1 == pytest.approx(dom0, abs=2e-4)
    # Against a neighbour of its domain and class, the source's mass changes by the multiplier exactly.
    assert src1["fake:gan"] / src1["fake:sd"] == pytest.approx(0.5 * src0["fake:gan"] / src0["fake:sd"], rel=1e-2)


def test_without_domains_the_class_keeps_its_mass():
    ds = _Dataset(COUNTS)
    plain, doubled = _shares(TrainConfig(), ds)[0], _shares(TrainConfig(source_weights={"sd": 2.0}), ds)[0]
    assert doubled["fake:sd"] > 1.5 * plain["fake:sd"]
    fake = sum(v for k, v in doubled.items() if k.startswith("fake:"))
    assert pytest.approx(fake, abs=2e-4) == sum(v for k, v in plain.items() if k.startswith("fake:"))


def test_none_and_an_empty_map_change_nothing():
    ds = _Dataset(COUNTS)
    base = epoch_weights(ds, TrainConfig(domains=DOMAINS))
    assert np.allclose(base, epoch_weights(ds, TrainConfig(domains=DOMAINS, source_weights={})))


def test_bad_source_weights_are_refused():
    with pytest.raises(ConfigError, match="source_weights"):
        TrainConfig(source_weights={"gan": 0})
    with pytest.raises(ConfigError, match="source_weights"):
        TrainConfig(source_weights={"gan": "half"})
    # A misspelt source is refused when the data is known, not ignored.
    with pytest.raises(ConfigError, match="not in the training data"):
        epoch_weights(_Dataset(COUNTS), TrainConfig(source_weights={"GAN": 0.5}))


def test_set_parses_a_json_map():
    config = apply_overrides(TrainConfig(), ['source_weights={"BaseMax/FakeFaces": 0.5}'])
    assert config.source_weights == {"BaseMax/FakeFaces": 0.5}
    assert TrainConfig.from_dict(config.to_dict()) == config
