"""Shared fixtures: small clips and images built from scikit-image's public-domain photos.

Nothing here reads ../shared/data; tests that do carry the ``data`` marker and skip when it is absent.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from detector.demo import load_photo, pan_zoom_frames, write_video

# albumentations (training tests) otherwise checks PyPI for updates at import.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("DEEPFAKE_SHARED_DATA", REPO.parent / "shared" / "data"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if SHARED_DATA.is_dir():
        return
    skip = pytest.mark.skip(reason=f"shared data not found at {SHARED_DATA}")
    for item in items:
        if "data" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (research data, never copied into the project); tests using it are marked ``data``."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    return load_photo("astronaut.png")


@pytest.fixture(scope="session")
def cameraman() -> np.ndarray:
    return load_photo("camera.png")


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session")
def demo_clip(clip_dir: Path, astronaut: np.ndarray) -> Path:
    """2 s, 25 fps, 640 x 360 pan/zoom over the astronaut: one person throughout."""
    frames = pan_zoom_frames(astronaut, width=640, height=360, n_frames=50)
    return write_video(clip_dir / "demo.mp4", frames, fps=25)


def write_frames(path: Path, frames: list[np.ndarray], *, fps: int = 25, codec: str = "libx264",
                 pix_fmt: str = "yuv420p", pts: list[int] | None = None, time_base: Fraction | None = None,
                 rotation: int | None = None, options: dict[str, str] | None = None) -> Path:
    """Encode frames with full control over timestamps, codec and rotation metadata."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        if options:
            stream.options = options
        if time_base is not None:
            stream.codec_context.time_base = time_base
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for i, image in enumerate(frames):
            fmt = "gray" if image.ndim == 2 else "rgb24"
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format=fmt)
            if pts is not None:
                frame.pts = pts[i]
                frame.time_base = time_base
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def numbered_frames(n: int, size: tuple[int, int] = (64, 48)) -> list[np.ndarray]:
    """Frames whose brightness encodes their number: 20 + 8*(i % 25) on the left, 20 + 8*(i // 25) on the right.

    Steps of 8 survive lossy coding and YUV rounding; ``frame_number`` reads them back (up to 625 frames).
    """
    w, h = size
    frames = []
    for i in range(n):
        img = np.zeros((h, w, 3), np.uint8)
        img[:, : w // 2] = 20 + 8 * (i % 25)
        img[:, w // 2:] = 20 + 8 * (i // 25)
        frames.append(img)
    return frames


def frame_number(image: np.ndarray) -> int:
    w = image.shape[1]
    low = round((float(image[:, 2: w // 2 - 2].mean()) - 20) / 8)
    high = round((float(image[:, w // 2 + 2: -2].mean()) - 20) / 8)
    return high * 25 + low


@pytest.fixture(scope="session")
def video_writer():
    """The :func:`write_frames` helper, as a fixture (test modules are imported in importlib mode)."""
    return write_frames


@pytest.fixture(scope="session")
def numbered():
    return numbered_frames


@pytest.fixture(scope="session")
def read_number():
    return frame_number


@pytest.fixture(scope="session")
def shared_data_or_none() -> Path | None:
    return SHARED_DATA if SHARED_DATA.is_dir() else None
