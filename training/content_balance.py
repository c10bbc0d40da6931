"""Content balancing: draw more often the real faces whose *content* looks like the fakes of their domain.

Domain balancing (``training.sampling.balance_domains``) gives a domain's reals the same mass as its fakes,
but not the same look. In the portrait domain the fakes (StyleGAN, Stable Diffusion) are bright, frontal,
smiling faces on plain backgrounds, while the reals are a mix; both draws of recipe F called the same 17 of 100
unseen FFHQ portraits fake, and those were the bright, frontal, smiling ones (detector/models/README.md). A
net can separate the classes by what is *in* the picture instead of how it was made.

This module measures that and corrects for it with the standard propensity (inverse-probability) weighting:

1. Content features: the ImageNet backbone the classifier starts from, frozen, pooled (what an ImageNet net sees:
   pose, expression, lighting, background; not trained on fakes).
2. Content propensity ``p(fake | content)`` inside each domain that has reals and third-party fakes, from a
   ridge-penalised logistic regression, out of fold (5 folds by item), so no item scores itself.
3. A real face's sampling weight is multiplied by ``(p / (1 - p)) ** strength``, clipped to ``[1/clip, clip]``
   and renormalised inside its source, so a source keeps its mass and the class and domain balance stay as
   they were; only which faces of a source are drawn changes. With ``strength = 1`` the reals' content
   distribution is reweighted to the fakes' (Rosenbaum & Rubin 1983), so content alone predicts nothing.

Self-blended fakes need none of this (each is its own real face's content), so they are left alone, and so
are fakes: what the fake class is made of does not change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .metrics import rank_auc

# Out-of-fold folds and the ridge penalty of the content model (C on standardised 1280-d Lite0 features). On the
# held-out split's portrait domain (340 reals, 353 fakes; 2026-12-02) C = 0.005 gave the best out-of-fold AUC of
# {0.005, 0.02, 0.05, 0.2, 1} (0.868 against 0.846 at C = 1) and the flattest propensities.
FOLDS = 5
RIDGE_C = 0.005
# A domain needs this many reals and third-party fakes for a content model worth fitting.
MIN_PER_CLASS = 20
# The content features always come from this ImageNet backbone (whatever the classifier's arch): a fixed, neutral
# view of what is in the picture, installed with the ``train`` extra.
CONTENT_ARCH = "tf_efficientnet_lite0"


@dataclass(frozen=True)
class DomainPropensity:
    """What the content model of one domain found (logged in the run summary)."""

    domain: str
    reals: int
    fakes: int
    auc: float  # out-of-fold AUC of content alone: 0.5 = content says nothing about the label
    weight_min: float
    weight_max: float
    effective_share: float  # effective sample size of the reweighted reals / their count


@dataclass(frozen=True)
class ContentWeights:
    """Per-item multipliers of the real items' sampling weights (1 for every other item)."""

    multipliers: np.ndarray
    domains: tuple[DomainPropensity, ...]

    def summary(self) -> list[dict]:
        return [asdict(d) for d in self.domains]


def content_features(model, crops: Sequence[np.ndarray], *, size: int, mean: Sequence[float],
                     std: Sequence[float], batch_size: int = 32) -> np.ndarray:
    """Pooled features of a frozen timm backbone, one row per crop ((S, S, 3) uint8 RGB)."""
    import torch

    from detector.preprocess import to_input

    model.eval()
    rows = []
    with torch.no_grad():
        for i in range(0, len(crops), batch_size):
            x = torch.from_numpy(to_input(list(crops[i:i + batch_size]), size=size, mean=mean, std=std))
            rows.append(model.forward_head(model.forward_features(x), pre_logits=True).float().numpy())
    return np.concatenate(rows) if rows else np.zeros((0, 0), np.float32)


def item_crops(faces: Sequence, per_item: int = 1) -> tuple[list[np.ndarray], np.ndarray]:
    """Up to ``per_item`` evenly spaced crops of each cached item, and the item index of each crop."""
    crops, owner = [], []
    for i, f in enumerate(faces):
        n = len(f.crops)
        for j in np.unique(np.linspace(0, n - 1, min(n, per_item)).round().astype(int)):
            crops.append(f.crops[j])
            owner.append(i)
    return crops, np.asarray(owner, np.int64)


def out_of_fold_propensity(features: np.ndarray, labels: np.ndarray, *, seed: int = 0, c: float = RIDGE_C,
                           folds: int = FOLDS) -> np.ndarray:
    """``p(label = 1 | features)`` for every row, each from a model that did not see that row."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    labels = np.asarray(labels, np.int64)
    p = np.empty(len(labels), np.float64)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fit, score in splitter.split(features, labels):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
        model.fit(features[fit], labels[fit])
        p[score] = model.predict_proba(features[score])[:, 1]
    return p


def content_weights(features: np.ndarray, labels: Sequence[int], sources: Sequence[str], domains: Sequence[str], *,
                    strength: float = 1.0, clip: float = 3.0, seed: int = 0,
                    min_per_class: int | None = None) -> ContentWeights:
    """Multipliers for the reals' sampling weights, one per item (rows of ``features``); see the module doc.

    ``sources``/``domains`` are per item; fakes, and reals in domains without ``min_per_class`` (default
    :data:`MIN_PER_CLASS`) of both, get 1. The multipliers of a real source average 1, so their ratio is at most
    ``clip ** 2``.
    """
    if strength < 0 or clip < 1:
        raise ValueError(f"need strength >= 0 and clip >= 1, got {strength}, {clip}")
    y = np.asarray(labels, np.int64)
    src = np.asarray(list(sources), dtype=object)
    dom = np.asarray(list(domains), dtype=object)
    if not len(features) == len(y) == len(src) == len(dom):
        raise ValueError("features, labels, sources and domains differ in length")
    mult = np.ones(len(y), np.float64)
    found = []
    for domain in sorted(set(dom.tolist())):
        inside = dom == domain
        n_real, n_fake = int((inside & (y == 0)).sum()), int((inside & (y == 1)).sum())
        if min(n_real, n_fake) < (MIN_PER_CLASS if min_per_class is None else min_per_class):
            continue
        idx = np.flatnonzero(inside)
        p = out_of_fold_propensity(features[idx], y[idx], seed=seed)
        p = np.clip(p, 1e-6, 1 - 1e-6)
        w = np.clip((p / (1 - p)) ** strength, 1 / clip, clip)
        real = y[idx] == 0
        for source in set(src[idx][real].tolist()):
            # Renormalise inside each real source: its mass (set by the stratified weights) is kept.
            sel = real & (src[idx] == source)
            w[sel] /= w[sel].mean()
        mult[idx[real]] = w[real]
        wr = w[real]
        found.append(DomainPropensity(domain=str(domain), reals=n_real, fakes=n_fake, auc=round(rank_auc(y[idx], p), 4),
                                      weight_min=round(float(wr.min()), 3), weight_max=round(float(wr.max()), 3),
                                      effective_share=round(float(wr.sum() ** 2 / (wr ** 2).sum() / len(wr)), 3)))
    return ContentWeights(multipliers=mult, domains=tuple(found))
