"""A demo clip made from a real, public-domain face photo that ships inside a dependency.

scikit-image bundles NASA's portrait of astronaut Eileen Collins (``skimage/data/astronaut.png``, public
domain). We pan and zoom over it to make a short video, so the README's first command and the test
suite have a real face to work on without downloading anything. Install with the ``demo`` extra.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from ..errors import MissingExtraError
from ..video_writer import VideoWriter


def skimage_photo(name: str = "astronaut.png") -> Path:
    """Path of a photo bundled with scikit-image (without importing scikit-image itself)."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError("scikit-image", extra="demo", hint="the demo clip is made from its astronaut photo")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / name
    if not path.is_file():
        raise MissingExtraError("scikit-image", extra="demo", hint=f"{path} is missing from the installation")
    return path


def load_photo(name: str = "astronaut.png") -> np.ndarray:
    """A bundled scikit-image photo as ``(H, W, 3)`` uint8 RGB."""
    from ..media import read_frames

    _, frames = read_frames(skimage_photo(name))
    return frames[0].image


def pan_zoom_frames(photo: np.ndarray, *, width: int, height: int, n_frames: int,
                    zoom: tuple[float, float] = (1.0, 1.35), pan: tuple[float, float] = (-0.08, 0.08)) -> list[np.ndarray]:
    """Frames of a slow zoom and horizontal pan over ``photo``, output ``width`` x ``height``."""
    ph, pw = photo.shape[:2]
    aspect = width / height
    frames = []
    for i in range(n_frames):
        a = i / max(1, n_frames - 1)
        z = zoom[0] + (zoom[1] - zoom[0]) * a
        # Crop window: as wide as the photo allows at this aspect, shrunk by the zoom factor.
        cw = min(pw, ph * aspect) / z
        ch = cw / aspect
        cx = pw / 2 + (pan[0] + (pan[1] - pan[0]) * a) * pw
        cy = ch / 2 + (ph - ch) * 0.1  # keep the head (upper part of the portrait) in frame
        cx = float(np.clip(cx, cw / 2, pw - cw / 2))
        sx, sy = width / cw, height / ch
        m = np.array([[sx, 0, width / 2 - sx * cx], [0, sy, height / 2 - sy * cy]], dtype=np.float64)
        frames.append(cv2.warpAffine(photo, m, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))
    return frames


def write_video(path: str | os.PathLike[str], frames: Iterable[np.ndarray], *, fps: int = 25, codec: str = "libx264",
                pix_fmt: str = "yuv420p", crf: int = 20) -> Path:
    """Encode RGB frames to a video file (odd sizes lose their last row/column; see :class:`VideoWriter`)."""
    with VideoWriter(path, fps, codec=codec, pix_fmt=pix_fmt, crf=crf) as writer:
        for image in frames:
            writer.write(image)
    return writer.path


def make_demo_clip(path: str | os.PathLike[str], *, width: int = 1280, height: int = 720, seconds: float = 4.0,
                   fps: int = 25) -> Path:
    """Write the demo clip (a pan/zoom over the astronaut photo) and return its path."""
    frames = pan_zoom_frames(load_photo(), width=width, height=height, n_frames=max(1, round(seconds * fps)))
    return write_video(path, frames, fps=fps)
