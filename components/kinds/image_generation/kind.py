"""The image generation kind: class-folder images → a generator of new images of a chosen class.

Quality is a Fréchet distance on the features of a small classifier this project trains on the
training split (`metrics.py`): not Inception FID, comparable only between models scored on the
same data and split.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from components.kinds.base import Kind, Split, check_compatible
from components.kinds.image_classification import data as image_data
from components.kinds.image_classification import validation as image_validation
from components.kinds.image_classification.inference import CHANNELS
from components.kinds.image_generation import fit as training
from components.kinds.image_generation import inference, metrics
from components.models.gan import GANConfig

COMPATIBLE = ("classes", "image_size", "mode")  # what a model must share with the data


class ImageGeneration(Kind):
    """Class-folder images → a generator of new images, conditional on the class."""

    name = inference.KIND
    sources = ("folder",)
    card = inference.GenerationCard
    validation = image_validation

    def write_builtin(self, family: str, folder: Path) -> None:
        image_data.write_digits(folder)

    def load_split(self, folder: Path, settings) -> Split:
        # The adversarial trainer and the Fréchet distance read whole parts: held in memory.
        split = image_data.load_split(folder, settings, in_memory=True)
        config = GANConfig.model_validate(settings.model)
        return replace(
            split,
            dims={**split.dims, "channels": CHANNELS[settings.data.image.mode]},
            info={**split.info, "latent_dim": config.latent_dim, "conditional": config.conditional},
        )

    def fit(self, model, split: Split, settings, device, workdir: Path, checkpoints=None):
        return training.fit_generator(model, split, settings, device, workdir, checkpoints)

    def score(self, model, card, split: Split) -> dict[str, float]:
        check_compatible(card, split, COMPATIBLE)
        model.cpu()
        scores = {
            **metrics.generation_metrics(model, split, "test"),
            **metrics.reference_metrics(split),
        }
        return {f"test_{name}": value for name, value in scores.items()}

    def paired_outcomes(self, model, card, split: Split, metric: str):
        """Classifier features of generated and real test images, for the paired bootstrap."""
        from components.runtime.stats import FeatureSets

        if metric != "test_frechet_distance":
            return None
        check_compatible(card, split, COMPATIBLE)
        fake, real, _, _ = metrics.features(model.cpu(), split, "test")
        return FeatureSets(fake, real)

    def plots(self, model, card, split, history, folder: Path) -> list[Path]:
        model.cpu()
        return [
            metrics.plot_sample_grid(model, card.classes, folder / "sample_grid.png"),
            metrics.plot_gan_curves(history, card.best_epoch, folder / "loss_curve.png"),
        ]

    def example(self, split: Split) -> pd.DataFrame:
        values = inference.class_values(split.info["classes"])
        digit = values[0] if split.info["conditional"] else inference.ANY
        return pd.DataFrame({"n": [2, 1], "seed": [0, 1], "digit": [digit, inference.ANY]})

    def predict(self, model, card, model_input: pd.DataFrame) -> pd.DataFrame:
        return inference.predict_frame(model, card, model_input)

    def dataset_frame(self, folder: Path):
        return image_data.dataset_frame(folder)
