"""One audit run: index the roots into the ledger, then scan what is still pending for this analysis.

1. Index: walk, sniff, hash. A path whose size, mtime and inode match the ledger keeps its stored hash
   (the second run over an unchanged archive reads no file contents). Files are committed in batches,
   each with the ``pending`` scan rows of its new contents.
2. Scan: the contents of this run's files still ``pending`` for (model sha256, settings), each once,
   through an engine (``local`` worker processes or ``ray``). Results are committed as they arrive.

Stopping (SIGINT / SIGTERM): the first signal stops handing out files, lets in-flight ones finish and
records them; a second stops at once, and unfinished files stay ``pending``. Either way the run is
marked ``interrupted`` and the same command continues where it stopped.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Literal, Self

from .identify import identify
from .ledger import IndexedFile, Ledger
from .progress import AuditProgress
from .walk import WalkOptions, walk
from .work import Outcome, ScannerSpec, WorkItem

if TYPE_CHECKING:
    from .local import LocalEngine
    from .ray_engine import RayEngine

log = logging.getLogger("deepfake.audit")

# Commit the index every 256 files or 2 s, whichever first: a kill loses at most that much hashing,
# and a transaction per file would make indexing an unchanged archive of 100k files take minutes.
_INDEX_BATCH = 256
_INDEX_BATCH_S = 2.0


@dataclass(frozen=True)
class AuditOptions:
    """Attributes:
        roots: directories (or single files) to audit.
        db: the ledger file (created if missing).
        walk: which files count (globs, hidden files, symlinks, ``--since``).
        spec: model and scan settings; with the model's sha256 they decide what is already done.
        engine: ``local`` (worker processes) or ``ray``.
        workers: local worker processes (None: one per usable core; 0: scan in this process).
        address: Ray cluster address (None: the current or a new local instance).
        limit: scan at most this many files in this run.
        rescan_errors: put this run's failed files back to pending first.
        argv: the command line, recorded with the run.
    """

    roots: tuple[str, ...]
    db: Path
    walk: WalkOptions = field(default_factory=WalkOptions)
    spec: ScannerSpec = field(default_factory=ScannerSpec)
    engine: Literal["local", "ray"] = "local"
    workers: int | None = None
    address: str | None = None
    limit: int | None = None
    rescan_errors: bool = False
    argv: tuple[str, ...] = ()


@dataclass(frozen=True)
class AuditSummary:
    """What one run did, and where the files of its scope stand afterwards."""

    run_id: int
    interrupted: bool
    files_seen: int
    hashed: int
    scanned: int
    index_seconds: float
    scan_seconds: float
    status_counts: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.scanned / self.scan_seconds if self.scan_seconds > 0 else 0.0


class StopRequest:
    """First SIGINT/SIGTERM: ``requested`` turns true. Second: ``KeyboardInterrupt``, stop at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, object] = {}

    def __call__(self) -> bool:
        return self.requested

    def __enter__(self) -> Self:
        if threading.current_thread() is threading.main_thread():  # signal handlers live in the main thread
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        log.warning("%s: finishing the files in flight, then stopping (again to stop at once; "
                    "re-run the same command to continue)", signal.Signals(signum).name)


def _engine(options: AuditOptions) -> LocalEngine | RayEngine:
    if options.engine == "ray":
        from .ray_engine import RayEngine

        return RayEngine(options.spec, address=options.address)
    from .local import LocalEngine

    return LocalEngine(options.spec, workers=options.workers)


def index(ledger: Ledger, options: AuditOptions, *, run_id: int, analysis_id: int,
          should_stop: Callable[[], bool]) -> tuple[int, int]:
    """Walk, sniff and hash into the ledger; returns (files seen, files hashed)."""
    batch: list[IndexedFile] = []
    seen = hashed = 0
    last_commit = time.monotonic()
    for found in walk(options.roots, options.walk):
        if should_stop():
            break
        known = ledger.known(found.path) if found.error is None else None
        if known is not None and known.identity.error is None and \
                (known.size, known.mtime_ns, known.inode) == (found.size, found.mtime_ns, found.inode):
            identity = known.identity
        else:
            identity = identify(found)
            if identity is None:  # vanished since the walk listed it
                continue
            hashed += identity.content_sha256 is not None
        batch.append(IndexedFile(found, identity))
        seen += 1
        if len(batch) >= _INDEX_BATCH or time.monotonic() - last_commit >= _INDEX_BATCH_S:
            ledger.record_files(batch, run_id=run_id, analysis_id=analysis_id)
            batch, last_commit = [], time.monotonic()
    ledger.record_files(batch, run_id=run_id, analysis_id=analysis_id)
    return seen, hashed


def run_audit(options: AuditOptions, *, stop: StopRequest | None = None,
              progress: bool | None = None) -> AuditSummary:
    """Index and scan; see the module docstring. Raises ``DetectorError`` subclasses for set-up problems.

    ``progress``: draw the bar on stderr (default: when stderr is a terminal).

    Example:
        >>> summary = run_audit(AuditOptions(roots=("archive",), db=Path("audit.sqlite")))  # doctest: +SKIP
        >>> summary.scanned, summary.status_counts  # doctest: +SKIP
    """
    stop = stop or StopRequest()
    model = options.spec.model_info()
    engine = _engine(options)
    with Ledger.open(options.db) as ledger, ledger.exclusive(), stop:
        analysis_id = ledger.analysis_id(model, options.spec.settings_key())
        run_id = ledger.start_run(analysis_id, argv=options.argv, engine=engine.name, workers=engine.workers)
        hashed = 0
        index_seconds = scan_seconds = 0.0
        status = "failed"
        try:
            t0 = time.monotonic()
            seen, hashed = index(ledger, options, run_id=run_id, analysis_id=analysis_id, should_stop=stop)
            index_seconds = time.monotonic() - t0
            if not stop():
                ledger.finish_index(run_id, seen)
                log.info("indexed %d files (%d hashed) in %.1f s", seen, hashed, index_seconds)
                if options.rescan_errors:
                    n = ledger.requeue_errors(run_id=run_id, analysis_id=analysis_id)
                    log.info("re-queued %d failed files", n)
                items = ledger.pending(run_id=run_id, analysis_id=analysis_id, limit=options.limit)
                scan_seconds = _scan(ledger, engine, items, run_id=run_id, analysis_id=analysis_id, stop=stop,
                                     progress=progress)
            status = "interrupted" if stop() else "finished"
        except KeyboardInterrupt:
            status = "interrupted"
        finally:
            ledger.finish_run(run_id, status, scan_seconds=scan_seconds)
        scanned = int(ledger.run(run_id)["scanned"])
        counts = dict(ledger.conn.execute(
            "SELECT status, COUNT(*) FROM file_status WHERE analysis_id = ? AND last_seen_run = ? GROUP BY status",
            (analysis_id, run_id)).fetchall())
    return AuditSummary(run_id, status == "interrupted", sum(counts.values()), hashed, scanned, index_seconds,
                        scan_seconds, counts)


def _scan(ledger: Ledger, engine: LocalEngine | RayEngine, items: list[WorkItem], *, run_id: int, analysis_id: int, stop: StopRequest,
          progress: bool | None) -> float:
    """Run the engine over ``items``, committing results as they come; returns the seconds it took."""
    if not items:
        return 0.0
    bar = AuditProgress(len(items), enabled=progress)
    start = time.monotonic()

    def record(outcomes: list[Outcome]) -> None:
        ledger.record_outcomes(outcomes, run_id=run_id, analysis_id=analysis_id,
                               scan_seconds=time.monotonic() - start)
        for o in outcomes:
            if o.status == "changed":
                log.warning("%s changed while it was scanned; left pending for the next run", o.path)
        bar.update(done=len(outcomes), errors=sum(o.status == "error" for o in outcomes))

    try:
        engine.run(items, on_outcomes=record, should_stop=stop)
    finally:
        bar.close()
    return time.monotonic() - start


__all__ = ["AuditOptions", "AuditSummary", "StopRequest", "index", "run_audit"]
