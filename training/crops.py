"""Face-crop cache: run the inference face stage over a dataset once, keep the aligned crops.

Training crops come from exactly the code that inference runs (``detector.faces.extract``), so the
classifier never sees a crop the product would not make. The cache lives in
``ROOT/<key>/`` where the key hashes the alignment version and the face-stage settings: change either
and a new cache is built beside the old one (the old one is never silently reused).

Layout::

    ROOT/<key>/config.json        the settings the key was made from
    ROOT/<key>/index.jsonl        one line per media item: item fields, status, face count, error
    ROOT/<key>/faces/<id>.npz     crops (n,S,S,3) uint8, landmarks in crop pixels (n,5,2), track ids,
                                  timestamps, detector scores, face sizes

Building is parallel (one process per core, one ONNX thread each) and resumable: items already in the
index are skipped, each ``.npz`` is written atomically, and an interrupted run continues where it stopped.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from detector.errors import DetectorError
from detector.faces.align import AlignSpec, alignment_matrix, transform_points
from detector.faces.extract import FaceConfig, FaceExtractor
from detector.faces.quality import frontalness, sharpness
from detector.judge import FaceFacts
from detector.recipe import DetectionSpec, SamplingSpec, ScanRecipe

from .data.items import MediaItem

# Training keeps the largest faces of each frame: crowds in the background are not what an item's label is about.
TRAIN_FACES_PER_FRAME = 4


@dataclass(frozen=True)
class CropCacheConfig:
    """Face-stage settings for the cache (part of the cache key): a model card's scan recipe (its sampling,
    detection and crop sections), plus the cache's own ``max_faces_per_frame``. Build it with :meth:`from_recipe`
    (the card's recipe with a :class:`detector.recipe.ScanConfig`'s overrides) so the crops are made as the scan
    makes them. Only a frame count is cached: fixed-rate sampling is refused.
    """

    align: AlignSpec = field(default_factory=AlignSpec)
    sampling: SamplingSpec = field(default_factory=SamplingSpec)
    detection: DetectionSpec = field(default_factory=DetectionSpec)
    # ``None`` keeps every face, as a scan does (``deepfake eval`` caches).
    max_faces_per_frame: int | None = TRAIN_FACES_PER_FRAME

    def __post_init__(self) -> None:
        if self.sampling.fps is not None:
            raise ValueError("the crop cache samples a fixed number of frames per video; fps sampling is not supported")

    @classmethod
    def from_recipe(cls, recipe: ScanRecipe, **overrides: Any) -> CropCacheConfig:
        return cls(align=recipe.align, sampling=recipe.sampling, detection=recipe.detection, **overrides)

    def key_fields(self) -> dict[str, Any]:
        """What the key hashes. The layout predates ``detection``: its fields are spelled as they were then, and
        ``min_face_size``/``min_track_faces`` (fixed defaults then) only enter when changed, so every cache built
        before keeps its key (rebuilding the 224 px cache of ../shared/data takes over an hour on 2 cores)."""
        d = self.detection
        payload: dict[str, Any] = {"align": asdict(self.align), "frames_per_video": self.sampling.frames,
                                   "detect_long_side": d.detect_long_side, "min_score": d.min_score,
                                   "max_faces_per_frame": self.max_faces_per_frame,
                                   "redetect_every": d.redetect_every,
                                   "reference_frames_only": self.sampling.reference_frames_only}
        for name in ("min_face_size", "min_track_faces"):
            if getattr(d, name) != getattr(DetectionSpec, name):
                payload[name] = getattr(d, name)
        return payload

    def key(self) -> str:
        payload = json.dumps({**self.key_fields(), "align_version": self.align.version}, sort_keys=True)
        return f"{self.align.version}-{hashlib.sha1(payload.encode()).hexdigest()[:10]}"

    def face_config(self) -> FaceConfig:
        return FaceConfig(detection=self.detection, align=self.align)



@dataclass(frozen=True, eq=False)
class CachedFaces:
    """The cached faces of one media item."""

    item: MediaItem
    crops: np.ndarray
    landmarks: np.ndarray
    track_ids: np.ndarray
    timestamps: np.ndarray
    scores: np.ndarray
    sizes: np.ndarray
    # Cached since the judge runs on cached faces (``deepfake eval``); older entries recompute them from the crop
    # and the crop-space landmarks (the same functions; frontalness is invariant to the alignment transform).
    sharpness: np.ndarray | None = None
    frontalness: np.ndarray | None = None
    kind: str | None = None  # "video" or "image", as the media was opened; older entries: the item's

    def __len__(self) -> int:
        return len(self.crops)

    @property
    def media(self) -> str:
        return self.kind or self.item.media

    def facts(self) -> list[FaceFacts]:
        """What :func:`detector.judge.judge` needs of each face."""
        sharp = self.sharpness if self.sharpness is not None else [sharpness(c) for c in self.crops]
        front = self.frontalness if self.frontalness is not None else [frontalness(m) for m in self.landmarks]
        return [FaceFacts(int(t), float(z), float(s), float(f))
                for t, z, s, f in zip(self.track_ids, self.sizes, sharp, front)]


@functools.cache
def _content_id(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:20]


def item_id(item: MediaItem) -> str:
    """Stable id of a file's content (sha256, streamed).

    Content, not path and mtime: a dataset that is copied, re-mounted or touched keeps its cache (the
    shared data was re-copied between sessions here, which invalidated an mtime-keyed cache of 12k faces).
    Hashing the 250 MB of ``../shared/data`` takes about a second; the result is memoised per file version.
    """
    st = Path(item.path).stat()
    return _content_id(str(Path(item.path).resolve()), st.st_size, st.st_mtime_ns)


# -- worker side -------------------------------------------------------------------------------------

_EXTRACTOR: FaceExtractor | None = None


def _init_worker(config: CropCacheConfig, threads: int) -> None:
    global _EXTRACTOR
    from detector.faces.backends import create_detector

    detector = create_detector("onnx", intra_op_threads=threads)
    _EXTRACTOR = FaceExtractor(config.face_config(), detector=detector)


def _extract(item: MediaItem, iid: str, out_dir: Path, config: CropCacheConfig) -> dict[str, Any]:
    assert _EXTRACTOR is not None
    record: dict[str, Any] = {"id": iid, **item.to_dict()}
    start = time.perf_counter()
    try:
        result = _EXTRACTOR.extract(item.path, sampling=config.sampling)
    except DetectorError as exc:
        return {**record, "status": "error", "error": exc.to_dict(), "n_faces": 0}
    faces = list(result.faces)
    by_sample: dict[int, list] = {}
    for f in faces:
        by_sample.setdefault(f.sample, []).append(f)
    cap = config.max_faces_per_frame
    faces = [f for group in by_sample.values() for f in sorted(group, key=lambda f: -f.quality.size_px)[:cap]]
    faces.sort(key=lambda f: (f.sample, f.track_id))
    spec = config.align
    n = len(faces)
    arrays = {
        "crops": np.stack([f.crop for f in faces]) if n else np.zeros((0, spec.size, spec.size, 3), np.uint8),
        "landmarks": np.stack([transform_points(np.asarray(f.landmarks), alignment_matrix(np.asarray(f.landmarks),
                                                                                          spec)) for f in faces]
                              ).astype(np.float32) if n else np.zeros((0, 5, 2), np.float32),
        "track_ids": np.array([f.track_id for f in faces], np.int32),
        "timestamps": np.array([f.timestamp for f in faces], np.float32),
        "scores": np.array([f.quality.score for f in faces], np.float32),
        "sizes": np.array([f.quality.size_px for f in faces], np.float32),
        "sharpness": np.array([f.quality.sharpness for f in faces], np.float64),
        "frontalness": np.array([f.quality.frontalness for f in faces], np.float64),
        "kind": np.array(result.media.kind),
    }
    tmp = out_dir / f"{iid}.tmp.npz"
    np.savez(tmp, **arrays)  # crops are high-entropy: zlib saves ~10 % for 5x the time, so store raw
    os.replace(tmp, out_dir / f"{iid}.npz")
    return {**record, "status": "ok", "error": None, "n_faces": n, "n_frames": result.n_frames,
            "n_tracks": len(result.tracks), "seconds": round(time.perf_counter() - start, 3)}


def _work(args: tuple[MediaItem, str, Path, CropCacheConfig]) -> dict[str, Any]:
    return _extract(*args)


# -- the cache ---------------------------------------------------------------------------------------


class CropCache:
    """Example:
        >>> cache = CropCache("~/.cache/deepfake/crops", CropCacheConfig())  # doctest: +SKIP
        >>> cache.build(items, workers=2)  # doctest: +SKIP
        >>> for faces in cache.iter_faces(items): ...  # doctest: +SKIP
    """

    def __init__(self, root: str | os.PathLike[str], config: CropCacheConfig | None = None) -> None:
        self.config = config or CropCacheConfig()
        self.dir = Path(root).expanduser() / self.config.key()
        self.faces_dir = self.dir / "faces"
        self.index_path = self.dir / "index.jsonl"

    def _records(self) -> dict[str, dict[str, Any]]:
        records: dict[str, dict[str, Any]] = {}
        if self.index_path.exists():
            with open(self.index_path, encoding="utf-8") as f:
                for line in f:
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        rec = json.loads(line)
                    except ValueError:  # a line cut short by an interrupted run
                        continue
                    records[rec["id"]] = rec
        return records

    def build(self, items: Sequence[MediaItem], *, workers: int | None = None, progress: bool = True) -> dict[str, int]:
        """Extract faces for every item not cached yet. Returns counts: cached, built, failed, faces."""
        self.faces_dir.mkdir(parents=True, exist_ok=True)
        cfg_path = self.dir / "config.json"
        if not cfg_path.exists():
            cfg_path.write_text(json.dumps({**self.config.key_fields(), "align_version": self.config.align.version},
                                           indent=2) + "\n")
        done = self._records()
        todo = []
        for item in items:
            iid = item_id(item)
            if iid in done and (done[iid]["status"] == "error" or (self.faces_dir / f"{iid}.npz").exists()):
                continue
            todo.append((item, iid, self.faces_dir, self.config))
        counts = {"cached": len(items) - len(todo), "built": 0, "failed": 0, "faces": 0}
        if not todo:
            return counts
        workers = workers or max(1, len(os.sched_getaffinity(0)))
        start = time.monotonic()
        with open(self.index_path, "a", encoding="utf-8") as index, ProcessPoolExecutor(
                max_workers=workers, initializer=_init_worker, initargs=(self.config, 1)) as pool:
            futures = [pool.submit(_work, job) for job in todo]
            for n, future in enumerate(as_completed(futures), start=1):
                rec = future.result()
                index.write(json.dumps(rec) + "\n")
                index.flush()
                counts["built" if rec["status"] == "ok" else "failed"] += 1
                counts["faces"] += rec["n_faces"]
                if progress and (n % 25 == 0 or n == len(todo)):
                    rate = n / max(time.monotonic() - start, 1e-6)
                    print(f"\rcrop cache: {n}/{len(todo)} items, {counts['faces']} faces, {rate:.1f} items/s, "
                          f"eta {(len(todo) - n) / rate:.0f} s", end="", file=sys.stderr, flush=True)
        if progress:
            print(file=sys.stderr)
        return counts

    def load(self, item: MediaItem) -> CachedFaces | None:
        """Cached faces of ``item`` (``None`` if it failed or was never built)."""
        path = self.faces_dir / f"{item_id(item)}.npz"
        if not path.exists():
            return None
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
        if "kind" in arrays:
            arrays["kind"] = str(arrays["kind"])
        return CachedFaces(item=item, **arrays)

    def iter_faces(self, items: Iterable[MediaItem]) -> Iterator[CachedFaces]:
        for item in items:
            faces = self.load(item)
            if faces is not None and len(faces):
                yield faces

    def failures(self) -> list[dict[str, Any]]:
        return [r for r in self._records().values() if r["status"] == "error"]
