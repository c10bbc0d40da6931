"""What a worker does with an upload: scan it, report it under the client's filename, delete it."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from detector import errors
from detector.api import Detector
from detector.errors import attempt
from detector.provenance import read_provenance

from .uploads import Upload

log = logging.getLogger("deepfake.service")

INTERNAL_ERROR = {"code": errors.INTERNAL_ERROR, "message": "internal error while scanning; see the server log"}


def scan_upload(detector: Detector, upload: Upload) -> dict[str, Any]:
    """The ``deepfake scan --json`` object for ``upload``; the upload is deleted whatever happens.

    Failures become a verdict ``error`` result through the library's per-file boundary (``attempt``, as in
    the CLI and the audit), reported under the client's filename: media errors with the server-side path
    scrubbed from the message; anything else is a bug, logged with its traceback here and reported as
    ``internal_error`` without one.
    """
    provenance = None
    try:
        tried = attempt(upload.filename, lambda: replace(detector.scan(upload.path), path=upload.filename))
        if not tried.ok:
            # A file whose pixels fail still says what it declares, as in the CLI and the audit: read it again (a
            # failed file only) before the upload goes; if that fails too, the result has no provenance.
            provenance = attempt(upload.filename, read_provenance, upload.path).value
    finally:
        upload.discard()
    if tried.ok:
        return _scrubbed(tried.value.to_dict(), upload)
    error = tried.error
    if error["code"] == INTERNAL_ERROR["code"]:
        log.error("scan of an upload (%s) failed", upload.filename, exc_info=tried.exception)
        error = dict(INTERNAL_ERROR)
    else:
        error = {"code": error["code"], "message": upload.scrub(error["message"])}
    return _scrubbed(detector.failed(upload.filename, error, provenance=provenance).to_dict(), upload)


def _scrubbed(result: dict[str, Any], upload: Upload) -> dict[str, Any]:
    for problem in (result["provenance"] or {}).get("problems", []):  # a reader's message may name the file
        problem["message"] = upload.scrub(problem["message"])
    return result
