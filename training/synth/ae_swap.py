"""The original "deepfakes" face swap (2017): one shared encoder, one decoder per identity.

An autoencoder is trained on aligned face crops of two people, A and B. The encoder is shared, so it
has to describe both faces in the same terms (pose, expression, lighting); each decoder learns to paint
its own person from that description. Swapping A to B is then: encode a face of A, decode it with B's
decoder. Inputs are randomly warped during training while the targets are not, so the decoders learn
to produce a clean face from a distorted description, which is what they get at swap time.

Architecture, at ``size`` = 64 and ``width`` = w (the 2017 script used w = 128 at 64 px; w = 32 trains in
minutes on a CPU): four 5 x 5 stride-2 convolutions (w, 2w, 4w, 8w channels, LeakyReLU 0.1) down to
``size / 16``, a dense bottleneck of ``latent_dim``, a dense layer back to ``size / 16`` and one
pixel-shuffle upscale to ``size / 8`` (4w); each decoder upscales three times (2w, w, w/2) and ends in a
5 x 5 convolution with a sigmoid. L1 reconstruction loss, Adam (lr 5e-5, beta1 0.5 in the original).

The swap puts the decoded face back into the frame the way the original tool did: Reinhard colour
transfer (mean and standard deviation in LAB) onto the target face, the inverse of the alignment
transform, and a soft mask (an ellipse fitted to the five landmarks, shrunk and blurred) so the seam
fades out. That seam, the colour mismatch and the low-resolution, slightly blurry inner face are the
traces a detector learns from these fakes.

Faces come from the inference face stage (:mod:`detector.faces`): detection, tracking and landmarks are
the same as at test time; the crops use a tighter margin (0.15) than the classifier's 0.3 because only
the inner face is swapped.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import av
import cv2
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from detector.config import reject_unknown_keys
from detector.errors import ConfigError, CorruptMediaError, DetectorError
from detector.faces.align import AlignSpec, align_face, alignment_matrix
from detector.faces.extract import Face, FaceConfig, FaceExtractor
from detector.media import Frame, Sampling, open_media

from ..device import resolve_device

log = logging.getLogger(__name__)

Direction = Literal["a2b", "b2a"]

_CONFIG_FILE = "config.json"
_WEIGHTS_FILE = "model.pt"
_FORMAT = "ae-swap-v1"


@dataclass(frozen=True)
class AESwapConfig:
    """Settings of one autoencoder training run (saved next to the weights).

    Attributes:
        size: side of the aligned crops and of the autoencoder's input/output; a multiple of 16, >= 32.
        margin: alignment margin of the crops (see :class:`detector.faces.align.AlignSpec`); tight, since only
            the inner face is swapped.
        latent_dim: length of the shared bottleneck vector (1024 in the original at w = 128).
        width: channels of the first encoder convolution; deeper layers double it.
        steps: optimiser steps (each sees one batch of A and one of B). The default takes ~4 min at 64 px on
            one busy CPU core (0.25 s/step measured) and gives blurry but face-shaped swaps; sharper ones need
            10k+ steps (a GPU), the original trained for tens of thousands.
        batch_size: crops of each identity per step.
        lr: Adam learning rate. Higher than the original 5e-5 so short runs get somewhere.
        warp: standard deviation of the random warp, in normalised coordinates ([-1, 1] across the crop); the
            original's 5 px over a 160 px grid is 0.0625.
        rotate: largest random rotation in degrees (original: 10).
        zoom: largest random zoom, as a fraction (original: 0.05).
        shift: largest random shift, as a fraction of the crop (original: 0.05).
        flip: probability of a left-right flip (original: 0.4).
        log_every: steps per entry of the loss history (each entry averages its steps).
        seed: seeds weight initialisation, batches and augmentation (runs are repeatable on CPU; CUDA
            convolutions may differ in the last bits).
        device: ``auto`` (CUDA if available), ``cpu`` or ``cuda``.
    """

    size: int = 64
    margin: float = 0.15
    latent_dim: int = 256
    width: int = 32
    steps: int = 1000
    batch_size: int = 16
    lr: float = 2e-4
    warp: float = 0.0625
    rotate: float = 10.0
    zoom: float = 0.05
    shift: float = 0.05
    flip: float = 0.4
    log_every: int = 50
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.size < 32 or self.size % 16:
            raise ConfigError(f"size must be a multiple of 16 and >= 32, got {self.size}")
        if self.width < 2 or self.width % 2:
            raise ConfigError(f"width must be an even number >= 2, got {self.width}")
        for name in ("latent_dim", "steps", "batch_size", "log_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ConfigError(f"lr must be > 0, got {self.lr}")
        if not 0.0 <= self.flip <= 1.0:
            raise ConfigError(f"flip must be a probability, got {self.flip}")
        if min(self.warp, self.rotate, self.zoom, self.shift) < 0:
            raise ConfigError("warp, rotate, zoom and shift must be >= 0")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"device must be auto, cpu or cuda, got {self.device!r}")
        AlignSpec(size=self.size, margin=self.margin)  # validates the margin

    @property
    def align(self) -> AlignSpec:
        """The crop definition the model was trained on (and must be swapped with)."""
        return AlignSpec(size=self.size, margin=self.margin)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AESwapConfig:
        reject_unknown_keys(cls, data, what="AESwapConfig")
        return cls(**data)


# -- model ----------------------------------------------------------------------------------------------------


def _down(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 5, stride=2, padding=2), nn.LeakyReLU(0.1))


def _up(cin: int, cout: int) -> nn.Sequential:
    # Convolution to 4x the channels + pixel shuffle (the original's "upscale" block): no transposed-conv
    # checkerboard of its own.
    return nn.Sequential(nn.Conv2d(cin, cout * 4, 3, padding=1), nn.LeakyReLU(0.1), nn.PixelShuffle(2))


class Encoder(nn.Module):
    """Shared encoder: crops ``(N, 3, S, S)`` in [0, 1] -> feature maps ``(N, 4w, S/8, S/8)``."""

    def __init__(self, config: AESwapConfig) -> None:
        super().__init__()
        w = config.width
        self.side = config.size // 16
        self.channels = 8 * w
        self.convs = nn.Sequential(_down(3, w), _down(w, 2 * w), _down(2 * w, 4 * w), _down(4 * w, 8 * w))
        flat = self.channels * self.side * self.side
        self.bottleneck = nn.Linear(flat, config.latent_dim)
        self.expand = nn.Linear(config.latent_dim, flat)
        self.upscale = _up(8 * w, 4 * w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.convs(x).flatten(1)
        h = self.expand(self.bottleneck(h))
        return self.upscale(h.view(-1, self.channels, self.side, self.side))


class Decoder(nn.Module):
    """One identity's decoder: ``(N, 4w, S/8, S/8)`` -> crops ``(N, 3, S, S)`` in [0, 1]."""

    def __init__(self, config: AESwapConfig) -> None:
        super().__init__()
        w = config.width
        self.ups = nn.Sequential(_up(4 * w, 2 * w), _up(2 * w, w), _up(w, w // 2))
        self.out = nn.Conv2d(w // 2, 3, 5, padding=2)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.out(self.ups(h)))


class AESwapModel(nn.Module):
    """Shared encoder + decoders A and B."""

    def __init__(self, config: AESwapConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.decoder_a = Decoder(config)
        self.decoder_b = Decoder(config)

    def forward(self, x: torch.Tensor, identity: Literal["a", "b"]) -> torch.Tensor:
        """Encode ``x`` and decode it as ``identity``."""
        decoder = self.decoder_a if identity == "a" else self.decoder_b
        return decoder(self.encoder(x))

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @torch.inference_mode()
    def convert(self, crops: np.ndarray, direction: Direction = "a2b") -> np.ndarray:
        """Swap aligned crops: ``(N, S, S, 3)`` uint8 RGB -> ``(N, S, S, 3)`` float32 RGB in [0, 1].

        ``a2b`` decodes with B's decoder (faces of A come out as B), ``b2a`` with A's.
        """
        _check_direction(direction)
        crops = np.asarray(crops)
        if crops.ndim == 3:
            crops = crops[None]
        _check_crops(crops, self.config.size, "crops")
        was_training = self.training
        self.eval()
        try:
            x = _to_tensor(crops, self.device)
            y = self(x, "b" if direction == "a2b" else "a")
        finally:
            self.train(was_training)
        return y.permute(0, 2, 3, 1).float().cpu().numpy()


def _check_direction(direction: str) -> None:
    if direction not in ("a2b", "b2a"):
        raise ConfigError(f"direction must be 'a2b' or 'b2a', got {direction!r}")


def _check_crops(crops: np.ndarray, size: int, name: str) -> None:
    if crops.ndim != 4 or crops.shape[1:] != (size, size, 3) or crops.dtype != np.uint8:
        raise ConfigError(f"{name} must be (N, {size}, {size}, 3) uint8, got {crops.shape} {crops.dtype}")
    if len(crops) == 0:
        raise ConfigError(f"{name} is empty")


def _to_tensor(crops: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(crops)).to(device).permute(0, 3, 1, 2).float().div_(255.0)


def build_model(config: AESwapConfig) -> AESwapModel:
    """A freshly initialised model; the weights depend only on ``config.seed``."""
    # fork_rng: seed the initialisation without changing the caller's global torch RNG state.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return AESwapModel(config)


# -- training -------------------------------------------------------------------------------------------------


def warp_batch(x: torch.Tensor, config: AESwapConfig, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The original method's augmentation: a random similarity transform (+ flip) and a random warp on top.

    Returns ``(warped_input, target)``: both share the rotation, zoom, shift and flip; only the input is
    warped, by a smooth displacement field (a 5 x 5 grid of Gaussian offsets, bicubically interpolated).
    Random numbers come from ``generator`` (on the CPU) so runs repeat on any device.
    """
    n, _, h, w = x.shape
    angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(config.rotate)
    scale = 1 + (torch.rand(n, generator=generator) * 2 - 1) * config.zoom
    shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * config.shift * 2  # normalised coords span 2
    flip = torch.where(torch.rand(n, generator=generator) < config.flip, -1.0, 1.0)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos * flip, -sin, shift[:, 0]], 1),
                         torch.stack([sin * flip, cos, shift[:, 1]], 1)], 1)
    offsets = torch.randn(n, 2, 5, 5, generator=generator) * config.warp
    theta, offsets = theta.to(x.device), offsets.to(x.device)
    grid = F.affine_grid(theta, [n, 3, h, w], align_corners=False)
    field = F.interpolate(offsets, size=(h, w), mode="bicubic", align_corners=True).permute(0, 2, 3, 1)
    target = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    warped = F.grid_sample(x, grid + field, mode="bilinear", padding_mode="border", align_corners=False)
    return warped, target


@dataclass(frozen=True)
class LossRecord:
    """Mean L1 losses over the ``log_every`` steps up to ``step``."""

    step: int
    loss_a: float
    loss_b: float
    seconds: float

    @property
    def loss(self) -> float:
        return self.loss_a + self.loss_b

    def to_dict(self) -> dict[str, float]:
        return {"step": self.step, "loss_a": round(self.loss_a, 6), "loss_b": round(self.loss_b, 6),
                "loss": round(self.loss, 6), "seconds": round(self.seconds, 3)}


def train_autoencoder(crops_a: np.ndarray, crops_b: np.ndarray, config: AESwapConfig | None = None, *,
                      on_log: Callable[[LossRecord], None] | None = None) -> tuple[AESwapModel, list[LossRecord]]:
    """Train the shared-encoder autoencoder on crops of identity A and identity B.

    Args:
        crops_a: ``(N, S, S, 3)`` uint8 RGB aligned crops of A (see :func:`collect_crops`), S = ``config.size``.
        crops_b: the same for B.
        config: hyper-parameters; the default trains 64 px crops on the CPU in a few minutes.
        on_log: called with every history entry as it is made (progress output).

    Returns:
        ``(model, history)``: the trained model (in eval mode, on the configured device) and one
        :class:`LossRecord` per ``log_every`` steps (the last one may average fewer).
    """
    config = config or AESwapConfig()
    crops_a, crops_b = np.asarray(crops_a), np.asarray(crops_b)
    _check_crops(crops_a, config.size, "crops_a")
    _check_crops(crops_b, config.size, "crops_b")
    device = resolve_device(config.device)
    model = build_model(config).to(device)
    # Both sets are small (hundreds of 64 px crops): keep them on the device and index batches there.
    data = {"a": _to_tensor(crops_a, device), "b": _to_tensor(crops_b, device)}
    generator = torch.Generator().manual_seed(config.seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(0.5, 0.999))
    history: list[LossRecord] = []
    sums = {"a": 0.0, "b": 0.0}
    counted = 0
    start = time.perf_counter()
    model.train()
    for step in range(1, config.steps + 1):
        losses = {}
        for identity in ("a", "b"):
            idx = torch.randint(len(data[identity]), (config.batch_size,), generator=generator)
            warped, target = warp_batch(data[identity][idx.to(device)], config, generator)
            losses[identity] = F.l1_loss(model(warped, identity), target)
        optimiser.zero_grad(set_to_none=True)
        (losses["a"] + losses["b"]).backward()
        optimiser.step()
        for identity in ("a", "b"):
            sums[identity] += float(losses[identity].detach())
        counted += 1
        if step % config.log_every == 0 or step == config.steps:
            record = LossRecord(step, sums["a"] / counted, sums["b"] / counted, time.perf_counter() - start)
            history.append(record)
            if on_log is not None:
                on_log(record)
            sums, counted = {"a": 0.0, "b": 0.0}, 0
    model.eval()
    return model, history


# -- saving ---------------------------------------------------------------------------------------------------


def save_model(model: AESwapModel, out_dir: str | os.PathLike[str],
               history: Sequence[LossRecord] = ()) -> Path:
    """Write ``model.pt`` (state dict) and ``config.json`` (config, crop definition, loss history) to ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save(state, out / _WEIGHTS_FILE)
    meta = {"format": _FORMAT, "config": asdict(model.config), "align": model.config.align.to_dict(),
            "history": [r.to_dict() for r in history]}
    (out / _CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return out


def load_model(model_dir: str | os.PathLike[str], *, device: str = "auto") -> AESwapModel:
    """Load a model written by :func:`save_model` onto ``device`` (``auto``, ``cpu`` or ``cuda``), in eval mode."""
    path = Path(model_dir)
    try:
        meta = json.loads((path / _CONFIG_FILE).read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path} is not an ae-swap model folder (no {_CONFIG_FILE})") from None
    if meta.get("format") != _FORMAT:
        raise ConfigError(f"{path / _CONFIG_FILE}: format {meta.get('format')!r}, expected {_FORMAT!r}")
    config = AESwapConfig.from_dict({**meta["config"], "device": device})
    model = AESwapModel(config)
    model.load_state_dict(torch.load(path / _WEIGHTS_FILE, map_location="cpu", weights_only=True))
    return model.to(resolve_device(device)).eval()


# -- data -----------------------------------------------------------------------------------------------------


def _main_track(faces: Sequence[Face]) -> list[Face]:
    """Faces of the track seen most often (ties: the larger faces), i.e. the video's main person."""
    by_track: dict[int, list[Face]] = {}
    for face in faces:
        by_track.setdefault(face.track_id, []).append(face)
    if not by_track:
        return []
    best = max(by_track.values(), key=lambda fs: (len(fs), float(np.mean([f.quality.size_px for f in fs]))))
    return best


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
    spec = AlignSpec(size=size, margin=margin)
    if extractor is None:
        extractor = FaceExtractor(FaceConfig(align=spec))
    elif extractor.config.align != spec:
        # Same detector (and backend), different crop definition: rebuilding the detector is the slow part.
        extractor = FaceExtractor(replace(extractor.config, align=spec), detector=extractor.detector)
    crops: list[np.ndarray] = []
    for path in video_paths:
        result = extractor.extract(path, sampling=Sampling(num_frames=frames_per_video))
        faces = _main_track(result.faces)
        log.info("%s: %d faces in the main track of %d sampled frames", path, len(faces), result.n_frames)
        crops.extend(f.crop for f in faces)
    if not crops:
        raise ConfigError(f"no face found in {len(video_paths)} input(s)")
    return np.stack(crops)


# -- swapping -------------------------------------------------------------------------------------------------


def crop_mask(spec: AlignSpec) -> np.ndarray:
    """The blending mask in aligned-crop pixels, ``(S, S)`` float32 in [0, 1].

    An ellipse fitted to the five template landmarks, from the forehead above the brows to the chin and
    across the cheeks, shrunk by its blur radius and Gaussian-blurred, so it reaches 1 over the eyes, nose
    and mouth and fades to 0 before the jaw line and the crop border.
    """
    t = spec.template()
    eyes, mouth = (t[0] + t[1]) / 2, (t[3] + t[4]) / 2
    eye_mouth = float(np.linalg.norm(mouth - eyes))
    eye_dist = float(np.linalg.norm(t[1] - t[0]))
    sigma = 0.08 * eye_mouth
    centre = (eyes + mouth) / 2 - np.array([0.0, 0.15 * eye_mouth])
    # Erosion by ~2 sigma keeps the blurred edge inside the face outline (the ellipse would reach the jaw).
    axes = (1.25 * eye_dist - 2 * sigma, 1.25 * eye_mouth - 2 * sigma)
    s = spec.size
    # Drawn at 4x with sub-pixel shift so the ellipse edge is accurate at small sizes (32 px).
    big = np.zeros((4 * s, 4 * s), np.uint8)
    cv2.ellipse(big, (round(centre[0] * 16), round(centre[1] * 16)), (round(axes[0] * 16), round(axes[1] * 16)),
                0, 0, 360, 255, thickness=-1, lineType=cv2.LINE_AA, shift=2)
    mask = cv2.resize(big, (s, s), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    mask = cv2.GaussianBlur(mask, (0, 0), sigma)
    return np.clip(mask / max(float(mask.max()), 1e-6), 0.0, 1.0)


def reinhard_transfer(source: np.ndarray, target: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Give ``source`` the per-channel LAB mean and standard deviation of ``target`` (Reinhard et al. 2001).

    Args:
        source: ``(H, W, 3)`` float32 RGB in [0, 1] (the decoded face).
        target: ``(H, W, 3)`` float32 RGB in [0, 1] (the face it replaces).
        weights: ``(H, W)`` where the statistics are taken (the blending mask).
    """
    src = cv2.cvtColor(source.astype(np.float32), cv2.COLOR_RGB2LAB).reshape(-1, 3)
    tgt = cv2.cvtColor(target.astype(np.float32), cv2.COLOR_RGB2LAB).reshape(-1, 3)
    w = weights.reshape(-1, 1).astype(np.float64)
    total = float(w.sum())
    if total < 1e-6:
        return source
    stats = []
    for lab in (src, tgt):
        mean = (lab * w).sum(0) / total
        std = np.sqrt(((lab - mean) ** 2 * w).sum(0) / total)
        stats.append((mean, std))
    (ms, ss), (mt, st) = stats
    # A flat decoded face (early training) has std ~0: cap the gain instead of amplifying noise.
    gain = np.minimum(st / np.maximum(ss, 1e-3), 4.0)
    out = ((src - ms) * gain + mt).astype(np.float32).reshape(source.shape)
    return np.clip(cv2.cvtColor(out, cv2.COLOR_LAB2RGB), 0.0, 1.0)


def swap_frame(frame_rgb: np.ndarray, landmarks5: np.ndarray | Sequence[Sequence[float]], model: AESwapModel, *,
               direction: Direction = "a2b", spec: AlignSpec | None = None,
               colour_transfer: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Replace one face in a frame by the model's swap of it.

    Args:
        frame_rgb: ``(H, W, 3)`` uint8 RGB.
        landmarks5: the face's five landmarks in frame pixels (as the face stage gives them).
        model: a trained :class:`AESwapModel`.
        direction: ``a2b`` (the face is A, paint B) or ``b2a``.
        spec: crop definition; defaults to the model's (it must match what the model was trained on).
        colour_transfer: match the swapped face's LAB statistics to the original face.

    Returns:
        ``(swapped, mask)``: the blended ``(H, W, 3)`` uint8 frame and the ``(H, W)`` float32 blending mask in
        [0, 1] (0 where the frame is untouched).
    """
    _check_direction(direction)
    frame = np.asarray(frame_rgb)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ConfigError(f"frame must be (H, W, 3) uint8 RGB, got {frame.shape} {frame.dtype}")
    spec = spec or model.config.align
    if spec.size != model.config.size:
        raise ConfigError(f"crop size {spec.size} does not match the model's {model.config.size}")
    lm = np.asarray(landmarks5, np.float64).reshape(5, 2)
    h, w = frame.shape[:2]
    m = alignment_matrix(lm, spec)
    crop = align_face(frame, lm, spec)
    fake = model.convert(crop[None], direction)[0]
    cmask = crop_mask(spec)
    if colour_transfer:
        fake = reinhard_transfer(fake, crop.astype(np.float32) / 255.0, cmask)

    # Only the frame region the crop covers is touched: warp back into that box, not the whole frame.
    inv = cv2.invertAffineTransform(m)
    s = spec.size
    corners = np.array([[0, 0, 1], [s, 0, 1], [0, s, 1], [s, s, 1]], np.float64) @ inv.T
    x0, y0 = (int(np.clip(np.floor(corners[:, i].min()) - 1, 0, lim)) for i, lim in ((0, w), (1, h)))
    x1, y1 = (int(np.clip(np.ceil(corners[:, i].max()) + 1, 0, lim)) for i, lim in ((0, w), (1, h)))
    mask = np.zeros((h, w), np.float32)
    if x1 <= x0 or y1 <= y0:
        return frame.copy(), mask
    # crop = A @ frame_xy + b, frame_xy = roi_xy + (x0, y0)  =>  crop = A @ roi_xy + (A @ (x0, y0) + b).
    m_roi = m.copy()
    m_roi[:, 2] = m[:, :2] @ np.array([x0, y0], np.float64) + m[:, 2]
    size = (x1 - x0, y1 - y0)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    face = cv2.warpAffine(fake, m_roi, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(cmask, m_roi, size, flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    alpha = np.clip(alpha, 0.0, 1.0)
    alpha[alpha < 1e-3] = 0.0  # interpolation dust: leave those pixels exactly as they were
    roi = frame[y0:y1, x0:x1].astype(np.float32)
    blended = roi * (1.0 - alpha[..., None]) + face * 255.0 * alpha[..., None]
    out = frame.copy()
    out[y0:y1, x0:x1] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
    mask[y0:y1, x0:x1] = alpha
    return out, mask


class _VideoWriter:
    """Streaming H.264 writer (``detector.outputs.demo.write_video`` needs every frame in memory at once)."""

    def __init__(self, path: Path, rate: Fraction, *, crf: int = 18) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._container = av.open(str(path), mode="w")
        self._rate = rate
        self._crf = crf
        self._stream: Any = None

    def write(self, image: np.ndarray) -> None:
        # yuv420p needs even sides: drop a last odd row/column (as ffmpeg's trunc(iw/2)*2 would).
        h, w = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
        if self._stream is None:
            self._stream = self._container.add_stream("libx264", rate=self._rate)
            self._stream.width, self._stream.height, self._stream.pix_fmt = w, h, "yuv420p"
            self._stream.options = {"crf": str(self._crf), "preset": "veryfast"}
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[:h, :w]), format="rgb24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if self._stream is not None and exc_type is None:
                for packet in self._stream.encode():
                    self._container.mux(packet)
        finally:
            self._container.close()


class _VideoReader:
    """Every frame of a video, in order (a swap rewrites all of them; ``detector.media`` samples by time)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        with open_media(path) as media:  # validates the file with the library's errors, and reads the rotation
            info = media.info
        if info.kind != "video":
            raise ConfigError(f"{path} is a still image, not a video")
        self._rotation = info.rotation
        self._container = av.open(str(path), mode="r", metadata_errors="ignore")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self.rate = Fraction(self._stream.average_rate or self._stream.guessed_rate or 25)

    def frames(self, max_frames: int | None = None) -> Iterator[Frame]:
        path = self._container.name
        ordinal = -1
        try:
            for ordinal, frame in enumerate(self._container.decode(self._stream)):
                if max_frames is not None and ordinal >= max_frames:
                    return
                image = frame.to_ndarray(format="rgb24")
                if self._rotation:
                    # Same convention as detector.media: FFmpeg's angle is counter-clockwise, like np.rot90.
                    image = np.ascontiguousarray(np.rot90(image, k=(self._rotation // 90) % 4))
                timed = frame.pts is not None and frame.time_base is not None
                t = float(frame.pts * frame.time_base) if timed else float(ordinal / self.rate)
                yield Frame(index=ordinal, timestamp=t, image=image)
        except av.error.FFmpegError as exc:
            raise CorruptMediaError(f"decoding failed in {path} after {ordinal + 1} frames: {exc}", path=path) from None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._container.close()


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
    Frames without a face are written unchanged. Frames stream through: memory does not grow with length.

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
    _check_direction(direction)
    if max_frames is not None and max_frames < 1:
        raise ConfigError(f"max_frames must be >= 1, got {max_frames}")
    extractor = extractor or FaceExtractor()
    out_path = Path(out_path)
    # The face stage batches frames and yields faces in frame order, so a frame can be written once a face
    # of a later frame (or the end of the stream) shows that all its faces are in.
    pending: deque[Frame] = deque()
    faces_of: dict[int, list[Face]] = {}
    counts = {"frames": 0, "swapped": 0, "faces": 0}

    with _VideoReader(src_video) as reader, _VideoWriter(out_path, reader.rate, crf=crf) as writer:
        def source() -> Iterator[Frame]:
            for frame in reader.frames(max_frames):
                pending.append(frame)
                yield frame

        def flush(before: int | None) -> None:
            while pending and (before is None or counts["frames"] < before):
                image = pending.popleft().image
                faces = faces_of.pop(counts["frames"], [])
                for face in faces:
                    image, _ = swap_frame(image, np.asarray(face.landmarks), model, direction=direction,
                                          colour_transfer=colour_transfer)
                writer.write(image)
                counts["frames"] += 1
                counts["swapped"] += bool(faces)
                counts["faces"] += len(faces)

        for face in extractor.iter_faces(source()):
            flush(face.sample)
            faces_of.setdefault(face.sample, []).append(face)
        flush(None)
    if counts["frames"] == 0:
        raise ConfigError(f"no frames decoded from {src_video}")
    return SwapVideoResult(out_path, counts["frames"], counts["swapped"], counts["faces"])


# -- CLI ------------------------------------------------------------------------------------------------------


def preview_grid(model: AESwapModel, crops_a: np.ndarray, crops_b: np.ndarray, n: int = 8) -> np.ndarray:
    """Rows: A, A reconstructed, A as B, B, B reconstructed, B as A (``n`` columns), uint8 RGB."""
    rows = []
    for crops, own, other in ((crops_a, "b2a", "a2b"), (crops_b, "a2b", "b2a")):
        picked = crops[np.linspace(0, len(crops) - 1, min(n, len(crops))).round().astype(int)]
        # Decoding with one's own decoder is the "other" direction's decoder: b2a decodes with A's.
        rows.append(picked)
        for direction in (own, other):
            rows.append(np.clip(model.convert(picked, direction) * 255 + 0.5, 0, 255).astype(np.uint8))
    return np.concatenate([np.concatenate(list(r), axis=1) for r in rows], axis=0)


_THREADS_HELP = ("torch CPU threads (0: torch's default, one per core); on a machine busy with other jobs, 1 can "
                 "be several times faster, since OpenMP's waiting threads spin against the other jobs")


def get_args_parser() -> argparse.ArgumentParser:
    defaults = AESwapConfig()
    parser = argparse.ArgumentParser(prog="deepfake synth ae-swap", description="The original 'deepfakes' face "
                                     "swap: train a shared-encoder autoencoder on two people, then swap faces in "
                                     "a video.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = sub.add_parser("train", help="train the autoencoder on videos of two people",
                           description="Collect aligned crops of person A and person B with the face stage and "
                                       "train the autoencoder. Writes model.pt, config.json, preview.png.")
    train.add_argument("--a", nargs="+", required=True, metavar="VIDEO", help="videos (or photos) of person A")
    train.add_argument("--b", nargs="+", required=True, metavar="VIDEO", help="videos (or photos) of person B")
    train.add_argument("--out", type=Path, required=True, help="model folder")
    train.add_argument("--steps", type=int, default=defaults.steps)
    train.add_argument("--size", type=int, default=defaults.size, help="crop side, a multiple of 16")
    train.add_argument("--margin", type=float, default=defaults.margin, help="alignment margin of the crops")
    train.add_argument("--width", type=int, default=defaults.width, help="channels of the first conv layer")
    train.add_argument("--latent-dim", type=int, default=defaults.latent_dim)
    train.add_argument("--batch-size", type=int, default=defaults.batch_size)
    train.add_argument("--lr", type=float, default=defaults.lr)
    train.add_argument("--frames", type=int, default=64, help="frames sampled per video")
    train.add_argument("--log-every", type=int, default=defaults.log_every)
    train.add_argument("--seed", type=int, default=defaults.seed)
    train.add_argument("--device", default=defaults.device, help="auto, cpu or cuda")
    train.add_argument("--threads", type=int, default=0, help=_THREADS_HELP)

    swap = sub.add_parser("swap", help="swap the faces of a video with a trained model",
                          description="Replace every detected face of the video (person A for a2b) with the "
                                      "model's other person; frames without a face are copied.")
    swap.add_argument("--model", type=Path, required=True, help="folder written by 'train'")
    swap.add_argument("--video", type=Path, required=True, help="input video")
    swap.add_argument("--out", type=Path, required=True, help="output video (.mp4)")
    swap.add_argument("--direction", choices=("a2b", "b2a"), default="a2b")
    swap.add_argument("--max-frames", type=int, help="stop after this many frames")
    swap.add_argument("--no-colour-transfer", action="store_true", help="blend the decoded colours as they are")
    swap.add_argument("--device", default="auto", help="auto, cpu or cuda")
    swap.add_argument("--threads", type=int, default=0, help=_THREADS_HELP)
    return parser


def _cmd_train(args: argparse.Namespace) -> int:
    config = AESwapConfig(size=args.size, margin=args.margin, latent_dim=args.latent_dim, width=args.width,
                          steps=args.steps, batch_size=args.batch_size, lr=args.lr, log_every=args.log_every,
                          seed=args.seed, device=args.device)
    extractor = FaceExtractor(FaceConfig(align=config.align))
    crops = {}
    for name, paths in (("A", args.a), ("B", args.b)):
        crops[name] = collect_crops(paths, size=config.size, frames_per_video=args.frames, margin=config.margin,
                                    extractor=extractor)
        print(f"person {name}: {len(crops[name])} face crops from {len(paths)} input(s)")

    def progress(record: LossRecord) -> None:
        print(f"step {record.step}/{config.steps}  L1 A {record.loss_a:.4f}  B {record.loss_b:.4f}  "
              f"({record.seconds:.0f} s)")

    model, history = train_autoencoder(crops["A"], crops["B"], config, on_log=progress)
    save_model(model, args.out, history)
    preview = preview_grid(model, crops["A"], crops["B"])
    cv2.imwrite(str(args.out / "preview.png"), cv2.cvtColor(preview, cv2.COLOR_RGB2BGR))
    print(f"model in {args.out} (device {resolve_device(config.device)}, final L1 {history[-1].loss:.4f})")
    return 0


def _cmd_swap(args: argparse.Namespace) -> int:
    model = load_model(args.model, device=args.device)
    result = swap_video(args.video, model, args.out, direction=args.direction, max_frames=args.max_frames,
                        colour_transfer=not args.no_colour_transfer)
    print(f"wrote {result.path}: {result.n_faces} faces swapped in {result.n_swapped_frames} of "
          f"{result.n_frames} frames")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    if args.threads < 0:
        print(f"error: --threads must be >= 0, got {args.threads}")
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        return {"train": _cmd_train, "swap": _cmd_swap}[args.command](args)
    except DetectorError as exc:  # media errors, no faces found, bad settings: one line, not a traceback
        print(f"error: {exc.code}: {exc.message}")
        return 3


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    raise SystemExit(main())
