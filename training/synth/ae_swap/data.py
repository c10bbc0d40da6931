"""Training data: aligned crops of one identity, from the inference face stage.

The crops use a tighter margin (0.15) than the classifier's 0.3 because only the inner face is swapped.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from detector.errors import ConfigError
from detector.faces.align import AlignSpec
from detector.faces.extract import FaceExtractor

from ...collect import collect_face_crops


def collect_crops(video_paths: Sequence[str | os.PathLike[str]], *, size: int = 64, frames_per_video: int = 64,
                  margin: float = 0.15, extractor: FaceExtractor | None = None) -> np.ndarray:
    """Aligned crops of one identity: the main face track of each video (or image).

    Args:
        video_paths: videos (or photos) of the same person.
        size: crop side in pixels (the autoencoder's ``size``).
        frames_per_video: frames sampled evenly from each video.
        margin: alignment margin (the autoencoder's ``margin``).
        extractor: a face stage to reuse; its alignment is replaced by ``AlignSpec(size, margin)``.

    Returns:
        ``(N, size, size, 3)`` uint8 RGB.

    Raises:
        detector.errors.MediaError: an input cannot be read.
        ConfigError: no face was found in any input.
    """
    collected = collect_face_crops(video_paths, align=AlignSpec(size=size, margin=margin),
                                   frames_per_video=frames_per_video, extractor=extractor)
    if len(collected.crops) == 0:
        raise ConfigError(f"no face found in {len(video_paths)} input(s)")
    return collected.crops
