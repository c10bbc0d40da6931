"""The ``real/`` + ``fake/`` folders layout."""

from __future__ import annotations

import os

from detector.errors import ConfigError

from .files import dataset_root, finish_items, media_files, media_kind
from .items import FAKE, REAL, MediaItem


def from_folders(root: str | os.PathLike[str], *, skip_missing: bool = False) -> list[MediaItem]:
    """``root/real/**`` and ``root/fake/**`` (recursive, media files only, hidden files skipped).

    Group rule: the file's parent folder relative to ``real/`` or ``fake/`` when the file is nested, else its stem.
    So ``real/p7/a.png`` and ``fake/p7/b.png`` share group ``p7``, and flat ``real/007.mp4`` and ``fake/007.mp4``
    share group ``007``. A fake in ``fake/<method>/x.mp4`` gets group ``<method>``: all fakes of that folder move
    together (leak-free but coarse), so nest identity folders to split finer.

    Manipulation: the first folder under ``fake/`` when present, else ``"unknown"``. Source: ``root``'s name.

    Args:
        root: dataset folder holding ``real/`` and ``fake/``.
        skip_missing: drop dangling symlinks (with a warning) instead of raising.

    Raises:
        ConfigError: ``real/`` or ``fake/`` missing, no media at all, or dangling files without ``skip_missing``.
    """
    root = dataset_root(root)
    absent = [name for name in ("real", "fake") if not (root / name).is_dir()]
    if absent:
        raise ConfigError(f"folders layout needs {root}/real and {root}/fake; missing: {', '.join(absent)}")
    items = []
    for label, name in ((REAL, "real"), (FAKE, "fake")):
        base = root / name
        for path in media_files(base, recursive=True):
            rel = path.relative_to(base)
            nested = len(rel.parts) > 1
            manipulation = "none" if label == REAL else rel.parts[0] if nested else "unknown"
            items.append(MediaItem(path=path, label=label, group=rel.parent.as_posix() if nested else path.stem,
                                   manipulation=manipulation, source=root.name, media=media_kind(path) or "image"))
    return finish_items(items, skip_missing=skip_missing, where=f"{root}/real, {root}/fake")
