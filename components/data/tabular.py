"""Tabular data: the versioned CSV → features, labels and a seeded, stratified split."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from components.settings import SplitSettings

CSV_NAME = "data.csv"


@dataclass(frozen=True)
class TabularData:
    """Features as float32, labels as class indices into `classes` (sorted label values)."""

    features: list[str]
    classes: list
    x: np.ndarray  # (N, F) float32
    y: np.ndarray  # (N,) int64


def read_csv(folder: Path) -> pd.DataFrame:
    """The family's CSV as pandas reads it (validation judges dtypes, so nothing is coerced)."""
    return pd.read_csv(folder / CSV_NAME)


def load_tabular(folder: Path, target: str) -> TabularData:
    """Load a validated CSV: every column but `target` is a numeric feature."""
    frame = read_csv(folder)
    features = [c for c in frame.columns if c != target]
    labels = frame[target]
    classes = sorted(labels.unique().tolist())
    index = {label: i for i, label in enumerate(classes)}
    y = labels.map(index).to_numpy(dtype=np.int64)
    x = frame[features].to_numpy(dtype=np.float32)
    return TabularData(features, classes, x, y)


def split_indices(y: np.ndarray, split: SplitSettings) -> dict[str, np.ndarray]:
    """Seeded stratified train/validation/test row indices (stratified when every class can be)."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(y))

    def stratify(idx: np.ndarray):
        counts = np.bincount(y[idx])
        return y[idx] if counts[counts > 0].min() >= 2 else None

    rest, test = train_test_split(rows, test_size=split.test, random_state=split.seed,
                                  stratify=stratify(rows))
    val_share = split.validation / (1 - split.test)
    train, val = train_test_split(rest, test_size=val_share, random_state=split.seed,
                                  stratify=stratify(rest))
    return {"train": np.sort(train), "validation": np.sort(val), "test": np.sort(test)}


def split_digest(parts: dict[str, np.ndarray]) -> str:
    """Short hash of the split's row indices, recorded so two runs can show the same split."""
    digest = hashlib.sha256()
    for name in ("train", "validation", "test"):
        digest.update(name.encode() + parts[name].astype(np.int64).tobytes())
    return digest.hexdigest()[:12]
