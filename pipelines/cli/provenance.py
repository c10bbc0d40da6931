"""``deepfake provenance``: what files declare about where they came from (C2PA, IPTC/XMP, EXIF, generator
parameters), read alone: no model, no decoding of pixels."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import time
from collections import Counter
from typing import TYPE_CHECKING, TextIO

from .exit_codes import EXIT_INPUT_ERRORS, EXIT_OK
from .inputs import expand_inputs
from .output import Column, Progress, Table, error_record, log_summary, report_failure, write_row

if TYPE_CHECKING:
    from detector.provenance import Provenance

log = logging.getLogger("deepfake")


def add_provenance_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register ``provenance`` on the ``deepfake`` subparsers."""
    parser = sub.add_parser(
        "provenance", help="what files declare: C2PA credentials, IPTC source type, generator metadata",
        description="Read the provenance of videos and images from their bytes: C2PA Content Credentials (signer, "
                    "actions, validation), the IPTC digital source type and other XMP/EXIF fields, and the "
                    "parameters of Stable Diffusion front-ends. One state per file: declared_synthetic, "
                    "declared_edited_with_ai, signed_capture, signed_other, invalid_signature, generator_metadata, "
                    "unreadable or none.",
        epilog="Exit codes: 0 every input read, 2 usage error, 3 some inputs could not be read (their error code is "
               "in the output). Malformed metadata is not a failure: it is reported in the file's problems.",
    )
    parser.add_argument("paths", nargs="+", metavar="FILE", help="video or image files (directories with -r)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per input on stdout")
    parser.add_argument("-r", "--recursive", action="store_true", help="expand directories into their media files")
    return parser


def cmd_provenance(args: argparse.Namespace, stdout: TextIO) -> int:
    from detector.errors import attempt
    from detector.pathtext import path_to_text
    from detector.provenance import read_provenance

    started = time.monotonic()
    inputs = expand_inputs(args.paths, recursive=args.recursive)
    failed: Counter[str] = Counter()
    table = None if args.json else Table(stdout, PROVENANCE_COLUMNS, paths=[item.path for item in inputs])
    if table is not None:
        stdout.write(table.header())
    with contextlib.closing(Progress(len(inputs))) as progress:
        for done, item in enumerate(inputs, start=1):
            tried = attempt(item.path, read_provenance, item.path) if item.error is None else None
            error = item.error if tried is None else tried.error
            if error is not None:
                failed[error["code"]] += 1
                progress.clear()
                report_failure(item.path, error, in_table=table is not None)
                record = {**error_record(item.path, error["code"], error["message"]), "provenance": None}
                write_row(stdout, progress, json.dumps(record) + "\n" if table is None else
                          table.row(item.path, ["error", "-", "-"], f"{error['code']}: {error['message']}",
                                    failed=True))
            else:
                assert tried is not None and tried.value is not None
                record = {"path": path_to_text(item.path), "status": "ok", "provenance": tried.value.to_dict(),
                          "error": None}
                write_row(stdout, progress, json.dumps(record) + "\n" if table is None else
                          _row(table, item.path, tried.value))
            progress.update(done, item.path)
    log_summary(len(inputs), time.monotonic() - started, Counter(read=len(inputs) - sum(failed.values())), failed)
    return EXIT_INPUT_ERRORS if failed else EXIT_OK


# The longest state ("declared_edited_with_ai") and source ("generator") set the widths; the generator or signer is cut.
PROVENANCE_COLUMNS = (Column("state", 23), Column("by", 9), Column("generator", 14))


def _row(table: Table, path: str, provenance: Provenance) -> str:
    """One table row: the state, who declared it, the generator (or the signer), and notes: the digital source type,
    the manifest's failure codes, the problems. Every value from the file is escaped by the table: it is the file's
    to choose."""
    from .terminal import for_terminal, shorten

    manifest = provenance.manifest
    who = provenance.generator or (manifest.signer if manifest is not None else None) or "-"
    notes = []
    if provenance.digital_source_type:
        notes.append(provenance.digital_source_type)
    if manifest is not None:
        notes.append(f"signer {manifest.signer or '?'}; {manifest.validation_state or 'not validated'}"
                     + (f" ({', '.join(manifest.failures)})" if manifest.failures else ""))
    notes += [f"{p.code}: {p.message}" for p in provenance.problems]
    if not notes and provenance.evidence:
        notes.append("; ".join(f"{e.field}={e.value}" for e in provenance.evidence[:3]))
    return table.row(path, [provenance.state, provenance.declared_by or "-", shorten(for_terminal(who), 14)],
                     " | ".join(notes))
