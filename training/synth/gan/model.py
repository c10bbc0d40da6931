"""The DCGAN generator and discriminator; depth follows from the image size."""

from __future__ import annotations

import torch
from torch import nn

from .config import GANConfig


def init_dcgan_weights(module: nn.Module) -> None:
    """DCGAN init: conv weights ~ N(0, 0.02) (paper, section 4); BatchNorm gamma ~ N(1, 0.02), beta = 0.

    The BatchNorm part follows PyTorch's reference DCGAN (the paper does not say). Apply with ``net.apply``.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class Generator(nn.Module):
    """z (B, latent_dim) -> images (B, 3, size, size) in [-1, 1].

    A 4 x 4 transposed convolution projects z to ``base_channels * 2**(levels-1)`` maps, then each level
    doubles the side and halves the channels; the last one outputs RGB through Tanh (no BatchNorm there).
    """

    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        self.config = config
        channels = config.base_channels * 2 ** (config.levels - 1)
        # Biases are dropped before BatchNorm: its shift makes them redundant.
        layers: list[nn.Module] = [nn.ConvTranspose2d(config.latent_dim, channels, 4, 1, 0, bias=False),
                                   nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]
        for _ in range(config.levels - 1):
            layers += [nn.ConvTranspose2d(channels, channels // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(channels // 2), nn.ReLU(inplace=True)]
            channels //= 2
        layers += [nn.ConvTranspose2d(channels, 3, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def size(self) -> int:
        return self.config.size

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.reshape(z.shape[0], -1, 1, 1))


class Discriminator(nn.Module):
    """Images (B, 3, size, size) in [-1, 1] -> one logit per image (B,).

    Mirrors the generator: stride-2 convolutions with LeakyReLU(0.2) down to 4 x 4 (no BatchNorm on the input
    layer), then a 4 x 4 convolution to a single logit. No sigmoid: the losses use BCE-with-logits, which is
    numerically stable where log(sigmoid) is not.
    """

    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        self.config = config
        channels = config.base_channels
        layers: list[nn.Module] = [nn.Conv2d(3, channels, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
        for _ in range(config.levels - 1):
            layers += [nn.Conv2d(channels, channels * 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(channels * 2), nn.LeakyReLU(0.2, inplace=True)]
            channels *= 2
        layers.append(nn.Conv2d(channels, 1, 4, 1, 0, bias=False))
        self.net = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).reshape(-1)


def build_models(config: GANConfig) -> tuple[Generator, Discriminator]:
    """Both networks, initialised on the CPU from ``config.seed`` alone (same weights on every device).

    The global torch RNG is left as it was.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return Generator(config), Discriminator(config)
