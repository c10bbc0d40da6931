"""What ``--db`` names, decided before the ledger opens it for writing: never adopt another application's database.

Opening a SQLite file for the ledger writes to it at once (WAL mode, ``user_version``, the ledger's tables), so
``--db app.db`` on some application's database used to add the audit's tables beside its own, silently. Here the
path is only read: a file the ledger may use is absent, empty (0 bytes, or a SQLite database without a single
table: what a ledger killed before its first commit leaves), or a ledger (its four tables and a ``user_version``
of at least 1). Anything else (a directory, a FIFO, a text file, a database with other tables) raises
:class:`LedgerError`, and not a byte of it, nor a ``-wal`` or ``-shm`` file beside it, has been written.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path
from typing import Literal

from detector.errors import DetectorError

# The tables every ledger version has had since version 1 (see ledger.MIGRATIONS).
LEDGER_TABLES = frozenset({"analyses", "runs", "files", "scans"})
SQLITE_MAGIC = b"SQLite format 3\x00"

LedgerFile = Literal["absent", "empty", "ledger"]


class LedgerError(DetectorError):
    """The ledger cannot be used: not an audit ledger (a directory, another application's database, not SQLite),
    from a newer version, or locked by another audit."""

    code = "ledger_error"


def inspect_ledger_file(path: Path) -> LedgerFile:
    """``absent``, ``empty`` or ``ledger``; :class:`LedgerError` for anything the ledger must not write to.

    Example:
        >>> inspect_ledger_file(Path("audit.sqlite"))  # doctest: +SKIP
        'ledger'
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "absent"
    except OSError as exc:
        raise LedgerError(f"cannot use {path} as the audit ledger: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise LedgerError(f"{path} is a directory; --db names the ledger file, e.g. {Path(path) / 'audit.sqlite'}")
    if not stat.S_ISREG(st.st_mode):
        raise LedgerError(f"{path} is not a regular file, so not an audit ledger")
    if st.st_size == 0:
        return "empty"
    try:
        with open(path, "rb") as f:
            magic = f.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise LedgerError(f"cannot read {path}: {exc.strerror}") from None
    if magic != SQLITE_MAGIC:
        raise LedgerError(f"{path} is not an audit ledger: not a SQLite database. Choose another --db; "
                          "the file was left as it was")
    version, tables = _schema(path)
    if not tables and version == 0:
        return "empty"
    if version >= 1 and LEDGER_TABLES <= tables:
        return "ledger"
    shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
    raise LedgerError(f"{path} is not an audit ledger: a SQLite database of another application (tables: "
                      f"{shown or 'none'}; user_version {version}). Choose another --db; the file was left as it was")


def _schema(path: Path) -> tuple[int, set[str]]:
    """``PRAGMA user_version`` and the table names, read without writing a byte or leaving a file behind.

    A read-only connection to a WAL database creates ``-wal`` and ``-shm`` files and leaves them (SQLite
    3.40, checked). So when no ``-wal`` file exists, the main file holds the whole database and is read
    ``immutable`` (no locks, no side files); when one exists (a ledger killed before its first checkpoint keeps
    its tables only there, or an application has the database open), it is read through SQLite's read-only mode.
    """
    wal = Path(f"{path}-wal").exists()
    uri = f"{path.resolve().as_uri()}?{'mode=ro' if wal else 'immutable=1'}"
    try:
        conn = sqlite3.connect(uri, uri=True)
        try:
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise LedgerError(f"{path} is not a usable audit ledger: {exc}") from None
    return int(version), tables


__all__ = ["LEDGER_TABLES", "LedgerError", "LedgerFile", "inspect_ledger_file"]
