"""A lip-sync-like fake from a real video: the lower face of every face re-synthesised from another moment of the clip.

Lip-sync tools (Wav2Lip, HyperLips) regenerate only the mouth region, at a low resolution (Wav2Lip's generator
works on 96 px faces), and paste it back into the real frame: the eyes, the head motion and the background stay
real, while the lips follow other audio. This makes the same kind of fake without a generator: the mouth and chin
of face track ``k`` at frame ``t`` come from the same track at frame ``t + d``, where the offset ``d`` is drawn
afresh for every second of the clip from ±[4, 20] frames, so the lips are out of step with the rest of the face
and with the sound. The lower face of frame ``t + d`` is

* warped onto frame ``t``'s face by the similarity transform between the two frames' nose and mouth corners,
* squeezed through a resolution bottleneck (shrunk to a 64 to 128 px face and back, drawn once per track, as a
  generator's output is soft against the real frame around it),
* colour-matched to the face it replaces (Reinhard, LAB mean and standard deviation over the mask), and
* blended through a soft mask over the lower face: below the nose line, cheek to cheek, down to the chin.

Frames whose face has no counterpart ``d`` frames away (nor ``-d``, tried at the ends of the clip) stay unchanged.
Every random draw is seeded by ``(seed, track, second)``, so a seed gives the same frames. Torch-free (numpy,
OpenCV and the ONNX face detector), like ``sbi_video``; the frame loop with its look-ahead window is
:func:`training.synth.rewrite.rewrite_faces_in_context`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from detector.errors import ConfigError
from detector.faces.align import AlignSpec, align_face, alignment_matrix, similarity_transform, transform_points
from detector.faces.extract import Face, FaceConfig, FaceExtractor
from detector.recipe import DetectionSpec

from .paste import paste_crop, reinhard_transfer
from .rewrite import FaceFrame, ProgressFn, rewrite_faces_in_context

# The five landmarks are left eye, right eye, nose, left and right mouth corner: the lower face is placed by the
# last three (the eyes would pull the mouth towards where the head, not the jaw, moved).
_LOWER = slice(2, 5)


@dataclass(frozen=True)
class MouthConfig:
    """How the mouths are re-synthesised.

    Attributes:
        offsets: the smallest and largest time offset in frames (either sign). 4: below that the lips are still
            nearly in sync (about 1/6 s at 25 fps); 20: within a second, so the mouth comes from the same phrase.
        segment_seconds: a new offset is drawn for every segment this long (a lip-sync fake drifts in and out of
            sync; one offset for the clip would be a constant delay).
        face_px: the range of face sizes (px, the aligned face's inner square) the lower face is shrunk to and
            back; Wav2Lip's generator works at 96.
        size: side of the aligned crop in which the lower face is cut, matched and blended.
        margin: that crop's margin (0.3, the classifier's: it keeps the chin).
    """

    offsets: tuple[int, int] = (4, 20)
    segment_seconds: float = 1.0
    face_px: tuple[int, int] = (64, 128)
    size: int = 256
    margin: float = 0.3

    def __post_init__(self) -> None:
        if not 1 <= self.offsets[0] <= self.offsets[1]:
            raise ConfigError(f"offsets must be 1 <= low <= high, got {self.offsets}")
        if not self.segment_seconds > 0:
            raise ConfigError(f"segment_seconds must be > 0, got {self.segment_seconds}")
        if not 8 <= self.face_px[0] <= self.face_px[1]:
            raise ConfigError(f"face_px must be 8 <= low <= high, got {self.face_px}")

    @property
    def spec(self) -> AlignSpec:
        return AlignSpec(size=self.size, margin=self.margin)


@lru_cache(maxsize=8)
def lower_face_mask(spec: AlignSpec) -> np.ndarray:
    """The blending mask in aligned-crop pixels, ``(S, S)`` float32 in [0, 1], read-only.

    The lower half of an ellipse whose top edge is the line just below the nose, as wide as the cheeks (0.9 of the
    eye distance either side of the mouth) and reaching the chin (0.6 of the eye-to-mouth distance below the
    mouth), Gaussian-blurred: 1 over the mouth and chin, fading to 0 before the eyes.
    """
    t = spec.template()
    eyes, mouth, nose = (t[0] + t[1]) / 2, (t[3] + t[4]) / 2, t[2]
    eye_mouth = float(np.linalg.norm(mouth - eyes))
    eye_dist = float(np.linalg.norm(t[1] - t[0]))
    sigma = 0.08 * eye_mouth  # crop_mask's feather, so both synthesisers' seams are alike
    top = float(nose[1]) + sigma
    axes = (0.9 * eye_dist, float(mouth[1]) + 0.6 * eye_mouth - top)
    s = spec.size
    # Drawn at 4x with sub-pixel shift (as crop_mask): the edge stays accurate at small crop sizes.
    big = np.zeros((4 * s, 4 * s), np.uint8)
    cv2.ellipse(big, (round(float(mouth[0]) * 16), round(top * 16)), (round(axes[0] * 16), round(axes[1] * 16)),
                0, 0, 180, 255, thickness=-1, lineType=cv2.LINE_AA, shift=2)
    mask = cv2.resize(big, (s, s), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    mask = cv2.GaussianBlur(mask, (0, 0), sigma)
    mask = np.clip(mask / max(float(mask.max()), 1e-6), 0.0, 1.0)
    mask.flags.writeable = False  # cached: shared by every call
    return mask


def mouth_frame(frame: np.ndarray, landmarks: np.ndarray | Sequence[Sequence[float]], source: np.ndarray,
                source_landmarks: np.ndarray | Sequence[Sequence[float]], *, face_px: int,
                config: MouthConfig | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Replace the lower face of one face of ``frame`` by the lower face of ``source`` (another frame).

    Args:
        frame: ``(H, W, 3)`` uint8 RGB, the frame to change.
        landmarks: the face's five landmarks in ``frame`` pixels.
        source: ``(H', W', 3)`` uint8 RGB, the frame the lower face comes from.
        source_landmarks: the same person's five landmarks in ``source`` pixels.
        face_px: the face size the pasted region is shrunk to and back (the resolution bottleneck).
        config: crop size and margin (the rest of it is for :func:`resync_video`).

    Returns:
        ``(new_frame, mask)``; ``mask`` is float32 in frame pixels (1 = pixel fully from ``source``).
    """
    config = config or MouthConfig()
    spec = config.spec
    lm = np.asarray(landmarks, np.float64).reshape(5, 2)
    src_lm = np.asarray(source_landmarks, np.float64).reshape(5, 2)
    to_crop = alignment_matrix(lm, spec)
    target = align_face(frame, lm, spec)
    # Source pixels -> this frame's pixels (nose and mouth onto nose and mouth) -> this face's crop. Handing
    # align_face the landmarks that composite maps onto the template makes it use exactly that transform, with its
    # anti-aliasing for large faces.
    to_frame = similarity_transform(src_lm[_LOWER], lm[_LOWER])
    composite = (np.vstack([to_crop, [0.0, 0.0, 1.0]]) @ np.vstack([to_frame, [0.0, 0.0, 1.0]]))[:2]
    pseudo = transform_points(spec.template(), cv2.invertAffineTransform(composite))
    lower = align_face(source, pseudo, spec)
    small = round(face_px * (1 + 2 * spec.margin))  # face_px is the inner face square; the crop adds the margin
    if small < spec.size:
        lower = cv2.resize(cv2.resize(lower, (small, small), interpolation=cv2.INTER_AREA), (spec.size, spec.size),
                           interpolation=cv2.INTER_LINEAR)
    mask = lower_face_mask(spec)
    matched = reinhard_transfer(lower.astype(np.float32) / 255.0, target.astype(np.float32) / 255.0, mask)
    return paste_crop(frame, matched, mask, to_crop)


def draw_offset(seed: int, track: int, segment: int, config: MouthConfig) -> int:
    """The time offset (frames, never 0) for ``track`` in ``segment``: ± a whole number in ``config.offsets``."""
    rng = np.random.default_rng([seed % 2**63, track, segment, 0])
    low, high = config.offsets
    return int(rng.integers(low, high + 1)) * (1 if rng.random() < 0.5 else -1)


def draw_face_px(seed: int, track: int, config: MouthConfig) -> int:
    """The bottleneck's face size for ``track``, one per track (a size that changed per frame would flicker)."""
    rng = np.random.default_rng([seed % 2**63, track, 1])
    low, high = config.face_px
    return int(rng.integers(low, high + 1))


def resync_frame(frame: FaceFrame, window: Mapping[int, FaceFrame], *, seed: int,
                 config: MouthConfig) -> tuple[np.ndarray, int]:
    """Every face of ``frame`` with the lower face of its track from ``d`` frames away (``window`` must reach
    ``config.offsets[1]`` frames either side). Returns the new image and how many faces were changed."""
    image, changed = frame.image, 0
    for face in frame.faces:
        segment = int(face.timestamp // config.segment_seconds)
        d = draw_offset(seed, face.track_id, segment, config)
        found = next((f for f in (_same_track(window.get(frame.index + k), face) for k in (d, -d)) if f), None)
        if found is None:
            continue  # the track is not d frames away on either side: leave this face real
        source, source_face = found
        image, _ = mouth_frame(image, face.landmarks, source.image, source_face.landmarks,
                               face_px=draw_face_px(seed, face.track_id, config), config=config)
        changed += 1
    return image, changed


def _same_track(other: FaceFrame | None, face: Face) -> tuple[FaceFrame, Face] | None:
    if other is None:
        return None
    match = next((f for f in other.faces if f.track_id == face.track_id), None)
    return (other, match) if match is not None else None


def resync_video(src: str | Path, dst: str | Path, *, seed: int = 0, min_score: float = 0.9, crf: int = 18,
                 max_frames: int | None = None, progress: ProgressFn | None = None,
                 extractor: FaceExtractor | None = None, config: MouthConfig | None = None) -> dict[str, int]:
    """Write ``dst`` (its folder is created): ``src`` with the lower face of every face track taken from other
    moments of the clip.

    Faces come from the face stage (:class:`detector.faces.extract.FaceExtractor`, as a scan finds them), those
    the detector scores below ``min_score`` left alone. Returns ``{"frames": written, "faces": faces changed}``.
    ``extractor``: a face stage to reuse across videos (its ``min_score`` then rules).

    Example:
        >>> resync_video("real.mp4", "lip_sync.mp4", seed=1)  # doctest: +SKIP
        {'frames': 100, 'faces': 93}
    """
    config = config or MouthConfig()
    extractor = extractor or FaceExtractor(FaceConfig(detection=DetectionSpec(min_score=min_score)))
    changed = 0

    def edit(frame: FaceFrame, window: Mapping[int, FaceFrame]) -> np.ndarray:
        nonlocal changed
        image, n = resync_frame(frame, window, seed=seed, config=config)
        changed += n
        return image

    counts = rewrite_faces_in_context(src, dst, edit, context=config.offsets[1], extractor=extractor, crf=crf,
                                      max_frames=max_frames, progress=progress)
    return {"frames": counts.n_frames, "faces": changed}
