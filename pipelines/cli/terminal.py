"""Text bound for a terminal: file names and messages made safe to show, and shortened to fit a column.

A file name is whatever bytes the file system allows: a newline in one would forge a separate log line, an
escape sequence would drive the terminal, a byte that is not UTF-8 arrives as a lone surrogate. Every name, message
and metadata value the CLI and the audit write to stderr or into a table goes through :func:`for_terminal`, as
``ls -b`` does it: control and other non-printable characters become visible escapes.
"""

from __future__ import annotations

import logging
import unicodedata

# Python's own short escapes for the controls people recognise; every other non-printable gets a numeric one.
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}
ELLIPSIS = "…"


def for_terminal(text: str) -> str:
    """``text`` with every character a terminal would act on or not show written as a visible escape.

    Backslash becomes ``\\\\`` (so an escape in the output always means an escape); newline, carriage return and tab
    ``\\n``, ``\\r``, ``\\t``; other C0/C1 controls and DEL ``\\xHH`` (ESC is ``\\x1b``); a byte of a file name that is
    not UTF-8 (``os.fsdecode`` keeps it as a lone surrogate U+DC80..U+DCFF) ``\\xHH``, the byte itself, as ``ls -b``
    would show it; any other character that is not printable (format characters such as U+202E, which reverses
    the text after it, unassigned code points, separators other than space) ``\\uXXXX`` or ``\\UXXXXXXXX``.

    >>> for_terminal("a\\nERROR b\\x1b[2J\\udcff.jpg")
    'a\\\\nERROR b\\\\x1b[2J\\\\xff.jpg'
    """
    if text.isprintable() and "\\" not in text:
        return text  # the common case, in one C-level pass
    return "".join(_escape(ch) for ch in text)


def _escape(ch: str) -> str:
    if ch in _SHORT:
        return _SHORT[ch]
    if ch.isprintable():
        return ch
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the undecodable byte code - 0xDC00
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def cell_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: East Asian wide and full-width characters take two, combining marks
    none (``len`` would misalign a table of Japanese file names)."""
    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
               for ch in text)


def _fit_end(text: str, width: int, *, from_start: bool) -> str:
    """The longest start (or end) of ``text`` within ``width`` columns."""
    out, used = [], 0
    for ch in (text if from_start else reversed(text)):
        w = cell_width(ch)
        if used + w > width:
            break
        out.append(ch)
        used += w
    return "".join(out if from_start else reversed(out))


# Where a path may be cut: after a path separator, or after a space, underscore, hyphen or dot inside a name.
_BREAKS = frozenset("/ _-.")


def shorten(text: str, width: int) -> str:
    """``text`` within ``width`` columns, cut in the middle with an ellipsis at path and word boundaries.

    The end of a path (the file name) tells files apart, so it gets the larger share: the start keeps whole leading
    pieces up to a third of the room, the end whole trailing pieces in the rest. A word is cut inside only when
    keeping words whole would leave more than a third of the room empty (one long name without breaks).

    >>> shorten("/archive/2024/holiday photos/beach/IMG_0001.jpg", 32)
    '/archive/…beach/IMG_0001.jpg'
    >>> shorten("/data/averylongfilenamewithoutanybreaks.jpg", 24)
    '/data/aver…anybreaks.jpg'
    """
    if cell_width(text) <= width:
        return text
    if width <= cell_width(ELLIPSIS):
        return ELLIPSIS[:width]
    room = width - cell_width(ELLIPSIS)
    pieces, start = [], 0
    for i, ch in enumerate(text):
        if ch in _BREAKS:
            pieces.append(text[start:i + 1])
            start = i + 1
    if start < len(text):
        pieces.append(text[start:])
    n_head = used = 0
    for piece in pieces:  # whole leading pieces, up to a third of the room
        if used + cell_width(piece) > room // 3:
            break
        n_head += 1
        used += cell_width(piece)
    n_tail = 0
    for piece in reversed(pieces[n_head:]):  # whole trailing pieces in the rest
        if used + cell_width(piece) > room:
            break
        n_tail += 1
        used += cell_width(piece)
    head, middle = "".join(pieces[:n_head]), "".join(pieces[n_head:len(pieces) - n_tail])
    tail = "".join(pieces[len(pieces) - n_tail:])
    left = room - used
    if left > room // 3:  # a long piece without breaks: fill the room with its start and end after all
        front = _fit_end(middle, left // 3, from_start=True)
        head += front
        tail = _fit_end(middle[len(front):], left - cell_width(front), from_start=False) + tail
    return head + ELLIPSIS + tail


def pad(text: str, width: int, *, right: bool = False) -> str:
    """``text`` padded with spaces to ``width`` columns (``str.ljust`` counts characters, not columns)."""
    gap = " " * max(0, width - cell_width(text))
    return gap + text if right else text + gap


class TerminalFormatter(logging.Formatter):
    """The CLI's log lines on stderr with their message passed through :func:`for_terminal`: one record is one line,
    whatever file names or error messages it quotes (a traceback, added after the message, keeps its lines)."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # logging's name for the message part
        record.message = for_terminal(record.message)
        return super().formatMessage(record)
