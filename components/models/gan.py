"""Conditional DCGAN for small images: generator and discriminator in one module.

One `nn.Module` holds both networks, so one safetensors file carries the whole GAN. What keeps
it stable: spectral norm on every discriminator layer, a projection discriminator for the class,
one-sided label smoothing, two-timescale learning rates and an exponential moving average of
the generator's weights, which is what generates (`components/kinds/image_generation/fit.py`).
"""

from __future__ import annotations

import copy

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from components.models.registry import register_family


class GANConfig(BaseModel):
    """Network widths, and the adversarial training knobs the GAN adds to `train:`."""

    model_config = ConfigDict(extra="forbid")

    latent_dim: int = Field(32, ge=1, description="size of the generator's noise vector")
    width: int = Field(16, ge=4, description="feature maps of the finest resolution")
    embedding_dim: int = Field(16, ge=1, description="size of the generator's class embedding")
    conditional: bool = Field(True, description="condition both networks on the class")
    spectral_norm: bool = Field(True, description="spectral norm on the discriminator")
    real_label: float = Field(
        0.9, gt=0.5, le=1.0, description="one-sided label smoothing: target for real images"
    )
    d_lr_factor: float = Field(
        2.0, gt=0, description="two-timescale: discriminator lr = train.learning_rate x this"
    )
    beta1: float = Field(0.5, ge=0, lt=1, description="Adam beta1 of both optimizers")
    ema_decay: float = Field(
        0.99, ge=0, lt=1, description="generator weights averaged over steps; 0 turns it off"
    )
    sample_every: int = Field(5, ge=1, description="epochs between sample grids in training/")


def upsampling_stages(image_size: int) -> int:
    """How often the generator doubles its resolution: up to 4, from a start of at least 2x2."""
    stages = 0
    while stages < 4 and image_size % (2 ** (stages + 1)) == 0 and image_size >> (stages + 1) >= 2:
        stages += 1
    return stages


class Generator(nn.Module):
    """(noise, class) → Linear → [ConvTranspose ×2 → BN → ReLU] × k → Conv 3x3 → tanh."""

    def __init__(self, config: GANConfig, n_classes: int, channels: int, image_size: int):
        super().__init__()
        self.conditional = config.conditional
        stages = upsampling_stages(image_size)
        self.start = image_size >> stages
        self.start_channels = config.width * 2**stages
        self.embed = nn.Embedding(n_classes, config.embedding_dim) if config.conditional else None
        inputs = config.latent_dim + (config.embedding_dim if config.conditional else 0)
        self.project = nn.Sequential(
            nn.Linear(inputs, self.start_channels * self.start**2, bias=False),
            nn.BatchNorm1d(self.start_channels * self.start**2),
            nn.ReLU(),
        )
        layers: list[nn.Module] = []
        width = self.start_channels
        for _ in range(stages):
            layers += [
                nn.ConvTranspose2d(width, width // 2, 4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(width // 2),
                nn.ReLU(),
            ]
            width //= 2
        layers += [nn.Conv2d(width, channels, 3, padding=1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        # z: (B, latent), labels: (B,) → (B, C, H, W) in [-1, 1]
        if self.embed is not None:
            z = torch.cat([z, self.embed(labels)], dim=1)
        h = self.project(z).view(len(z), self.start_channels, self.start, self.start)
        return self.net(h)


class Discriminator(nn.Module):
    """Strided convolutions with spectral norm; a projection head scores (image, class) pairs."""

    def __init__(self, config: GANConfig, n_classes: int, channels: int, image_size: int):
        super().__init__()
        norm = nn.utils.parametrizations.spectral_norm if config.spectral_norm else (lambda m: m)
        stages = upsampling_stages(image_size)
        width = config.width
        layers: list[nn.Module] = [
            norm(nn.Conv2d(channels, width, 3, padding=1)),
            nn.LeakyReLU(0.2),
        ]
        for _ in range(stages):
            layers += [norm(nn.Conv2d(width, width * 2, 4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
            width *= 2
        self.net = nn.Sequential(*layers, nn.Flatten())
        features = width * (image_size >> stages) ** 2
        self.score = norm(nn.Linear(features, 1))
        # Projection discriminator (Miyato & Koyama 2018): + <embed(class), features>.
        self.embed = norm(nn.Embedding(n_classes, features)) if config.conditional else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        # x: (B, C, H, W) in [-1, 1], labels: (B,) → (B,) logits, real > 0
        h = self.net(x)
        logits = self.score(h).squeeze(1)
        if self.embed is not None:
            logits = logits + (self.embed(labels) * h).sum(dim=1)
        return logits


class GAN(nn.Module):
    """Both networks and the averaged generator; calling the module generates images in [0, 1].

    `generator` is the one trained; `average` follows its weights as an exponential moving
    average (Yazici et al. 2019: averaging damps the oscillation of adversarial training) and is
    the one that generates.
    """

    def __init__(self, config: GANConfig, n_classes: int, channels: int, image_size: int):
        super().__init__()
        self.latent_dim = config.latent_dim
        self.n_classes = n_classes
        self.conditional = config.conditional
        self.ema_decay = config.ema_decay
        self.generator = Generator(config, n_classes, channels, image_size)
        self.discriminator = Discriminator(config, n_classes, channels, image_size)
        self.average = copy.deepcopy(self.generator).requires_grad_(False)

    @torch.no_grad()
    def update_average(self) -> None:
        """Move the averaged generator towards the trained one (buffers are copied as they are)."""
        for avg, live in zip(self.average.parameters(), self.generator.parameters(), strict=True):
            avg.lerp_(live, 1 - self.ema_decay)
        for avg, live in zip(self.average.buffers(), self.generator.buffers(), strict=True):
            avg.copy_(live)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        # z: (B, latent), labels: (B,) → (B, C, H, W) in [0, 1]
        return (self.average(z, labels) + 1) / 2


@torch.no_grad()
def generate(
    model: GAN, n: int, seed: int, labels: torch.Tensor | None = None, chunk: int = 1024
) -> tuple[torch.Tensor, torch.Tensor]:
    """`n` images (N, C, H, W) in [0, 1] and their classes; the same seed, the same images.

    Noise comes from a generator seeded with `seed` (then random classes, when `labels` is
    None), so the result depends on nothing else; the model runs in eval mode on its device.
    """
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn(n, model.latent_dim, generator=rng)
    if labels is None:
        labels = torch.randint(0, model.n_classes, (n,), generator=rng)
    labels = torch.as_tensor(labels, dtype=torch.int64)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    images = torch.cat(
        [
            model(z[i : i + chunk].to(device), labels[i : i + chunk].to(device)).float().cpu()
            for i in range(0, n, chunk)
        ]
    )
    model.train(was_training)
    return images, labels


@register_family("gan", GANConfig, kind="image_generation")
def build_gan(config: GANConfig, n_classes: int, channels: int, image_size: int) -> GAN:
    """Build the GAN for `n_classes` classes of `channels` x `image_size` x `image_size` images."""
    return GAN(config, n_classes, channels, image_size)
