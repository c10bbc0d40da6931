"""Score a labelled set under each perturbation, through the whole product path.

The perturbation acts on the media, before anything else runs: faces are found on the degraded frames, as
on a user's degraded upload. Frame types (colour, blocks, noise, blur, pixelation, JPEG, resize, grey,
flip) act on the frames a scan samples (``Detector.sample``), which are then scanned with
``Detector.scan_frames`` - the same result as scanning a file holding those frames, without writing one.
Codec types (``video``: H.264 at a CRF) re-encode the whole video into a temporary file that is scanned
like any upload; they apply to videos only, and their rows count videos only (the clean row they are
compared with too).

Each condition reports what ``deepfake eval`` reports (AUC with its interval, per manipulation family, the
false-fake rate on reals at the model's threshold), and its drop against the clean run.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from detector.api import Detector
from detector.media import open_media
from detector.results import MediaResult
from detector.video_writer import VideoWriter

from ..data.items import MediaItem
from ..evaluate import ItemScore, report
from .perturbations import DEEPERFORENSICS, Perturbation


@dataclass(frozen=True)
class Condition:
    """One row: a perturbation (``None``: clean) and the report of the items it applies to."""

    perturbation: Perturbation | None
    report: dict[str, Any]

    @property
    def name(self) -> str:
        return "clean" if self.perturbation is None else self.perturbation.name


def applies(perturbation: Perturbation | None, item: MediaItem) -> bool:
    return perturbation is None or not perturbation.needs_reencode or item.media == "video"


def scan_perturbed(detector: Detector, item: MediaItem, perturbation: Perturbation | None, *, seed: int = 0,
                   workdir: Path | None = None) -> MediaResult:
    """The scan of ``item`` degraded by ``perturbation``; a failure is the item's ``error`` result."""
    path = str(item.path)
    try:
        if perturbation is None:
            return detector.scan(path)
        if perturbation.needs_reencode:
            with tempfile.TemporaryDirectory(dir=workdir) as tmp:
                out = Path(tmp) / "perturbed.mp4"
                reencode(path, out, crf=int(perturbation.param))
                return replace(detector.scan(out), path=path)
        kind, frames = detector.sample(path, detector.sampling, limits=detector.config.limits)
        # One seed per frame, so random types (noise, blocks) differ between frames as real noise does.
        degraded = [perturbation.apply(f.image, seed=seed + i) for i, f in enumerate(frames)]
        timestamps = [f.timestamp for f in frames]
        return detector.scan_frames(degraded, name=path, media=kind, timestamps=timestamps)
    except Exception as exc:  # noqa: BLE001 - the batch boundary (Detector.failed -> file_error logs it)
        return detector.failed(path, exc)


def reencode(src: str | Path, dst: str | Path, *, crf: int) -> Path:
    """Every frame of ``src`` through H.264 at ``crf``, at the source's frame rate."""
    with open_media(src) as media, VideoWriter(dst, rate=media.frame_rate or 25, crf=crf) as writer:
        for frame in media.every_frame():
            writer.write(frame.image)
    return Path(dst)


def item_score(item: MediaItem, result: MediaResult) -> ItemScore:
    probs = tuple(float(p.score) for p in result.timeline)
    return ItemScore(item, result.fake_probability, len(probs), probs, (), result.verdict, result.reasons)


def run(detector: Detector, items: Sequence[MediaItem], perturbations: Sequence[Perturbation], *, seed: int = 0,
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
    # The issue's headline: DeeperForensics' seven types averaged per level (only levels that ran all seven).
    by_level: dict[int, list[float]] = {}
    for r in rows:
        if r["kind"] in DEEPERFORENSICS and r["auc_drop"] is not None:
            by_level.setdefault(r["level"], []).append(r["auc_drop"])
    mean_drop = {str(lv): float(np.mean(v)) for lv, v in sorted(by_level.items()) if len(v) == len(DEEPERFORENSICS)}
    return {"threshold": clean.get("threshold"), "rows": rows, "mean_auc_drop_by_level": mean_drop}


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
