"""A one-line progress bar on stderr with rate and ETA, drawn only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

# Redraw at most 10 times a second: a fast run of tiny files must not spend its time on the terminal.
_REDRAW_S = 0.1
_WIDTH = 24


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60:02d}:{rest % 60:02d}"


class AuditProgress:
    """``[#########-----]  412/1000  23.1 files/s  eta 00:25  errors 3``"""

    def __init__(self, total: int, *, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.start = time.monotonic()
        self.done = self.errors = 0
        self._drawn = 0.0

    def update(self, *, done: int = 0, errors: int = 0) -> None:
        self.done += done
        self.errors += errors
        now = time.monotonic()
        if self.enabled and (now - self._drawn >= _REDRAW_S or self.done >= self.total):
            self._drawn = now
            self.stream.write("\r" + self.line(now))
            self.stream.flush()

    def line(self, now: float | None = None) -> str:
        elapsed = (now or time.monotonic()) - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = self.total - self.done
        eta = _clock(left / rate) if rate > 0 else "--:--"
        filled = int(_WIDTH * self.done / self.total) if self.total else _WIDTH
        return (f"[{'#' * filled}{'-' * (_WIDTH - filled)}] {self.done}/{self.total} {rate:6.1f} files/s "
                f"eta {eta} errors {self.errors}")

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
