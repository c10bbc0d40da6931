"""The training recipe: ``TrainConfig()`` *is* the recipe of the bundled default model.

There is no second copy in a JSON file: ``python -m training.default_model`` trains ``TrainConfig()`` (plus
``--set`` overrides), and a config file given to ``deepfake train`` states only what it changes. Options that
were tried and did not ship are not fields here; their held-out records are in ``training/EXPERIMENTS.md``. An
option worth keeping runnable lives in :mod:`training.experiments` and is switched on through ``experiments``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from detector.config import reject_unknown_keys
from detector.errors import ConfigError
from detector.faces.align import AlignSpec
from detector.kinds import FAKE_KINDS
from detector.recipe import ClassifySpec, SamplingSpec, ScanConfig, ScanRecipe

from .crops import CropCacheConfig
from .experiments import build_experiments

# Sources whose reals and fakes share a look (studio portraits; talking-head driving videos): inside each domain
# the reals carry the same sampling mass as the fakes, so the look cannot predict the label
# (``training.sampling.balance_domains``). Sources not named here are a domain of their own.
SHIPPED_DOMAINS: Mapping[str, str] = {
    **dict.fromkeys(("dinablachman/realorfake", "yuval-alaluf/hyperstyle", "TencentARC/PhotoMaker",
                     "Tengfei-Wang/HFGI", "serengil/deepface", "ageitgey/face_recognition", "deepinsight/insightface",
                     "ai-forever/ghost", "BaseMax/FakeFaces", "gebaltso/SDFD",
                     "a312863063/seeprettyface-generator-star", "a312863063/seeprettyface-generator-wanghong",
                     "a312863063/seeprettyface-generator-yellow"), "portrait photo"),
    **dict.fromkeys(("KwaiVGI/LivePortrait", "Hangz-nju-cuhk/Talking-Face_PC-AVS", "OpenTalker/DPE",
                     "OpenTalker/video-retalking", "wyhsirius/LIA", "harlanhong/CVPR2022-DaGAN",
                     "yoyo-nb/Thin-Plate-Spline-Motion-Model", "OpenTalker/SadTalker",
                     "Zz-ww/SadTalker-Video-Lip-Sync"), "talking-head video"),
}

# Options that left the product, with the value that meant "off". A recorded config (a checkpoint's, a card's)
# that has them off still loads; one that turned them on is refused rather than silently trained without them.
_REMOVED_OPTIONS: Mapping[str, Any] = {
    "pair_batches": False, "augment_fade": 0.0, "augment_degrade": 0.0, "degrade_before_blend": False,
    "freeze_stages": 0, "train_patch": 0, "weight_average_from": 0.0, "head_only_epochs": 0, "source_weights": None,
    "content_balance": 0.0, "content_clip": None, "sbi_mask": "hull",
}
# Adversarial training moved into ``experiments``; its old flat keys are translated.
_ADVERSARIAL_KEYS = {"adversarial_share": "share", "adversarial_eps": "eps", "adversarial_method": "method",
                     "adversarial_steps": "steps"}


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on; the defaults are the shipped recipe. JSON keys must match these names
    (unknown keys are refused). ``training/README.md`` says what each option does.

    Attributes:
        data: dataset specs (a manifest CSV, or a folder in a supported layout), all used together
            (``training.recipe_data.RecipeData().training()``: the v2 candidates' data, see ``training/README.md``).
        data_split: only items whose manifest ``split`` column has this value (None: all).
        out: run folder (checkpoints, config, log).
        cache: crop-cache root.
        arch: timm architecture; input size = crop size (``align_size``).
        pretrained: start from the ImageNet weights installed with the ``train`` extra
            (``training.model.PRETRAINED_BACKBONES``); the input normalisation follows the weights.
        align_size, align_margin: the face crop (:class:`detector.faces.align.AlignSpec`).
        scan: overrides of the default scan recipe (:class:`detector.recipe.ScanConfig`, e.g. ``{"frames": 16}``):
            training videos are sampled by it, and the card records it as the model's recipe. Shipped:
            ``combine_persons="mean_odds"`` (the file's probability from its persons', not training's concern).
        sbi: add a self-blended fake for each real face.
        source_balance: 0 samples each class's sources by size, 1 gives every source equal weight
            (``training.sampling``: it keeps the biggest real source from defining "real").
        sbi_share: share of the fake class drawn from self-blended fakes.
        domains: source -> domain for domain balancing (see ``SHIPPED_DOMAINS``); None: off.
        resolution_match: share of training crops re-sampled as if their face had been 64-320 px wide in its source,
            both classes alike (``training.resolution_match``: crop detail would otherwise track the source).
        faces_per_item: faces drawn per media item per epoch.
        val_fraction: share of groups held out for validation, early stopping and calibration.
        epochs, batch_size, lr, weight_decay, warmup_epochs: AdamW with linear warm-up and cosine decay.
        grad_clip: clip the gradient norm to this (0: off).
        augment_strength: scales every augmentation probability (``training.augment``).
        mirror_images: the card's scan recipe classifies still images' faces with their mirror image too
            (:class:`detector.recipe.ClassifySpec`); inference only.
        drop_rate, drop_path_rate: dropout before the head and stochastic depth (timm's), training only.
        patience: epochs without a better validation AUC before stopping.
        max_steps: stop after this many optimiser steps (tests, quick runs); 0: no limit.
        workers: data-loader and crop-cache worker processes.
        seed: seeds everything; split_seed: seed of the validation split (None: ``seed``), so that several seeds
            of one recipe are compared on the same validation groups.
        device: ``auto`` (CUDA if available), ``cpu`` or ``cuda``.
        init_from: a checkpoint (``best.pt``) to start from: fine-tuning on your own data.
        kind_weight: weight of the kind-of-fake loss (cross-entropy over fakes of a known kind, self-blended fakes
            counting as swaps) beside the real/fake loss; 0: no kind head (every model before v2).
        experiments: optional training plug-ins by name with their settings (:mod:`training.experiments`), e.g.
            ``{"adversarial": {"share": 0.5, "eps": 2, "method": "pgd"}}``; none in the shipped recipe.
    """

    data: tuple[str, ...] = ("../shared/data/MANIFEST.csv",)
    data_split: str | None = "train"
    out: str = "runs/default"
    cache: str = "~/.cache/deepfake-detector/crops"
    arch: str = "tf_efficientnet_lite0"
    pretrained: bool = True
    align_size: int = 224
    align_margin: float = 0.3
    scan: ScanConfig = field(default_factory=lambda: ScanConfig(combine_persons="mean_odds"))
    sbi: bool = True
    source_balance: float = 0.5
    sbi_share: float = 0.5
    domains: Mapping[str, str] | None = field(default_factory=lambda: dict(SHIPPED_DOMAINS))
    resolution_match: float = 0.7
    faces_per_item: int = 8
    val_fraction: float = 0.1
    epochs: int = 5
    batch_size: int = 64
    lr: float = 3e-4
    weight_decay: float = 0.05
    warmup_epochs: float = 0.5
    grad_clip: float = 2.0
    augment_strength: float = 1.0
    mirror_images: bool = True
    drop_rate: float = 0.2
    drop_path_rate: float = 0.1
    patience: int = 5
    max_steps: int = 0
    workers: int = 2
    seed: int = 0
    split_seed: int | None = None
    device: str = "auto"
    init_from: str | None = None
    kind_weight: float = 0.3
    experiments: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (0 <= self.kind_weight and math.isfinite(self.kind_weight)):
            raise ConfigError(f"kind_weight must be finite and >= 0, got {self.kind_weight}")
        if not (0 <= self.drop_rate < 1 and 0 <= self.drop_path_rate < 1):
            raise ConfigError(f"drop_rate and drop_path_rate must be in [0, 1), got {self.drop_rate}, {self.drop_path_rate}")
        # Built once here, so a misspelt plug-in or setting fails before hours of crop caching, not at the first batch.
        build_experiments(self.experiments)

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kind head's classes, in output order; empty without one."""
        return FAKE_KINDS if self.kind_weight > 0 else ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        kwargs = _upgrade(data)
        reject_unknown_keys(cls, kwargs, what="training config")
        if "data" in kwargs:
            kwargs["data"] = tuple(kwargs["data"]) if not isinstance(kwargs["data"], str) else (kwargs["data"],)
        if isinstance(kwargs.get("scan"), Mapping):
            reject_unknown_keys(ScanConfig, kwargs["scan"], what="training config scan")
            kwargs["scan"] = ScanConfig(**kwargs["scan"])
        return cls(**kwargs)

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> TrainConfig:
        """A config a run recorded (a checkpoint's, a card's): complete for its time, so a field it lacks did not
        exist then and means that era's behaviour, not today's default (no kind head before ``kind_weight``)."""
        return cls.from_dict({"kind_weight": 0.0, **data})

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TrainConfig:
        """A JSON file of overrides of the shipped recipe (or a run's saved ``config.json``)."""
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except (OSError, ValueError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"cannot read training config {path}: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["data"] = list(self.data)
        d["domains"] = dict(self.domains) if self.domains is not None else None
        d["experiments"] = {k: dict(v) for k, v in self.experiments.items()}
        d["scan"] = self.scan.overrides()
        return d

    @property
    def validation_seed(self) -> int:
        return self.seed if self.split_seed is None else self.split_seed

    def align_spec(self) -> AlignSpec:
        return AlignSpec(size=self.align_size, margin=self.align_margin)

    def scan_recipe(self) -> ScanRecipe:
        """The scan recipe the trained model's card records: videos sampled as its training crops were."""
        return self.scan.apply(ScanRecipe(align=self.align_spec(), classify=ClassifySpec(mirror_images=self.mirror_images)))

    def crop_cache_config(self) -> CropCacheConfig:
        return CropCacheConfig.from_recipe(self.scan_recipe())


def parse_pairs(pairs: Sequence[str], *, allowed: set[str], flag: str = "--set") -> dict[str, Any]:
    """``KEY=VALUE`` command-line pairs as a dict: values parsed as JSON where they parse, else strings."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in allowed:
            raise ConfigError(f"{flag} expects KEY=VALUE with KEY in {sorted(allowed)}, got {pair!r}")
        try:
            out[key] = json.loads(value)  # numbers, true/false/null, lists, objects
        except ValueError:
            out[key] = value  # plain strings need no quotes
    return out


def apply_overrides(config: TrainConfig, pairs: Sequence[str]) -> TrainConfig:
    """``config`` with ``KEY=VALUE`` overrides (``--set``; values parsed as JSON where they parse, else strings)."""
    data = {**config.to_dict(), **parse_pairs(pairs, allowed={f.name for f in fields(TrainConfig)})}
    if isinstance(data["data"], str):
        data["data"] = [data["data"]]
    return TrainConfig.from_dict(data)


def _upgrade(data: Mapping[str, Any]) -> dict[str, Any]:
    """A recorded config in today's keys: removed options dropped where they were off, adversarial training moved
    into ``experiments``."""
    out = dict(data)
    for key, off in _REMOVED_OPTIONS.items():
        if key in out:
            value = out.pop(key)
            if off is not None and value != off:
                raise ConfigError(f"training option {key}={value!r} was removed (tried, not shipped: see "
                                  f"training/EXPERIMENTS.md); this version cannot train that recipe")
    if "frames_per_video" in out:  # the frame count moved into the scan overrides, the default spelled as None
        frames = out.pop("frames_per_video")
        if frames != SamplingSpec.frames:
            out["scan"] = {**out.get("scan", {}), "frames": frames}
    legacy = {new: out.pop(old) for old, new in _ADVERSARIAL_KEYS.items() if old in out}
    if legacy.get("share", 0) > 0:
        out["experiments"] = {**out.get("experiments", {}), "adversarial": legacy}
    return out
