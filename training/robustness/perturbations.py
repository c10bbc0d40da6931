"""Everyday degradations of media, as the field measures them.

The seven types and five levels are DeeperForensics-1.0's (Jiang et al., CVPR 2020; the parameter table of its
``perturbation/add_distortion_to_video.py``, ``get_distortion_parameter``), re-implemented on RGB uint8
frames:

==================  ==========================================  =====================================
type                parameter, levels 1..5                      what it does
==================  ==========================================  =====================================
saturation (CS)     0.4, 0.3, 0.2, 0.1, 0.0                     YCbCr chroma scaled toward neutral
contrast (CC)       0.85, 0.725, 0.6, 0.475, 0.35               every pixel value multiplied
block (BW)          16, 32, 48, 64, 80                          that many grey 8x8 blocks per 256 px of the
                                                                shorter side, at random places
noise (GNC)         0.001, 0.002, 0.005, 0.01, 0.05             white Gaussian noise of this variance in
                                                                YCbCr on the unit scale
blur (GB)           7, 9, 13, 17, 21                            Gaussian blur, that kernel, sigma = k / 6
pixelation (JPEG)   2, 3, 4, 5, 6                               shrink by that factor and back (the
                                                                paper calls it JPEG compression)
video (VC)          30, 32, 35, 38, 40                          H.264 re-encode at that CRF (videos only)
==================  ==========================================  =====================================

Beside them, what platforms and messengers do (``REAL_WORLD``): JPEG at a given quality, a resize to 360 or
240 lines, grey, a horizontal flip.

``dfdc`` is what the DFDC data set's augmentations did to its test videos (Dolhansky et al., "The DeepFake
Detection Challenge (DFDC) Dataset", 2020, section on augmentations): frame rate cut to 15 fps, resolution cut
to 1/4 and the encoding quality lowered. The paper states no codec settings, so the levels are ours, mildest
first, each an H.264 re-encode of the whole video (videos only, as ``video``):

=====  ===========  ==============  ====  ===================================================
level  frame rate   sides           CRF   why
=====  ===========  ==============  ====  ===================================================
1      15 fps       unchanged       23    the rate cut alone, at x264's default quality
2      15 fps       halved          28    + DFDC's 1/4 resolution (1/4 of the area: each side /2)
3      15 fps       halved          33    + a visibly worse encode
=====  ===========  ==============  ====  ===================================================

A source already at or under 15 fps keeps its rate and every frame. ``Mix`` chains two or three frame types
(DeeperForensics-1.0's "mixed" distortions); ``random_mixes`` draws them. Every perturbation is deterministic
given its seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

# DeeperForensics-1.0's parameters per level 1..5 (its names in brackets in the module docstring).
DEEPERFORENSICS: dict[str, tuple[float, ...]] = {
    "saturation": (0.4, 0.3, 0.2, 0.1, 0.0),
    "contrast": (0.85, 0.725, 0.6, 0.475, 0.35),
    "block": (16, 32, 48, 64, 80),
    "noise": (0.001, 0.002, 0.005, 0.01, 0.05),
    "blur": (7, 9, 13, 17, 21),
    "pixelation": (2, 3, 4, 5, 6),
    "video": (30, 32, 35, 38, 40),
}
# Real-world steps, four levels each, mildest first: JPEG quality; lines after a resize; on/off ones repeat.
REAL_WORLD: dict[str, tuple[float, ...]] = {
    "jpeg": (90, 70, 50, 30),
    "resize": (720, 480, 360, 240),
    "grey": (1,),
    "flip": (1,),
}


@dataclass(frozen=True)
class Reencoding:
    """One H.264 re-encode of a whole video: at ``crf``, at most ``fps`` frames a second, each side x ``scale``."""

    crf: int
    fps: float | None = None  # None: the source's rate
    scale: float = 1.0

    @property
    def label(self) -> str:
        parts = [] if self.fps is None else [f"{self.fps:g} fps"]
        parts += [] if self.scale == 1.0 else [f"sides x{self.scale:g}"]
        return ", ".join([*parts, f"CRF {self.crf}"])


# DFDC's re-encodings per level, mildest first (module docstring). DFDC's "1/4 of the original resolution" is
# read as a quarter of the pixels, so each side is halved (a quarter of each side would be 1/16 of the area).
DFDC: tuple[Reencoding, ...] = (Reencoding(23, 15.0), Reencoding(28, 15.0, 0.5), Reencoding(33, 15.0, 0.5))
# "dfdc" is listed by its CRFs, so levels count and check as for the other types (its param spells all three).
PARAMETERS: dict[str, tuple[float, ...]] = {**DEEPERFORENSICS, **REAL_WORLD, "dfdc": tuple(r.crf for r in DFDC)}
# Types that need the whole video re-encoded (the others act on decoded frames).
CODEC_TYPES = frozenset({"video", "dfdc"})
# What random_mixes draws from: DeeperForensics' types that act on frames.
MIX_TYPES = tuple(k for k in DEEPERFORENSICS if k not in CODEC_TYPES)
BLOCK_PX = 8  # DeeperForensics' block side
BLOCK_GREY = 128


@dataclass(frozen=True)
class Perturbation:
    """One type at one level (1-based, as in the paper). ``param`` is the table's value."""

    kind: str
    level: int

    def __post_init__(self) -> None:
        if self.kind not in PARAMETERS:
            raise ValueError(f"unknown perturbation {self.kind!r} (choose from {sorted(PARAMETERS)})")
        if not 1 <= self.level <= len(PARAMETERS[self.kind]):
            raise ValueError(f"{self.kind} has levels 1..{len(PARAMETERS[self.kind])}, got {self.level}")

    @property
    def param(self) -> float | str:
        """The table's value; for ``dfdc``, whose levels have three settings, their description."""
        if self.kind == "dfdc":
            return DFDC[self.level - 1].label
        return PARAMETERS[self.kind][self.level - 1]

    @property
    def reencoding(self) -> Reencoding | None:
        """What a codec type does to the file; ``None`` for frame types."""
        if self.kind == "video":
            return Reencoding(int(self.param))
        return DFDC[self.level - 1] if self.kind == "dfdc" else None

    @property
    def name(self) -> str:
        return f"{self.kind}-{self.level}"

    @property
    def needs_reencode(self) -> bool:
        return self.kind in CODEC_TYPES

    def apply(self, rgb: np.ndarray, *, seed: int = 0) -> np.ndarray:
        """The perturbed copy of one ``(H, W, 3)`` uint8 RGB frame (codec types: the frame unchanged)."""
        rgb = np.ascontiguousarray(rgb, np.uint8)
        fn = _FRAME_FUNCTIONS.get(self.kind)
        return rgb.copy() if fn is None else fn(rgb, self.param, np.random.default_rng(seed))


@dataclass(frozen=True)
class Mix:
    """Two or three frame types applied one after another (DeeperForensics-1.0's "mixed" distortions).

    It stands wherever a :class:`Perturbation` does (the harness, the summary); ``level`` is its strongest
    component's, ``kind`` is ``"mix"``, so its rows stay out of the per-level means of the seven types.
    """

    parts: tuple[Perturbation, ...]
    kind: ClassVar[str] = "mix"
    needs_reencode: ClassVar[bool] = False
    reencoding: ClassVar[None] = None

    def __post_init__(self) -> None:
        if not 2 <= len(self.parts) <= 3:
            raise ValueError(f"a mix has 2 or 3 parts, got {len(self.parts)}")
        kinds = [p.kind for p in self.parts]
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"a mix's types must differ, got {kinds}")
        if any(p.needs_reencode for p in self.parts):
            raise ValueError(f"a mix chains frame types only, got {kinds}")

    @property
    def level(self) -> int:
        return max(p.level for p in self.parts)

    @property
    def param(self) -> str:
        return " + ".join(f"{p.kind} {p.param:g}" for p in self.parts)

    @property
    def name(self) -> str:
        return "+".join(p.name for p in self.parts)

    def apply(self, rgb: np.ndarray, *, seed: int = 0) -> np.ndarray:
        """Each part in order, each with ``seed`` (the parts' generators are their own, so sharing a seed
        couples nothing that matters: block positions and noise values are drawn differently)."""
        for part in self.parts:
            rgb = part.apply(rgb, seed=seed)
        return rgb


# Anything the harness can run: one type at one level, or a mix of them.
Degradation = Perturbation | Mix


def random_mixes(n: int, seed: int = 0) -> list[Mix]:
    """``n`` different mixes, each of 2 or 3 distinct types of ``MIX_TYPES`` at random levels, in random order."""
    rng = np.random.default_rng(seed)
    mixes: dict[str, Mix] = {}
    for _ in range(100 * n):  # thousands of mixes exist: duplicates are rare and only redrawn
        if len(mixes) == n:
            break
        kinds = rng.choice(MIX_TYPES, size=int(rng.integers(2, 4)), replace=False)
        mix = Mix(tuple(Perturbation(str(k), int(rng.integers(1, len(PARAMETERS[k]) + 1))) for k in kinds))
        mixes.setdefault(mix.name, mix)
    if len(mixes) < n:
        raise ValueError(f"could not draw {n} different mixes")
    return list(mixes.values())


def all_perturbations(kinds: tuple[str, ...] | None = None, levels: tuple[int, ...] | None = None
                      ) -> list[Perturbation]:
    """Every type (or ``kinds``) at every level it has (or those of ``levels`` it has)."""
    out = []
    for kind in kinds or tuple(PARAMETERS):
        n = len(PARAMETERS[kind]) if kind in PARAMETERS else 0
        if n == 0:
            raise ValueError(f"unknown perturbation {kind!r} (choose from {sorted(PARAMETERS)})")
        out.extend(Perturbation(kind, lv) for lv in range(1, n + 1) if levels is None or lv in levels)
    return out


# -- the frame functions -------------------------------------------------------------------------------


def _to_ycrcb(rgb: np.ndarray) -> np.ndarray:
    """Y, Cr, Cb on the unit scale (OpenCV's float conversion: chroma centred at 0.5)."""
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2YCrCb)


def _from_ycrcb(ycc: np.ndarray) -> np.ndarray:
    rgb = cv2.cvtColor(ycc.astype(np.float32), cv2.COLOR_YCrCb2RGB) * 255.0
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def saturation(rgb: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
    ycc = _to_ycrcb(rgb)
    ycc[..., 1:] = 0.5 + (ycc[..., 1:] - 0.5) * factor
    return _from_ycrcb(ycc)


def contrast(rgb: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
    return np.clip(rgb.astype(np.float32) * factor, 0, 255).astype(np.uint8)


def block(rgb: np.ndarray, per_256: float, rng: np.random.Generator) -> np.ndarray:
    out = rgb.copy()
    h, w = rgb.shape[:2]
    # DeeperForensics' count: (shorter side // 256) * param, so a frame under 256 px gets none.
    for _ in range(min(h, w) // 256 * int(per_256)):
        y = int(rng.integers(0, max(1, h - BLOCK_PX)))
        x = int(rng.integers(0, max(1, w - BLOCK_PX)))
        out[y:y + BLOCK_PX, x:x + BLOCK_PX] = BLOCK_GREY
    return out


def noise(rgb: np.ndarray, variance: float, rng: np.random.Generator) -> np.ndarray:
    ycc = _to_ycrcb(rgb)
    ycc += rng.normal(0.0, np.sqrt(variance), ycc.shape).astype(np.float32)
    return _from_ycrcb(ycc)


def blur(rgb: np.ndarray, kernel: float, rng: np.random.Generator) -> np.ndarray:
    k = int(kernel)
    return cv2.GaussianBlur(rgb, (k, k), k / 6.0)


def pixelation(rgb: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
    h, w = rgb.shape[:2]
    f = int(factor)
    small = cv2.resize(rgb, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def jpeg(rgb: np.ndarray, quality: float, rng: np.random.Generator) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def resize(rgb: np.ndarray, lines: float, rng: np.random.Generator) -> np.ndarray:
    """Shrink to ``lines`` rows (never enlarge), as a platform's 360p / 240p rendition does."""
    h, w = rgb.shape[:2]
    if h <= lines:
        return rgb.copy()
    size = (max(1, round(w * lines / h)), int(lines))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def grey(rgb: np.ndarray, _: float, rng: np.random.Generator) -> np.ndarray:
    return np.repeat(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)


def flip(rgb: np.ndarray, _: float, rng: np.random.Generator) -> np.ndarray:
    return np.ascontiguousarray(rgb[:, ::-1])


_FRAME_FUNCTIONS = {"saturation": saturation, "contrast": contrast, "block": block, "noise": noise, "blur": blur,
                    "pixelation": pixelation, "jpeg": jpeg, "resize": resize, "grey": grey, "flip": flip}
