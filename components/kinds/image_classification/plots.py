"""Image-specific plots: a grid of the test images the model got wrong."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from components.runtime.plots import pyplot, save


def plot_misclassified(
    x,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    classes: list,
    path: Path,
    limit: int = 36,
) -> Path:
    """Write up to `limit` misclassified images, titled true → predicted, to `path`.

    `x[i]` is image i (C, H, W), or an `(image, label)` example of a dataset.
    """
    plt = pyplot()

    wrong = np.flatnonzero(y_true != y_pred)[:limit]
    cols = max(1, min(6, len(wrong)))
    rows = max(1, -(-len(wrong) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.8 * rows + 0.4), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    if len(wrong) == 0:
        axes[0, 0].text(0.5, 0.5, "no misclassified\ntest images", ha="center", va="center")
    for ax, i in zip(axes.flat, wrong, strict=False):
        image = x[i]
        image = np.asarray(image[0] if isinstance(image, tuple) else image)
        if image.shape[0] == 1:  # (1, H, W): grayscale
            ax.imshow(image[0], cmap="gray_r", vmin=0, vmax=1)
        else:  # (3, H, W) → (H, W, 3)
            ax.imshow(np.clip(image.transpose(1, 2, 0), 0, 1))
        ax.set_title(f"{classes[y_true[i]]} → {classes[y_pred[i]]}", fontsize=9)
    total = int((y_true != y_pred).sum())
    fig.suptitle(f"Misclassified test images (true → predicted): {total} of {len(y_true)}")
    return save(fig, path)
