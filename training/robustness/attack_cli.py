"""``deepfake attack``: white-box FGSM / PGD on the classifier's face crops, both directions.

    deepfake attack --checkpoint runs/default/best.pt --data ../shared/data/MANIFEST.csv --split eval \\
        --eps 1 2 4 8 --steps 10 --out runs/attack.json

The checkpoint is the network the model file was exported from (its logits are checked against the ONNX
model's on the same crops first); calibration and threshold come from the model's card. Crops are the eval
faces as the scan makes them (the crop cache of ``deepfake eval``), ``--faces-per-item`` per item.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

# A checkpoint and its ONNX export agree to ~1e-6 (export parity, PARITY_ATOL 1e-4 in training.export); a
# different network differs by whole logits. 1e-2 separates the two with room for other CPUs' kernels.
SAME_MODEL_ATOL = 1e-2


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepfake attack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, required=True, help="best.pt the model was exported from")
    parser.add_argument("--model", type=Path, help="the exported .onnx with its card (default: bundled)")
    parser.add_argument("--data", nargs="+", required=True, help="dataset specs (manifest CSV or folders)")
    parser.add_argument("--split", help="manifest split to use (e.g. eval)")
    parser.add_argument("--eps", nargs="+", type=float, default=[1, 2, 4, 8], help="L-inf budgets, 0..255 scale")
    parser.add_argument("--steps", type=int, default=10, help="PGD steps (FGSM always runs too)")
    parser.add_argument("--faces-per-item", type=int, default=1)
    parser.add_argument("--cache", default="~/.cache/deepfake-detector/crops")
    parser.add_argument("--transfer", action="store_true",
                        help="also attack the photos themselves and re-scan them (PGD; as is and after JPEG 90)")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from detector.classifier import Classifier

    from ..crops import CropCache, CropCacheConfig
    from ..data import load_datasets
    from ..export import load_checkpoint
    from .attacks import Attack, evaluate, logits

    args = get_args_parser().parse_args(argv)
    classifier = Classifier.default() if args.model is None else Classifier.load(args.model)
    card = classifier.card
    items = load_datasets(args.data, split=args.split)
    cache = CropCache(args.cache, CropCacheConfig.from_recipe(card.scan, max_faces_per_frame=None))
    cache.build(items, progress=sys.stderr.isatty())
    crops, labels = [], []
    for item in items:
        faces = cache.load(item)
        if faces is None or not len(faces):
            continue
        order = np.argsort(-faces.sizes, kind="stable")[:args.faces_per_item]  # the largest faces first
        crops.extend(faces.crops[order])
        labels.extend([item.label] * len(order))
    crops_arr, labels_arr = np.stack(crops), np.array(labels)
    model, _, _ = load_checkpoint(args.checkpoint)
    mean, std = float(card.mean[0]), float(card.std[0])
    diff = float(np.abs(logits(model, crops_arr[:16], mean=mean, std=std) - classifier.logits(crops_arr[:16])).max())
    if diff > SAME_MODEL_ATOL:
        print(f"the checkpoint is not this model: logits differ by {diff:.3f} (> {SAME_MODEL_ATOL})", file=sys.stderr)
        return 2
    attacks = [a for eps in args.eps for a in (Attack.fgsm(eps), Attack(eps=eps, steps=args.steps))]
    results = evaluate(model, crops_arr, labels_arr, attacks, calibration=card.calibration, threshold=card.scan.threshold,
                       mean=mean, std=std)
    print(f"{len(crops_arr)} crops ({int(labels_arr.sum())} fake), model {card.name} {card.version}; "
          f"checkpoint-vs-ONNX logit difference {diff:.1e}")
    print(f"{'attack':<14} {'direction':<8} {'n':>4} {'clean acc':>9} {'robust acc':>10} {'success':>8} {'L-inf':>6}")
    for r in results:
        success = "-" if r.success_rate is None else f"{r.success_rate:.0%}"
        print(f"{r.attack:<14} {r.direction:<8} {r.n:>4} {r.clean_accuracy:>9.0%} {r.robust_accuracy:>10.0%} "
              f"{success:>8} {r.mean_linf:>6.1f}")
    transferred = _transfer(args, items, model, classifier, card) if args.transfer else []
    if args.out:
        args.out.write_text(json.dumps({"model": {"name": card.name, "version": card.version, "sha256": card.sha256},
                                        "crops": len(crops_arr), "parity": diff,
                                        "results": [asdict(r) for r in results], "transfer": transferred},
                                       indent=2) + "\n")
    return 0


def _transfer(args: argparse.Namespace, items: list, model, classifier, card) -> list[dict]:
    """PGD on each photo's largest face, warped back into the photo, re-scanned (and after JPEG 90)."""
    from detector.api import Detector
    from detector.media import read_frames

    from .attacks import Attack, direction_stats
    from .transfer import transfer

    detector = Detector(classifier)
    photos = [it for it in items if it.media == "image"]
    settings = [(eps, quality) for eps in args.eps for quality in (None, 90)]
    outcomes: dict[tuple[float, int | None], list[tuple]] = {setting: [] for setting in settings}
    for item in photos:
        _, frames = read_frames(item.path)  # read and scanned once per photo, for every budget and re-compression
        clean = detector.scan_image(frames[0].image)
        for eps, quality in settings:
            out = transfer(detector, model, frames[0].image, item.label, Attack(eps=eps, steps=args.steps),
                           jpeg_quality=quality, clean=clean)
            if out.clean_probability is None or out.attacked_probability is None:
                continue
            right = (out.clean_probability >= card.scan.threshold) == bool(item.label)
            still = (out.attacked_probability >= card.scan.threshold) == bool(item.label)
            outcomes[eps, quality].append((item.label, right, still, out.linf))
    rows = []
    for eps, quality in settings:
        labels, right, still, linf = (np.array([o[i] for o in outcomes[eps, quality]]) for i in range(4))
        for stats in direction_stats(labels, right, still):
            rows.append({"attack": f"pgd{args.steps}-eps{eps:g}", "jpeg": quality, "direction": stats.direction,
                         "n": stats.n, "clean_accuracy": stats.clean_accuracy,
                         "robust_accuracy": stats.robust_accuracy, "success_rate": stats.success_rate,
                         "max_linf": float(linf[labels == stats.label].max(initial=0.0))})
    print("through the pipeline (photos: attack the crop, warp it back, re-scan):")
    for r in rows:
        success = "-" if r["success_rate"] is None else f"{r['success_rate']:.0%}"
        robust = "-" if r["robust_accuracy"] is None else f"{r['robust_accuracy']:.0%}"
        print(f"  {r['attack']:<12} jpeg {r['jpeg']!s:<4} {r['direction']:<8} n {r['n']:>3}  robust acc {robust:>4}"
              f"  success {success:>4}")
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
