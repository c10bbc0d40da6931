"""Per-face probabilities -> track score -> video score: each strategy's rule and its thresholds' boundaries."""

from __future__ import annotations

import numpy as np
import pytest

from detector.aggregate import STRATEGIES, confident_strategy, file_score, mean_strategy, topk_strategy, track_score
from detector.errors import ConfigError


def faces(*groups: tuple[int, float]) -> np.ndarray:
    """``faces((13, 0.9), (17, 0.1))``: 13 faces at 0.9 then 17 at 0.1."""
    return np.concatenate([np.full(n, p) for n, p in groups])


def test_mean_is_the_plain_mean_as_a_python_float():
    score = mean_strategy(np.array([0.1, 0.2, 0.9]))
    # A Python float, not np.float64: scores go into JSON reports.
    assert type(score) is float and score == pytest.approx(0.4)


def test_topk_averages_the_k_highest_whatever_the_order():
    p = np.array([0.1, 0.9, 0.2, 0.8, 0.3, 0.7, 0.05, 0.6])
    assert topk_strategy(p) == pytest.approx(np.mean([0.9, 0.8, 0.7, 0.6, 0.3]))  # default k = 5
    assert topk_strategy(p, k=2) == pytest.approx(0.85)
    assert topk_strategy(p, k=1) == pytest.approx(0.9)


def test_topk_with_fewer_faces_than_k_averages_them_all():
    assert topk_strategy(np.array([0.2, 0.4, 0.9]), k=5) == pytest.approx(0.5)
    assert topk_strategy(np.array([0.7]), k=5) == pytest.approx(0.7)


def test_topk_refuses_k_below_one():
    # np.sort(p)[-0:] is the whole array: k=0 would quietly become the mean strategy.
    with pytest.raises(ConfigError):
        topk_strategy(np.array([0.2, 0.9]), k=0)


def test_confident_many_confident_fakes_average_only_those():
    # 13 of 30 above 0.8: 13 > 30 // 2.5 = 12 and 13 > 11.
    p = faces((13, 0.9), (17, 0.1))
    assert confident_strategy(p) == pytest.approx(0.9)


def test_confident_fake_share_boundary_is_strict():
    # 12 of 30 is exactly 1/2.5: not "more than", and 18 reals are far from 90 %: the plain mean.
    p = faces((12, 0.9), (18, 0.1))
    assert confident_strategy(p) == pytest.approx(p.mean())
    assert confident_strategy(p) != pytest.approx(0.9)


def test_confident_needs_more_than_min_fakes():
    # 12 of 20 fakes: share passes and 12 > 11, so only the fakes count.
    assert confident_strategy(faces((12, 0.9), (8, 0.5))) == pytest.approx(0.9)
    # 11 of 20: share passes (11 > 8) but 11 is not more than 11: the plain mean.
    p = faces((11, 0.9), (9, 0.5))
    assert confident_strategy(p) == pytest.approx(p.mean())
    # A short track that is all but certainly fake still gets the plain mean (too few faces to trust).
    p = faces((11, 0.95), (5, 0.5))
    assert confident_strategy(p) == pytest.approx(p.mean())
    # The minimum is a parameter: 3 of 5 fakes, 3 > 5 // 2.5 = 2 and 3 > 2.
    assert confident_strategy(faces((3, 0.9), (2, 0.5)), min_fakes=2) == pytest.approx(0.9)


def test_confident_fake_threshold_is_strict_and_configurable():
    # Exactly 0.8 is not "p > 0.8": only 8 of 20 count, so no fake branch.
    p = faces((12, 0.8), (8, 0.9))
    assert confident_strategy(p) == pytest.approx(p.mean())
    p = faces((12, 0.8 + 1e-9), (8, 0.5))
    assert confident_strategy(p) == pytest.approx(0.8)
    p = faces((12, 0.6), (8, 0.4))
    assert confident_strategy(p, t=0.5) == pytest.approx(0.6)


def test_confident_nearly_all_confident_reals_average_only_those():
    # 19 of 20 below 0.2 (> 90 %): the one suspicious face is ignored.
    assert confident_strategy(faces((19, 0.05), (1, 0.95))) == pytest.approx(0.05)


def test_confident_real_share_boundary_is_strict():
    # 18 of 20 is exactly 90 %: not "more than", so the plain mean.
    p = faces((18, 0.05), (2, 0.95))
    assert confident_strategy(p) == pytest.approx(p.mean())
    # Exactly 0.2 is not "p < 0.2".
    p = faces((19, 0.2), (1, 0.95))
    assert confident_strategy(p) == pytest.approx(p.mean())


def test_confident_otherwise_plain_mean():
    p = np.linspace(0.0, 1.0, 25)
    assert confident_strategy(p) == pytest.approx(0.5)


def test_track_score_dispatches_by_name_and_passes_parameters():
    p = [0.05, 0.1, 0.3, 0.9, 0.95, 0.97]
    assert set(STRATEGIES) == {"mean", "topk", "confident"}  # the names model cards may use
    for name, fn in STRATEGIES.items():
        assert track_score(p, name) == pytest.approx(fn(np.asarray(p)))
    assert track_score(p) == pytest.approx(np.mean(p))  # default: mean
    assert track_score(p, "topk", k=2) == pytest.approx(0.96)
    assert track_score(p, "confident", min_fakes=2) == pytest.approx(np.mean([0.9, 0.95, 0.97]))


def test_track_score_accepts_ints_and_arrays():
    assert track_score([0, 1, 1, 0]) == pytest.approx(0.5)  # no integer arithmetic
    assert track_score(np.array([0.2, 0.6], np.float32), "mean") == pytest.approx(0.4)


def test_track_score_unknown_strategy_is_a_config_error():
    with pytest.raises(ConfigError) as err:
        track_score([0.5], "median")
    assert err.value.code == "invalid_config"
    # The message lists the valid names, so a typo in a card is easy to fix.
    assert "'median'" in err.value.message and all(name in err.value.message for name in STRATEGIES)


@pytest.mark.parametrize("empty", [[], np.array([])])
def test_track_score_of_no_faces_is_a_value_error(empty):
    with pytest.raises(ValueError) as err:
        track_score(empty, "mean")
    # Empty data is not a configuration mistake (ConfigError is a ValueError too, mapped to invalid_config).
    assert not isinstance(err.value, ConfigError)


def test_file_score_max_is_the_most_suspicious_person():
    assert file_score({0: 0.2, 3: 0.91, 7: 0.5}) == pytest.approx(0.91)
    assert file_score([0.3, 0.1], "max") == pytest.approx(0.3)
    assert file_score(np.array([0.4])) == pytest.approx(0.4)
    assert type(file_score({0: np.float64(0.7)})) is float


def test_file_score_mean_odds_averages_the_persons_odds():
    # Odds 49 and nine times 0.25: mean 5.125, probability 5.125 / 6.125.
    assert file_score([0.98] + [0.2] * 9, "mean_odds") == pytest.approx(5.125 / 6.125)
    assert file_score({0: 0.9, 4: 0.1}, "mean_odds") == pytest.approx((9 + 1 / 9) / 2 / (1 + (9 + 1 / 9) / 2))
    # Equal persons keep their probability; a file is never more suspicious than its most suspicious person.
    assert file_score([0.7, 0.7, 0.7], "mean_odds") == pytest.approx(0.7)
    rng = np.random.default_rng(0)
    for _ in range(100):
        p = rng.uniform(0, 1, rng.integers(2, 8))
        assert min(p) - 1e-12 <= file_score(p, "mean_odds") <= max(p) + 1e-12


def test_file_score_of_one_person_is_exactly_its_probability():
    # Bit for bit, not approximately: a one-person file scores as under ``max`` (the cards' figures depend on it).
    for p in (0.3, 0.1234567891234, 1e-9, 0.999999):
        assert file_score([p], "mean_odds") == p


def test_file_score_mean_odds_at_the_ends():
    assert file_score([1.0, 0.2], "mean_odds") == 1.0  # certain evidence stays certain
    assert file_score([0.0, 0.0], "mean_odds") == 0.0
    assert file_score([0.0, 0.5], "mean_odds") == pytest.approx(1 / 3)


def test_file_score_unknown_combination_is_a_config_error():
    with pytest.raises(ConfigError, match="combine"):
        file_score([0.5, 0.2], "median")


@pytest.mark.parametrize("empty", [{}, [], np.array([])])
@pytest.mark.parametrize("combine", ["max", "mean_odds"])
def test_file_score_of_no_persons_raises(empty, combine):
    with pytest.raises(ValueError, match="no persons"):
        file_score(empty, combine)
