"""The tabular classification kind: rows of numeric features → one of the label values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from components.kinds.base import Split, sample_rows
from components.kinds.classification import ClassifierKind
from components.kinds.tabular_classification import data, inference, validation
from components.kinds.tabular_classification import fit as training
from components.runtime.datasets import ArrayDataset
from components.runtime.splits import split_digest, split_indices


class TabularClassification(ClassifierKind):
    """Rows of numeric features → one of the label values."""

    name = inference.KIND
    compatible = ("features", "classes")
    sources = ("csv",)
    data_file = data.CSV_NAME
    card = inference.TabularCard
    validation = validation

    def write_builtin(self, family: str, folder: Path) -> None:
        data.write_builtin(folder)

    def load_split(self, folder: Path, settings) -> Split:
        table = data.load_tabular(folder, settings.data.target)
        parts = split_indices(table.y, settings.data.split)
        return Split(
            data={k: ArrayDataset(table.x[v], table.y[v]) for k, v in parts.items()},
            dims={"n_features": len(table.features), "n_classes": len(table.classes)},
            info={
                "features": table.features,
                "classes": table.classes,
                "class_names": data.class_names(table.classes, self._names(settings)),
            },
            digest=split_digest(parts),
        )

    @staticmethod
    def _names(settings) -> dict[str, str]:
        """The configured class names; the built-in table's own when none are configured."""
        if settings.data.class_names or settings.data.source_kind != "builtin":
            return settings.data.class_names
        return data.builtin_class_names()

    def fit(self, model, split: Split, settings, device, workdir: Path, checkpoints=None):
        return training.fit(model, split, settings, device, checkpoints)

    def example(self, split: Split) -> pd.DataFrame:
        # float64: what pandas reads from a CSV, so callers need no cast to match the signature
        return pd.DataFrame(split.x["test"][:5].astype(np.float64), columns=split.info["features"])

    def predict(self, model, card, model_input: pd.DataFrame) -> pd.DataFrame:
        return inference.predict_frame(model, card, model_input)

    def dataset_frame(self, folder: Path) -> pd.DataFrame:
        return data.read_csv(folder)

    def drift_reference(self, model, card, split: Split, settings, limit: int):
        x = split.x["train"]
        return inference.logged(card, x[sample_rows(len(x), limit)])

    def drift_export(self, card, frame: pd.DataFrame, labels, folder: Path, settings) -> str:
        """A CSV of the feature columns and the label column (`data.target`)."""
        table = frame[card.features].copy()
        table[settings.data.target] = list(labels)
        table.to_csv(folder / data.CSV_NAME, index=False)
        return f"csv:{folder / data.CSV_NAME}"

    def drift_features(self, model, card, frame: pd.DataFrame) -> pd.DataFrame:
        """Each feature on its own: KS, or chi² for a feature of a few integer values."""
        return frame[card.features].astype(np.float64)
