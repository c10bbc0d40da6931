"""Leak-free group splits and dataset summaries."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from detector.errors import ConfigError
from training.data import MediaItem, from_folders, group_split, summarize


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 7])
def test_group_split_never_shares_a_group(seed, random_items, assert_group_disjoint):
    rng = random.Random(seed)
    items = random_items(rng, rng.randint(5, 300))
    splits = group_split(items, val_fraction=rng.uniform(0.05, 0.4), test_fraction=rng.choice([0.0, 0.1, 0.2]),
                         seed=seed)
    assert set(splits) == {"train", "val", "test"}
    assert_group_disjoint(splits, items)
    labels = {it.label for it in items}
    if len({it.group for it in items if it.label == 1}) >= 3:
        assert {it.label for it in splits["val"]} == labels == {it.label for it in splits["train"]}


def test_group_split_is_deterministic_and_stable_when_items_are_added(random_items):
    items = random_items(random.Random(0), 200)
    first = group_split(items, seed=5)
    assert first == group_split(list(items), seed=5)
    assert first != group_split(items, seed=6)
    extra = random_items(random.Random(1), 100, prefix="new")
    again = group_split(items + extra, seed=5)
    where = {it.path: name for name, part in again.items() for it in part}
    assert all(where[it.path] == name for name, part in first.items() for it in part)
    assert 0.05 < len(again["val"]) / len(items + extra) < 0.3


def test_group_split_keeps_both_labels_in_val_when_possible(assert_group_disjoint):
    reals = [MediaItem(path=Path(f"/d/r{i}.jpg"), label=0, group=f"r{i}", manipulation="none", source="s",
                       media="image") for i in range(40)]
    fakes = [MediaItem(path=Path(f"/d/f{i}.jpg"), label=1, group=f"f{i}", manipulation="m", source="s",
                       media="image") for i in range(2)]
    for seed in range(10):
        splits = group_split(reals + fakes, val_fraction=0.1, seed=seed)
        assert {it.label for it in splits["val"]} == {0, 1} == {it.label for it in splits["train"]}
        assert_group_disjoint(splits, reals + fakes)
    # One fake group cannot be on both sides: it stays in train, val goes without.
    splits = group_split(reals + fakes[:1], val_fraction=0.1, seed=0)
    assert fakes[0] in splits["train"] and {it.label for it in splits["val"]} == {0}


def test_group_split_refuses_bad_fractions():
    for val, test in ((-0.1, 0.0), (0.5, 0.5), (1.0, 0.0), (0.2, -0.1)):
        with pytest.raises(ConfigError):
            group_split([], val_fraction=val, test_fraction=test)


def test_summarize_counts(folders_root):
    summary = summarize(from_folders(folders_root))
    assert summary["items"] == 5 and summary["groups"] == 3
    assert summary["label"] == {"real": 2, "fake": 3}
    assert summary["media"] == {"image": 3, "video": 2}
    assert summary["manipulation"] == {"FaceSwap": 1, "none": 2, "p1": 1, "unknown": 1}
    assert summary["source"] == {"mydata": 5} and summary["source_label"] == {"mydata": {"real": 2, "fake": 3}}
    assert json.loads(json.dumps(summary)) == summary
