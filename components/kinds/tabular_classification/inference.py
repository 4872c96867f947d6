"""The MLP's card and prediction: rows of numbers (or named features) → class probabilities.

Pure torch/numpy: the MLflow model and the BentoML service both call this; nothing here trains.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from components.kinds.card import ClassifierCard, predictor
from components.runtime.inference import class_predictions, predict_proba, predictions_frame

KIND = "tabular_classification"


class TabularCard(ClassifierCard):
    """The MLP's card: the feature columns in order, and its classes."""

    kind_name = KIND

    features: list[str]


def matrix(card: TabularCard, rows: list | None = None, records: list | None = None) -> np.ndarray:
    """Rows (numbers in feature order) or records (feature → number) as a float32 matrix.

    Raises ValueError naming the rows or records that do not fit the model's features.
    """
    width = len(card.features)
    if rows is not None:
        bad = [i for i, row in enumerate(rows) if len(row) != width]
        if bad:
            raise ValueError(f"rows {bad[:5]} must have exactly {width} numbers")
        return np.asarray(rows, dtype=np.float32).reshape(len(rows), width)
    out = []
    for i, record in enumerate(records or []):
        missing = [f for f in card.features if f not in record]
        unknown = sorted(set(record) - set(card.features))
        if missing or unknown:
            raise ValueError(
                f"records[{i}]: missing features {missing[:5]}, unknown features {unknown[:5]}"
            )
        out.append([record[f] for f in card.features])
    return np.asarray(out, dtype=np.float32).reshape(len(out), width)


def logged(card: TabularCard, x: np.ndarray) -> dict[str, np.ndarray]:
    """Rows as the served-input log keeps them: one column per feature."""
    return {name: x[:, i] for i, name in enumerate(card.features)}  # views, not copies


def classify(model, card: TabularCard, x: np.ndarray) -> list[dict[str, Any]]:
    """Class name and class probabilities (by name) per row of `x` (N, F)."""
    return class_predictions(predict_proba(model, x), card.names)


@predictor(KIND)
def predict_frame(model, card: TabularCard, frame):
    """The logged model's prediction: a frame with the feature columns → class + probabilities."""
    x = frame[card.features].to_numpy(dtype=np.float32)
    return predictions_frame(predict_proba(model, x), card.names)


def describe(card) -> dict:
    """What the service's `/metadata` says of a model besides its lineage."""
    return {
        "features": card.features,
        "classes": card.names,
        "labels": card.classes,
    }
