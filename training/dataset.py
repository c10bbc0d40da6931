"""Torch dataset over cached face crops, with self-blended fakes made on the fly from real faces."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from detector.kinds import SWAP
from detector.preprocess import IMAGENET_MEAN, IMAGENET_STD, to_input

from .crops import CachedFaces
from .resolution_match import ResolutionMatch
from .sampling import SBI_SOURCE
from .synth.sbi import SBIConfig, self_blend


@dataclass(frozen=True)
class FaceSample:
    """One face of one media item; ``sbi`` marks a real face to be turned into a self-blended fake."""

    item: int
    face: int
    label: int
    sbi: bool = False


class FaceCropDataset(Dataset):
    """Faces from cached media items, ``k`` faces per item per epoch (videos would otherwise outweigh
    images 32 to 1), optionally with a self-blended fake for each real face.

    Returns ``(input_tensor (3,S,S) float32, label float32, sample index)``.
    """

    def __init__(self, items: Sequence[CachedFaces], *, size: int, faces_per_item: int = 4, sbi: bool = True,
                 augment=None, seed: int = 0, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD, sbi_config: SBIConfig | None = None,
                 resolution_match: ResolutionMatch | None = None) -> None:
        self.items = list(items)
        self.size = size
        self.faces_per_item = faces_per_item
        self.use_sbi = sbi
        self.augment = augment
        self.seed = seed
        self.mean, self.std = tuple(mean), tuple(std)
        self.sbi_config = sbi_config or SBIConfig()
        self.resolution_match = resolution_match or ResolutionMatch()
        self.epoch = 0
        self.samples: list[FaceSample] = []
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        """Re-draw which faces of each item this epoch uses (deterministic per seed and epoch)."""
        self.epoch = epoch
        rng = np.random.default_rng((self.seed, epoch))
        samples = []
        for i, faces in enumerate(self.items):
            n = len(faces)
            k = min(n, self.faces_per_item)
            chosen = np.sort(rng.choice(n, size=k, replace=False)) if n > k else np.arange(n)
            for j in chosen:
                samples.append(FaceSample(i, int(j), faces.item.label))
                if self.use_sbi and faces.item.label == 0:
                    samples.append(FaceSample(i, int(j), 1, sbi=True))
        self.samples = samples

    def labels(self) -> np.ndarray:
        return np.array([s.label for s in self.samples], np.int64)

    def sources(self) -> list[str]:
        """Source of each sample; self-blended fakes are their own source (see ``training.sampling``)."""
        return [SBI_SOURCE if s.sbi else self.items[s.item].item.source for s in self.samples]

    def kind_targets(self, kinds: Sequence[str]) -> np.ndarray:
        """Index into ``kinds`` of each sample's kind of fake; -1 for reals and fakes of unknown kind (no kind loss).

        A self-blended fake is a swap: its one artefact is the blend boundary a swap leaves.
        """
        index = {k: i for i, k in enumerate(kinds)}
        swap = index.get(SWAP, -1)
        return np.array([swap if s.sbi else index.get(self.items[s.item].item.family, -1) if s.label == 1 else -1
                         for s in self.samples], np.int64)

    def origins(self) -> list[str]:
        """Source of the media each sample's face came from (a self-blended fake's is its real face's)."""
        return [self.items[s.item].item.source for s in self.samples]

    def __len__(self) -> int:
        return len(self.samples)

    def image(self, index: int) -> np.ndarray:
        """The uint8 crop of sample ``index`` before augmentation (SBI, then resolution matching, applied)."""
        s = self.samples[index]
        faces = self.items[s.item]
        crop = faces.crops[s.face]
        rng = np.random.default_rng((self.seed, self.epoch, index))
        if s.sbi:
            crop, _ = self_blend(crop, faces.landmarks[s.face], rng, self.sbi_config)
        # After blending: a swap's blending traces go through the same camera and upload as the rest.
        return self.resolution_match(crop, float(faces.sizes[s.face]), rng)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        crop = self.image(index)
        if self.augment is not None:
            crop = self.augment(image=crop)["image"]
        x = to_input(crop[None], size=self.size, mean=self.mean, std=self.std)[0]
        return torch.from_numpy(x), torch.tensor(float(self.samples[index].label)), index

