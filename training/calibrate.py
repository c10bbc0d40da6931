"""Fit the logit -> probability calibration on validation data; stored in the model card."""

from __future__ import annotations

import numpy as np

from detector.modelcard import Calibration


def _nll(logits: np.ndarray, labels: np.ndarray, temperature: float, bias: float, weights: np.ndarray) -> float:
    z = logits / temperature + bias
    # log(1 + exp(-z)) for positives, log(1 + exp(z)) for negatives, computed stably.
    per_sample = np.logaddexp(0.0, -z) * labels + np.logaddexp(0.0, z) * (1 - labels)
    return float(np.sum(per_sample * weights) / np.sum(weights))


def balanced_weights(labels: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
    """Sample weights giving each class half the total, and each group (media item) one vote in its class.

    Calibrated probabilities then mean "under equal priors", whatever the validation set's fake share, and a
    32-frame video does not outweigh 32 photos.

    >>> [round(float(x), 3) for x in balanced_weights(np.array([0, 0, 0, 1]), np.array([0, 0, 1, 2]))]
    [0.125, 0.125, 0.25, 0.5]
    """
    y = np.asarray(labels).reshape(-1)
    g = np.arange(len(y)) if groups is None else np.asarray(groups).reshape(-1)
    w = np.zeros(len(y), np.float64)
    for label in np.unique(y):
        in_class = y == label
        keys, inverse, counts = np.unique(g[in_class], return_inverse=True, return_counts=True)
        w[in_class] = 1.0 / counts[inverse] / len(keys) / 2.0
    return w


def fit_calibration(logits: np.ndarray, labels: np.ndarray, *, method: str = "temperature",
                    weights: np.ndarray | None = None) -> Calibration:
    """Temperature scaling (Guo et al. 2017), or ``"platt"`` for temperature plus bias.

    Minimises the (optionally ``weights``-weighted, see :func:`balanced_weights`) validation negative
    log-likelihood; the temperature is searched in log space, so it stays positive.
    """
    from scipy.optimize import minimize

    z = np.asarray(logits, np.float64).reshape(-1)
    y = np.asarray(labels, np.float64).reshape(-1)
    w = np.ones_like(z) if weights is None else np.asarray(weights, np.float64).reshape(-1)
    if len(z) == 0 or len(np.unique(y)) < 2:
        raise ValueError("calibration needs validation scores of both classes")
    if len(w) != len(z) or not np.all(w >= 0) or w.sum() <= 0:
        raise ValueError("calibration weights must be non-negative, one per score, not all zero")
    if method == "temperature":
        res = minimize(lambda p: _nll(z, y, float(np.exp(p[0])), 0.0, w), x0=[0.0], method="Nelder-Mead")
        return Calibration(method="temperature", temperature=float(np.exp(res.x[0])), bias=0.0)
    if method == "platt":
        res = minimize(lambda p: _nll(z, y, float(np.exp(p[0])), float(p[1]), w), x0=[0.0, 0.0],
                       method="Nelder-Mead")
        return Calibration(method="platt", temperature=float(np.exp(res.x[0])), bias=float(res.x[1]))
    raise ValueError(f"unknown calibration method {method!r} (temperature, platt)")
