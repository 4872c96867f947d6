"""The RNN's card and prediction: a history of raw values → the next `horizon` raw values.

Pure torch/numpy: the MLflow model and the BentoML service both call this; nothing here trains.
"""

from __future__ import annotations

import numpy as np
import torch

from components.kinds.card import ModelCard, predictor
from components.kinds.forecasting.schemas import MAX_HISTORY
from components.project import DlopsError
from components.runtime.datasets import batches
from components.runtime.device import autocast
from components.runtime.inference import CPU

KIND = "forecasting"


class ForecastCard(ModelCard):
    """The forecaster's card: the history it reads, how far it forecasts, the series' step."""

    kind_name = KIND

    window: int
    horizon: int
    season_length: int
    frequency: str
    time: str | None = None
    target: str


@torch.no_grad()
def forecast(
    model: torch.nn.Module, x, device: torch.device = CPU, batch_size: int = 1024
) -> np.ndarray:
    """Forecasts (N, H) of `model` from raw histories `x` (N, T)."""
    model.eval().to(device)
    inputs = torch.tensor(np.asarray(x), dtype=torch.float32, device=device)
    out = []
    for idx in batches(len(inputs), batch_size, None):
        with autocast(device):
            out.append(model(inputs[idx]).float().cpu())
    return torch.cat(out).numpy() if out else np.empty((0, 0), dtype=np.float32)


def logged(card: ForecastCard, x: np.ndarray) -> dict[str, list]:
    """Histories as the served-input log keeps them: the last `window` values of each."""
    return {"history": [row[-card.window :].astype(float).tolist() for row in np.asarray(x)]}


@predictor(KIND)
def predict_array(model, card: ForecastCard, model_input) -> np.ndarray:
    """The logged model's prediction: histories (N, >= window) → forecasts (N, horizon)."""
    x = np.asarray(model_input, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] < card.window:
        raise DlopsError(f"expected histories of shape (N, >= {card.window}), got {x.shape}")
    return forecast(model, x).astype(np.float64)


def describe(card) -> dict:
    """What the service's `/metadata` says of a model besides its lineage."""
    return {
        "window": card.window,
        "horizon": card.horizon,
        "season_length": card.season_length,
        "frequency": card.frequency,
        "time": card.time,
        "target": card.target,
        "max_history": MAX_HISTORY,
    }
