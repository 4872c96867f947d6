"""Tabular data: the versioned CSV → features, labels and a seeded, stratified split."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd


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
