"""The GAN's card and generation: (n, seed, class) → images, the same for the same seed.

Pure torch/numpy/Pillow: the MLflow model and the BentoML service both call this.
"""

from __future__ import annotations

import base64
import io
from typing import Literal

import numpy as np
import torch

from components.kinds.card import ModelCard, predictor
from components.models.gan import generate

KIND = "image_generation"
ANY = -1  # `digit` value of a request for images of any class


class GenerationCard(ModelCard):
    """The generator's card: its classes, the images it makes, its noise size."""

    kind_name = KIND

    classes: list[str]
    image_size: int
    mode: Literal["L", "RGB"]
    latent_dim: int
    conditional: bool


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


def generate_images(model, card: GenerationCard, n: int, seed: int, digit: int = ANY):
    """`n` images (N, C, H, W) in [0, 1] and their class indices, the same for the same seed."""
    index = class_index(card.classes, digit)
    if index is not None and not card.conditional:
        raise ValueError("this model is unconditional: it cannot generate a chosen class")
    labels = None if index is None else torch.full((n,), index, dtype=torch.int64)
    images, labels = generate(model, n, seed, labels)
    return images.numpy(), labels.numpy()


@predictor(KIND)
def predict_frame(model, card: GenerationCard, model_input):
    """The logged model's prediction: one row per generated image (input row, class, pixels)."""
    import pandas as pd

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
        frame.insert(0, "class", [card.classes[i] for i in labels])
        frame.insert(0, "input_row", row)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def png_base64(image) -> str:
    """One (C, H, W) image in [0, 1] as a base64 PNG at its own size."""
    from PIL import Image

    pixels = np.rint(np.clip(image, 0, 1) * 255).astype(np.uint8).transpose(1, 2, 0)
    picture = Image.fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def as_array(image) -> list:
    """One (C, H, W) image in [0, 1] as nested lists: (H, W) for grayscale, else (H, W, C)."""
    array = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)
    return array.astype("float64").round(4).tolist()  # float64: 0.0285, not 0.02850000001


def describe(card) -> dict:
    """What the service's `/metadata` says of a model besides its lineage."""
    return {
        "classes": card.classes,
        "digits": class_values(card.classes),
        "conditional": card.conditional,
        "image_size": card.image_size,
        "mode": card.mode,
        "latent_dim": card.latent_dim,
    }
