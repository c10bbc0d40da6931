"""``deepfake audit``: audit media archives into a resumable SQLite ledger, and report on it.

    deepfake audit ROOT... --db audit.sqlite [options]     index + scan (re-run to continue)
    deepfake audit report --db audit.sqlite --format csv|jsonl|html [--out FILE] [--kind KIND] [--provenance STATE]
    deepfake audit check --db audit.sqlite                  the ledger's integrity check

Exit codes: 0 done, 2 usage error, 3 some files failed (audit) or the ledger has problems (check),
4 set-up error (missing extra, bad model; ledger_error: the ledger locked, from a newer version, or --db
not an audit ledger, such as a directory or another application's database, which is left untouched),
130 interrupted (re-run the same command to continue).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TextIO

from detector.errors import ConfigError, DetectorError
from detector.kinds import FAKE_KINDS
from detector.provenance import PROVENANCE_STATES
from pipelines.cli.overrides import add_recipe_overrides, recipe_overrides

log = logging.getLogger("deepfake.audit")

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INPUT_ERRORS = 3
EXIT_SETUP = 4
EXIT_INTERRUPTED = 130  # 128 + SIGINT, the shell's convention

EPILOG = ("Exit codes: 0 done, 2 usage error, 3 some files failed, 4 set-up error (missing extra, bad model, "
          "ledger locked or newer, --db not an audit ledger: refused untouched), 130 interrupted (re-run the same "
          "command to continue). "
          "Subcommands: 'deepfake audit report --help', 'deepfake audit check --help'.")


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepfake audit",
        description="Audit media archives: find media by content, scan each distinct file once, and record every "
                    "file in a resumable SQLite ledger (status pending/done/error/skipped with the full result).",
        epilog=EPILOG)
    parser.add_argument("roots", nargs="+", metavar="ROOT", help="directories (or files) to audit")
    parser.add_argument("--db", type=Path, required=True,
                        help="the ledger (SQLite; created if missing; a file that is not an audit ledger is refused "
                             "untouched)")
    walk = parser.add_argument_group("which files")
    walk.add_argument("--include", action="append", default=[], metavar="GLOB",
                      help="only files matching this glob (path relative to ROOT, or name); repeatable")
    walk.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                      help="leave out files and directories matching this glob; repeatable")
    walk.add_argument("--hidden", action="store_true", help="also walk files and directories starting with '.'")
    walk.add_argument("--no-follow-symlinks", action="store_true",
                      help="do not enter symlinked directories or list symlinked files (loops are cut either way)")
    walk.add_argument("--since", metavar="DATE", help="only files modified after DATE (ISO 8601, local time)")
    work = parser.add_argument_group("what to scan")
    work.add_argument("--limit", type=int, help="scan at most N files in this run (the rest stay pending)")
    work.add_argument("--rescan-errors", action="store_true", help="scan files that failed before again")
    work.add_argument("--model", type=Path,
                      help="a model .onnx with its card .json beside it (default: bundled); a new model re-scans "
                           "only the files it has no result for")
    add_recipe_overrides(work)
    work.add_argument("--providers", nargs="*", help="ONNX Runtime execution providers, in priority order")
    engine = parser.add_argument_group("how")
    engine.add_argument("--engine", choices=["local", "ray"], default="local",
                        help="local worker processes (default) or a Ray cluster (extra 'ray')")
    engine.add_argument("--workers", type=int,
                        help="local worker processes (default: one per usable core; 0: in this process)")
    engine.add_argument("--address", help="Ray cluster address, e.g. ray://head:10001 or auto "
                                          "(default: start a local Ray instance)")
    engine.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return parser


def get_report_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepfake audit report",
        description="Report on an audit ledger: counts by status and verdict, the most suspicious files (HTML: with "
                    "face thumbnails), errors by code, throughput, integrity.",
        epilog="Exit codes: 0 ok, 2 usage error, 4 no usable ledger.")
    parser.add_argument("--db", type=Path, required=True, help="the ledger")
    parser.add_argument("--format", choices=["csv", "jsonl", "html"], default="jsonl",
                        help="csv (a row per file), jsonl (a summary line, then a line per file) or html")
    parser.add_argument("--out", type=Path, help="write here instead of stdout")
    parser.add_argument("--top", type=int, default=20, help="most suspicious files listed (default 20)")
    parser.add_argument("--model", metavar="SHA256", help="model sha256 (prefix) to report on (default: latest run's)")
    parser.add_argument("--all", action="store_true", dest="all_files",
                        help="every file ever recorded, not only those the latest run walked")
    parser.add_argument("--kind", choices=FAKE_KINDS,
                        help="only the files whose scan named this kind of fake (models with a kind head name one for "
                             "fake and uncertain files)")
    parser.add_argument("--provenance", choices=PROVENANCE_STATES, metavar="STATE",
                        help="only the files in this provenance state, what each file declares about where it came "
                             f"from: {', '.join(PROVENANCE_STATES)}")
    return parser


def get_check_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepfake audit check", description="Check an audit ledger's invariants.",
                                     epilog="Exit codes: 0 ok, 2 usage error, 3 problems found, 4 no usable ledger.")
    parser.add_argument("--db", type=Path, required=True, help="the ledger")
    return parser


def _since_ns(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(datetime.fromisoformat(text).timestamp() * 1e9)
    except ValueError as exc:
        raise ConfigError(f"--since: {exc} (use ISO 8601, e.g. 2026-01-31 or 2026-01-31T12:00)") from exc


def cmd_audit(args: argparse.Namespace, argv: Sequence[str], stdout: TextIO) -> int:
    from .run import AuditOptions, run_audit
    from .walk import WalkOptions
    from .work import ScannerSpec

    settings = recipe_overrides(args)  # checked once, here
    if args.limit is not None and args.limit < 1:
        raise ConfigError(f"--limit must be >= 1, got {args.limit}")
    if args.workers is not None and args.workers < 0:
        raise ConfigError(f"--workers must be >= 0, got {args.workers}")
    if args.address and args.engine != "ray":
        raise ConfigError("--address needs --engine ray")
    options = AuditOptions(
        roots=tuple(args.roots), db=args.db,
        walk=WalkOptions(include=tuple(args.include), exclude=tuple(args.exclude), hidden=args.hidden,
                         follow_symlinks=not args.no_follow_symlinks, since_ns=_since_ns(args.since)),
        spec=ScannerSpec(model=None if args.model is None else str(args.model), settings=settings,
                         providers=tuple(args.providers) if args.providers else None),
        engine=args.engine, workers=args.workers, address=args.address, limit=args.limit,
        rescan_errors=args.rescan_errors, argv=tuple(argv))
    summary = run_audit(options, progress=False if args.no_progress else None)
    counts = summary.status_counts
    states = ", ".join(f"{counts.get(k, 0)} {k}" for k in ("done", "error", "skipped", "pending"))
    work = (f"scanned {summary.scanned} in {summary.scan_seconds:.1f} s ({summary.rate:.2f} files/s)"
            if summary.scanned else "nothing new to scan")
    stdout.write(f"run {summary.run_id}: {summary.files_seen} files ({states}); {work}; "
                 f"indexed in {summary.index_seconds:.1f} s ({summary.hashed} hashed)\n")
    stdout.flush()
    if summary.interrupted:
        log.warning("interrupted: re-run the same command to continue")
        return EXIT_INTERRUPTED
    return EXIT_INPUT_ERRORS if counts.get("error") else EXIT_OK


def cmd_report(args: argparse.Namespace, stdout: TextIO) -> int:
    from .ledger import Ledger
    from .report import WRITERS, load_report

    if args.top < 0:
        raise ConfigError(f"--top must be >= 0, got {args.top}")
    with Ledger.open(args.db, create=False) as ledger:
        report = load_report(ledger, model=args.model, all_files=args.all_files, top=args.top, kind=args.kind,
                             provenance=args.provenance)
    if args.out is not None:
        with open(args.out, "w", encoding="utf-8", newline="") as out:
            WRITERS[args.format](report, out)
        log.info("wrote %s", args.out)
    else:
        WRITERS[args.format](report, stdout)
    s = report.summary()
    log.info("%d files: %s; errors by code %s; integrity %s", s["files"], s["by_status"], s["errors_by_code"],
             "ok" if report.integrity.ok else "PROBLEMS")
    return EXIT_OK


def cmd_check(args: argparse.Namespace, stdout: TextIO) -> int:
    from .ledger import Ledger

    with Ledger.open(args.db, create=False) as ledger:
        integrity = ledger.check()
    stdout.write(json.dumps(integrity.to_dict()) + "\n")
    return EXIT_OK if integrity.ok else EXIT_INPUT_ERRORS


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None) -> int:
    """Run ``deepfake audit`` (``argv`` without the ``audit`` word); returns the exit code."""
    stdout = stdout or sys.stdout
    argv = list(sys.argv[1:] if argv is None else argv)
    sub = argv[0] if argv and argv[0] in ("report", "check") else None
    parser = {"report": get_report_parser, "check": get_check_parser}.get(sub, get_args_parser)()
    try:
        args = parser.parse_args(argv[1:] if sub else argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    try:
        if sub == "report":
            return cmd_report(args, stdout)
        if sub == "check":
            return cmd_check(args, stdout)
        return cmd_audit(args, ["audit", *argv], stdout)
    except ConfigError as exc:
        log.error("%s", exc)
        return EXIT_USAGE
    except DetectorError as exc:  # missing extra, model integrity, ledger unusable: nothing can run
        log.error("%s: %s", exc.code, exc)
        return EXIT_SETUP


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    raise SystemExit(main())
