"""The scan-recipe flags ``deepfake scan`` and ``deepfake audit`` share, and the one ``ScanConfig`` they make."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # detector.recipe pulls in OpenCV: not for building the parser
    from detector.recipe import ScanConfig


def add_recipe_overrides(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--frames``/``--fps`` (one or the other), ``--threshold``, ``--combine-persons`` and ``--max-novelty`` on
    ``parser``."""
    sampling = parser.add_mutually_exclusive_group()
    sampling.add_argument("--frames", type=int, help="frames sampled evenly per video (default: the model card's)")
    sampling.add_argument("--fps", type=float, help="sample at a fixed rate instead")
    parser.add_argument("--threshold", type=float, help="decision threshold (default: the model card's)")
    # No argparse choices: ScanConfig checks the name, as it checks --max-novelty, with one list of the names.
    parser.add_argument("--combine-persons", metavar="max|mean_odds",
                        help="a file of several persons: 'max' is its most suspicious person's probability, "
                             "'mean_odds' the chance that one of them is manipulated (default: the model card's)")
    add_novelty_override(parser)


def add_novelty_override(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--max-novelty N|off`` on ``parser`` (``deepfake serve`` has it without the other overrides)."""
    parser.add_argument("--max-novelty", type=_novelty, metavar="N|off",
                        help="a fake whose faces are further than N from everything the model learnt from is "
                             "called uncertain (unfamiliar_face); 'off': never (default: the model card's)")


def recipe_overrides(args: argparse.Namespace) -> ScanConfig:
    """The overrides the flags name; checked here, before any work (``ConfigError``: exit 2)."""
    from detector.recipe import ScanConfig

    return ScanConfig(frames=args.frames, fps=args.fps, threshold=args.threshold, max_novelty=args.max_novelty,
                      combine_persons=args.combine_persons)


def _novelty(text: str) -> float | str:
    # A number, else the word as given: ScanConfig checks both (range, spelling), with one message for every caller.
    try:
        return float(text)
    except ValueError:
        return text
