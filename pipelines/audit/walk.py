"""Find the files under the audit roots: include/exclude globs, hidden files optional, no symlink loops.

Directory symlinks are followed by default (archives often link shared folders in), and each directory
is entered once, by its ``(st_dev, st_ino)`` identity: a link back to an ancestor, or two links to the
same folder, cannot make the walk loop or list a file twice under two directory paths. Files are listed
under the path the walk reached them by; a symlinked *file* is its own entry and the content hash later
folds it into the original.

Patterns are ``fnmatch`` globs matched against the path relative to its root (``/``-separated) and
against the bare name, so ``*.tmp``, ``cache`` and ``raw/2019/*`` all do what they look like. ``*`` also
crosses ``/`` (``fnmatch`` semantics).
"""

from __future__ import annotations

import fnmatch
import logging
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from detector.errors import ConfigError

log = logging.getLogger("deepfake.audit")


@dataclass(frozen=True)
class WalkOptions:
    """Attributes:
        include: if any, a file must match one of these globs.
        exclude: files and directories matching any of these are left out (directories are not entered).
        hidden: also walk names starting with ``.``.
        follow_symlinks: enter symlinked directories and list symlinked files (loops are still cut).
        since_ns: only files modified after this time (``st_mtime_ns``).
    """

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    hidden: bool = False
    follow_symlinks: bool = True
    since_ns: int | None = None


@dataclass(frozen=True)
class FoundFile:
    """One file the walk reached; ``error`` = ``(code, message)`` when it cannot even be looked at."""

    path: str
    size: int = 0
    mtime_ns: int = 0
    inode: int = 0
    error: tuple[str, str] | None = None


def _matches(rel: str, name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(name, p) for p in patterns)


def walk(roots: Sequence[str | os.PathLike[str]], options: WalkOptions = WalkOptions()) -> Iterator[FoundFile]:
    """Yield every file under ``roots`` that passes ``options``, depth first, names sorted.

    Example:
        >>> files = list(walk(["archive/"], WalkOptions(exclude=("*.tmp",))))  # doctest: +SKIP
    """
    seen_dirs: set[tuple[int, int]] = set()
    for root in roots:
        root_path = os.path.abspath(root)
        try:
            st = os.stat(root_path)
        except OSError as exc:
            raise ConfigError(f"cannot audit {root}: {exc.strerror or exc}") from exc
        if stat.S_ISDIR(st.st_mode):
            yield from _walk_dir(root_path, options, seen_dirs)
        elif stat.S_ISREG(st.st_mode):
            name = os.path.basename(root_path)
            found = _file(root_path, name, name, st, options)
            if found is not None:
                yield found


def _selected(rel: str, name: str, options: WalkOptions) -> bool:
    if options.include and not _matches(rel, name, options.include):
        return False
    return not (options.exclude and _matches(rel, name, options.exclude))


def _file(path: str, rel: str, name: str, st: os.stat_result, options: WalkOptions) -> FoundFile | None:
    if not _selected(rel, name, options):
        return None
    if options.since_ns is not None and st.st_mtime_ns <= options.since_ns:
        return None
    return FoundFile(path, st.st_size, st.st_mtime_ns, st.st_ino)


def _walk_dir(root: str, options: WalkOptions, seen_dirs: set[tuple[int, int]]) -> Iterator[FoundFile]:
    stack = [(root, "")]
    while stack:
        directory, rel_dir = stack.pop()
        try:
            st = os.stat(directory)
            identity = (st.st_dev, st.st_ino)
            if identity in seen_dirs:  # a symlink loop, or a second link to a folder already walked
                log.debug("already walked %s (same directory as an earlier path)", directory)
                continue
            seen_dirs.add(identity)
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except PermissionError as exc:
            yield FoundFile(directory, error=("permission_denied", f"directory cannot be listed: {exc.strerror}"))
            continue
        except FileNotFoundError:  # removed while we walk
            continue
        subdirs = []
        for entry in entries:
            name = entry.name
            if name.startswith(".") and not options.hidden:
                continue
            rel = f"{rel_dir}{name}"
            try:
                is_link = entry.is_symlink()
                if is_link and not options.follow_symlinks:
                    continue
                if entry.is_dir():
                    if not (options.exclude and _matches(rel, name, options.exclude)):
                        subdirs.append((entry.path, rel + "/"))
                    continue
                if not entry.is_file():
                    if is_link and not os.path.exists(entry.path) and _selected(rel, name, options):
                        yield FoundFile(entry.path, error=("not_found", "broken symbolic link"))
                    continue  # sockets, fifos, devices: never media
                found = _file(entry.path, rel, name, entry.stat(), options)
            except PermissionError as exc:
                found = FoundFile(entry.path, error=("permission_denied", str(exc.strerror)))
            except FileNotFoundError:
                continue
            if found is not None:
                yield found
        stack.extend(reversed(subdirs))  # pop() then visits them in name order

