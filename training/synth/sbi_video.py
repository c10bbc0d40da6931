"""A manipulated video from a real one: every face self-blended (``training.synth.sbi``) and pasted back.

``deepfake synth sbi-video real.mp4 fake.mp4`` gives a quick, honest test fake for the scanner: the faces
carry the blending boundary, colour and sharpness mismatch a face swap leaves, and nothing else in the
video changes. It runs without torch (numpy + OpenCV + the ONNX face detector), so the README's first
command can make a fake on a fresh machine with only the ``cpu`` and ``demo`` extras.

Each face keeps the same alteration from frame to frame (the random draw is seeded per face slot, largest
face first), so the result does not flicker: per-frame noise would be an easier tell than the blending.
Faces are blended at ``size`` px in the aligned frame (the landmark template of ``detector.faces.align``)
and warped back with the inverse similarity transform, the mask feathered by the warp.

Face detection on every frame makes this slow (40-50 s for the README's 4 s 720p demo clip on 2 cores), so
``main`` reports progress on stderr: a redrawn line on a terminal, INFO log lines every 10 % otherwise.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import TextIO

import av
import cv2
import numpy as np

from detector.faces.align import AlignSpec, align_face, alignment_matrix, transform_points
from detector.faces.mtcnn import MTCNN

from .sbi import SBIConfig, self_blend

log = logging.getLogger(__name__)

# Called with (frames done, frame count or None when the container does not say); first with 0 frames done.
ProgressFn = Callable[[int, int | None], None]


def blend_frame(frame: np.ndarray, landmarks: np.ndarray, seed: int, *, size: int = 256,
                config: SBIConfig | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Self-blend one face of ``frame`` (5 landmarks in frame pixels) in place of the original.

    Returns ``(new_frame, mask)``; ``mask`` is float32 in frame pixels (1 = fully blended pixel).
    """
    spec = AlignSpec(size=size)
    matrix = alignment_matrix(landmarks, spec)
    crop = align_face(frame, landmarks, spec)
    fake, mask = self_blend(crop, transform_points(np.asarray(landmarks, np.float64), matrix),
                            np.random.default_rng(seed), config)
    h, w = frame.shape[:2]
    inverse = cv2.invertAffineTransform(matrix)
    back = cv2.warpAffine(fake, inverse, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    alpha = cv2.warpAffine(mask.astype(np.float32), inverse, (w, h), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    out = frame.astype(np.float32) * (1 - alpha[..., None]) + back.astype(np.float32) * alpha[..., None]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), alpha


def blend_video(src: str | Path, dst: str | Path, *, seed: int = 0, size: int = 256, min_score: float = 0.9,
                crf: int = 18, progress: ProgressFn | None = None) -> dict[str, int]:
    """Write ``dst`` (its folder is created): ``src`` with every detected face self-blended.

    Returns frame and face counts. ``progress`` is called once before the first frame and after each one.
    """
    detector = MTCNN()
    frames = faces = 0
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(src)) as inp, av.open(str(dst), mode="w") as out:
        vin = inp.streams.video[0]
        rate = vin.average_rate or Fraction(25)
        total = _frame_count(vin, rate)
        if progress is not None:
            progress(0, total)
        vout = out.add_stream("libx264", rate=rate)
        vout.width, vout.height = vin.codec_context.width // 2 * 2, vin.codec_context.height // 2 * 2
        vout.pix_fmt = "yuv420p"
        vout.options = {"crf": str(crf), "preset": "veryfast"}
        for av_frame in inp.decode(vin):
            image = av_frame.to_ndarray(format="rgb24")[:vout.height, :vout.width]
            [dets] = detector.detect([np.ascontiguousarray(image)])
            for slot, (score, lm) in enumerate(zip(dets.scores, dets.landmarks)):
                if score >= min_score:
                    image, _ = blend_frame(image, lm, seed * 1000 + slot, size=size)
                    faces += 1
            for packet in vout.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
            frames += 1
            if progress is not None:
                progress(frames, total)
        for packet in vout.encode():
            out.mux(packet)
    return {"frames": frames, "faces": faces}


def _frame_count(stream: av.video.stream.VideoStream, rate: Fraction) -> int | None:
    """Frames the stream says it holds, else estimated from its duration; ``None`` when neither is known."""
    if stream.frames:
        return int(stream.frames)
    if stream.duration is not None and stream.time_base is not None:
        return max(1, round(float(stream.duration * stream.time_base * rate)))
    return None


class FrameProgress:
    """Progress of ``blend_video`` on stderr: a redrawn line on a terminal, else an INFO log line per 10 %
    (a log file or CI output gets a few readable lines, not hundreds of carriage returns)."""

    def __init__(self, src: str | Path, stream: TextIO | None = None) -> None:
        self.src = str(src)
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.next_tenth = 1

    def __call__(self, done: int, total: int | None) -> None:
        if done == 0:
            log.info("%s: detecting and self-blending faces in %s frames", self.src, total or "all")
        elif self.tty:
            of = f"/{total} ({100 * done // total}%)" if total else ""
            self.stream.write(f"\r\033[Kframe {done}{of}")
            self.stream.flush()
        elif total and done * 10 >= self.next_tenth * total:
            log.info("blended %d of %d frames (%d%%)", done, total, 100 * done // total)
            self.next_tenth = done * 10 // total + 1
        elif not total and done % 100 == 0:
            log.info("blended %d frames", done)

    def close(self) -> None:
        if self.tty:
            self.stream.write("\r\033[K")  # the result line then starts on a clean line
            self.stream.flush()


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepfake synth sbi-video",
                                     description="Write a copy of a real video with every face self-blended.")
    parser.add_argument("src", type=Path, help="real video")
    parser.add_argument("dst", type=Path, help="output .mp4")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=256, help="aligned size the blending happens at")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from detector.errors import DetectorError

    args = get_args_parser().parse_args(argv)
    # Run as ``python -m``, nothing has configured logging; under ``deepfake`` this is a no-op.
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    progress = FrameProgress(args.src)
    log.info("loading the face detector")
    try:
        counts = blend_video(args.src, args.dst, seed=args.seed, size=args.size, progress=progress)
    except (DetectorError, av.error.FFmpegError, OSError) as exc:
        progress.close()
        log.error("%s: cannot make a self-blended video: %s", args.src, exc)
        return 3
    progress.close()
    print(f"wrote {args.dst}: {counts['frames']} frames, {counts['faces']} faces self-blended")
    return 0 if counts["faces"] else 3


if __name__ == "__main__":
    raise SystemExit(main())
