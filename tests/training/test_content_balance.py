"""Content balancing: propensity weights for real faces whose content resembles their domain's fakes."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")

from training.content_balance import content_weights, item_crops, out_of_fold_propensity


def _portraits(rng: np.random.Generator, n: int = 60):
    """Reals and fakes whose first feature ('smile') leans fake; reals come from two sources; a second domain
    is too small to fit."""
    smile_real = rng.normal(0.0, 1.0, n)
    smile_fake = rng.normal(1.5, 1.0, n)
    noise = rng.normal(0, 1, (2 * n, 7))
    feats = np.column_stack([np.concatenate([smile_real, smile_fake]), noise])
    labels = [0] * n + [1] * n
    sources = ["ffhq" if i % 3 else "lfw" for i in range(n)] + ["sd"] * n
    domains = ["portrait"] * (2 * n)
    # A small domain: 5 reals, 5 fakes -> left alone.
    feats = np.vstack([feats, rng.normal(0, 1, (10, 8))])
    labels += [0] * 5 + [1] * 5
    sources += ["clips"] * 10
    domains += ["video"] * 10
    return feats, np.array(labels), sources, domains


def test_reals_that_look_fake_are_drawn_more_and_sources_keep_their_mass():
    feats, labels, sources, domains = _portraits(np.random.default_rng(0))
    cw = content_weights(feats, labels, sources, domains, strength=1.0, clip=3.0, seed=0)
    m = cw.multipliers
    real = (labels == 0) & (np.array(domains) == "portrait")
    # Fakes and the too-small domain are untouched.
    assert np.all(m[labels == 1] == 1.0) and np.all(m[np.array(domains) == "video"] == 1.0)
    # The reals' weight follows their fake-looking feature.
    rho = np.corrcoef(np.argsort(np.argsort(feats[real, 0])), np.argsort(np.argsort(m[real])))[0, 1]
    assert rho > 0.6
    # Each real source keeps its mass (mean multiplier 1); clipping bounds the ratio by clip ** 2.
    for source in ("ffhq", "lfw"):
        sel = real & (np.array(sources) == source)
        assert m[sel].mean() == pytest.approx(1.0)
    assert m[real].max() / m[real].min() <= 9.0 + 1e-9
    (found,) = cw.domains
    assert found.domain == "portrait" and found.reals == 60 and found.fakes == 60
    assert 0.75 < found.auc < 0.95  # two unit-variance classes 1.5 apart: AUC = Phi(1.5 / sqrt 2) = 0.86
    assert 0 < found.effective_share < 1


def test_content_that_says_nothing_leaves_weights_near_one():
    rng = np.random.default_rng(1)
    feats = rng.normal(0, 1, (200, 8))
    labels = np.array([0, 1] * 100)
    cw = content_weights(feats, labels, ["a"] * 200, ["d"] * 200, strength=1.0, clip=3.0)
    (found,) = cw.domains
    assert abs(found.auc - 0.5) < 0.12
    assert found.effective_share > 0.9
    # strength 0: every multiplier exactly 1.
    assert np.all(content_weights(feats, labels, ["a"] * 200, ["d"] * 200, strength=0.0).multipliers == 1.0)


def test_propensity_is_out_of_fold():
    """A row that is pure noise cannot score itself: with labels independent of features, in-sample fits of
    200 rows in 50 dimensions separate the classes; the out-of-fold propensity does not."""
    rng = np.random.default_rng(2)
    feats = rng.normal(0, 1, (200, 50))
    labels = rng.integers(0, 2, 200)
    p = out_of_fold_propensity(feats, labels, c=10.0)
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(labels, p) < 0.65


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        content_weights(np.zeros((4, 2)), [0, 1, 0, 1], ["a"] * 4, ["d"] * 4, strength=-1)
    with pytest.raises(ValueError):
        content_weights(np.zeros((4, 2)), [0, 1, 0, 1], ["a"] * 4, ["d"] * 3)


def test_item_crops_takes_evenly_spaced_crops_of_items_with_faces():
    class Faces:
        def __init__(self, n):
            self.crops = np.arange(n)

    crops, owner = item_crops([Faces(5), Faces(0), Faces(1)], per_item=3)
    assert list(owner) == [0, 0, 0, 2] and [int(c) for c in crops] == [0, 2, 4, 0]


def test_sampling_doctests_and_strata_keep_their_mass():
    import doctest

    import training.sampling
    from training.sampling import reweight_within_strata

    assert doctest.testmod(training.sampling).failed == 0
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 50)
    sources = [f"s{i % 4}" for i in range(50)]
    w = rng.uniform(0.5, 1.5, 50)
    w /= w.sum()
    out = reweight_within_strata(w, labels, sources, rng.uniform(0.2, 5, 50))
    for y in (0, 1):
        for s in set(sources):
            sel = (labels == y) & (np.array(sources) == s)
            assert out[sel].sum() == pytest.approx(w[sel].sum())
    assert not np.allclose(out, w)
