"""Image folders: one subfolder per class. Built-in: scikit-learn's 8x8 digits as PNG files."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def write_digits(folder: Path) -> None:
    """scikit-learn's 1,797 digits as 8x8 grayscale PNGs in `folder/<digit>/<index>.png`.

    Pixel values 0..16 are scaled to 0..255; PNG encoding is deterministic, so every run writes
    byte-identical files.
    """
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = np.rint(digits.images * (255 / 16)).astype(np.uint8)
    for index, (image, label) in enumerate(zip(pixels, digits.target, strict=True)):
        target = folder / str(label)
        target.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image, mode="L").save(target / f"{index:04d}.png", optimize=False)


def image_files(folder: Path) -> list[Path]:
    """Every non-hidden file under `folder`, sorted (non-images included: validation judges)."""
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def _describe(path: Path, folder: Path) -> dict:
    from PIL import Image

    relative = path.relative_to(folder)
    row = {"path": str(relative), "class": relative.parts[0] if len(relative.parts) > 1 else None,
           "bytes": path.stat().st_size, "readable": False, "width": None, "height": None,
           "mode": None, "min_pixel": None, "max_pixel": None, "checksum": None}
    try:
        with Image.open(path) as image:
            image.load()  # decodes fully: truncated files fail here
            array = np.asarray(image)
            row.update(readable=True, width=image.width, height=image.height, mode=image.mode,
                       min_pixel=float(array.min()), max_pixel=float(array.max()),
                       checksum=hashlib.md5(image.mode.encode() + array.tobytes()).hexdigest())
    except Exception as exc:  # any decoding failure is a validation finding, not a crash
        row["error"] = f"{type(exc).__name__}: {exc}"
    return row


def manifest(folder: Path) -> pd.DataFrame:
    """One row per file: path, class, readable, width, height, mode, min/max pixel, checksum."""
    rows = [_describe(path, folder) for path in image_files(folder)]
    columns = ["path", "class", "bytes", "readable", "width", "height", "mode", "min_pixel",
               "max_pixel", "checksum"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({"readable": bool})


def class_counts(folder: Path, frame: pd.DataFrame) -> pd.DataFrame:
    """Images per class subfolder, empty subfolders included (count 0)."""
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    counts = frame["class"].value_counts()
    return pd.DataFrame({"class": classes,
                         "count": [int(counts.get(c, 0)) for c in classes]})


@dataclass(frozen=True)
class ImageData:
    """Images as float32 (N, C, H, W) in [0, 1], labels as indices into sorted class names."""

    x: np.ndarray
    y: np.ndarray
    classes: list[str]


def to_array(image, size: int, mode: str) -> np.ndarray:
    """One PIL image → (C, size, size) float32 in [0, 1], converted and resized."""
    from PIL import Image

    image = image.convert(mode)
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BILINEAR)
    array = np.asarray(image, dtype=np.float32) / 255.0
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def load_images(folder: Path, size: int, mode: str) -> ImageData:
    """Load a validated class-folder tree, every image converted to `mode` and `size`."""
    from PIL import Image

    paths = [p for p in image_files(folder) if len(p.relative_to(folder).parts) > 1]
    classes = sorted({p.relative_to(folder).parts[0] for p in paths})
    index = {name: i for i, name in enumerate(classes)}
    arrays, labels = [], []
    for path in paths:
        with Image.open(path) as image:
            arrays.append(to_array(image, size, mode))
        labels.append(index[path.relative_to(folder).parts[0]])
    return ImageData(np.stack(arrays), np.array(labels, dtype=np.int64), classes)
