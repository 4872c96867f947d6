"""Image classification (the CNN): a folder of class subfolders of images."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from components.data.images import image_files, load_images, write_digits
from components.data.splits import split_digest, split_indices
from components.evaluation.classification import (
    classification_metrics,
    plot_confusion_matrix,
    plot_loss_curve,
    predict_proba,
    predictions_frame,
)
from components.evaluation.images import plot_misclassified
from components.project import DlopsError
from components.tasks.base import Split, Task
from components.tasks.tabular import accuracy_outcomes, check_same_labels
from components.training.trainer import fit_split

CPU = torch.device("cpu")
CHANNELS = {"L": 1, "RGB": 3}


def as_batch(model_input, card: dict) -> np.ndarray:
    """Model input (array, nested list or one-column frame) → float32 (N, C, H, W) in [0, 1].

    Single-channel images may come as (N, H, W). Raises DlopsError on a wrong shape, values
    that are not finite or lie outside [0, 1].
    """
    if isinstance(model_input, pd.DataFrame):
        model_input = np.stack([np.asarray(v) for v in model_input.iloc[:, 0]])
    try:
        x = np.asarray(model_input, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise DlopsError(f"images must be a numeric array: {exc}") from None
    channels, size = CHANNELS[card["mode"]], card["image_size"]
    if x.ndim == 3 and channels == 1:
        x = x[:, None]
    if x.shape[1:] != (channels, size, size):
        raise DlopsError(
            f"images must have shape (N, {channels}, {size}, {size}), got {tuple(x.shape)}"
        )
    if not np.isfinite(x).all() or x.min(initial=0) < 0 or x.max(initial=0) > 1:
        raise DlopsError("pixel values must be finite and in [0, 1]")
    return x


class ImageFolderTask(Task):
    """What the kinds that learn from class subfolders of images share (no kind of its own)."""

    sources = ("folder",)

    def write_builtin(self, family: str, folder: Path) -> None:
        write_digits(folder)

    def validate(self, project, settings, folder):
        from components.validation.images import validate_images

        return validate_images(project, settings, folder)

    def load_split(self, folder: Path, settings) -> Split:
        image = settings.data.image
        data = load_images(folder, image.size, image.mode)
        parts = split_indices(data.y, settings.data.split)
        return Split(
            x={k: data.x[v] for k, v in parts.items()},
            y={k: data.y[v] for k, v in parts.items()},
            dims={"n_classes": len(data.classes), "image_size": image.size},
            info={"classes": data.classes, "image_size": image.size, "mode": image.mode},
            digest=split_digest(parts),
        )

    def dataset_frame(self, folder: Path) -> pd.DataFrame:
        # `class` is the label column: the image configs name it as `data.target`
        paths = [p.relative_to(folder) for p in image_files(folder)]
        return pd.DataFrame(
            {
                "path": [str(p) for p in paths],
                "class": [p.parts[0] if len(p.parts) > 1 else "" for p in paths],
            }
        )


class ImageClassification(ImageFolderTask):
    """Images in class subfolders → one of the class names."""

    kind = "image_classification"

    def load_split(self, folder: Path, settings) -> Split:
        split = super().load_split(folder, settings)
        image = settings.data.image
        return replace(
            split,
            dims={**split.dims, "n_channels": CHANNELS[image.mode]},
            info={**split.info, "max_file_bytes": image.max_file_bytes},
        )

    def fit(self, model, split: Split, settings, device, workdir: Path, checkpoints=None):
        return fit_split(model, split, settings, device, checkpoints)

    def score(self, model, card: dict, split: Split) -> dict[str, float]:
        check_same_labels(card, split, ("classes", "image_size", "mode"))
        proba = predict_proba(model, split.x["test"], CPU)
        metrics = classification_metrics(
            split.y["test"], proba.argmax(axis=1), len(split.info["classes"])
        )
        return {f"test_{name}": value for name, value in metrics.items()}

    def paired_outcomes(self, model, card: dict, split: Split, metric: str):
        return accuracy_outcomes(model, card, split, metric, ("classes", "image_size", "mode"))

    def plots(self, model, card, split, history, folder: Path) -> list[Path]:
        x, y = split.x["test"], split.y["test"]
        y_pred = predict_proba(model, x, CPU).argmax(axis=1)
        classes = split.info["classes"]
        return [
            plot_confusion_matrix(y, y_pred, classes, folder / "confusion_matrix.png"),
            plot_loss_curve(history, card["best_epoch"], folder / "loss_curve.png"),
            plot_misclassified(x, y, y_pred, classes, folder / "misclassified.png"),
        ]

    def example(self, split: Split) -> np.ndarray:
        return split.x["test"][:5].astype(np.float32)

    def predict(self, model, card: dict, model_input) -> pd.DataFrame:
        x = as_batch(model_input, card)
        return predictions_frame(predict_proba(model, x, CPU), card["classes"])
