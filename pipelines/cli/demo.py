"""``deepfake demo-clip``: a short test video from a public-domain portrait, so a fresh install has media to scan."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from .exit_codes import EXIT_OK


def add_demo_clip_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register ``demo-clip`` on the ``deepfake`` subparsers."""
    demo = sub.add_parser("demo-clip", help="write the demo clip (pan/zoom over a public-domain portrait)",
                          description="Write a short video made from scikit-image's public-domain astronaut "
                                      "photo (needs the 'demo' extra).")
    demo.add_argument("path", type=Path, nargs="?", default=Path("demo.mp4"))
    demo.add_argument("--width", type=int, default=1280)
    demo.add_argument("--height", type=int, default=720)
    demo.add_argument("--seconds", type=float, default=4.0)
    return demo


def cmd_demo_clip(args: argparse.Namespace, stdout: TextIO) -> int:
    from detector.outputs.demo import make_demo_clip

    path = make_demo_clip(args.path, width=args.width, height=args.height, seconds=args.seconds)
    stdout.write(f"{path}\n")
    return EXIT_OK
