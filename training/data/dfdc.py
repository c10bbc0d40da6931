"""The DFDC (Deepfake Detection Challenge) layout: videos indexed by a ``metadata.json`` beside them."""

from __future__ import annotations

import json
import logging
import os

from detector.errors import ConfigError

from .files import abs_path, dataset_root, finish_items, is_hidden, media_kind, raise_if_problems
from .items import FAKE, REAL, MediaItem

log = logging.getLogger(__name__)


def from_dfdc(root: str | os.PathLike[str], *, skip_missing: bool = False) -> list[MediaItem]:
    """DFDC training parts: every ``root/**/metadata.json`` indexes the videos beside it.

    Entries look like ``{"abc.mp4": {"label": "FAKE", "split": "train", "original": "xyz.mp4"}}``.

    Group rule: a fake's ``original`` name, a real's own name, so a fake and the real it was made from share a
    group. DFDC metadata carries no actor ids, so different videos of one actor can still land in different
    splits; that leak is the dataset's, not fixable from its metadata.

    Args:
        root: folder holding the ``dfdc_train_part_*`` folders (or one part).
        skip_missing: drop entries whose video is absent (with a warning) instead of raising.

    Raises:
        ConfigError: no metadata.json, unreadable JSON, entries without a REAL/FAKE label, or missing videos.
    """
    root = dataset_root(root)
    metas = sorted(p for p in root.rglob("metadata.json") if not is_hidden(p.relative_to(root)))
    if not metas:
        raise ConfigError(f"no metadata.json under {root} (DFDC layout)")
    items: list[MediaItem] = []
    problems: list[str] = []
    for meta in metas:
        try:
            index = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot read DFDC metadata {meta}: {exc}", path=str(meta)) from exc
        if not isinstance(index, dict):
            raise ConfigError(f"DFDC metadata {meta} must map file names to entries", path=str(meta))
        for name, entry in index.items():
            label = str(entry.get("label", "")).strip().upper() if isinstance(entry, dict) else ""
            if label not in ("REAL", "FAKE"):
                problems.append(f"{meta}: {name!r} has no REAL/FAKE label")
                continue
            original = entry.get("original")
            if label == "FAKE" and not (isinstance(original, str) and original):
                # Still usable, only its group cannot link it to a real.
                log.warning("DFDC fake %s in %s names no original; grouped alone", name, meta)
                original = None
            path = abs_path(meta.parent / name)
            items.append(MediaItem(path=path, label=FAKE if label == "FAKE" else REAL,
                                   group=original if label == "FAKE" and original else name,
                                   manipulation="dfdc" if label == "FAKE" else "none", source="DFDC",
                                   media=media_kind(path) or "video"))
    raise_if_problems(problems, f"bad DFDC metadata entr{'y' if len(problems) == 1 else 'ies'}")
    return finish_items(items, skip_missing=skip_missing, where=f"DFDC metadata under {root}")
