"""Detection metrics (via scikit-learn): AUC, AP, log loss, EER, accuracy, TPR at fixed FPR, ECE."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def expected_calibration_error(labels: np.ndarray, probs: np.ndarray, bins: int = 15) -> float:
    """ECE with equal-width bins (Guo et al. 2017 use 15)."""
    labels = np.asarray(labels, np.float64)
    probs = np.asarray(probs, np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(probs, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        sel = idx == b
        if sel.any():
            ece += sel.mean() * abs(probs[sel].mean() - labels[sel].mean())
    return float(ece)


def rank_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney U statistic (tied scores count one half), in numpy.

    The same number as ``sklearn.metrics.roc_auc_score`` (tested), ~30x cheaper per call: the bootstrap
    interval calls it a thousand times per slice, where scikit-learn's input validation dominated
    ``deepfake eval``. Both classes must be present.
    """
    y = np.asarray(labels).astype(bool)
    s = np.asarray(scores, np.float64)
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    # Average rank of each distinct score (1-based): ties share the mean of the ranks they span.
    ends = np.cumsum(counts)
    ranks = (ends - (counts - 1) / 2.0)[inverse]
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def equal_error_rate(labels: np.ndarray, probs: np.ndarray) -> float:
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(labels, probs)
    fnr = 1 - tpr
    i = int(np.nanargmin(np.abs(fnr - fpr)))
    return float((fpr[i] + fnr[i]) / 2)


def tpr_at_fpr(labels: np.ndarray, probs: np.ndarray, fpr_target: float) -> float:
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(labels, probs)
    ok = fpr <= fpr_target
    return float(tpr[ok].max()) if ok.any() else 0.0


def binary_metrics(labels: Sequence[int] | np.ndarray, probs: Sequence[float] | np.ndarray, *,
                   threshold: float = 0.5, fprs: Sequence[float] = (0.01, 0.05, 0.1)) -> dict[str, float | int | None]:
    """All metrics for one set of scores. Ranking metrics are ``None`` when only one class is present."""
    from sklearn.metrics import average_precision_score, log_loss, roc_auc_score

    y = np.asarray(labels, np.int64)
    p = np.clip(np.asarray(probs, np.float64), 1e-7, 1 - 1e-7)
    out: dict[str, float | int | None] = {
        "n": len(y), "n_fake": int(y.sum()), "n_real": int((1 - y).sum()),
        "accuracy": float(((p >= threshold) == y).mean()) if len(y) else None,
        "log_loss": float(log_loss(y, p, labels=[0, 1])) if len(y) else None,
        "ece": expected_calibration_error(y, p) if len(y) else None,
    }
    both = len(np.unique(y)) == 2
    out["auc"] = float(roc_auc_score(y, p)) if both else None
    out["ap"] = float(average_precision_score(y, p)) if both else None
    out["eer"] = equal_error_rate(y, p) if both else None
    for f in fprs:
        out[f"tpr@fpr{f:g}"] = tpr_at_fpr(y, p, f) if both else None
    return out
