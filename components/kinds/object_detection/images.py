"""Reading images safely (torch-free: validation, training and the service share it)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

MAX_PIXELS = 4096 * 4096  # larger images are refused before decoding (decompression bombs)


def open_image(source: Path | bytes):
    """A decoded PIL image; ValueError saying why it is not a usable image."""
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
        if image.width * image.height > MAX_PIXELS:
            raise ValueError(f"{image.width}x{image.height} exceeds {MAX_PIXELS} pixels")
        image.load()  # decodes fully: truncated files fail here
        return image
    except ValueError:
        raise
    except Exception as exc:  # any decoding failure is the file's, not a crash
        raise ValueError(f"not a readable image ({type(exc).__name__})") from None


def to_array(image, size: int) -> np.ndarray:
    """One PIL image → (3, size, size) float32 in [0, 1], converted to RGB and resized."""
    from PIL import Image

    image = image.convert("RGB")
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.float32).transpose(2, 0, 1) / 255.0
