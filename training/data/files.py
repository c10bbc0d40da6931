"""The file checks every dataset adapter shares: listing media on disk and vetting the items a layout names.

Adapters only list and stat files (media are never decoded here). Files that a listing or an index names but
that do not exist are refused (the first few are listed) unless the caller asks to skip them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path, PurePath

from detector.errors import ConfigError
from detector.media import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS

from .items import MediaItem

log = logging.getLogger(__name__)

# Error messages name this many offenders, then a count, so a broken dataset of thousands stays readable.
MAX_LISTED = 5


def abs_path(path: str | os.PathLike[str]) -> Path:
    """``path`` made absolute, with ``~`` expanded."""
    # abspath, not resolve(): keep the caller's symlinked dataset paths as they are.
    return Path(os.path.abspath(Path(path).expanduser()))


def dataset_root(root: str | os.PathLike[str]) -> Path:
    """``root`` as an absolute path, refused unless it is a folder."""
    path = abs_path(root)
    if not path.is_dir():
        raise ConfigError(f"dataset folder not found: {path}", path=str(path))
    return path


def media_kind(path: PurePath) -> str | None:
    """``"video"`` or ``"image"`` by the file extension, ``None`` for anything else."""
    ext = path.suffix.lower()
    return "video" if ext in VIDEO_EXTENSIONS else "image" if ext in IMAGE_EXTENSIONS else None


def is_hidden(rel: Path) -> bool:
    """Whether any part of the relative path starts with a dot."""
    # macOS AppleDouble files (._x.mp4) and .cache folders look like media but are not.
    return any(part.startswith(".") for part in rel.parts)


def media_files(folder: Path, *, recursive: bool) -> list[Path]:
    """Media files under ``folder`` (dangling symlinks included, so the missing-file check reports them)."""
    if not folder.is_dir():
        return []
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in found if media_kind(p) and not is_hidden(p.relative_to(folder)) and not p.is_dir())


def listing(things: Sequence[object]) -> str:
    """The first few of ``things``, comma-separated, with how many more were left out."""
    shown = ", ".join(str(t) for t in things[:MAX_LISTED])
    return shown + (f" (and {len(things) - MAX_LISTED} more)" if len(things) > MAX_LISTED else "")


def raise_if_problems(problems: list[str], what: str) -> None:
    """Refuse with the count and the first few ``problems`` when there are any."""
    if problems:
        raise ConfigError(f"{len(problems)} {what}: " + "; ".join(problems[:MAX_LISTED])
                          + (f"; (and {len(problems) - MAX_LISTED} more)" if len(problems) > MAX_LISTED else ""))


def finish_items(items: list[MediaItem], *, skip_missing: bool, where: str) -> list[MediaItem]:
    """Check existence, drop or refuse missing files, refuse duplicates, sort by path.

    Args:
        items: what the adapter read.
        skip_missing: drop items whose file does not exist (with a logged warning) instead of raising.
        where: the dataset as the messages name it.

    Raises:
        ConfigError: no items, duplicate paths, or missing files without ``skip_missing``.
    """
    if not items:
        raise ConfigError(f"no media items found in {where}")
    seen: set[Path] = set()
    dupes: list[Path] = []
    for it in items:
        if it.path in seen:
            dupes.append(it.path)
        seen.add(it.path)
    if dupes:
        raise ConfigError(f"{len(dupes)} duplicate path(s) in {where}: {listing(dupes)}")
    missing = [it.path for it in items if not it.path.is_file()]
    if missing:
        message = f"{len(missing)} of {len(items)} file(s) named by {where} do not exist: {listing(missing)}"
        if not skip_missing:
            raise ConfigError(message + "; pass skip_missing=True to drop them")
        log.warning("%s; dropped (skip_missing=True)", message)
        gone = set(missing)
        items = [it for it in items if it.path not in gone]
    return sorted(items, key=lambda it: str(it.path))
