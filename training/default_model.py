"""The recipe that produces the bundled default model, in one command::

    python -m training.default_model            # = deepfake train-default

1. train the shipped recipe, ``TrainConfig()`` (``--set`` overrides it; resumes if interrupted);
2. export ``best.pt`` to ONNX and score the held-out validation groups with the ONNX runtime;
3. fit temperature scaling on those validation faces, classes and items balanced (never on eval);
4. re-export with the calibration and the training-data summary in the model card, and, given held-out sources
   (``--abstain-on``), choose where the judge abstains on them (``max_novelty``, :mod:`training.novelty`);
5. evaluate on ``../shared/data`` split ``eval`` (per source, image- and video-level) and record the
   metrics in the card;
6. ``--ship`` copies ``model.onnx`` + ``model.json`` into ``detector/models/default/``.

``--checkpoint CKPT`` skips step 1 and exports ``CKPT`` instead (any run's ``best.pt``); the config still names
the data, the validation groups (``split_seed``, else ``seed``) and the crop cache.

``--recalibrate MODEL.onnx`` skips steps 1-2: it refits an exported model's calibration (step 3) on the
validation groups of the config its card records (``--set`` overrides it, e.g. ``cache=``), scored through
the card's scan recipe as it stands, then re-measures (step 5). For a card whose scan recipe changed after
the fit (v1.2.2 turned on image mirroring over v1.2.1's calibration) when the checkpoint is gone.
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from detector.classifier import Classifier
from detector.modelcard import Calibration, ModelCard
from detector.recipe import ScanConfig

from .calibrate import balanced_weights, fit_calibration
from .config import parse_pairs
from .crops import TRAIN_FACES_PER_FRAME
from .evaluate import report, score_items
from .export import export
from .recipe_data import SOURCES_COMMIT, RecipeData
from .train import TrainConfig, apply_overrides, exported_checkpoint, load_items, train

REPO = Path(__file__).resolve().parents[1]
SHIP_DIR = REPO / "detector" / "models" / "default"
NAME = "deepfake-detector-default"


def _licences(items) -> dict[str, int]:
    out: dict[str, int] = {}
    for it in items:
        out[it.source] = out.get(it.source, 0) + 1
    return out


def source_manifests(items, *, commit: str | None = None) -> dict[str, dict[str, Any]]:
    """The committed source manifests (``training/data/sources/manifests``) behind the items, with each one's
    sha256 and how many of its files were used: the card says what it was trained on by manifest. ``commit``:
    read the manifests as of that commit (the recipe's data is built from pinned manifests,
    :data:`training.recipe_data.SOURCES_COMMIT`), not as they stand in the working tree."""
    import hashlib
    import tempfile

    from .data.sources.rows import MANIFEST_DIR, manifest_name
    from .recipe_data import manifests_at

    def listed(folder: Path) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for source, n in sorted(_licences(items).items()):
            path = folder / manifest_name(source) if "/" in source else None
            if path is not None and path.is_file():
                out[source] = {"manifest": (MANIFEST_DIR / path.name).relative_to(REPO).as_posix(), "files_used": n,
                               "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                               **({"commit": commit} if commit else {})}
        return out

    if commit is None:
        return listed(MANIFEST_DIR)
    with tempfile.TemporaryDirectory() as tmp:  # one git archive of the folder, not a git call per manifest
        return listed(manifests_at(commit, Path(tmp)))


def calibrate_on(scores) -> Calibration:
    """Temperature scaling on validation media, each class half the weight and each item one vote in its class.

    Real media only (validation reals and fakes, each face labelled as its item): the synthetic SBI task is
    easier than real fakes and would make the probabilities overconfident. Item-balanced, so a 32-frame
    video does not outweigh 32 photos. No bias term: a balanced Platt fit on held-out sources moved the
    boundary towards "fake" and called more unseen real portraits fake (``training/EXPERIMENTS.md``), and calling
    real photos fake is what this model must stop doing. Validation groups share their sources with training,
    so a bias fitted there does not transfer to unseen media.
    """
    y = np.array([s.item.label for s in scores for _ in s.face_logits])
    z = np.array([v for s in scores for v in s.face_logits])
    groups = np.array([i for i, s in enumerate(scores) for _ in s.face_logits])
    return fit_calibration(z, y, weights=balanced_weights(y, groups))


def _checkpoint_summary(path: Path) -> dict[str, Any]:
    """What the card's recipe says about a checkpoint exported without training it here."""
    import torch

    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    return {"exported_from": str(path), "epoch": ckpt.get("epoch")}


def build(config: TrainConfig, *, eval_data: Sequence[str], eval_split: str | None, version: str,
          out_dir: Path, ship: bool = False, checkpoint: Path | None = None,
          abstain_on: Sequence[str] = ()) -> dict[str, Any]:
    from .data import group_split, summarize

    summary = train(config) if checkpoint is None else _checkpoint_summary(checkpoint)
    items = load_items(config)
    val_items = group_split(items, val_fraction=config.val_fraction, seed=config.validation_seed)["val"]
    best = exported_checkpoint(config) if checkpoint is None else checkpoint
    novelty = _fit_novelty(best, config)
    raw_onnx, _ = export(best, out_dir / "uncalibrated", name=NAME, version=version, novelty=novelty)
    calibration = calibrate_on(_validation_scores(Classifier.load(raw_onnx), config, val_items))
    training_data = {"summary": summarize(items), "validation": summarize(val_items),
                     "sources": _licences(items),
                     "source_manifests": source_manifests(items, commit=_pinned_manifests(config)),
                     "synthetic": "self-blended fakes from every real training face; the recipe's aligned fakes "
                                  "(self-made/* sources: self-blended clips, mouth-resynthesised clips, "
                                  "cross-identity swaps of stills) of every real training clip and still",
                     "terms": "research/non-commercial (see ../shared/data/MANIFEST.csv and the source manifests' "
                              "licence columns)"}
    onnx_path, card_path = export(best, out_dir, name=NAME, version=version, calibration=calibration,
                                  extra={"training_data": training_data}, novelty=novelty)
    if abstain_on:
        # Where to abstain is chosen on held-out sources (never eval) before eval is measured, so the card's
        # metrics are the verdicts the shipped scan recipe gives.
        from .novelty import choose_abstention

        choose_abstention(onnx_path, abstain_on, cache=config.cache, write=True)
    metrics = _measure(Classifier.load(onnx_path), config, val_items, eval_data=eval_data, eval_split=eval_split)
    card = ModelCard.load(card_path)
    card = replace(card, metrics=metrics, recipe={**card.recipe, "command": "python -m training.default_model",
                                                  "train_summary": {k: v for k, v in summary.items() if k != "data"}})
    card.save(card_path)
    if ship:
        _ship(onnx_path, card)
    return {"onnx": str(onnx_path), "card": str(card_path), "calibration": calibration.__dict__, "metrics": metrics}


def _pinned_manifests(config: TrainConfig) -> str | None:
    """The commit of the source manifests the config's data was built from: the recipe's pinned one when the
    config trains on the recipe's data (``python -m training.recipe_data``), else the working tree's."""
    return SOURCES_COMMIT if tuple(config.data) == RecipeData().training() else None


def _fit_novelty(checkpoint: Path, config: TrainConfig):
    """The novelty fit (:mod:`training.novelty`) on the checkpoint's features of its training faces (reals and
    fakes as cached, without augmentation or self-blending)."""
    from .export import load_checkpoint
    from .model import checkpoint_backbone
    from .novelty import fit_on_faces
    from .train import prepare_faces

    model, _, ckpt = load_checkpoint(checkpoint)
    norm = checkpoint_backbone(ckpt)
    train_faces, _, _ = prepare_faces(config, progress=False)
    return fit_on_faces(model, train_faces, size=config.align_size, mean=tuple(norm["mean"]), std=tuple(norm["std"]),
                        seed=config.seed)


def _validation_scores(clf: Classifier, config: TrainConfig, val_items):
    # Validation items reuse the training crop cache (its 4-largest-faces-per-frame cap).
    return score_items(clf, val_items, cache_root=config.cache, config=config.scan,
                       max_faces_per_frame=TRAIN_FACES_PER_FRAME)


def _measure(clf: Classifier, config: TrainConfig, val_items, *, eval_data: Sequence[str],
             eval_split: str | None) -> dict[str, Any]:
    """The card's metrics: validation groups, and ``eval_data`` exactly as ``deepfake scan`` judges it."""
    from .data import load_datasets

    eval_items = load_datasets(eval_data, split=eval_split)
    metrics: dict[str, Any] = {"validation": report(_validation_scores(clf, config, val_items))}
    if eval_items:
        metrics["eval"] = report(score_items(clf, eval_items, cache_root=config.cache))
    for rep in metrics.values():
        rep.pop("items", None)
    return metrics


def _ship(onnx_path: Path, card: ModelCard) -> None:
    SHIP_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copy(onnx_path, SHIP_DIR / "model.onnx")
    replace(card, recipe={**card.recipe, "file": "model.onnx"}).save(SHIP_DIR / "model.json")


def recalibrate(onnx_path: Path, *, overrides: Sequence[str] = (), eval_data: Sequence[str],
                eval_split: str | None, version: str, out_dir: Path, ship: bool = False,
                scan: Sequence[str] = ()) -> dict[str, Any]:
    """Refit ``onnx_path``'s calibration for its card's scan recipe, on the validation groups of the training
    config its card records (``overrides`` applied), and write ``out_dir/<NAME>.onnx`` + ``.json`` as
    ``version`` with fresh metrics. The graph is copied unchanged, so its sha256 (and logits) stay.

    ``scan``: ``KEY=VALUE`` changes of the card's scan recipe first (:class:`detector.recipe.ScanConfig` fields, e.g.
    ``combine_persons=mean_odds``), recorded in the new card."""
    from .data import group_split

    clf = Classifier.load(onnx_path)
    changes = ScanConfig(**parse_pairs(scan, allowed={f.name for f in fields(ScanConfig)}, flag="--scan"))
    if changes.overrides():
        clf = Classifier(clf.path, replace(clf.card, scan=changes.apply(clf.card.scan)))
    if "train_config" not in clf.card.recipe:
        raise ValueError(f"{onnx_path}: its card records no training config, so its validation groups are unknown")
    config = apply_overrides(TrainConfig.from_record(clf.card.recipe["train_config"]), overrides)
    val_items = group_split(load_items(config), val_fraction=config.val_fraction,
                            seed=config.validation_seed)["val"]
    # Face logits are the graph's (mirror-averaged where the scan recipe says), before any calibration.
    calibration = calibrate_on(_validation_scores(clf, config, val_items))
    out_dir.mkdir(parents=True, exist_ok=True)
    new_onnx = out_dir / f"{NAME}.onnx"
    shutil.copy(onnx_path, new_onnx)
    previous = clf.card
    card = replace(previous, version=version, calibration=calibration,
                   recipe={**previous.recipe, "recalibrated": {
                       "from": f"v{previous.version} (sha256 {previous.sha256})",
                       "previous_calibration": previous.calibration.__dict__,
                       **({"scan_changes": changes.overrides()} if changes.overrides() else {}),
                       "command": " ".join(["python -m training.default_model --recalibrate", str(onnx_path),
                                            *(["--scan", *scan] if scan else []), "--version", version])}})
    card_path = card.save(out_dir / f"{NAME}.json")
    metrics = _measure(Classifier.load(new_onnx), config, val_items, eval_data=eval_data, eval_split=eval_split)
    card = replace(card, metrics=metrics)
    card.save(card_path)
    if ship:
        _ship(new_onnx, card)
    return {"onnx": str(new_onnx), "card": str(card_path), "calibration": calibration.__dict__, "metrics": metrics}


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training.default_model", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, help="JSON of overrides of the shipped recipe (default: none)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides")
    parser.add_argument("--eval-data", nargs="*", default=["../shared/data/MANIFEST.csv"])
    parser.add_argument("--eval-split", default="eval")
    parser.add_argument("--version", default="1.2.3")
    parser.add_argument("--abstain-on", nargs="*", default=[], metavar="CSV",
                        help="held-out sources (never eval) to choose max_novelty on (training.novelty) before eval "
                             "is measured, e.g. runs/data/shared/holdout.csv; default: none, never abstain")
    parser.add_argument("--out", type=Path, default=Path("runs/default/export"))
    parser.add_argument("--ship", action="store_true", help="copy the result into detector/models/default/")
    parser.add_argument("--checkpoint", type=Path, help="export this checkpoint instead of training")
    parser.add_argument("--scan", nargs="*", default=[], metavar="KEY=VALUE",
                        help="with --recalibrate: change the card's scan recipe first (detector.recipe.ScanConfig "
                             "fields, e.g. combine_persons=mean_odds)")
    parser.add_argument("--recalibrate", type=Path, metavar="MODEL.onnx",
                        help="refit this exported model's calibration for its card's scan recipe (no training); "
                             "the validation groups come from the training config its card records")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = get_args_parser()
    args = parser.parse_args(argv)
    if args.recalibrate is not None and args.checkpoint is not None:
        parser.error("--recalibrate refits an exported model; --checkpoint exports one: give one of them")
    if args.recalibrate is not None:
        result = recalibrate(args.recalibrate, overrides=args.set, eval_data=args.eval_data,
                             eval_split=args.eval_split, version=args.version, out_dir=args.out, ship=args.ship,
                             scan=args.scan)
        print(json.dumps({k: v for k, v in result.items() if k != "metrics"}, indent=2))
        return 0
    missing = [p for p in args.abstain_on if not Path(p).exists()]
    if missing:  # found out now, not after hours of training
        parser.error(f"--abstain-on {' '.join(missing)}: not found (`python -m training.recipe_data` writes the "
                     f"held-out parts)")
    config = apply_overrides(TrainConfig.load(args.config) if args.config else TrainConfig(), args.set)
    result = build(config, eval_data=args.eval_data, eval_split=args.eval_split, version=args.version,
                   out_dir=args.out, ship=args.ship, checkpoint=args.checkpoint, abstain_on=args.abstain_on)
    print(json.dumps({k: v for k, v in result.items() if k != "metrics"}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
