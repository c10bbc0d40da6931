"""Bearer-token check in constant time."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable


class TokenChecker:
    """Accepts ``Authorization: Bearer <token>`` for any configured token.

    Tokens are compared as SHA-256 digests with ``hmac.compare_digest`` against every configured token, without
    stopping at a match: the time taken reveals neither a token's length nor its prefix, nor which one matched.
    """

    def __init__(self, tokens: Iterable[str]) -> None:
        self._digests = tuple(_digest(t) for t in tokens)
        if not self._digests:
            raise ValueError("no tokens")

    def identify(self, authorization: str | None) -> bytes | None:
        """The SHA-256 digest of the bearer token in an ``Authorization`` header value if accepted, else None.

        The digest names the caller (jobs are bound to it) without keeping the token itself in memory.
        """
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        digest = _digest(token.strip())
        ok = False
        for known in self._digests:
            ok |= hmac.compare_digest(digest, known)
        return digest if ok else None


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()
