"""The image classification kind: images in class subfolders → one of the class names."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from components.kinds import classification
from components.kinds.base import Split
from components.kinds.classification import ClassifierKind
from components.kinds.image_classification import data, inference, plots, validation
from components.kinds.image_classification import fit as training


class ImageClassification(ClassifierKind):
    """Images in class subfolders → one of the class names."""

    name = inference.KIND
    compatible = ("classes", "image_size", "mode")
    sources = ("folder",)
    card = inference.ImageCard
    validation = validation

    def write_builtin(self, family: str, folder: Path) -> None:
        data.write_digits(folder)

    def load_split(self, folder: Path, settings) -> Split:
        split = data.load_split(folder, settings)
        image = settings.data.image
        return replace(
            split,
            dims={**split.dims, "n_channels": inference.CHANNELS[image.mode]},
            info={**split.info, "max_file_bytes": image.max_file_bytes},
        )

    def fit(self, model, split: Split, settings, device, workdir: Path, checkpoints=None):
        return training.fit(model, split, settings, device, checkpoints)

    def plots(self, model, card, split, history, folder: Path) -> list[Path]:
        common = super().plots(model, card, split, history, folder)
        proba, y = classification.test_predictions(model, split)
        wrong = plots.plot_misclassified(
            split.data["test"], y, proba.argmax(axis=1), card.names, folder / "misclassified.png"
        )
        return [*common, wrong]

    def example(self, split: Split) -> np.ndarray:
        test = split.data["test"]
        return np.stack([np.asarray(test[i][0]) for i in range(min(5, len(test)))]).astype(
            np.float32
        )

    def predict(self, model, card, model_input):
        return inference.predict_frame(model, card, model_input)

    def dataset_frame(self, folder: Path):
        return data.dataset_frame(folder)
