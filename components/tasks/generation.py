"""Image generation (the GAN): a folder of class subfolders → new images of a chosen class.

Quality is a Fréchet distance on the features of a small classifier this project trains on the
training split (`components/evaluation/generation.py`): not Inception FID, comparable only
between models scored on the same data and split.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from components.evaluation.generation import (
    feature_classifier,
    generation_metrics,
    grid_images,
    plot_gan_curves,
    plot_sample_grid,
    reference_metrics,
    save_grid,
)
from components.models.gan import GANConfig, generate
from components.project import DlopsError
from components.tasks.base import Split
from components.tasks.images import ImageFolderTask

ANY = -1  # `digit` value of a request for images of any class
INFO_KEYS = ("classes", "image_size", "mode")


def class_values(classes: list[str]) -> list[int]:
    """The integers a request may name a class by.

    The names themselves when every class name is an integer (the digits: "0".."9"), otherwise
    the class indices.
    """
    if all(name.lstrip("-").isdigit() for name in classes):
        return [int(name) for name in classes]
    return list(range(len(classes)))


def class_index(classes: list[str], digit: int) -> int | None:
    """The class index a requested `digit` names; None for ANY; ValueError if it names none."""
    if digit == ANY:
        return None
    values = class_values(classes)
    if digit not in values:
        raise ValueError(f"digit {digit} is not one of the model's classes {values} (or -1: any)")
    return values.index(digit)


def generate_images(model, card: dict, n: int, seed: int, digit: int = ANY):
    """`n` images (N, C, H, W) in [0, 1] and their class indices, the same for the same seed."""
    index = class_index(card["classes"], digit)
    if index is not None and not card["conditional"]:
        raise ValueError("this model is unconditional: it cannot generate a chosen class")
    labels = None if index is None else torch.full((n,), index, dtype=torch.int64)
    images, labels = generate(model, n, seed, labels)
    return images.numpy(), labels.numpy()


class ImageGeneration(ImageFolderTask):
    """Class-folder images → a generator of new images, conditional on the class."""

    kind = "image_generation"

    def load_split(self, folder: Path, settings) -> Split:
        split = super().load_split(folder, settings)
        config = GANConfig.model_validate(settings.model)
        return replace(
            split,
            dims={**split.dims, "channels": int(split.x["train"].shape[1])},
            info={**split.info, "latent_dim": config.latent_dim, "conditional": config.conditional},
        )

    def fit(self, model, split: Split, settings, device, workdir: Path, checkpoints=None):
        from components.training.gan_trainer import fit_gan

        config = GANConfig.model_validate(settings.model)
        feature_classifier(split)  # trained (and cached) before training starts
        samples = workdir / "samples"

        def val_fd(gan) -> float:
            return generation_metrics(gan, split, "validation")["frechet_distance"]

        def on_sample(gan, epoch: int) -> None:
            save_grid(grid_images(gan, split.dims["n_classes"]), 10, samples / f"{epoch:04d}.png")

        train = (torch.as_tensor(split.x["train"]), torch.as_tensor(split.y["train"]))
        result = fit_gan(
            model, train, config, settings.train, device, val_fd, on_sample, checkpoints
        )
        save_grid(grid_images(model, split.dims["n_classes"]), 10, samples / "best.png")
        return result

    def score(self, model, card: dict, split: Split) -> dict[str, float]:
        if any(card.get(key) != split.info.get(key) for key in INFO_KEYS):
            raise DlopsError("model was trained on other classes / image size / mode than the data")
        model.cpu()
        metrics = {**generation_metrics(model, split, "test"), **reference_metrics(split)}
        return {f"test_{name}": value for name, value in metrics.items()}

    def paired_outcomes(self, model, card: dict, split: Split, metric: str):
        """Classifier features of generated and real test images, for the paired bootstrap."""
        from components.evaluation.generation import features
        from components.registry.stats import FeatureSets

        if metric != "test_frechet_distance":
            return None
        if any(card.get(key) != split.info.get(key) for key in INFO_KEYS):
            raise DlopsError("model was trained on other classes / image size / mode than the data")
        fake, real, _, _ = features(model.cpu(), split, "test")
        return FeatureSets(fake, real)

    def plots(self, model, card, split, history, folder: Path) -> list[Path]:
        model.cpu()
        return [
            plot_sample_grid(model, card["classes"], folder / "sample_grid.png"),
            plot_gan_curves(history, card["best_epoch"], folder / "loss_curve.png"),
        ]

    def example(self, split: Split) -> pd.DataFrame:
        digit = class_values(split.info["classes"])[0] if split.info["conditional"] else ANY
        return pd.DataFrame({"n": [2, 1], "seed": [0, 1], "digit": [digit, ANY]})

    def predict(self, model, card: dict, model_input: pd.DataFrame) -> pd.DataFrame:
        """One row per generated image: the input row, its class and the pixels, flattened."""
        missing = {"n", "seed"} - set(model_input.columns)
        if missing:
            raise ValueError(f"model input needs columns n, seed (and digit); missing {missing}")
        digits = model_input["digit"] if "digit" in model_input else [ANY] * len(model_input)
        frames = []
        for row, (n, seed, digit) in enumerate(
            zip(model_input["n"], model_input["seed"], digits, strict=True)
        ):
            images, labels = generate_images(model, card, int(n), int(seed), int(digit))
            pixels = images.reshape(len(images), -1).astype(np.float32)
            frame = pd.DataFrame(pixels, columns=[f"pixel_{i}" for i in range(pixels.shape[1])])
            frame.insert(0, "class", [card["classes"][i] for i in labels])
            frame.insert(0, "input_row", row)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)
