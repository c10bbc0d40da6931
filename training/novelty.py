"""Novelty: how far a face lies, in the model's own feature space, from the faces it was trained on.

The detector abstains (verdict ``uncertain``, reason ``unfamiliar_face``) instead of calling a face fake when the
face is unlike anything in training: a real photo of a kind the model never saw is the commonest false alarm
(old, grey, crowd and street photos on the hidden set), and its score there means little either way.

The score is the Mahalanobis distance of the pooled features (the classifier head's input) in their top
principal components, fitted on training faces of both classes (Lee et al., "A Simple Unified Framework for
Detecting Out-of-Distribution Samples and Adversarial Attacks", NeurIPS 2018, with a shared covariance), divided by
the number of components so that a typical training face scores about 1. It is computed inside the exported
graph (output ``novelty``), so the runtime needs no statistics file and no second pass. Where to abstain
(``VerdictRules.max_novelty``) is chosen on held-out sources, not here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from .model import pooled_features

# Components kept: enough to describe the spread of 1,280-d Lite0 features of a few thousand faces, few enough to
# estimate each variance from them (the fit needs several times more faces than components).
COMPONENTS = 32
# Variance floor, relative to the largest component's: a direction with (almost) no variance in training would
# otherwise turn round-off into huge distances.
VARIANCE_FLOOR = 1e-4


@dataclass(frozen=True, eq=False)
class NoveltyFit:
    """Mean, principal directions and their inverse standard deviations of training features."""

    mean: np.ndarray  # (D,)
    components: np.ndarray  # (k, D), orthonormal rows
    inv_std: np.ndarray  # (k,)

    def score(self, features: np.ndarray) -> np.ndarray:
        """Mean squared whitened coordinate per row of ``features`` (N, D): ~1 for a typical training face."""
        z = (np.asarray(features, np.float64) - self.mean) @ self.components.T * self.inv_std
        return (z**2).mean(axis=1)

    def to_dict(self) -> dict[str, list]:
        return {"mean": self.mean.tolist(), "components": self.components.tolist(), "inv_std": self.inv_std.tolist()}


def fit_novelty(features: np.ndarray, *, components: int = COMPONENTS) -> NoveltyFit:
    """Fit on training features (N, D).

    Raises:
        ValueError: fewer than ``2 * components`` rows (the variances could not be estimated).
    """
    x = np.asarray(features, np.float64)
    if x.ndim != 2 or len(x) < 2 * components:
        raise ValueError(f"need at least {2 * components} feature rows of shape (N, D), got {x.shape}")
    mean = x.mean(axis=0)
    # SVD of the centred data: right singular vectors are the covariance's eigenvectors, largest first.
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    k = min(components, len(s))
    var = s[:k] ** 2 / (len(x) - 1)
    var = np.maximum(var, var[0] * VARIANCE_FLOOR)
    return NoveltyFit(mean=mean, components=vt[:k].copy(), inv_std=1.0 / np.sqrt(var))


@torch.no_grad()
def features_of(model: nn.Module, batches: Iterable[torch.Tensor]) -> np.ndarray:
    """Pooled features of every crop of ``batches`` (each (B, 3, S, S), normalised), in eval mode."""
    model.eval()
    out = [pooled_features(model, x).float().cpu().numpy() for x in batches]
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


class NoveltyHead(nn.Module):
    """:meth:`NoveltyFit.score` as a torch module, for the exported graph."""

    def __init__(self, fit: NoveltyFit) -> None:
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(fit.mean, dtype=torch.float32))
        # Whitening folded into the projection: one (D, k) matmul in the graph.
        proj = fit.components.T * fit.inv_std
        self.register_buffer("proj", torch.as_tensor(proj, dtype=torch.float32))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        z = (features - self.mean) @ self.proj
        return (z * z).mean(dim=1)


def face_batches(faces: Iterable[object], *, size: int, mean: tuple[float, ...], std: tuple[float, ...],
                 max_faces: int, seed: int = 0, batch: int = 64) -> Iterable[torch.Tensor]:
    """Normalised crops of cached faces (:class:`training.crops.CachedFaces`), at most ``max_faces`` drawn evenly
    over items (every item's faces first, then more of the items that have more), as the scan preprocesses them."""
    from detector.preprocess import to_input

    faces = list(faces)
    rng = np.random.default_rng(seed)
    order = [rng.permutation(len(f)) for f in faces]
    picks: list[tuple[int, int]] = []
    depth = 0
    while len(picks) < max_faces and any(depth < len(o) for o in order):
        picks += [(i, int(o[depth])) for i, o in enumerate(order) if depth < len(o)]
        depth += 1
    picks = picks[:max_faces]
    for start in range(0, len(picks), batch):
        crops = np.stack([faces[i].crops[j] for i, j in picks[start:start + batch]])
        yield torch.from_numpy(to_input(crops, size=size, mean=mean, std=std))


def fit_on_faces(model: nn.Module, faces: Iterable[object], *, size: int, mean: tuple[float, ...],
                 std: tuple[float, ...], max_faces: int = 4000, seed: int = 0) -> NoveltyFit:
    """:func:`fit_novelty` on the pooled features of (up to ``max_faces``) cached training faces.

    Fewer than ``4 * COMPONENTS`` faces (a small fine-tuning set) fit fewer components, a quarter of the faces.
    """
    features = features_of(model, face_batches(faces, size=size, mean=mean, std=std, max_faces=max_faces, seed=seed))
    return fit_novelty(features, components=max(1, min(COMPONENTS, len(features) // 4)))


def choose_max_novelty(sweep: Sequence[dict[str, Any]], *, max_fake_loss: float) -> dict[str, Any]:
    """The sweep row (:func:`training.verdicts.abstention_sweep`) that calls fewest reals fake while losing at most
    ``max_fake_loss`` of the fakes called fake without abstention (the ``max_novelty=None`` row); ties go to the
    highest threshold (the least abstention)."""
    base = next(r for r in sweep if r["max_novelty"] is None)
    allowed = [r for r in sweep if r["max_novelty"] is None
               or base["fake_called_fake"] - r["fake_called_fake"] <= max_fake_loss + 1e-12]
    return min(allowed, key=lambda r: (r["real_called_fake"], -(r["max_novelty"] or float("inf"))))


def choose_abstention(model: str | os.PathLike[str], data: Sequence[str], *, split: str | None = None,
                      cache: str = "~/.cache/deepfake-detector/crops", max_fake_loss: float = 0.05,
                      write: bool = False) -> dict[str, Any]:
    """Score ``data`` (held-out sources, never eval) with ``model`` without abstaining, sweep ``max_novelty`` over
    quantiles of their novelty and choose with :func:`choose_max_novelty`; ``write``: into the model's card (with
    the sweep, under ``recipe.abstention``). Returns ``{"sweep": [...], "chosen": {...}}``.

    Raises:
        ValueError: the model has no novelty output.
    """
    from dataclasses import replace
    from pathlib import Path

    from detector.classifier import Classifier
    from detector.modelcard import ModelCard

    from .data import load_datasets
    from .evaluate import score_items
    from .verdicts import abstention_sweep, novelty_quantiles

    card_path = Path(model).with_suffix(".json")
    card = ModelCard.load(card_path)
    rules = replace(card.scan.verdict, max_novelty=None)
    scoring = replace(card, scan=replace(card.scan, verdict=rules))  # score without abstaining
    scores = score_items(Classifier(model, scoring), load_datasets(data, split=split), cache_root=cache)
    if not any(s.face_novelty for s in scores):
        raise ValueError(f"{model} has no novelty output")
    candidates = [None, *novelty_quantiles(scores, (0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99))]
    sweep = abstention_sweep(scores, rules, card.scan.aggregation, candidates)
    chosen = choose_max_novelty(sweep, max_fake_loss=max_fake_loss)
    if write:
        new_rules = replace(card.scan.verdict, max_novelty=chosen["max_novelty"])
        replace(card, scan=replace(card.scan, verdict=new_rules),
                recipe={**card.recipe, "abstention": {"chosen": chosen, "sweep": sweep, "data": list(data),
                                                      "max_fake_loss": max_fake_loss}}).save(card_path)
    return {"sweep": sweep, "chosen": chosen}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m training.novelty --model M.onnx --data HELD_OUT.csv… [--write]``: choose where to abstain."""
    import argparse
    import json
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="python -m training.novelty", description=main.__doc__)
    parser.add_argument("--model", type=Path, required=True, help="model .onnx with a novelty output")
    parser.add_argument("--data", nargs="+", required=True, help="held-out sources (manifest CSVs), never eval")
    parser.add_argument("--split", default=None)
    parser.add_argument("--cache", default="~/.cache/deepfake-detector/crops")
    parser.add_argument("--max-fake-loss", type=float, default=0.05,
                        help="largest drop in fakes called fake the abstention may cost (default 0.05)")
    parser.add_argument("--write", action="store_true", help="write the chosen max_novelty into the model card")
    args = parser.parse_args(argv)
    try:
        result = choose_abstention(args.model, args.data, split=args.split, cache=args.cache,
                                   max_fake_loss=args.max_fake_loss, write=args.write)
    except ValueError as exc:
        raise SystemExit(str(exc)) from exc
    print(json.dumps(result, indent=1))
    if args.write:
        print(f"max_novelty {result['chosen']['max_novelty']} -> {args.model.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
