"""Evaluate an exported model: ``deepfake eval --model M.onnx --data SPEC``.

Runs the product path (the card's scan recipe: face stage -> ONNX classifier -> calibration -> the scan's
judge) over a labelled dataset and reports, as JSON: face-level and item-level metrics (videos and images separately),
per-manipulation (its fakes against all reals of the same media kind) and per-source breakdowns, a
bootstrap 95 % interval for every AUC (eval sets are small), and every item's score.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from detector.classifier import Classifier
from detector.judge import FaceFacts, judge
from detector.recipe import AggregationSpec, ScanConfig

from .crops import CropCache, CropCacheConfig
from .data.items import MediaItem
from .metrics import binary_metrics, rank_auc
from .verdicts import kind_confusion, verdict_rates


@dataclass(frozen=True)
class ItemScore:
    """One item as ``deepfake scan`` would judge it (the same :func:`detector.judge.judge`)."""

    item: MediaItem
    score: float | None  # the judge's fake probability; None: no face found, or the file failed
    n_faces: int
    face_probs: tuple[float, ...]
    face_logits: tuple[float, ...]
    verdict: str = "no_face"
    reasons: tuple[str, ...] = ()
    kind: str | None = None  # the judge's kind of fake (fake/uncertain verdicts of a model with a kind head)
    kind_probability: float | None = None
    # Kept to re-judge with other verdict rules (the abstention sweep): per face, as the judge received them.
    facts: tuple[FaceFacts, ...] = ()
    face_kinds: tuple[tuple[float, ...], ...] | None = None
    face_novelty: tuple[float, ...] | None = None


def bootstrap_auc(labels: np.ndarray, scores: np.ndarray, *, n: int = 1000, seed: int = 0) -> tuple[float, float] | None:
    y, s = np.asarray(labels), np.asarray(scores)
    if len(np.unique(y)) < 2:
        return None
    rng = np.random.default_rng(seed)
    aucs = []
    for _ in range(n):
        idx = rng.integers(0, len(y), len(y))
        if len(np.unique(y[idx])) == 2:
            aucs.append(rank_auc(y[idx], s[idx]))
    return float(np.percentile(aucs, 2.5)), float(np.percentile(aucs, 97.5))


def score_items(classifier: Classifier, items: Sequence[MediaItem], *, cache_root: str | Path,
                config: ScanConfig | None = None, strategy: str = "card", max_faces_per_frame: int | None = None,
                workers: int | None = None, progress: bool = True) -> list[ItemScore]:
    """Score items through the product path: the card's scan recipe with ``config``'s overrides (as
    ``Detector(config=...)`` applies them), its face stage, classifier and calibration, and the scan's judge.

    ``max_faces_per_frame=None`` keeps every face, as ``deepfake scan`` does; training caches keep the 4 largest
    (``CropCacheConfig``), so the default model's validation scores pass that to reuse them.
    ``strategy``: ``card`` (the model's aggregation) or a strategy name from :mod:`detector.aggregate`.
    Fixed-rate sampling (``config.fps``) is not cached: the cache samples ``frames`` per video.
    """
    config = config or ScanConfig()
    card = classifier.card
    recipe = config.apply(card.scan)
    aggregation = recipe.aggregation if strategy == "card" else AggregationSpec(strategy)
    cache = CropCache(cache_root, CropCacheConfig.from_recipe(recipe, max_faces_per_frame=max_faces_per_frame))
    cache.build(items, workers=workers, progress=progress)
    out = []
    for item in items:
        faces = cache.load(item)
        if faces is None:  # the file failed in the face stage (the cache's index says why)
            out.append(ItemScore(item, None, 0, (), (), "error", ("error",)))
            continue
        crops = classifier.score(faces.crops, mirror=recipe.mirror(faces.media)) if len(faces) else None
        logits = crops.logits if crops is not None else np.zeros(0, np.float32)
        kinds = crops.kind_probs if crops is not None else None
        novelty = crops.novelty if crops is not None else None
        probs = card.calibration.apply(logits)
        facts = tuple(faces.facts())
        j = judge(facts, probs, media=faces.media, rules=recipe.verdict, aggregation=aggregation,
                  kind_probabilities=kinds, novelty=novelty)
        out.append(ItemScore(item, j.fake_probability, len(faces), tuple(map(float, probs)),
                             tuple(map(float, logits)), j.verdict, j.reasons, j.kind, j.kind_probability, facts,
                             None if kinds is None else tuple(tuple(map(float, k)) for k in kinds),
                             None if novelty is None else tuple(map(float, novelty))))
    return out


def manipulation_family(name: str) -> str:
    """Bucket free-text manipulation names: ``"deepfacelive-realtime-faceswap(DFM model X)"`` ->
    ``"deepfacelive-realtime-faceswap"`` (manifests name each face model; metrics want the method)."""
    return name.split("(")[0].strip().lower() or name


def _metrics(labels: list[int], scores: list[float], threshold: float) -> dict[str, Any]:
    m = binary_metrics(labels, scores, threshold=threshold)
    m["auc_95ci"] = bootstrap_auc(np.array(labels), np.array(scores))
    return m


def paired_comparison(scores: Sequence[ItemScore]) -> dict[str, Any] | None:
    """How often a fake scores above the real it was made from.

    Items of one group and media kind that hold both labels are pairs (a DeepFaceLive demo split into its real
    and swapped halves, an FF++ original and its manipulations): identity, footage and encoding are the same on
    both sides, so only the manipulation differs. Pooled AUC mixes that with how "fake-looking" each person or
    clip is; on the eval DeepFaceLive pairs the models score both halves of a pair almost alike (v0.2: 0.999 vs
    1.000, 0.059 vs 0.067), which is content, not swap detection. 0.5 is chance; ties count half.
    """
    groups: dict[tuple[str, str], list[ItemScore]] = defaultdict(list)
    for s in scores:
        if s.score is not None:
            groups[(s.item.group, s.item.media)].append(s)
    wins: list[float] = []
    per_group: dict[str, float] = {}
    for (group, _), members in sorted(groups.items()):
        reals = [s.score for s in members if s.item.label == 0]
        fakes = [s.score for s in members if s.item.label == 1]
        if not reals or not fakes:
            continue
        w = [1.0 if f > r else 0.5 if f == r else 0.0 for f in fakes for r in reals]
        per_group[group] = float(np.mean(w))
        wins.extend(w)
    if not wins:
        return None
    return {"groups": len(per_group), "pairs": len(wins), "fake_above_real": float(np.mean(wins)),
            "per_group": per_group}


def report(scores: Sequence[ItemScore], *, threshold: float = 0.5) -> dict[str, Any]:
    scored = [s for s in scores if s.score is not None]
    rep: dict[str, Any] = {"n_items": len(scores), "n_no_face": len(scores) - len(scored), "threshold": threshold}
    face_y = [s.item.label for s in scored for _ in s.face_probs]
    face_p = [p for s in scored for p in s.face_probs]
    rep["face_level"] = _metrics(face_y, face_p, threshold)
    rep["item_level"] = _metrics([s.item.label for s in scored], [s.score for s in scored], threshold)
    for media in ("video", "image"):
        sub = [s for s in scored if s.item.media == media]
        if sub:
            rep[f"{media}_level"] = _metrics([s.item.label for s in sub], [s.score for s in sub], threshold)
    by_manip: dict[str, dict[str, Any]] = {}
    for manip in sorted({manipulation_family(s.item.manipulation) for s in scored if s.item.label == 1}):
        fakes = [s for s in scored if s.item.label == 1 and manipulation_family(s.item.manipulation) == manip]
        kinds = {s.item.media for s in fakes}
        reals = [s for s in scored if s.item.label == 0 and s.item.media in kinds]
        sub = fakes + reals
        by_manip[manip] = _metrics([s.item.label for s in sub], [s.score for s in sub], threshold)
    rep["per_manipulation"] = by_manip
    by_source: dict[str, list[ItemScore]] = defaultdict(list)
    for s in scored:
        by_source[s.item.source].append(s)
    rep["per_source"] = {src: _metrics([s.item.label for s in sub], [s.score for s in sub], threshold)
                         for src, sub in sorted(by_source.items())}
    rep["paired"] = paired_comparison(scored)
    rep["verdicts"] = dict(sorted(Counter(s.verdict for s in scores).items()))
    rep["verdict_rates"] = verdict_rates(scores)
    if any(s.kind is not None for s in scores):
        rep["kinds"] = kind_confusion(scores)
    rep["items"] = [{"path": str(s.item.path), "label": s.item.label, "source": s.item.source,
                     "manipulation": s.item.manipulation, "media": s.item.media, "score": s.score,
                     "verdict": s.verdict, "reasons": list(s.reasons), "n_faces": s.n_faces, "family": s.item.family,
                     "kind": s.kind, "kind_probability": s.kind_probability} for s in scores]
    return rep


def _fmt(m: dict[str, Any]) -> str:
    auc = "  n/a " if m.get("auc") is None else f"{m['auc']:.3f}"
    ci = m.get("auc_95ci")
    ci_s = f" [{ci[0]:.2f}-{ci[1]:.2f}]" if ci else ""
    acc = "n/a" if m.get("accuracy") is None else f"{m['accuracy']:.3f}"
    return f"n={m['n']:<5} (fake {m['n_fake']}, real {m['n_real']})  AUC {auc}{ci_s}  acc {acc}"


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepfake eval", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="model .onnx (card .json beside it)")
    parser.add_argument("--data", nargs="+", required=True, help="dataset specs (manifest CSV or folders)")
    parser.add_argument("--split", default=None, help="manifest split to use (e.g. eval)")
    parser.add_argument("--frames", type=int, help="frames sampled per video (default: the model card's)")
    parser.add_argument("--strategy", default="card", help="aggregation: card (default), mean, topk, confident")
    parser.add_argument("--cache", default="~/.cache/deepfake-detector/crops")
    parser.add_argument("--out", type=Path, help="write the full JSON report here")
    parser.add_argument("--fit-calibration", type=Path, metavar="JSON",
                        help="fit temperature scaling on these (validation!) faces and write it here")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from .data import load_datasets

    args = get_args_parser().parse_args(argv)
    items = load_datasets(args.data, split=args.split)
    classifier = Classifier.load(args.model)
    scores = score_items(classifier, items, cache_root=args.cache, config=ScanConfig(frames=args.frames),
                         strategy=args.strategy)
    rep = report(scores, threshold=classifier.card.scan.threshold)
    rep["model"] = {"name": classifier.card.name, "version": classifier.card.version, "sha256": classifier.card.sha256}
    for key in ("video_level", "image_level", "face_level"):
        if key in rep:
            print(f"{key:<14} {_fmt(rep[key])}")
    for manip, m in rep["per_manipulation"].items():
        print(f"  {manip[:40]:<40} {_fmt(m)}")
    if rep["paired"]:
        pair = rep["paired"]
        print(f"paired         {pair['groups']} groups, {pair['pairs']} fake/real pairs: fake above its real "
              f"{pair['fake_above_real']:.3f} (0.5 = chance)")
    if args.fit_calibration:
        from .calibrate import fit_calibration

        y = [s.item.label for s in scores for _ in s.face_logits]
        z = [z for s in scores for z in s.face_logits]
        cal = fit_calibration(np.array(z), np.array(y))
        args.fit_calibration.write_text(json.dumps({"method": cal.method, "temperature": cal.temperature,
                                                    "bias": cal.bias}) + "\n")
        print(f"calibration: temperature {cal.temperature:.3f} -> {args.fit_calibration}", file=sys.stderr)
    if args.out:
        args.out.write_text(json.dumps(rep, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
