"""How the CNN trains: the shared trainer on the split's images (augmentation is in the model)."""

from __future__ import annotations

from components.kinds.base import Split
from components.kinds.supervised import fit_split


def fit(model, split: Split, settings, device, checkpoints=None):
    return fit_split(model, split, settings, device, checkpoints)
