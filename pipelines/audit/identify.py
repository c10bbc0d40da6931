"""What a found file is (by its bytes, not its name) and its content hash.

A file is a scan candidate when its first bytes look like a container or image we know
(:func:`detector.sniff.sniff_container`), or when its name claims a media extension: a video renamed
``.bin`` is still scanned, and a text file named ``.mp4`` is handed to the detector, which records the
stable ``unsupported_media`` error instead of this module guessing. Everything else is ``skipped`` with
reason ``not_media`` and is not hashed (a 4 GB zip in the archive costs one 64 KiB read).

The content hash is SHA-256 of the whole file, streamed in 1 MiB chunks: the same digest as
``../shared/data/MANIFEST.csv`` and the model cards, so ledgers can be cross-checked with them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from detector.media import is_media_path
from detector.sniff import sniff_container

from .walk import FoundFile

# sniff_image needs up to 64 KiB: a JPEG's size marker can sit behind its EXIF block.
HEAD_BYTES = 64 * 1024
CHUNK_BYTES = 1 << 20

NOT_MEDIA = "not_media"


@dataclass(frozen=True)
class Identity:
    """Exactly one of ``content_sha256`` (a scan candidate), ``skip_reason`` or ``error`` is set."""

    container: str | None = None
    content_sha256: str | None = None
    skip_reason: str | None = None
    error: tuple[str, str] | None = None


def identify(found: FoundFile) -> Identity | None:
    """Sniff and hash one file; ``None`` when it vanished since the walk saw it."""
    if found.error is not None:
        return Identity(error=found.error)
    try:
        with open(found.path, "rb") as f:
            head = f.read(HEAD_BYTES)
            container = sniff_container(head)
            if container is None and not is_media_path(found.path):
                return Identity(skip_reason=NOT_MEDIA)
            digest = hashlib.sha256(head)
            while chunk := f.read(CHUNK_BYTES):
                digest.update(chunk)
    except FileNotFoundError:
        return None
    except PermissionError as exc:
        return Identity(error=("permission_denied", f"cannot read: {exc.strerror}"))
    except IsADirectoryError:  # replaced by a directory since the walk
        return None
    except OSError as exc:  # EIO on a failing disk, a stale network mount...
        return Identity(error=("read_error", f"cannot read: {exc.strerror or exc}"))
    return Identity(container=container, content_sha256=digest.hexdigest())
