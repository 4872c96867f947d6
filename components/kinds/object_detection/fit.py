"""How the detector trains: images read from files, boxes moved with them, CenterNet's losses.

Each example is an image (3, S, S) and its target maps (C + 5, S/4, S/4): a Gaussian peak per
object centre in its class's heatmap, then the object's log width and height (in grid cells),
its centre's sub-cell offset and a mask of the cells that hold a centre. The targets are drawn
in the loader (from the boxes after augmentation), so a batch stacks like any other.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from components.kinds.base import Split
from components.kinds.object_detection.images import open_image, to_array
from components.kinds.object_detection.inference import STRIDE
from components.kinds.supervised import fit_split


def gaussian_radius(height: float, width: float, min_overlap: float = 0.7) -> float:
    """CenterNet's radius: a corner moved this far still leaves IoU ≥ `min_overlap`."""
    a1, b1 = 1.0, height + width
    c1 = width * height * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + math.sqrt(b1**2 - 4 * a1 * c1)) / 2
    a2, b2 = 4.0, 2 * (height + width)
    c2 = (1 - min_overlap) * width * height
    r2 = (b2 + math.sqrt(b2**2 - 4 * a2 * c2)) / 2
    a3, b3 = 4 * min_overlap, -2 * min_overlap * (height + width)
    c3 = (min_overlap - 1) * width * height
    r3 = (b3 + math.sqrt(b3**2 - 4 * a3 * c3)) / 2
    return min(r1, r2, r3)


def targets(boxes: np.ndarray, labels: np.ndarray, n_classes: int, size: int) -> np.ndarray:
    """Target maps (C + 5, size/4, size/4) for boxes (k, 4) in input pixels."""
    cells = size // STRIDE
    out = np.zeros((n_classes + 5, cells, cells), dtype=np.float32)
    ys, xs = np.mgrid[0:cells, 0:cells]
    for (x1, y1, x2, y2), label in zip(boxes / STRIDE, labels, strict=True):
        w, h = x2 - x1, y2 - y1
        if w <= 0 or h <= 0:
            continue
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        ix, iy = min(int(cx), cells - 1), min(int(cy), cells - 1)
        sigma = (2 * max(0.0, gaussian_radius(h, w)) + 1) / 6
        peak = np.exp(-((xs - ix) ** 2 + (ys - iy) ** 2) / (2 * sigma**2))
        out[label] = np.maximum(out[label], peak)
        out[n_classes:, iy, ix] = [math.log(w), math.log(h), cx - ix, cy - iy, 1.0]
    return out


def augment(image, boxes: np.ndarray, generator: torch.Generator):
    """A random crop that keeps every box whole, and a horizontal flip; boxes move along."""
    from PIL import Image

    width, height = image.size
    if len(boxes):
        lo = np.floor(boxes[:, :2].min(axis=0)).clip(0)
        hi = np.ceil(boxes[:, 2:].max(axis=0)).clip(max=[width, height])
    else:
        lo, hi = np.zeros(2), np.array([width, height], dtype=float)
    u = torch.rand(3, generator=generator).numpy()
    scale = 0.7 + 0.3 * u[0]  # the crop's side, as a share of the image's
    cw, ch = max(hi[0] - lo[0], scale * width), max(hi[1] - lo[1], scale * height)
    # the crop's corner: anywhere that keeps the boxes' union inside and the crop in the image
    x_lo, x_hi = max(0.0, hi[0] - cw), min(lo[0], width - cw)
    y_lo, y_hi = max(0.0, hi[1] - ch), min(lo[1], height - ch)
    x0 = float(x_lo + u[1] * max(0.0, x_hi - x_lo))
    y0 = float(y_lo + u[2] * max(0.0, y_hi - y_lo))
    image = image.crop((x0, y0, x0 + cw, y0 + ch)).resize((width, height),
                                                          Image.Resampling.BILINEAR)  # fmt: skip
    boxes = (boxes - [x0, y0, x0, y0]) * np.array([width / cw, height / ch] * 2)
    if torch.rand(1, generator=generator).item() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        boxes = np.stack([width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0], boxes[:, 3]], 1)
    return image, boxes


class Scenes(Dataset):
    """(image, target maps) per image, read from its file when asked for.

    `boxes[i]` are image i's boxes (k, 4) in its own pixels, `labels[i]` their class indices
    and `sizes[i]` its (width, height) as the labels declare; `augment` moves boxes with the
    image (training only).
    """

    def __init__(self, files: list[str], boxes: list[np.ndarray], labels: list[np.ndarray],
                 n_classes: int, size: int, augment: bool = False,
                 sizes: list[tuple[int, int]] | None = None):  # fmt: skip
        self.files, self.boxes, self.box_labels = files, boxes, labels
        self.sizes = sizes or [(size, size)] * len(files)
        self.n_classes, self.size, self.augment = n_classes, size, augment
        self.generator = torch.Generator()

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        image = open_image(Path(self.files[i])).convert("RGB")
        boxes = np.asarray(self.boxes[i], dtype=np.float64).reshape(-1, 4)
        if self.augment:
            self.generator.manual_seed(int(torch.randint(0, 2**62, (1,)).item()))
            image, boxes = augment(image, boxes, self.generator)
        width, height = image.size
        scaled = boxes * np.array([self.size / width, self.size / height] * 2)
        return to_array(image, self.size), targets(scaled, self.box_labels[i], self.n_classes,
                                                   self.size)  # fmt: skip

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The file paths and each image's (label, x1, y1, x2, y2) rows: what scoring reads."""
        rows = [
            np.column_stack([np.asarray(labels, dtype=np.float64).reshape(-1, 1),
                             np.asarray(boxes, dtype=np.float64).reshape(-1, 4)])
            for labels, boxes in zip(self.box_labels, self.boxes, strict=True)
        ]  # fmt: skip
        out = np.empty(len(rows), dtype=object)
        out[:] = rows
        return np.array(self.files, dtype=object), out


def focal_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss over heatmaps, per object."""
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    centre = target.eq(1).float()
    positive = -torch.log(p) * (1 - p) ** 2 * centre
    negative = -torch.log(1 - p) * p**2 * (1 - target) ** 4 * (1 - centre)
    return (positive.sum() + negative.sum()) / centre.sum().clamp(min=1.0)


def detection_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Heatmap focal loss + L1 on log size and centre offset at the object centres."""
    classes = output.shape[1] - 4
    heat = focal_loss(output[:, :classes], target[:, :classes])
    mask = target[:, -1:]
    objects = mask.sum().clamp(min=1.0)
    size = torch.abs(output[:, classes : classes + 2] - target[:, classes : classes + 2]) * mask
    offset = torch.abs(output[:, classes + 2 :] - target[:, classes + 2 : -1]) * mask
    return heat + size.sum() / objects + offset.sum() / objects


def fit(model, split: Split, settings, device, checkpoints=None):
    """The shared trainer (early stopping on validation loss) on scenes read from files."""
    return fit_split(model, split, settings, device, checkpoints, loss_fn=detection_loss,
                     classification=False)  # fmt: skip
