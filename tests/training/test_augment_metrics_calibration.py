from __future__ import annotations

import warnings

import numpy as np
import pytest

from training.augment import AugmentConfig, build_augment
from training.calibrate import fit_calibration
from training.metrics import binary_metrics, expected_calibration_error


def test_augment_pipeline_builds_strictly_and_keeps_shape(astronaut):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # albumentations warns on unknown (1.x) argument names
        aug = build_augment()
    crop = astronaut[:128, 192:320].copy()
    outs = [aug(image=crop)["image"] for _ in range(20)]
    assert all(o.shape == crop.shape and o.dtype == np.uint8 for o in outs)
    assert sum(not np.array_equal(o, crop) for o in outs) >= 15


def test_zero_strength_is_identity(astronaut):
    aug = build_augment(AugmentConfig(strength=0.0))
    crop = astronaut[:128, 192:320].copy()
    assert np.array_equal(aug(image=crop)["image"], crop)


def test_binary_metrics_on_known_scores():
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.6, 0.4, 0.7, 0.8, 0.9])
    m = binary_metrics(y, p)
    assert m["auc"] == pytest.approx(15 / 16)  # 0.4 ranks below one real (0.6)
    assert m["accuracy"] == pytest.approx(6 / 8)
    assert 0 < m["eer"] < 0.5 and m["n"] == 8 and m["n_fake"] == 4
    assert m["tpr@fpr0.01"] <= m["tpr@fpr0.1"]
    one_class = binary_metrics([1, 1], [0.8, 0.9])
    assert one_class["auc"] is None and one_class["accuracy"] == 1.0


def test_ece_of_perfectly_calibrated_scores_is_small():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=20000)
    y = (rng.uniform(size=20000) < p).astype(int)
    assert expected_calibration_error(y, p) < 0.02
    assert expected_calibration_error(y, np.clip(p * 0.3, 0, 1)) > 0.2


def test_temperature_scaling_recovers_the_temperature():
    rng = np.random.default_rng(0)
    true_logit = rng.normal(0, 2, 20000)
    y = (rng.uniform(size=20000) < 1 / (1 + np.exp(-true_logit))).astype(int)
    overconfident = true_logit * 3.0
    cal = fit_calibration(overconfident, y)
    assert cal.temperature == pytest.approx(3.0, rel=0.05)
    before = expected_calibration_error(y, 1 / (1 + np.exp(-overconfident)))
    after = expected_calibration_error(y, cal.apply(overconfident))
    assert after < before / 2
    platt = fit_calibration(overconfident + 1.0, y, method="platt")
    assert platt.bias == pytest.approx(-1.0 / 3.0, abs=0.1)
    with pytest.raises(ValueError):
        fit_calibration(np.array([1.0, 2.0]), np.array([1, 1]))


def test_stratified_weights_balance_classes_sources_and_sbi():
    from training.sampling import SBI_SOURCE, stratified_weights, stratum_shares

    labels = [0] * 90 + [0] * 10 + [1] * 20 + [1] * 100
    sources = ["big"] * 90 + ["small"] * 10 + ["gan"] * 20 + [SBI_SOURCE] * 100
    w = stratified_weights(labels, sources, source_balance=1.0, sbi_share=0.25)
    shares = stratum_shares(labels, sources, w)
    assert shares == {"fake:gan": 0.375, "real:big": 0.25, "real:small": 0.25, "fake:self-blended": 0.125}
    # source_balance 0: sources by size within a class; classes still half each.
    w0 = stratified_weights(labels, sources, source_balance=0.0, sbi_share=0.5)
    s0 = stratum_shares(labels, sources, w0)
    assert s0["real:big"] == pytest.approx(0.45) and s0["real:small"] == pytest.approx(0.05)
    # Only SBI fakes: they take the whole fake class whatever sbi_share says.
    w1 = stratified_weights([0, 1], ["a", SBI_SOURCE], sbi_share=0.1)
    assert np.allclose(w1, [0.5, 0.5])
    with pytest.raises(ValueError):
        stratified_weights([0], ["a"], source_balance=2.0)


def test_paired_comparison_counts_fakes_above_their_own_real(tmp_path):
    from training.data.items import MediaItem
    from training.evaluate import ItemScore, paired_comparison, report

    def item(name, label, group, media="video", score=0.5):
        it = MediaItem(tmp_path / name, label, group, "swap" if label else "none", "src", media)
        return ItemScore(it, score, 1, (score,), (0.0,))

    scores = [item("a_real", 0, "a", score=0.9), item("a_fake", 1, "a", score=0.95),  # fake above: 1
              item("b_real", 0, "b", score=0.1), item("b_fake", 1, "b", score=0.05),  # below: 0
              item("c_real", 0, "c", score=0.3), item("c_fake", 1, "c", score=0.3),  # tie: 0.5
              item("d_fake", 1, "d", score=0.99),  # no real of its own: not a pair
              item("a_img", 0, "a", media="image", score=0.0)]  # same group, other media: not a pair
    pair = paired_comparison(scores)
    assert pair["groups"] == 3 and pair["pairs"] == 3
    assert pair["fake_above_real"] == pytest.approx(0.5)
    assert pair["per_group"] == {"a": 1.0, "b": 0.0, "c": 0.5}
    assert report(scores)["paired"] == pair
    assert paired_comparison(scores[6:]) is None


def test_rank_auc_equals_scikit_learn_with_and_without_ties():
    from sklearn.metrics import roc_auc_score

    from training.metrics import rank_auc

    rng = np.random.default_rng(0)
    for trial in range(200):
        n = int(rng.integers(2, 60))
        y = rng.integers(0, 2, n)
        y[:2] = (0, 1)  # both classes
        # Coarse scores make ties common; fine ones make them rare.
        s = rng.integers(0, 5, n) / 4 if trial % 2 else rng.uniform(size=n)
        assert rank_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_balanced_platt_undoes_a_skewed_validation_prior():
    # Validation with 10 % fakes: an unweighted Platt fit learns the prior (bias < 0) and calls a fake at
    # the equal-prior boundary real; the balanced fit recovers the equal-prior mapping.
    from training.calibrate import balanced_weights

    rng = np.random.default_rng(1)
    y = (rng.uniform(size=40000) < 0.1).astype(int)
    logit = rng.normal(np.where(y == 1, 1.0, -1.0), 1.0)  # equal-prior posterior logit is exactly 2 * logit
    plain = fit_calibration(logit, y, method="platt")
    balanced = fit_calibration(logit, y, method="platt", weights=balanced_weights(y))
    assert plain.bias < -1.5
    assert balanced.bias == pytest.approx(0.0, abs=0.1)
    assert balanced.temperature == pytest.approx(0.5, rel=0.05)


def test_balanced_weights_give_each_item_one_vote_in_its_class():
    from training.calibrate import balanced_weights

    w = balanced_weights(np.array([0, 0, 0, 0, 1]), np.array(["v", "v", "v", "img", "f"]))
    assert w.tolist() == pytest.approx([1 / 12, 1 / 12, 1 / 12, 0.25, 0.5])
    with pytest.raises(ValueError):
        fit_calibration(np.array([1.0, 2.0]), np.array([0, 1]), weights=np.array([1.0]))


def test_domain_balance_makes_a_domain_look_carry_no_label():
    from training.sampling import SBI_SOURCE, balance_domains, sample_domains, stratified_weights

    # One small real portrait source against two portrait fake sources and a big low-res real source.
    sources = ["ffhq"] * 30 + ["lowres"] * 300 + ["gan"] * 50 + ["sd"] * 20 + [SBI_SOURCE] * 330
    origins = ["ffhq"] * 30 + ["lowres"] * 300 + ["gan"] * 50 + ["sd"] * 20 + ["ffhq"] * 30 + ["lowres"] * 300
    labels = [0] * 330 + [1] * 400
    w0 = stratified_weights(labels, sources, source_balance=0.5, sbi_share=0.5)
    domains = sample_domains(origins, {"ffhq": "portrait", "gan": "portrait", "sd": "portrait"})
    w = balance_domains(w0, labels, domains)
    y, d = np.array(labels), np.array(domains)
    for domain in ("portrait", "lowres"):
        real, fake = w[(d == domain) & (y == 0)].sum(), w[(d == domain) & (y == 1)].sum()
        assert real == pytest.approx(fake)
    before = w0[(d == "portrait") & (y == 0)].sum() / w0[(d == "portrait") & (y == 1)].sum()
    assert before < 0.6  # the imbalance the function exists for
    assert w.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(w[y == 1] / w[y == 1].sum(), w0[y == 1] / w0[y == 1].sum())  # fakes unchanged
