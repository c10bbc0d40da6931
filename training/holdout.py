"""Held-out-source split: a generalisation check that does not touch ``eval``.

A group split keeps identities and pair halves apart, but every *source* still lands on both sides, so
validation rewards cues that only hold within a source (the look of one GAN's portraits, one dataset's
photo quality). Holding whole sources out measures what a model does on footage it has never seen the
like of, which is what the hidden set of real-world fakes asks; it is also how a recipe change can be
judged without tuning to ``../shared/data/eval``.

    python -m training.holdout ../shared/data/MANIFEST.csv --out runs/holdout
    python -m training.default_model --set data=runs/holdout/train.csv out=runs/holdout/model \\
        --eval-data runs/holdout/holdout.csv --eval-split train --out runs/holdout/model/export

writes ``train.csv`` (the rest of the split) and ``holdout.csv``, both with absolute paths, so the
manifests can live anywhere. The default held-out set, for ``../shared/data`` as revised on 2026-12-01
(until then all of FFHQ was held out, which left no high-resolution real portrait in training):

* real portraits the model never saw: 100 of the 400 FFHQ photos (``realorfake_ffhq_5[0-9][0-9].jpg``: 500-599, by file name),
  and whole high-resolution real sources: CelebA-HQ via HFGI, hyperstyle's and PhotoMaker's examples,
  insightface's and deepface's samples; do unseen portraits pass as real?
* ``a312863063/seeprettyface-*``: three StyleGAN generators fine-tuned on other faces, a GAN family
  the model has not seen;
* ``megvii-research/megactor``: a reenactment / talking-head generator the model has not seen, with its
  real drivers;
* about half of the Stable Diffusion 2.1 faces (``sdfd_*_1*.jpg``, by file name);
* the DeepFaceLive pairs of two face models (``dfl_Silwan_Stillwone_*``, ``dfl_Matilda_Bobbie_*``), both
  halves, so swaps are judged against their own real footage on identities never trained on.

For the public sources (``training/data/sources``, built with ``python -m training.data.sources build``), whole
sources of each kind the model is meant to generalise to: everyday photos of every age and ethnicity
(``thlaiquid-ai/demographic-test-images``), old and black-and-white photos (``wangqinghuan/old-photos``,
``KIMGEONUNG/BigColor``), selfies and phone video (``Trainingdata-datamarket/Selfies-and-video-dataset``), group
snapshots (``exadel-inc/CompreFace``), talking-face and webcam clips (``filby89/spectre``,
``intel-iot-devkit/sample-videos``), degraded faces (``wzhouxiff/RestoreFormer``); and fakes of a generator or
tool seen nowhere else: StyleGAN3 (``sklinderton/vit-real-vs-fake-faces``), inswapper/ReSwapper swaps
(``somanchiu/ReSwapper``), HyperLips lip-sync (``semchan/HyperLips``), FaceChain's SD 1.5 portraits
(``modelscope/facechain``), Kolors (``Kwai-Kolors/Kolors``) and one-photo talking heads of AniTalker
(``X-LANCE/AniTalker``), Loopy and OmniHuman-1 (their project pages). Split the built manifest with
``--split ''`` (it has no split column).
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from detector.errors import ConfigError

HOLDOUT_SOURCES = ("deepinsight/insightface", "serengil/deepface", "Tengfei-Wang/HFGI", "yuval-alaluf/hyperstyle",
                   "TencentARC/PhotoMaker", "a312863063/seeprettyface-*", "megvii-research/megactor",
                   *("thlaiquid-ai/demographic-test-images", "wangqinghuan/old-photos", "KIMGEONUNG/BigColor",
                     "Trainingdata-datamarket/Selfies-and-video-dataset", "exadel-inc/CompreFace", "filby89/spectre",
                     "intel-iot-devkit/sample-videos", "wzhouxiff/RestoreFormer", "sklinderton/vit-real-vs-fake-faces",
                     "somanchiu/ReSwapper", "semchan/HyperLips"),
                   # Added 2026-12-07 with the first diffusion and one-photo talking-head sources: one whole
                   # generator of each kind stays unseen (its training siblings: FLUX, SDXL, SD 1.5; Hallo, FLOAT).
                   *("modelscope/facechain", "Kwai-Kolors/Kolors", "X-LANCE/AniTalker"),
                   # Added 2026-12-07 (session 6) with ten more talking-head methods (manifests add4ec5): two of
                   # them, one-photo animations of real people, stay unseen beside AniTalker; the other eight train.
                   *("loopyavatar/loopyavatar.github.io", "omnihuman-lab/omnihuman-lab.github.io"))
HOLDOUT_GROUPS = ("dfl_Silwan_Stillwone_*", "dfl_Matilda_Bobbie_*")
# File-name patterns: part of a source out, part in (the source's look is then not a shortcut by itself).
HOLDOUT_NAMES = ("realorfake_ffhq_5[0-9][0-9].jpg", "sdfd_*_1*.jpg")


@dataclass(frozen=True)
class HoldoutSplit:
    """Row counts written to ``train.csv`` and ``holdout.csv``."""

    train: int
    holdout: int
    train_path: Path
    holdout_path: Path


def _group(row: dict[str, str]) -> str:
    return (row.get("group") or row.get("pair_id") or "").strip()


def is_held_out(row: dict[str, str], sources: Sequence[str], groups: Sequence[str],
                names: Sequence[str] = ()) -> bool:
    """Whether a manifest row's source (``source_repo``), group (``group`` / ``pair_id``) or file name matches
    a pattern."""
    source = (row.get("source_repo") or "").strip()
    group = _group(row)
    name = Path((row.get("path") or "").strip()).name
    return ((bool(source) and any(fnmatch.fnmatchcase(source, p) for p in sources))
            or (bool(group) and any(fnmatch.fnmatchcase(group, p) for p in groups))
            or (bool(name) and any(fnmatch.fnmatchcase(name, p) for p in names)))


def split_manifest(manifest: str | os.PathLike[str], out_dir: str | os.PathLike[str], *,
                   sources: Sequence[str] = HOLDOUT_SOURCES, groups: Sequence[str] = HOLDOUT_GROUPS,
                   names: Sequence[str] = HOLDOUT_NAMES, split: str | None = "train") -> HoldoutSplit:
    """Write ``out_dir/train.csv`` and ``out_dir/holdout.csv`` from the rows of ``split`` in ``manifest``.

    Raises:
        ConfigError: no such manifest, no ``path`` column, or a side left empty (patterns that match
            nothing, or everything).
    """
    manifest = Path(os.path.abspath(manifest))
    if not manifest.is_file():
        raise ConfigError(f"manifest not found: {manifest}", path=str(manifest))
    with manifest.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [(h or "").strip().lower() for h in reader.fieldnames or []]
        reader.fieldnames = header
        if "path" not in header:
            raise ConfigError(f"manifest {manifest} has no path column; header: {header}")
        rows = [row for row in reader if split is None or (row.get("split") or "").strip() == split]
    sides: dict[str, list[dict[str, str]]] = {"train": [], "holdout": []}
    for row in rows:
        path = Path(row["path"].strip())
        row = {**row, "path": str(path if path.is_absolute() else manifest.parent / path)}
        sides["holdout" if is_held_out(row, sources, groups, names) else "train"].append(row)
    empty = [name for name, side in sides.items() if not side]
    if empty:
        raise ConfigError(f"held-out split of {manifest} (split={split!r}) leaves {' and '.join(empty)} empty; "
                          f"sources {list(sources)}, groups {list(groups)}, names {list(names)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, side in sides.items():
        paths[name] = out / f"{name}.csv"
        with paths[name].open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=header)
            writer.writeheader()
            writer.writerows(side)
    return HoldoutSplit(len(sides["train"]), len(sides["holdout"]), paths["train"], paths["holdout"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.holdout", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="folder for train.csv and holdout.csv")
    parser.add_argument("--source", nargs="*", default=list(HOLDOUT_SOURCES),
                        help="source_repo patterns to hold out (fnmatch)")
    parser.add_argument("--group", nargs="*", default=list(HOLDOUT_GROUPS),
                        help="group / pair_id patterns to hold out (fnmatch)")
    parser.add_argument("--name", nargs="*", default=list(HOLDOUT_NAMES),
                        help="file-name patterns to hold out (fnmatch on the base name)")
    parser.add_argument("--split", default="train", help="manifest split to use ('' for all rows)")
    args = parser.parse_args(argv)
    result = split_manifest(args.manifest, args.out, sources=args.source, groups=args.group, names=args.name,
                            split=args.split or None)
    print(f"{result.train} rows -> {result.train_path}\n{result.holdout} rows -> {result.holdout_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
