"""Tabular classification (the MLP): a CSV of numeric features and a label column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from components.data.builtin import breast_cancer
from components.data.splits import split_digest, split_indices
from components.data.tabular import CSV_NAME, load_tabular, read_csv
from components.evaluation.classification import (
    classification_metrics,
    plot_confusion_matrix,
    plot_loss_curve,
    predict_proba,
    predictions_frame,
)
from components.project import DlopsError
from components.tasks.base import Split, Task
from components.training.trainer import fit_split

CPU = torch.device("cpu")


def check_same_labels(card: dict, split: Split, keys: tuple[str, ...]) -> None:
    """A model can only be scored on data with the inputs and labels it was trained on."""
    if any(card.get(key) != split.info.get(key) for key in keys):
        raise DlopsError(f"model was trained on other {' / '.join(keys)} than the current data")


def accuracy_outcomes(model, card: dict, split: Split, metric: str, keys: tuple[str, ...]):
    """Right/wrong per test example: the paired form of `test_accuracy`."""
    from components.registry.stats import Outcomes

    if metric != "test_accuracy":
        return None
    check_same_labels(card, split, keys)
    correct = predict_proba(model, split.x["test"], CPU).argmax(axis=1) == split.y["test"]
    return Outcomes(correct.astype(np.float64), np.ones(len(correct)), correct)


class TabularClassification(Task):
    """Rows of numeric features → one of the label values."""

    kind = "tabular_classification"
    sources = ("csv",)
    data_file = CSV_NAME

    def write_builtin(self, family: str, folder: Path) -> None:
        breast_cancer().to_csv(folder / CSV_NAME, index=False)

    def validate(self, project, settings, folder):
        from components.validation.tabular import validate_tabular

        return validate_tabular(project, settings, folder)

    def load_split(self, folder: Path, settings) -> Split:
        data = load_tabular(folder, settings.data.target)
        parts = split_indices(data.y, settings.data.split)
        return Split(
            x={k: data.x[v] for k, v in parts.items()},
            y={k: data.y[v] for k, v in parts.items()},
            dims={"n_features": len(data.features), "n_classes": len(data.classes)},
            info={"features": data.features, "classes": data.classes},
            digest=split_digest(parts),
        )

    def fit(self, model, split: Split, settings, device, workdir: Path, checkpoints=None):
        model.fit_normalizer(torch.as_tensor(split.x["train"]))
        return fit_split(model, split, settings, device, checkpoints)

    def score(self, model, card: dict, split: Split) -> dict[str, float]:
        check_same_labels(card, split, ("features", "classes"))
        proba = predict_proba(model, split.x["test"], CPU)
        metrics = classification_metrics(
            split.y["test"], proba.argmax(axis=1), len(split.info["classes"])
        )
        return {f"test_{name}": value for name, value in metrics.items()}

    def paired_outcomes(self, model, card: dict, split: Split, metric: str):
        return accuracy_outcomes(model, card, split, metric, ("features", "classes"))

    def plots(self, model, card, split, history, folder: Path) -> list[Path]:
        y_pred = predict_proba(model, split.x["test"], CPU).argmax(axis=1)
        return [
            plot_confusion_matrix(
                split.y["test"], y_pred, split.info["classes"], folder / "confusion_matrix.png"
            ),
            plot_loss_curve(history, card["best_epoch"], folder / "loss_curve.png"),
        ]

    def example(self, split: Split) -> pd.DataFrame:
        # float64: what pandas reads from a CSV, so callers need no cast to match the signature
        return pd.DataFrame(split.x["test"][:5].astype(np.float64), columns=split.info["features"])

    def predict(self, model, card: dict, model_input: pd.DataFrame) -> pd.DataFrame:
        x = model_input[card["features"]].to_numpy(dtype=np.float32)
        return predictions_frame(predict_proba(model, x, CPU), card["classes"])

    def dataset_frame(self, folder: Path) -> pd.DataFrame:
        return read_csv(folder)
