"""The detector's card and prediction: images → boxes (x1, y1, x2, y2 in the image's pixels).

An image is converted to RGB and resized to the card's square input (as in training); the
network's heatmap peaks become boxes, mapped back to the uploaded image's own pixels. Pure
torch/numpy/Pillow: the MLflow model and the BentoML service both call this.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from pydantic import Field

from components.kinds.card import ModelCard, predictor
from components.kinds.object_detection.images import open_image, to_array

KIND = "object_detection"
STRIDE = 4  # the network's output stride (components/models/detector.py)
MAX_DETECTIONS = 100  # per image, as COCO's evaluation counts them
MIN_THRESHOLD = 0.01  # a lower score threshold would answer with noise


class DetectionCard(ModelCard):
    """The detector's card: its classes (in output order) and how images are read."""

    kind_name = KIND

    classes: list[str] = Field(description="class names, the heatmap's channel order")
    image_size: int = Field(description="the square size images are resized to")
    score_threshold: float = Field(0.3, ge=MIN_THRESHOLD, le=1, description="served default")
    max_file_bytes: int = 10_000_000


def peaks(output: torch.Tensor, top: int = MAX_DETECTIONS) -> list[torch.Tensor]:
    """Boxes from network output (N, C + 4, H, W): per image (k, 6) rows in input pixels.

    Each row is x1, y1, x2, y2, score, class; a cell is a peak when no neighbour in its 3x3
    window scores higher (CenterNet's max-pool stand-in for non-maximum suppression).
    """
    n, channels, height, width = output.shape
    classes = channels - 4
    heat = torch.sigmoid(output[:, :classes])
    heat = heat * (heat == torch.nn.functional.max_pool2d(heat, 3, stride=1, padding=1))
    scores, flat = heat.reshape(n, -1).topk(min(top, classes * height * width))
    label = torch.div(flat, height * width, rounding_mode="floor")
    cell = flat % (height * width)
    y, x = torch.div(cell, width, rounding_mode="floor"), cell % width
    box = output[:, classes:].reshape(n, 4, -1)
    box = torch.gather(box, 2, cell[:, None, :].expand(-1, 4, -1))  # (N, 4, k)
    size = torch.exp(box[:, :2].clamp(max=8.0))  # width and height in cells
    cx, cy = x + box[:, 2], y + box[:, 3]
    rows = (
        torch.stack(
            [cx - size[:, 0] / 2, cy - size[:, 1] / 2, cx + size[:, 0] / 2, cy + size[:, 1] / 2],
            dim=2,
        )
        * STRIDE
    )
    return [
        torch.cat([rows[i], scores[i, :, None], label[i, :, None].float()], dim=1) for i in range(n)
    ]


@torch.inference_mode()
def detect_arrays(
    model, x: np.ndarray, sizes: list[tuple[int, int]], threshold: float, batch: int = 16
) -> list[np.ndarray]:
    """Detections of images `x` (N, 3, S, S): per image (k, 6) rows in its own pixels.

    `sizes` are the images' own (width, height); rows are x1, y1, x2, y2, score, class, the
    score at least `threshold`, best first.
    """
    model.eval()
    device = next(model.parameters()).device
    side = x.shape[-1]
    out = []
    for start in range(0, len(x), batch):
        found = peaks(model(torch.as_tensor(x[start : start + batch], device=device)))
        for rows, (width, height) in zip(found, sizes[start : start + batch], strict=True):
            rows = rows[rows[:, 4] >= threshold].cpu().numpy().astype(np.float64)
            rows[:, [0, 2]] = np.clip(rows[:, [0, 2]] * width / side, 0, width)
            rows[:, [1, 3]] = np.clip(rows[:, [1, 3]] * height / side, 0, height)
            out.append(rows)
    return out


def detections(rows: np.ndarray, card: DetectionCard) -> list[dict[str, Any]]:
    """One image's rows as the service answers them."""
    return [
        {
            "box": [round(float(v), 2) for v in row[:4]],
            "label": card.classes[int(row[5])],
            "score": round(float(row[4]), 4),
        }
        for row in rows
    ]


def detect(model, card: DetectionCard, images: list, threshold: float | None = None) -> list:
    """Detections (service form) of PIL images, each in its own pixels."""
    x = np.stack([to_array(image, card.image_size) for image in images])
    sizes = [image.size for image in images]
    limit = card.score_threshold if threshold is None else threshold
    return [detections(r, card) for r in detect_arrays(model, x, sizes, limit)]


THUMBNAIL = 32  # the served-input log keeps each image at this size (3 KB), not the upload


def logged(card: DetectionCard, images: list, found: list | None = None,
           threshold: float | None = None) -> dict[str, list]:  # fmt: skip
    """Images as the served-input log keeps them: size, a 32x32 thumbnail, what was found.

    The detections per image and their mean score are kept when they were found at the
    model's own threshold (NaN otherwise: a caller's threshold would move them by itself).
    """
    own = found is not None and threshold == card.score_threshold
    counts = [float(len(items)) if own else float("nan") for items in found or [None] * len(images)]
    scores = [
        float(np.mean([d["score"] for d in items])) if own and items else float("nan")
        for items in found or [None] * len(images)
    ]
    thumbnails = [
        (to_array(image, THUMBNAIL) * 255).round().astype(np.uint8).tobytes() for image in images
    ]
    return {
        "width": [float(image.width) for image in images],
        "height": [float(image.height) for image in images],
        "thumbnail": thumbnails,
        "detections": counts,
        "mean_score": scores,
    }


def thumbnails(frame) -> np.ndarray:
    """The logged thumbnails as images (N, 3, 32, 32) in [0, 1]."""
    shape = (3, THUMBNAIL, THUMBNAIL)
    blobs = [np.frombuffer(b, dtype=np.uint8).reshape(shape) for b in frame["thumbnail"]]
    return np.stack(blobs).astype(np.float32) / 255


@torch.inference_mode()
def embeddings(model, card: DetectionCard, frame, batch: int = 64) -> np.ndarray:
    """The backbone's pooled features (N, D) of the logged thumbnails.

    Thumbnails are upsampled to the model's input size: training and served images take the
    same path, so only what differs between them shows.
    """
    model.eval()
    x = torch.as_tensor(thumbnails(frame))
    out = []
    for start in range(0, len(x), batch):
        part = torch.nn.functional.interpolate(
            x[start : start + batch], size=(card.image_size, card.image_size), mode="bilinear"
        )
        out.append(model.embed(part).float())
    return torch.cat(out).numpy()


def annotate(image, found: list[dict[str, Any]], classes: list[str]):
    """A copy of PIL image `image` with its detections drawn (box, label, score)."""
    from PIL import ImageDraw

    canvas = image.convert("RGB")
    draw = ImageDraw.Draw(canvas)
    palette = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6"]
    for item in found:
        colour = palette[classes.index(item["label"]) % len(palette)]
        draw.rectangle(item["box"], outline=colour, width=2)
        draw.text((item["box"][0] + 2, item["box"][1] + 1), f"{item['label']} {item['score']:.2f}",
                  fill=colour)  # fmt: skip
    return canvas


@predictor(KIND)
def predict_frame(model, card: DetectionCard, model_input):
    """The MLflow model: a frame with column `image` (encoded image bytes) → one row per box."""
    import pandas as pd

    if "image" not in model_input.columns:
        raise ValueError("input needs a column 'image' holding encoded image files (bytes)")
    images = [open_image(bytes(v)) for v in model_input["image"]]
    rows = [
        {"image": i, **item, "box": item["box"]}
        for i, found in enumerate(detect(model, card, images))
        for item in found
    ]
    return pd.DataFrame(rows, columns=["image", "box", "label", "score"])


def describe(card) -> dict:
    """What the service's `/metadata` says of a model besides its lineage."""
    return {
        "classes": card.classes,
        "image_size": card.image_size,
        "score_threshold": card.score_threshold,
        "max_file_bytes": card.max_file_bytes,
    }
