"""``deepfake synth ae-swap train|swap``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch

from detector.errors import DetectorError
from detector.faces.extract import FaceConfig, FaceExtractor

from ...device import resolve_device
from .checkpoint import load_model, save_model
from .config import AESwapConfig
from .data import collect_crops
from .model import AESwapModel
from .swap import swap_video
from .train import LossRecord, train_autoencoder


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
