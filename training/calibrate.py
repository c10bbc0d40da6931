"""Fit the logit -> probability calibration on validation data; stored in the model card."""

from __future__ import annotations

import numpy as np

from detector.modelcard import Calibration


def _nll(logits: np.ndarray, labels: np.ndarray, temperature: float, bias: float) -> float:
    z = logits / temperature + bias
    # log(1 + exp(-z)) for positives, log(1 + exp(z)) for negatives, computed stably.
    return float(np.mean(np.logaddexp(0.0, -z) * labels + np.logaddexp(0.0, z) * (1 - labels)))


def fit_calibration(logits: np.ndarray, labels: np.ndarray, *, method: str = "temperature") -> Calibration:
    """Temperature scaling (Guo et al. 2017), or ``"platt"`` for temperature plus bias.

    Minimises the validation negative log-likelihood; the temperature is searched in log space, so it
    stays positive.
    """
    from scipy.optimize import minimize

    z = np.asarray(logits, np.float64).reshape(-1)
    y = np.asarray(labels, np.float64).reshape(-1)
    if len(z) == 0 or len(np.unique(y)) < 2:
        raise ValueError("calibration needs validation scores of both classes")
    if method == "temperature":
        res = minimize(lambda p: _nll(z, y, float(np.exp(p[0])), 0.0), x0=[0.0], method="Nelder-Mead")
        return Calibration(method="temperature", temperature=float(np.exp(res.x[0])), bias=0.0)
    if method == "platt":
        res = minimize(lambda p: _nll(z, y, float(np.exp(p[0])), float(p[1])), x0=[0.0, 0.0], method="Nelder-Mead")
        return Calibration(method="platt", temperature=float(np.exp(res.x[0])), bias=float(res.x[1]))
    raise ValueError(f"unknown calibration method {method!r} (temperature, platt)")
