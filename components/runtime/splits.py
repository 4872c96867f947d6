"""Seeded, stratified splits by row index, and a digest that identifies them."""

from __future__ import annotations

import hashlib

import numpy as np

from components.settings import SplitSettings


def split_indices(y: np.ndarray, split: SplitSettings) -> dict[str, np.ndarray]:
    """Seeded stratified train/validation/test row indices (stratified when every class can be)."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(y))

    def stratify(idx: np.ndarray):
        counts = np.bincount(y[idx])
        return y[idx] if counts[counts > 0].min() >= 2 else None

    rest, test = train_test_split(
        rows, test_size=split.test, random_state=split.seed, stratify=stratify(rows)
    )
    val_share = split.validation / (1 - split.test)
    train, val = train_test_split(
        rest, test_size=val_share, random_state=split.seed, stratify=stratify(rest)
    )
    return {"train": np.sort(train), "validation": np.sort(val), "test": np.sort(test)}


def split_digest(parts: dict[str, np.ndarray]) -> str:
    """Short hash of the split's row indices, recorded so two runs can show the same split."""
    digest = hashlib.sha256()
    for name in ("train", "validation", "test"):
        digest.update(name.encode() + parts[name].astype(np.int64).tobytes())
    return digest.hexdigest()[:12]
