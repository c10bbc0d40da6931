"""HTTP-level errors with stable codes; every error body is ``{"error": {"code", "message"}}``.

Media errors (a file that uploads fine but cannot be decoded) are not these: they answer 422 with the same
``MediaResult`` object ``deepfake scan --json`` prints, whose ``error`` has the same ``{code, message}`` shape.
So a client reads ``body["error"]["code"]`` on every non-2xx answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ServiceError(Exception):
    """An answer other than success. ``code`` is stable and machine-readable; ``message`` is for people."""

    def __init__(self, status: int, code: str, message: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message)


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


# code -> (status, meaning); the table in pipelines/README.md (`deepfake serve`) is this one.
CODES: dict[str, tuple[int, str]] = {
    "bad_request": (400, "malformed multipart body, no `file` part, or an HTTP request the parser refuses"),
    "unauthorized": (401, "missing or wrong bearer token"),
    "not_found": (404, "no such route, or a job id that is unknown or expired"),
    "method_not_allowed": (405, "wrong HTTP method for the route"),
    "upload_timeout": (408, "the upload did not arrive within the deadline"),
    "upload_too_large": (413, "the body is larger than the upload limit (refused while streaming)"),
    "unsupported_content_type": (415, "the request is not multipart/form-data"),
    "unsupported_media": (415, "the uploaded bytes are not a known video or image container"),
    "invalid_request": (422, "request parameters out of range"),
    "saturated": (429, "every worker is busy and the queue is full; retry after the Retry-After seconds"),
    "too_many_jobs": (429, "the job store is full; retry later"),
    "internal_error": (500, "a bug; the server log has the details, the body never does"),
    "not_ready": (503, "models still loading, or the service is shutting down"),
    "timeout": (504, "the scan did not finish within the request deadline (use /v1/jobs for long videos)"),
}


# Errors Starlette raises itself (no route, wrong method), by status; any other status it raises gets the fallback
# (none is known to reach a client: no route reads a form or a body through Starlette's parsers).
FRAMEWORK_CODES: dict[int, str] = {404: "not_found", 405: "method_not_allowed"}
FRAMEWORK_FALLBACK = "http_error"


def service_error(code: str, message: str | None = None, *, headers: Mapping[str, str] | None = None) -> ServiceError:
    """The :class:`ServiceError` for a code of :data:`CODES` (its status from the table)."""
    status, meaning = CODES[code]
    return ServiceError(status, code, message or meaning, headers=headers)
