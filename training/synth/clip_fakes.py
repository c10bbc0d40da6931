"""One fake per real item of the training manifests, with a manifest of them: the run that ``aligned`` (self-blended
faces) and ``mouth`` (re-synthesised mouths) share for clips (:func:`make_clip_fakes`), and ``cross_swap`` (faces of
other people pasted in) for stills (:func:`make_fakes`); each brings only the fake maker and the names of its fakes.

Each fake keeps its real's ``group`` (a split never parts a fake from the item it was made from) and names the real
in ``pair_id`` (its sha256). All fakes of one maker share one ``source_repo``: the sampler weighs them as one source,
not as a copy of every real source.

``DIR/MANIFEST.csv`` is written item by item, so an interrupted run resumes where it stopped (a fake whose file is
missing or differs from its row is made again). An item that cannot be read, or in which nothing was changed, becomes
a row of ``DIR/skipped.csv`` with its error code (``no_face`` for the latter): the run goes on.
"""

from __future__ import annotations

import csv
import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from detector.errors import attempt
from detector.faces.align import AlignSpec
from detector.runtime import sha256_file

from ..data.items import REAL, MediaItem
from ..data.manifest import from_manifest

if TYPE_CHECKING:
    from detector.faces.extract import FaceExtractor

log = logging.getLogger(__name__)

NO_FACE = "no_face"  # an item in which the face stage found nothing to change
# Faces the detector scores lower are not changed: a fake made on a false detection is a real with a smudge.
MIN_SCORE = 0.9


@dataclass(frozen=True)
class FakeRow:
    """One fake of ``MANIFEST.csv`` (the training manifest layout, :func:`training.data.manifest.from_manifest`)."""

    path: str  # relative to the manifest's folder
    label: str
    group: str
    manipulation: str
    media: str
    source_repo: str
    family: str
    pair_id: str  # sha256 of the real item it was made from
    real_path: str
    real_source: str
    frames: int
    faces: int
    sha256: str


@dataclass(frozen=True)
class Skipped:
    """A real item no fake was made of, and why (a ``detector.errors`` code, or ``no_face``)."""

    real_path: str
    code: str
    message: str


@dataclass(frozen=True)
class FakeKind:
    """What a maker's fakes are called in the manifest, and what it does to a face (for the ``no_face`` message)."""

    source_repo: str
    manipulation: str
    family: str  # a ``detector.kinds`` name
    verb: str  # "blend": "the face stage found no face to blend"


class VideoMaker(Protocol):
    """Writes ``dst``, a fake of the real video ``src``; returns ``{"frames": n, "faces": faces changed}``."""

    def __call__(self, src: Path, dst: Path, *, seed: int, max_frames: int | None,
                 extractor: FaceExtractor) -> dict[str, int]: ...


class ItemMaker(Protocol):
    """Writes ``dst``, a fake of the real ``item``; returns ``{"frames": n, "faces": faces changed}``."""

    def __call__(self, item: MediaItem, dst: Path, *, seed: int) -> dict[str, int]: ...


def real_items(manifests: Sequence[str | os.PathLike[str]], *, media: str) -> list[MediaItem]:
    """The real items of ``manifests`` of one ``media`` kind (``video`` or ``image``), each once (by path), in
    manifest order."""
    seen: set[Path] = set()
    items = []
    for manifest in manifests:
        for item in from_manifest(manifest):
            if item.label == REAL and item.media == media and item.path not in seen:
                seen.add(item.path)
                items.append(item)
    return items


def fake_name(item: MediaItem, real_sha256: str, suffix: str = ".mp4") -> str:
    """``media/<source>/<stem>.<sha8><suffix>``: readable, and two reals with one name cannot collide."""
    source = "".join(c if c.isalnum() or c in "-_." else "_" for c in item.source) or "unknown"
    return f"media/{source}/{item.path.stem}.{real_sha256[:8]}{suffix}"


def face_stage(align: AlignSpec | None = None) -> FaceExtractor:
    """The makers' face stage (one ONNX session for a whole run): faces scored >= :data:`MIN_SCORE`, aligned by
    ``align`` (default: the classifier's crop)."""
    from detector.faces.extract import FaceConfig, FaceExtractor
    from detector.recipe import DetectionSpec

    return FaceExtractor(FaceConfig(detection=DetectionSpec(min_score=MIN_SCORE), align=align or AlignSpec()))


def check_max_seconds(max_seconds: float | None) -> None:
    if max_seconds is not None and not (math.isfinite(max_seconds) and max_seconds > 0):
        raise ValueError(f"max_seconds must be > 0 or None, got {max_seconds}")


def make_clip_fakes(manifests: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str], *, maker: VideoMaker,
                    kind: FakeKind, max_seconds: float | None, seed: int) -> tuple[list[FakeRow], list[Skipped]]:
    """Write ``maker``'s fake of every real clip of ``manifests`` under ``out``, with ``MANIFEST.csv`` and
    ``skipped.csv``; resumes from an earlier run's manifest. Returns the rows and the skipped clips.

    Args:
        manifests: training manifests (``path,label`` at least); their real videos are used, the rest ignored.
        out: output folder (created).
        maker: writes one fake (it gets one face stage for all clips, made here).
        kind: the manifest names of the fakes.
        max_seconds: only the first this many seconds of each clip (training samples a few faces per item;
            a long clip costs time, not variety). ``None``: whole clips.
        seed: with the real's sha256, seeds each clip's fake (reproducible, and different per clip).
    """
    from detector.media import open_media

    check_max_seconds(max_seconds)
    extractor = face_stage()

    def make(item: MediaItem, dst: Path, *, seed: int) -> dict[str, int]:
        max_frames = None
        if max_seconds is not None:
            with open_media(item.path) as media:
                max_frames = max(1, round(max_seconds * (media.info.fps or 25.0)))
        return maker(item.path, dst, seed=seed, max_frames=max_frames, extractor=extractor)

    return make_fakes(real_items(manifests, media="video"), out, maker=make, kind=kind, seed=seed)


def item_seed(seed: int, real_sha256: str) -> int:
    """The seed of one real's fake: the run's ``seed`` with the real's sha256 (reproducible, different per real)."""
    return seed * 1_000_003 + int(real_sha256[:8], 16)


def make_fakes(items: Sequence[MediaItem], out: str | os.PathLike[str], *, maker: ItemMaker, kind: FakeKind,
               seed: int, suffix: Callable[[MediaItem], str] = lambda item: ".mp4"
               ) -> tuple[list[FakeRow], list[Skipped]]:
    """Write ``maker``'s fake of every one of ``items`` under ``out``, with ``MANIFEST.csv`` and ``skipped.csv``;
    resumes from an earlier run's manifest. Returns the rows and the skipped items.

    Args:
        items: the real items (:func:`real_items`).
        out: output folder (created).
        maker: writes one fake; a failure is that item's skip row, never the end of the run.
        kind: the manifest names of the fakes.
        seed: with the real's sha256, seeds each item's fake (reproducible, and different per item).
        suffix: the fake's file suffix for a real item (a still keeps its format).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    done = {row.pair_id: row for row in _read_rows(out / "MANIFEST.csv")}
    rows: list[FakeRow] = []
    skipped: list[Skipped] = []
    for n, item in enumerate(items, start=1):
        digest = attempt(str(item.path), sha256_file, item.path)
        if not digest.ok:
            skipped.append(Skipped(str(item.path), digest.error["code"], digest.error["message"]))
            continue
        real_sha = str(digest.value)
        earlier = done.get(real_sha)
        if earlier is not None and (out / earlier.path).is_file() and sha256_file(out / earlier.path) == earlier.sha256:
            rows.append(earlier)
            continue
        name = fake_name(item, real_sha, suffix(item))
        made = attempt(str(item.path), maker, item, out / name, seed=item_seed(seed, real_sha))
        if not made.ok or not made.value or not made.value.get("faces"):
            (out / name).unlink(missing_ok=True)  # a half-written or unchanged file is no fake
            error = made.error or {"code": NO_FACE, "message": f"the face stage found no face to {kind.verb}"}
            skipped.append(Skipped(str(item.path), error["code"], error["message"]))
            log.warning("%d/%d %s: skipped (%s)", n, len(items), item.path.name, error["code"])
            continue
        counts = made.value
        rows.append(FakeRow(
            path=name, label="fake", group=item.group, manipulation=kind.manipulation, media=item.media,
            source_repo=kind.source_repo, family=kind.family, pair_id=real_sha, real_path=str(item.path),
            real_source=item.source, frames=int(counts["frames"]), faces=int(counts["faces"]),
            sha256=sha256_file(out / name)))
        _write_rows(out / "MANIFEST.csv", rows, FakeRow)  # after every item: a stopped run loses one item at most
        log.info("%d/%d %s: %d frames, %d faces changed", n, len(items), item.path.name, counts["frames"],
                 counts["faces"])
    _write_rows(out / "MANIFEST.csv", rows, FakeRow)
    _write_rows(out / "skipped.csv", skipped, Skipped)
    return rows, skipped


def _read_rows(path: Path) -> list[FakeRow]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        found = list(csv.DictReader(f))
    ints = {"frames", "faces"}
    return [FakeRow(**{k: int(v) if k in ints else v for k, v in row.items()}) for row in found]  # type: ignore[arg-type]


def _write_rows(path: Path, rows: Sequence[FakeRow] | Sequence[Skipped], kind: type) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[field.name for field in fields(kind)])
        writer.writeheader()
        writer.writerows(asdict(row) for row in rows)
    tmp.replace(path)  # never a half-written manifest
