"""What the verdicts did on a labelled set: how often reals were called fake, which kind each fake was named, and
what abstaining on unfamiliar faces would change.

AUC ranks; users read verdicts. Every AUC the project reports comes with the verdicts on real media beside it
(reals called fake, real, uncertain), per source, because a detector that ranks well but calls a third of real
photos fake is not usable.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from detector.judge import judge
from detector.kinds import FAKE_KINDS
from detector.recipe import AggregationSpec, VerdictRules
from detector.results import VERDICTS


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float] | None:
    """95 % Wilson score interval of a proportion ``k / n`` (sound at 0 and n, unlike the normal approximation)."""
    if n == 0:
        return None
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return round(float(max(0.0, centre - half)), 4), round(float(min(1.0, centre + half)), 4)


def _rates(scores: Sequence[Any]) -> dict[str, Any]:
    counts = Counter(s.verdict for s in scores)
    n = len(scores)
    out: dict[str, Any] = {"n": n, **{f"called_{v}": round(counts.get(v, 0) / n, 4) if n else None for v in VERDICTS}}
    for v in ("fake", "real"):
        out[f"called_{v}_95ci"] = wilson_interval(counts.get(v, 0), n)
    return out


def verdict_rates(scores: Sequence[Any]) -> dict[str, Any]:
    """Share of each verdict among reals and fakes, overall and per source (``ItemScore`` of :mod:`.evaluate`)."""
    out: dict[str, Any] = {}
    for label, name in ((0, "real"), (1, "fake")):
        sub = [s for s in scores if s.item.label == label]
        by_source: dict[str, list[Any]] = defaultdict(list)
        for s in sub:
            by_source[s.item.source].append(s)
        out[name] = {"all": _rates(sub), "per_source": {k: _rates(v) for k, v in sorted(by_source.items())}}
    return out


def kind_confusion(scores: Sequence[Any]) -> dict[str, Any]:
    """Rows: the fakes' true family; columns: the kind the verdict named (``none``: verdict real / no face).

    ``named_right`` per family is the share of *all* its fakes named correctly, so a fake called real counts
    against it: "at least half of the generated faces named synthetic" is read off it.
    """
    matrix: dict[str, dict[str, int]] = {}
    for s in scores:
        if s.item.label != 1 or s.item.family not in FAKE_KINDS:
            continue
        row = matrix.setdefault(s.item.family, {k: 0 for k in (*FAKE_KINDS, "none")})
        row[s.kind if s.kind in FAKE_KINDS else "none"] += 1
    right = {fam: round(row[fam] / sum(row.values()), 4) for fam, row in matrix.items()}
    return {"confusion": matrix, "named_right": right}


def rejudge(score: Any, rules: VerdictRules, aggregation: AggregationSpec) -> str:
    """The verdict ``score``'s item gets under other ``rules`` (same faces, probabilities, kinds, novelty)."""
    if score.verdict == "error":
        return "error"
    return judge(score.facts, score.face_probs, media=score.item.media, rules=rules, aggregation=aggregation,
                 kind_probabilities=score.face_kinds, novelty=score.face_novelty).verdict


def abstention_sweep(scores: Sequence[Any], rules: VerdictRules, aggregation: AggregationSpec,
                     thresholds: Sequence[float | None]) -> list[dict[str, Any]]:
    """For each ``max_novelty`` (``None``: never abstain): reals and fakes called fake / real / uncertain.

    Abstaining turns some ``fake`` verdicts into ``uncertain`` and touches nothing else, so fakes called real cannot
    rise; what it costs is fakes no longer called fake.
    """
    rows = []
    for t in thresholds:
        r = replace(rules, max_novelty=t)
        verdicts = [(s.item.label, rejudge(s, r, aggregation)) for s in scores]
        row: dict[str, Any] = {"max_novelty": t}
        for label, name in ((0, "real"), (1, "fake")):
            got = Counter(v for y, v in verdicts if y == label)
            n = sum(got.values())
            for v in ("fake", "real", "uncertain"):
                row[f"{name}_called_{v}"] = round(got.get(v, 0) / n, 4) if n else None
        rows.append(row)
    return rows


def novelty_quantiles(scores: Sequence[Any], qs: Sequence[float] = (0.5, 0.8, 0.9, 0.95, 0.98, 0.99)) -> list[float]:
    """Quantiles of the per-face novelty of ``scores`` (candidate thresholds: fitted on familiar faces)."""
    values = np.array([v for s in scores if s.face_novelty for v in s.face_novelty])
    return [float(np.quantile(values, q)) for q in qs] if len(values) else []
