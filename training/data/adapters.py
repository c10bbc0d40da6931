"""Dataset adapters: a dataset on disk in one of the common layouts -> sorted list of :class:`MediaItem`.

Every adapter only lists and stats files (media are never decoded here), validates what it reads and raises
:class:`~detector.errors.ConfigError` on a layout or content it cannot trust. Files that a listing or an index
names but that do not exist raise too (the first few are listed), unless ``skip_missing=True``, which drops
them with a logged warning.

Groups are the unit of leak-free splitting (see :mod:`training.data.splits`): each adapter documents its rule.
Identities linked by a face swap are merged with a union-find, so a fake, its target's original and its source's
original always share one group.
"""

from __future__ import annotations

import csv
import inspect
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from detector.errors import ConfigError
from detector.media import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS

from .items import FAKE, MEDIA_KINDS, REAL, MediaItem

log = logging.getLogger(__name__)

FFPP_METHODS = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures", "FaceShifter", "DeepFakeDetection")
FFPP_COMPRESSIONS = ("raw", "c23", "c40")
CELEBDF_SUBSETS = ("all", "train", "test")
_DFD = "DeepFakeDetection"
_MAX_LISTED = 5

SUPPORTED_LAYOUTS = """supported layouts:
  manifest        a .csv with at least path,label columns (or a folder holding MANIFEST.csv)
  FaceForensics++ ROOT/original_sequences/youtube/<comp>/videos, ROOT/manipulated_sequences/<Method>/<comp>/videos
  Celeb-DF        ROOT/Celeb-real, ROOT/YouTube-real, ROOT/Celeb-synthesis (+ List_of_testing_videos.txt)
  folders         ROOT/real/** and ROOT/fake/** (optionally fake/<manipulation>/**)
  DFDC            ROOT/**/metadata.json ({"x.mp4": {"label": "FAKE"|"REAL", "original": ...}})"""

_LABELS = {"real": REAL, "0": REAL, "fake": FAKE, "1": FAKE}


# --------------------------------------------------------------------------------------------------- helpers


def parse_label(value: str | int) -> int:
    """``real|fake|0|1`` (case-insensitive, surrounding spaces ignored) -> 0 or 1.

    Raises:
        ConfigError: anything else (an empty cell included).
    """
    key = str(value).strip().lower()
    if key not in _LABELS:
        raise ConfigError(f"label must be one of real, fake, 0, 1 (any case), got {value!r}")
    return _LABELS[key]


def _abs(path: str | os.PathLike[str]) -> Path:
    # abspath, not resolve(): keep the caller's symlinked dataset paths as they are.
    return Path(os.path.abspath(Path(path).expanduser()))


def _root_dir(root: str | os.PathLike[str]) -> Path:
    path = _abs(root)
    if not path.is_dir():
        raise ConfigError(f"dataset folder not found: {path}", path=str(path))
    return path


def _media_kind(path: Path) -> str | None:
    ext = path.suffix.lower()
    return "video" if ext in VIDEO_EXTENSIONS else "image" if ext in IMAGE_EXTENSIONS else None


def _hidden(rel: Path) -> bool:
    # macOS AppleDouble files (._x.mp4) and .cache folders look like media but are not.
    return any(part.startswith(".") for part in rel.parts)


def _media_files(folder: Path, *, recursive: bool) -> list[Path]:
    """Media files under ``folder`` (dangling symlinks included, so the missing-file check reports them)."""
    if not folder.is_dir():
        return []
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in found if _media_kind(p) and not _hidden(p.relative_to(folder)) and not p.is_dir())


def _listing(things: Sequence[object]) -> str:
    shown = ", ".join(str(t) for t in things[:_MAX_LISTED])
    return shown + (f" (and {len(things) - _MAX_LISTED} more)" if len(things) > _MAX_LISTED else "")


def _raise_if(problems: list[str], what: str) -> None:
    if problems:
        raise ConfigError(f"{len(problems)} {what}: " + "; ".join(problems[:_MAX_LISTED])
                          + (f"; (and {len(problems) - _MAX_LISTED} more)" if len(problems) > _MAX_LISTED else ""))


def _finish(items: list[MediaItem], *, skip_missing: bool, where: str) -> list[MediaItem]:
    """Check existence, drop or refuse missing files, refuse duplicates, sort by path."""
    if not items:
        raise ConfigError(f"no media items found in {where}")
    seen: set[Path] = set()
    dupes: list[Path] = []
    for it in items:
        if it.path in seen:
            dupes.append(it.path)
        seen.add(it.path)
    if dupes:
        raise ConfigError(f"{len(dupes)} duplicate path(s) in {where}: {_listing(dupes)}")
    missing = [it.path for it in items if not it.path.is_file()]
    if missing:
        message = f"{len(missing)} of {len(items)} file(s) named by {where} do not exist: {_listing(missing)}"
        if not skip_missing:
            raise ConfigError(message + "; pass skip_missing=True to drop them")
        log.warning("%s; dropped (skip_missing=True)", message)
        gone = set(missing)
        items = [it for it in items if it.path not in gone]
    return sorted(items, key=lambda it: str(it.path))


def _natural_key(text: str) -> list[int | str]:
    # re.split with a capture group alternates str, digits, str, ...: types line up position by position.
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


class _UnionFind:
    """Identities linked by a swap end up in one component; the component is the split group."""

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self._parent.setdefault(x, x)
        root = x
        while self._parent[root] != root:
            root = self._parent[root]
        while self._parent[x] != root:  # path compression
            self._parent[x], x = root, self._parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self._parent[rb] = ra

    def group_names(self, prefix: str) -> dict[str, str]:
        """Identity -> ``prefix`` + its component's identities, naturally sorted and joined with ``_``."""
        members: dict[str, list[str]] = {}
        for x in list(self._parent):
            members.setdefault(self.find(x), []).append(x)
        names: dict[str, str] = {}
        for ids in members.values():
            name = prefix + "_".join(sorted(ids, key=_natural_key))
            names.update(dict.fromkeys(ids, name))
        return names


# --------------------------------------------------------------------------------------------------- folders


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
    root = _root_dir(root)
    absent = [name for name in ("real", "fake") if not (root / name).is_dir()]
    if absent:
        raise ConfigError(f"folders layout needs {root}/real and {root}/fake; missing: {', '.join(absent)}")
    items = []
    for label, name in ((REAL, "real"), (FAKE, "fake")):
        base = root / name
        for path in _media_files(base, recursive=True):
            rel = path.relative_to(base)
            nested = len(rel.parts) > 1
            manipulation = "none" if label == REAL else rel.parts[0] if nested else "unknown"
            items.append(MediaItem(path=path, label=label, group=rel.parent.as_posix() if nested else path.stem,
                                   manipulation=manipulation, source=root.name, media=_media_kind(path) or "image"))
    return _finish(items, skip_missing=skip_missing, where=f"{root}/real, {root}/fake")


# -------------------------------------------------------------------------------------------------- manifest


def _cell(row: dict[str | None, str | None], key: str) -> str:
    # DictReader yields None for cells of short rows.
    return (row.get(key) or "").strip()


def from_manifest(csv_path: str | os.PathLike[str], *, root: str | os.PathLike[str] | None = None,
                  split: str | None = None, skip_missing: bool = False) -> list[MediaItem]:
    """A CSV manifest with a header containing at least ``path,label``.

    Optional columns: ``group`` (or ``pair_id``), ``manipulation``, ``split``, ``media``, ``source_repo``; any
    others are ignored. Header names are matched case-insensitively.

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
    csv_path = _abs(csv_path)
    if not csv_path.is_file():
        raise ConfigError(f"manifest not found: {csv_path}", path=str(csv_path))
    base = _abs(root) if root is not None else csv_path.parent
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
    _raise_if(problems, f"bad row(s) in {csv_path}")
    if split is not None and not items:
        raise ConfigError(f"no rows with split={split!r} in {csv_path}; splits present: {sorted(splits_seen)}")
    return _finish(items, skip_missing=skip_missing, where=str(csv_path))


def _manifest_item(row: dict[str | None, str | None], *, base: Path, source: str) -> MediaItem:
    rel = _cell(row, "path")
    if not rel:
        raise ConfigError("empty path")
    label = parse_label(_cell(row, "label"))
    path = _abs(base / rel)
    manipulation = _cell(row, "manipulation")
    if label == REAL:
        if manipulation.lower() not in ("", "none"):
            raise ConfigError(f"real row with manipulation {manipulation!r}")
        manipulation = "none"
    elif manipulation.lower() in ("", "none"):
        manipulation = "unknown"
    media = _cell(row, "media").lower() or _media_kind(path)
    if media not in MEDIA_KINDS:
        raise ConfigError(f"media must be video or image, got {media!r} for {rel}" if media
                          else f"cannot tell video from image for {rel}: add a media column")
    group = _cell(row, "group") or _cell(row, "pair_id") or path.stem
    return MediaItem(path=path, label=label, group=group, manipulation=manipulation,
                     source=_cell(row, "source_repo") or source, media=media)


# ------------------------------------------------------------------------------------------ FaceForensics++


_FF_ORIGINAL = re.compile(r"^(\d+)$")
_FF_FAKE = re.compile(r"^(\d+)_(\d+)$")
_DFD_ORIGINAL = re.compile(r"^(\d+)__.+$")
_DFD_FAKE = re.compile(r"^(\d+)_(\d+)__.+$")


def from_faceforensics(root: str | os.PathLike[str], *, compression: str = "c23",
                       methods: Iterable[str] | None = None, skip_missing: bool = False) -> list[MediaItem]:
    """FaceForensics++ as its download script lays it out (videos only; masks and frames are ignored).

    Reals: ``original_sequences/youtube/<comp>/videos/XXX.mp4`` and, for DeepFakeDetection,
    ``original_sequences/actors/<comp>/videos/AA__scene.mp4``. Fakes:
    ``manipulated_sequences/<Method>/<comp>/videos/XXX_YYY.mp4`` (target XXX with source YYY's face) and
    ``manipulated_sequences/DeepFakeDetection/<comp>/videos/AA_BB__scene__ID.mp4``.

    Group rule: identities joined by any fake (XXX with YYY, actor AA with BB) are merged with a union-find; the
    group is ``ffpp:`` + the component's ids joined by ``_`` (``ffpp:000_003``; DFD actors as ``a01``). A fake
    and the originals of both of its identities therefore share one group, under every method. Youtube pairs
    form small components; DFD actors, who are swapped with many others, may merge into a single group.

    Args:
        root: the FF++ root.
        compression: ``raw``, ``c23`` or ``c40``.
        methods: manipulation folders to load (default: every one present for ``compression``). Youtube
            originals load when a youtube-based method is selected, actor originals when DeepFakeDetection is.
        skip_missing: drop dangling symlinks (with a warning) instead of raising.

    Raises:
        ConfigError: unknown compression, a requested method absent, file names not in the FF++ pattern, or no
            videos at all.
    """
    root = _root_dir(root)
    if compression not in FFPP_COMPRESSIONS:
        raise ConfigError(f"compression must be one of {FFPP_COMPRESSIONS}, got {compression!r}")
    manipulated = root / "manipulated_sequences"
    present = sorted(d.name for d in manipulated.iterdir() if (d / compression / "videos").is_dir()) \
        if manipulated.is_dir() else []
    if methods is None:
        chosen = present
    else:
        chosen = list(dict.fromkeys(methods))
        absent = [m for m in chosen if m not in present]
        if absent:
            raise ConfigError(f"FaceForensics++ method(s) {absent} have no {compression} videos under {manipulated}; "
                              f"present: {present}")
    originals = root / "original_sequences"
    needed = {"youtube": any(m != _DFD for m in chosen), "actors": _DFD in chosen}
    uf = _UnionFind()
    records: list[tuple[Path, int, str, str]] = []  # path, label, method, identity key for the group
    bad: list[str] = []
    for kind, pattern in (("youtube", _FF_ORIGINAL), ("actors", _DFD_ORIGINAL)):
        folder = originals / kind / compression / "videos"
        if needed[kind] and not folder.is_dir():
            log.warning("no %s originals at %s: the fakes load without their reals", kind, folder)
        if methods is not None and not needed[kind]:
            continue
        for path in _media_files(folder, recursive=False):
            m = pattern.match(path.stem)
            if not m:
                bad.append(str(path))
                continue
            ident = ("a" if kind == "actors" else "") + m.group(1)
            uf.find(ident)
            records.append((path, REAL, "none", ident))
    for method in chosen:
        pattern = _DFD_FAKE if method == _DFD else _FF_FAKE
        prefix = "a" if method == _DFD else ""
        for path in _media_files(manipulated / method / compression / "videos", recursive=False):
            m = pattern.match(path.stem)
            if not m:
                bad.append(str(path))
                continue
            target, source = prefix + m.group(1), prefix + m.group(2)
            uf.union(target, source)
            records.append((path, FAKE, method, target))
    if bad:
        raise ConfigError(f"{len(bad)} file name(s) not in the FaceForensics++ pattern: {_listing(bad)}")
    groups = uf.group_names("ffpp:")
    items = [MediaItem(path=p, label=label, group=groups[ident], manipulation=method, source="FaceForensics++",
                       media="video") for p, label, method, ident in records]
    return _finish(items, skip_missing=skip_missing, where=f"FaceForensics++ at {root} ({compression})")


# ------------------------------------------------------------------------------------------------------ DFDC


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
    root = _root_dir(root)
    metas = sorted(p for p in root.rglob("metadata.json") if not _hidden(p.relative_to(root)))
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
            path = _abs(meta.parent / name)
            items.append(MediaItem(path=path, label=FAKE if label == "FAKE" else REAL,
                                   group=original if label == "FAKE" and original else name,
                                   manipulation="dfdc" if label == "FAKE" else "none", source="DFDC",
                                   media=_media_kind(path) or "video"))
    _raise_if(problems, f"bad DFDC metadata entr{'y' if len(problems) == 1 else 'ies'}")
    return _finish(items, skip_missing=skip_missing, where=f"DFDC metadata under {root}")


# -------------------------------------------------------------------------------------------------- Celeb-DF


_CELEB_FOLDERS = {"Celeb-real": REAL, "YouTube-real": REAL, "Celeb-synthesis": FAKE}
_CELEB_REAL = re.compile(r"^(id\d+)_\d+$")
_CELEB_FAKE = re.compile(r"^(id\d+)_(id\d+)_\d+$")
CELEBDF_TEST_LIST = "List_of_testing_videos.txt"


def _celebdf_test_list(path: Path, root: Path) -> dict[Path, int]:
    """``List_of_testing_videos.txt`` -> absolute path -> our label, checked against the folder's label.

    The file marks **1 = real, 0 = fake**, the reverse of this project's labels (0 real, 1 fake).
    """
    listed: dict[Path, int] = {}
    problems: list[str] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        rel = parts[1].strip() if len(parts) == 2 else ""
        folder = Path(rel).parts[0] if rel else ""
        if parts[0] not in ("0", "1") or folder not in _CELEB_FOLDERS:
            problems.append(f"line {n}: expected '<1 real|0 fake> <folder>/<name>.mp4', got {line.strip()!r}")
            continue
        label = REAL if parts[0] == "1" else FAKE
        if label != _CELEB_FOLDERS[folder]:
            problems.append(f"line {n}: {rel} is marked {parts[0]} (1 = real, 0 = fake) but lies in {folder}")
            continue
        listed[_abs(root / rel)] = label
    _raise_if(problems, f"bad line(s) in {path}")
    return listed


def from_celebdf(root: str | os.PathLike[str], *, subset: str = "all", skip_missing: bool = False) -> list[MediaItem]:
    """Celeb-DF (v2; v1 has the same layout): ``Celeb-real/idX_NNNN.mp4``, ``YouTube-real/NNNNN.mp4``,
    ``Celeb-synthesis/idX_idY_NNNN.mp4``, plus ``List_of_testing_videos.txt``.

    The test list's lines read ``<flag> <folder>/<name>.mp4`` where the flag is **1 for real and 0 for fake**
    (inverse of our labels); each flag is checked against its folder.

    Group rule: celebrity ids linked by a synthesis video (``idX_idY``: idX's video, idY's face) are merged with a
    union-find over the whole dataset, so train and test subsets agree; group = ``celebdf:`` + the component's
    ids (``celebdf:id0_id16``). Celeb-DF swaps among few celebrities, so the celebrity part can collapse into a
    single group; its official test list is not identity-disjoint either. YouTube-real videos have no ids and
    are one group each (``celebdf:youtube/00170``).

    Args:
        root: the Celeb-DF root.
        subset: ``all`` (every video on disk), ``test`` (the listed ones) or ``train`` (the unlisted ones).
        skip_missing: drop listed test videos absent on disk (with a warning) instead of raising.

    Raises:
        ConfigError: bad subset, no Celeb-DF folders, no test list for ``train``/``test``, malformed list lines,
            names not in the Celeb-DF pattern, or missing listed videos.
    """
    root = _root_dir(root)
    if subset not in CELEBDF_SUBSETS:
        raise ConfigError(f"subset must be one of {CELEBDF_SUBSETS}, got {subset!r}")
    if not any((root / f).is_dir() for f in _CELEB_FOLDERS):
        raise ConfigError(f"no Celeb-DF folders ({', '.join(_CELEB_FOLDERS)}) under {root}")
    on_disk = {p: label for folder, label in _CELEB_FOLDERS.items()
               for p in _media_files(root / folder, recursive=False)}
    list_path = root / CELEBDF_TEST_LIST
    if subset != "all" and not list_path.is_file():
        raise ConfigError(f"subset={subset!r} needs {list_path}")
    listed = _celebdf_test_list(list_path, root) if list_path.is_file() else {}
    wanted = listed if subset == "test" else {p: lb for p, lb in on_disk.items() if subset == "all" or p not in listed}

    uf = _UnionFind()
    ident: dict[Path, str] = {}
    bad: list[str] = []
    for path in sorted({**on_disk, **listed}):
        folder, stem = path.parent.name, path.stem
        if folder == "YouTube-real":
            ident[path] = f"youtube/{stem}"
            uf.find(ident[path])
        elif m := (_CELEB_FAKE if folder == "Celeb-synthesis" else _CELEB_REAL).match(stem):
            ident[path] = m.group(1)
            for other in m.groups():  # the synthesis video's second id: the face swapped in
                uf.union(m.group(1), other)
        else:
            bad.append(str(path))
    if bad:
        raise ConfigError(f"{len(bad)} file name(s) not in the Celeb-DF pattern: {_listing(bad)}")
    groups = uf.group_names("celebdf:")
    items = [MediaItem(path=p, label=label, group=groups[ident[p]],
                       manipulation="celebdf-synthesis" if label == FAKE else "none", source="Celeb-DF", media="video")
             for p, label in wanted.items()]
    return _finish(items, skip_missing=skip_missing, where=f"Celeb-DF at {root} (subset={subset})")


# ---------------------------------------------------------------------------------------------- auto-detect


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
    path = _abs(spec)
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
    if any((path / f).is_dir() for f in _CELEB_FOLDERS):
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
