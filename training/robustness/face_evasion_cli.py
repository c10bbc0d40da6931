"""``deepfake face-evasion``: how much random noise makes the face detector miss the face (a ``no_face`` verdict,
so the file is never classified: an evasion).

    deepfake face-evasion --data ../shared/data/MANIFEST.csv --split eval --out runs/face-evasion
    deepfake face-evasion --render runs/face-evasion

Sign noise (every value +-eps) and Gaussian noise (sigma), both on the 0..255 scale, are added to the frames a
scan samples, and the scan's face stage runs on them; items whose clean frames show no face are left out.
Writes ``face_evasion.json`` (every setting's figures and every item's) and ``face_evasion.png`` (evasion rate
by level, one line per kind), and prints one row per setting.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .face_evasion import DEFAULT_EPS, DEFAULT_SIGMA, HIDE_RATE


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepfake face-evasion", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="model .onnx with its card beside it (default: bundled); "
                                                   "its card's recipe sets the sampling and the face stage")
    # Required unless --render (checked in main).
    parser.add_argument("--data", nargs="+", help="dataset specs (manifest CSV or folders)")
    parser.add_argument("--split", help="manifest split to use (e.g. eval)")
    parser.add_argument("--eps", nargs="*", type=float, default=list(DEFAULT_EPS),
                        help="sign-noise L-inf budgets, 0..255 scale, whole levels (none: skip this kind)")
    parser.add_argument("--sigma", nargs="*", type=float, default=list(DEFAULT_SIGMA),
                        help="Gaussian-noise standard deviations, 0..255 scale (none: skip this kind)")
    parser.add_argument("--limit", type=int, help="use N items spread evenly over the set (quick looks)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (>= 0)")
    parser.add_argument("--no-plot", action="store_true", help="skip face_evasion.png")
    parser.add_argument("--out", type=Path, help="directory for face_evasion.json and .png")
    parser.add_argument("--render", type=Path, metavar="DIR",
                        help="only redraw DIR's face_evasion.png from its face_evasion.json (no probing)")
    return parser


def plot(result: dict[str, Any], path: Path) -> Path:
    """Evasion rate (items whose face is lost) against the noise level, one line per kind, 95 % intervals; from
    the JSON's content, so ``--render`` can redraw it without probing again."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for kind, label in (("sign", "sign noise, L-inf eps"), ("gaussian", "Gaussian noise, sigma")):
        rows = sorted((r for r in result["settings"] if r["kind"] == kind and r["n"]), key=lambda r: r["level"])
        if not rows:
            continue
        y = [r["evasion_rate"] for r in rows]
        lo = [max(0.0, r["evasion_rate"] - r["evasion_95ci"][0]) for r in rows]
        hi = [max(0.0, r["evasion_95ci"][1] - r["evasion_rate"]) for r in rows]
        ax.errorbar([r["level"] for r in rows], y, yerr=[lo, hi], marker="o", capsize=3, label=label)
    ax.axhline(HIDE_RATE, color="grey", linestyle=":", linewidth=1)
    # A linear axis: the levels that matter sit between 96 and 255, where a log axis crowds their labels.
    ax.set_xlim(0, 256)
    ax.set_xticks(range(0, 257, 32))
    ax.set_xlabel("noise level (0..255 scale)")
    ax.set_ylabel("items whose face is lost (no_face)")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def table(result: dict[str, Any]) -> str:
    """The printed table: one row per setting, then the noise needed to hide the face."""
    by_label = result["n_with_face_by_label"]
    head = (f"{result['n_with_face']} of {result['n_items']} items show a face when clean ({by_label['fake']} fake, "
            f"{by_label['real']} real; {result['n_no_face_clean']} without a face, {result['n_errors']} unreadable); "
            f"clean per-frame detection {_pct(result['clean_frame_detection_rate'])}")
    columns = (f"{'setting':<13} {'PSNR':>6} {'n':>4} {'lost':>4} {'evasion':>7} {'95% CI':>11} {'fake lost':>10} "
               f"{'real lost':>10} {'orig missed':>11} {'frames w/ face':>14}")
    lines = [head, columns]
    for r in result["settings"]:
        ci = "-" if r["evasion_95ci"] is None else f"{r['evasion_95ci'][0]:.2f}-{r['evasion_95ci'][1]:.2f}"
        db = "-" if r["psnr_db"] is None else f"{r['psnr_db']:.1f}"
        fake, real = r["by_label"]["fake"], r["by_label"]["real"]
        lines.append(f"{r['setting']:<13} {db:>6} {r['n']:>4} {r['lost']:>4} {_pct(r['evasion_rate']):>7} {ci:>11} "
                     f"{fake['lost']:>4}/{fake['n']:<5} {real['lost']:>4}/{real['n']:<5} {r['original_missed']:>11} "
                     f"{_pct(r['frame_detection_rate']):>14}")
    lines.append("lost: no face at all, the scan says no_face (the evasion); orig missed: lost, or only faces the "
                 "noise made up are found")
    lines.append(f"noise needed to hide the face (>= {HIDE_RATE:.0%} of items lose it; '-': not within the tested "
                 "levels):")
    for kind, name in (("sign", "eps"), ("gaussian", "sigma")):
        if kind in result["noise_to_hide"]:
            levels = {k: "-" if v is None else f"{v:g}" for k, v in result["noise_to_hide"][kind].items()}
            lines.append(f"  {kind:<9} {name} {levels['all']:>4}   (fakes {levels['fake']}, reals {levels['real']})")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    from detector.api import Detector

    from ..data import load_datasets
    from .face_evasion import noise_settings, run

    parser = get_args_parser()
    args = parser.parse_args(argv)
    if args.render is not None:
        path = plot(json.loads((args.render / "face_evasion.json").read_text()), args.render / "face_evasion.png")
        print(f"wrote {path}")
        return 0
    if not args.data or args.out is None:
        parser.error("--data and --out are required (unless --render DIR)")
    if args.seed < 0:
        print("--seed must be >= 0", file=sys.stderr)
        return 2
    if not args.eps and not args.sigma:
        print("nothing to run: give --eps or --sigma levels", file=sys.stderr)
        return 2
    items = load_datasets(args.data, split=args.split, limit=args.limit)
    settings = noise_settings(args.eps, args.sigma)
    detector = Detector.load(args.model)

    def progress(n: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\r{n}/{total} items", end="" if n < total else "\n", file=sys.stderr, flush=True)
        elif n == total:
            print(f"{total} items probed", file=sys.stderr, flush=True)
        elif n % max(1, total // 10) == 0:  # logs: a line per tenth (a full eval run takes ~half an hour)
            print(f"{n}/{total} items probed", file=sys.stderr, flush=True)

    report = run(detector, items, settings, seed=args.seed, progress=progress)
    result = {"model": detector.model.to_dict(), "seed": args.seed, "eps": sorted(args.eps),
              "sigma": sorted(args.sigma), "detection": asdict(detector.faces.config.detection),
              "sampling": asdict(detector.recipe.sampling), **report.to_dict()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "face_evasion.json").write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    written = [args.out / "face_evasion.json"]
    if not args.no_plot:
        written.append(plot(result, args.out / "face_evasion.png"))
    print("wrote " + " and ".join(str(p) for p in written))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
