"""How scan, faces and provenance talk to the terminal: result rows on stdout, a progress line, each failure and a
closing summary on stderr. Every file name and message passes through :func:`~.terminal.for_terminal` on its way.

A failure is shown once: in its table row, or (``--json``, whose rows are for programs) as one line on stderr.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TextIO

from .terminal import ELLIPSIS, cell_width, for_terminal, pad, shorten

log = logging.getLogger("deepfake")

# Carriage return, then erase to the end of the line (ANSI EL): the cursor is back at column 0 on an empty line.
_CLEAR_LINE = "\r\033[K"
# A table that is not on a terminal (a file, a pipe) is laid out for the classic terminal width.
DEFAULT_COLUMNS = 80


def columns(stream: TextIO) -> int:
    """The width of the terminal ``stream`` writes to, or :data:`DEFAULT_COLUMNS` when it is not one."""
    try:
        if stream.isatty():
            return os.get_terminal_size(stream.fileno()).columns or DEFAULT_COLUMNS
    except (OSError, ValueError, AttributeError):  # a stream without a file descriptor (tests' StringIO)
        pass
    return DEFAULT_COLUMNS


class Progress:
    """One-line progress on stderr, only when stderr is a terminal: ``[12/40] 1.9s eta 4.1s photos/…/IMG_0012.jpg``.

    Result rows go to stdout, which is often the same terminal: callers ``clear()`` the line before writing a row and
    ``update()`` it after, and the line never grows past the terminal's width, so clearing it erases all of it (a
    line that wrapped would leave its first part above the row).

    The ETA learns from the files after the first: the first result also carries the start-up (the ONNX sessions'
    first run, the decoding thread filling up), and dividing by it once told a 5 s job it had 162 s to go.
    """

    def __init__(self, total: int, stream: TextIO | None = None, *, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.enabled = total > 1 and self.stream.isatty()
        self.clock = clock
        self.start = clock()
        self._first: tuple[int, float] | None = None  # (done, time) at the first result
        if self.enabled:
            self.update(0, "")  # at once: the terminal is not silent while the first file is read

    def eta(self, done: int, now: float) -> float | None:
        """Seconds left, from the rate since the first result; ``None`` until a second result gives one."""
        if self._first is None or done <= self._first[0] or now <= self._first[1]:
            return None
        rate = (done - self._first[0]) / (now - self._first[1])
        return (self.total - done) / rate

    def update(self, done: int, label: str) -> None:
        now = self.clock()
        if done > 0 and self._first is None:
            self._first = (done, now)
        if not self.enabled:
            return
        eta = self.eta(done, now)
        text = f"[{done}/{self.total}] {now - self.start:.1f}s eta {'--' if eta is None else f'{eta:.1f}s'}"
        # One column short of the width: a line that fills the last column makes some terminals wrap.
        room = columns(self.stream) - 1 - cell_width(text) - 1
        if label and room >= 8:
            text += " " + shorten(for_terminal(label), room)
        self.stream.write(_CLEAR_LINE + text)
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


@dataclass(frozen=True)
class Column:
    """One fixed-width table column: its header, width in terminal columns and alignment."""

    header: str
    width: int
    right: bool = False


class Table:
    """A result table on stdout that fits the terminal (80 columns when stdout is not one).

    The first column (the file) is as wide as the longest input needs, up to half of what the fixed columns leave;
    its paths are shortened in the middle. The last column (the notes) takes the rest and is cut at its end on a
    terminal, where a longer line would wrap, except for a failure's message, which is shown nowhere else. In a
    file or a pipe nothing wraps, and the notes are kept whole.
    """

    def __init__(self, stdout: TextIO, fixed: Sequence[Column], *, paths: Sequence[str], notes: str = "notes") -> None:
        self.stdout = stdout
        self.fixed = fixed
        self.notes_header = notes
        self.width = columns(stdout)
        self.on_terminal = stdout.isatty()
        used = sum(c.width + 1 for c in fixed)  # each fixed column and the space before it
        longest = max((cell_width(for_terminal(p)) for p in paths), default=4)
        self.file_width = max(4, min(longest, (self.width - used - 1) // 2))
        self.notes_width = max(8, self.width - self.file_width - used - 1)

    def header(self) -> str:
        cells = [pad(c.header, c.width, right=c.right) for c in self.fixed]
        return " ".join([pad("file", self.file_width), *cells, self.notes_header]) + "\n"

    def row(self, path: str, cells: Sequence[str], notes: str, *, failed: bool = False) -> str:
        """One row; ``path`` and ``notes`` are escaped here, ``cells`` must be safe already (numbers, verdicts)."""
        notes = for_terminal(notes)
        if self.on_terminal and not failed and cell_width(notes) > self.notes_width:
            notes = notes[:max(0, self.notes_width - 1)]
            while cell_width(notes) > self.notes_width - 1:  # wide characters
                notes = notes[:-1]
            notes += ELLIPSIS
        fixed = [pad(v, c.width, right=c.right) for v, c in zip(cells, self.fixed, strict=True)]
        return " ".join([pad(shorten(for_terminal(path), self.file_width), self.file_width), *fixed, notes]
                        ).rstrip() + "\n"


def report_failure(path: str, error: dict[str, str], *, in_table: bool) -> None:
    """Say once that ``path`` failed: a table row already shows it, so only ``--json`` runs log it on stderr."""
    if not in_table:
        log.error("%s: %s: %s", path, error["code"], error["message"])


def log_summary(total: int, seconds: float, outcomes: Counter[str], failed: Counter[str], *,
                noun: str = "input", exit_note: str | None = None) -> None:
    """The closing line on stderr: how many inputs, how long, how many of each outcome, the failures by code, and
    what a non-zero exit code means (``4 files in 5.2 s: 1 fake, 2 real; 1 failed (not_found); exit code 1: ...``)."""
    text = f"{total} {noun}{'' if total == 1 else 's'} in {seconds:.1f} s"
    counts = ", ".join(f"{n} {what}" for what, n in outcomes.items() if n)
    if counts:
        text += f": {counts}"
    if failed:
        codes = ", ".join(f"{code} x{n}" if n > 1 else code for code, n in sorted(failed.items()))
        text += f"{';' if counts else ':'} {sum(failed.values())} failed ({codes})"
    if exit_note:
        text += f"; {exit_note}"
    (log.error if failed else log.info)("%s", text)


def error_record(path: str, code: str, message: str) -> dict[str, object]:
    """The record of an input that failed, in the shape of a good one's ``path``, ``status`` and ``error``."""
    from detector.pathtext import path_to_text

    return {"path": path_to_text(path), "status": "error", "error": {"code": code, "message": path_to_text(message)}}
