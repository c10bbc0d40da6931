"""``deepfake provenance``: what files declare about where they came from (C2PA, IPTC/XMP, EXIF, generator
parameters), read alone: no model, no decoding of pixels."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
from collections import Counter
from typing import TYPE_CHECKING, TextIO

from .exit_codes import EXIT_INPUT_ERRORS, EXIT_OK
from .inputs import expand_inputs
from .output import Progress, error_record, log_failures, short_path, write_row

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
    from detector.provenance import read_provenance

    inputs = expand_inputs(args.paths, recursive=args.recursive)
    failed: Counter[str] = Counter()
    if not args.json:
        stdout.write(f"{'file':<48} {'state':<24} {'by':<9} {'generator / signer':<32} note\n")
    with contextlib.closing(Progress(len(inputs))) as progress:
        for done, item in enumerate(inputs, start=1):
            tried = attempt(item.path, read_provenance, item.path) if item.error is None else None
            error = item.error if tried is None else tried.error
            if error is not None:
                failed[error["code"]] += 1
                progress.clear()
                log.error("%s: %s: %s", item.path, error["code"], error["message"])
                record = {**error_record(item.path, error["code"], error["message"]), "provenance": None}
                write_row(stdout, progress, json.dumps(record) + "\n" if args.json else
                          f"{short_path(item.path):<48} ERROR  {error['code']}: {error['message']}\n")
            else:
                assert tried is not None and tried.value is not None
                record = {"path": item.path, "status": "ok", "provenance": tried.value.to_dict(), "error": None}
                write_row(stdout, progress, json.dumps(record) + "\n" if args.json else
                          _row(item.path, tried.value))
            progress.update(done, item.path)
    log_failures(failed, len(inputs))
    return EXIT_INPUT_ERRORS if failed else EXIT_OK


def _row(path: str, provenance: Provenance) -> str:
    """One table row: the state, who declared it, the generator (or the signer), and a note: the digital source type,
    the manifest's failure codes, the problems."""
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
    return (f"{short_path(path):<48} {provenance.state:<24} {provenance.declared_by or '-':<9} {who[:32]:<32} "
            f"{' | '.join(notes)}\n")
