"""Cross-identity face swaps of stills: a copy of every real training image with each face replaced by someone else's.

Single-image swappers (inswapper, ReSwapper) paste another person's inner face, generated at 128 px and
colour-matched, into a real photo through a soft mask. The training fakes for stills are generated faces and
self-blends (a face blended onto itself); none puts a *different* person into one of our reals. This writes one
such fake per real still with a face of at least 64 px, every such face swapped
(:func:`training.synth.swap_face.swap_face`: a donor warped onto it, squeezed to a 96 to 160 px face and back,
Reinhard colour-matched, blended over the inner face through a feathered mask), as JPEG at a drawn quality in
[85, 98] (most swaps are shared as JPEG), or PNG where the real is PNG.

Donors are the faces of the real stills themselves, collected in a first pass: each face's donor comes from a
*different group* (groups are identities or sources, so never the same person), among the :attr:`nearest` donors
of most similar pose (the 5-point landmark layout in the aligned crop), drawn with the run's seed. Only the aligned
256 px crops of at most two faces per still are held (196 KB each: ~1.2 GB at most for 3,000 stills), with the
landmarks of every face to swap.

The run is the clip fakes' (:func:`training.synth.clip_fakes.make_fakes`): each fake in its real's ``group`` with
the real's sha256 as ``pair_id``, one ``source_repo`` for all (:data:`SOURCE`), the ``swap`` kind, resumable image by
image, and stills it cannot read or with no face of 64 px in ``skipped.csv`` with their error code (``no_face``).
A seed and the same manifests give the same bytes (``--limit`` draws donors from the first N stills only).

``python -m training.synth.cross_swap --data train.csv [more.csv ...] --out DIR [--seed 0] [--limit N]``
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from detector.errors import ConfigError, attempt
from detector.kinds import SWAP

from ..data.items import MediaItem
from .clip_fakes import FakeKind, FakeRow, Skipped, face_stage, make_fakes, real_items
from .swap_face import SwapConfig, SwapDraw, inner_face_polygon, swap_face

if TYPE_CHECKING:
    from detector.faces.extract import Face

SOURCE = "self-made/cross-swap"
# "swap" in the name: training.data.families reads the kind from it too, where a manifest has no family column.
MANIPULATION = "face-swap(cross-swap)"
KIND = FakeKind(source_repo=SOURCE, manipulation=MANIPULATION, family=SWAP, verb="swap")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CrossSwapConfig:
    """Which faces are swapped, with which donors, and how the stills are written.

    Attributes:
        min_face_px: faces smaller than this (the box's shorter side) are neither swapped nor donors: below it a
            swap is a smudge the classifier's crop barely resolves.
        nearest: the donor is drawn from this many of the most similar poses (more: more identities per pose,
            less well-matched).
        donors_per_still: the largest this many faces of a still are donors (bounds memory on group photos).
        jpeg_quality: the range of JPEG qualities.
        swap: how one face is swapped.
    """

    min_face_px: float = 64.0
    nearest: int = 5
    donors_per_still: int = 2
    jpeg_quality: tuple[int, int] = (85, 98)
    swap: SwapConfig = field(default_factory=SwapConfig)

    def __post_init__(self) -> None:
        if self.nearest < 1 or self.donors_per_still < 1:
            raise ConfigError(f"nearest and donors_per_still must be >= 1, got {self.nearest}, "
                              f"{self.donors_per_still}")
        if not 1 <= self.jpeg_quality[0] <= self.jpeg_quality[1] <= 100:
            raise ConfigError(f"jpeg_quality must be 1 <= low <= high <= 100, got {self.jpeg_quality}")


@dataclass(frozen=True, eq=False)
class Donor:
    """One real face that can be put into others: its aligned crop and its landmarks in that crop."""

    path: Path
    group: str
    crop: np.ndarray = field(repr=False)  # (S, S, 3) uint8 RGB, SwapConfig.spec
    landmarks: np.ndarray = field(repr=False)  # (5, 2) in crop pixels


class DonorPool:
    """The donor faces of a run, searchable by pose."""

    def __init__(self, donors: Sequence[Donor], *, size: int) -> None:
        self.donors = tuple(donors)
        self._size = size
        self._layouts = np.array([pose_layout(d.landmarks, size) for d in self.donors]).reshape(-1, 10)
        self._groups = np.array([d.group for d in self.donors], dtype=object)

    @property
    def groups(self) -> set[str]:
        return set(self._groups.tolist())

    def choose(self, crop_landmarks: np.ndarray, group: str, rng: np.random.Generator, *, nearest: int) -> Donor:
        """A donor of another group than ``group``, drawn from the ``nearest`` whose pose is closest to a face
        with ``crop_landmarks`` (its landmarks in its own aligned crop).

        Raises:
            ConfigError: no donor of another group.
        """
        distance = np.linalg.norm(self._layouts - pose_layout(crop_landmarks, self._size), axis=1)
        distance[self._groups == group] = np.inf  # never the same group: not the same person, nor the same photo
        candidates = np.argsort(distance, kind="stable")[:min(nearest, int(np.isfinite(distance).sum()))]
        if not len(candidates):
            raise ConfigError(f"no donor face of a group other than {group!r}")
        return self.donors[int(candidates[rng.integers(len(candidates))])]


def pose_layout(crop_landmarks: np.ndarray, size: int) -> np.ndarray:
    """The five landmarks in their aligned crop as a fraction of its side, ``(10,)``: what is left of a face's
    layout after alignment (where the nose sits between the eyes, how wide the mouth is) is its pose."""
    return np.asarray(crop_landmarks, np.float64).reshape(10) / size


def read_still(path: str | os.PathLike[str]) -> np.ndarray:
    """The pixels of a still, ``(H, W, 3)`` uint8 RGB (raises ``MediaError`` subclasses for unusable files)."""
    from detector.media import read_frames

    _, frames = read_frames(path)
    return frames[0].image


def collect_faces(items: Sequence[MediaItem], *, config: CrossSwapConfig | None = None
                  ) -> tuple[DonorPool, dict[Path, list[np.ndarray]]]:
    """The first pass: the donors of ``items`` and, per readable still, the landmarks of its faces to swap
    (largest first).

    A still that cannot be read is left out here; the second pass meets the same error and records it. A face is a
    donor only when its inner face lies inside its photo (a crop cut off by the frame would paste black).
    """
    from detector.faces.align import alignment_matrix, transform_points
    from detector.media import Frame

    config = config or CrossSwapConfig()
    spec = config.swap.spec
    extractor = face_stage(align=spec)  # its crops are the donor crops

    def faces_of(path: Path) -> tuple[tuple[int, ...], list[Face]]:
        image = read_still(path)
        return image.shape, extractor.extract_frames([Frame(0, 0.0, image)])

    donors: list[Donor] = []
    targets: dict[Path, list[np.ndarray]] = {}
    for n, item in enumerate(items, start=1):
        found = attempt(str(item.path), faces_of, item.path)
        if found.value is None:
            continue
        (height, width, *_), faces = found.value
        faces = sorted((f for f in faces if f.quality.size_px >= config.min_face_px), key=lambda f: -f.quality.size_px)
        targets[item.path] = [np.asarray(f.landmarks, np.float64) for f in faces]
        for face in faces[:config.donors_per_still]:
            lm = np.asarray(face.landmarks, np.float64)
            polygon = inner_face_polygon(lm)
            if polygon.min() >= 0 and polygon[:, 0].max() < width and polygon[:, 1].max() < height:
                donors.append(Donor(path=item.path, group=item.group, crop=face.crop,
                                    landmarks=transform_points(lm, alignment_matrix(lm, spec))))
        if n % 200 == 0:
            log.info("donor pass: %d/%d stills, %d donor faces", n, len(items), len(donors))
    return DonorPool(donors, size=spec.size), targets


def swap_still(item: MediaItem, dst: Path, *, seed: int, faces: Sequence[np.ndarray], pool: DonorPool,
               config: CrossSwapConfig | None = None) -> dict[str, int]:
    """Write ``dst`` (its folder is created): the still ``item`` with each of ``faces`` (landmarks in its pixels)
    swapped with a donor of ``pool``; nothing is written when ``faces`` is empty. Returns ``{"frames": 1,
    "faces": faces swapped}``.

    Every draw comes from ``seed``: donor, bottleneck and mask edge face by face, then the JPEG quality.
    """
    from detector.faces.align import alignment_matrix, transform_points

    config = config or CrossSwapConfig()
    image = read_still(item.path)  # read even without faces: an unreadable still is skipped with its own code
    if not faces:
        return {"frames": 1, "faces": 0}
    rng = np.random.default_rng(seed % 2**63)
    spec = config.swap.spec
    for lm in faces:
        donor = pool.choose(transform_points(lm, alignment_matrix(lm, spec)), item.group, rng, nearest=config.nearest)
        image, _ = swap_face(image, lm, donor.crop, donor.landmarks, draw=SwapDraw.draw(rng, config.swap),
                             config=config.swap)
        log.debug("%s: a face of %s from %s (%s)", item.path.name, item.group, donor.path.name, donor.group)
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    if _is_png(item):
        ok, data = cv2.imencode(".png", bgr)
    else:
        quality = int(rng.integers(config.jpeg_quality[0], config.jpeg_quality[1] + 1))
        ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError(f"OpenCV could not encode {dst.name}")
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(data.tobytes())
    return {"frames": 1, "faces": len(faces)}


def _is_png(item: MediaItem) -> bool:
    return item.path.suffix.lower() == ".png"


def make_cross_swaps(manifests: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str], *, seed: int = 0,
                     limit: int | None = None, config: CrossSwapConfig | None = None
                     ) -> tuple[list[FakeRow], list[Skipped]]:
    """Write a face-swapped copy of every real still of ``manifests`` under ``out``, with ``MANIFEST.csv`` and
    ``skipped.csv``; resumes from an earlier run's manifest. Returns the rows and the skipped stills.

    Args:
        manifests: training manifests (``path,label`` at least); their real images are targets and donors.
        out: output folder (created).
        seed: with the real's sha256, seeds each still's swaps.
        limit: only the first this many real stills (targets and donors), for a trial run.
        config: faces, donors and output format.

    Raises:
        ConfigError: there are faces to swap but no two groups to take donors from.

    Example:
        >>> rows, skipped = make_cross_swaps(["train.csv"], "runs/cross-swap")  # doctest: +SKIP
    """
    config = config or CrossSwapConfig()
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1 or None, got {limit}")
    items = real_items(manifests, media="image")[:limit]
    pool, targets = collect_faces(items, config=config)
    log.info("%d real stills, %d with faces to swap, %d donor faces of %d groups", len(items),
             sum(bool(faces) for faces in targets.values()), len(pool.donors), len(pool.groups))
    if any(targets.values()) and len(pool.groups) < 2:
        raise ConfigError(f"cross-swaps need donor faces of two groups at least; the real stills have "
                          f"{len(pool.groups)}")

    def make(item: MediaItem, dst: Path, *, seed: int) -> dict[str, int]:
        return swap_still(item, dst, seed=seed, faces=targets.get(item.path, []), pool=pool, config=config)

    return make_fakes(items, out, maker=make, kind=KIND, seed=seed,
                      suffix=lambda item: ".png" if _is_png(item) else ".jpg")


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training.synth.cross_swap",
                                     description="Write a face-swapped copy (faces of other people's photos pasted "
                                                 "in) of every real still of training manifests.")
    parser.add_argument("--data", nargs="+", required=True, metavar="CSV", help="training manifests")
    parser.add_argument("--out", type=Path, required=True, help="output folder (MANIFEST.csv, skipped.csv, media/)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, metavar="N",
                        help="only the first N real stills, as targets and as donors (a trial run)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    rows, skipped = make_cross_swaps(args.data, args.out, seed=args.seed, limit=args.limit)
    print(f"{len(rows)} fakes in {args.out / 'MANIFEST.csv'}; {len(skipped)} stills skipped"
          + (f" (see {args.out / 'skipped.csv'})" if skipped else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
