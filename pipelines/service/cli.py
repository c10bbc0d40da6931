"""``deepfake serve``: flags and start-up. Light at import (argparse only): ``deepfake --help`` needs no extra."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pipelines.cli.overrides import add_novelty_override

if TYPE_CHECKING:
    from .settings import ServiceSettings

log = logging.getLogger("deepfake.service")

MIB = 1024 * 1024


def add_serve_parser(sub: Any) -> argparse.ArgumentParser:
    """Register ``serve`` on the ``deepfake`` subparsers."""
    serve = sub.add_parser(
        "serve", help="HTTP service for moderation tools (service extra)",
        description="Serve POST /v1/scan, /v1/jobs, /v1/model, /healthz, /readyz and /metrics with FastAPI and "
                    "uvicorn. Bearer tokens come from DEEPFAKE_API_TOKENS (comma-separated) and/or --tokens-file.",
        epilog="Exit codes: 0 stopped cleanly, 2 usage error (e.g. no tokens), 4 set-up error (missing extra).",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: loopback only)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--tokens-file", type=Path, help="accepted bearer tokens, one per line ('#' comments)")
    serve.add_argument("--model", type=Path, help="a model .onnx with its card .json beside it (default: bundled)")
    serve.add_argument("--frames", type=int, help="frames sampled per video (default: the model card's)")
    add_novelty_override(serve)
    serve.add_argument("--providers", nargs="*", help="ONNX Runtime execution providers, in priority order")
    serve.add_argument("--workers", type=int, default=1, help="scan threads, one model each (default 1)")
    serve.add_argument("--queue", type=int, default=4, help="scans that may wait for a worker before 429 (default 4)")
    serve.add_argument("--max-upload-mb", type=float, default=100.0, help="largest upload in MiB (default 100)")
    serve.add_argument("--timeout", type=float, default=60.0,
                       help="seconds a synchronous /v1/scan waits for its verdict, else 504 (default 60)")
    serve.add_argument("--upload-timeout", type=float, default=300.0,
                       help="seconds an upload may take to arrive, else 408 (default 300)")
    serve.add_argument("--job-ttl", type=float, default=3600.0, help="seconds a finished job is kept (default 3600)")
    serve.add_argument("--max-jobs", type=int, default=1000, help="jobs kept at once (default 1000)")
    serve.add_argument("--tmp-dir", type=Path,
                       help="parent of the private upload directory (default: system temp); at start the service "
                            "removes the upload directories there of services that were killed")
    serve.add_argument("--header-timeout", type=float, default=10.0,
                       help="seconds a connection has to send its request headers, from connecting or from the "
                            "last answer; then it is closed (default 10)")
    serve.add_argument("--max-connections", type=int, default=256,
                       help="open connections at most (file descriptors); at the cap a new one closes the "
                            "connection waiting longest for its headers (default 256)")
    return serve


def settings_from_args(args: argparse.Namespace) -> ServiceSettings:
    from detector.recipe import ScanConfig

    from .settings import ServiceSettings, load_tokens

    return ServiceSettings(
        tokens=load_tokens(tokens_file=args.tokens_file), host=args.host, port=args.port,
        model=str(args.model) if args.model else None, scan=ScanConfig(frames=args.frames, max_novelty=args.max_novelty),
        providers=tuple(args.providers) if args.providers else None, workers=args.workers, queue_size=args.queue,
        max_upload_bytes=int(args.max_upload_mb * MIB), request_timeout_s=args.timeout,
        upload_timeout_s=args.upload_timeout, job_ttl_s=args.job_ttl, max_jobs=args.max_jobs,
        tmp_dir=str(args.tmp_dir) if args.tmp_dir else None, header_timeout_s=args.header_timeout,
        max_connections=args.max_connections)


def cmd_serve(args: argparse.Namespace, stdout: TextIO) -> int:
    """Run uvicorn until interrupted; ``ConfigError`` (exit 2) for bad settings, ``MissingExtraError`` (4)."""
    from detector.errors import MissingExtraError

    settings = settings_from_args(args)
    try:
        import uvicorn

        from .app import create_app
        from .connections import ensure_fd_limit
    except ImportError as exc:
        if exc.name and exc.name.split(".")[0] in ("fastapi", "uvicorn", "starlette", "python_multipart"):
            raise MissingExtraError(exc.name, extra="service") from exc
        raise
    app = create_app(settings)
    ensure_fd_limit(settings.max_connections)
    # No limit_concurrency: it counts idle and half-sent connections and answers 503 to everyone else. The
    # guard's protocol enforces the header deadline and the connection cap instead; no WebSocket routes, and a
    # protocol upgrade would take the connection out of the guard's books.
    config = uvicorn.Config(app, host=settings.host, port=settings.port, http=app.state.connections.protocol_class(),
                            ws="none", server_header=False, proxy_headers=False, timeout_keep_alive=5,
                            timeout_graceful_shutdown=10, log_level="info")
    log.info("serving on http://%s:%d with %d worker(s)", settings.host, settings.port, settings.workers)
    uvicorn.Server(config).run()
    return 0
