"""The FaceForensics++ layout, as its download script lays it out."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path

from detector.errors import ConfigError

from .files import dataset_root, finish_items, listing, media_files
from .identity_groups import UnionFind
from .items import FAKE, REAL, MediaItem

log = logging.getLogger(__name__)

FFPP_METHODS = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures", "FaceShifter", "DeepFakeDetection")
FFPP_COMPRESSIONS = ("raw", "c23", "c40")
# DeepFakeDetection swaps paid actors, not youtube subjects: its originals and file names differ.
_DFD = "DeepFakeDetection"

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
    root = dataset_root(root)
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
    uf = UnionFind()
    records: list[tuple[Path, int, str, str]] = []  # path, label, method, identity key for the group
    bad: list[str] = []
    for kind, pattern in (("youtube", _FF_ORIGINAL), ("actors", _DFD_ORIGINAL)):
        folder = originals / kind / compression / "videos"
        if needed[kind] and not folder.is_dir():
            log.warning("no %s originals at %s: the fakes load without their reals", kind, folder)
        if methods is not None and not needed[kind]:
            continue
        for path in media_files(folder, recursive=False):
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
        for path in media_files(manipulated / method / compression / "videos", recursive=False):
            m = pattern.match(path.stem)
            if not m:
                bad.append(str(path))
                continue
            target, source = prefix + m.group(1), prefix + m.group(2)
            uf.union(target, source)
            records.append((path, FAKE, method, target))
    if bad:
        raise ConfigError(f"{len(bad)} file name(s) not in the FaceForensics++ pattern: {listing(bad)}")
    groups = uf.group_names("ffpp:")
    items = [MediaItem(path=p, label=label, group=groups[ident], manipulation=method, source="FaceForensics++",
                       media="video") for p, label, method, ident in records]
    return finish_items(items, skip_missing=skip_missing, where=f"FaceForensics++ at {root} ({compression})")
