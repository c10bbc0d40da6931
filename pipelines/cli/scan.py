"""``deepfake scan``: real or fake? One verdict per video or image, as a table or JSON Lines, and an HTML report."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .exit_codes import EXIT_FAKE, EXIT_INPUT_ERRORS, EXIT_OK
from .inputs import Input, expand_inputs
from .output import Column, Progress, Table, log_summary, report_failure, write_row
from .overrides import add_recipe_overrides, recipe_overrides

if TYPE_CHECKING:
    from detector.api import Detector
    from detector.results import MediaResult

log = logging.getLogger("deepfake")

REPORT_FACES = 4  # most suspicious faces per input in a --report: 4 heat maps cost under 1 s on 2 CPU cores


def add_scan_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register ``scan`` on the ``deepfake`` subparsers."""
    scan = sub.add_parser(
        "scan", help="real or fake? one verdict per video/image",
        description="Scan videos and images: per-person and per-file fake probability and verdict "
                    "(fake / real / uncertain / no_face / error) with reasons.",
        epilog="Exit codes: 0 no fake found, 1 at least one fake (even if some inputs failed: 1 wins over 3), "
               "2 usage error, 3 some inputs failed and no fake was found, 4 set-up error.",
    )
    scan.add_argument("paths", nargs="+", metavar="PATH", help="video or image files, or directories (recursive)")
    scan.add_argument("--json", action="store_true", help="print one JSON object per input on stdout")
    # scan always expands directories; -r is accepted so the same flags work for scan and faces.
    scan.add_argument("-r", "--recursive", action="store_true",
                      help="expand directories into their media files (always on for scan)")
    scan.add_argument("--model", type=Path, help="a model .onnx with its card .json beside it (default: bundled)")
    add_recipe_overrides(scan)
    scan.add_argument("--providers", nargs="*", help="ONNX Runtime execution providers, in priority order")
    scan.add_argument("--report", type=Path, metavar="OUT.html",
                      help="also write one self-contained HTML report: verdicts, score timelines, the most "
                           "suspicious faces with occlusion heat maps")
    scan.add_argument("--evidence", type=int, metavar="K",
                      help=f"faces per input shown in the --report (default {REPORT_FACES})")
    return scan


def cmd_scan(args: argparse.Namespace, stdout: TextIO) -> int:
    from detector.api import Detector
    from detector.errors import ConfigError

    config = recipe_overrides(args)  # checked here, before any work
    if args.evidence is not None and (args.report is None or args.evidence < 0):
        raise ConfigError(f"--evidence needs --report and must be >= 0, got {args.evidence}")
    if args.report is not None and not args.report.parent.is_dir():  # fail before the scan, not after it
        raise ConfigError(f"--report: no such directory: {args.report.parent}")
    evidence = 0 if args.report is None else REPORT_FACES if args.evidence is None else args.evidence
    started = time.monotonic()
    inputs = expand_inputs(args.paths, recursive=True)
    detector = Detector.load(args.model, config=config, providers=args.providers or None)
    progress = Progress(len(inputs))
    table = None if args.json else Table(stdout, SCAN_COLUMNS, paths=[item.path for item in inputs])
    verdicts: Counter[str] = Counter({v: 0 for v in ("fake", "real", "uncertain", "no_face")})  # the summary's order
    failed: Counter[str] = Counter()
    kept = []  # results for the report
    if table is not None:
        write_row(stdout, progress, table.header())
    with contextlib.closing(progress), contextlib.closing(_scan_all(detector, inputs, evidence=evidence)) as results:
        for done, result in enumerate(results, start=1):
            if args.report is not None:
                kept.append(result)
            if result.error is not None:
                failed[result.error["code"]] += 1
                progress.clear()
                report_failure(result.path, result.error, in_table=table is not None)
            else:
                verdicts[result.verdict] += 1
            write_row(stdout, progress, json.dumps(result.to_dict()) + "\n" if table is None else
                      _scan_row(table, result))
            progress.update(done, result.path)
    if args.report is not None:  # failed inputs are in it too, with their error
        from detector.outputs.report import write_report

        write_report(kept, args.report, classifier=detector.classifier)
        log.info("wrote %s", args.report)
    # A fake found outranks failed inputs (see the pipelines.cli docstring): exit 1 must not hide behind 3.
    code = EXIT_FAKE if verdicts["fake"] else EXIT_INPUT_ERRORS if failed else EXIT_OK
    log_summary(len(inputs), time.monotonic() - started, verdicts, failed, noun="file", exit_note=EXIT_NOTES.get(code))
    return code


# The summary says what a non-zero exit means: 1 is a scan that worked and found a fake (the README's demo ends so).
EXIT_NOTES = {EXIT_FAKE: f"exit code {EXIT_FAKE}: a fake was found (not an error)",
              EXIT_INPUT_ERRORS: f"exit code {EXIT_INPUT_ERRORS}: some inputs failed"}


# With the file and the notes, 80 columns: the kind and the provenance state, which most rows lack, are notes.
SCAN_COLUMNS = (Column("verdict", 9), Column("P(fake)", 7, right=True), Column("persons", 7, right=True),
                Column("time", 6, right=True))


def _scan_row(table: Table, result: MediaResult) -> str:
    """One table row. Notes: a failed input's code and message; else the kind of fake with P(kind | fake) (a fake or
    uncertain file of a model with a kind head; the kind alone when the file's provenance declared it), the reasons,
    and the file's provenance state unless it is ``none``."""
    p = "-" if result.fake_probability is None else f"{result.fake_probability:.3f}"
    cells = [result.verdict, p, str(len(result.tracks)), f"{result.timings.get('total', 0.0):.1f}s"]
    if result.error is not None:
        return table.row(result.path, cells, f"{result.error['code']}: {result.error['message']}", failed=True)
    notes = []
    if result.kind is not None:
        notes.append(result.kind if result.kind_probability is None else f"{result.kind} {result.kind_probability:.2f}")
    notes.append(",".join(result.reasons))
    if result.provenance is not None and result.provenance.state != "none":
        notes.append(f"provenance {result.provenance.state}")
    return table.row(result.path, cells, "; ".join(notes))


def _scan_all(detector: Detector, inputs: list[Input], *, evidence: int = 0) -> Iterator[MediaResult]:
    """One ``MediaResult`` per input, in input order.

    Files go through ``Detector.scan_many`` (files decode ahead in a thread, faces of consecutive files are
    classified in shared batches, and a file that fails, expected or not, becomes an ``error`` result);
    inputs that failed before any file was opened (an empty directory) become ``error`` results in their place.
    """
    from detector.results import MediaResult

    # prompt: each row as soon as its file is done, not when a classifier batch of later files fills.
    results = detector.scan_many([item.path for item in inputs if item.error is None], evidence=evidence, prompt=True)
    try:
        for item in inputs:
            if item.error is not None:
                yield MediaResult.failed(item.path, item.error, model=detector.model, threshold=detector.threshold)
            else:
                yield next(results)
    finally:
        results.close()  # stops scan_many's decoding thread when the caller stops early
