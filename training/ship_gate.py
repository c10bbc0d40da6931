"""Should a candidate model replace the shipped one? Two ``deepfake eval`` reports of the same held-out items, compared.

The rule a new default model ships under (issue 37): it beats the baseline on *every* family of fakes the held-out
items hold, without more reals called fake. A family is one fake source (a generator or tool, as the manifests name
it): its fakes ranked against every real of the same media in the report (AUC, as ``per_manipulation`` does). Reals
called fake are counted over all reals and per real source. Missing faces count as what the product does with them:
an item without a score is left out of the AUCs, and its verdict (``no_face``, ``error``) is not ``fake``.

One draw moves a held-out AUC by about ±0.05 (``training/EXPERIMENTS.md``), so a gain of a few thousandths is no gain:
``--min-gain`` sets how much better a family must be, and the table shows every margin with its 95 % interval (a paired
bootstrap over the items: both models' scores of the same resampled fakes and reals), so a family of a few dozen
fakes that passes or fails inside its own sampling noise says so. The rule itself is the point estimate.

    python -m training.ship_gate BASELINE.json CANDIDATE.json [MORE_DRAWS.json ...] [--min-gain 0.0]

Several candidate reports are several training draws of one recipe (seeds): the rule then applies to their mean (each
family's AUC and the reals called fake averaged over the draws, the interval a paired bootstrap of that mean's gain),
so a recipe is judged as a recipe rather than by its luckiest draw.

Exit status: 0 the candidate passes, 1 it does not, 2 the reports cannot be compared (different items).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .metrics import rank_auc

NO_INTERVAL = (math.nan, math.nan)  # a family without scored fakes, or reals of its media, on one side


@dataclass(frozen=True)
class FamilyRow:
    """One fake source: its AUC against the reals of its media, in both reports."""

    source: str
    media: str
    n_fakes: int
    baseline_auc: float
    candidate_auc: float
    gain_interval: tuple[float, float] = NO_INTERVAL

    @property
    def gain(self) -> float:
        return self.candidate_auc - self.baseline_auc


@dataclass(frozen=True)
class RealsRow:
    """One real source (or ``all``): how many of its reals each model called fake."""

    source: str
    n: int
    baseline_fake: int
    candidate_fake: float  # a mean over draws when several candidate reports are compared


@dataclass(frozen=True)
class GateResult:
    """The comparison and its verdict; ``failures`` says why a candidate does not pass (empty: it passes)."""

    families: tuple[FamilyRow, ...]
    reals: tuple[RealsRow, ...]
    failures: tuple[str, ...]

    @property
    def passes(self) -> bool:
        return not self.failures


def load_items(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The per-item rows of a ``deepfake eval`` report (``--out`` JSON)."""
    with open(path) as f:
        report = json.load(f)
    if not isinstance(report, dict) or not isinstance(report.get("items"), list):
        raise ValueError(f"{path}: not a deepfake eval report (no 'items' list)")  # noqa: TRY004 (a bad file, not a bad argument)
    return report["items"]


def family_aucs(items: Sequence[dict[str, Any]]) -> dict[tuple[str, str], tuple[int, float]]:
    """``(source, media) -> (fakes, AUC)`` for each fake source against the scored reals of its media."""
    scored = [i for i in items if i["score"] is not None]
    out: dict[tuple[str, str], tuple[int, float]] = {}
    for source, media in sorted({(i["source"], i["media"]) for i in scored if i["label"] == 1}):
        fakes = [i["score"] for i in scored if i["label"] == 1 and i["source"] == source and i["media"] == media]
        reals = [i["score"] for i in scored if i["label"] == 0 and i["media"] == media]
        if reals:
            labels = np.r_[np.ones(len(fakes)), np.zeros(len(reals))]
            out[(source, media)] = (len(fakes), rank_auc(labels, np.r_[fakes, reals]))
    return out


def gain_intervals(baseline: Sequence[dict[str, Any]], *candidates: Sequence[dict[str, Any]], rounds: int = 2000,
                   seed: int = 0) -> dict[tuple[str, str], tuple[float, float]]:
    """``(source, media) -> 95 % interval of candidate AUC - baseline AUC``: a paired bootstrap over the items every
    report scored (fakes of the source and reals of its media resampled apart, the same draw for every model). With
    several candidate reports (draws of one recipe), the gain of their mean AUC.

    Paired, because the two models are judged on the same items: most of either AUC's sampling noise (which items
    happen to be in the held-out set) is shared and cancels in the gain; ``training.evaluate.bootstrap_auc`` is the
    one-model interval, which would count that shared noise twice.
    """
    scores = [{(str(i["path"]), int(i["label"])): i["score"] for i in candidate} for candidate in candidates]
    rows = [(i, [i["score"], *(c[(str(i["path"]), int(i["label"]))] for c in scores)]) for i in baseline]
    rows = [(i, s) for i, s in rows if None not in s]
    rng = np.random.default_rng(seed)
    out: dict[tuple[str, str], tuple[float, float]] = {}
    for source, media in sorted({(i["source"], i["media"]) for i, _ in rows if i["label"] == 1}):
        fakes = np.array([s for i, s in rows if i["label"] == 1 and i["source"] == source and i["media"] == media],
                         np.float64)  # (fakes, 1 + draws): the baseline's score, then each draw's
        reals = np.array([s for i, s in rows if i["label"] == 0 and i["media"] == media], np.float64)
        if not len(reals):
            continue
        labels = np.r_[np.ones(len(fakes)), np.zeros(len(reals))]
        gains = np.empty(rounds)
        for r in range(rounds):
            pick = np.r_[fakes[rng.integers(0, len(fakes), len(fakes))], reals[rng.integers(0, len(reals), len(reals))]]
            draws = np.mean([rank_auc(labels, pick[:, d]) for d in range(1, pick.shape[1])])
            gains[r] = draws - rank_auc(labels, pick[:, 0])
        lo, hi = np.quantile(gains, [0.025, 0.975])
        out[(source, media)] = (float(lo), float(hi))
    return out


def reals_called_fake(items: Sequence[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """``source -> (reals, called fake)``, with ``all`` over every real."""
    reals = [i for i in items if i["label"] == 0]
    out = {"all": (len(reals), sum(i["verdict"] == "fake" for i in reals))}
    for source in sorted({i["source"] for i in reals}):
        rows = [i for i in reals if i["source"] == source]
        out[source] = (len(rows), sum(i["verdict"] == "fake" for i in rows))
    return out


def _identity(items: Sequence[dict[str, Any]]) -> list[tuple[str, int]]:
    return sorted((str(i["path"]), int(i["label"])) for i in items)


def compare(baseline: Sequence[dict[str, Any]], candidate: Sequence[dict[str, Any]],
            *draws: Sequence[dict[str, Any]], min_gain: float = 0.0) -> GateResult:
    """Compare reports of the same items (by path and label): the baseline's against the candidate's, or against the
    mean of the candidate's and its recipe's other ``draws``.

    Raises:
        ValueError: the reports hold different items (a gate across different held-out sets means nothing).
    """
    candidates = (candidate, *draws)
    if any(_identity(baseline) != _identity(c) for c in candidates):
        raise ValueError("the reports hold different items: score every model on the same held-out manifests")
    base, cands = family_aucs(baseline), [family_aucs(c) for c in candidates]
    intervals = gain_intervals(baseline, *candidates)
    missing = (0, float("nan"))  # a family with no scored fake on one side: its AUC is no number, and fails
    families = []
    for source, media in sorted(set(base).union(*cands)):
        n_base, auc_base = base.get((source, media), missing)
        per_draw = [c.get((source, media), missing) for c in cands]
        families.append(FamilyRow(source, media, max(n_base, *(n for n, _ in per_draw)), auc_base,
                                  float(np.mean([auc for _, auc in per_draw])),  # NaN if any draw has none
                                  intervals.get((source, media), NO_INTERVAL)))
    base_reals, cand_reals = reals_called_fake(baseline), [reals_called_fake(c) for c in candidates]
    reals = tuple(RealsRow(source, n, base_reals[source][1], float(np.mean([c[source][1] for c in cand_reals])))
                  for source, (n, _) in base_reals.items())
    failures = [f"{f.source} ({f.media}): AUC {f.candidate_auc:.3f} against {f.baseline_auc:.3f}"
                for f in families if not f.gain > min_gain]  # NaN (no scored fakes on one side) fails too
    if reals[0].candidate_fake > reals[0].baseline_fake:
        failures.append(f"reals called fake: {reals[0].candidate_fake:g} of {reals[0].n} against "
                        f"{reals[0].baseline_fake}")
    return GateResult(tuple(families), reals, tuple(failures))


def format_result(result: GateResult) -> str:
    lines = [f"{'fake source':<48} {'media':<6} {'n':>5} {'baseline':>9} {'candidate':>9} {'gain':>7}  95 % interval"]
    lines += [f"{f.source[:48]:<48} {f.media:<6} {f.n_fakes:>5} {f.baseline_auc:>9.3f} {f.candidate_auc:>9.3f} "
              f"{f.gain:>+7.3f}  [{f.gain_interval[0]:+.3f}, {f.gain_interval[1]:+.3f}]" for f in result.families]
    lines += ["", f"{'reals called fake':<48} {'n':>5} {'baseline':>9} {'candidate':>9}"]
    lines += [f"{r.source[:48]:<48} {r.n:>5} {r.baseline_fake:>9} {r.candidate_fake:>9g}" for r in result.reals]
    lines += ["", "passes" if result.passes else "does not pass: " + "; ".join(result.failures)]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.ship_gate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("baseline", help="deepfake eval report of the shipped model")
    parser.add_argument("candidate", nargs="+", help="deepfake eval report of the candidate, on the same items; "
                                                     "several: draws of one recipe, judged by their mean")
    parser.add_argument("--min-gain", type=float, default=0.0, help="AUC a family must gain to count as beaten")
    args = parser.parse_args(argv)
    try:
        result = compare(load_items(args.baseline), *(load_items(c) for c in args.candidate), min_gain=args.min_gain)
    except (OSError, ValueError) as exc:
        print(f"ship_gate: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(format_result(result))
    return 0 if result.passes else 1


if __name__ == "__main__":
    sys.exit(main())
