"""The image classification kind: images in class subfolders → one of the class names."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from components.kinds import classification
from components.kinds.base import Split, sample_rows
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

    def drift_reference(self, model, card, split: Split, settings, limit: int):
        train = split.data["train"]
        rows = sample_rows(len(train), limit)
        return inference.logged(card, np.stack([np.asarray(train[int(i)][0]) for i in rows]))

    def drift_export(self, card, frame, labels, folder: Path, settings) -> str:
        """PNGs of the served images in class subfolders: `folder/<label>/<row id>.png`."""
        from PIL import Image

        images = (inference.from_logged(card, frame) * 255).round().astype(np.uint8)
        for image, label, row in zip(images, labels, frame["_id"], strict=True):
            target = folder / str(label)
            target.mkdir(parents=True, exist_ok=True)
            pixels = image[0] if card.mode == "L" else image.transpose(1, 2, 0)
            Image.fromarray(pixels, mode=card.mode).save(target / f"{row}.png")
        return f"folder:{folder}"

    def drift_features(self, model, card, frame):
        """What a person would name: brightness, contrast and the predicted class."""
        import pandas as pd

        from components.runtime.inference import predict_proba

        x = inference.from_logged(card, frame)
        return pd.DataFrame(
            {
                "brightness": x.mean(axis=(1, 2, 3)),
                "contrast": x.std(axis=(1, 2, 3)),
                "predicted_class": predict_proba(model, x).argmax(axis=1).astype(np.float64),
            }
        )

    def drift_embeddings(self, model, card, frame) -> np.ndarray:
        from components.runtime.inference import penultimate, predict_proba

        x = inference.from_logged(card, frame)
        return penultimate(model, lambda: predict_proba(model, x))[0]
