"""``deepfake robustness``: how the scan's accuracy holds up under everyday degradations.

    deepfake robustness --data ../shared/data/MANIFEST.csv --split eval --levels 3 5 --out runs/robustness

Writes ``robustness.json`` (every condition's figures and every item's score) and ``robustness.png`` (AUC by
level, one line per type), and prints one row per condition.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .perturbations import DEEPERFORENSICS, PARAMETERS, all_perturbations


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepfake robustness", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="model .onnx with its card beside it (default: bundled)")
    parser.add_argument("--data", nargs="+", required=True, help="dataset specs (manifest CSV or folders)")
    parser.add_argument("--split", help="manifest split to use (e.g. eval)")
    parser.add_argument("--types", nargs="+", choices=sorted(PARAMETERS), default=list(DEEPERFORENSICS),
                        help="perturbation types (default: DeeperForensics' seven)")
    parser.add_argument("--levels", nargs="+", type=int, help="levels to run (default: all a type has)")
    parser.add_argument("--limit", type=int, help="use N items spread evenly over the set (quick looks)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True, help="directory for robustness.json and .png")
    return parser


def plot(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    """AUC against level, one line per type, the clean AUC as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clean = next(r["auc"] for r in rows if r["kind"] is None)
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for kind in dict.fromkeys(r["kind"] for r in rows if r["kind"] is not None):
        pts = sorted((r["level"], r["auc"]) for r in rows if r["kind"] == kind and r["auc"] is not None)
        if pts:
            ax.plot(*zip(*pts), marker="o", label=kind)
    if clean is not None:
        ax.axhline(clean, color="black", linestyle="--", linewidth=1, label=f"clean {clean:.3f}")
    ax.set_xticks(range(1, 6))
    ax.set_xlim(0.5, 5.5)
    ax.set_xlabel("level")
    ax.set_ylabel("item AUC")
    ax.set_ylim(0.4, 1.0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    from detector.api import Detector

    from ..data import load_datasets
    from .harness import run, summary

    args = get_args_parser().parse_args(argv)
    items = load_datasets(args.data, split=args.split)
    if args.limit and args.limit < len(items):  # every k-th item: both labels and every source stay in
        step = len(items) / args.limit
        items = [items[int(i * step)] for i in range(args.limit)]
    perturbations = all_perturbations(tuple(args.types), tuple(args.levels) if args.levels else None)
    detector = Detector.load(args.model)

    def progress(name: str, n: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\r{name}: {n}/{total}", end="", file=sys.stderr, flush=True)
        elif n == total:  # logs: one line per condition
            print(f"{name}: {total} items scanned", file=sys.stderr, flush=True)

    conditions = run(detector, items, perturbations, seed=args.seed, progress=progress)
    result = {"model": detector.model.to_dict(), "items": len(items), "seed": args.seed, **summary(conditions, items),
              "reports": {c.name: c.report for c in conditions}}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "robustness.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(result["rows"], args.out / "robustness.png")
    print(f"\n{'condition':<16} {'param':>7} {'n':>4} {'AUC':>6} {'drop':>6} {'false-fake':>10} {'no face':>7}")
    for r in result["rows"]:
        auc = "-" if r["auc"] is None else f"{r['auc']:.3f}"
        drop = "-" if r["auc_drop"] is None else f"{r['auc_drop']:+.3f}"
        ff = "-" if r["false_fake"] is None else f"{r['false_fake']:.0%}"
        param = "" if r["param"] is None else f"{r['param']:g}"
        print(f"{r['condition']:<16} {param:>7} {r['n'] or 0:>4} {auc:>6} {drop:>6} {ff:>10} {r['no_face'] or 0:>7}")
    for level, drop in result["mean_auc_drop_by_level"].items():
        print(f"DeeperForensics level {level}: mean AUC drop over the 7 types {drop:+.3f}")
    print(f"wrote {args.out / 'robustness.json'} and {args.out / 'robustness.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
