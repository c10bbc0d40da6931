"""The HTTP service (``deepfake serve``, ``service`` extra): FastAPI + uvicorn around a pool of detectors.

``create_app`` is imported lazily so that ``deepfake --help`` and the settings work without the extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .settings import ServiceSettings, load_tokens

if TYPE_CHECKING:
    from .app import create_app

__all__ = ["ServiceSettings", "create_app", "load_tokens"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
