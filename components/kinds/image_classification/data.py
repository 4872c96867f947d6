"""Image folders: one subfolder per class. Built-in: scikit-learn's 8x8 digits as PNG files.

The split holds the images decoded in memory when they fit `data.in_memory_mb`; a larger folder
is read batch by batch from its files (`ImageFiles`), by DataLoader worker processes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from torch.utils.data import Dataset

from components.kinds.base import Split
from components.kinds.image_classification.inference import CHANNELS, MAX_PIXELS, decode
from components.runtime.datasets import ArrayDataset, default_workers
from components.runtime.splits import split_digest, split_indices
from components.settings import FamilySettings

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
        p
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def _describe(path: Path, folder: Path) -> dict:
    from PIL import Image

    relative = path.relative_to(folder)
    row = {
        "path": str(relative),
        "class": relative.parts[0] if len(relative.parts) > 1 else None,
        "bytes": path.stat().st_size,
        "readable": False,
        "width": None,
        "height": None,
        "pixels": None,
        "mode": None,
        "min_pixel": None,
        "max_pixel": None,
        "mean_pixel": None,
        "checksum": None,
    }
    try:
        with Image.open(path) as image:
            row.update(width=image.width, height=image.height, pixels=image.width * image.height)
            if row["pixels"] > MAX_PIXELS:  # not decoded: the suite's size rule reports it
                return {**row, "readable": True, "mode": image.mode}
            image.load()  # decodes fully: truncated files fail here
            array = np.asarray(image)
            row.update(
                readable=True,
                mode=image.mode,
                min_pixel=float(array.min()),
                max_pixel=float(array.max()),
                mean_pixel=float(array.mean()),
                checksum=hashlib.md5(image.mode.encode() + array.tobytes()).hexdigest(),
            )
    except Exception as exc:  # any decoding failure is a validation finding, not a crash
        row["error"] = f"{type(exc).__name__}: {exc}"
    return row


def manifest(folder: Path) -> pd.DataFrame:
    """One row per file: path, class, readable, width, height, pixels, mode, min/max, checksum."""
    rows = [_describe(path, folder) for path in image_files(folder)]
    columns = [
        "path",
        "class",
        "bytes",
        "readable",
        "width",
        "height",
        "pixels",
        "mode",
        "min_pixel",
        "max_pixel",
        "mean_pixel",
        "checksum",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({"readable": bool})


def class_counts(folder: Path, frame: pd.DataFrame) -> pd.DataFrame:
    """Images per class subfolder, empty subfolders included (count 0)."""
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    counts = frame["class"].value_counts()
    return pd.DataFrame({"class": classes, "count": [int(counts.get(c, 0)) for c in classes]})


@dataclass(frozen=True)
class ImageList:
    """A class-folder tree's images (sorted paths), labels as indices into sorted class names."""

    paths: list[Path]
    y: np.ndarray
    classes: list[str]


def list_images(folder: Path) -> ImageList:
    """The images of a validated class-folder tree, without reading them."""
    paths = [p for p in image_files(folder) if len(p.relative_to(folder).parts) > 1]
    classes = sorted({p.relative_to(folder).parts[0] for p in paths})
    index = {name: i for i, name in enumerate(classes)}
    labels = [index[p.relative_to(folder).parts[0]] for p in paths]
    return ImageList(paths, np.array(labels, dtype=np.int64), classes)


class ImageFiles(Dataset):
    """Images read from their files as they are asked for: (C, size, size) float32, label.

    Examples are numpy arrays; the loader's `stack_arrays` batches them.
    """

    def __init__(self, paths: list[Path], labels: np.ndarray, size: int, mode: str):
        self.paths, self.labels, self.size, self.mode = paths, labels, size, mode

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.int64]:
        return decode(self.paths[index], self.size, self.mode), self.labels[index]

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Every image decoded, and the labels: the whole part in memory."""
        return load_images(self.paths, self.size, self.mode), self.labels


def load_images(paths: list[Path], size: int, mode: str) -> np.ndarray:
    """Decode every image in `paths` to (N, C, size, size) float32, as `ImageFiles` does."""
    return np.stack([decode(path, size, mode) for path in paths])


def fits_in_memory(n: int, settings: FamilySettings) -> bool:
    """Whether `n` decoded images fit the family's `data.in_memory_mb`."""
    image = settings.data.image
    decoded = n * CHANNELS[image.mode] * image.size**2 * 4  # float32
    return decoded <= settings.data.in_memory_mb * 2**20


def load_split(folder: Path, settings: FamilySettings, in_memory: bool | None = None) -> Split:
    """The seeded, stratified split of a class-folder tree: in memory, or read from files.

    `in_memory` None: in memory when the decoded images fit `data.in_memory_mb`.
    """
    image = settings.data.image
    listed = list_images(folder)
    parts = split_indices(listed.y, settings.data.split)
    if in_memory if in_memory is not None else fits_in_memory(len(listed.paths), settings):
        x = load_images(listed.paths, image.size, image.mode)
        data = {k: ArrayDataset(x[v], listed.y[v]) for k, v in parts.items()}
    else:
        data = {
            k: ImageFiles([listed.paths[i] for i in v], listed.y[v], image.size, image.mode)
            for k, v in parts.items()
        }
    workers = settings.data.workers if settings.data.workers >= 0 else default_workers()
    return Split(
        data=data,
        dims={"n_classes": len(listed.classes), "image_size": image.size},
        info={"classes": listed.classes, "image_size": image.size, "mode": image.mode},
        digest=split_digest(parts),
        workers=workers,
    )


def dataset_frame(folder: Path) -> pd.DataFrame:
    """One row per file: its path and class (`class` is the label column the configs name)."""
    paths = [p.relative_to(folder) for p in image_files(folder)]
    return pd.DataFrame(
        {
            "path": [str(p) for p in paths],
            "class": [p.parts[0] if len(p.parts) > 1 else "" for p in paths],
        }
    )
