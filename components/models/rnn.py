"""GRU/LSTM forecaster: a history of `window` raw values → the next `horizon` raw values.

Standardisation lives inside the model as buffers (set from training data only), so the served
model takes and returns raw values. The network sees the history relative to its last value and
forecasts the change from it: a level the training data never reached (a trending series' test
years) looks like any other history.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from components.models.registry import register_family


class RNNConfig(BaseModel):
    """Recurrent cell, width and depth of the forecaster."""

    model_config = ConfigDict(extra="forbid")

    cell: Literal["gru", "lstm"] = "gru"
    hidden_size: int = Field(32, ge=1)
    num_layers: int = Field(1, ge=1)
    dropout: float = Field(0.0, ge=0, lt=1, description="between stacked layers")


class RNNForecaster(nn.Module):
    """Standardise → relative to the last value → GRU/LSTM → Linear (horizon changes) → raw."""

    def __init__(self, config: RNNConfig, window: int, horizon: int):
        super().__init__()
        self.window, self.horizon = window, horizon
        self.register_buffer("mean", torch.zeros(1))
        self.register_buffer("std", torch.ones(1))
        rnn = nn.GRU if config.cell == "gru" else nn.LSTM
        self.rnn = rnn(
            input_size=1,
            hidden_size=config.hidden_size,
            num_layers=config.num_layers,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
            batch_first=True,
        )
        self.head = nn.Linear(config.hidden_size, horizon)

    def fit_normalizer(self, values: torch.Tensor) -> None:
        """Set the standardisation from training values only (no test leakage)."""
        self.mean.copy_(values.mean().reshape(1))
        # A constant series would divide by zero: leave it unscaled.
        self.std.copy_(values.std().clamp_min(1e-6).reshape(1))

    def standardise(self, values: torch.Tensor) -> torch.Tensor:
        """Raw values → the model's standardised scale (used by the training loss too)."""
        return (values - self.mean) / self.std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, T >= window) raw history → (B, horizon) raw forecast; only the last window counts
        z = self.standardise(x[:, -self.window :])  # (B, W)
        last = z[:, -1:]  # (B, 1)
        out, _ = self.rnn((z - last).unsqueeze(-1))  # (B, W, hidden)
        change = self.head(out[:, -1])  # (B, H)
        return (last + change) * self.std + self.mean


@register_family("rnn", RNNConfig, kind="forecasting")
def build_rnn(config: RNNConfig, window: int, horizon: int) -> RNNForecaster:
    """Build the forecaster for histories of `window` steps and `horizon` steps ahead."""
    return RNNForecaster(config, window, horizon)
