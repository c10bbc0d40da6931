"""Aligned video fakes: a self-blended copy of every real clip of the training manifests.

The on-the-fly self-blending of training (:mod:`training.dataset`) blends each real *crop*; nothing it makes has
been through a video codec after the blend, as every real-world video swap has. This writes one fake per real
clip (:func:`training.synth.sbi_video.blend_video`: every face blended, the same alteration for a face track from
frame to frame, H.264 at crf 18) and a manifest of them, so that every kind of real footage in the data has a fake
made from itself: same camera, same light, same codec, only the face changed.

Each fake keeps its real's ``group`` (a split never parts a fake from the clip it was made from) and names the real
in ``pair_id`` (its sha256). All fakes share one ``source_repo`` (:data:`SOURCE`): the sampler weighs them as one
source, not as a copy of every real source. The fake is the ``swap`` kind (a blended-in face).

``python -m training.synth.aligned --data train.csv [more.csv ...] --out DIR [--max-seconds 8]`` writes
``DIR/media/...`` and ``DIR/MANIFEST.csv``, clip by clip, so an interrupted run resumes where it stopped (a fake
whose file is missing or differs from its row is made again). A clip that cannot be read, or has no face, becomes
a row of ``DIR/skipped.csv`` with its error code (``no_face`` for the latter): the run goes on. That run is
:func:`training.synth.clip_fakes.make_clip_fakes`, shared with the mouth re-synthesis (``training.synth.mouth``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from detector.kinds import SWAP

from .clip_fakes import FakeKind, FakeRow, Skipped, make_clip_fakes

SOURCE = "self-made/sbi-video"
MANIPULATION = "self-blended-video(sbi-video)"
AlignedRow = FakeRow  # the row layout is :mod:`.clip_fakes`', shared with ``training.synth.mouth``


def make_aligned_fakes(manifests: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str], *,
                       max_seconds: float | None = 8.0, seed: int = 0,
                       blend: Callable[..., dict[str, int]] | None = None) -> tuple[list[AlignedRow], list[Skipped]]:
    """Write a self-blended fake of every real clip of ``manifests`` under ``out``, with ``MANIFEST.csv`` and
    ``skipped.csv``; resumes from an earlier run's manifest. Returns the rows and the skipped clips.

    Args:
        manifests: training manifests (``path,label`` at least); their real videos are used, the rest ignored.
        out: output folder (created).
        max_seconds: blend only the first this many seconds of each clip (training samples a few faces per item;
            a long clip costs time, not variety). ``None``: whole clips.
        seed: with the real's sha256, seeds each clip's blending (reproducible, and different per clip).
        blend: the video blender (default :func:`training.synth.sbi_video.blend_video`; tests pass their own).
    """
    from .sbi_video import blend_video

    return make_clip_fakes(manifests, out, maker=blend or blend_video, max_seconds=max_seconds, seed=seed,
                           kind=FakeKind(source_repo=SOURCE, manipulation=MANIPULATION, family=SWAP, verb="blend"))


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training.synth.aligned",
                                     description="Write a self-blended fake of every real clip of training manifests.")
    parser.add_argument("--data", nargs="+", required=True, metavar="CSV", help="training manifests")
    parser.add_argument("--out", type=Path, required=True, help="output folder (MANIFEST.csv, skipped.csv, media/)")
    parser.add_argument("--max-seconds", type=float, default=8.0,
                        help="blend the first this many seconds of each clip (default 8; 0: whole clips)")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    rows, skipped = make_aligned_fakes(args.data, args.out, max_seconds=args.max_seconds or None, seed=args.seed)
    print(f"{len(rows)} fakes in {args.out / 'MANIFEST.csv'}; {len(skipped)} clips skipped"
          + (f" (see {args.out / 'skipped.csv'})" if skipped else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
