"""One labelled media file of a training or evaluation dataset."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detector.errors import ConfigError
from detector.kinds import FAKE_KINDS

from .families import REAL_FAMILY, UNKNOWN, family_of

REAL, FAKE = 0, 1
MEDIA_KINDS = ("video", "image")


@dataclass(frozen=True)
class MediaItem:
    """A video or image with its label and the group it must be split with.

    Attributes:
        path: absolute path of the file.
        label: 0 real, 1 fake.
        group: leak unit (identity, source video, real/fake pair): items sharing a group always land in the same
            split, so a fake and the original it was made from are never on both sides of a train/val boundary.
        manipulation: ``"none"`` for real items, else the method (``"Deepfakes"``, ``"dfdc"``, ...).
        source: dataset or upstream source name, for per-source metrics.
        media: ``"video"`` or ``"image"``.
        family: ``"real"`` for reals; for fakes the kind of fake (:data:`detector.kinds.FAKE_KINDS`) or
            ``"unknown"``. Left empty, it follows from ``manipulation`` (:func:`.families.family_of`).
    """

    path: Path
    label: int
    group: str
    manipulation: str
    source: str
    media: str
    family: str = ""

    def __post_init__(self) -> None:
        # Coerce str paths so callers (and from_dict) need not; frozen, hence object.__setattr__.
        object.__setattr__(self, "path", Path(self.path))
        if not self.path.is_absolute():
            raise ConfigError(f"media item path must be absolute: {self.path}", path=str(self.path))
        if isinstance(self.label, bool) or self.label not in (REAL, FAKE):
            raise ConfigError(f"label must be 0 (real) or 1 (fake), got {self.label!r}", path=str(self.path))
        object.__setattr__(self, "label", int(self.label))  # numpy integers in, plain int out (JSON)
        if self.media not in MEDIA_KINDS:
            raise ConfigError(f"media must be one of {MEDIA_KINDS}, got {self.media!r}", path=str(self.path))
        if not self.group:
            raise ConfigError("media item group must be non-empty", path=str(self.path))
        # Per-manipulation metrics pair every fake method with the reals; a real with a method name would
        # silently fall out of them, a fake named "none" would be counted as real.
        if self.label == REAL and self.manipulation != "none":
            raise ConfigError(f"real item must have manipulation 'none', got {self.manipulation!r}",
                              path=str(self.path))
        if self.label == FAKE and self.manipulation in ("", "none"):
            raise ConfigError("fake item needs a manipulation name other than 'none'", path=str(self.path))
        if not self.family:
            object.__setattr__(self, "family", family_of(self.manipulation))
        allowed = (REAL_FAMILY,) if self.label == REAL else (*FAKE_KINDS, UNKNOWN)
        if self.family not in allowed:
            raise ConfigError(f"a {'real' if self.label == REAL else 'fake'} item's family must be one of {allowed}, "
                              f"got {self.family!r}", path=str(self.path))

    @property
    def is_fake(self) -> bool:
        return self.label == FAKE

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (path as a string)."""
        return {"path": str(self.path), "label": self.label, "group": self.group, "manipulation": self.manipulation,
                "source": self.source, "media": self.media, "family": self.family}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MediaItem:
        """Inverse of :meth:`to_dict` (extra keys, e.g. cache bookkeeping, are ignored)."""
        return cls(path=Path(data["path"]), label=int(data["label"]), group=str(data["group"]),
                   manipulation=str(data["manipulation"]), source=str(data["source"]), media=str(data["media"]),
                   family=str(data.get("family", "")))
