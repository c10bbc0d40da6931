"""The manifest CSV layout: one row per file with at least ``path,label``."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from detector.errors import ConfigError

from .files import abs_path, finish_items, media_kind, raise_if_problems
from .items import FAKE, MEDIA_KINDS, REAL, MediaItem

_LABELS = {"real": REAL, "0": REAL, "fake": FAKE, "1": FAKE}


def parse_label(value: str | int) -> int:
    """``real|fake|0|1`` (case-insensitive, surrounding spaces ignored) -> 0 or 1.

    Raises:
        ConfigError: anything else (an empty cell included).
    """
    key = str(value).strip().lower()
    if key not in _LABELS:
        raise ConfigError(f"label must be one of real, fake, 0, 1 (any case), got {value!r}")
    return _LABELS[key]


def _cell(row: dict[str | None, str | None], key: str) -> str:
    # DictReader yields None for cells of short rows.
    return (row.get(key) or "").strip()


def from_manifest(csv_path: str | os.PathLike[str], *, root: str | os.PathLike[str] | None = None,
                  split: str | None = None, skip_missing: bool = False) -> list[MediaItem]:
    """A CSV manifest with a header containing at least ``path,label``.

    Optional columns: ``group`` (or ``pair_id``), ``manipulation``, ``split``, ``media``, ``source_repo``,
    ``family`` (the kind of fake; else from the manipulation's name); any others are ignored. Header names are matched case-insensitively.

    * ``label``: ``real|fake|0|1``, any case.
    * ``path``: relative to ``root`` (default: the CSV's folder), or absolute.
    * group: the ``group`` cell, else a non-empty ``pair_id``, else the file stem.
    * manipulation: the cell, else ``"unknown"`` for fakes; reals are ``"none"`` (a real row naming a method is
      refused as contradictory).
    * media: the cell (``video``/``image``), else from the file extension.
    * source: the ``source_repo`` cell when non-empty, else the manifest's file stem.

    Args:
        csv_path: the manifest.
        root: folder the relative paths start from.
        split: keep only rows whose ``split`` cell equals this.
        skip_missing: drop rows whose file does not exist (with a warning) instead of raising.

    Raises:
        ConfigError: unreadable CSV, missing columns, bad cells (first few rows listed), duplicate paths, a split
            value no row has, or missing files without ``skip_missing``.
    """
    csv_path = abs_path(csv_path)
    if not csv_path.is_file():
        raise ConfigError(f"manifest not found: {csv_path}", path=str(csv_path))
    base = abs_path(root) if root is not None else csv_path.parent
    items: list[MediaItem] = []
    problems: list[str] = []
    splits_seen: set[str] = set()
    # utf-8-sig: spreadsheet exports start with a BOM that would otherwise stick to the first column name.
    with csv_path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [(h or "").strip().lower() for h in reader.fieldnames or []]
        reader.fieldnames = header
        absent = [c for c in ("path", "label") if c not in header]
        if absent:
            raise ConfigError(f"manifest {csv_path} lacks column(s) {', '.join(absent)}; header: {header}")
        if split is not None and "split" not in header:
            raise ConfigError(f"split={split!r} given but manifest {csv_path} has no split column")
        for line, row in enumerate(reader, start=2):
            if split is not None:
                splits_seen.add(_cell(row, "split"))
                if _cell(row, "split") != split:
                    continue
            try:
                items.append(_manifest_item(row, base=base, source=csv_path.stem))
            except ConfigError as exc:
                problems.append(f"line {line}: {exc.message}")
    raise_if_problems(problems, f"bad row(s) in {csv_path}")
    if split is not None and not items:
        raise ConfigError(f"no rows with split={split!r} in {csv_path}; splits present: {sorted(splits_seen)}")
    return finish_items(items, skip_missing=skip_missing, where=str(csv_path))


def _manifest_item(row: dict[str | None, str | None], *, base: Path, source: str) -> MediaItem:
    rel = _cell(row, "path")
    if not rel:
        raise ConfigError("empty path")
    label = parse_label(_cell(row, "label"))
    path = abs_path(base / rel)
    manipulation = _cell(row, "manipulation")
    if label == REAL:
        if manipulation.lower() not in ("", "none"):
            raise ConfigError(f"real row with manipulation {manipulation!r}")
        manipulation = "none"
    elif manipulation.lower() in ("", "none"):
        manipulation = "unknown"
    media = _cell(row, "media").lower() or media_kind(path)
    if media not in MEDIA_KINDS:
        raise ConfigError(f"media must be video or image, got {media!r} for {rel}" if media
                          else f"cannot tell video from image for {rel}: add a media column")
    group = _cell(row, "group") or _cell(row, "pair_id") or path.stem
    return MediaItem(path=path, label=label, group=group, manipulation=manipulation,
                     source=_cell(row, "source_repo") or source, media=media, family=_cell(row, "family").lower())
