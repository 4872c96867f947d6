"""BentoML service of the CNN family: classify uploaded images or arrays of pixel values.

`POST /classify` takes image files (multipart field `images`, repeated for a batch; PNG, JPEG or
any format Pillow reads), converted and resized as in training. `POST /predict` takes JSON
`{"images": [...]}`: each image (C, H, W) — or (H, W) for grayscale — of pixel values in
[0, 1], already of the model's size. Both answer with a class and class probabilities per image
and the model's lineage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import bentoml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from serving.common import FormGuard, bad_request, load, model_tag, predict_classes

# Strict, finite pixel values in [0, 1]: no strings, no booleans, no NaN or Infinity.
Pixel = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=1)]
Image3D = list[list[list[Pixel]]]  # (C, H, W); (H, W) grayscale is wrapped to (1, H, W)
HARD_MAX_BATCH = 10_000  # the model's own serving.max_batch (usually smaller) applies too
MAX_PIXELS = 4096 * 4096  # larger uploads are refused before decoding (decompression bombs)


def _as_chw(value: Any) -> Any:
    """An (H, W) grayscale image becomes (1, H, W); anything else is left for validation."""
    for inner in (value, value[0] if isinstance(value, list) and value else None):
        if not (isinstance(inner, list) and inner):
            return value
    return [value] if not isinstance(value[0][0], list) else value


PixelImage = Annotated[Image3D, BeforeValidator(_as_chw)]


class PixelsRequest(BaseModel):
    """A batch of images as nested lists of pixel values in [0, 1]."""

    model_config = ConfigDict(extra="forbid")

    images: Annotated[list[PixelImage], Field(min_length=1, max_length=HARD_MAX_BATCH)]


@bentoml.service(name="dlops-cnn", resources={"cpu": "1"}, traffic={"timeout": 30})
class Service:
    """The CNN champion behind `/classify` and `/predict`; every answer names its versions."""

    bento_model = bentoml.models.BentoModel(model_tag("cnn"))

    def __init__(self) -> None:
        self.model, self.card, self.lineage = load(self.bento_model)
        self.classes: list = self.card["classes"]
        self.size: int = self.card["image_size"]
        self.mode: str = self.card["mode"]
        self.max_file_bytes: int = int(self.card.get("max_file_bytes") or 5_000_000)
        self.max_batch: int = int(self.lineage.pop("max_batch") or HARD_MAX_BATCH)

    def _too_many(self, n: int):
        if n == 0:
            return bad_request("send at least one image")
        if n > self.max_batch:
            return bad_request(
                f"batch of {n} images exceeds the limit of {self.max_batch}", status=413
            )
        return None

    def _answer(self, x) -> dict[str, Any]:
        """Class and probabilities per image of `x` (N, C, H, W), with the lineage."""
        import torch

        predictions = predict_classes(self.model, torch.as_tensor(x), self.classes)
        return {"predictions": predictions, **self.lineage}

    def _decode(self, i: int, path: Path):
        """One uploaded file → (C, H, W) float32, or a message saying what is wrong."""
        from PIL import Image

        from components.data.images import to_array

        try:
            with Image.open(path) as image:
                if image.width * image.height > MAX_PIXELS:
                    return f"images[{i}]: {image.width}x{image.height} exceeds {MAX_PIXELS} pixels"
                image.load()  # decodes fully: truncated files fail here
                return to_array(image, self.size, self.mode)
        except Exception as exc:  # any decoding failure is the client's file, not a crash
            return f"images[{i}]: not a readable image ({type(exc).__name__})"

    @bentoml.api
    def classify(self, images: list[Path]) -> dict[str, Any]:
        """Classify uploaded image files (multipart field `images`, one part per image)."""
        import numpy as np

        refused = self._too_many(len(images))
        if refused is not None:
            return refused
        for i, path in enumerate(images):
            size = path.stat().st_size
            if size == 0 or size > self.max_file_bytes:
                message = f"images[{i}]: {size} bytes, expected 1 to {self.max_file_bytes}"
                return bad_request(message, status=413 if size else 422)
        arrays = []
        for i, path in enumerate(images):
            decoded = self._decode(i, path)
            if isinstance(decoded, str):
                return bad_request(decoded)
            arrays.append(decoded)
        return self._answer(np.stack(arrays))

    @bentoml.api(input_spec=PixelsRequest)
    def predict(self, images: list) -> dict[str, Any]:
        """Classify images sent as pixel arrays of the model's size (see the module docstring)."""
        from components.project import DlopsError
        from components.tasks.images import as_batch

        refused = self._too_many(len(images))
        if refused is not None:
            return refused
        try:
            x = as_batch(images, self.card)
        except DlopsError as exc:
            return bad_request(str(exc))
        return self._answer(x)

    @bentoml.api
    def metadata(self) -> dict[str, Any]:
        """The served model's lineage and input schema."""
        return {
            **self.lineage,
            "classes": self.classes,
            "image_size": self.size,
            "mode": self.mode,
            "max_batch": self.max_batch,
            "max_file_bytes": self.max_file_bytes,
        }


Service.add_asgi_middleware(FormGuard)
