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


def builtin_expectations(family: str):
    """The schema of a family's built-in data, derived from the data set itself."""
    from components.settings import TabularExpectations

    if family != "mlp":
        raise KeyError(f"no built-in tabular data set for family {family!r}")
    frame = breast_cancer()
    features = [c for c in frame.columns if c != "target"]
    # All of the data set's measurements are non-negative; the upper bound stays open.
    ranges = {c: (0.0, None) for c in features if frame[c].min() >= 0}
    return TabularExpectations(features=features, labels=sorted(frame["target"].unique().tolist()),
                               ranges=ranges)


def write_builtin(family: str, folder) -> None:
    """Materialise `family`'s built-in data set into `folder`, byte for byte the same every time."""
    writers = {"mlp": lambda: breast_cancer().to_csv(folder / "data.csv", index=False)}
    if family not in writers:
        raise KeyError(f"no built-in data set for family {family!r}")
    writers[family]()
