"""Split groups for datasets whose fakes swap one identity's face onto another's (FaceForensics++, Celeb-DF).

Identities linked by a face swap are merged with a union-find, so a fake, its target's original and its
source's original always share one group and never straddle a train/val boundary.
"""

from __future__ import annotations

import re


def _natural_key(text: str) -> list[int | str]:
    # re.split with a capture group alternates str, digits, str, ...: types line up position by position.
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


class UnionFind:
    """Identities linked by a swap end up in one component; the component is the split group."""

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        """The component ``x`` belongs to (registering ``x`` as its own when first seen)."""
        self._parent.setdefault(x, x)
        root = x
        while self._parent[root] != root:
            root = self._parent[root]
        while self._parent[x] != root:  # path compression
            self._parent[x], x = root, self._parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        """Put ``a`` and ``b`` (and everything already linked to either) in one component."""
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self._parent[rb] = ra

    def group_names(self, prefix: str) -> dict[str, str]:
        """Identity -> ``prefix`` + its component's identities, naturally sorted and joined with ``_``."""
        members: dict[str, list[str]] = {}
        for x in list(self._parent):
            members.setdefault(self.find(x), []).append(x)
        names: dict[str, str] = {}
        for ids in members.values():
            name = prefix + "_".join(sorted(ids, key=_natural_key))
            names.update(dict.fromkeys(ids, name))
        return names
