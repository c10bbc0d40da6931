"""Choose files from a mirrored repository and record them as source-manifest rows.

    python -m training.data.sources add owner/name --include 'photos/**/*.jpg' --label real --kind old \\
        --licence MIT --limit 120 --faces

Files are chosen from one commit's tree by glob, must be media by extension, not Git LFS pointers, within the
size bounds, present in the mirror, decodable, and (``--faces``) hold at least one face the scan's detector
finds at a usable size. ``--limit`` keeps a spread-out, reproducible subset (ordered by sha256, which is
independent of file names and folders). Rows are merged into the repository's manifest.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

import numpy as np

from ..files import media_kind
from .mirror import LFS_POINTER_PREFIX, GitMirror
from .rows import SourceRow
from .rules import SourceRules

log = logging.getLogger(__name__)

# Smaller than this is a thumbnail, an icon or a 1x1 metadata carrier, not a face photo.
MIN_BYTES = 4_000
# Larger than this is not worth the disk for one training item (the builder keeps everything in one folder).
MAX_BYTES = 60_000_000


@dataclass(frozen=True)
class Choice:
    """How to label the files a selection picks."""

    label: str
    family: str
    kind: str
    generator: str
    licence: str


def media_of(path: str) -> str | None:
    """``"image"``/``"video"`` of a tree path by extension (:func:`training.data.files.media_kind`), else ``None``."""
    return media_kind(PurePosixPath(path))


def matches(path: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    """``path`` matches one ``include`` glob and no ``exclude`` glob (``*`` crosses folders, as in fnmatch)."""
    return any(fnmatch.fnmatchcase(path, g) for g in include) and not any(
        fnmatch.fnmatchcase(path, g) for g in exclude)


def decode_image(data: bytes) -> np.ndarray | None:
    """RGB uint8 pixels, or ``None`` when Pillow cannot decode the bytes."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            return np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None


def face_finder(min_face: int = 40, min_score: float = 0.95) -> Callable[[np.ndarray], bool]:
    """A check that an RGB image holds a face the scan's MTCNN finds with a side of ``min_face`` px or more."""
    from detector.faces.mtcnn import MTCNN

    mtcnn = MTCNN()

    def has_face(rgb: np.ndarray) -> bool:
        # The scan detects on a bounded size too; a 6000 px scan would take seconds and find the same faces.
        scale = min(1.0, 1024 / max(rgb.shape[:2]))
        if scale < 1.0:
            from PIL import Image

            size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
            rgb = np.asarray(Image.fromarray(rgb).resize(size, Image.BILINEAR))
        [dets] = mtcnn.detect([np.ascontiguousarray(rgb)])
        if not len(dets):
            return False
        sides = np.minimum(dets.boxes[:, 2] - dets.boxes[:, 0], dets.boxes[:, 3] - dets.boxes[:, 1]) / scale
        return bool(np.any((dets.scores >= min_score) & (sides >= min_face)))

    return has_face


def select(mirror: GitMirror, repo: str, commit: str, choice: Choice, *, include: Sequence[str],
           exclude: Sequence[str] = (), skip: Collection[str] = (), limit: int | None = None, rules: SourceRules | None = None,
           has_face: Callable[[np.ndarray], bool] | None = None, min_bytes: int = MIN_BYTES,
           max_bytes: int = MAX_BYTES) -> list[SourceRow]:
    """Rows for the files of ``commit`` that pass every check, at most ``limit`` of them.

    ``skip`` names paths already recorded (a second ``add`` to the same manifest picks new files).

    Candidates are taken in sha256 order until ``limit`` pass, so a limit picks the same files on every run.
    """
    candidates = [e for e in mirror.tree(commit)
                  if e.path not in skip and media_of(e.path) and matches(e.path, include, exclude) and min_bytes <= e.size <= max_bytes]
    blobs: list[tuple[str, str, bytes]] = []
    for entry in candidates:
        data = mirror.read(commit, entry.path)
        if data is None or data.startswith(LFS_POINTER_PREFIX):
            log.info("skip %s: blob absent or an LFS pointer", entry.path)
            continue
        blobs.append((hashlib.sha256(data).hexdigest(), entry.path, data))
    blobs.sort()
    rows: list[SourceRow] = []
    seen: set[str] = set()
    for digest, path, data in blobs:
        if limit is not None and len(rows) >= limit:
            break
        if digest in seen:  # the same bytes under two names count once
            continue
        row = SourceRow(repo=repo, commit=commit, path=path, sha256=digest, label=choice.label,
                        family=choice.family, kind=choice.kind, generator=choice.generator, licence=choice.licence)
        if rules is not None and (why := rules.violation(row)):
            log.info("skip %s: %s", path, why)
            continue
        if media_of(path) == "image":
            rgb = decode_image(data)
            if rgb is None:
                log.info("skip %s: not decodable", path)
                continue
            if has_face is not None and not has_face(rgb):
                log.info("skip %s: no usable face", path)
                continue
        seen.add(digest)
        rows.append(row)
    return rows
