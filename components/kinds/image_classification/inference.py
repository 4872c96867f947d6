"""The CNN's card and prediction: images (files or pixel arrays) → class probabilities.

Pure torch/numpy/Pillow: the MLflow model and the BentoML service both call this; the same
conversion (`to_array`) prepares training images, so a served upload is seen as in training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np

from components.kinds.card import ClassifierCard, predictor
from components.project import DlopsError
from components.runtime.inference import class_predictions, predict_proba, predictions_frame

KIND = "image_classification"
CHANNELS = {"L": 1, "RGB": 3}
MAX_PIXELS = 4096 * 4096  # larger uploads are refused before decoding (decompression bombs)


class ImageCard(ClassifierCard):
    """The CNN's card: class names (the subfolders), the image size and mode it reads."""

    kind_name = KIND

    classes: list[str]
    image_size: int
    mode: Literal["L", "RGB"]
    max_file_bytes: int = 5_000_000


def to_array(image, size: int, mode: str) -> np.ndarray:
    """One PIL image → (C, size, size) float32 in [0, 1], converted and resized."""
    from PIL import Image

    image = image.convert(mode)
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BILINEAR)
    array = np.asarray(image, dtype=np.float32) / 255.0
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def decode(path: Path, size: int, mode: str) -> np.ndarray:
    """An image file → (C, size, size); ValueError saying why a file is not a usable image."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            if image.width * image.height > MAX_PIXELS:
                raise ValueError(f"{image.width}x{image.height} exceeds {MAX_PIXELS} pixels")
            image.load()  # decodes fully: truncated files fail here
            return to_array(image, size, mode)
    except ValueError:
        raise
    except Exception as exc:  # any decoding failure is the file's, not a crash
        raise ValueError(f"not a readable image ({type(exc).__name__})") from None


def as_batch(model_input, card: ImageCard) -> np.ndarray:
    """Model input (array, nested list or one-column frame) → float32 (N, C, H, W) in [0, 1].

    Single-channel images may come as (N, H, W). Raises DlopsError on a wrong shape, values
    that are not finite or lie outside [0, 1].
    """
    import pandas as pd

    if isinstance(model_input, pd.DataFrame):
        model_input = np.stack([np.asarray(v) for v in model_input.iloc[:, 0]])
    try:
        x = np.asarray(model_input, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise DlopsError(f"images must be a numeric array: {exc}") from None
    channels, size = CHANNELS[card.mode], card.image_size
    if x.ndim == 3 and channels == 1:
        x = x[:, None]
    if x.shape[1:] != (channels, size, size):
        raise DlopsError(
            f"images must have shape (N, {channels}, {size}, {size}), got {tuple(x.shape)}"
        )
    if not np.isfinite(x).all() or x.min(initial=0) < 0 or x.max(initial=0) > 1:
        raise DlopsError("pixel values must be finite and in [0, 1]")
    return x


def logged(card: ImageCard, x: np.ndarray) -> dict[str, list]:
    """Images (N, C, H, W) as the served-input log keeps them: 8-bit pixels, one blob each."""
    return {"pixels": [(image * 255).round().astype(np.uint8).tobytes() for image in x]}


def from_logged(card: ImageCard, frame) -> np.ndarray:
    """Logged rows back to images (N, C, H, W) in [0, 1]."""
    shape = (CHANNELS[card.mode], card.image_size, card.image_size)
    blobs = [np.frombuffer(blob, dtype=np.uint8).reshape(shape) for blob in frame["pixels"]]
    return np.stack(blobs).astype(np.float32) / 255 if blobs else np.empty((0, *shape))


def classify(model, card: ImageCard, x: np.ndarray) -> list[dict[str, Any]]:
    """Class name and class probabilities per image of `x` (N, C, H, W)."""
    return class_predictions(predict_proba(model, x), card.names)


@predictor(KIND)
def predict_frame(model, card: ImageCard, model_input):
    """The logged model's prediction: images → a frame of class + probabilities."""
    return predictions_frame(predict_proba(model, as_batch(model_input, card)), card.names)


def describe(card) -> dict:
    """What the service's `/metadata` says of a model besides its lineage."""
    return {
        "classes": card.names,
        "image_size": card.image_size,
        "mode": card.mode,
        "max_file_bytes": card.max_file_bytes,
    }
