"""``deepfake scan``: real or fake? One verdict per video or image, as a table or JSON Lines, and an HTML report."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .exit_codes import EXIT_FAKE, EXIT_INPUT_ERRORS, EXIT_OK
from .inputs import Input, expand_inputs
from .output import Progress, log_failures, short_path, write_row
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
    inputs = expand_inputs(args.paths, recursive=True)
    detector = Detector.load(args.model, config=config, providers=args.providers or None)
    progress = Progress(len(inputs))
    fakes = 0
    failed: Counter[str] = Counter()
    kept = []  # results for the report
    if not args.json:
        stdout.write(f"{'file':<48} {'verdict':<10} {'P(fake)':>8} {'kind':<16} {'provenance':<24} {'persons':>7} "
                     f"{'time':>7}\n")
    with contextlib.closing(progress), contextlib.closing(_scan_all(detector, inputs, evidence=evidence)) as results:
        for done, result in enumerate(results, start=1):
            if args.report is not None:
                kept.append(result)
            fakes += result.verdict == "fake"
            if result.error is not None:
                failed[result.error["code"]] += 1
                progress.clear()
                log.error("%s: %s: %s", result.path, result.error["code"], result.error["message"])
            write_row(stdout, progress, json.dumps(result.to_dict()) + "\n" if args.json else _scan_row(result))
            progress.update(done, result.path)
    if args.report is not None:  # failed inputs are in it too, with their error
        from detector.outputs.report import write_report

        write_report(kept, args.report, classifier=detector.classifier)
        log.info("wrote %s", args.report)
    log_failures(failed, len(inputs))
    # A fake found outranks failed inputs (see the pipelines.cli docstring): exit 1 must not hide behind 3.
    if fakes:
        return EXIT_FAKE
    return EXIT_INPUT_ERRORS if failed else EXIT_OK


def _scan_row(result: MediaResult) -> str:
    """One table row; a failed input shows its code and message, the rest their reasons. ``kind``: the kind of fake
    with P(kind | fake), for a fake or uncertain file of a model with a kind head (the kind alone when the file's
    provenance declared it), else ``-``. ``provenance``: the file's provenance state (``-``: not read)."""
    p = "-" if result.fake_probability is None else f"{result.fake_probability:.3f}"
    kind = "-" if result.kind is None else result.kind if result.kind_probability is None else \
        f"{result.kind} {result.kind_probability:.2f}"
    provenance = "-" if result.provenance is None else result.provenance.state
    note = f"{result.error['code']}: {result.error['message']}" if result.error else ",".join(result.reasons)
    return (f"{short_path(result.path):<48} {result.verdict:<10} {p:>8} {kind:<16} {provenance:<24} "
            f"{len(result.tracks):>7} {result.timings.get('total', 0.0):>6.2f}s  {note}\n")


def _scan_all(detector: Detector, inputs: list[Input], *, evidence: int = 0) -> Iterator[MediaResult]:
    """One ``MediaResult`` per input, in input order.

    Files go through ``Detector.scan_many`` (files decode ahead in a thread, faces of consecutive files are
    classified in shared batches, and a file that fails, expected or not, becomes an ``error`` result);
    inputs that failed before any file was opened (an empty directory) become ``error`` results in their place.
    """
    from detector.results import MediaResult

    results = detector.scan_many([item.path for item in inputs if item.error is None], evidence=evidence)
    try:
        for item in inputs:
            if item.error is not None:
                yield MediaResult.failed(item.path, item.error, model=detector.model, threshold=detector.threshold)
            else:
                yield next(results)
    finally:
        results.close()  # stops scan_many's decoding thread when the caller stops early
