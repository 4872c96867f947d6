"""MLP for tabular classification; standardisation lives inside the model as buffers."""

from __future__ import annotations

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from components.models.registry import register_family


class MLPConfig(BaseModel):
    """Width and regularisation of the MLP."""

    model_config = ConfigDict(extra="forbid")

    hidden_sizes: list[int] = Field(default=[64, 32], min_length=1)
    dropout: float = Field(0.1, ge=0, lt=1)


class MLP(nn.Module):
    """Standardise → [Linear → ReLU → Dropout] × k → Linear (class logits)."""

    def __init__(self, config: MLPConfig, n_features: int, n_classes: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("std", torch.ones(n_features))
        layers: list[nn.Module] = []
        width = n_features
        for hidden in config.hidden_sizes:
            layers += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(config.dropout)]
            width = hidden
        layers.append(nn.Linear(width, n_classes))
        self.net = nn.Sequential(*layers)

    def fit_normalizer(self, x: torch.Tensor) -> None:
        """Set the standardisation from training features only (no test leakage)."""
        self.mean.copy_(x.mean(dim=0))
        # Constant columns would divide by zero: leave them unscaled.
        self.std.copy_(x.std(dim=0).clamp_min(1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, F) raw features → (B, C) logits
        return self.net((x - self.mean) / self.std)


@register_family("mlp", MLPConfig, kind="tabular_classification")
def build_mlp(config: MLPConfig, n_features: int, n_classes: int) -> MLP:
    """Build the MLP for `n_features` inputs and `n_classes` classes."""
    return MLP(config, n_features, n_classes)
