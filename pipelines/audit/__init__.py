"""Batch audit of media archives into a resumable SQLite ledger (``deepfake audit``).

Stages, one module each: :mod:`.walk` (find files) → :mod:`.identify` (magic bytes, SHA-256) →
:mod:`.ledger` (SQLite schema, migrations, the only writer of state; :mod:`.ledger_file` refuses
what is not a ledger) → :mod:`.work` (scan one file) run by
:mod:`.local` (worker processes) or :mod:`.ray_engine` (Ray Data) → :mod:`.report` (CSV / JSONL / HTML).
:mod:`.run` ties them into one run; :mod:`.cli` is the command line.
"""

from .ledger import Integrity, Ledger, LedgerError
from .run import AuditOptions, AuditSummary, StopRequest, run_audit
from .walk import WalkOptions, walk
from .work import ScannerSpec

__all__ = [
    "AuditOptions",
    "AuditSummary",
    "Integrity",
    "Ledger",
    "LedgerError",
    "ScannerSpec",
    "StopRequest",
    "WalkOptions",
    "run_audit",
    "walk",
]
