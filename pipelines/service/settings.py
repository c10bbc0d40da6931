"""Service settings: one frozen dataclass, built from ``deepfake serve`` flags or by hand in tests."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from detector.errors import ConfigError
from detector.recipe import ScanConfig

TOKENS_ENV = "DEEPFAKE_API_TOKENS"
# 16 characters of a random token carry ~96 bits; shorter ones are passwords someone typed.
MIN_TOKEN_LENGTH = 16


@dataclass(frozen=True)
class ServiceSettings:
    """Attributes:
        tokens: accepted bearer tokens (kept out of ``repr`` so they never reach a log).
        host, port: where uvicorn listens.
        model: a model ``.onnx`` with its card beside it (None: the bundled default).
        scan: overrides of the model card's scan recipe (as ``deepfake scan --frames``), checked where they are made.
        providers: ONNX Runtime execution providers (None: the runtime's default).
        workers: scan threads; each loads its own model once (ONNX Runtime and FFmpeg release the GIL).
        queue_size: scans that may wait for a worker; beyond ``workers + queue_size`` requests get 429.
        max_upload_bytes: largest accepted file, enforced while the body streams in.
        request_timeout_s: how long a synchronous ``POST /v1/scan`` waits for its result (queue and scan).
        upload_timeout_s: deadline for receiving an upload (slow clients hold a connection, not a worker).
        job_ttl_s: how long a finished job's result is kept.
        max_jobs: most jobs kept at once (queued, running and finished but not yet expired).
        tmp_dir: parent of the service's private upload directory (None: the system temp dir).
        header_timeout_s: deadline for a request line and headers, from connecting or from the last answer;
            a connection that misses it is closed (see ``connections.py``).
        max_connections: open connections at most, to protect file descriptors: at the cap a new connection
            closes the one waiting longest for request headers, or is refused when all are being served.
    """

    tokens: tuple[str, ...] = field(default=(), repr=False)
    host: str = "127.0.0.1"
    port: int = 8000
    model: str | None = None
    scan: ScanConfig = field(default_factory=ScanConfig)
    providers: tuple[str, ...] | None = None
    workers: int = 1
    queue_size: int = 4
    max_upload_bytes: int = 100 * 1024 * 1024
    request_timeout_s: float = 60.0
    upload_timeout_s: float = 300.0
    job_ttl_s: float = 3600.0
    max_jobs: int = 1000
    tmp_dir: str | None = None
    # Clients are programs that send their request line and headers (a few hundred bytes) in one write right
    # after connecting: 10 s covers that over a congested link many times over, yet frees a slot held by a
    # silent socket soon. (nginx's client_header_timeout defaults to 60 s, Apache's mod_reqtimeout to 20-40 s:
    # both also serve browsers on slow links, which this service does not.)
    header_timeout_s: float = 10.0
    # 2 descriptors per connection (socket + upload file) plus connections.FD_RESERVE: 256 fits the usual soft
    # limit of 1024. Idle and half-sent sockets are evicted at the cap, so it needs no headroom for them.
    max_connections: int = 256

    def __post_init__(self) -> None:
        if not self.tokens:
            raise ConfigError(f"no API tokens: set {TOKENS_ENV} (comma-separated) or pass --tokens-file")
        if any(len(t) < MIN_TOKEN_LENGTH for t in self.tokens):
            raise ConfigError(f"API tokens must be at least {MIN_TOKEN_LENGTH} characters; make one with "
                              "python -c 'import secrets; print(secrets.token_urlsafe(32))'")
        for name in ("workers", "max_upload_bytes", "max_jobs", "max_connections"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.queue_size < 0:
            raise ConfigError(f"queue_size must be >= 0, got {self.queue_size}")
        for name in ("request_timeout_s", "upload_timeout_s", "job_ttl_s", "header_timeout_s"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)}")


def load_tokens(*, environ: Mapping[str, str] | None = None, tokens_file: str | os.PathLike[str] | None = None
                ) -> tuple[str, ...]:
    """Tokens from ``DEEPFAKE_API_TOKENS`` (comma-separated) and a file (one per line, ``#`` comments).

    Both sources add up, so a file can hold long-lived integrator tokens and the environment a deploy's own.
    """
    environ = os.environ if environ is None else environ
    tokens = [t.strip() for t in environ.get(TOKENS_ENV, "").split(",")]
    if tokens_file is not None:
        try:
            text = Path(tokens_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read tokens file {tokens_file}: {exc.strerror}") from None
        tokens += [line.split("#", 1)[0].strip() for line in text.splitlines()]
    return tuple(dict.fromkeys(t for t in tokens if t))
