"""How scan and faces talk to the terminal: result rows on stdout, a progress line and the failure summary on stderr."""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter
from typing import TextIO

log = logging.getLogger("deepfake")

# Carriage return, then erase to the end of the line (ANSI EL): the cursor is back at column 0 on an empty line.
_CLEAR_LINE = "\r\033[K"


class Progress:
    """One-line progress on stderr, only when stderr is a terminal.

    Result rows go to stdout, which is often the same terminal: callers ``clear()`` the line before
    writing a row and ``update()`` it after, so a row never lands behind the progress text.
    """

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.enabled = total > 1 and self.stream.isatty()
        self.start = time.monotonic()

    def update(self, done: int, label: str) -> None:
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.start
        eta = elapsed / max(done, 1) * (self.total - done)
        self.stream.write(f"{_CLEAR_LINE}[{done}/{self.total}] {elapsed:5.1f}s eta {eta:5.1f}s {label[-50:]}")
        self.stream.flush()

    def clear(self) -> None:
        if self.enabled:
            self.stream.write(_CLEAR_LINE)
            self.stream.flush()

    def close(self) -> None:
        self.clear()


def write_row(stdout: TextIO, progress: Progress, line: str) -> None:
    """Write one result row with the progress line out of its way."""
    progress.clear()
    stdout.write(line)
    stdout.flush()


def log_failures(failed: Counter[str], total: int) -> None:
    """The summary line on stderr: how many inputs failed, by error code."""
    if failed:
        codes = ", ".join(f"{code} x{n}" if n > 1 else code for code, n in sorted(failed.items()))
        log.error("%d of %d inputs failed (%s)", sum(failed.values()), total, codes)


def error_record(path: str, code: str, message: str) -> dict[str, object]:
    """The record of an input that failed, in the shape of a good one's ``path``, ``status`` and ``error``."""
    return {"path": path, "status": "error", "error": {"code": code, "message": message}}


def short_path(path: str, width: int = 48) -> str:
    """The path cut from the left to fit a table column: its end (the file name) is what tells files apart."""
    return path if len(path) <= width else "..." + path[-(width - 3):]
