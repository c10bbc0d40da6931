"""Real face crops to train on, from the inference face stage or folders of aligned crops."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from detector.faces.align import AlignSpec

from ...collect import CollectedCrops, collect_face_crops


def load_crops(paths: Sequence[str | os.PathLike[str]], *, size: int, limit: int | None = None, frames: int = 32,
               margin: float = 0.3) -> np.ndarray:
    """Aligned face crops to train on.

    Args:
        paths: face images or videos (run through the face stage, exactly as inference crops them; every face
            found, not only the main person's), or directories of already-aligned crop images (png/jpg/...; only
            resized to ``size``).
        size: side of the returned crops.
        limit: stop after this many crops.
        frames: frames sampled per video.
        margin: crop margin (see :class:`detector.faces.align.AlignSpec`); keep it equal to the detector's.

    Returns:
        ``(N, size, size, 3)`` uint8 RGB; ``N`` may be 0. Inputs the face stage refuses (``DetectorError``) are
        logged and skipped.
    """
    return collect_training_crops(paths, size=size, limit=limit, frames=frames, margin=margin).crops


def collect_training_crops(paths: Sequence[str | os.PathLike[str]], *, size: int, limit: int | None, frames: int,
                           margin: float) -> CollectedCrops:
    """:func:`load_crops`, also naming the inputs that failed."""
    return collect_face_crops(paths, align=AlignSpec(size=size, margin=margin), frames_per_video=frames,
                              main_track_only=False, limit=limit, skip_errors=True)
