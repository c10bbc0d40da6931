"""Turn per-face probabilities into per-track and per-video scores.

Strategies (chosen per model in its card's ``aggregation``):

* ``mean``: the plain mean of the track's face probabilities.
* ``topk``: mean of the ``k`` highest (a swap that fails on some frames still shows on the worst ones).
* ``confident``: the DFDC winner's rule (Seferbekov, 2020): if many faces are confidently fake
  (p > 0.8 on more than 1/2.5 of them and more than 11 faces) average only those; if nearly all (> 90 %)
  are confidently real (p < 0.2) average those; else the plain mean.

A video's score is its most suspicious track (a single swapped person makes the video fake).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .errors import ConfigError


def mean_strategy(p: np.ndarray) -> float:
    return float(np.mean(p))


def topk_strategy(p: np.ndarray, k: int = 5) -> float:
    if k < 1:  # [-0:] would silently average every face
        raise ConfigError(f"topk aggregation needs k >= 1, got {k}")
    return float(np.mean(np.sort(p)[-k:]))


def confident_strategy(p: np.ndarray, t: float = 0.8, min_fakes: int = 11) -> float:
    sz = len(p)
    fakes = int(np.count_nonzero(p > t))
    if fakes > sz // 2.5 and fakes > min_fakes:
        return float(np.mean(p[p > t]))
    if np.count_nonzero(p < 0.2) > 0.9 * sz:
        return float(np.mean(p[p < 0.2]))
    return float(np.mean(p))


STRATEGIES: dict[str, Callable[..., float]] = {"mean": mean_strategy, "topk": topk_strategy,
                                                "confident": confident_strategy}


def track_score(probabilities: Sequence[float] | np.ndarray, strategy: str = "mean", **params: Any) -> float:
    p = np.asarray(probabilities, np.float64)
    if p.size == 0:
        raise ValueError("a track needs at least one face probability")
    try:
        fn = STRATEGIES[strategy]
    except KeyError:
        raise ConfigError(f"unknown aggregation strategy {strategy!r} (choose from {sorted(STRATEGIES)})") from None
    return fn(p, **params)


def video_score(track_scores: Mapping[int, float] | Sequence[float]) -> float:
    """The most suspicious person decides."""
    values = list(track_scores.values()) if isinstance(track_scores, Mapping) else list(track_scores)
    if not values:
        raise ValueError("no tracks to score")
    return float(max(values))
