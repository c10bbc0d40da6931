"""Score a labelled set under each perturbation, through the whole product path.

The perturbation acts on the media, before anything else runs: faces are found on the degraded frames, as
on a user's degraded upload. Frame types (colour, blocks, noise, blur, pixelation, JPEG, resize, grey,
flip) act on the frames a scan samples (``Detector.sample``), which are then scanned with
``Detector.scan_frames`` - the same result as scanning a file holding those frames, without writing one.
Mixes of frame types act the same way, one type after another. Codec types (``video``: H.264 at a CRF;
``dfdc``: DFDC's 15 fps, half the sides and a worse encode) re-encode the whole video into a temporary file
that is scanned like any upload; they apply to videos only, and their rows count videos only (the clean row
they are compared with too).

Each condition reports what ``deepfake eval`` reports (AUC with its interval, per manipulation family, the
false-fake rate on reals at the model's threshold), and its drop against the clean run.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from detector.api import Detector
from detector.media import Frame, open_media
from detector.results import MediaResult
from detector.video_writer import VideoWriter

from ..data.items import MediaItem
from ..evaluate import ItemScore, report
from .perturbations import DEEPERFORENSICS, Degradation


@dataclass(frozen=True)
class Condition:
    """One row: a perturbation (``None``: clean) and the report of the items it applies to."""

    perturbation: Degradation | None
    report: dict[str, Any]

    @property
    def name(self) -> str:
        return "clean" if self.perturbation is None else self.perturbation.name


def applies(perturbation: Degradation | None, item: MediaItem) -> bool:
    return perturbation is None or not perturbation.needs_reencode or item.media == "video"


def scan_perturbed(detector: Detector, item: MediaItem, perturbation: Degradation | None, *, seed: int = 0,
                   workdir: Path | None = None) -> MediaResult:
    """The scan of ``item`` degraded by ``perturbation``; a failure is the item's ``error`` result."""
    path = str(item.path)

    def scan() -> MediaResult:
        if perturbation is None:
            return detector.scan(path)
        if perturbation.reencoding is not None:
            r = perturbation.reencoding
            with tempfile.TemporaryDirectory(dir=workdir) as tmp:
                out = Path(tmp) / "perturbed.mp4"
                reencode(path, out, crf=r.crf, fps=r.fps, scale=r.scale)
                return replace(detector.scan(out), path=path)
        kind, frames = detector.sample(path, detector.sampling, limits=detector.limits)
        # One seed per frame, so random types (noise, blocks) differ between frames as real noise does.
        degraded = [perturbation.apply(f.image, seed=seed + i) for i, f in enumerate(frames)]
        timestamps = [f.timestamp for f in frames]
        return detector.scan_frames(degraded, name=path, media=kind, timestamps=timestamps)

    return detector.guarded(path, scan)


def reencode(src: str | Path, dst: str | Path, *, crf: int, fps: float | None = None, scale: float = 1.0) -> Path:
    """``src`` through H.264 at ``crf``: every frame at the source's rate, or at most ``fps`` frames a second
    (a source at or under ``fps`` keeps them all), each side times ``scale``."""
    with open_media(src) as media:
        rate: Fraction = media.frame_rate or Fraction(25)
        frames: Iterable[Frame] = media.every_frame()
        if fps is not None and rate > fps:
            rate = Fraction(fps).limit_denominator(1001)
            frames = on_ticks(frames, float(fps))
        with VideoWriter(dst, rate=rate, crf=crf) as writer:
            for frame in frames:
                writer.write(frame.image if scale == 1.0 else shrink(frame.image, scale))
    return Path(dst)


def on_ticks(frames: Iterable[Frame], fps: float) -> Iterator[Frame]:
    """The frames that reach the next tick of a ``1 / fps`` clock started at the first frame: by time, not by
    count, so 25 fps keeps 3 frames in 5 and variable-rate footage keeps its pace."""
    last_tick = -1
    start: float | None = None
    for frame in frames:
        start = frame.timestamp if start is None else start
        # A microsecond's slack: a frame exactly on a tick must not miss it by a rounding error.
        tick = math.floor((frame.timestamp - start) * fps + 1e-6)
        if tick > last_tick:
            last_tick = tick
            yield frame


def shrink(rgb: np.ndarray, scale: float) -> np.ndarray:
    """``rgb`` with each side times ``scale``, rounded to even numbers (H.264's 4:2:0 needs even sides; the
    writer would otherwise cut a row or column), by area averaging as a downscaling encoder does."""
    h, w = rgb.shape[:2]
    size = (max(2, round(w * scale) // 2 * 2), max(2, round(h * scale) // 2 * 2))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def item_score(item: MediaItem, result: MediaResult) -> ItemScore:
    probs = tuple(float(p.score) for p in result.timeline)
    return ItemScore(item, result.fake_probability, len(probs), probs, (), result.verdict, result.reasons)


def run(detector: Detector, items: Sequence[MediaItem], perturbations: Sequence[Degradation], *, seed: int = 0,
        progress: Callable[[str, int, int], None] | None = None) -> list[Condition]:
    """The clean condition first, then one per perturbation."""
    conditions = []
    for perturbation in (None, *perturbations):
        chosen = [it for it in items if applies(perturbation, it)]
        scores = []
        for n, item in enumerate(chosen, start=1):
            scores.append(item_score(item, scan_perturbed(detector, item, perturbation, seed=seed)))
            if progress is not None:
                progress("clean" if perturbation is None else perturbation.name, n, len(chosen))
        rep = report(scores, threshold=detector.threshold)
        rep["errors"] = sum(s.verdict == "error" for s in scores)
        conditions.append(Condition(perturbation, rep))
    return conditions


def summary(conditions: Sequence[Condition], items: Sequence[MediaItem]) -> dict[str, Any]:
    """JSON-ready rows: each condition's headline figures and their drop against clean on the same items."""
    clean = conditions[0].report
    clean_videos = _video_only(conditions[0], items)
    rows = []
    for c in conditions:
        rep = c.report
        base = clean_videos if c.perturbation is not None and c.perturbation.needs_reencode else clean
        row = {"condition": c.name, "kind": None if c.perturbation is None else c.perturbation.kind,
               "level": None if c.perturbation is None else c.perturbation.level,
               "param": None if c.perturbation is None else c.perturbation.param,
               **_headline(rep)}
        row["auc_drop"] = _drop(_headline(base)["auc"], row["auc"])
        row["families"] = {k: v.get("auc") for k, v in rep.get("per_manipulation", {}).items()}
        rows.append(row)
    return {"threshold": clean.get("threshold"), "rows": rows, "mean_auc_drop_by_level": level_means(rows)}


def level_means(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """The issue's headline: DeeperForensics' seven types' AUC drops averaged per level (only levels that ran all
    seven; mixes and dfdc are other kinds, so they stay out)."""
    by_level: dict[int, list[float]] = {}
    for r in rows:
        if r["kind"] in DEEPERFORENSICS and r["auc_drop"] is not None:
            by_level.setdefault(r["level"], []).append(r["auc_drop"])
    return {str(lv): float(np.mean(v)) for lv, v in sorted(by_level.items()) if len(v) == len(DEEPERFORENSICS)}


def merge(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One result from runs of the same model on the same items, split by condition (two cores: a full grid is
    hours, so it is run in parts and resumed across sessions). Every part starts with its own clean run, which
    must agree: a different model, item count, seed, threshold or clean AUC means the parts are not comparable.
    A condition in several parts is kept once, from the first part."""
    if not results:
        raise ValueError("nothing to merge")
    first = results[0]
    key = ("model", "items", "seed", "threshold")
    for other in results[1:]:
        for k in key:
            if other.get(k) != first.get(k):
                raise ValueError(f"cannot merge runs with different {k}: {first.get(k)!r} vs {other.get(k)!r}")
        if _clean_row(other)["auc"] != _clean_row(first)["auc"]:
            raise ValueError("cannot merge runs whose clean AUCs differ (different items or a changed scan)")
    rows: dict[str, dict[str, Any]] = {}
    reports: dict[str, Any] = {}
    for result in results:
        for row in result["rows"]:
            rows.setdefault(row["condition"], row)
        for name, rep in result.get("reports", {}).items():
            reports.setdefault(name, rep)
    # Grouped by type (in the order types first appear), levels ascending within a type: as one run lists them.
    kinds = list(dict.fromkeys(r["kind"] for r in rows.values() if r["kind"] is not None))
    others = sorted((r for r in rows.values() if r["kind"] is not None),
                    key=lambda r: (kinds.index(r["kind"]), r["level"] if r["kind"] != "mix" else 0))
    merged = [_clean_row(first), *others]
    return {**{k: first.get(k) for k in key}, "rows": merged, "mean_auc_drop_by_level": level_means(merged),
            "reports": reports}


def _clean_row(result: dict[str, Any]) -> dict[str, Any]:
    return next(r for r in result["rows"] if r["kind"] is None)


def _headline(rep: dict[str, Any]) -> dict[str, Any]:
    items = rep.get("items", [])
    reals = [it for it in items if it["label"] == 0 and it["score"] is not None]
    level = rep.get("item_level") or {}
    return {"n": level.get("n"), "auc": level.get("auc"), "auc_95ci": level.get("auc_95ci"),
            "false_fake": (sum(it["score"] >= rep["threshold"] for it in reals) / len(reals)) if reals else None,
            "n_real": len(reals), "no_face": rep.get("n_no_face"), "errors": rep.get("errors", 0),
            "verdicts": rep.get("verdicts")}


def _video_only(clean: Condition, items: Sequence[MediaItem]) -> dict[str, Any]:
    """The clean report restricted to videos (what codec conditions are compared with)."""
    from ..metrics import rank_auc

    rows = [it for it in clean.report.get("items", []) if it["media"] == "video" and it["score"] is not None]
    labels = np.array([it["label"] for it in rows])
    auc = float(rank_auc(labels, np.array([it["score"] for it in rows]))) if len(set(labels)) == 2 else None
    return {"item_level": {"n": len(rows), "auc": auc}, "items": rows, "threshold": clean.report["threshold"]}


def _drop(clean: float | None, value: float | None) -> float | None:
    return None if clean is None or value is None else float(clean - value)
