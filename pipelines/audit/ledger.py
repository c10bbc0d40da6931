"""The audit ledger: one SQLite file that says, for every file found, what it is and what the scan said.

Tables:
    ``files``     one row per path: size, mtime, inode, content SHA-256, what its magic bytes say, and
                  whether it is a scan candidate, ``skipped`` (``not_media``) or unreadable (``error``).
    ``analyses``  one row per (model sha256, scan settings): what a stored result depends on.
    ``scans``     one row per (analysis, content hash): ``pending``, ``done`` or ``error``, with the verdict,
                  probability, kind of fake (ledger version 2 on) and provenance state (version 3 on) as
                  columns, the full
                  ``MediaResult`` JSON and a face thumbnail. Duplicates and renamed files share a row,
                  so each content is scanned once per analysis; a new model gets new rows and re-scans
                  only the contents it has no result for.
    ``runs``      one row per ``deepfake audit`` invocation: what it walked, how much it scanned, how long.
    ``file_status`` (view) the per-file status for every analysis: ``skipped``/``error`` from ``files``,
                  else the scan's ``pending``/``done``/``error``.

Crash safety: WAL mode, and every change is one transaction (a batch of indexed files with their
``pending`` scan rows; a batch of results with the run's counter). ``kill -9`` at any point leaves the
last committed state, and a result is written only if its row is still ``pending`` (``UPDATE ... WHERE
status = 'pending'``), counted in the same transaction: a result can never be stored or counted twice.
In-flight work is never marked in the database, so nothing is left "running" by a crash. With
``synchronous=NORMAL`` a power cut (not a process crash) may drop the last commits; they are re-done.

The schema version lives in ``PRAGMA user_version``; :data:`MIGRATIONS` step it forward one transaction
each. A ledger written by a newer version is refused rather than guessed at.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

from detector.results import ModelInfo

from .identify import Identity
from .ledger_file import LedgerError, inspect_ledger_file
from .walk import FoundFile
from .work import Outcome, WorkItem

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; do not run two audits on one ledger there
    fcntl = None  # type: ignore[assignment]


SCHEMA_V1 = """
CREATE TABLE analyses (
    id INTEGER PRIMARY KEY,
    model_name TEXT NOT NULL,
    model_version TEXT NOT NULL,
    model_sha256 TEXT NOT NULL,
    settings TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (model_sha256, settings)
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    analysis_id INTEGER NOT NULL REFERENCES analyses(id),
    argv TEXT NOT NULL,
    engine TEXT NOT NULL,
    workers INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    indexed_at TEXT,
    finished_at TEXT,
    status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'interrupted', 'killed', 'failed')),
    files_seen INTEGER NOT NULL DEFAULT 0,
    scanned INTEGER NOT NULL DEFAULT 0,
    requeued INTEGER NOT NULL DEFAULT 0,
    scan_seconds REAL NOT NULL DEFAULT 0
);
CREATE TABLE files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    content_sha256 TEXT,
    container TEXT,
    skip_reason TEXT,
    error_code TEXT,
    error_message TEXT,
    first_seen_run INTEGER NOT NULL REFERENCES runs(id),
    last_seen_run INTEGER NOT NULL REFERENCES runs(id),
    CHECK ((content_sha256 IS NOT NULL) + (skip_reason IS NOT NULL) + (error_code IS NOT NULL) = 1)
);
CREATE INDEX files_by_content ON files(content_sha256);
CREATE INDEX files_by_run ON files(last_seen_run);
CREATE TABLE scans (
    analysis_id INTEGER NOT NULL REFERENCES analyses(id),
    content_sha256 TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'error')),
    path TEXT,
    verdict TEXT,
    fake_probability REAL,
    error_code TEXT,
    result TEXT,
    thumbnail BLOB,
    seconds REAL,
    run_id INTEGER REFERENCES runs(id),
    finished_at TEXT,
    PRIMARY KEY (analysis_id, content_sha256),
    CHECK ((status = 'pending') = (result IS NULL)),
    CHECK ((status = 'error') = (error_code IS NOT NULL))
);
CREATE INDEX scans_by_status ON scans(analysis_id, status);
CREATE VIEW file_status AS
SELECT f.path, a.id AS analysis_id, f.content_sha256, f.container, f.last_seen_run,
       CASE WHEN f.skip_reason IS NOT NULL THEN 'skipped'
            WHEN f.error_code IS NOT NULL THEN 'error'
            ELSE COALESCE(s.status, 'pending') END AS status,
       s.verdict, s.fake_probability, COALESCE(f.error_code, s.error_code) AS error_code,
       COALESCE(f.error_message, json_extract(s.result, '$.error.message')) AS error_message,
       f.skip_reason, s.path AS scanned_path, s.result
FROM files f CROSS JOIN analyses a
LEFT JOIN scans s ON s.analysis_id = a.id AND s.content_sha256 = f.content_sha256;
"""

# Version 2: the kind of fake (``MediaResult.kind``, media_result schema v2) as a column, so reports can count and
# filter by it without parsing every result. Results stored before it keep their JSON (no ``kind`` key): null.
BACKFILL_KIND = "UPDATE scans SET kind = json_extract(result, '$.kind') WHERE result IS NOT NULL AND json_valid(result)"
SCHEMA_V2 = f"""
ALTER TABLE scans ADD COLUMN kind TEXT;
{BACKFILL_KIND};
CREATE INDEX scans_by_kind ON scans(analysis_id, kind);
DROP VIEW file_status;
CREATE VIEW file_status AS
SELECT f.path, a.id AS analysis_id, f.content_sha256, f.container, f.last_seen_run,
       CASE WHEN f.skip_reason IS NOT NULL THEN 'skipped'
            WHEN f.error_code IS NOT NULL THEN 'error'
            ELSE COALESCE(s.status, 'pending') END AS status,
       s.verdict, s.fake_probability, COALESCE(f.error_code, s.error_code) AS error_code,
       COALESCE(f.error_message, json_extract(s.result, '$.error.message')) AS error_message,
       f.skip_reason, s.path AS scanned_path, s.result, s.kind
FROM files f CROSS JOIN analyses a
LEFT JOIN scans s ON s.analysis_id = a.id AND s.content_sha256 = f.content_sha256;
"""

# Version 3: the file's provenance state (``MediaResult.provenance.state``, media_result schema v3: what the file
# declares about where it came from) as a column, so "every file declared synthetic" is one indexed query. Results
# stored before it have no ``provenance`` key, and failed paths a null block: null either way.
BACKFILL_PROVENANCE = ("UPDATE scans SET provenance = json_extract(result, '$.provenance.state') "
                       "WHERE result IS NOT NULL AND json_valid(result)")
SCHEMA_V3 = f"""
ALTER TABLE scans ADD COLUMN provenance TEXT;
{BACKFILL_PROVENANCE};
CREATE INDEX scans_by_provenance ON scans(analysis_id, provenance);
DROP VIEW file_status;
CREATE VIEW file_status AS
SELECT f.path, a.id AS analysis_id, f.content_sha256, f.container, f.last_seen_run,
       CASE WHEN f.skip_reason IS NOT NULL THEN 'skipped'
            WHEN f.error_code IS NOT NULL THEN 'error'
            ELSE COALESCE(s.status, 'pending') END AS status,
       s.verdict, s.fake_probability, COALESCE(f.error_code, s.error_code) AS error_code,
       COALESCE(f.error_message, json_extract(s.result, '$.error.message')) AS error_message,
       f.skip_reason, s.path AS scanned_path, s.result, s.kind, s.provenance
FROM files f CROSS JOIN analyses a
LEFT JOIN scans s ON s.analysis_id = a.id AND s.content_sha256 = f.content_sha256;
"""

# Index i takes a ledger from version i to i + 1. Append, never edit: old ledgers replay the steps.
MIGRATIONS: tuple[str, ...] = (SCHEMA_V1, SCHEMA_V2, SCHEMA_V3)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class KnownFile:
    """What the ledger holds for a path, to skip re-hashing a file whose size, mtime and inode are unchanged."""

    size: int
    mtime_ns: int
    inode: int
    identity: Identity


@dataclass(frozen=True)
class IndexedFile:
    found: FoundFile
    identity: Identity


@dataclass(frozen=True)
class Integrity:
    """Result of :meth:`Ledger.check`; ``problems`` empty means every invariant holds."""

    problems: tuple[str, ...]
    files: int
    contents: int
    scans_pending: int
    scans_finished: int

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "problems": list(self.problems), "files": self.files, "contents": self.contents,
                "scans_pending": self.scans_pending, "scans_finished": self.scans_finished}


class Ledger:
    """Example:
        >>> with Ledger.open("audit.sqlite") as ledger:  # doctest: +SKIP
        ...     print(ledger.check().ok)
    """

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, create: bool = True,
             migrations: Sequence[str] = MIGRATIONS) -> Ledger:
        """Open (or create) a ledger and bring its schema up to date.

        Raises :class:`LedgerError`, before writing anything, when ``path`` is not a ledger (a directory, another
        application's database: see ``ledger_file.py``) or, with ``create=False``, when there is none yet.
        """
        path = Path(path)
        found = inspect_ledger_file(path)
        if not create and found != "ledger":
            raise LedgerError(f"no audit ledger at {path}")
        if found == "absent" and not path.parent.is_dir():
            raise LedgerError(f"cannot create the audit ledger {path}: no directory {path.parent}")
        # Autocommit mode: transactions are explicit (BEGIN IMMEDIATE), never implicit.
        try:
            conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot open the audit ledger {path}: {exc}") from None
        try:
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA foreign_keys=ON")
                conn.execute("PRAGMA user_version").fetchone()
            except sqlite3.DatabaseError as exc:
                raise LedgerError(f"{path} is not a usable audit ledger: {exc}") from exc
            ledger = cls(conn, path)
            ledger._migrate(migrations)
        except BaseException:
            conn.close()
            raise
        return ledger

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self, migrations: Sequence[str]) -> None:
        current = self.version
        if current > len(migrations):
            raise LedgerError(f"{self.path} has schema version {current}; this version of deepfake-detector "
                              f"knows up to {len(migrations)}: upgrade it to read this ledger")
        for version in range(current, len(migrations)):
            # One transaction per step: SQLite DDL is transactional, so a failed step leaves the old version.
            try:
                self.conn.executescript(f"BEGIN IMMEDIATE;\n{migrations[version]};\n"
                                        f"PRAGMA user_version = {version + 1};\nCOMMIT;")
            except sqlite3.Error as exc:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise LedgerError(f"cannot migrate {self.path} to schema version {version + 1}: {exc}") from exc

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on any exception.

        A second Ctrl-C raises ``KeyboardInterrupt`` wherever the main thread is, including between the
        ``BEGIN`` and the ``try`` below, or inside ``COMMIT``: such a transaction is left open, and the run's
        closing write would fail with "cannot start a transaction within a transaction". So a transaction
        still open here is one an interrupt cut short; its writes are rolled back, as a crash would.
        """
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the ledger's run lock: one audit at a time writes a ledger (reports may read meanwhile).

        An advisory ``flock`` on ``<ledger>.lock``: the kernel drops it when the holder dies, even by
        ``kill -9``, so a crashed audit never leaves a stale lock behind.
        """
        if fcntl is None:
            yield
            return
        try:
            lock = open(f"{self.path}.lock", "a+b")  # noqa: SIM115  (closed below)
        except OSError as exc:
            raise LedgerError(f"cannot create the ledger's lock file {self.path}.lock: {exc.strerror}") from None
        with lock:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise LedgerError(f"another audit is running on {self.path}; wait for it or stop it") from exc
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    # -- runs --------------------------------------------------------------------------------------

    def analysis_id(self, model: ModelInfo, settings: str) -> int:
        with self.transaction() as tx:
            tx.execute("INSERT OR IGNORE INTO analyses (model_name, model_version, model_sha256, settings, created_at)"
                       " VALUES (?, ?, ?, ?, ?)", (model.name, model.version, model.sha256, settings, _now()))
            (aid,) = tx.execute("SELECT id FROM analyses WHERE model_sha256 = ? AND settings = ?",
                                (model.sha256, settings)).fetchone()
        return int(aid)

    def start_run(self, analysis_id: int, *, argv: Sequence[str], engine: str, workers: int) -> int:
        """Register a run. Call while holding :meth:`exclusive`: runs still marked running died unfinished."""
        with self.transaction() as tx:
            tx.execute("UPDATE runs SET status = 'killed' WHERE status = 'running'")
            cur = tx.execute("INSERT INTO runs (analysis_id, argv, engine, workers, started_at, status) "
                             "VALUES (?, ?, ?, ?, ?, 'running')",
                             (analysis_id, json.dumps(list(argv)), engine, workers, _now()))
        return int(cur.lastrowid)

    def finish_index(self, run_id: int, files_seen: int) -> None:
        with self.transaction() as tx:
            tx.execute("UPDATE runs SET indexed_at = ?, files_seen = ? WHERE id = ?", (_now(), files_seen, run_id))

    def finish_run(self, run_id: int, status: str, *, scan_seconds: float) -> None:
        with self.transaction() as tx:
            # MAX: each commit of results already stored the time so far; an interrupted run knows no better.
            tx.execute("UPDATE runs SET status = ?, finished_at = ?, scan_seconds = MAX(scan_seconds, ?) WHERE id = ?",
                       (status, _now(), scan_seconds, run_id))

    def run(self, run_id: int) -> dict[str, object]:
        cur = self.conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,))
        return dict(zip([d[0] for d in cur.description], cur.fetchone()))

    # -- indexing ----------------------------------------------------------------------------------

    def known(self, path: str) -> KnownFile | None:
        row = self.conn.execute("SELECT size, mtime_ns, inode, content_sha256, container, skip_reason, error_code, "
                                "error_message FROM files WHERE path = ?", (path,)).fetchone()
        if row is None:
            return None
        error = (row[6], row[7]) if row[6] is not None else None
        return KnownFile(row[0], row[1], row[2], Identity(row[4], row[3], row[5], error))

    def record_files(self, files: Iterable[IndexedFile], *, run_id: int, analysis_id: int) -> None:
        """Upsert a batch of files and give each new content a ``pending`` scan, in one transaction."""
        with self.transaction() as tx:
            for item in files:
                f, ident = item.found, item.identity
                code, message = ident.error if ident.error else (None, None)
                tx.execute(
                    "INSERT INTO files (path, size, mtime_ns, inode, content_sha256, container, skip_reason, "
                    "error_code, error_message, first_seen_run, last_seen_run) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
                    "ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, "
                    "inode = excluded.inode, content_sha256 = excluded.content_sha256, "
                    "container = excluded.container, skip_reason = excluded.skip_reason, "
                    "error_code = excluded.error_code, error_message = excluded.error_message, "
                    "last_seen_run = excluded.last_seen_run",
                    (f.path, f.size, f.mtime_ns, f.inode, ident.content_sha256, ident.container, ident.skip_reason,
                     code, message, run_id, run_id))
                if ident.content_sha256 is not None:
                    tx.execute("INSERT OR IGNORE INTO scans (analysis_id, content_sha256, status) "
                               "VALUES (?, ?, 'pending')", (analysis_id, ident.content_sha256))

    def requeue_errors(self, *, run_id: int, analysis_id: int) -> int:
        """Put this run's failed contents back to ``pending`` (``--rescan-errors``); returns how many."""
        with self.transaction() as tx:
            n = tx.execute(
                "UPDATE scans SET status = 'pending', path = NULL, verdict = NULL, fake_probability = NULL, kind = NULL, "
                "provenance = NULL, error_code = NULL, result = NULL, thumbnail = NULL, seconds = NULL, run_id = NULL, "
                "finished_at = NULL "
                "WHERE analysis_id = ? AND status = 'error' AND content_sha256 IN "
                "(SELECT content_sha256 FROM files WHERE last_seen_run = ? AND content_sha256 IS NOT NULL)",
                (analysis_id, run_id)).rowcount
            tx.execute("UPDATE runs SET requeued = requeued + ? WHERE id = ?", (n, run_id))
        return n

    def pending(self, *, run_id: int, analysis_id: int, limit: int | None = None) -> list[WorkItem]:
        """This run's contents still to scan, each through the first path (by name) that holds it."""
        # SQLite guarantees that bare columns next to MIN() come from the row holding the minimum.
        rows = self.conn.execute(
            "SELECT s.content_sha256, MIN(f.path), f.size, f.mtime_ns FROM scans s "
            "JOIN files f ON f.content_sha256 = s.content_sha256 "
            "WHERE s.analysis_id = ? AND s.status = 'pending' AND f.last_seen_run = ? "
            "GROUP BY s.content_sha256 ORDER BY MIN(f.path) LIMIT ?",
            (analysis_id, run_id, -1 if limit is None else limit)).fetchall()
        return [WorkItem(*row) for row in rows]

    # -- results -----------------------------------------------------------------------------------

    def record_outcomes(self, outcomes: Sequence[Outcome], *, run_id: int, analysis_id: int,
                        scan_seconds: float) -> int:
        """Store finished scans in one transaction; returns how many rows changed (0 for repeats)."""
        stored = 0
        finished_at = _now()
        with self.transaction() as tx:
            for o in outcomes:
                if o.status == "changed":
                    continue
                stored += tx.execute(
                    "UPDATE scans SET status = ?, path = ?, verdict = ?, fake_probability = ?, kind = ?, provenance = ?, "
                    "error_code = ?, result = ?, thumbnail = ?, seconds = ?, run_id = ?, finished_at = ? "
                    "WHERE analysis_id = ? AND content_sha256 = ? AND status = 'pending'",
                    (o.status, o.path, o.verdict, o.fake_probability, o.kind, o.provenance, o.error_code,
                     json.dumps(o.result), o.thumbnail, o.seconds, run_id, finished_at, analysis_id,
                     o.content_sha256)).rowcount
            tx.execute("UPDATE runs SET scanned = scanned + ?, scan_seconds = ? WHERE id = ?",
                       (stored, scan_seconds, run_id))
        return stored

    # -- integrity ---------------------------------------------------------------------------------

    def check(self) -> Integrity:
        """Verify the invariants the audit relies on (see the module docstring)."""
        q = self.conn.execute
        problems: list[str] = []
        (sqlite_ok,) = q("PRAGMA integrity_check").fetchone()
        if sqlite_ok != "ok":
            problems.append(f"sqlite integrity_check: {sqlite_ok}")
        if q("PRAGMA foreign_key_check").fetchall():
            problems.append("rows refer to missing runs or analyses")
        (orphans,) = q("SELECT COUNT(*) FROM files f JOIN runs r ON r.id = f.last_seen_run LEFT JOIN scans s "
                       "ON s.analysis_id = r.analysis_id AND s.content_sha256 = f.content_sha256 "
                       "WHERE f.content_sha256 IS NOT NULL AND s.content_sha256 IS NULL").fetchone()
        if orphans:
            problems.append(f"{orphans} media files have no scan row for their run's analysis")
        (finished,) = q("SELECT COUNT(*) FROM scans WHERE status != 'pending'").fetchone()
        (counted, requeued) = q("SELECT COALESCE(SUM(scanned), 0), COALESCE(SUM(requeued), 0) FROM runs").fetchone()
        if counted - requeued != finished:
            problems.append(f"runs counted {counted} scans ({requeued} re-queued) but {finished} are stored: "
                            "a result was lost or counted twice")
        bad = 0
        for status, verdict, code, kind, provenance, result in q(
                "SELECT status, verdict, error_code, kind, provenance, result FROM scans WHERE status != 'pending'"):
            try:
                data = json.loads(result)
                error = data["error"]
                consistent = (data["verdict"] == verdict and (status == "error") == (verdict == "error")
                              and (error["code"] if error else None) == code
                              and data.get("kind") == kind  # results stored before schema v2 have no kind: null
                              # before schema v3 no provenance; a path that failed first a null one: null both
                              and (data.get("provenance") or {}).get("state") == provenance)
            except (ValueError, TypeError, KeyError):
                consistent = False
            bad += not consistent
        if bad:
            problems.append(f"{bad} stored results do not parse or disagree with their row")
        (n_files,) = q("SELECT COUNT(*) FROM files").fetchone()
        (contents,) = q("SELECT COUNT(DISTINCT content_sha256) FROM files").fetchone()
        (pending,) = q("SELECT COUNT(*) FROM scans WHERE status = 'pending'").fetchone()
        return Integrity(tuple(problems), n_files, contents, pending, finished)
