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
    ``no_media_files`` error, so no input the user named goes missing from the output.
    """
    out: list[Input] = []
    for p in paths:
        if recursive and os.path.isdir(p):
            out.extend(_directory_inputs(p))
        else:
            out.append(Input(p))
    return out


def _directory_inputs(directory: str) -> list[Input]:
    from detector.errors import NoMediaFilesError
    from detector.media import is_media_path

    # rglob does not descend into symlinked directories, so a link loop below cannot recurse forever.
    found = sorted(str(f) for f in Path(directory).rglob("*") if f.is_file() and is_media_path(f))
    if found:
        return [Input(f) for f in found]
    error = NoMediaFilesError(f"no media files under {directory}: none of its files has a video or image "
                              "extension", path=directory)
    return [Input(directory, error.to_dict())]
