"""Prediction with a trained network, shared by scoring, the MLflow model and the services."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from components.runtime.datasets import batches
from components.runtime.device import autocast

CPU = torch.device("cpu")


@torch.no_grad()
def predict_proba(
    model: torch.nn.Module, x, device: torch.device = CPU, batch_size: int = 1024
) -> np.ndarray:
    """Class probabilities (N, C) of `model` on the inputs `x` (N, ...), in batches."""
    model.eval().to(device)
    inputs = torch.as_tensor(np.asarray(x), dtype=torch.float32).to(device)
    out = []
    for idx in batches(len(inputs), batch_size, None):
        with autocast(device):
            logits = model(inputs[idx])
        out.append(torch.softmax(logits.float(), dim=1).cpu())
    return torch.cat(out).numpy()


@torch.no_grad()
def proba_over(
    model: torch.nn.Module, data: Iterable[tuple[torch.Tensor, Any]], device: torch.device = CPU
) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities (N, C) and targets (N,) over batches of `(x, y)`, in their order."""
    model.eval().to(device)
    probabilities, targets = [], []
    for xb, yb in data:
        with autocast(device):
            logits = model(xb.to(device))
        probabilities.append(torch.softmax(logits.float(), dim=1).cpu())
        targets.append(torch.as_tensor(yb).cpu())
    return torch.cat(probabilities).numpy(), torch.cat(targets).numpy()


def class_predictions(proba: np.ndarray, names: list[str]) -> list[dict[str, Any]]:
    """Per row: the most probable class's name and every class's probability, by name."""
    return [
        {
            "class": names[int(row.argmax())],
            "probabilities": {name: round(float(p), 6) for name, p in zip(names, row, strict=True)},
        }
        for row in proba
    ]


def predictions_frame(proba: np.ndarray, names: list[str]):
    """One row per input: the predicted class, then one probability column per class."""
    import pandas as pd

    out = pd.DataFrame(proba, columns=[f"probability_{c}" for c in names])
    out.insert(0, "class", [names[i] for i in proba.argmax(axis=1)])
    return out


def penultimate(model: torch.nn.Module, run) -> tuple[np.ndarray, Any]:
    """The inputs of `model`'s last linear layer while `run()` predicts: (features (N, D), result).

    What the network has made of its inputs just before it decides: the space the drift check's
    MMD compares served inputs with training inputs in.
    """
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    if not linears:
        raise ValueError(f"{type(model).__name__} has no linear layer to read features from")
    captured: list[torch.Tensor] = []
    hook = linears[-1].register_forward_pre_hook(
        lambda _module, args: captured.append(
            args[0].detach().float().reshape(len(args[0]), -1).cpu()
        )
    )
    try:
        result = run()
    finally:
        hook.remove()
    return torch.cat(captured).numpy(), result
