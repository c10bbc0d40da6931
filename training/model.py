"""The classifier: a timm backbone trained from scratch with a one-logit head (fake vs real)."""

from __future__ import annotations

import torch
from torch import nn


def build_model(arch: str = "efficientnet_b0", *, drop_rate: float = 0.2, drop_path_rate: float = 0.1) -> nn.Module:
    """A timm model with one output logit. ``pretrained=False``: no weights can be downloaded here, and
    ImageNet features are not what separates real from manipulated faces anyway."""
    import timm

    kwargs = {"drop_rate": drop_rate}
    if drop_path_rate:
        kwargs["drop_path_rate"] = drop_path_rate
    try:
        return timm.create_model(arch, pretrained=False, num_classes=1, **kwargs)
    except TypeError:  # architectures without stochastic depth
        return timm.create_model(arch, pretrained=False, num_classes=1, drop_rate=drop_rate)


class WithSigmoid(nn.Module):
    """Wraps a logit model for export: outputs ``logit`` and ``probability`` (uncalibrated)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logit = self.model(x).reshape(-1)
        return logit, torch.sigmoid(logit)
