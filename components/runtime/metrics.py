"""Metrics every classifier kind reports."""

from __future__ import annotations

import numpy as np


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> dict:
    """Accuracy, macro-F1 and the lowest per-class recall over all `n_classes`.

    A class never predicted scores F1 = 0 and recall 0; `recall_min` is the metric for a
    per-class recall floor in `gate.limits`.
    """
    from sklearn.metrics import accuracy_score, f1_score, recall_score

    labels = list(range(n_classes))
    recalls = recall_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(
            f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
        ),
        "recall_min": float(np.min(recalls)),
    }
