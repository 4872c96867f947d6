"""Built-in data sets that ship inside installed packages (no download)."""

from __future__ import annotations

import re

import pandas as pd


def _column_name(name: str) -> str:
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


def breast_cancer() -> pd.DataFrame:
    """scikit-learn's breast-cancer Wisconsin table: 30 numeric features and a 0/1 `target`."""
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.rename(columns=_column_name)
    return frame.astype({"target": "int64"})
