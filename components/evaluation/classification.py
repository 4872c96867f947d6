"""Classification metrics and plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from components.evaluation.plots import pyplot, save
from components.training.trainer import autocast, batches


@torch.no_grad()
def predict_proba(
    model: torch.nn.Module, x: np.ndarray, device: torch.device, batch_size: int = 1024
) -> np.ndarray:
    """Class probabilities (N, C) of `model` on raw features `x` (N, F)."""
    model.eval().to(device)
    inputs = torch.tensor(x, dtype=torch.float32, device=device)
    out = []
    for idx in batches(len(inputs), batch_size, None):
        with autocast(device):
            logits = model(inputs[idx])
        out.append(torch.softmax(logits.float(), dim=1).cpu())
    return torch.cat(out).numpy()


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


def plot_confusion_matrix(
    y_true: np.ndarray, y_pred: np.ndarray, classes: list, path: Path
) -> Path:
    """Write a confusion-matrix PNG to `path`."""
    plt = pyplot()
    from sklearn.metrics import ConfusionMatrixDisplay

    fig, ax = plt.subplots(figsize=(4 + 0.3 * len(classes), 4 + 0.3 * len(classes)))
    ConfusionMatrixDisplay.from_predictions(
        y_true,
        y_pred,
        labels=list(range(len(classes))),
        display_labels=[str(c) for c in classes],
        ax=ax,
        colorbar=False,
    )
    ax.set_title("Confusion matrix (test split)")
    return save(fig, path)


def plot_loss_curve(history: list[dict[str, float]], best_epoch: int, path: Path) -> Path:
    """Write train/validation loss per epoch, with the best epoch marked, to `path`."""
    plt = pyplot()

    epochs = range(1, len(history) + 1)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(epochs, [h["train_loss"] for h in history], label="train")
    ax.plot(epochs, [h["val_loss"] for h in history], label="validation")
    ax.axvline(best_epoch, color="grey", linestyle="--", label=f"best epoch {best_epoch}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    return save(fig, path)


def predictions_frame(proba: np.ndarray, classes: list):
    """One row per input: the predicted class, then one probability column per class."""
    import pandas as pd

    out = pd.DataFrame(proba, columns=[f"probability_{c}" for c in classes])
    out.insert(0, "class", [classes[i] for i in proba.argmax(axis=1)])
    return out
