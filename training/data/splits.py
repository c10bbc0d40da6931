"""Leak-free train/val/test splits by group, and dataset summaries.

Assignment hashes each group, not each item: ``u = sha256(seed, group)`` mapped to [0, 1) puts the group in
test when ``u < test_fraction``, in val when ``u < test_fraction + val_fraction``, else in train. A group's
split therefore depends only on its own name and the seed: adding or removing other items never moves it
(unlike ``GroupShuffleSplit``, whose permutation changes with every added group), so a validation set stays
the same as a dataset grows. Fractions are of groups, in expectation; large groups make item shares uneven.

One deterministic repair follows: when val (or test) lacks a label that at least two train groups carry, the
train group with that label and the smallest ``u`` moves over, so validation AUC is defined. Only this repair
can change when unrelated groups are added (it is undone once hashing alone gives val both labels).
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from detector.errors import ConfigError

from .items import FAKE, REAL, MediaItem

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


def group_unit(group: str, seed: int = 0) -> float:
    """The group's stable position in [0, 1) for ``seed``."""
    digest = hashlib.sha256(f"{seed}\x00{group}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def group_split(items: Sequence[MediaItem], *, val_fraction: float = 0.15, test_fraction: float = 0.0,
                seed: int = 0) -> dict[str, list[MediaItem]]:
    """Split items so that no group is in two splits (see the module docstring for the rule).

    Args:
        items: media items; their order is kept within each split.
        val_fraction: expected share of groups in ``val``.
        test_fraction: expected share of groups in ``test`` (0: ``test`` is empty).
        seed: changes which groups are held out.

    Returns:
        ``{"train": [...], "val": [...], "test": [...]}``.

    Raises:
        ConfigError: fractions negative or summing to 1 or more.
    """
    if val_fraction < 0 or test_fraction < 0 or val_fraction + test_fraction >= 1:
        raise ConfigError(f"need 0 <= val_fraction, test_fraction and a sum below 1; got {val_fraction}, "
                          f"{test_fraction}")
    labels: dict[str, set[int]] = {}
    for it in items:
        labels.setdefault(it.group, set()).add(it.label)
    unit = {g: group_unit(g, seed) for g in labels}
    assign = {g: "test" if u < test_fraction else "val" if u < test_fraction + val_fraction else "train"
              for g, u in unit.items()}
    for split, fraction in (("val", val_fraction), ("test", test_fraction)):
        if fraction > 0:
            _give_both_labels(split, assign, labels, unit)
    out: dict[str, list[MediaItem]] = {name: [] for name in SPLITS}
    for it in items:
        out[assign[it.group]].append(it)
    for split, fraction in (("val", val_fraction), ("test", test_fraction)):
        present = {it.label for it in out[split]}
        if fraction > 0 and present != {REAL, FAKE}:
            log.warning("%s split has labels %s only: too few groups of the other label to hold one out",
                        split, sorted(present))
    return out


def _give_both_labels(split: str, assign: dict[str, str], labels: dict[str, set[int]],
                      unit: dict[str, float]) -> None:
    for label in (REAL, FAKE):
        if any(assign[g] == split and label in labels[g] for g in assign):
            continue
        donors = sorted((unit[g], g) for g in assign if assign[g] == "train" and label in labels[g])
        # Moving the only train group of a label would just move the problem into train.
        if len(donors) >= 2:
            assign[donors[0][1]] = split


def summarize(items: Sequence[MediaItem]) -> dict[str, Any]:
    """Counts for logs and run summaries (JSON-ready).

    Returns:
        ``{"items", "groups", "label": {"real", "fake"}, "media": {...}, "source": {...}, "manipulation": {...},
        "source_label": {source: {"real", "fake"}}}``; inner dicts are sorted by key.
    """
    def counts(key: str) -> dict[str, int]:
        return dict(sorted(Counter(getattr(it, key) for it in items).items()))

    by_label = Counter(it.label for it in items)
    source_label: dict[str, dict[str, int]] = {}
    for it in items:
        entry = source_label.setdefault(it.source, {"real": 0, "fake": 0})
        entry["fake" if it.label == FAKE else "real"] += 1
    return {
        "items": len(items),
        "groups": len({it.group for it in items}),
        "label": {"real": by_label[REAL], "fake": by_label[FAKE]},
        "media": counts("media"),
        "source": counts("source"),
        "manipulation": counts("manipulation"),
        # Per source because a source with one label only is a shortcut a classifier can learn.
        "source_label": dict(sorted(source_label.items())),
    }
