"""A compact anchor-free object detector: CenterNet's head on a small backbone with skips.

The network sees an image (N, 3, S, S) and answers, on a grid of stride 4, a heatmap per class
(where object centres are), each centre's box size (log width and height, in grid cells) and
its sub-cell offset. Boxes come out of the heatmap's local maxima (`inference.boxes`), so no
anchors and, with one peak per object, no non-maximum suppression.
"""

from __future__ import annotations

import math

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from components.models.registry import register_family

STRIDE = 4  # input pixels per output cell
PRIOR = 0.01  # the heatmap's initial foreground probability (CenterNet's focal-loss bias)


class DetectorConfig(BaseModel):
    """Widths of the backbone's four stages (strides 2, 4, 8, 16) and of the head."""

    model_config = ConfigDict(extra="forbid")

    widths: list[int] = Field([24, 48, 80, 128], min_length=4, max_length=4)
    head: int = Field(64, ge=8, description="channels of the stride-4 features the heads read")
    dropout: float = Field(0.0, ge=0, lt=1)
    score_threshold: float = Field(
        0.3,
        ge=0.01,
        le=1,
        description="the service's default: detections scored below it are left out",
    )


def _conv(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class CenterNet(nn.Module):
    """Backbone (4 stride-2 stages) → top-down merge to stride 4 → heatmap, size, offset heads."""

    def __init__(self, config: DetectorConfig, n_classes: int):
        super().__init__()
        w1, w2, w3, w4 = config.widths
        self.stage1 = nn.Sequential(_conv(3, w1, 2), _conv(w1, w1))  # /2
        self.stage2 = nn.Sequential(_conv(w1, w2, 2), _conv(w2, w2))  # /4
        self.stage3 = nn.Sequential(_conv(w2, w3, 2), _conv(w3, w3))  # /8
        self.stage4 = nn.Sequential(_conv(w3, w4, 2), _conv(w4, w4))  # /16
        h = config.head
        self.lateral4 = nn.Conv2d(w4, h, 1)
        self.lateral3 = nn.Conv2d(w3, h, 1)
        self.lateral2 = nn.Conv2d(w2, h, 1)
        self.merge3 = _conv(h, h)
        self.merge2 = _conv(h, h)
        self.dropout = nn.Dropout2d(config.dropout)
        self.heatmap = nn.Sequential(_conv(h, h), nn.Conv2d(h, n_classes, 1))
        self.box = nn.Sequential(_conv(h, h), nn.Conv2d(h, 4, 1))  # log w, log h, dx, dy
        nn.init.constant_(self.heatmap[-1].bias, -math.log((1 - PRIOR) / PRIOR))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """`x` (N, 3, S, S) → (N, w4): the backbone's last stage, averaged over the image."""
        return self.stage4(self.stage3(self.stage2(self.stage1(x)))).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """`x` (N, 3, S, S) in [0, 1] → (N, C + 4, S/4, S/4): heatmap logits, then box maps."""
        c2 = self.stage2(self.stage1(x))  # (N, w2, S/4, S/4)
        c3 = self.stage3(c2)  # (N, w3, S/8, S/8)
        c4 = self.stage4(c3)  # (N, w4, S/16, S/16)
        up = nn.functional.interpolate
        p3 = self.merge3(self.lateral3(c3) + up(self.lateral4(c4), size=c3.shape[-2:]))
        p2 = self.merge2(self.lateral2(c2) + up(p3, size=c2.shape[-2:]))
        p2 = self.dropout(p2)
        return torch.cat([self.heatmap(p2), self.box(p2)], dim=1).float()


@register_family("detector", DetectorConfig, kind="object_detection")
def build(config: DetectorConfig, n_classes: int) -> CenterNet:
    return CenterNet(config, n_classes)
