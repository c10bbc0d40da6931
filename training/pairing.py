"""Paired batches: a fake and the real it was made from, side by side in one optimiser step.

With independent weighted draws a self-blended fake and its own real face seldom share a batch, and the batch's
fakes and reals differ in who they show as much as in how they were made; a net can lower its loss on what a
photo shows. Self-Blended Images (Shiohara & Yamasaki, CVPR 2022) feeds every real face together with its own
blended copy, so inside a batch the content is the same on both sides of the label and only the blending
differs. :func:`pair_batch` does that to a weighted draw without moving its class or domain shares: each drawn
self-blended fake takes the place of the blend of a real of its domain drawn into the same batch, and
each drawn third-party fake whose group holds reals (a DeepFaceLive clip and its real half, a lip-sync fake and
its driver) turns one drawn real of its domain into a real of its own group. The reals keep the distribution
the weights gave them; the self-blended fakes follow the reals' instead of their own (both are balanced by
source and domain, see :mod:`training.sampling`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import BatchSampler, Sampler, WeightedRandomSampler


@dataclass(frozen=True)
class Partners:
    """Who can stand beside whom. Per sample: ``label``, ``sbi`` (a self-blended fake), ``domain``; ``blend_of``
    maps a plain real sample to its self-blended sample; ``group_reals`` maps a third-party fake sample to the
    plain real samples of its group (only fakes whose group holds reals)."""

    label: np.ndarray
    sbi: np.ndarray
    domain: tuple[str, ...]
    blend_of: dict[int, int]
    group_reals: dict[int, tuple[int, ...]]

    @classmethod
    def build(cls, labels: Sequence[int], sbi: Sequence[bool], keys: Sequence[tuple[int, int]],
              groups: Sequence[str], domains: Sequence[str]) -> Partners:
        """From per-sample labels, SBI flags, ``(item, face)`` keys, item groups and domains."""
        labels_a, sbi_a = np.asarray(labels, np.int64), np.asarray(sbi, bool)
        n = len(labels_a)
        if not len(sbi_a) == len(keys) == len(groups) == len(domains) == n:
            raise ValueError("per-sample sequences differ in length")
        real = [i for i in range(n) if labels_a[i] == 0 and not sbi_a[i]]
        real_at = {keys[i]: i for i in real}
        blend_of = {real_at[keys[i]]: i for i in range(n) if sbi_a[i] and keys[i] in real_at}
        reals_by_group: dict[str, list[int]] = {}
        for i in real:
            reals_by_group.setdefault(groups[i], []).append(i)
        group_reals = {i: tuple(reals_by_group[groups[i]]) for i in range(n)
                       if labels_a[i] == 1 and not sbi_a[i] and groups[i] in reals_by_group}
        return cls(labels_a, sbi_a, tuple(domains), blend_of, group_reals)

    def summary(self) -> dict[str, int]:
        return {"reals_with_blend": len(self.blend_of), "fakes_with_group_reals": len(self.group_reals)}


def pair_batch(batch: np.ndarray, partners: Partners, rng: np.random.Generator) -> np.ndarray:
    """``batch`` (sample indices) with its fakes moved next to reals, class and domain counts unchanged.

    A drawn real is used once: as the source of one self-blended fake, or replaced by one group partner. When a
    fake finds no free real of its domain, it stays as drawn (a real of another domain would move both domains'
    counts).

    >>> p = Partners.build([0, 1, 0, 1], [False, True, False, True], [(0, 0), (0, 0), (1, 0), (1, 0)],
    ...                    ["a", "a", "b", "b"], ["d"] * 4)
    >>> pair_batch(np.array([0, 3]), p, np.random.default_rng(0)).tolist()
    [0, 1]
    """
    out = np.asarray(batch, np.int64).copy()
    free = [k for k, i in enumerate(out) if partners.label[i] == 0 and not partners.sbi[i]]

    def take_real(domain: str) -> int | None:
        slot = next((k for k in free if partners.domain[out[k]] == domain), None)
        if slot is not None:
            free.remove(slot)
        return slot

    # Group partners first: they are few and need a real of their group; any real of its domain can serve a blend.
    for k in range(len(out)):
        i = int(out[k])
        if i in partners.group_reals:
            slot = take_real(partners.domain[i])
            if slot is not None:
                reals = partners.group_reals[i]
                out[slot] = reals[int(rng.integers(len(reals)))]
    for k in range(len(out)):
        i = int(out[k])
        if partners.sbi[i]:
            slot = next((s for s in free if int(out[s]) in partners.blend_of
                         and partners.domain[out[s]] == partners.domain[i]), None)
            if slot is not None:
                free.remove(slot)
                out[k] = partners.blend_of[int(out[slot])]
    return out


class PairedBatchSampler(Sampler[list[int]]):
    """``WeightedRandomSampler``'s draws cut into batches by ``BatchSampler`` (the last short batch dropped, as the
    unpaired loader does), each batch then paired by :func:`pair_batch`."""

    def __init__(self, weights: np.ndarray, partners: Partners, *, batch_size: int, seed: int) -> None:
        draws = WeightedRandomSampler(torch.as_tensor(np.asarray(weights, np.float64)), num_samples=len(weights),
                                      replacement=True, generator=torch.Generator().manual_seed(seed))
        self.batches = BatchSampler(draws, batch_size, drop_last=len(weights) > batch_size)
        self.partners = partners
        self.seed = seed

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng(self.seed)
        for batch in self.batches:
            yield pair_batch(np.asarray(batch), self.partners, rng).tolist()
