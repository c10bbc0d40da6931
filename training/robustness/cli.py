"""``deepfake robustness``: how the scan's accuracy holds up under everyday degradations.

    deepfake robustness --data ../shared/data/MANIFEST.csv --split eval --levels 3 5 --out runs/robustness
    deepfake robustness --data ... --types dfdc --mixes 10 --out runs/robustness-dfdc
    deepfake robustness --render runs/robustness
    deepfake robustness --merge runs/robustness runs/robustness-dfdc --out runs/robustness-all

Writes ``robustness.json`` (every condition's figures and every item's score), ``robustness.png`` (AUC by
level, one line per type, mixes as crosses at their strongest part's level) and ``robustness.html`` (the
table, the per-level targets and the plot), and prints one row per condition. ``--mixes N`` adds N random
mixes of 2-3 DeeperForensics frame types at random levels (drawn from ``--seed``, whatever ``--levels``
says). ``--render DIR`` rewrites the PNG and HTML from ``DIR/robustness.json`` without scanning anything;
``--merge DIR...`` joins runs of the same model on the same items (a grid run in parts) into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .perturbations import DEEPERFORENSICS, PARAMETERS, all_perturbations, random_mixes
from .report_html import PNG_NAME  # the page links the plot by this name: one definition

JSON_NAME, HTML_NAME = "robustness.json", "robustness.html"


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepfake robustness", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="model .onnx with its card beside it (default: bundled)")
    # Required unless --render (checked in main: argparse cannot say "one of these modes").
    parser.add_argument("--data", nargs="+", help="dataset specs (manifest CSV or folders)")
    parser.add_argument("--split", help="manifest split to use (e.g. eval)")
    parser.add_argument("--types", nargs="+", choices=sorted(PARAMETERS), default=list(DEEPERFORENSICS),
                        help="perturbation types (default: DeeperForensics' seven; dfdc: DFDC's re-encodings)")
    parser.add_argument("--levels", nargs="+", type=int, help="levels to run (default: all a type has)")
    parser.add_argument("--mixes", type=int, default=0, help="add N random mixes of 2-3 frame types (default 0)")
    parser.add_argument("--limit", type=int, help="use N items spread evenly over the set (quick looks)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="directory for robustness.json, .png and .html")
    parser.add_argument("--render", type=Path, metavar="DIR",
                        help="only rewrite DIR's robustness.png and .html from its robustness.json (no scan)")
    parser.add_argument("--merge", type=Path, nargs="+", metavar="DIR",
                        help="join these runs' robustness.json (same model and items) into --out (no scan)")
    return parser


def plot(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    """AUC against level, one line per type, mixes as crosses, the clean AUC as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clean = next(r["auc"] for r in rows if r["kind"] is None)
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    # Up to 12 types: tab20's colours never repeat (the default cycle has 10); platform steps and DFDC dashed,
    # so the seven DeeperForensics lines (the targets' subject) stand out.
    colours = plt.get_cmap("tab20").colors
    for i, kind in enumerate(dict.fromkeys(r["kind"] for r in rows if r["kind"] not in (None, "mix"))):
        pts = sorted((r["level"], r["auc"]) for r in rows if r["kind"] == kind and r["auc"] is not None)
        if pts:
            ax.plot(*zip(*pts), marker="o", label=kind, color=colours[(2 * i) % 20 + (2 * i) // 20],
                    linestyle="-" if kind in DEEPERFORENSICS else "--")
    # A mix has no level of its own: a cross at its strongest part's level, not a line through unrelated mixes.
    mixes = [(r["level"], r["auc"]) for r in rows if r["kind"] == "mix" and r["auc"] is not None]
    if mixes:
        ax.scatter(*zip(*mixes), marker="x", color="black", label="mixes")
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


def write_views(result: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """``robustness.png`` and ``robustness.html`` in ``out``, from ``result`` (the JSON's content)."""
    from .report_html import render

    png = plot(result["rows"], out / PNG_NAME)
    html = out / HTML_NAME
    html.write_text(render(result, png=png.read_bytes()), encoding="utf-8")
    return png, html


def print_rows(result: dict[str, Any]) -> None:
    width = max([16, *(len(r["condition"]) for r in result["rows"])])
    print(f"\n{'condition':<{width}} {'param':>7} {'n':>4} {'AUC':>6} {'drop':>6} {'false-fake':>10} {'no face':>7}")
    for r in result["rows"]:
        auc = "-" if r["auc"] is None else f"{r['auc']:.3f}"
        drop = "-" if r["auc_drop"] is None else f"{r['auc_drop']:+.3f}"
        ff = "-" if r["false_fake"] is None else f"{r['false_fake']:.0%}"
        param = r["param"] if isinstance(r["param"], str) else "" if r["param"] is None else f"{r['param']:g}"
        print(f"{r['condition']:<{width}} {param:>7} {r['n'] or 0:>4} {auc:>6} {drop:>6} {ff:>10} "
              f"{r['no_face'] or 0:>7}")
    for level, drop in result["mean_auc_drop_by_level"].items():
        print(f"DeeperForensics level {level}: mean AUC drop over the 7 types {drop:+.3f}")


def merge_dirs(directories: Sequence[Path], out: Path) -> int:
    """``--merge``: one JSON, plot and page from several runs' JSONs."""
    from .harness import merge

    result = merge([json.loads((d / JSON_NAME).read_text()) for d in directories])
    out.mkdir(parents=True, exist_ok=True)
    (out / JSON_NAME).write_text(json.dumps(result, indent=2) + "\n")
    png, html = write_views(result, out)
    print_rows(result)
    print(f"wrote {out / JSON_NAME}, {png} and {html}")
    return 0


def render_dir(directory: Path) -> int:
    """``--render``: the views again from a finished run's JSON (a changed plot or page, no rescan)."""
    result = json.loads((directory / JSON_NAME).read_text())
    png, html = write_views(result, directory)
    print(f"wrote {png} and {html}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = get_args_parser()
    args = parser.parse_args(argv)
    if args.render is not None:
        return render_dir(args.render)
    if args.merge:
        if args.out is None:
            parser.error("--merge needs --out")
        return merge_dirs(args.merge, args.out)
    if not args.data or args.out is None:
        parser.error("--data and --out are required (unless --render DIR or --merge DIR...)")
    if args.mixes < 0:
        parser.error("--mixes must be 0 or more")

    from detector.api import Detector

    from ..data import load_datasets
    from .harness import run, summary

    items = load_datasets(args.data, split=args.split, limit=args.limit)
    perturbations = [*all_perturbations(tuple(args.types), tuple(args.levels) if args.levels else None),
                     *random_mixes(args.mixes, seed=args.seed)]
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
    (args.out / JSON_NAME).write_text(json.dumps(result, indent=2) + "\n")
    png, html = write_views(result, args.out)
    print_rows(result)
    print(f"wrote {args.out / JSON_NAME}, {png} and {html}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
