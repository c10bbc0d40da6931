"""Face detector backends by name: ``onnx`` (MTCNN on ONNX Runtime; the default, no torch) and ``facenet``
(facenet-pytorch's MTCNN; needs the ``train`` extra, and imports torch only when created)."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import ConfigError
from .detections import FaceDetector
from .facenet_backend import facenet_backend
from .mtcnn import onnx_backend

BACKENDS: dict[str, Callable[..., FaceDetector]] = {"onnx": onnx_backend, "facenet": facenet_backend}


def backend_names() -> list[str]:
    return sorted(BACKENDS)


def create_detector(name: str = "onnx", **kwargs: object) -> FaceDetector:
    """Build a face detector by backend name (exact: names are identifiers; ``ONNX`` gets a hint)."""
    try:
        factory = BACKENDS[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name.lower(), BACKENDS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"unknown face detector backend {name!r} (choose from {backend_names()}){hint}") from None
    return factory(**kwargs)
