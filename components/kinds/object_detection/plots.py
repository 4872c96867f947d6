"""The detector's plots: test images with true and predicted boxes; precision-recall curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from components.kinds.object_detection.images import open_image
from components.runtime.plots import pyplot, save


def plot_detections(files: list, truth: list, found: list, card, path: Path) -> Path:
    """True boxes (dashed white) and detections over the card's threshold (coloured, scored)."""
    plt = pyplot()
    columns = min(3, max(1, len(files)))
    rows = max(1, -(-len(files) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(4 * columns, 4 * rows), squeeze=False)
    colours = plt.get_cmap("tab10")
    for ax in axes.ravel():
        ax.axis("off")
    for ax, file, true, rows_found in zip(axes.ravel(), files, truth, found, strict=False):
        ax.imshow(np.asarray(open_image(Path(file)).convert("RGB")))
        for _label, x1, y1, x2, y2 in np.asarray(true).reshape(-1, 5):
            ax.add_patch(plt.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec="white",
                                       ls="--", lw=1.2))  # fmt: skip
        shown = rows_found[rows_found[:, 4] >= card.score_threshold]
        for x1, y1, x2, y2, score, label in shown:
            colour = colours(int(label) % 10)
            ax.add_patch(plt.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec=colour, lw=1.6))
            tag = {"fc": colour, "ec": "none", "pad": 1}
            ax.text(x1, y1 - 1, f"{card.classes[int(label)]} {score:.2f}", color="white",
                    fontsize=7, va="bottom", bbox=tag)  # fmt: skip
        ax.set_title(f"{Path(file).name}: {len(true)} true, {len(shown)} found", fontsize=9)
    fig.suptitle(f"test images: true boxes dashed; detections scored ≥ {card.score_threshold}")
    return save(fig, path)


def plot_pr_curves(curves: dict[str, np.ndarray], path: Path) -> Path:
    """Each class's interpolated precision against recall at IoU 0.5 (COCO's 101 points)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    recall = np.linspace(0, 1, 101)
    for name, precision in curves.items():
        ax.plot(recall, precision, label=f"{name} (AP50 {precision.mean():.3f})")
    if not curves:
        ax.text(0.5, 0.5, "no detections", ha="center", va="center")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02),
           title="precision-recall at IoU 0.5, per class")  # fmt: skip
    ax.legend(loc="lower left", fontsize=8)
    return save(fig, path)
