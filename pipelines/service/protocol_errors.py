"""Requests the HTTP parser refuses get the service's JSON error body too, not uvicorn's plain text.

A request h11 cannot parse never reaches the app: a garbage request line, a request line or headers past h11's
16 KiB buffer (a 1 MiB URL), a duplicate ``Content-Length``. uvicorn answers those itself, in
``H11Protocol.send_400_response``, with ``text/plain`` "Invalid HTTP request received.", so a client reading
``body["error"]["code"]`` on every error failed on exactly these. This protocol sends the same 400 (and closes the
connection, as uvicorn does: the stream cannot be trusted after a framing error) with ``{"error": {"code":
"bad_request", ...}}``.
"""

from __future__ import annotations

import json

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from .errors import error_body

MALFORMED_MESSAGE = "malformed HTTP request: the request line, headers or framing (e.g. Content-Length) are invalid"


class JsonErrorH11Protocol(H11Protocol):
    """uvicorn's h11 protocol whose parser-level 400s carry the service's JSON error body."""

    def send_400_response(self, msg: str) -> None:
        # uvicorn's ``msg`` is its fixed "Invalid HTTP request received."; the body says what the client can fix.
        body = json.dumps(error_body("bad_request", MALFORMED_MESSAGE)).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"connection", b"close")]
        for event in (h11.Response(status_code=400, headers=headers, reason=b"Bad Request"), h11.Data(data=body),
                      h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))
        self.transport.close()


__all__ = ["MALFORMED_MESSAGE", "JsonErrorH11Protocol"]
