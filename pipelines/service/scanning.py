"""What a worker does with an upload: scan it, report it under the client's filename, delete it."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from detector import errors
from detector.api import Detector
from detector.errors import file_error

from .uploads import Upload

log = logging.getLogger("deepfake.service")

INTERNAL_ERROR = {"code": errors.INTERNAL_ERROR, "message": "internal error while scanning; see the server log"}


def scan_upload(detector: Detector, upload: Upload) -> dict[str, Any]:
    """The ``deepfake scan --json`` object for ``upload``; the upload is deleted whatever happens.

    Failures become a verdict ``error`` result through the library's per-file boundary (``file_error``, as in
    the CLI and the audit), reported under the client's filename: media errors with the server-side path
    scrubbed from the message; anything else is a bug, logged with its traceback here and reported as
    ``internal_error`` without one.
    """
    try:
        result = replace(detector.scan(upload.path), path=upload.filename)
    except Exception as exc:  # the service boundary: one bad file must not take a worker down
        error = file_error(exc, upload.filename)
        if error["code"] == INTERNAL_ERROR["code"]:
            log.exception("scan of an upload (%s) failed", upload.filename)
            error = dict(INTERNAL_ERROR)
        else:
            error = {"code": error["code"], "message": upload.scrub(error["message"])}
        result = detector.failed(upload.filename, error)
    finally:
        upload.discard()
    return result.to_dict()
