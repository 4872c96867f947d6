"""How the MLP trains: standardisation from the training rows, then the shared trainer."""

from __future__ import annotations

import torch

from components.kinds.base import Split
from components.kinds.supervised import fit_split


def fit(model, split: Split, settings, device, checkpoints=None):
    model.fit_normalizer(torch.as_tensor(split.x["train"]))
    return fit_split(model, split, settings, device, checkpoints)
