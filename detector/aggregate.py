"""Turn per-face probabilities into per-track and per-video scores.

Strategies (chosen per model in its card's ``aggregation``):

* ``mean``: the plain mean of the track's face probabilities.
* ``topk``: mean of the ``k`` highest (a swap that fails on some frames still shows on the worst ones).
* ``confident``: the DFDC winner's rule (Seferbekov, 2020): if many faces are confidently fake
  (p > 0.8 on more than 1/2.5 of them and more than 11 faces) average only those; if nearly all (> 90 %)
  are confidently real (p < 0.2) average those; else the plain mean.

A file's score combines its persons' (:func:`file_score`, the card's ``verdict.combine_persons``): the most suspicious
person's (``max``), or the odds averaged over the persons (``mean_odds``), which is what calibrated probabilities
say when a fake file has one manipulated person among its N.
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


PERSON_COMBINERS = ("max", "mean_odds")


def file_score(person_scores: Mapping[int, float] | Sequence[float], combine: str = "max") -> float:
    """A file's fake probability from its persons' calibrated ones.

    ``max``: the most suspicious person's. ``mean_odds``: the probability that one of the persons is manipulated,
    when a fake file has one manipulated person, any of the N equally likely, and a fake file is a priori as likely as
    a real one (what the calibration assumes: it weighs the classes equally). A calibrated ``p`` then gives the
    likelihood ratio ``p / (1 - p)`` of its person's faces, and the file's odds are their mean (faces of different
    persons independent given who is manipulated). One person: that person's probability, as with ``max``. More
    persons: never above ``max``; a group photo no longer becomes fake because one of many real faces scores high by
    chance (with ``max``, every added person is another chance of a false alarm), while one face with strong evidence
    still carries the file (0.98 among nine faces at 0.2 gives 0.84).
    """
    values = np.asarray(list(person_scores.values()) if isinstance(person_scores, Mapping) else list(person_scores),
                        np.float64)
    if values.size == 0:
        raise ValueError("no persons to score")
    if combine not in PERSON_COMBINERS:
        raise ConfigError(f"unknown way to combine persons {combine!r} (choose from {list(PERSON_COMBINERS)})")
    if combine == "max" or values.size == 1:  # one person: exactly its probability either way
        return float(values.max())
    with np.errstate(divide="ignore", over="ignore"):  # p = 0 or 1: log odds of -inf / +inf, which logaddexp keeps
        log_odds = np.log(values) - np.log1p(-values)
        mean = np.logaddexp.reduce(log_odds) - np.log(values.size)
        return float(1.0 / (1.0 + np.exp(-mean)))
