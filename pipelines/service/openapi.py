"""The service's OpenAPI document: hand-written component schemas plus FastAPI's paths.

The committed copy, ``pipelines/service/openapi.json``, is what integrators read and what the property-based
test fuzzes; a test keeps it equal to what the server serves. Regenerate it after changing the API with:

    .venv/bin/python -m pipelines.service.app pipelines/service/openapi.json

(The app imports this module for its schemas; the regeneration lives with the app, so neither imports the
other back.)
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

COMMITTED = Path(__file__).with_name("openapi.json")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _media_result_schema() -> dict[str, Any]:
    """``deepfake scan --json``'s schema, the single source of the result contract."""
    schema = json.loads(resources.files("detector").joinpath("schemas/media_result.schema.json").read_text())
    return {k: v for k, v in schema.items() if k not in ("$schema", "$id")}


_ERROR = {
    "type": "object", "required": ["error"], "additionalProperties": False,
    "description": "Every non-2xx answer that is not a MediaResult. `code` is stable (pipelines/README.md: service error codes).",
    "properties": {"error": {"type": "object", "required": ["code", "message"], "additionalProperties": False,
                             "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}},
}
_TIME = {"type": ["string", "null"], "format": "date-time"}
_JOB = {
    "type": "object", "additionalProperties": False,
    "required": ["id", "status", "filename", "created_at", "started_at", "finished_at", "expires_at", "result"],
    "properties": {
        "id": {"type": "string"},
        "status": {"enum": ["queued", "running", "done", "failed"]},
        "filename": {"type": "string", "description": "the uploaded file's base name (becomes the result's path)"},
        "created_at": {"type": "string", "format": "date-time"},
        "started_at": _TIME, "finished_at": _TIME,
        "expires_at": {**_TIME, "description": "after this the job is forgotten (404)"},
        "result": {"oneOf": [{"type": "null"}, _ref("MediaResult")],
                   "description": "set once finished; `failed` jobs hold a result with verdict `error`"},
    },
}
_MODEL_CARD = {
    "type": "object", "required": ["name", "version", "sha256", "arch", "input_size", "scan"],
    "description": "The loaded model's card (detector/modelcard.py): preprocessing, calibration, the scan recipe "
                   "(sampling, detection, crop, classification, aggregation, verdict rules and threshold), training "
                   "data summary, licence and metrics.",
    "properties": {"name": {"type": "string"}, "version": {"type": "string"},
                   "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "arch": {"type": "string"},
                   "input_size": {"type": "integer"}, "licence": {"type": "string"},
                   "scan": {"type": "object", "required": ["verdict", "align"],
                            "properties": {"verdict": {"type": "object", "required": ["threshold"],
                                                       "properties": {"threshold": {"type": "number"}}}}}},
}
_HEALTH = {"type": "object", "required": ["status"], "additionalProperties": False,
           "properties": {"status": {"const": "ok"}}}
_READINESS = {
    "type": "object", "required": ["status", "workers", "workers_ready"], "additionalProperties": False,
    "properties": {"status": {"enum": ["ready", "loading", "failed"]}, "workers": {"type": "integer"},
                   "workers_ready": {"type": "integer"}},
}
COMPONENTS: dict[str, Any] = {"Error": _ERROR, "Job": _JOB, "ModelCard": _MODEL_CARD, "Health": _HEALTH,
                              "Readiness": _READINESS}

UPLOAD_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "the video or image (mp4/mov/webm/mkv/avi/…, jpg/png/webp/bmp/gif); "
                                           "its filename is echoed back as the result's path"}}}}}}}


def json_response(description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}, **extra}


def error(description: str, **extra: Any) -> dict[str, Any]:
    return json_response(description, _ref("Error"), **extra)


RETRY_AFTER = {"headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}}
UNAUTHORIZED = {401: error("missing or wrong bearer token",
                           headers={"WWW-Authenticate": {"schema": {"type": "string"}}})}
UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    400: error("malformed multipart body, or no `file` part"),
    **UNAUTHORIZED,
    408: error("the upload did not arrive within the deadline"),
    413: error("larger than the upload limit (refused while streaming)"),
    415: error("not multipart/form-data, or the file is not a known video or image container"),
    429: error("every worker is busy and the queue is full", **RETRY_AFTER),
    503: error("models still loading, or shutting down", **RETRY_AFTER),
}


def build_openapi(app: Any) -> dict[str, Any]:
    """FastAPI's document with our component schemas added (cached on the app, as FastAPI does)."""
    from fastapi.openapi.utils import get_openapi

    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update({"MediaResult": _media_result_schema(), **COMPONENTS})
        app.openapi_schema = schema
    return app.openapi_schema


def render(app: Any) -> str:
    return json.dumps(build_openapi(app), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
