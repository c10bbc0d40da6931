"""Materialise the committed source manifests from local git mirrors, checked, into a training folder.

    python -m training.data.sources build --out ~/data/sources

For every row: the reserved-source rules must allow it, the mirror must hold the blob at the row's commit, and
the bytes must hash to the row's sha256. Rows that copy a ``../shared/data`` file (identical bytes) or an eval
file (identical bytes or a perceptual copy, :mod:`.dedup`) are dropped and reported; so is the second of two rows
with the same bytes. The result is ``OUT/media/<owner>__<name>/<path>`` and ``OUT/MANIFEST.csv`` in the layout
:func:`training.data.from_manifest` reads, plus ``OUT/build_report.json`` naming every row not built and why.
Re-running skips files already written with the right bytes, so an interrupted build resumes.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from detector.errors import ConfigError

from .dedup import EvalIndex
from .mirror import GitMirror, find_mirror
from .rows import MANIFEST_DIR, SourceRow, manifest_name, read_all
from .rules import SourceRules
from .select import media_of

# The training manifest's columns: from_manifest reads path,label,group,manipulation,media,source_repo; the rest
# carry the kind of fake and the breadth table through to training and the card.
OUTPUT_COLUMNS = ("path", "label", "group", "manipulation", "media", "source_repo", "family", "kind", "generator",
                  "licence", "sha256")

# Why a row was not built; "refused" outcomes fail the build (they mean a manifest is wrong, not a mirror missing).
REFUSED = ("reserved", "sha256_mismatch")
DROPPED = ("eval_duplicate", "shared_duplicate", "repeated_bytes")
MISSING = ("no_mirror", "blob_absent")


@dataclass
class BuildReport:
    """What the build wrote and what it did not, by reason."""

    built: int = 0
    reused: int = 0
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # (reason, repo:path, detail)

    @property
    def refused(self) -> list[tuple[str, str, str]]:
        return [s for s in self.skipped if s[0] in REFUSED]

    def summary(self) -> str:
        reasons = Counter(s[0] for s in self.skipped)
        parts = [f"{self.built + self.reused} files ({self.built} written, {self.reused} already there)"]
        parts += [f"{n} {reason}" for reason, n in sorted(reasons.items())]
        lines = [", ".join(parts)]
        lines += [f"  {reason}: {where}: {detail}" for reason, where, detail in self.refused[:20]]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return {"built": self.built, "reused": self.reused,
                "skipped": [{"reason": r, "file": w, "detail": d} for r, w, d in self.skipped]}


def output_path(row: SourceRow) -> PurePosixPath:
    """Where a row's file lands under ``OUT/media`` (the upstream path kept, below its repository)."""
    return PurePosixPath(manifest_name(row.repo)[: -len(".csv")]) / row.path


def group_of(row: SourceRow) -> str:
    """The split unit: the pair id when the row has one, else the upstream folder.

    Files of one folder are often one person, one shoot or one clip's frames; keeping them together keeps a
    near-copy out of the other side of a split.
    """
    if row.pair_id:
        return f"{row.repo}:{row.pair_id}"
    return f"{row.repo}:{PurePosixPath(row.path).parent}"


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def build(out: str | os.PathLike[str], *, mirrors: str | os.PathLike[str], shared: str | os.PathLike[str],
          manifests: str | os.PathLike[str] = MANIFEST_DIR, rows: list[SourceRow] | None = None) -> BuildReport:
    """Build every row of ``manifests`` (or the given ``rows``) into ``out``.

    Raises:
        ConfigError: ``shared`` lacks the reserved list or the eval folder.
    """
    out = Path(out)
    rules = SourceRules.load(shared)
    eval_dir = Path(shared) / "eval"
    if not eval_dir.is_dir():
        raise ConfigError(f"{eval_dir} not found: the build drops copies of eval files and needs them",
                          path=str(eval_dir))
    index = EvalIndex.from_folder(eval_dir)
    rows = read_all(manifests) if rows is None else rows
    report = BuildReport()
    written: list[dict[str, str]] = []
    seen: set[str] = set()
    opened: dict[str, GitMirror | None] = {}
    for row in rows:
        where = f"{row.repo}:{row.path}"
        if why := rules.violation(row):
            report.skipped.append(("reserved", where, why))
            continue
        if row.sha256 in seen:
            report.skipped.append(("repeated_bytes", where, "the same bytes are listed under another name"))
            continue
        if row.sha256 in rules.shared_sha256 and row.sha256 not in index.sha256:
            report.skipped.append(("shared_duplicate", where, "shared/data holds these bytes already"))
            continue
        target = out / "media" / output_path(row)
        data = target.read_bytes() if target.is_file() else None
        if data is not None and hashlib.sha256(data).hexdigest() == row.sha256:
            reused = True
        else:
            reused = False
            if row.repo not in opened:
                try:
                    opened[row.repo] = GitMirror(find_mirror(mirrors, row.repo))
                except ConfigError:
                    opened[row.repo] = None
            mirror = opened[row.repo]
            if mirror is None:
                report.skipped.append(("no_mirror", where, f"no mirror of {row.repo} under {mirrors}"))
                continue
            data = mirror.read(row.commit, row.path)
            if data is None:
                report.skipped.append(("blob_absent", where, f"the mirror lacks it at {row.commit[:12]}"))
                continue
            digest = hashlib.sha256(data).hexdigest()
            if digest != row.sha256:
                report.skipped.append(("sha256_mismatch", where, f"bytes hash to {digest}, manifest says {row.sha256}"))
                continue
        if copy := index.duplicate_of(data, row.path, row.sha256):
            report.skipped.append(("eval_duplicate", where, copy))
            if reused:
                target.unlink()
            continue
        if not reused:
            _write(target, data)
        seen.add(row.sha256)
        report.reused += reused
        report.built += not reused
        written.append({"path": str(Path("media") / output_path(row)), "label": row.label, "group": group_of(row),
                        "manipulation": "none" if row.label == "real" else row.generator,
                        "media": media_of(row.path) or "", "source_repo": row.repo, "family": row.family,
                        "kind": row.kind, "generator": row.generator, "licence": row.licence, "sha256": row.sha256})
    out.mkdir(parents=True, exist_ok=True)
    with (out / "MANIFEST.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=OUTPUT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(written)
    (out / "build_report.json").write_text(json.dumps(report.to_dict(), indent=1) + "\n", encoding="utf-8")
    return report
