"""The v2 candidate recipes' training data (issue 37), rebuilt from a fresh clone in one command::

    python -m training.recipe_data [--out runs/data] [--mirrors DIR] [--shared ../shared/data]

then ``python -m training.default_model --set data=[...] data_split=null --abstain-on runs/data/shared/holdout.csv``
trains on the five files written here (:meth:`RecipeData.training`):

1. ``shared/{train,holdout}.csv``: the ``train`` split of ``../shared/data`` with the held-out sources, groups and
   file names of :mod:`training.holdout` set aside (chosen on, never trained on);
2. ``sources/all/``: every public source manifest *as of* :data:`SOURCES_COMMIT` (``git archive`` of
   ``training/data/sources/manifests`` at that commit) materialised from local git mirrors
   (:mod:`training.data.sources`), then split the same way into ``sources/{train,holdout}.csv``. Pinned, so that
   sources added later (held out or not) do not change what the shipped recipe trains on;
3. aligned fakes of the training reals, each resuming where a stopped run left off: ``aligned/`` (a self-blended
   copy of every real clip, first 8 s), ``mouth/`` (a mouth-resynthesised copy of every real clip, first 4 s),
   ``cross_swap/`` (another person's face in every real still).

Every step skips what an earlier run finished, so a stopped build resumes; a folder built from the manifests of
another commit (``sources/all/COMMIT`` says which) is brought up to ``--commit`` and split again, keeping the files
and fakes it already has. Steps 2-3 take hours on two cores
(cross-swaps of ~4,000 stills dominate); the crop cache of training then takes the rest.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from detector.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = Path("runs/data")
MANIFESTS_IN_REPO = "training/data/sources/manifests"
# The manifests recipe AJ was trained from (2,880 public files): the commit before the classical-swap, diffusion
# and talking-head manifests of 2026-12-06/07 were added. Move it with the recipe that ships, not before.
SOURCES_COMMIT = "7719bb5"


@dataclass(frozen=True)
class RecipeData:
    """Where each part of the recipe's data lands under one folder (the training config's ``data``: :meth:`training`)."""

    root: Path = DEFAULT_OUT

    @property
    def shared(self) -> Path:
        return self.root / "shared"

    @property
    def sources(self) -> Path:
        return self.root / "sources"

    @property
    def aligned(self) -> Path:
        return self.root / "aligned"

    @property
    def mouth(self) -> Path:
        return self.root / "mouth"

    @property
    def cross_swap(self) -> Path:
        return self.root / "cross_swap"

    def training(self) -> tuple[str, ...]:
        """The five manifests the recipe trains on, in the order recipe AJ's recorded config lists them."""
        return tuple(p.as_posix() for p in (self.shared / "train.csv", self.sources / "train.csv",
                                            self.aligned / "MANIFEST.csv", self.cross_swap / "MANIFEST.csv",
                                            self.mouth / "MANIFEST.csv"))

    def reals(self) -> tuple[str, ...]:
        """The training parts whose reals the aligned fakes are made from (never the held-out parts)."""
        return ((self.shared / "train.csv").as_posix(), (self.sources / "train.csv").as_posix())


def manifests_at(commit: str, dst: Path, *, repo: Path = REPO) -> Path:
    """Extract ``training/data/sources/manifests`` as of ``commit`` into ``dst``; returns the manifests folder.

    Raises:
        ConfigError: not a git clone with that commit (a shallow clone lacks it: ``git fetch --unshallow``).
    """
    proc = subprocess.run(["git", "-C", str(repo), "archive", commit, MANIFESTS_IN_REPO],
                          check=False, capture_output=True)
    if proc.returncode != 0:
        raise ConfigError(f"cannot read the source manifests at {commit} from {repo}: "
                          f"{proc.stderr.decode(errors='replace').strip()} (a shallow clone needs "
                          f"`git fetch --unshallow`)")
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        tar.extractall(dst, filter="data")
    return dst / MANIFESTS_IN_REPO


def resolve_commit(commit: str, *, repo: Path = REPO) -> str:
    """The full hash of ``commit`` in ``repo`` (what a build records, so a shorter name of it matches too).

    Raises:
        ConfigError: not a git clone with that commit.
    """
    proc = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}"],
                          check=False, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ConfigError(f"no commit {commit!r} in {repo} (a shallow clone needs `git fetch --unshallow`)")
    return proc.stdout.strip()


def build_recipe_data(out: str | Path = DEFAULT_OUT, *, mirrors: str | Path, shared: str | Path,
                      commit: str = SOURCES_COMMIT, cross_swap_limit: int | None = None) -> RecipeData:
    """Write the recipe's training data under ``out`` (steps in the module docstring); resumes.

    Raises:
        ConfigError: a missing mirror or shared folder, or manifests that cannot be read at ``commit``.
    """
    from .data.sources.build import build
    from .holdout import split_manifest
    from .synth.aligned import make_aligned_fakes
    from .synth.cross_swap import make_cross_swaps
    from .synth.mouth import make_mouth_fakes

    data = RecipeData(Path(out))
    shared_manifest = Path(shared) / "MANIFEST.csv"
    if not (data.shared / "train.csv").is_file():
        split_manifest(shared_manifest, data.shared)
    built = data.sources / "all" / "MANIFEST.csv"
    stamp = data.sources / "all" / "COMMIT"
    wanted = resolve_commit(commit)
    if not built.is_file() or not stamp.is_file() or stamp.read_text().strip() != wanted:
        # A build of other manifests (or of unknown ones) is brought up to these: the builder keeps the files it
        # already has, and the split of the old build goes with it.
        with tempfile.TemporaryDirectory() as tmp:
            report = build(data.sources / "all", mirrors=mirrors, shared=shared,
                           manifests=manifests_at(commit, Path(tmp)))
        if report.refused:
            raise ConfigError(f"{len(report.refused)} source files could not be built: {report.summary()}")
        stamp.write_text(wanted + "\n")
        for side in ("train", "holdout"):
            (data.sources / f"{side}.csv").unlink(missing_ok=True)
    if not (data.sources / "train.csv").is_file():
        split_manifest(built, data.sources, split=None)
    make_aligned_fakes(data.reals(), data.aligned, max_seconds=8.0, seed=0)
    make_mouth_fakes(data.reals(), data.mouth, max_seconds=4.0, seed=0)
    make_cross_swaps(data.reals(), data.cross_swap, seed=0, limit=cross_swap_limit)
    return data


def main(argv: Sequence[str] | None = None) -> int:
    from .data.sources.__main__ import DEFAULT_MIRRORS, DEFAULT_SHARED

    parser = argparse.ArgumentParser(prog="python -m training.recipe_data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--mirrors", default=DEFAULT_MIRRORS, help="folder of bare git mirrors of the sources")
    parser.add_argument("--shared", default=DEFAULT_SHARED, help="shared/data (train split, reserved list, eval)")
    parser.add_argument("--commit", default=SOURCES_COMMIT, help="source manifests as of this commit")
    args = parser.parse_args(argv)
    data = build_recipe_data(args.out, mirrors=args.mirrors, shared=args.shared, commit=args.commit)
    print("\n".join(data.training()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
