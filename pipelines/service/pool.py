"""A bounded pool of scan threads, each holding its own model.

Threads, not processes: ONNX Runtime and FFmpeg release the GIL for the heavy work, and a thread shares the
process's memory for everything but the model sessions. Each worker builds its own ``Detector`` once, when
it starts (sessions and the face tracker then never cross threads).

Capacity is ``workers + queue_size`` tasks in flight; :meth:`WorkerPool.submit` refuses beyond that instead
of queueing without bound, so a burst turns into 429s rather than into memory and latency. A Python thread
cannot be stopped, so a task whose caller gave up keeps its worker until it ends (media limits bound it);
a task that has not started yet is dropped.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

W = TypeVar("W")  # what a worker holds (a Detector)
T = TypeVar("T")

log = logging.getLogger("deepfake.service")


class Saturated(Exception):
    """Every worker is busy and the queue is full."""


class NotReady(Exception):
    """No worker has its model yet, or the pool is shutting down."""


class WorkerPool(Generic[W]):
    """``workers`` threads, each calling ``factory()`` once and then serving tasks ``fn(resource)``."""

    def __init__(self, factory: Callable[[], W], *, workers: int, queue_size: int) -> None:
        self._factory = factory
        self._n = workers
        self._slots = threading.BoundedSemaphore(workers + queue_size)
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._resources: list[W] = []
        self._queued = 0
        self._busy = 0
        self._failed = 0
        self._closing = False

    def start(self) -> None:
        for i in range(self._n):
            thread = threading.Thread(target=self._serve, name=f"scan-worker-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    # -- state ---------------------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Every worker has loaded its model."""
        with self._lock:
            return len(self._resources) == self._n and not self._closing

    @property
    def load_failures(self) -> int:
        with self._lock:
            return self._failed

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"workers": self._n, "workers_ready": len(self._resources), "busy": self._busy,
                    "queued": self._queued}

    def any_resource(self) -> W:
        """A loaded worker's resource (for read-only facts like the model card); raises :class:`NotReady`."""
        with self._lock:
            if not self._resources:
                raise NotReady
            return self._resources[0]

    # -- work ----------------------------------------------------------------------------------------

    def submit(self, fn: Callable[[W], T], *, on_drop: Callable[[], None] | None = None) -> Future[T]:
        """Queue ``fn``; ``on_drop`` runs instead of it if the future is cancelled before a worker takes it."""
        if not self.ready:
            raise NotReady
        if not self._slots.acquire(blocking=False):
            raise Saturated
        future: Future[T] = Future()
        with self._lock:
            self._queued += 1
        self._tasks.put((future, fn, on_drop))
        return future

    def shutdown(self, *, wait_s: float = 5.0) -> None:
        """Stop taking work, drop what has not started, and give running scans ``wait_s`` to end."""
        with self._lock:
            self._closing = True
        for _ in self._threads:
            self._tasks.put(None)
        for thread in self._threads:
            thread.join(timeout=wait_s)

    def _serve(self) -> None:
        try:
            resource = self._factory()
        except Exception:  # the worker boundary: report, stay not-ready, never take work
            log.exception("worker failed to load its model")
            with self._lock:
                self._failed += 1
            return
        with self._lock:
            self._resources.append(resource)
        while True:
            item = self._tasks.get()
            if item is None:
                return
            future, fn, on_drop = item
            with self._lock:
                self._queued -= 1
            try:
                if self._closing:
                    future.cancel()
                if not future.set_running_or_notify_cancel():
                    if on_drop is not None:
                        on_drop()
                    continue
                with self._lock:
                    self._busy += 1
                try:
                    future.set_result(fn(resource))
                except BaseException as exc:  # noqa: BLE001 -- handed to whoever waits on the future
                    future.set_exception(exc)
                finally:
                    with self._lock:
                        self._busy -= 1
            finally:
                self._slots.release()
