"""How the forecaster trains: standardised from training values, MSE on that scale, one thread."""

from __future__ import annotations

import torch

from components.kinds.base import Split
from components.kinds.supervised import fit_split
from components.runtime.device import one_cpu_thread


def fit(model, split: Split, settings, device, checkpoints=None):
    x_train = torch.as_tensor(split.x["train"])
    model.fit_normalizer(x_train[:, -model.window :])

    def loss_fn(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        # MSE on the standardised scale: comparable across series of any magnitude
        return torch.nn.functional.mse_loss(model.standardise(output), model.standardise(target))

    with one_cpu_thread(device):
        return fit_split(
            model, split, settings, device, checkpoints, loss_fn=loss_fn, classification=False
        )
