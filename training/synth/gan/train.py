"""The training loop: D on a real and a generated batch, then G with the non-saturating loss."""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch.nn import functional as F

from detector.errors import ConfigError

from ...device import resolve_device
from .config import GANConfig
from .model import Discriminator, Generator, build_models

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GANLogEntry:
    """Means over the steps since the previous entry.

    Attributes:
        step: last step included (1-based).
        d_loss: discriminator loss, BCE on real plus BCE on fake (2 ln 2 ~ 1.39 when D is at chance).
        g_loss: non-saturating generator loss, -log D(G(z)) (ln 2 ~ 0.69 when D is at chance).
        d_real: mean D(x), the probability D gives real crops.
        d_fake: mean D(G(z)) before the discriminator's update, the probability D gives generated ones.
    """

    step: int
    d_loss: float
    g_loss: float
    d_real: float
    d_fake: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

def _to_unit(images_uint8: torch.Tensor) -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) float in [-1, 1], the range of the generator's Tanh."""
    return images_uint8.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)


def train_gan(crops_uint8: np.ndarray, config: GANConfig | None = None, *,
              log_every: int = 100) -> tuple[Generator, Discriminator, list[GANLogEntry]]:
    """Train a DCGAN on real face crops.

    Each step updates D once on a real and a generated batch (passed separately, so BatchNorm never mixes
    them, as in the paper), then G once with the non-saturating loss on the same generated batch.

    Args:
        crops_uint8: ``(N, size, size, 3)`` uint8 RGB crops, ``size`` = ``config.size``.
        config: run settings (defaults: :class:`GANConfig`).
        log_every: steps per history entry (a last, shorter interval is logged too).

    Returns:
        ``(generator, discriminator, history)``, both networks in eval mode on the training device.

    Raises:
        ConfigError: no crops, or crops of the wrong shape.
        FloatingPointError: a loss became NaN or infinite.
    """
    config = config or GANConfig()
    crops_uint8 = np.asarray(crops_uint8)
    if crops_uint8.ndim != 4 or crops_uint8.shape[1:] != (config.size, config.size, 3) or len(crops_uint8) == 0:
        raise ConfigError(f"need (N>0, {config.size}, {config.size}, 3) crops, got {crops_uint8.shape}")
    if crops_uint8.dtype != np.uint8:
        raise ConfigError(f"crops must be uint8, got {crops_uint8.dtype}")
    if log_every < 1:
        raise ConfigError(f"log_every must be >= 1, got {log_every}")
    device = resolve_device(config.device)
    generator, discriminator = (net.to(device).train() for net in build_models(config))
    opt_g = torch.optim.Adam(generator.parameters(), lr=config.lr, betas=config.betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=config.lr, betas=config.betas)
    # Kept as uint8 on the device (a quarter of float32's memory); converted a batch at a time.
    data = torch.from_numpy(np.ascontiguousarray(crops_uint8)).to(device)
    rng = torch.Generator(device=device).manual_seed(config.seed)
    batch = config.batch_size
    ones = torch.ones(batch, device=device)
    zeros = torch.zeros(batch, device=device)

    history: list[GANLogEntry] = []
    sums = torch.zeros(4, device=device, dtype=torch.float64)  # d_loss, g_loss, d_real, d_fake; synced at logs
    since = 0
    for step in range(1, config.steps + 1):
        # Sampling with replacement: also works when the data set is smaller than a batch.
        idx = torch.randint(len(data), (batch,), device=device, generator=rng)
        real = _to_unit(data[idx])
        if config.hflip:
            flip = torch.rand(batch, device=device, generator=rng) < 0.5
            real = torch.where(flip[:, None, None, None], real.flip(3), real)
        z = torch.randn(batch, config.latent_dim, device=device, generator=rng)
        fake = generator(z)

        discriminator.requires_grad_(True)
        opt_d.zero_grad(set_to_none=True)
        logit_real = discriminator(real)
        logit_fake = discriminator(fake.detach())
        d_loss = (F.binary_cross_entropy_with_logits(logit_real, ones)
                  + F.binary_cross_entropy_with_logits(logit_fake, zeros))
        d_loss.backward()
        opt_d.step()

        # Non-saturating G loss: BCE against "real" labels = -log D(G(z)). D's weights get no gradient here.
        discriminator.requires_grad_(False)
        opt_g.zero_grad(set_to_none=True)
        g_loss = F.binary_cross_entropy_with_logits(discriminator(fake), ones)
        g_loss.backward()
        opt_g.step()

        with torch.no_grad():
            sums += torch.stack([d_loss.detach(), g_loss.detach(), torch.sigmoid(logit_real).mean(),
                                 torch.sigmoid(logit_fake).mean()]).double()
        since += 1
        if step % log_every == 0 or step == config.steps:
            means = (sums / since).tolist()
            if not all(math.isfinite(v) for v in means):
                raise FloatingPointError(f"GAN losses are not finite at step {step}: {means}")
            entry = GANLogEntry(step, *means)
            history.append(entry)
            log.info("step %d/%d  d_loss %.3f  g_loss %.3f  D(x) %.3f  D(G(z)) %.3f", step, config.steps,
                     entry.d_loss, entry.g_loss, entry.d_real, entry.d_fake)
            sums.zero_()
            since = 0
    discriminator.requires_grad_(True)
    return generator.eval(), discriminator.eval(), history
