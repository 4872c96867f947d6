"""The versioned CSV: built-in table, reading, features and labels, the seeded split."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

CSV_NAME = "data.csv"


def _column_name(name: str) -> str:
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


def breast_cancer() -> pd.DataFrame:
    """scikit-learn's breast-cancer Wisconsin table: 30 numeric features and a 0/1 `target`.

    The labels keep scikit-learn's values, 0 and 1; `builtin_class_names` names them.
    """
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.rename(columns=_column_name)
    return frame.astype({"target": "int64"})


def builtin_class_names() -> dict[str, str]:
    """The built-in labels' names: 0 malignant, 1 benign (scikit-learn's `target_names`)."""
    from sklearn.datasets import load_breast_cancer

    names = load_breast_cancer().target_names
    return {str(value): str(name) for value, name in enumerate(names)}


def write_builtin(folder: Path) -> None:
    breast_cancer().to_csv(folder / CSV_NAME, index=False)


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


def class_names(classes: list, names: dict[str, str]) -> list[str] | None:
    """The configured display name of each class (by its label value), or None if none is set."""
    if not names:
        return None
    return [names.get(str(c), str(c)) for c in classes]
