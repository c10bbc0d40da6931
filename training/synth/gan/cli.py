"""``deepfake synth gan train|sample``."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from detector.errors import ConfigError

from .checkpoint import load_generator, save_generator
from .config import GANConfig
from .data import collect_training_crops
from .sampling import sample
from .train import train_gan

log = logging.getLogger(__name__)


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
    collected = collect_training_crops(args.crops, size=config.size, limit=args.limit, frames=args.frames, margin=0.3)
    crops, failed = collected.crops, collected.failed
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
