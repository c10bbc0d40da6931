"""The Celeb-DF layout (v2; v1 has the same): three video folders and an official test list."""

from __future__ import annotations

import os
import re
from pathlib import Path

from detector.errors import ConfigError

from .files import abs_path, dataset_root, finish_items, listing, media_files, raise_if_problems
from .identity_groups import UnionFind
from .items import FAKE, REAL, MediaItem

CELEBDF_SUBSETS = ("all", "train", "test")
CELEBDF_TEST_LIST = "List_of_testing_videos.txt"
# Folder -> the label of every video in it; layout detection looks for these folders too.
CELEBDF_FOLDERS = {"Celeb-real": REAL, "YouTube-real": REAL, "Celeb-synthesis": FAKE}

_CELEB_REAL = re.compile(r"^(id\d+)_\d+$")
_CELEB_FAKE = re.compile(r"^(id\d+)_(id\d+)_\d+$")


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
        if parts[0] not in ("0", "1") or folder not in CELEBDF_FOLDERS:
            problems.append(f"line {n}: expected '<1 real|0 fake> <folder>/<name>.mp4', got {line.strip()!r}")
            continue
        label = REAL if parts[0] == "1" else FAKE
        if label != CELEBDF_FOLDERS[folder]:
            problems.append(f"line {n}: {rel} is marked {parts[0]} (1 = real, 0 = fake) but lies in {folder}")
            continue
        listed[abs_path(root / rel)] = label
    raise_if_problems(problems, f"bad line(s) in {path}")
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
    root = dataset_root(root)
    if subset not in CELEBDF_SUBSETS:
        raise ConfigError(f"subset must be one of {CELEBDF_SUBSETS}, got {subset!r}")
    if not any((root / f).is_dir() for f in CELEBDF_FOLDERS):
        raise ConfigError(f"no Celeb-DF folders ({', '.join(CELEBDF_FOLDERS)}) under {root}")
    on_disk = {p: label for folder, label in CELEBDF_FOLDERS.items()
               for p in media_files(root / folder, recursive=False)}
    list_path = root / CELEBDF_TEST_LIST
    if subset != "all" and not list_path.is_file():
        raise ConfigError(f"subset={subset!r} needs {list_path}")
    listed = _celebdf_test_list(list_path, root) if list_path.is_file() else {}
    wanted = listed if subset == "test" else {p: lb for p, lb in on_disk.items() if subset == "all" or p not in listed}

    uf = UnionFind()
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
        raise ConfigError(f"{len(bad)} file name(s) not in the Celeb-DF pattern: {listing(bad)}")
    groups = uf.group_names("celebdf:")
    items = [MediaItem(path=p, label=label, group=groups[ident[p]],
                       manipulation="celebdf-synthesis" if label == FAKE else "none", source="Celeb-DF", media="video")
             for p, label in wanted.items()]
    return finish_items(items, skip_missing=skip_missing, where=f"Celeb-DF at {root} (subset={subset})")
