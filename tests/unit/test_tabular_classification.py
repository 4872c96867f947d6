"""Splits are fixed by seed, disjoint, complete and stratified; labels map to class indices."""

import numpy as np
import pandas as pd

from components.kinds.tabular_classification.data import load_tabular
from components.runtime.splits import split_digest, split_indices
from components.settings import SplitSettings


def test_split_is_seeded_disjoint_and_complete():
    y = np.array([0] * 60 + [1] * 40)
    parts = split_indices(y, SplitSettings())
    again = split_indices(y, SplitSettings())
    assert all(np.array_equal(parts[k], again[k]) for k in parts)
    joined = np.concatenate(list(parts.values()))
    assert sorted(joined.tolist()) == list(range(100))
    assert len(parts["test"]) == 20
    assert split_digest(parts) != split_digest(split_indices(y, SplitSettings(seed=7)))


def test_split_is_stratified():
    y = np.array([0] * 80 + [1] * 20)
    parts = split_indices(y, SplitSettings())
    assert y[parts["test"]].mean() == 0.2


def test_labels_map_to_sorted_classes(tmp_path):
    pd.DataFrame({"a": [1.0, 2.0, 3.0], "label": ["dog", "cat", "dog"]}).to_csv(
        tmp_path / "data.csv", index=False
    )
    data = load_tabular(tmp_path, "label")
    assert data.classes == ["cat", "dog"]
    assert data.y.tolist() == [1, 0, 1]
    assert data.features == ["a"] and data.x.dtype == np.float32
