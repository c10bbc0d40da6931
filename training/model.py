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
        model = timm.create_model(arch, pretrained=False, num_classes=1, **kwargs)
    except TypeError:  # architectures without stochastic depth
        model = timm.create_model(arch, pretrained=False, num_classes=1, drop_rate=drop_rate)
    zero_init_head(model)
    return model


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


class WithSigmoid(nn.Module):
    """Wraps a logit model for export: outputs ``logit`` and ``probability`` (uncalibrated)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logit = self.model(x).reshape(-1)
        return logit, torch.sigmoid(logit)
