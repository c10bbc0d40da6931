"""Swapping the faces of a whole video with a trained model."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from detector.faces.extract import Face, FaceExtractor

from ..rewrite import rewrite_faces
from .blend import swap_frame
from .config import Direction, check_direction
from .model import AESwapModel


@dataclass(frozen=True)
class SwapVideoResult:
    """What :func:`swap_video` wrote."""

    path: Path
    n_frames: int
    n_swapped_frames: int
    n_faces: int

    def to_dict(self) -> dict[str, object]:
        return {"path": str(self.path), "n_frames": self.n_frames, "n_swapped_frames": self.n_swapped_frames,
                "n_faces": self.n_faces}


def swap_video(src_video: str | os.PathLike[str], model: AESwapModel, out_path: str | os.PathLike[str], *,
               direction: Direction = "a2b", max_frames: int | None = None, extractor: FaceExtractor | None = None,
               colour_transfer: bool = True, crf: int = 18) -> SwapVideoResult:
    """Swap every detected face in every frame of a video and write the result (H.264 MP4).

    Faces come from the face stage (default ONNX MTCNN, tracked); each is swapped with :func:`swap_frame`.
    Frames without a face are written unchanged; rate and rotation follow the source
    (:func:`training.synth.rewrite.rewrite_faces`).

    Args:
        src_video: the video whose faces (identity A for ``a2b``) are replaced.
        model: a trained model.
        out_path: output file (``.mp4``).
        direction: ``a2b`` or ``b2a``.
        max_frames: stop after this many frames.
        extractor: face stage to use (default: ``FaceExtractor()``).
        colour_transfer: see :func:`swap_frame`.
        crf: x264 quality (lower is better; 18 is visually lossless).
    """
    check_direction(direction)
    out_path = Path(out_path)

    def swap(image: np.ndarray, faces: Sequence[Face]) -> np.ndarray:
        for face in faces:
            image, _ = swap_frame(image, np.asarray(face.landmarks), model, direction=direction,
                                  colour_transfer=colour_transfer)
        return image

    counts = rewrite_faces(src_video, out_path, swap, extractor=extractor or FaceExtractor(), max_frames=max_frames,
                           crf=crf)
    return SwapVideoResult(out_path, counts.n_frames, counts.n_edited_frames, counts.n_faces)
