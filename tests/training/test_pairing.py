"""Paired batches (``training.pairing``): fakes beside the reals they were made from, class and domain counts kept."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

pytest.importorskip("torch")

from training.pairing import PairedBatchSampler, Partners, pair_batch


def _partners() -> Partners:
    """Portrait reals 0..5 with blends 6..11; a GAN fake 12 (no group reals); video reals 13..14 (group "g") with
    blends 15..16 and a swap 17 of group "g"; a video real 18 of another group, with its blend 19."""
    labels, sbi, keys, groups, domains = [], [], [], [], []

    def add(label: int, blend: bool, key: tuple[int, int], group: str, domain: str) -> None:
        labels.append(label), sbi.append(blend), keys.append(key), groups.append(group), domains.append(domain)

    for i in range(6):
        add(0, False, (i, 0), f"p{i}", "portrait")
    for i in range(6):
        add(1, True, (i, 0), f"p{i}", "portrait")
    add(1, False, (6, 0), "gan0", "portrait")
    add(0, False, (7, 0), "g", "video"), add(0, False, (8, 0), "g", "video")
    add(1, True, (7, 0), "g", "video"), add(1, True, (8, 0), "g", "video")
    add(1, False, (9, 0), "g", "video")
    add(0, False, (10, 0), "h", "video"), add(1, True, (10, 0), "h", "video")
    return Partners.build(labels, sbi, keys, groups, domains)


def _counts(batch: np.ndarray, p: Partners) -> Counter:
    return Counter((int(p.label[i]), bool(p.sbi[i]), p.domain[i]) for i in batch)


def test_partners_link_blends_to_their_reals_and_swaps_to_their_groups_reals():
    p = _partners()
    assert p.blend_of == {0: 6, 1: 7, 2: 8, 3: 9, 4: 10, 5: 11, 13: 15, 14: 16, 18: 19}
    assert p.group_reals == {17: (13, 14)}  # the GAN fake's group holds no real
    assert p.summary() == {"reals_with_blend": 9, "fakes_with_group_reals": 1}


def test_a_drawn_blend_becomes_the_blend_of_a_drawn_real_of_its_domain():
    p = _partners()
    out = pair_batch(np.array([0, 1, 18, 9, 19, 12]), p, np.random.default_rng(0))
    # Blend 9 (portrait) takes real 0's blend, blend 19 (video) takes real 18's, the GAN fake stays.
    assert out.tolist() == [0, 1, 18, 6, 19, 12]
    assert _counts(out, p) == _counts(np.array([0, 1, 18, 9, 19, 12]), p)


def test_a_swap_turns_a_real_of_its_domain_into_a_real_of_its_group():
    p = _partners()
    out = pair_batch(np.array([0, 18, 17]), p, np.random.default_rng(0))
    assert out[0] == 0 and out[2] == 17 and out[1] in (13, 14)  # the video real, not the portrait one, moved


def test_without_a_free_real_a_fake_stays_as_drawn():
    p = _partners()
    assert pair_batch(np.array([6, 7, 12, 17]), p, np.random.default_rng(0)).tolist() == [6, 7, 12, 17]
    # One real, two blends: one pairs, the other stays.
    assert pair_batch(np.array([2, 6, 7]), p, np.random.default_rng(0)).tolist() == [2, 8, 7]


def test_pairing_keeps_class_and_domain_counts_and_pairs_every_blend_it_can():
    p = _partners()
    rng = np.random.default_rng(1)
    paired_total = 0
    for _ in range(200):
        batch = rng.integers(0, len(p.label), size=8)
        out = pair_batch(batch, p, rng)
        assert _counts(out, p) == _counts(batch, p)
        for domain in ("portrait", "video"):
            mine = [int(i) for i in out if p.domain[i] == domain]
            blends = [i for i in mine if p.sbi[i]]
            own = sum(b in {p.blend_of.get(r) for r in mine} for b in blends)
            paired_total += own
            # Every blend is paired while its domain's reals last (each swap with group reals uses one of them).
            free = sum(i in p.blend_of for i in mine) - sum(i in p.group_reals for i in mine)
            assert own >= min(len(blends), free)
    assert paired_total > 0


def test_sampler_draws_by_weight_in_full_batches_and_repeats_per_seed():
    p = _partners()
    weights = np.where(p.label == 0, 1.0, 0.5)
    sampler = PairedBatchSampler(weights, p, batch_size=4, seed=3)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 5 and all(len(b) == 4 for b in batches)
    assert batches == list(PairedBatchSampler(weights, p, batch_size=4, seed=3))
    assert batches != list(PairedBatchSampler(weights, p, batch_size=4, seed=4))
    # Class shares follow the weights (pairing moves none). 960 draws: the share's SD is 0.016, so 0.05 is 3 SD.
    big = [i for b in PairedBatchSampler(np.tile(weights, 50), _tiled(p, 50), batch_size=64, seed=0) for i in b]
    expected = weights[p.label == 0].sum() / weights.sum()
    assert np.mean([p.label[i % len(p.label)] == 0 for i in big]) == pytest.approx(expected, abs=0.05)


def _tiled(p: Partners, n: int) -> Partners:
    """``p`` repeated ``n`` times (indices shifted), for a sampler with more samples than a batch."""
    m = len(p.label)
    return Partners(np.tile(p.label, n), np.tile(p.sbi, n), p.domain * n,
                    {r + k * m: b + k * m for k in range(n) for r, b in p.blend_of.items()},
                    {f + k * m: tuple(r + k * m for r in rs) for k in range(n) for f, rs in p.group_reals.items()})
