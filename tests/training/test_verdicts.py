"""Verdict rates, the kind confusion matrix and the abstention sweep over evaluated items."""

from __future__ import annotations

from pathlib import Path

import pytest

from detector.judge import FaceFacts
from detector.recipe import AggregationSpec, VerdictRules
from training.data import MediaItem
from training.evaluate import ItemScore
from training.verdicts import abstention_sweep, kind_confusion, novelty_quantiles, verdict_rates


def _score(name: str, label: int, verdict: str, *, source: str = "s", manipulation: str = "none", kind=None,
           prob: float = 0.9, novelty: float = 1.0) -> ItemScore:
    if label == 1 and manipulation == "none":
        manipulation = "stylegan2"
    item = MediaItem(path=Path(f"/x/{name}.jpg"), label=label, group=name, manipulation=manipulation, source=source,
                     media="image")
    facts = (FaceFacts(0, 200.0, 100.0, 1.0),)
    return ItemScore(item, prob, 1, (prob,), (0.0,), verdict, (), kind, None, facts, ((0.8, 0.1, 0.1),), (novelty,))


def test_verdict_rates_per_class_and_source():
    scores = [_score("a", 0, "fake", source="old"), _score("b", 0, "real", source="old"),
              _score("c", 0, "real", source="new"), _score("d", 1, "fake", manipulation="stylegan2")]
    rates = verdict_rates(scores)
    assert rates["real"]["all"]["n"] == 3 and rates["real"]["all"]["called_fake"] == pytest.approx(1 / 3, abs=1e-4)
    assert rates["real"]["per_source"]["old"]["called_fake"] == 0.5
    assert rates["fake"]["all"]["called_fake"] == 1.0


def test_kind_confusion_counts_fakes_called_real_against_their_family():
    scores = [_score("g1", 1, "fake", manipulation="stylegan2", kind="synthetic"),
              _score("g2", 1, "real", manipulation="stylegan2"),
              _score("g3", 1, "uncertain", manipulation="stylegan2", kind="swap"),
              _score("s1", 1, "fake", manipulation="faceswap", kind="swap"),
              _score("r", 0, "fake", kind="swap")]  # reals are not in the matrix
    out = kind_confusion(scores)
    assert out["confusion"]["synthetic"] == {"swap": 1, "reenactment": 0, "synthetic": 1, "none": 1}
    assert out["named_right"] == {"synthetic": pytest.approx(1 / 3, abs=1e-4), "swap": 1.0}


def test_abstention_sweep_only_turns_fake_into_uncertain():
    rules, agg = VerdictRules(), AggregationSpec()
    scores = [_score("r1", 0, "fake", prob=0.95, novelty=9.0), _score("r2", 0, "fake", prob=0.95, novelty=1.0),
              _score("r3", 0, "real", prob=0.02, novelty=9.0), _score("f1", 1, "fake", prob=0.99, novelty=1.2),
              _score("f2", 1, "fake", prob=0.99, novelty=6.0), _score("f3", 1, "real", prob=0.01, novelty=9.0)]
    none, five = abstention_sweep(scores, rules, agg, [None, 5.0])
    assert none["real_called_fake"] == pytest.approx(2 / 3, abs=1e-4) and none["fake_called_fake"] == pytest.approx(
        2 / 3, abs=1e-4)
    # Above 5: r1 and f2 abstain; r3 and f3 (called real) are left alone, so fakes called real stay put.
    assert five["real_called_fake"] == pytest.approx(1 / 3, abs=1e-4) and five["real_called_uncertain"] == pytest.approx(
        1 / 3, abs=1e-4)
    assert five["fake_called_fake"] == pytest.approx(1 / 3, abs=1e-4)
    assert five["fake_called_real"] == none["fake_called_real"]
    assert novelty_quantiles(scores, (0.5,)) == [pytest.approx(7.5)]


def test_wilson_interval():
    from training.verdicts import wilson_interval

    assert wilson_interval(0, 0) is None
    lo, hi = wilson_interval(0, 40)
    assert lo == 0.0 and 0.08 < hi < 0.09  # 0 of 40 still leaves up to ~8.8 %
    lo, hi = wilson_interval(20, 40)
    assert lo == pytest.approx(0.352, abs=1e-3) and hi == pytest.approx(0.648, abs=1e-3)
