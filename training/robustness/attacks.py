"""White-box attacks on the classifier: FGSM and PGD (L-infinity) on aligned face crops.

An attacker with the weights (the ONNX file ships with the tool; a checkpoint of the same network trains it)
perturbs the crop the classifier sees, within ``eps`` per pixel on the 0..255 scale, in either direction:

* **evasion**: a fake crop pushed toward "real";
* **framing**: a real crop pushed toward "fake".

FGSM (Goodfellow et al. 2015) is one signed-gradient step of size ``eps``; PGD (Madry et al. 2018) takes
``steps`` steps of ``step`` each from a random start inside the ball, projecting back after every step. Both
work in pixel space (0..1 before the model's normalisation) and keep pixels in range; the perturbed crops are
rounded to uint8, as an image carrying them would be. Reported: robust accuracy (crops still on the right
side of the model's threshold after calibration) and attack success rate (of the crops the model had right,
the share the attack flipped).

These are crop-level, white-box figures: the strongest attacker, not what survives a platform's re-encoding
(``robustness.harness`` measures degradations through the whole pipeline).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from detector.modelcard import Calibration


@dataclass(frozen=True)
class Attack:
    """``eps`` and ``step`` on the 0..255 scale (``eps=2`` is 2/255). ``steps=1`` without random start is FGSM."""

    eps: float
    steps: int = 10
    step: float | None = None  # default: 2.5 * eps / steps, Madry et al.'s choice
    random_start: bool = True

    @classmethod
    def fgsm(cls, eps: float) -> Attack:
        return cls(eps=eps, steps=1, step=eps, random_start=False)

    @property
    def name(self) -> str:
        kind = "fgsm" if self.steps == 1 and not self.random_start else f"pgd{self.steps}"
        return f"{kind}-eps{self.eps:g}"

    @property
    def step_size(self) -> float:
        return self.step if self.step is not None else 2.5 * self.eps / self.steps


def perturb(model: nn.Module, crops: np.ndarray, labels: np.ndarray, attack: Attack, *, mean: float = 0.5,
            std: float = 0.5, seed: int = 0, batch_size: int = 32) -> np.ndarray:
    """Adversarial copies of ``(N, S, S, 3)`` uint8 crops, each pushed away from its own label."""
    gen = torch.Generator().manual_seed(seed)
    eps, alpha = attack.eps / 255.0, attack.step_size / 255.0
    out = []
    model.eval()
    for i in range(0, len(crops), batch_size):
        x0 = torch.from_numpy(np.ascontiguousarray(crops[i:i + batch_size])).permute(0, 3, 1, 2).float() / 255.0
        y = torch.from_numpy(np.asarray(labels[i:i + batch_size], np.float32))
        x = x0.clone()
        if attack.random_start:
            x = (x + (torch.rand(x.shape, generator=gen) * 2 - 1) * eps).clamp(0, 1)
        for _ in range(attack.steps):
            x.requires_grad_(True)
            logit = model((x - mean) / std).reshape(-1)
            # Raise the loss of the true label: evasion for fakes, framing for reals.
            loss = nn.functional.binary_cross_entropy_with_logits(logit, y)
            (grad,) = torch.autograd.grad(loss, x)
            with torch.no_grad():
                x = x + alpha * grad.sign()
                x = torch.min(torch.max(x, x0 - eps), x0 + eps).clamp(0, 1)
        out.append((x.detach() * 255.0).round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy())
    return np.concatenate(out) if out else crops.copy()


def logits(model: nn.Module, crops: np.ndarray, *, mean: float = 0.5, std: float = 0.5,
           batch_size: int = 64) -> np.ndarray:
    outs = []
    with torch.no_grad():
        for i in range(0, len(crops), batch_size):
            x = torch.from_numpy(np.ascontiguousarray(crops[i:i + batch_size])).permute(0, 3, 1, 2).float() / 255.0
            outs.append(model((x - mean) / std).reshape(-1).numpy())
    return np.concatenate(outs) if outs else np.zeros(0, np.float32)


@dataclass(frozen=True)
class AttackResult:
    attack: str
    eps: float
    direction: str  # "evasion" (fakes) or "framing" (reals)
    n: int
    clean_accuracy: float
    robust_accuracy: float
    success_rate: float | None  # of the crops the model had right, the share flipped
    mean_linf: float  # measured, 0..255 scale


@dataclass(frozen=True)
class DirectionStats:
    """One attack direction's outcome: ``None`` rates where the direction had no item (or none right)."""

    direction: str  # "evasion" (fakes) or "framing" (reals)
    label: int  # the items' true label: 1 for evasion, 0 for framing
    n: int
    clean_accuracy: float | None
    robust_accuracy: float | None
    success_rate: float | None  # of the items the model had right, the share flipped


def direction_stats(labels: np.ndarray, clean_right: np.ndarray, robust_right: np.ndarray) -> list[DirectionStats]:
    """Evasion (label 1) and framing (label 0) from per-item correctness before and after the attack."""
    labels, clean_right, robust_right = (np.asarray(a) for a in (labels, clean_right, robust_right))
    clean_right, robust_right = clean_right.astype(bool), robust_right.astype(bool)
    stats = []
    for direction, label in (("evasion", 1), ("framing", 0)):
        sel = labels == label
        had = sel & clean_right
        stats.append(DirectionStats(direction, label, int(sel.sum()),
                                    float(clean_right[sel].mean()) if sel.any() else None,
                                    float(robust_right[sel].mean()) if sel.any() else None,
                                    float((~robust_right[had]).mean()) if had.any() else None))
    return stats


def evaluate(model: nn.Module, crops: np.ndarray, labels: np.ndarray, attacks: list[Attack], *,
             calibration: Calibration, threshold: float, mean: float = 0.5, std: float = 0.5,
             seed: int = 0) -> list[AttackResult]:
    """Each attack in both directions on ``crops`` (uint8, the model's input size)."""
    labels = np.asarray(labels, np.int64)
    clean_right = (calibration.apply(logits(model, crops, mean=mean, std=std)) >= threshold) == labels
    results = []
    for attack in attacks:
        adv = perturb(model, crops, labels, attack, mean=mean, std=std, seed=seed)
        right = (calibration.apply(logits(model, adv, mean=mean, std=std)) >= threshold) == labels
        linf = np.abs(adv.astype(np.int16) - crops.astype(np.int16)).reshape(len(crops), -1).max(axis=1)
        for stats in direction_stats(labels, clean_right, right):
            if stats.n:
                results.append(AttackResult(attack.name, attack.eps, stats.direction, stats.n, stats.clean_accuracy,
                                            stats.robust_accuracy, stats.success_rate,
                                            float(linf[labels == stats.label].mean())))
    return results
