"""Encode RGB frames into a video file, one frame at a time: the writing side of :mod:`detector.media`.

Frames stream through, so memory stays flat however long the video (a face swap rewrites every frame of its
input). H.264 in 4:2:0 by default, what every player opens; x264 runs with ``-crf`` and the ``veryfast`` preset
(the speed preset affects file size, not the quality ``crf`` sets), without macroblock-tree rate control, so the
same frames always make the same file (see :meth:`VideoWriter._open_stream`).
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Self

import av
import numpy as np

from .errors import ConfigError

# Encoders given ``crf`` and ``preset``; others run with their own defaults.
_X264 = "libx264"


class VideoWriter:
    """A video file being written. Use it with ``with`` (or call :meth:`close`): closing flushes the encoder.

    The first frame fixes the output size, its sides rounded down to even numbers (4:2:0 chroma needs even
    sizes: an odd last row or column is dropped, as ffmpeg's ``trunc(iw/2)*2`` would, rather than failing in
    the encoder). Later frames are cut to that size.

    Example:
        >>> with VideoWriter("out.mp4", rate=25) as writer:  # doctest: +SKIP
        ...     for image in frames:
        ...         writer.write(image)

    Args:
        path: output file; its folder is created. The container follows the extension (``.mp4``, ``.mkv``...).
        rate: frames per second, exact (``Fraction(30000, 1001)``, as :attr:`MediaReader.frame_rate` gives it).
        codec: FFmpeg encoder name.
        pix_fmt: pixel format of the encoded stream.
        crf: x264 quality, lower is better (18 is visually lossless; x264's own default is 23).
        preset: x264 speed preset.
    """

    def __init__(self, path: str | os.PathLike[str], rate: Fraction | int = 25, *, codec: str = _X264,
                 pix_fmt: str = "yuv420p", crf: int = 18, preset: str = "veryfast") -> None:
        if not rate > 0:
            raise ConfigError(f"rate must be positive, got {rate}")
        self.path = Path(path)
        self.rate = Fraction(rate)
        self.codec, self.pix_fmt, self.crf, self.preset = codec, pix_fmt, crf, preset
        self.n_frames = 0
        self.closed = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._container = av.open(str(self.path), mode="w")
        self._stream: av.video.stream.VideoStream | None = None

    @property
    def size(self) -> tuple[int, int] | None:
        """``(width, height)`` of the encoded frames; ``None`` before the first frame."""
        return None if self._stream is None else (self._stream.width, self._stream.height)

    def write(self, image: np.ndarray) -> None:
        """Encode one ``(H, W, 3)`` uint8 RGB frame."""
        if self.closed:
            raise ValueError(f"{self.path} is closed")  # as a closed Python file says it
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ConfigError(f"frames must be (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}")
        if self._stream is None:
            self._stream = self._open_stream(image.shape[1] // 2 * 2, image.shape[0] // 2 * 2)
        w, h = self._stream.width, self._stream.height
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[:h, :w]), format="rgb24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.n_frames += 1

    def _open_stream(self, width: int, height: int) -> av.video.stream.VideoStream:
        if width < 2 or height < 2:
            raise ConfigError(f"frames must be at least 2 x 2 pixels, got {width} x {height} after rounding down to even sides")
        stream = self._container.add_stream(self.codec, rate=self.rate)
        stream.width, stream.height, stream.pix_fmt = width, height, self.pix_fmt
        if self.codec == _X264:
            # No macroblock-tree rate control: with it, x264 (PyAV 18.1's build) reads memory it never wrote when a
            # side is not a multiple of 32 (240 x 240, 320 x 180; not 256 x 240, 640 x 360), so the same frames gave
            # different files once other work had run in the process (an ONNX Runtime session, a decode), and a
            # seeded synthetic fake was not the same file twice. Without it: the same bytes every time (tested).
            stream.options = {"crf": str(self.crf), "preset": self.preset, "x264-params": "mbtree=0"}
        return stream

    def close(self) -> None:
        """Flush the encoder's delayed frames and close the file (again: nothing)."""
        if self.closed:
            return
        self.closed = True
        try:
            if self._stream is not None:
                for packet in self._stream.encode():
                    self._container.mux(packet)
        finally:
            self._container.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:  # the video is incomplete anyway: close without flushing, and let the error through
            self.closed = True
            self._container.close()
