"""What a worker does with an upload: scan it, report it under the client's filename, delete it."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from detector.api import Detector
from detector.errors import DetectorError
from detector.results import MediaResult

from .uploads import Upload

log = logging.getLogger("deepfake.service")

INTERNAL_ERROR = {"code": "internal_error", "message": "internal error while scanning; see the server log"}


def scan_upload(detector: Detector, upload: Upload) -> dict[str, Any]:
    """The ``deepfake scan --json`` object for ``upload``; the upload is deleted whatever happens.

    Media errors become a verdict ``error`` result (as in the CLI), with the server-side path scrubbed from the
    message. Anything else is a bug: logged with its traceback here, reported as ``internal_error`` without one.
    """
    try:
        result = replace(detector.scan(upload.path), path=upload.filename)
    except DetectorError as exc:
        error = {"code": exc.code, "message": upload.scrub(exc.message)}
        result = MediaResult.failed(upload.filename, error, model=detector.model, threshold=detector.threshold)
    except Exception:  # the service boundary: one bad file must not take a worker down
        log.exception("scan of an upload (%s) failed", upload.filename)
        result = MediaResult.failed(upload.filename, dict(INTERNAL_ERROR), model=detector.model,
                                    threshold=detector.threshold)
    finally:
        upload.discard()
    return result.to_dict()
