"""The FastAPI application: routes, auth, error bodies and metrics around the worker pool.

Example (``http=`` adds the header deadline and connection cap of ``deepfake serve``, see connections.py):
    >>> from pipelines.service import ServiceSettings, create_app
    >>> app = create_app(ServiceSettings(tokens=("a-long-random-token-0123456789",)))  # doctest: +SKIP
    >>> import uvicorn  # doctest: +SKIP
    >>> guarded = app.state.connections.protocol_class()  # doctest: +SKIP
    >>> uvicorn.run(app, host="127.0.0.1", port=8000, http=guarded, ws="none")  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from concurrent.futures import Future
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.security import HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from detector.api import Detector
from detector.results import VERDICTS

from . import openapi as doc
from .access_log import redact_access_log
from .auth import TokenChecker
from .connections import DROP_REASONS, ConnectionGuard
from .errors import FRAMEWORK_CODES, FRAMEWORK_FALLBACK, ServiceError, error_body, service_error
from .jobs import JobStore, StoreFull
from .metrics import CONTENT_TYPE, Metrics
from .pool import NotReady, Saturated, WorkerPool
from .scanning import scan_upload
from .settings import ServiceSettings
from .upload_dir import UploadDirectory, sweep_stale
from .uploads import Upload, receive_upload

log = logging.getLogger("deepfake.service")

API_VERSION = "1.0.0"
RETRY_AFTER_S = "1"
# nginx's status for "client closed request": recorded in metrics when a client hangs up before its request was
# read, so that is not counted as a 5xx. Never sent (nobody is listening).
CLIENT_CLOSED_REQUEST = 499
BEARER = HTTPBearer(auto_error=False, description="a token from DEEPFAKE_API_TOKENS or --tokens-file")


class _Service:
    """The state behind the routes: one per app."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.tokens = TokenChecker(settings.tokens)
        self.metrics = Metrics(VERDICTS, DROP_REASONS)
        self.connections = ConnectionGuard(header_timeout_s=settings.header_timeout_s,
                                           max_connections=settings.max_connections,
                                           on_drop=self.metrics.count_connection_drop)
        self.jobs = JobStore(ttl_s=settings.job_ttl_s, max_jobs=settings.max_jobs)
        self.pool: WorkerPool[Detector] = WorkerPool(self._load_detector, workers=settings.workers,
                                                     queue_size=settings.queue_size)
        self.uploads: UploadDirectory | None = None

    def _load_detector(self) -> Detector:
        s = self.settings
        return Detector.load(s.model, config=s.scan, providers=s.providers)

    def open(self) -> None:
        redact_access_log()
        # Directories of services killed before their cleanup ran, then this one's (locked while it lives).
        sweep_stale(self.settings.tmp_dir)
        self.uploads = UploadDirectory.create(self.settings.tmp_dir)
        self.pool.start()

    def close(self) -> None:
        self.pool.shutdown()
        if self.uploads is not None:
            self.uploads.remove()

    # -- helpers for the routes ----------------------------------------------------------------------

    def require_token(self, request: Request) -> bytes:
        """The caller's token digest (jobs are bound to it); 401 without an accepted token."""
        caller = self.tokens.identify(request.headers.get("authorization"))
        if caller is None:
            # A token in the URL is never read (and cut from the access log, access_log.py): say where it goes.
            message = ("send the token in the Authorization header (Bearer); the URL's query string is never read "
                       "for tokens") if request.url.query else None
            raise service_error("unauthorized", message, headers={"WWW-Authenticate": "Bearer"})
        return caller

    async def receive(self, request: Request, *, timeout_s: float) -> Upload:
        if not self.pool.ready:  # refuse before reading a byte
            raise _not_ready()
        assert self.uploads is not None
        try:
            return await asyncio.wait_for(receive_upload(request, directory=self.uploads.path,
                                                         max_bytes=self.settings.max_upload_bytes), timeout_s)
        except TimeoutError:
            raise service_error("upload_timeout", headers={"Connection": "close"}) from None

    def submit(self, upload: Upload, *, job_id: str | None = None) -> Future[dict[str, Any]]:
        """Queue a scan of ``upload`` (for job ``job_id``, if given); the upload is deleted on every path."""

        def run(detector: Detector) -> dict[str, Any]:
            if job_id is not None:
                self.jobs.start(job_id)
            result = scan_upload(detector, upload)
            self.metrics.count_verdict(result["verdict"])
            if job_id is not None:
                self.jobs.finish(job_id, result)
            return result

        try:
            return self.pool.submit(run, on_drop=upload.discard)
        except Saturated:
            upload.discard()
            raise service_error("saturated", headers={"Retry-After": RETRY_AFTER_S}) from None
        except NotReady:
            upload.discard()
            raise _not_ready() from None

    def gauges(self) -> dict[str, tuple[str, float]]:
        stats = self.pool.stats()
        return {"deepfake_queue_depth": ("Scans waiting for a worker.", stats["queued"]),
                "deepfake_workers_busy": ("Workers scanning now.", stats["busy"]),
                "deepfake_workers_ready": ("Workers with their model loaded.", stats["workers_ready"]),
                "deepfake_jobs_stored": ("Jobs queued, running or finished and not yet expired.", len(self.jobs)),
                "deepfake_connections_open": ("Open client connections (at most --max-connections).",
                                              self.connections.open_connections)}


def _authorized(request: Request, _: Annotated[Any, Security(BEARER)]) -> bytes:
    # The scheme object only documents auth in the schema; the check reads the header itself (constant time).
    service: _Service = request.app.state.service
    return service.require_token(request)


# The caller's token digest, for the routes that bind jobs to it (FastAPI runs the check once per request).
Caller = Annotated[bytes, Depends(_authorized)]


def _not_ready() -> ServiceError:
    return service_error("not_ready", headers={"Retry-After": RETRY_AFTER_S})


def _result_status(result: dict[str, Any]) -> int:
    if result["verdict"] != "error":
        return 200
    return 500 if result["error"]["code"] == "internal_error" else 422


# -- the app ---------------------------------------------------------------------------------------------


def create_app(settings: ServiceSettings) -> FastAPI:
    """The service as an ASGI app; workers load their models when it starts (uvicorn's lifespan)."""
    service = _Service(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        service.open()
        try:
            yield
        finally:
            service.close()

    # redirect_slashes=False: Starlette answers "/v1/scan/" with a 307 to an absolute URL built from the request's
    # Host header, so anyone could make the service redirect to a host of their choosing; a 404 instead.
    app = FastAPI(title="deepfake-detector", version=API_VERSION, lifespan=lifespan, docs_url=None,
                  redoc_url=None, redirect_slashes=False, description="Scan uploaded videos and images for manipulated faces. "
                                              "Every /v1 route and /metrics need `Authorization: Bearer <token>`.")
    app.openapi = lambda: doc.build_openapi(app)  # type: ignore[method-assign]
    app.state.service = service
    app.state.connections = service.connections  # `deepfake serve` hands its protocol class to uvicorn
    _add_error_handlers(app)
    app.add_middleware(MetricsMiddleware, metrics=service.metrics)
    _add_routes(app, service)
    return app


def _add_routes(app: FastAPI, service: _Service) -> None:
    auth = [Depends(_authorized)]
    settings = service.settings
    media_result = {"$ref": "#/components/schemas/MediaResult"}

    @app.post("/v1/scan", dependencies=auth, response_model=None, openapi_extra=doc.UPLOAD_BODY,
              summary="Scan one uploaded video or image and wait for the verdict",
              responses={200: doc.json_response("the verdict (as `deepfake scan --json`)", media_result),
                         **doc.UPLOAD_ERRORS,
                         422: doc.json_response("the file could not be decoded: a MediaResult with verdict "
                                                "`error` and its error code", media_result),
                         500: doc.json_response("a bug; details only in the server log", media_result),
                         504: doc.error("not finished within the request deadline; use /v1/jobs")})
    async def scan(request: Request) -> JSONResponse:
        upload = await service.receive(request, timeout_s=settings.upload_timeout_s)
        future = asyncio.wrap_future(service.submit(upload))
        try:
            # On timeout wait_for cancels the future: a scan still queued is dropped, a running one finishes
            # in the background (its upload is deleted then) and its result is discarded.
            result = await asyncio.wait_for(future, settings.request_timeout_s)
        except TimeoutError:
            raise service_error("timeout", f"the scan did not finish within {settings.request_timeout_s:g} s; "
                                           "use POST /v1/jobs for long videos") from None
        return JSONResponse(result, status_code=_result_status(result))

    @app.post("/v1/jobs", response_model=None, status_code=202, openapi_extra=doc.UPLOAD_BODY,
              summary="Queue a scan (long videos); poll GET /v1/jobs/{job_id}",
              responses={202: doc.json_response("queued", {"$ref": "#/components/schemas/Job"},
                                                headers={"Location": {"schema": {"type": "string"}}}),
                         **doc.UPLOAD_ERRORS})
    async def create_job(request: Request, caller: Caller) -> JSONResponse:
        upload = await service.receive(request, timeout_s=settings.upload_timeout_s)
        try:
            job = service.jobs.create(upload.filename, owner=caller)
        except StoreFull:
            upload.discard()
            raise service_error("too_many_jobs", headers={"Retry-After": RETRY_AFTER_S}) from None
        try:
            service.submit(upload, job_id=job.id)
        except ServiceError:
            service.jobs.remove(job.id)
            raise
        return JSONResponse(job.to_dict(), status_code=202, headers={"Location": f"/v1/jobs/{job.id}"})

    @app.get("/v1/jobs/{job_id}", response_model=None, summary="A job's state and result",
             responses={200: doc.json_response("the job", {"$ref": "#/components/schemas/Job"}),
                        **doc.UNAUTHORIZED, 404: doc.error("unknown job id, or its result expired"),
                        422: doc.error("invalid job id")})
    async def get_job(job_id: str, caller: Caller) -> JSONResponse:
        # Another token's job answers exactly as an unknown one: its existence is not disclosed either.
        job = service.jobs.get(job_id, owner=caller)
        if job is None:
            raise service_error("not_found", "no such job (unknown id, or its result expired)")
        return JSONResponse(job.to_dict())

    @app.get("/v1/model", dependencies=auth, response_model=None, summary="The loaded model's card",
             responses={200: doc.json_response("the model card", {"$ref": "#/components/schemas/ModelCard"}),
                        **doc.UNAUTHORIZED, 503: doc.error("models still loading", **doc.RETRY_AFTER)})
    async def model() -> JSONResponse:
        try:
            detector = service.pool.any_resource()
        except NotReady:
            raise _not_ready() from None
        return JSONResponse(detector.classifier.card.to_dict())

    @app.get("/healthz", response_model=None, summary="Liveness: the process answers",
             responses={200: doc.json_response("alive", {"$ref": "#/components/schemas/Health"})})
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/readyz", response_model=None, summary="Readiness: every worker has its model",
             responses={200: doc.json_response("ready", {"$ref": "#/components/schemas/Readiness"}),
                        503: doc.json_response("loading, or a worker failed to load its model",
                                               {"$ref": "#/components/schemas/Readiness"})})
    async def readyz() -> JSONResponse:
        stats = service.pool.stats()
        ready = service.pool.ready
        status = "ready" if ready else "failed" if service.pool.load_failures else "loading"
        return JSONResponse({"status": status, "workers": stats["workers"], "workers_ready": stats["workers_ready"]},
                            status_code=200 if ready else 503)

    # HEAD on the probes (load balancers and uptime checkers send it): the GET's status and headers, no body
    # (uvicorn drops a HEAD response's body). Left out of the schema, which documents the GETs.
    for path, probe in (("/healthz", healthz), ("/readyz", readyz)):
        app.add_api_route(path, probe, methods=["HEAD"], response_model=None, include_in_schema=False)

    @app.get("/metrics", dependencies=auth, response_class=PlainTextResponse, summary="Prometheus metrics",
             responses={200: {"description": "Prometheus text format 0.0.4",
                              "content": {"text/plain": {"schema": {"type": "string"}}}}, **doc.UNAUTHORIZED})
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(service.metrics.render(service.gauges()), media_type=CONTENT_TYPE)


def _add_error_handlers(app: FastAPI) -> None:
    """Every error body is ``{"error": {code, message}}``; none carries a traceback or echoes the input."""

    async def on_service_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ServiceError)
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    async def on_http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = FRAMEWORK_CODES.get(exc.status_code, FRAMEWORK_FALLBACK)
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code,
                            headers=dict(exc.headers or {}))

    async def on_validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        where = sorted({".".join(str(p) for p in e.get("loc", ())) for e in exc.errors()})
        return JSONResponse(error_body("invalid_request", f"invalid request parameters: {', '.join(where)}"),
                            status_code=422)

    async def on_client_disconnect(request: Request, _: Exception) -> Response:
        # The client hung up mid-request (the upload's temp file is already deleted): its doing, not a bug.
        route = getattr(request.scope.get("route"), "path", "unmatched")
        log.info("client closed the connection during %s %s; request dropped", request.method, route)
        return Response(status_code=CLIENT_CLOSED_REQUEST)

    async def on_unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", exc_info=exc)
        return JSONResponse(error_body("internal_error", "internal server error"), status_code=500)

    app.add_exception_handler(ServiceError, on_service_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(ClientDisconnect, on_client_disconnect)
    app.add_exception_handler(Exception, on_unexpected)


class MetricsMiddleware:
    """Counts every HTTP request by method, route template and status, with its latency."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # what the client sees if the app raises before answering

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.observe_request(scope["method"], route, status, time.perf_counter() - start)


def write_openapi(argv: list[str] | None = None) -> int:
    """Write the OpenAPI document to the given path (default: the committed copy, ``doc.COMMITTED``)."""
    import sys

    argv = sys.argv[1:] if argv is None else argv
    target = Path(argv[0]) if argv else doc.COMMITTED
    # Settings only shape runtime limits, not the document; the token is a placeholder that never serves.
    target.write_text(doc.render(create_app(ServiceSettings(tokens=("x" * 32,)))), encoding="utf-8")
    print(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(write_openapi())
