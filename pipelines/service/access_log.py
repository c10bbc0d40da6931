"""Access log lines without query strings, so a token pasted into a URL never reaches a log.

uvicorn's access log writes every request's target with its query string: ``POST /v1/scan?token=...`` was
refused with 401 and written in full to the server's log, where log shippers, support tickets and backups
copy it on. Tokens are read only from the ``Authorization`` header and no route takes a query parameter, so
cutting the query loses nothing: the line keeps the path and shows that a query was sent (``?<redacted>``).
"""

from __future__ import annotations

import logging

ACCESS_LOGGER = "uvicorn.access"
REDACTED = "?<redacted>"


def redact_query(text: str) -> str:
    """``text`` with everything from its first ``?`` replaced by ``?<redacted>``.

    Example:
        >>> redact_query("/v1/scan?token=secret")
        '/v1/scan?<redacted>'
    """
    head, sep, _ = text.partition("?")
    return head + REDACTED if sep else text


class RedactQueryStrings(logging.Filter):
    """Rewrites the string arguments of each record (uvicorn passes the request target as one of them).

    The arguments are rewritten rather than the formatted message because uvicorn's access formatter unpacks
    ``record.args`` itself (client, method, target, HTTP version, status).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_query(a) if isinstance(a, str) else a for a in record.args)
        elif not record.args and isinstance(record.msg, str):
            record.msg = redact_query(record.msg)
        return True


def redact_access_log(logger_name: str = ACCESS_LOGGER) -> None:
    """Attach :class:`RedactQueryStrings` to the access logger, once (idempotent).

    A filter on the logger itself: uvicorn's logging set-up (``dictConfig``) replaces the logger's handlers but
    keeps its filters, so it holds however uvicorn was started (``deepfake serve`` or ``uvicorn.run(app)``).
    """
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactQueryStrings) for f in logger.filters):
        logger.addFilter(RedactQueryStrings())


__all__ = ["ACCESS_LOGGER", "RedactQueryStrings", "redact_access_log", "redact_query"]
