"""Which layout a dataset on disk is in, and loading one or several datasets through the matching adapter."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from detector.errors import ConfigError

from .celebdf import CELEBDF_FOLDERS, from_celebdf
from .dfdc import from_dfdc
from .faceforensics import from_faceforensics
from .files import abs_path
from .folders import from_folders
from .items import MediaItem
from .manifest import from_manifest

SUPPORTED_LAYOUTS = """supported layouts:
  manifest        a .csv with at least path,label columns (or a folder holding MANIFEST.csv)
  FaceForensics++ ROOT/original_sequences/youtube/<comp>/videos, ROOT/manipulated_sequences/<Method>/<comp>/videos
  Celeb-DF        ROOT/Celeb-real, ROOT/YouTube-real, ROOT/Celeb-synthesis (+ List_of_testing_videos.txt)
  folders         ROOT/real/** and ROOT/fake/** (optionally fake/<manipulation>/**)
  DFDC            ROOT/**/metadata.json ({"x.mp4": {"label": "FAKE"|"REAL", "original": ...}})"""

ADAPTERS: dict[str, Callable[..., list[MediaItem]]] = {
    "manifest": from_manifest, "faceforensics": from_faceforensics, "celebdf": from_celebdf,
    "folders": from_folders, "dfdc": from_dfdc,
}
_MANIFEST_NAMES = ("MANIFEST.csv", "manifest.csv")


def detect_layout(spec: str | os.PathLike[str]) -> tuple[str, Path]:
    """Which adapter reads ``spec``: ``(layout name, path to pass it)``.

    Checked in this order: a ``.csv`` file; a folder holding ``MANIFEST.csv``; FaceForensics++
    (``original_sequences``/``manipulated_sequences``); Celeb-DF (``Celeb-real``/``Celeb-synthesis``/
    ``YouTube-real``); folders (``real/`` and ``fake/``); DFDC (any ``metadata.json`` below, searched last as it
    walks the whole tree).

    Raises:
        ConfigError: the path does not exist or matches no layout (the message lists the supported ones).
    """
    path = abs_path(spec)
    if path.is_file():
        if path.suffix.lower() == ".csv":
            return "manifest", path
        raise ConfigError(f"{path} is a file but not a .csv manifest\n{SUPPORTED_LAYOUTS}", path=str(path))
    if not path.is_dir():
        raise ConfigError(f"dataset not found: {path}\n{SUPPORTED_LAYOUTS}", path=str(path))
    for name in _MANIFEST_NAMES:
        if (path / name).is_file():
            return "manifest", path / name
    if (path / "original_sequences").is_dir() or (path / "manipulated_sequences").is_dir():
        return "faceforensics", path
    if any((path / f).is_dir() for f in CELEBDF_FOLDERS):
        return "celebdf", path
    if (path / "real").is_dir() and (path / "fake").is_dir():
        return "folders", path
    if next(path.rglob("metadata.json"), None) is not None:
        return "dfdc", path
    raise ConfigError(f"cannot tell the dataset layout of {path}\n{SUPPORTED_LAYOUTS}", path=str(path))


def load_datasets(specs: Sequence[str | os.PathLike[str]], *, split: str | None = None,
                  limit: int | None = None) -> list[MediaItem]:
    """Items of several dataset specs, in order; ``split`` selects rows of manifest CSVs (other layouts have no
    split column and are loaded whole). ``limit``: N items spread evenly over the set (every k-th, so both
    labels and every source stay in, for quick looks), not the first N."""
    items: list[MediaItem] = []
    for spec in specs:
        manifest_split = split if str(spec).endswith(".csv") and split else None
        items.extend(load_dataset(spec, split=manifest_split) if manifest_split else load_dataset(spec))
    if limit and limit < len(items):
        step = len(items) / limit
        items = [items[int(i * step)] for i in range(limit)]
    return items


def load_dataset(spec: str | os.PathLike[str], **options: object) -> list[MediaItem]:
    """Load a dataset in any supported layout (see :func:`detect_layout`).

    Args:
        spec: a manifest CSV or a dataset folder.
        **options: passed to the adapter (``split=`` for manifests, ``compression=``/``methods=`` for
            FaceForensics++, ``subset=`` for Celeb-DF, ``skip_missing=`` for all).

    Raises:
        ConfigError: unknown layout, an option the detected layout does not take, or anything the adapter refuses.
    """
    layout, path = detect_layout(spec)
    adapter = ADAPTERS[layout]
    try:
        inspect.signature(adapter).bind(path, **options)
    except TypeError as exc:
        raise ConfigError(f"{path} is a {layout} dataset, whose loader does not take {sorted(options)}: {exc}") \
            from exc
    return adapter(path, **options)
