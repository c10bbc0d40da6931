"""Prefetch: order kept, producer errors re-raised where they happened, early exits stop the thread.

Every consumer that could hang runs in a helper thread joined with a deadline, so a regression fails the test
instead of hanging the suite.
"""

from __future__ import annotations

import doctest
import gc
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import detector.prefetch
from detector.prefetch import Prefetch

DEADLINE_S = 5.0


def within(fn: Callable[[], Any], seconds: float = DEADLINE_S) -> Any:
    """Run ``fn`` in a daemon thread; fail (not hang) if it has not returned after ``seconds``."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    if "error" in box:
        raise box["error"]
    return box.get("value")


def alive(name: str) -> bool:
    return any(t.name == name for t in threading.enumerate())


def wait_until(condition: Callable[[], bool], seconds: float = DEADLINE_S) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


class Endless:
    """An endless generator that records where its cleanup ran (PyAV must be closed by the decoding thread)."""

    def __init__(self) -> None:
        self.produced = 0
        self.cleaned_up_in: str | None = None

    def __call__(self) -> Iterator[int]:
        try:
            for i in itertools.count():
                self.produced += 1
                yield i
        finally:
            self.cleaned_up_in = threading.current_thread().name


def test_docstring_example():
    assert doctest.testmod(detector.prefetch).failed == 0


def test_items_arrive_in_order():
    assert within(lambda: list(Prefetch(range(1000), depth=3))) == list(range(1000))
    assert within(lambda: list(Prefetch(iter([]), depth=1))) == []


@pytest.mark.parametrize("depth", [0, -1])
def test_depth_must_be_positive(depth: int):
    with pytest.raises(ValueError, match="depth"):
        Prefetch(range(3), depth=depth)


def test_generator_cleanup_runs_in_the_producer_thread():
    cleaned_up_in: list[str] = []

    def finite() -> Iterator[int]:
        try:
            yield from range(4)
        finally:
            cleaned_up_in.append(threading.current_thread().name)

    def consume() -> list[int]:
        with Prefetch(finite(), depth=2, name="prefetch-finite") as items:
            return list(items)

    assert within(consume) == [0, 1, 2, 3]
    assert cleaned_up_in == ["prefetch-finite"]
    assert not alive("prefetch-finite")


def test_producer_exception_is_raised_where_it_happened():
    boom = OSError("corrupt packet at frame 3")

    def frames() -> Iterator[int]:
        yield from range(3)
        raise boom

    got: list[int] = []

    def consume() -> None:
        with Prefetch(frames(), depth=8, name="prefetch-error") as items:
            for item in items:
                got.append(item)  # noqa: PERF402 - one by one: items before the error must survive

    with pytest.raises(OSError) as err:
        within(consume)
    # Same object, after every item produced before it: the caller's error code and partial work both survive.
    assert err.value is boom
    assert got == [0, 1, 2]
    assert not alive("prefetch-error")


def test_queue_bounds_how_far_the_producer_runs_ahead():
    source, depth = Endless(), 3

    def check() -> None:
        with Prefetch(source(), depth=depth, name="prefetch-bounded"):
            # Nothing is consumed: depth items queued plus the one the producer holds while waiting.
            assert wait_until(lambda: source.produced >= depth + 1)
            time.sleep(0.2)
            assert source.produced == depth + 1

    within(check)


def test_leaving_the_with_block_early_stops_an_endless_producer():
    source = Endless()

    def consume() -> list[int]:
        got = []
        with Prefetch(source(), depth=2, name="prefetch-break") as items:
            for item in items:
                got.append(item)
                if len(got) == 3:
                    break
        return got

    assert within(consume) == [0, 1, 2]
    # __exit__ joined the thread, and the generator's cleanup ran there, not here.
    assert not alive("prefetch-break")
    assert source.cleaned_up_in == "prefetch-break"


def test_consumer_exception_stops_the_producer_and_propagates():
    source = Endless()

    def consume() -> None:
        with Prefetch(source(), depth=2, name="prefetch-consumer-error") as items:
            for item in items:
                if item == 1:
                    raise KeyError("consumer failed")

    with pytest.raises(KeyError, match="consumer failed"):
        within(consume)
    assert not alive("prefetch-consumer-error")
    assert source.cleaned_up_in == "prefetch-consumer-error"


def test_close_waits_for_the_item_being_produced():
    # The source blocks inside next() until released: close() cannot interrupt it, it waits (documented).
    release, started = threading.Event(), threading.Event()

    def slow() -> Iterator[int]:
        yield 0
        started.set()
        release.wait()
        yield 1

    stream = Prefetch(slow(), depth=1, name="prefetch-slow")
    closed = threading.Event()
    closer = threading.Thread(target=lambda: (stream.close(), closed.set()), daemon=True)
    try:
        assert started.wait(DEADLINE_S)
        closer.start()
        assert not closed.wait(0.2)  # still producing item 1
        release.set()
        assert closed.wait(DEADLINE_S)
        assert not alive("prefetch-slow")
    finally:
        release.set()


def test_break_from_a_plain_for_loop_stops_the_producer():
    source = Endless()
    stream = Prefetch(source(), depth=1, name="prefetch-plain-break")
    try:
        for _ in stream:
            break
        gc.collect()  # the loop's generator is gone: nothing will consume again
        assert wait_until(lambda: not alive("prefetch-plain-break"), 1.0)
    finally:
        stream.close()  # do not leak the polling thread into later tests


def test_ready_says_whether_the_next_item_is_waiting():
    """``ready()`` is what ``Detector.scan_many(prompt=True)`` asks before holding a result back for a batch."""
    release = threading.Event()

    def gated() -> Iterator[int]:
        yield 0
        release.wait(DEADLINE_S)
        yield 1

    with Prefetch(gated(), depth=2, name="prefetch-ready") as stream:
        items = iter(stream)
        assert wait_until(stream.ready, DEADLINE_S)  # item 0 is queued
        assert next(items) == 0
        assert not stream.ready()  # item 1 is still being made
        release.set()
        assert wait_until(stream.ready, DEADLINE_S) and next(items) == 1
