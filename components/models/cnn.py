"""CNN for image classification: conv blocks, global average pooling, one linear layer.

Global average pooling makes the network indifferent to the image size, and a random shift of
the inputs while training (inside the model, so the generic trainer needs no augmentation hook)
makes its answers steady when a digit sits a pixel off-centre.
"""

from __future__ import annotations

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from components.models.registry import register_family


class CNNConfig(BaseModel):
    """Width, depth and regularisation of the CNN."""

    model_config = ConfigDict(extra="forbid")

    channels: list[int] = Field(
        default=[16, 32], min_length=1, description="output channels of each conv block"
    )
    kernel_size: int = Field(3, ge=1, le=11, description="odd sizes keep the spatial size")
    dropout: float = Field(0.1, ge=0, lt=1, description="before the classifier")
    shift: int = Field(1, ge=0, le=4, description="random shift in pixels while training")


class RandomShift(nn.Module):
    """While training, move each image by up to `shift` pixels (zeros fill); identity in eval."""

    def __init__(self, shift: int):
        super().__init__()
        self.shift = shift

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.shift == 0:
            return x
        b, c, h, w = x.shape
        s = self.shift
        padded = nn.functional.pad(x, (s, s, s, s))  # (B, C, H+2s, W+2s)
        dy = torch.randint(0, 2 * s + 1, (b, 1), device=x.device)
        dx = torch.randint(0, 2 * s + 1, (b, 1), device=x.device)
        rows = dy + torch.arange(h, device=x.device)  # (B, H)
        cols = dx + torch.arange(w, device=x.device)  # (B, W)
        batch = torch.arange(b, device=x.device)[:, None, None, None]
        channel = torch.arange(c, device=x.device)[None, :, None, None]
        return padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]


def conv_block(in_channels: int, out_channels: int, kernel_size: int) -> nn.Sequential:
    """Conv → BatchNorm → ReLU → 2x2 max-pool (ceil mode, so a 1x1 map stays 1x1)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
        nn.MaxPool2d(2, ceil_mode=True),
    )


class CNN(nn.Module):
    """[Conv → BN → ReLU → MaxPool] × k → global average pool → Dropout → Linear (logits)."""

    def __init__(self, config: CNNConfig, n_channels: int, image_size: int, n_classes: int):
        super().__init__()
        self.image_size = image_size
        self.shift = RandomShift(config.shift)
        blocks, width = [], n_channels
        for out in config.channels:
            blocks.append(conv_block(width, out, config.kernel_size))
            width = out
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Dropout(config.dropout),
            nn.Linear(width, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, C, H, W) pixels in [0, 1] → (B, n_classes) logits
        return self.head(self.features(self.shift(x)))


@register_family("cnn", CNNConfig, kind="image_classification")
def build_cnn(config: CNNConfig, n_channels: int, image_size: int, n_classes: int) -> CNN:
    """Build the CNN for `n_channels` x `image_size`² images and `n_classes` classes."""
    return CNN(config, n_channels, image_size, n_classes)
