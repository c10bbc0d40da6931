"""One committed source-manifest row: where one media file lives upstream, what it is, and its licence.

The media are never committed; these rows are. Anyone who mirrors the same repositories at the same commits
rebuilds byte-identical data (:mod:`.build` checks every sha256). One CSV per upstream repository, under
``manifests/``, named ``owner__name.csv``.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path, PurePosixPath

from detector.errors import ConfigError

MANIFEST_DIR = Path(__file__).with_name("manifests")

# What a fake is, at the granularity the verdict names it (the detector's ``kind``); reals are "real".
FAMILIES = ("real", "swap", "reenactment", "synthetic")
# The kinds of real media the breadth table counts; a row names the one it was chosen for.
REAL_KINDS = ("portrait", "everyday", "group", "street", "low_light", "old", "black_and_white", "scanned",
              "restored", "compressed", "webcam", "phone_video", "video", "id_photo", "selfie")
# Fakes name their kind by family ("generated_face", "face_swap", "talking_head", "lip_sync", "reenactment").
FAKE_KINDS = ("generated_face", "face_swap", "talking_head", "lip_sync", "reenactment")

_HEX40 = re.compile(r"[0-9a-f]{40}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_REPO = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class SourceRow:
    """One upstream media file.

    Attributes:
        repo: ``owner/name`` on GitHub.
        commit: the 40-hex commit whose tree holds ``path``.
        path: the file's path in that tree (POSIX, relative).
        sha256: of the file's bytes (the build refuses a blob that differs).
        label: ``real`` or ``fake``.
        family: ``real``, or the kind of fake: ``swap``, ``reenactment`` or ``synthetic``.
        kind: what the row was chosen for (:data:`REAL_KINDS` for reals, :data:`FAKE_KINDS` for fakes).
        generator: the generator or swap tool for fakes ("stylegan2", "unknown" when the source does not say);
            the camera or origin for reals when known, else empty.
        licence: the licence the repository states for the file (or "unstated").
        pair_id: links a fake to the real it was made from; empty when there is none.
    """

    repo: str
    commit: str
    path: str
    sha256: str
    label: str
    family: str
    kind: str
    generator: str
    licence: str
    pair_id: str = ""

    def __post_init__(self) -> None:
        where = f"{self.repo}:{self.path}"
        if not _REPO.fullmatch(self.repo):
            raise ConfigError(f"repo must be owner/name, got {self.repo!r}", path=where)
        if not _HEX40.fullmatch(self.commit):
            raise ConfigError(f"commit must be 40 lower-case hex digits, got {self.commit!r}", path=where)
        if not _HEX64.fullmatch(self.sha256):
            raise ConfigError(f"sha256 must be 64 lower-case hex digits, got {self.sha256!r}", path=where)
        pure = PurePosixPath(self.path)
        if not self.path or pure.is_absolute() or ".." in pure.parts or "\\" in self.path:
            raise ConfigError(f"path must be relative inside the repository, got {self.path!r}", path=where)
        if self.label not in ("real", "fake"):
            raise ConfigError(f"label must be real or fake, got {self.label!r}", path=where)
        if self.family not in FAMILIES:
            raise ConfigError(f"family must be one of {FAMILIES}, got {self.family!r}", path=where)
        if (self.label == "real") != (self.family == "real"):
            raise ConfigError(f"a {self.label} row cannot have family {self.family!r}", path=where)
        kinds = REAL_KINDS if self.label == "real" else FAKE_KINDS
        if self.kind not in kinds:
            raise ConfigError(f"kind of a {self.label} row must be one of {kinds}, got {self.kind!r}", path=where)
        if self.label == "fake" and not self.generator:
            raise ConfigError("a fake row names its generator ('unknown' when the source does not)", path=where)
        if not self.licence:
            raise ConfigError("licence is required ('unstated' when the repository names none)", path=where)

    @property
    def source(self) -> str:
        """The unit a held-out split leaves out whole: the repository."""
        return self.repo


COLUMNS = tuple(f.name for f in fields(SourceRow))


def manifest_name(repo: str) -> str:
    """``owner/name`` -> ``owner__name.csv``, the file holding that repository's rows."""
    return repo.replace("/", "__") + ".csv"


def read_manifest(path: str | os.PathLike[str]) -> list[SourceRow]:
    """The rows of one source manifest.

    Raises:
        ConfigError: missing file, wrong header, a bad row (with its line), or the same path twice.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"source manifest not found: {path}", path=str(path))
    rows: list[SourceRow] = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ConfigError(f"source manifest {path} must have the header {','.join(COLUMNS)}; "
                              f"got {','.join(reader.fieldnames or ())}", path=str(path))
        for line, cells in enumerate(reader, start=2):
            try:
                rows.append(SourceRow(**{k: (cells.get(k) or "").strip() for k in COLUMNS}))
            except ConfigError as err:
                raise ConfigError(f"{path}:{line}: {err}", path=str(path)) from None
    seen: set[tuple[str, str]] = set()
    for row in rows:
        key = (row.repo, row.path)
        if key in seen:
            raise ConfigError(f"{path}: {row.repo}:{row.path} listed twice", path=str(path))
        seen.add(key)
    return rows


def write_manifest(path: str | os.PathLike[str], rows: Iterable[SourceRow]) -> Path:
    """Write ``rows`` sorted by (repo, path), so a rebuilt manifest diffs cleanly."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ordered = sorted(rows, key=lambda r: (r.repo, r.path))
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(asdict(r) for r in ordered)
    os.replace(tmp, path)
    return path


def read_all(folder: str | os.PathLike[str] = MANIFEST_DIR) -> list[SourceRow]:
    """Every row of every ``*.csv`` in ``folder`` (the committed manifests by default).

    Raises:
        ConfigError: a bad manifest, or the same file (repo, path) in two manifests.
    """
    rows: list[SourceRow] = []
    for csv_path in sorted(Path(folder).glob("*.csv")):
        rows.extend(read_manifest(csv_path))
    seen: set[tuple[str, str]] = set()
    for row in rows:
        if (row.repo, row.path) in seen:
            raise ConfigError(f"{row.repo}:{row.path} is listed by two source manifests")
        seen.add((row.repo, row.path))
    return rows
