"""What the user named on the command line, expanded into the inputs that scan and faces process one by one."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Input:
    """One thing to process: a file path, or a named input that failed before any file was opened."""

    path: str
    error: dict[str, str] | None = None


def expand_inputs(paths: Sequence[str], *, recursive: bool) -> list[Input]:
    """Directories become their media files (sorted) when ``recursive``; everything else stays as given.

    Every path named yields at least one ``Input``: a directory without media files yields a
    ``no_media_files`` error, and a directory (or one below it) that cannot be listed a ``permission_denied``
    (``unreadable_path`` for other failures) in its place, so no input the user named goes missing from the output
    and no folder is skipped in silence.
    """
    out: list[Input] = []
    for p in paths:
        if recursive and os.path.isdir(p):
            out.extend(_directory_inputs(p))
        else:
            out.append(Input(p))
    return out


def _directory_inputs(directory: str) -> list[Input]:
    from detector.errors import MediaPermissionError, NoMediaFilesError
    from detector.media import is_media_path
    from detector.media.paths import unreadable

    found: list[Input] = []

    def unlisted(exc: OSError) -> None:
        # os.walk skips a folder it cannot list unless told; as root nothing is unreadable, so the tests simulate it.
        where = exc.filename or directory
        error = (MediaPermissionError(f"permission denied: cannot list the directory {where}", path=where)
                 if isinstance(exc, PermissionError) else unreadable(Path(where), exc))
        found.append(Input(where, error.to_dict()))

    # followlinks=False: symlinked directories are not entered, so a link loop below cannot recurse forever.
    for root, _, names in os.walk(directory, onerror=unlisted):
        found.extend(Input(str(f)) for f in (Path(root) / name for name in names) if f.is_file() and is_media_path(f))
    if found:
        return sorted(found, key=lambda item: item.path)
    error = NoMediaFilesError(f"no media files under {directory}: none of its files has a video or image "
                              "extension", path=directory)
    return [Input(directory, error.to_dict())]
