"""The local engine: worker processes on this machine, each loading its own detector once.

Workers are *spawned* (no fork: ONNX Runtime and FFmpeg threads do not survive a fork), one per usable
core by default, and each is pinned to its share of the cores. The pinning is what sizes the threads:
``detector.runtime`` gives every ONNX session as many intra-op threads as the process may use cores, so
N unpinned workers would each start N threads and fight over the same cores.

Each worker has its own pipe and holds at most :data:`DEPTH` items, and says when it starts one, so the
parent always knows which file a worker had in hand. A worker that dies (a decoder crash, the OOM
killer) costs that one file an ``error`` result (``worker_crashed``); its queued items go back to the
queue and a fresh worker takes its place. If the parent dies, even by ``kill -9``, the workers see their
pipe close and exit; they never touch the ledger, so there is nothing for them to corrupt.

Stopping: once ``should_stop()`` turns true nothing new is handed out and the items workers already
hold are finished; a ``KeyboardInterrupt`` (the second Ctrl-C) terminates the workers at once, and
what they held stays ``pending`` in the ledger.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from detector.errors import DetectorError
from detector.results import ModelInfo
from detector.runtime import usable_cores

from .work import FileScanner, Outcome, ScannerSpec, WorkItem, crashed

log = logging.getLogger("deepfake.audit")

# Items a worker holds: the one it scans and the next, so it never waits for the parent between files.
DEPTH = 2
# Seconds to wait for a message before checking worker health and the stop flag again.
_POLL_S = 0.25
# Workers that may die while loading the detector (e.g. the OOM killer at start-up) before the run gives up:
# a detector that cannot load at all must fail the run, not restart workers forever.
_MAX_START_DEATHS = 3


class WorkerStartError(DetectorError):
    """A worker could not load the detector (the model's own error is in the message)."""

    code = "worker_start_failed"


def core_shares(n_workers: int, cores: Sequence[int] | None = None) -> list[list[int]]:
    """Split the usable cores among workers round-robin (more workers than cores: one core each, shared)."""
    if cores is None:
        cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if not cores:
        return [[] for _ in range(n_workers)]
    if n_workers <= len(cores):
        return [list(cores[i::n_workers]) for i in range(n_workers)]
    return [[cores[i % len(cores)]] for i in range(n_workers)]


def _worker(conn: Connection, spec: ScannerSpec, cores: list[int]) -> None:
    # Ctrl-C in a terminal signals the whole process group; the parent decides what stops, and when.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if cores:
        os.sched_setaffinity(0, cores)
        import cv2

        cv2.setNumThreads(len(cores))
    try:
        scanner = FileScanner.load(spec)
    except DetectorError as exc:
        conn.send(("fatal", f"{exc.code}: {exc}"))
        return
    conn.send(("ready", (scanner.model, scanner.detector.threshold)))
    while True:
        try:
            item = conn.recv()
            if item is None:
                return
            conn.send(("started", item.content_sha256))
            conn.send(("outcome", scanner.scan(item)))
        except (EOFError, BrokenPipeError, ConnectionResetError):
            return  # the parent is gone: nobody to report to


@dataclass
class _Handle:
    process: Any
    conn: Connection
    cores: list[int]
    assigned: deque[WorkItem] = field(default_factory=deque)
    ready: bool = False
    started: bool = False  # whether assigned[0] is being scanned


class LocalEngine:
    """Example:
        >>> engine = LocalEngine(ScannerSpec(), workers=2)  # doctest: +SKIP
        >>> engine.run(items, on_outcomes=print, should_stop=lambda: False)  # doctest: +SKIP
    """

    name = "local"

    def __init__(self, spec: ScannerSpec, *, workers: int | None = None) -> None:
        self.spec = spec
        self.workers = usable_cores() if workers is None else workers
        self._model: tuple[ModelInfo, float] | None = None  # what the workers loaded, and its threshold
        self._start_deaths = 0

    def run(self, items: Sequence[WorkItem], *, on_outcomes: Callable[[list[Outcome]], None],
            should_stop: Callable[[], bool]) -> None:
        """Scan ``items``, handing each batch of finished outcomes to ``on_outcomes`` as they arrive."""
        if not items:
            return
        if self.workers == 0:
            self._run_inline(items, on_outcomes, should_stop)
        else:
            self._run_pool(items, on_outcomes, should_stop)

    def _run_inline(self, items: Sequence[WorkItem], on_outcomes: Callable[[list[Outcome]], None],
                    should_stop: Callable[[], bool]) -> None:
        scanner = FileScanner.load(self.spec)
        for item in items:
            if should_stop():
                return
            on_outcomes([scanner.scan(item)])

    def _start(self, ctx: Any, cores: list[int]) -> _Handle:
        parent, child = ctx.Pipe()
        process = ctx.Process(target=_worker, args=(child, self.spec, cores), name="deepfake-audit-worker",
                              daemon=True)
        process.start()
        child.close()  # only the worker holds its end: its death shows here as EOF
        return _Handle(process, parent, cores)

    def _run_pool(self, items: Sequence[WorkItem], on_outcomes: Callable[[list[Outcome]], None],
                  should_stop: Callable[[], bool]) -> None:
        ctx = multiprocessing.get_context("spawn")
        queue = deque(items)
        n = min(self.workers, len(items))
        handles = [self._start(ctx, cores) for cores in core_shares(n)]
        clean = False
        try:
            while True:
                if should_stop() and queue:
                    log.warning("stopping: finishing %d in-flight files; %d stay pending",
                                sum(len(h.assigned) for h in handles), len(queue))
                    queue.clear()
                for h in handles:
                    while h.ready and queue and len(h.assigned) < DEPTH:
                        item = queue.popleft()
                        h.assigned.append(item)
                        h.conn.send(item)
                if not queue and not any(h.assigned for h in handles):
                    break
                wait([h.conn for h in handles], timeout=_POLL_S)
                outcomes: list[Outcome] = []
                for i, h in enumerate(handles):
                    if self._drain(h, outcomes):
                        continue
                    outcomes.extend(self._crashed(h, queue))
                    h.conn.close()
                    handles[i] = self._start(ctx, h.cores)
                if outcomes:
                    on_outcomes(outcomes)
            clean = True
        finally:
            self._shutdown(handles, graceful=clean)

    def _drain(self, h: _Handle, outcomes: list[Outcome]) -> bool:
        """Read what a worker sent; ``False`` when it died."""
        try:
            while h.conn.poll():
                kind, payload = h.conn.recv()
                if kind == "ready":
                    h.ready = True
                    self._model = payload
                elif kind == "started":
                    h.started = True
                elif kind == "outcome":
                    h.assigned.popleft()
                    h.started = False
                    outcomes.append(payload)
                elif kind == "fatal":
                    raise WorkerStartError(f"a worker could not load the detector: {payload}")
        except (EOFError, ConnectionResetError, OSError):
            return False
        return h.process.is_alive() or h.conn.poll()

    def _crashed(self, h: _Handle, queue: deque[WorkItem]) -> list[Outcome]:
        h.process.join(timeout=5)
        code = h.process.exitcode
        if not h.ready:  # it held no items yet: they are only handed to ready workers
            self._start_deaths += 1
            log.warning("a worker died while loading the detector (exit code %s); starting another", code)
            if self._start_deaths > _MAX_START_DEATHS:
                raise WorkerStartError(f"workers keep dying while loading the detector (last exit code {code})")
            return []
        out = []
        if h.started and h.assigned:
            item = h.assigned.popleft()
            log.error("%s: worker died while scanning it (exit code %s)", item.path, code)
            model, threshold = self._model  # set: this worker was ready
            out.append(crashed(item, model, threshold,
                               f"the worker process died while scanning this file (exit code {code})"))
        queue.extendleft(reversed(h.assigned))
        h.assigned.clear()
        return out

    @staticmethod
    def _shutdown(handles: list[_Handle], *, graceful: bool) -> None:
        for h in handles:
            if graceful:
                try:
                    h.conn.send(None)
                except OSError:
                    pass
            else:
                h.process.terminate()
        for h in handles:
            h.process.join(timeout=10 if graceful else 5)
            if h.process.is_alive():
                h.process.kill()
                h.process.join()
            h.conn.close()
