"""The per-file work, shared by the local and the Ray engine: scan one file into an :class:`Outcome`.

An outcome is what the ledger stores for one content hash: the full ``MediaResult.to_dict()`` JSON (an
``error`` verdict with its stable code for bad input, never a made-up score) and a small JPEG of the most
suspicious face for the HTML report.

Provenance (what the file declares about where it came from) is read from the file's own bytes, before the pixels,
by both engines: :meth:`FileScanner.scan` through ``Detector.scan``, the Ray engine's split in :func:`decode`, which
ships it with the frames. A file whose pixels then fail keeps the provenance read before, as ``Detector.scan_many``
keeps it: a truncated generated image still says it was generated.

A file that changed between the walk and the scan (size or mtime differ from what was hashed) gives a
``changed`` outcome, which the ledger does not store: the result would belong to bytes nobody hashed.
The next run re-hashes it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from detector.api import Detector
from detector.errors import attempt
from detector.modelcard import ModelCard
from detector.provenance import Provenance, read_provenance
from detector.recipe import ScanConfig
from detector.results import MediaResult, ModelInfo

log = logging.getLogger("deepfake.audit")

# 96 px: the HTML report shows faces at 96 px; a q85 JPEG of that is ~3 KB, so 100k files add ~300 MB at most.
THUMBNAIL_PX = 96
THUMBNAIL_QUALITY = 85


def resolved(settings: ScanConfig, card: ModelCard) -> ScanConfig:
    """``settings`` with the frame choice spelled out from ``card``'s recipe, so that leaving a default and naming
    it are the same analysis (and ledgers keyed before the recipe moved into the card keep their results)."""
    if settings.frames is None and settings.fps is None:
        return replace(settings, frames=card.scan.sampling.frames, fps=card.scan.sampling.fps)
    return settings


def settings_key(settings: ScanConfig, card: ModelCard) -> str:
    """Canonical JSON of the overrides a stored result depends on (with the model's sha256 they key the ledger):
    equal settings give equal strings. ``frames``, ``fps`` and ``threshold`` are always spelled, as ledgers
    have keyed them from the start; other overrides only when set; then ``card``'s :func:`card_key`."""
    return json.dumps({"frames": settings.frames, "fps": settings.fps, "threshold": settings.threshold,
                       **settings.overrides(), "card": card_key(card)}, sort_keys=True)


def card_key(card: ModelCard) -> str:
    """What a stored result depends on in a model's card besides its graph (whose sha256 the ledger keys already):
    the calibration, the scan recipe and the kinds, digested. A card re-released over the same graph — v1.2.3's
    refitted temperature, v1.2.4's way of combining persons — changes verdicts, so its results are a new analysis."""
    text = json.dumps({"calibration": asdict(card.calibration), "scan": card.scan.to_dict(), "kinds": list(card.kinds)},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ScannerSpec:
    """Everything a worker needs to build its own detector (picklable: crosses process and node borders)."""

    model: str | None = None  # an .onnx with its card .json beside it; None: the bundled default
    settings: ScanConfig = field(default_factory=ScanConfig)
    providers: tuple[str, ...] | None = None

    def card(self) -> ModelCard:
        """The model's card, without starting ONNX sessions (workers verify the sha256)."""
        from detector.classifier import DEFAULT_MODEL

        onnx = Path(self.model) if self.model is not None else DEFAULT_MODEL
        return ModelCard.load(onnx.with_suffix(".json"))

    def model_info(self) -> ModelInfo:
        """The model's identity from its card."""
        card = self.card()
        return ModelInfo(card.name, card.version, card.sha256)

    def settings_key(self) -> str:
        """What, with the model's sha256, identifies an analysis in the ledger: the settings as the card fills them,
        and the card's own part (:func:`card_key`)."""
        card = self.card()
        return settings_key(resolved(self.settings, card), card)


@dataclass(frozen=True)
class WorkItem:
    """One content hash to scan, through one of the files holding it."""

    content_sha256: str
    path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Outcome:
    """``result`` is ``MediaResult.to_dict()`` (``None`` only for ``changed``)."""

    content_sha256: str
    path: str
    status: Literal["done", "error", "changed"]
    result: dict[str, Any] | None
    thumbnail: bytes | None = None
    seconds: float = 0.0

    @property
    def verdict(self) -> str | None:
        return None if self.result is None else self.result["verdict"]

    @property
    def fake_probability(self) -> float | None:
        return None if self.result is None else self.result["fake_probability"]

    @property
    def kind(self) -> str | None:
        """The kind of fake (a model with a kind head, a fake or uncertain verdict), else ``None``."""
        return None if self.result is None else self.result.get("kind")

    @property
    def provenance(self) -> str | None:
        """The file's provenance state (:data:`detector.provenance.PROVENANCE_STATES`); ``None`` when none was read
        (a path that failed before its bytes were read, or a result stored before media_result schema v3)."""
        block = None if self.result is None else self.result.get("provenance")
        return None if block is None else block["state"]

    @property
    def error_code(self) -> str | None:
        error = None if self.result is None else self.result["error"]
        return None if error is None else error["code"]


def crashed(item: WorkItem, model: ModelInfo, threshold: float, message: str) -> Outcome:
    """The outcome for a file whose worker died while scanning it (decoder crash, out of memory)."""
    result = MediaResult.failed(item.path, {"code": "worker_crashed", "message": message}, model=model,
                                threshold=threshold)
    return Outcome(item.content_sha256, item.path, "error", result.to_dict())


def thumbnail_jpeg(result: MediaResult) -> bytes | None:
    """The most suspicious face as a small JPEG, or ``None`` without faces."""
    if not result.evidence:
        return None
    import cv2

    crop = result.evidence[0].crop
    if max(crop.shape[:2]) > THUMBNAIL_PX:
        crop = cv2.resize(crop, (THUMBNAIL_PX, THUMBNAIL_PX), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, THUMBNAIL_QUALITY])
    return data.tobytes() if ok else None


def _unchanged(item: WorkItem) -> bool:
    try:
        st = os.stat(item.path)
    except OSError:
        return False
    return st.st_size == item.size and st.st_mtime_ns == item.mtime_ns


class FileScanner:
    """Holds one :class:`Detector` (its ONNX sessions) for the life of a worker."""

    def __init__(self, detector: Detector) -> None:
        self.detector = detector

    @classmethod
    def load(cls, spec: ScannerSpec) -> FileScanner:
        return cls(Detector.load(spec.model, config=spec.settings,
                                 providers=list(spec.providers) if spec.providers else None))

    @property
    def model(self) -> ModelInfo:
        return self.detector.model

    def scan(self, item: WorkItem) -> Outcome:
        """Decode and scan the file."""
        if not _unchanged(item):
            return Outcome(item.content_sha256, item.path, "changed", None)
        start = time.perf_counter()
        result = self.detector.guarded(item.path, lambda: self.detector.scan(item.path, evidence=1))
        if result.verdict == "error":
            # Detector.scan raises, so its error result lost the provenance it read first; read it again, for failed
            # files only (the split path keeps the one it read): both engines store the same result.
            read = attempt(item.path, read_provenance, item.path)
            if read.ok:
                result = replace(result, provenance=read.value)
        return self._finish(item, result, start)

    def scan_decoded(self, item: WorkItem, decoded: Decoded) -> Outcome:
        """Scan frames a decode task already sampled (the Ray engine's split): the same result as :meth:`scan`."""
        start = time.perf_counter() - decoded.seconds
        if decoded.error is not None:
            result = self.detector.failed(item.path, decoded.error, provenance=decoded.provenance)
        else:
            def scan() -> MediaResult:
                result = self.detector.scan_frames(decoded.frames, name=item.path, media=decoded.kind, evidence=1,
                                                   provenance=decoded.provenance)
                timings = {**result.timings, "decode": decoded.seconds,
                           "total": result.timings.get("total", 0.0) + decoded.seconds}
                return replace(result, timings=timings)

            result = self.detector.guarded(item.path, scan)
        return self._finish(item, result, start)

    def _finish(self, item: WorkItem, result: MediaResult, start: float) -> Outcome:
        if not _unchanged(item):
            return Outcome(item.content_sha256, item.path, "changed", None)
        status: Literal["done", "error"] = "error" if result.verdict == "error" else "done"
        return Outcome(item.content_sha256, item.path, status, result.to_dict(), thumbnail_jpeg(result),
                       time.perf_counter() - start)


@dataclass(frozen=True)
class Decoded:
    """Sampled frames of one file, or the error decoding gave (the Ray engine's CPU stage), with the file's
    provenance read from its bytes (``None`` when its path could not be read at all)."""

    kind: Literal["video", "image"] | None
    frames: tuple[Any, ...] = ()
    error: dict[str, str] | None = None
    seconds: float = 0.0
    provenance: Provenance | None = None


def decode(item: WorkItem, settings: ScanConfig) -> Decoded:
    """Read the file's provenance, then open it and sample its frames exactly as ``Detector.scan`` would;
    ``settings`` spelled out from the model card (:func:`resolved`), since decode tasks hold no model.

    The provenance is read here, where the file is, because the frames shipped on carry none of its bytes."""
    from detector.recipe import ScanRecipe

    if settings.frames is None and settings.fps is None:
        raise ValueError("decode needs resolved settings (resolved(settings, card))")
    start = time.perf_counter()
    read = attempt(item.path, read_provenance, item.path)
    if not read.ok:  # the path itself cannot be read (gone, empty, no permission): sampling would fail the same way
        return Decoded(None, error=read.error, seconds=time.perf_counter() - start)
    sampling = settings.apply(ScanRecipe()).sampling  # the frame choice is spelled out: the defaults fill the rest
    tried = attempt(item.path, Detector.sample, item.path, sampling)
    if not tried.ok:
        return Decoded(None, error=tried.error, seconds=time.perf_counter() - start, provenance=read.value)
    kind, frames = tried.value
    return Decoded(kind, tuple(frames), seconds=time.perf_counter() - start, provenance=read.value)
