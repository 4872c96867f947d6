"""Matplotlib for files, not screens: the Agg backend, imported only when a plot is drawn."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def pyplot():
    """`matplotlib.pyplot` on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, path: Path) -> Path:
    """Lay out, write `fig` as a PNG to `path`, free it; returns `path`."""
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    pyplot().close(fig)
    return path


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


def plot_confusion_matrix(
    y_true: np.ndarray, y_pred: np.ndarray, classes: list, path: Path
) -> Path:
    """Write a confusion-matrix PNG of the test split to `path` (`classes`: display names)."""
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


def plot_shift(reference: np.ndarray, current: np.ndarray, feature: str, title: str,
               path: Path) -> Path:  # fmt: skip
    """Histograms (density) of one feature in the training data and the served window."""
    plt = pyplot()

    bins = np.histogram_bin_edges(np.concatenate([reference, current]), bins=30)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist(reference, bins=bins, density=True, alpha=0.55, label=f"training ({len(reference)})")
    ax.hist(current, bins=bins, density=True, alpha=0.55, label=f"served ({len(current)})")
    ax.set_xlabel(feature)
    ax.set_ylabel("density")
    ax.set_title(title, fontsize=9)
    ax.legend()
    return save(fig, path)
