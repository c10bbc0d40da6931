"""Connection limits below the app: a deadline for request headers and a cap on open sockets.

uvicorn's own ``limit_concurrency`` counts every open connection, idle or half-sent, and answers 503 to new
requests once the count is reached; its keep-alive timer starts only after a response and any byte cancels it.
So 70 sockets that sent half a request and waited held ``/healthz`` at 503 for as long as they stayed open, and
nothing closed them. Here instead:

* a connection the app is not serving (just opened, or done with its last answer) must deliver a complete
  request line and headers within ``header_timeout_s``, or it is closed without an answer (as nginx does at
  its ``client_header_timeout``; an answer could be misread as the reply to a request sent at that moment);
* open connections are capped only to protect file descriptors. A connection that would pass the cap closes the
  one that has waited longest for request headers; only when every connection is being served is the new one
  refused (closed at once). A flood of incomplete requests so displaces itself, not clients that send their
  request as soon as they connect.

Scan load is bounded by the app (workers, queue, 429), not here. Everything runs on the event loop thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, ClassVar, Literal

from uvicorn.protocols.http.h11_impl import H11Protocol

from .protocol_errors import JsonErrorH11Protocol

log = logging.getLogger("deepfake.service")

DropReason = Literal["header_timeout", "evicted", "refused"]
DROP_REASONS: tuple[DropReason, ...] = ("header_timeout", "evicted", "refused")
# Descriptors besides connections: an idle `deepfake serve --workers 2` holds 9 (measured via /proc/PID/fd);
# 64 leaves room for the decoders of running scans, logs and the listening socket.
FD_RESERVE = 64
# Per connection: its socket, plus the temp file of an upload streaming in.
FDS_PER_CONNECTION = 2


class ConnectionGuard:
    """Tracks the open connections of one server; :meth:`protocol_class` is what uvicorn instantiates."""

    def __init__(self, *, header_timeout_s: float, max_connections: int,
                 on_drop: Callable[[DropReason], None] | None = None) -> None:
        self.header_timeout_s = header_timeout_s
        self.max_connections = max_connections
        self._on_drop = on_drop or (lambda _: None)
        self._open: set[GuardedH11Protocol] = set()
        # Connections awaiting request headers, oldest first (dicts keep insertion order).
        self._awaiting: dict[GuardedH11Protocol, None] = {}

    @property
    def open_connections(self) -> int:
        return len(self._open)

    def protocol_class(self) -> type[H11Protocol]:
        """An h11 protocol bound to this guard, for ``uvicorn.Config(http=...)``.

        h11 rather than uvicorn's "auto" choice (httptools when installed) so the guarded protocol is the one
        that runs; parsing costs nothing next to a scan. Its parser-level 400s carry the JSON error body
        (``protocol_errors.py``).
        """
        return type("GuardedH11Protocol", (GuardedH11Protocol,), {"guard": self})

    def admit(self, conn: GuardedH11Protocol) -> bool:
        """Make room for ``conn`` if needed; False: every connection is being served, refuse it."""
        if len(self._open) >= self.max_connections:
            if not self._awaiting:
                self._on_drop("refused")
                return False
            self.drop(next(iter(self._awaiting)), "evicted")
        self._open.add(conn)
        return True

    def awaiting(self, conn: GuardedH11Protocol) -> None:
        self._awaiting[conn] = None

    def serving(self, conn: GuardedH11Protocol) -> None:
        self._awaiting.pop(conn, None)

    def forget(self, conn: GuardedH11Protocol) -> None:
        self._open.discard(conn)
        self._awaiting.pop(conn, None)

    def drop(self, conn: GuardedH11Protocol, reason: DropReason) -> None:
        self.forget(conn)
        conn.close_now()
        self._on_drop(reason)


class GuardedH11Protocol(JsonErrorH11Protocol):
    """uvicorn's h11 protocol plus a header deadline, armed whenever no request is being served.

    The deadline runs from ``connection_made`` and from each completed response, and stops when the next
    request's headers are parsed (a new request cycle starts). Body bytes sent after an early answer (a 401
    to an upload) do not stop it, so they cannot hold the connection either.
    """

    guard: ClassVar[ConnectionGuard]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.guard.admit(self):
            self._watch()
        else:
            transport.close()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._unwatch()
        self.guard.forget(self)
        super().connection_lost(exc)

    def close_now(self) -> None:
        """Close without an answer: nothing complete was asked, or the last answer was sent."""
        self._unwatch()
        self.transport.close()

    def _awaiting_headers(self) -> bool:
        return not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete)

    def _watch(self) -> None:
        if not self._awaiting_headers():
            self._unwatch()
        elif self._header_deadline is None:  # armed once per wait: bytes that trickle in do not extend it
            self._header_deadline = self.loop.call_later(self.guard.header_timeout_s, self._header_timeout)
            self.guard.awaiting(self)

    def _unwatch(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None
        self.guard.serving(self)

    def _header_timeout(self) -> None:
        self._header_deadline = None
        if self._awaiting_headers():
            self.guard.drop(self, "header_timeout")


def ensure_fd_limit(max_connections: int) -> int | None:
    """Raise the soft descriptor limit (up to the hard one) to fit ``max_connections``; return the soft limit
    (None where there is no such limit).

    Logs a warning when the hard limit is too low: past it, accepting fails and uploads cannot be stored.
    """
    need = FD_RESERVE + FDS_PER_CONNECTION * max_connections
    try:
        import resource
    except ImportError:  # not POSIX: no soft limit to raise
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        target = need if hard == resource.RLIM_INFINITY else min(need, hard)
        if target > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    if soft != resource.RLIM_INFINITY and soft < need:
        log.warning("--max-connections %d needs about %d file descriptors, the limit is %d; lower it or raise "
                    "the limit (ulimit -n)", max_connections, need, soft)
    return soft
