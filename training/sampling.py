"""Per-sample weights that balance classes, sources and synthetic fakes in each training epoch.

Plain class balancing lets the biggest source of each class define what "real" and "fake" look like. In
``../shared/data/train`` 97% of the real faces are LFW-style and UTKFace photos while the GAN fakes are
FFHQ-aligned StyleGAN crops, so a class-balanced model learned "FFHQ-looking photo = fake" and scored the
real FFHQ photos of the eval set as fake (session-1 per-source report). Here every sample belongs to a
stratum ``(label, source)``; self-blended fakes form one stratum of their own. Each class gets half the
mass; inside a class a source gets mass proportional to ``count ** (1 - source_balance)`` (0: by size,
1: every source equal), and self-blended fakes get ``sbi_share`` of the fake mass (they teach the blending
traces every face swap leaves, the third-party fakes teach GAN and talking-head traces).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

SBI_SOURCE = "self-blended"


def stratified_weights(labels: Sequence[int], sources: Sequence[str], *, source_balance: float = 0.5,
                       sbi_share: float = 0.5) -> np.ndarray:
    """Sampling weight per sample (sums to 1). ``sources[i] == SBI_SOURCE`` marks a self-blended fake.

    >>> w = stratified_weights([0, 0, 0, 1], ["a", "a", "b", "gan"], source_balance=1.0)
    >>> [round(float(x), 3) for x in w]
    [0.125, 0.125, 0.25, 0.5]
    """
    if not 0.0 <= source_balance <= 1.0:
        raise ValueError(f"source_balance must be in [0, 1], got {source_balance}")
    if not 0.0 <= sbi_share <= 1.0:
        raise ValueError(f"sbi_share must be in [0, 1], got {sbi_share}")
    labels = [int(x) for x in labels]
    if len(labels) != len(sources):
        raise ValueError("labels and sources differ in length")
    counts = Counter(zip(labels, sources, strict=True))
    present = sorted(set(labels))
    mass: dict[tuple[int, str], float] = {}
    for label in present:
        strata = [k for k in counts if k[0] == label]
        sbi = [k for k in strata if k[1] == SBI_SOURCE]
        other = [k for k in strata if k[1] != SBI_SOURCE]
        # SBI gets its share only when both kinds exist; otherwise whichever exists takes the whole class.
        sbi_mass = (sbi_share if other else 1.0) if sbi else 0.0
        raw = {k: counts[k] ** (1.0 - source_balance) for k in other}
        total = sum(raw.values())
        for k in sbi:
            mass[k] = sbi_mass / len(present)
        for k, r in raw.items():
            mass[k] = (1.0 - sbi_mass) * r / total / len(present)
    w = np.array([mass[(y, s)] / counts[(y, s)] for y, s in zip(labels, sources, strict=True)], np.float64)
    return w / w.sum()


def stratum_shares(labels: Sequence[int], sources: Sequence[str], weights: np.ndarray) -> dict[str, float]:
    """Expected share of each ``label:source`` stratum in a weighted epoch (logged beside the run)."""
    out: dict[str, float] = {}
    for y, s, w in zip(labels, sources, weights, strict=True):
        key = f"{'fake' if y else 'real'}:{s}"
        out[key] = out.get(key, 0.0) + float(w)
    return {k: round(v, 4) for k, v in sorted(out.items(), key=lambda kv: -kv[1])}


def reweight_within_strata(weights: np.ndarray, labels: Sequence[int], sources: Sequence[str],
                           multipliers: np.ndarray) -> np.ndarray:
    """Multiply each sample's weight, then rescale every ``(label, source)`` stratum back to its mass: which
    samples of a stratum are drawn changes, how much each stratum is drawn does not.

    >>> w = reweight_within_strata(np.array([0.25, 0.25, 0.5]), [0, 0, 1], ["a", "a", "b"], np.array([3.0, 1.0, 5.0]))
    >>> [round(float(x), 3) for x in w]
    [0.375, 0.125, 0.5]
    """
    w = np.asarray(weights, np.float64)
    out = w * np.asarray(multipliers, np.float64)
    if not len(w) == len(labels) == len(sources) == len(out):
        raise ValueError("weights, labels, sources and multipliers differ in length")
    keys = np.array([f"{int(y)}:{s}" for y, s in zip(labels, sources, strict=True)], dtype=object)
    for key in set(keys.tolist()):
        sel = keys == key
        if out[sel].sum() > 0:
            out[sel] *= w[sel].sum() / out[sel].sum()
    return out / out.sum()


def balance_domains(weights: np.ndarray, labels: Sequence[int], domains: Sequence[str]) -> np.ndarray:
    """Re-weight the real samples so that, inside every domain, reals carry the same mass as fakes.

    A *domain* is a kind of media whose look is not evidence: FFHQ portraits and the GAN and diffusion
    portraits made to look like them, talking-head driving videos and the talking heads made from them, one
    source's reals and its self-blended fakes. ``stratified_weights`` balances the classes overall, but not
    inside a domain: the portrait domain held less mass as reals than as StyleGAN, Stable Diffusion and
    self-blended portraits, and the model learned "studio portrait = fake" (``training/EXPERIMENTS.md``). Here
    the reals of each domain are scaled to the domain's fake mass, so the look of a domain predicts
    nothing; fake samples keep their weights (what the fake class is made of does not change). Reals in a
    domain without fakes, and fakes in a domain without reals, are left as they are; at the end the real
    class is scaled back to the fake class's total.

    >>> w = balance_domains(np.array([0.25, 0.25, 0.4, 0.1]), [0, 0, 1, 1], ["a", "b", "a", "b"])
    >>> [round(float(x), 3) for x in w]
    [0.4, 0.1, 0.4, 0.1]
    """
    w = np.asarray(weights, np.float64).copy()
    y = np.asarray(labels, np.int64)
    d = np.asarray(list(domains), dtype=object)
    if not len(w) == len(y) == len(d):
        raise ValueError("weights, labels and domains differ in length")
    for domain in set(d.tolist()):
        in_domain = d == domain
        real, fake = in_domain & (y == 0), in_domain & (y == 1)
        real_mass, fake_mass = w[real].sum(), w[fake].sum()
        if real_mass > 0 and fake_mass > 0:
            w[real] *= fake_mass / real_mass
    real_total, fake_total = w[y == 0].sum(), w[y == 1].sum()
    if real_total > 0 and fake_total > 0:
        w[y == 0] *= fake_total / real_total
    return w / w.sum()


def sample_domains(sources: Sequence[str], domains: dict[str, str]) -> list[str]:
    """Domain of each sample: ``domains[source]``, else the source itself (its reals and its fakes)."""
    return [domains.get(s, s) for s in sources]
