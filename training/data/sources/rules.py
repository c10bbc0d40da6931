"""What may be taken from which repository: the reserved-source rules of ``../shared/data``.

``RESERVED_SOURCES.txt`` names the repositories that feed the hidden evaluation set. From those, and from every
repository ``../shared/data`` already draws on, only the exact files ``shared/data`` holds may be used (they are
in its own manifest, so a source manifest has no reason to list them). Everything else is free to take.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from detector.errors import ConfigError

from .rows import SourceRow


def _repo_key(repo: str) -> str:
    # GitHub treats owner/name case-insensitively; so must the rule.
    return repo.strip().lower()


@dataclass(frozen=True)
class SourceRules:
    """The reserved and already-used repositories, and the files ``shared/data`` holds from them.

    Attributes:
        reserved: repositories feeding the hidden set (lower-case ``owner/name``).
        shared_repos: repositories ``shared/data`` already takes files from.
        shared_files: ``(repo, path)`` of every file ``shared/data`` holds (repo lower-cased).
        shared_sha256: the sha256 of every file ``shared/data`` holds.
    """

    reserved: frozenset[str]
    shared_repos: frozenset[str]
    shared_files: frozenset[tuple[str, str]]
    shared_sha256: frozenset[str]

    @classmethod
    def load(cls, shared: str | os.PathLike[str]) -> SourceRules:
        """Read ``RESERVED_SOURCES.txt`` and every ``MANIFEST.csv`` under ``shared``.

        Raises:
            ConfigError: the reserved list is missing (taking from the hidden set's sources by accident is the
                one mistake this guards against, so no list means no build).
        """
        shared = Path(shared)
        reserved_txt = shared / "RESERVED_SOURCES.txt"
        if not reserved_txt.is_file():
            raise ConfigError(f"{reserved_txt} not found: the reserved-source list is required", path=str(shared))
        reserved = {_repo_key(line) for line in reserved_txt.read_text(encoding="utf-8").splitlines()
                    if line.strip() and not line.lstrip().startswith("#")}
        repos: set[str] = set()
        files: set[tuple[str, str]] = set()
        digests: set[str] = set()
        for manifest in sorted(shared.rglob("MANIFEST.csv")):
            with manifest.open(newline="", encoding="utf-8-sig") as fh:
                for cells in csv.DictReader(fh):
                    repo = _repo_key(cells.get("source_repo") or "")
                    if repo:
                        repos.add(repo)
                        files.add((repo, (cells.get("source_path") or "").strip()))
                    if cells.get("sha256"):
                        digests.add(cells["sha256"].strip().lower())
        return cls(frozenset(reserved), frozenset(repos), frozenset(files), frozenset(digests))

    def violation(self, row: SourceRow) -> str | None:
        """Why ``row`` may not be taken, or ``None`` when it may."""
        repo = _repo_key(row.repo)
        if repo in self.reserved or repo in self.shared_repos:
            if (repo, row.path) in self.shared_files or row.sha256 in self.shared_sha256:
                return None
            why = "reserved for the hidden set" if repo in self.reserved else "already used by shared/data"
            return f"{row.repo} is {why}: only the files shared/data holds may be taken, not {row.path}"
        return None

    def violations(self, rows: Iterable[SourceRow]) -> list[str]:
        """Every row's violation, in order."""
        return [v for v in (self.violation(r) for r in rows) if v]
