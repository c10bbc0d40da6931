"""Errors with stable codes.

Every error the library raises on purpose is a :class:`DetectorError` with a ``code`` that never changes
between releases (CLI JSON, audit databases and the HTTP service key on it). Single-item calls raise;
batch calls record ``{code, message}`` per item and go on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

T = TypeVar("T")


class DetectorError(Exception):
    """Base class. ``code`` is stable and machine-readable; the message is for people."""

    code: ClassVar[str] = "detector_error"

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class MediaError(DetectorError):
    """Something is wrong with an input file. Abstract: only its subclasses, each with a documented code, are
    raised (the README's error table lists every code; a test holds it to that)."""

    code = "media_error"


class MediaNotFoundError(MediaError):
    code = "not_found"


class IsADirectoryMediaError(MediaError):
    code = "is_directory"


class MediaPermissionError(MediaError):
    code = "permission_denied"


class UnreadablePathError(MediaError):
    """The path cannot be resolved or read: a symlink loop, a name too long, an I/O error of the disk."""

    code = "unreadable_path"


class NoMediaFilesError(MediaError):
    """A directory named as an input holds no media file, so it would otherwise leave no record at all."""

    code = "no_media_files"


class EmptyMediaError(MediaError):
    code = "empty_file"


class UnsupportedMediaError(MediaError):
    """The bytes are no container or image format we know (e.g. a text file named ``.mp4``), whatever the name."""

    code = "unsupported_media"


class UnsupportedCodecError(MediaError):
    """The container opened but no decoder exists for its video stream."""

    code = "unsupported_codec"


class NoVideoStreamError(MediaError):
    code = "no_video_stream"


class CorruptMediaError(MediaError):
    """Decoding failed part-way (truncated or damaged file)."""

    code = "corrupt_media"


class NoDecodableFramesError(MediaError):
    code = "no_frames"


class MediaTooLargeError(MediaError):
    """A frame has more pixels than allowed (decompression-bomb guard)."""

    code = "media_too_large"


class MediaTooLongError(MediaError):
    code = "media_too_long"


class ModelIntegrityError(DetectorError):
    """A model file is missing, corrupt, or its sha256 does not match the record."""

    code = "model_integrity"


class MissingExtraError(DetectorError, ImportError):
    """An optional dependency is missing; the message names the extra that installs it."""

    code = "missing_extra"

    def __init__(self, package: str, *, extra: str, hint: str | None = None) -> None:
        message = f"{package} is not installed. Install it with: pip install 'deepfake-detector[{extra}]'"
        if hint:
            message += f" ({hint})"
        super().__init__(message)
        self.package = package
        self.extra = extra


class ConfigError(DetectorError, ValueError):
    code = "invalid_config"


# -- the per-file error boundary -----------------------------------------------------------------------

INTERNAL_ERROR = "internal_error"


def file_error(exc: BaseException, path: str | None = None) -> dict[str, str]:
    """The ``{code, message}`` a failure on one file becomes, so that a batch goes on without it.

    :func:`attempt` applies it; every batch path goes through that. A :class:`DetectorError` is an expected problem
    with the input and keeps its stable code; anything else is a bug, reported as ``internal_error`` with its
    type and message (its traceback goes to the debug log).
    """
    if isinstance(exc, DetectorError):
        return exc.to_dict()
    import logging

    logging.getLogger("detector").debug("unexpected error on %s", path, exc_info=exc)
    return {"code": INTERNAL_ERROR, "message": f"{type(exc).__name__}: {exc}"}


@dataclass(frozen=True)
class Attempt(Generic[T]):
    """What one file's work gave: its ``value``, or the ``error`` record it failed with (and the exception, for a
    caller that logs bugs with their traceback)."""

    value: T | None
    error: dict[str, str] | None = None
    exception: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def attempt(path: str, work: Callable[..., T], /, *args: Any, **kwargs: Any) -> Attempt[T]:
    """The one per-file boundary: run ``work(*args, **kwargs)`` (everything done for the file at ``path``) and return
    its value, or its failure as a :func:`file_error` record. A broken file never ends a batch, and never yields a score.

    Used by ``Detector.scan_many`` and :meth:`detector.api.Detector.guarded` (hence the CLI, the audit, the HTTP
    service and the robustness harnesses); ``KeyboardInterrupt`` and ``SystemExit`` still stop the batch.
    """
    try:
        return Attempt(work(*args, **kwargs))
    except Exception as exc:  # noqa: BLE001 - the per-file boundary (tests/test_layout.py keeps it the only one)
        return Attempt(None, file_error(exc, path), exc)
