"""The supervised fit on a split, for the kinds whose families the shared trainer trains."""

from __future__ import annotations

from components.kinds.base import Split
from components.runtime.trainer import FitResult, fit
from components.settings import FamilySettings


def fit_split(
    model, split: Split, settings: FamilySettings, device, checkpoints=None, **options
) -> FitResult:
    """`fit` on the split's train and validation parts with the family's `train:` settings."""
    return fit(
        model,
        split.data["train"],
        split.data["validation"],
        settings.train,
        device,
        checkpoints=checkpoints,
        workers=split.workers,
        **options,
    )
