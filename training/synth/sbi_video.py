"""A manipulated video from a real one: every face self-blended (``training.synth.sbi``) and pasted back.

``deepfake synth sbi-video real.mp4 fake.mp4`` gives a quick, honest test fake for the scanner: the faces
carry the blending boundary, colour and sharpness mismatch a face swap leaves, and nothing else in the
video changes. It runs without torch (numpy + OpenCV + the ONNX face detector), so the README's first
command can make a fake on a fresh machine with only the ``cpu`` and ``demo`` extras.

Faces come from the inference face stage (``detector.faces.extract``), so the fakes hold the faces a scan
finds. Each face keeps the same alteration from frame to frame (the random draw is seeded per face track),
so the result does not flicker: per-frame noise would be an easier tell than the blending.
Faces are blended at ``size`` px in the aligned frame (the landmark template of ``detector.faces.align``)
and warped back with the inverse similarity transform, the mask feathered by the warp.

Finding faces in every frame makes this slow (the README's 4 s 720p demo clip: 9.4 s on 2 cores shared with a
training run, against 26 s with full-resolution detection on every frame before the face stage was used), so
``main`` reports progress on stderr: a redrawn line on a terminal, INFO log lines every 10 % otherwise.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import cv2
import numpy as np

from detector.faces.align import AlignSpec, align_face, alignment_matrix, transform_points
from detector.faces.extract import Face, FaceConfig, FaceExtractor
from detector.recipe import DetectionSpec

from .rewrite import ProgressFn, rewrite_faces
from .sbi import SBIConfig, self_blend

log = logging.getLogger(__name__)


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
                crf: int = 18, max_frames: int | None = None, progress: ProgressFn | None = None,
                extractor: FaceExtractor | None = None) -> dict[str, int]:
    """Write ``dst`` (its folder is created): ``src`` with every detected face self-blended.

    Faces come from the face stage (:class:`detector.faces.extract.FaceExtractor`, as a scan finds them), those
    the detector scores below ``min_score`` left alone. Returns frame and face counts. ``progress`` is called
    once before the first frame and after each one; ``max_frames`` stops early. ``extractor``: a face stage to
    reuse across videos (its ``min_score`` then rules; ``size`` is always the blending's).
    """
    extractor = extractor or FaceExtractor(FaceConfig(detection=DetectionSpec(min_score=min_score),
                                                      align=AlignSpec(size=size)))

    def blend(image: np.ndarray, faces: Sequence[Face]) -> np.ndarray:
        for face in faces:
            image, _ = blend_frame(image, np.asarray(face.landmarks), seed * 1000 + face.track_id, size=size)
        return image

    counts = rewrite_faces(src, dst, blend, extractor=extractor, crf=crf, max_frames=max_frames, progress=progress)
    return {"frames": counts.n_frames, "faces": counts.n_faces}


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
    import av

    from detector.errors import DetectorError

    args = get_args_parser().parse_args(argv)
    # Run as ``python -m``, nothing has configured logging; under ``deepfake`` this is a no-op.
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    progress = FrameProgress(args.src)
    log.info("loading the face detector")
    try:
        counts = blend_video(args.src, args.dst, seed=args.seed, size=args.size, progress=progress)
    except (DetectorError, av.error.FFmpegError, OSError) as exc:  # FFmpegError: the encoder or muxer failed
        progress.close()
        log.error("%s: cannot make a self-blended video: %s", args.src, exc)
        return 3
    progress.close()
    print(f"wrote {args.dst}: {counts['frames']} frames, {counts['faces']} faces self-blended")
    return 0 if counts["faces"] else 3


if __name__ == "__main__":
    raise SystemExit(main())
