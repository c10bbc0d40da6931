"""Paths before any decoder sees them: which names look like media, and what the file system says about a file
(missing, a directory, empty, unreadable), each as its own ``MediaError``."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from ..errors import (
    EmptyMediaError,
    IsADirectoryMediaError,
    MediaNotFoundError,
    MediaPermissionError,
    UnreadablePathError,
    UnsupportedMediaError,
)

VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".wmv", ".flv", ".mpg", ".mpeg",
                              ".ts", ".mts", ".m2ts", ".3gp", ".ogv", ".gif"})
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".bmp", ".avif",
                              ".tif", ".tiff", ".heic", ".heif", ".hif", ".jp2", ".j2k", ".j2c", ".jpf", ".jpx",
                              ".jxl"})
MEDIA_EXTENSIONS = VIDEO_EXTENSIONS | IMAGE_EXTENSIONS

# What ``read_head`` reads: ``sniff_image`` may need all of it to find a JPEG's size.
HEAD_BYTES = 1 << 16


def is_media_path(path: str | os.PathLike[str]) -> bool:
    """Whether the name claims a media extension (the bytes decide what it is; see :mod:`detector.sniff`)."""
    return Path(path).suffix.lower() in MEDIA_EXTENSIONS


def check_path(path: str | os.PathLike[str]) -> Path:
    """Classify a path before any decoder sees it; raise the matching ``MediaError``."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise MediaNotFoundError(f"no such file: {p}", path=str(p)) from None
    except PermissionError:
        raise MediaPermissionError(f"permission denied: {p}", path=str(p)) from None
    except OSError as exc:
        raise unreadable(p, exc) from None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryMediaError(f"is a directory, not a media file: {p}", path=str(p))
    if not stat.S_ISREG(st.st_mode):
        raise UnsupportedMediaError(f"not a regular file: {p}", path=str(p))
    if st.st_size == 0:
        raise EmptyMediaError(f"file is empty (0 bytes): {p}", path=str(p))
    if not os.access(p, os.R_OK):
        raise MediaPermissionError(f"permission denied: {p}", path=str(p))
    return p


def read_all(path: Path) -> bytes:
    """The whole of a file that passed :func:`check_path` (a still image, to check that it is whole)."""
    try:
        return path.read_bytes()
    except PermissionError:
        raise MediaPermissionError(f"permission denied: {path}", path=str(path)) from None
    except OSError as exc:
        raise unreadable(path, exc) from None


def read_head(path: Path) -> bytes:
    """The first ``HEAD_BYTES`` of a file that passed :func:`check_path`, for content sniffing."""
    try:
        with open(path, "rb") as f:
            return f.read(HEAD_BYTES)
    except PermissionError:
        raise MediaPermissionError(f"permission denied: {path}", path=str(path)) from None
    except OSError as exc:  # EIO on a failing disk, a file swapped for a loop since check_path
        raise unreadable(path, exc) from None


def unreadable(path: Path, exc: OSError) -> UnreadablePathError:
    """The error for a path the OS refuses to resolve or read."""
    # ELOOP's strerror ("Too many levels of symbolic links") does not say which link; name the cause plainly.
    reason = "a symlink loop" if exc.errno == errno.ELOOP else (exc.strerror or str(exc))
    return UnreadablePathError(f"cannot read {path}: {reason}", path=str(path))
