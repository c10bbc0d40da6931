"""Lip-sync-like video fakes: a copy of every real clip of the training manifests with its mouths re-synthesised.

The detector sees few lip-sync and reenactment fakes (Wav2Lip, HyperLips: only the mouth region regenerated, at a
low resolution, and pasted back into the real frame). This writes one per real clip
(:func:`training.synth.mouth_video.resync_video`: the lower face of every face track taken from 4 to 20 frames
away, an offset drawn per second, softened, colour-matched and blended below the nose; H.264 at crf 18), so every
kind of real footage in the data has a mouth fake of its own camera, light and codec.

The run is the aligned fakes' (:func:`training.synth.clip_fakes.make_clip_fakes`): each fake in its real's
``group`` with the real's sha256 as ``pair_id``, one ``source_repo`` for all (:data:`SOURCE`), the
``reenactment`` kind (the person's own face made to speak as they did not), resumable clip by clip, and clips it
cannot read or with no face track to take a mouth from in ``skipped.csv`` with their error code (``no_face``).

``python -m training.synth.mouth --data train.csv [more.csv ...] --out DIR [--max-seconds 4] [--seed 0]``
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from detector.kinds import REENACTMENT

from .clip_fakes import FakeKind, FakeRow, Skipped, make_clip_fakes

SOURCE = "self-made/mouth-video"
# "lip-sync" in the name: training.data.families reads the kind from it too, where a manifest has no family column.
MANIPULATION = "lip-sync(mouth-video)"
KIND = FakeKind(source_repo=SOURCE, manipulation=MANIPULATION, family=REENACTMENT, verb="re-synthesise")


def make_mouth_fakes(manifests: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str], *,
                     max_seconds: float | None = 4.0, seed: int = 0,
                     resync: Callable[..., dict[str, int]] | None = None) -> tuple[list[FakeRow], list[Skipped]]:
    """Write a mouth-resynthesised fake of every real clip of ``manifests`` under ``out``, with ``MANIFEST.csv``
    and ``skipped.csv``; resumes from an earlier run's manifest. Returns the rows and the skipped clips.

    Args:
        manifests: training manifests (``path,label`` at least); their real videos are used, the rest ignored.
        out: output folder (created).
        max_seconds: only the first this many seconds of each clip (4: enough for four offsets). ``None``: whole
            clips.
        seed: with the real's sha256, seeds each clip's offsets and bottleneck sizes.
        resync: the video maker (default :func:`training.synth.mouth_video.resync_video`; tests pass their own).

    Example:
        >>> rows, skipped = make_mouth_fakes(["train.csv"], "runs/mouth")  # doctest: +SKIP
    """
    from .mouth_video import resync_video

    return make_clip_fakes(manifests, out, maker=resync or resync_video, kind=KIND, max_seconds=max_seconds,
                           seed=seed)


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training.synth.mouth",
                                     description="Write a lip-sync-like fake (mouths taken from other frames, "
                                                 "softened and blended) of every real clip of training manifests.")
    parser.add_argument("--data", nargs="+", required=True, metavar="CSV", help="training manifests")
    parser.add_argument("--out", type=Path, required=True, help="output folder (MANIFEST.csv, skipped.csv, media/)")
    parser.add_argument("--max-seconds", type=float, default=4.0,
                        help="re-synthesise the first this many seconds of each clip (default 4; 0: whole clips)")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    rows, skipped = make_mouth_fakes(args.data, args.out, max_seconds=args.max_seconds or None, seed=args.seed)
    print(f"{len(rows)} fakes in {args.out / 'MANIFEST.csv'}; {len(skipped)} clips skipped"
          + (f" (see {args.out / 'skipped.csv'})" if skipped else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
