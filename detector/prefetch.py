"""Run an iterator in a background thread behind a bounded queue, so two pipeline stages overlap.

The stages of a scan release the GIL where they spend their time (FFmpeg decoding inside PyAV, ONNX Runtime
inside detection and classification), so one thread decoding ahead while another detects keeps both cores
busy; a bounded queue caps the memory held in flight (``depth`` decoded frames).

Exceptions raised by the producer are re-raised in the consumer at the point in the stream where they
happened (a file that turns out corrupt half way still reports its error code). Leaving the loop early
(``break``, an exception in the consumer, ``close()``) stops the producer before the source is released:
PyAV containers must not be closed while another thread decodes from them.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_DONE = object()


class Prefetch(Generic[T]):
    """``for item in Prefetch(source, depth=8): ...``; use as a context manager to join the thread.

    >>> with Prefetch(range(5), depth=2) as items:
    ...     list(items)
    [0, 1, 2, 3, 4]
    """

    def __init__(self, source: Iterable[T], *, depth: int = 8, name: str = "prefetch") -> None:
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._source = source
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        it = iter(self._source)
        try:
            for item in it:
                if not self._put((item, None)):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer and raised there
            self._put((_DONE, exc))
            return
        finally:
            close = getattr(it, "close", None)
            if close is not None:  # run a generator's cleanup in the thread that ran it
                close()
        self._put((_DONE, None))

    def __iter__(self) -> Iterator[T]:
        try:
            while True:
                item, exc = self._queue.get()
                if item is _DONE:
                    if exc is not None:
                        raise exc
                    return
                yield item
        finally:
            # A consumer that leaves a plain ``for`` loop (break, exception) closes this generator: tell the
            # producer to stop too, not only when a ``with`` block exits.
            self._stop.set()

    def ready(self) -> bool:
        """Whether the next item is already waiting (taking it would not block)."""
        return not self._queue.empty()

    def close(self) -> None:
        """Stop the producer and wait for it (it finishes the item it is producing)."""
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> Prefetch[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
