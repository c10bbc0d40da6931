"""A small DCGAN (Radford, Metz & Chintala, ICLR 2016) trained on real aligned face crops, sampled for GAN fakes.

Entirely synthesised faces are a different kind of fake from face swaps and self-blends: no blending boundary,
but a generator's own fingerprint (the checkerboard and spectral peaks that transposed convolutions leave,
Odena et al. 2016; Durall et al. 2020). A detector that has only seen blends misses them, so a few of these
in the training data widen what it learns. The images are low resolution (32 or 64 px); they are meant as
an extra fake class, not as photorealistic faces.

Architecture and training follow the DCGAN paper's guidelines: all-convolutional nets with strided
(transposed) convolutions instead of pooling, BatchNorm everywhere except the generator output and the
discriminator input, ReLU + Tanh in the generator, LeakyReLU(0.2) in the discriminator, weights drawn from
N(0, 0.02), Adam with lr 2e-4 and beta1 0.5. The generator uses the non-saturating loss of Goodfellow et al.
(2014): it maximises log D(G(z)) (BCE against "real" labels) rather than minimising log(1 - D(G(z))), whose
gradient vanishes early in training when D rejects every sample confidently.

Depth follows from the image size: the generator starts from a 4 x 4 map and doubles it ``log2(size / 4)``
times (halving channels each time); the discriminator mirrors it.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from detector.config import reject_unknown_keys
from detector.errors import ConfigError, DetectorError

from ..device import resolve_device

log = logging.getLogger(__name__)

_CONFIG_FILE = "config.json"
_WEIGHTS_FILE = "generator.pt"
_FORMAT = "dcgan-generator-v1"


@dataclass(frozen=True)
class GANConfig:
    """Settings of one GAN training run (saved next to the generator weights).

    Attributes:
        size: side of the generated images; a power of two from 16 to 128 (32 and 64 are the tested ones).
        latent_dim: length of the noise vector z (100 in the DCGAN paper).
        base_channels: channels of the generator's last hidden layer and the discriminator's first; the others
            double per level (64 as in PyTorch's reference DCGAN, ngf = ndf = 64).
        batch_size: images per step (128 in the DCGAN paper).
        steps: optimiser steps of each network.
        lr: Adam learning rate (2e-4, DCGAN paper: 1e-3 was too high).
        betas: Adam betas (beta1 0.5, DCGAN paper: 0.9 made training oscillate and unstable).
        hflip: flip real crops left-right at random (faces are near-symmetric; doubles a small data set).
        seed: seeds weight init, batches, noise and flips.
        device: ``auto`` (CUDA if available), ``cpu`` or ``cuda``.
    """

    size: int = 64
    latent_dim: int = 100
    base_channels: int = 64
    batch_size: int = 128
    steps: int = 5000
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    hflip: bool = True
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.size < 16 or self.size > 128 or self.size & (self.size - 1):
            raise ConfigError(f"size must be a power of two from 16 to 128, got {self.size}")
        for name in ("latent_dim", "base_channels", "steps"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.batch_size < 2:  # BatchNorm needs more than one sample per batch
            raise ConfigError(f"batch_size must be >= 2, got {self.batch_size}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"lr must be a positive number, got {self.lr}")
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise ConfigError(f"betas must be two numbers in [0, 1), got {self.betas}")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ConfigError(f"device must be auto, cpu or cuda, got {self.device!r}")

    @property
    def levels(self) -> int:
        """Stride-2 (transposed) convolutions between 4 x 4 and ``size`` x ``size``."""
        return int(math.log2(self.size)) - 2

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["betas"] = list(self.betas)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GANConfig:
        reject_unknown_keys(cls, data, what="GAN config")
        kwargs = dict(data)
        if "betas" in kwargs:
            kwargs["betas"] = tuple(float(b) for b in kwargs["betas"])
        return cls(**kwargs)


@dataclass(frozen=True)
class GANLogEntry:
    """Means over the steps since the previous entry.

    Attributes:
        step: last step included (1-based).
        d_loss: discriminator loss, BCE on real plus BCE on fake (2 ln 2 ~ 1.39 when D is at chance).
        g_loss: non-saturating generator loss, -log D(G(z)) (ln 2 ~ 0.69 when D is at chance).
        d_real: mean D(x), the probability D gives real crops.
        d_fake: mean D(G(z)) before the discriminator's update, the probability D gives generated ones.
    """

    step: int
    d_loss: float
    g_loss: float
    d_real: float
    d_fake: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def init_dcgan_weights(module: nn.Module) -> None:
    """DCGAN init: conv weights ~ N(0, 0.02) (paper, section 4); BatchNorm gamma ~ N(1, 0.02), beta = 0.

    The BatchNorm part follows PyTorch's reference DCGAN (the paper does not say). Apply with ``net.apply``.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class Generator(nn.Module):
    """z (B, latent_dim) -> images (B, 3, size, size) in [-1, 1].

    A 4 x 4 transposed convolution projects z to ``base_channels * 2**(levels-1)`` maps, then each level
    doubles the side and halves the channels; the last one outputs RGB through Tanh (no BatchNorm there).
    """

    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        self.config = config
        channels = config.base_channels * 2 ** (config.levels - 1)
        # Biases are dropped before BatchNorm: its shift makes them redundant.
        layers: list[nn.Module] = [nn.ConvTranspose2d(config.latent_dim, channels, 4, 1, 0, bias=False),
                                   nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]
        for _ in range(config.levels - 1):
            layers += [nn.ConvTranspose2d(channels, channels // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(channels // 2), nn.ReLU(inplace=True)]
            channels //= 2
        layers += [nn.ConvTranspose2d(channels, 3, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def size(self) -> int:
        return self.config.size

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.reshape(z.shape[0], -1, 1, 1))


class Discriminator(nn.Module):
    """Images (B, 3, size, size) in [-1, 1] -> one logit per image (B,).

    Mirrors the generator: stride-2 convolutions with LeakyReLU(0.2) down to 4 x 4 (no BatchNorm on the input
    layer), then a 4 x 4 convolution to a single logit. No sigmoid: the losses use BCE-with-logits, which is
    numerically stable where log(sigmoid) is not.
    """

    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        self.config = config
        channels = config.base_channels
        layers: list[nn.Module] = [nn.Conv2d(3, channels, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
        for _ in range(config.levels - 1):
            layers += [nn.Conv2d(channels, channels * 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(channels * 2), nn.LeakyReLU(0.2, inplace=True)]
            channels *= 2
        layers.append(nn.Conv2d(channels, 1, 4, 1, 0, bias=False))
        self.net = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).reshape(-1)


def build_models(config: GANConfig) -> tuple[Generator, Discriminator]:
    """Both networks, initialised on the CPU from ``config.seed`` alone (same weights on every device).

    The global torch RNG is left as it was.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return Generator(config), Discriminator(config)


# -- data ---------------------------------------------------------------------------------------------------


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    if image.shape[:2] == (size, size):
        return image
    # Area averaging when shrinking (no aliasing), cubic when enlarging.
    interpolation = cv2.INTER_AREA if max(image.shape[:2]) > size else cv2.INTER_CUBIC
    return cv2.resize(image, (size, size), interpolation=interpolation)


def _crop_dir_images(directory: Path, size: int) -> Iterable[np.ndarray]:
    from detector.media import IMAGE_EXTENSIONS

    for path in sorted(p for p in directory.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS):
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            log.warning("%s: not a readable image, skipped", path)
            continue
        yield _resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), size)


def _collect_crops(paths: Sequence[str | os.PathLike[str]], *, size: int, limit: int | None, frames: int,
                   margin: float) -> tuple[np.ndarray, list[str]]:
    """:func:`load_crops`, also returning the inputs that failed."""
    from detector.faces.align import AlignSpec
    from detector.faces.extract import FaceConfig, FaceExtractor
    from detector.media import Sampling

    crops: list[np.ndarray] = []
    failed: list[str] = []
    extractor: FaceExtractor | None = None  # made on first use: loading the detector is not free

    def full() -> bool:
        return limit is not None and len(crops) >= limit

    for raw in paths:
        if full():
            break
        path = Path(raw)
        if path.is_dir():
            for crop in _crop_dir_images(path, size):
                crops.append(crop)
                if full():
                    break
            continue
        if extractor is None:
            extractor = FaceExtractor(FaceConfig(align=AlignSpec(size=size, margin=margin)))
        try:
            result = extractor.extract(path, sampling=Sampling(num_frames=frames))
        except DetectorError as exc:
            log.warning("%s: %s: %s (skipped)", path, exc.code, exc.message)
            failed.append(str(path))
            continue
        if not result.faces:
            log.info("%s: no faces found", path)
        for face in result.faces:
            crops.append(face.crop)
            if full():
                break
    array = np.stack(crops) if crops else np.zeros((0, size, size, 3), np.uint8)
    return array.astype(np.uint8, copy=False), failed


def load_crops(paths: Sequence[str | os.PathLike[str]], *, size: int, limit: int | None = None, frames: int = 32,
               margin: float = 0.3) -> np.ndarray:
    """Aligned face crops to train on.

    Args:
        paths: face images or videos (run through the face stage, exactly as inference crops them), or
            directories of already-aligned crop images (png/jpg/...; only resized to ``size``).
        size: side of the returned crops.
        limit: stop after this many crops.
        frames: frames sampled per video.
        margin: crop margin (see :class:`detector.faces.align.AlignSpec`); keep it equal to the detector's.

    Returns:
        ``(N, size, size, 3)`` uint8 RGB; ``N`` may be 0. Inputs the face stage refuses (``DetectorError``) are
        logged and skipped.
    """
    return _collect_crops(paths, size=size, limit=limit, frames=frames, margin=margin)[0]


# -- training -----------------------------------------------------------------------------------------------


def _to_unit(images_uint8: torch.Tensor) -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) float in [-1, 1], the range of the generator's Tanh."""
    return images_uint8.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)


def _to_uint8(images: torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) in [-1, 1] -> (B, H, W, 3) uint8."""
    out = images.detach().clamp(-1.0, 1.0).add(1.0).mul(127.5).round().to(torch.uint8)
    return out.permute(0, 2, 3, 1).cpu().numpy()


def train_gan(crops_uint8: np.ndarray, config: GANConfig | None = None, *,
              log_every: int = 100) -> tuple[Generator, Discriminator, list[GANLogEntry]]:
    """Train a DCGAN on real face crops.

    Each step updates D once on a real and a generated batch (passed separately, so BatchNorm never mixes
    them, as in the paper), then G once with the non-saturating loss on the same generated batch.

    Args:
        crops_uint8: ``(N, size, size, 3)`` uint8 RGB crops, ``size`` = ``config.size``.
        config: run settings (defaults: :class:`GANConfig`).
        log_every: steps per history entry (a last, shorter interval is logged too).

    Returns:
        ``(generator, discriminator, history)``, both networks in eval mode on the training device.

    Raises:
        ConfigError: no crops, or crops of the wrong shape.
        FloatingPointError: a loss became NaN or infinite.
    """
    config = config or GANConfig()
    crops_uint8 = np.asarray(crops_uint8)
    if crops_uint8.ndim != 4 or crops_uint8.shape[1:] != (config.size, config.size, 3) or len(crops_uint8) == 0:
        raise ConfigError(f"need (N>0, {config.size}, {config.size}, 3) crops, got {crops_uint8.shape}")
    if crops_uint8.dtype != np.uint8:
        raise ConfigError(f"crops must be uint8, got {crops_uint8.dtype}")
    if log_every < 1:
        raise ConfigError(f"log_every must be >= 1, got {log_every}")
    device = resolve_device(config.device)
    generator, discriminator = (net.to(device).train() for net in build_models(config))
    opt_g = torch.optim.Adam(generator.parameters(), lr=config.lr, betas=config.betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=config.lr, betas=config.betas)
    # Kept as uint8 on the device (a quarter of float32's memory); converted a batch at a time.
    data = torch.from_numpy(np.ascontiguousarray(crops_uint8)).to(device)
    rng = torch.Generator(device=device).manual_seed(config.seed)
    batch = config.batch_size
    ones = torch.ones(batch, device=device)
    zeros = torch.zeros(batch, device=device)

    history: list[GANLogEntry] = []
    sums = torch.zeros(4, device=device, dtype=torch.float64)  # d_loss, g_loss, d_real, d_fake; synced at logs
    since = 0
    for step in range(1, config.steps + 1):
        # Sampling with replacement: also works when the data set is smaller than a batch.
        idx = torch.randint(len(data), (batch,), device=device, generator=rng)
        real = _to_unit(data[idx])
        if config.hflip:
            flip = torch.rand(batch, device=device, generator=rng) < 0.5
            real = torch.where(flip[:, None, None, None], real.flip(3), real)
        z = torch.randn(batch, config.latent_dim, device=device, generator=rng)
        fake = generator(z)

        discriminator.requires_grad_(True)
        opt_d.zero_grad(set_to_none=True)
        logit_real = discriminator(real)
        logit_fake = discriminator(fake.detach())
        d_loss = (F.binary_cross_entropy_with_logits(logit_real, ones)
                  + F.binary_cross_entropy_with_logits(logit_fake, zeros))
        d_loss.backward()
        opt_d.step()

        # Non-saturating G loss: BCE against "real" labels = -log D(G(z)). D's weights get no gradient here.
        discriminator.requires_grad_(False)
        opt_g.zero_grad(set_to_none=True)
        g_loss = F.binary_cross_entropy_with_logits(discriminator(fake), ones)
        g_loss.backward()
        opt_g.step()

        with torch.no_grad():
            sums += torch.stack([d_loss.detach(), g_loss.detach(), torch.sigmoid(logit_real).mean(),
                                 torch.sigmoid(logit_fake).mean()]).double()
        since += 1
        if step % log_every == 0 or step == config.steps:
            means = (sums / since).tolist()
            if not all(math.isfinite(v) for v in means):
                raise FloatingPointError(f"GAN losses are not finite at step {step}: {means}")
            entry = GANLogEntry(step, *means)
            history.append(entry)
            log.info("step %d/%d  d_loss %.3f  g_loss %.3f  D(x) %.3f  D(G(z)) %.3f", step, config.steps,
                     entry.d_loss, entry.g_loss, entry.d_real, entry.d_fake)
            sums.zero_()
            since = 0
    discriminator.requires_grad_(True)
    return generator.eval(), discriminator.eval(), history


# -- sampling, saving ---------------------------------------------------------------------------------------


@torch.no_grad()
def sample(generator: Generator, n: int, *, seed: int = 0, batch_size: int = 256,
           upscale_to: int | None = None) -> np.ndarray:
    """Generate ``n`` faces.

    The noise is drawn on the CPU from ``seed`` alone, and the generator runs in eval mode (BatchNorm uses its
    running statistics, so one image does not depend on the others in its batch): a seed always gives the same
    faces from the same generator (bit for bit on one device; other devices may differ in the last digits).

    Args:
        generator: a trained generator (its train/eval mode is restored afterwards).
        n: how many images.
        seed: noise seed.
        batch_size: images per forward pass.
        upscale_to: resize each image to this side with bicubic interpolation (e.g. to the classifier's
            crop size). Upscaling adds its own smoothness, so real crops used beside these should be
            treated alike or the detector may learn the resampling instead of the generator.

    Returns:
        ``(n, S, S, 3)`` uint8 RGB, ``S`` = ``upscale_to`` or the generator's size.
    """
    if n < 0:
        raise ConfigError(f"n must be >= 0, got {n}")
    side = upscale_to or generator.size
    if n == 0:
        return np.zeros((0, side, side, 3), np.uint8)
    device = next(generator.parameters()).device
    z = torch.randn(n, generator.latent_dim, generator=torch.Generator().manual_seed(seed))
    was_training = generator.training
    generator.eval()
    try:
        images = np.concatenate([_to_uint8(generator(chunk.to(device))) for chunk in z.split(batch_size)])
    finally:
        generator.train(was_training)
    if upscale_to and upscale_to != generator.size:
        images = np.stack([cv2.resize(im, (upscale_to, upscale_to), interpolation=cv2.INTER_CUBIC)
                           for im in images])
    return images


def save_generator(generator: Generator, directory: str | os.PathLike[str],
                   history: Sequence[GANLogEntry] = ()) -> Path:
    """Write ``generator.pt`` (state_dict) and ``config.json`` (config, and history if given) into ``directory``."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in generator.state_dict().items()}
    torch.save(state, out / _WEIGHTS_FILE)
    meta = {"format": _FORMAT, "config": generator.config.to_dict(), "history": [h.to_dict() for h in history]}
    (out / _CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return out


def load_generator(directory: str | os.PathLike[str], *, device: str = "cpu") -> Generator:
    """Read a generator written by :func:`save_generator`; returned in eval mode on ``device``."""
    directory = Path(directory)
    try:
        meta = json.loads((directory / _CONFIG_FILE).read_text(encoding="utf-8"))
        if meta.get("format") != _FORMAT:
            raise ConfigError(f"{directory / _CONFIG_FILE} is not a {_FORMAT} file")
        config = GANConfig.from_dict(meta["config"])
        # weights_only: a state_dict needs nothing else, and it refuses pickled code.
        state = torch.load(directory / _WEIGHTS_FILE, map_location="cpu", weights_only=True)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"cannot read a GAN generator from {directory}: {exc}") from exc
    generator = Generator(config)
    generator.load_state_dict(state)
    return generator.to(resolve_device(device)).eval()


def _write_png(path: Path, rgb: np.ndarray) -> None:
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {path}")


def _grid(images: np.ndarray, columns: int = 8) -> np.ndarray:
    rows = -(-len(images) // columns)
    _, h, w, c = images.shape
    canvas = np.zeros((rows * h, columns * w, c), np.uint8)
    for i, im in enumerate(images):
        r, col = divmod(i, columns)
        canvas[r * h:(r + 1) * h, col * w:(col + 1) * w] = im
    return canvas


# -- CLI ----------------------------------------------------------------------------------------------------


def get_args_parser() -> argparse.ArgumentParser:
    defaults = GANConfig()
    parser = argparse.ArgumentParser(prog="deepfake synth gan", description="Train a small DCGAN on real face "
                                     "crops, and sample GAN faces from it.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = sub.add_parser("train", help="train a generator on face crops",
                           description="Train a DCGAN on faces from images/videos (run through the face stage) or "
                                       "folders of aligned crops. Writes generator.pt, config.json, preview.png.")
    train.add_argument("--crops", nargs="+", required=True, metavar="PATH",
                       help="face images or videos, or folders of aligned crop images")
    train.add_argument("--out", type=Path, required=True, help="model folder")
    train.add_argument("--steps", type=int, default=defaults.steps)
    train.add_argument("--size", type=int, default=defaults.size, help="image side, a power of two (32 or 64)")
    train.add_argument("--batch-size", type=int, default=defaults.batch_size)
    train.add_argument("--base-channels", type=int, default=defaults.base_channels)
    train.add_argument("--latent-dim", type=int, default=defaults.latent_dim)
    train.add_argument("--lr", type=float, default=defaults.lr)
    train.add_argument("--no-flip", action="store_true", help="no random left-right flips of real crops")
    train.add_argument("--frames", type=int, default=32, help="frames sampled per video")
    train.add_argument("--limit", type=int, help="use at most this many crops")
    train.add_argument("--log-every", type=int, default=100)
    train.add_argument("--seed", type=int, default=defaults.seed)
    train.add_argument("--device", default=defaults.device, help="auto, cpu or cuda")

    samp = sub.add_parser("sample", help="write generated faces as PNG files",
                          description="Write N generated faces as fake_gan_s<seed>_<i>.png into --out.")
    samp.add_argument("--model", type=Path, required=True, help="folder written by 'train'")
    samp.add_argument("--n", type=int, required=True, help="how many images")
    samp.add_argument("--out", type=Path, required=True, help="folder for the PNG files")
    samp.add_argument("--seed", type=int, default=0)
    samp.add_argument("--upscale-to", type=int, help="bicubic resize to this side (e.g. the classifier's crop size)")
    samp.add_argument("--device", default="auto", help="auto, cpu or cuda")
    return parser


def _cmd_train(args: argparse.Namespace) -> int:
    config = GANConfig(size=args.size, latent_dim=args.latent_dim, base_channels=args.base_channels,
                       batch_size=args.batch_size, steps=args.steps, lr=args.lr, hflip=not args.no_flip,
                       seed=args.seed, device=args.device)
    crops, failed = _collect_crops(args.crops, size=config.size, limit=args.limit, frames=args.frames, margin=0.3)
    if len(crops) == 0:
        print(f"no face crops found in {len(args.crops)} input(s); nothing to train on")
        return 3
    log.info("training on %d crops of %d px", len(crops), config.size)
    generator, _, history = train_gan(crops, config, log_every=args.log_every)
    save_generator(generator, args.out, history)
    _write_png(args.out / "preview.png", _grid(sample(generator, 64, seed=config.seed)))
    last = history[-1]
    print(f"trained on {len(crops)} crops for {config.steps} steps (D(x) {last.d_real:.2f}, "
          f"D(G(z)) {last.d_fake:.2f}); generator in {args.out}" + (f"; {len(failed)} inputs failed" if failed else ""))
    return 3 if failed else 0


def _cmd_sample(args: argparse.Namespace) -> int:
    if args.n < 1:
        raise ConfigError(f"--n must be >= 1, got {args.n}")
    if args.upscale_to is not None and args.upscale_to < 1:
        raise ConfigError(f"--upscale-to must be >= 1, got {args.upscale_to}")
    generator = load_generator(args.model, device=args.device)
    images = sample(generator, args.n, seed=args.seed, upscale_to=args.upscale_to)
    args.out.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        _write_png(args.out / f"fake_gan_s{args.seed}_{i:05d}.png", image)
    print(f"wrote {len(images)} GAN faces ({images.shape[1]} px) to {args.out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    return {"train": _cmd_train, "sample": _cmd_sample}[args.command](args)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    raise SystemExit(main())
