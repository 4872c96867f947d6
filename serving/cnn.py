"""BentoML service of the CNN family: classify uploaded images or arrays of pixel values.

`POST /classify` takes image files (multipart field `images`, repeated for a batch; PNG, JPEG or
any format Pillow reads), converted and resized as in training. `POST /predict` takes JSON
`{"images": [...]}`: each image (C, H, W) — or (H, W) for grayscale — of pixel values in
[0, 1], already of the model's size. Both answer with a class and class probabilities per image
and the model's lineage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import bentoml

from components.kinds.image_classification import inference
from components.kinds.image_classification.schemas import HARD_MAX_BATCH, PixelsRequest
from components.project import DlopsError
from serving.common import InputLogging, bad_request, guarded, load, log_inputs, model_tag


@bentoml.service(name="dlops-cnn", resources={"cpu": "1"}, traffic={"timeout": 30})
class Service(InputLogging):
    """The CNN champion behind `/classify` and `/predict`; every answer names its lineage."""

    bento_model = bentoml.models.BentoModel(model_tag("cnn"))

    def __init__(self) -> None:
        served = load(self.bento_model)
        self.model, self.card, self.lineage = served.model, served.card, served.lineage
        self.inputs = served.inputs  # the served-input log (None: off)
        self.max_batch: int = served.max_batch or HARD_MAX_BATCH

    def _too_many(self, n: int):
        if n == 0:
            return bad_request("images: send at least one image")
        if n > self.max_batch:
            return bad_request(
                f"images: a batch of {n} exceeds the limit of {self.max_batch}", status=413
            )
        return None

    def _answer(self, x) -> dict[str, Any]:
        """Class and probabilities per image of `x` (N, C, H, W), with the lineage."""
        log_inputs(self.inputs, lambda: inference.logged(self.card, x))
        return {"predictions": inference.classify(self.model, self.card, x), **self.lineage}

    @bentoml.api
    def classify(self, images: list[Path]) -> dict[str, Any]:
        """Classify uploaded image files (multipart field `images`, one part per image)."""
        import numpy as np

        refused = self._too_many(len(images))
        if refused is not None:
            return refused
        limit = self.card.max_file_bytes
        for i, path in enumerate(images):
            size = path.stat().st_size
            if size == 0 or size > limit:
                message = f"images[{i}]: {size} bytes, expected 1 to {limit}"
                return bad_request(message, status=413 if size else 422)
        arrays = []
        for i, path in enumerate(images):
            try:
                arrays.append(inference.decode(path, self.card.image_size, self.card.mode))
            except ValueError as exc:
                return bad_request(f"images[{i}]: {exc}")
        return self._answer(np.stack(arrays))

    @bentoml.api(input_spec=PixelsRequest)
    def predict(self, images: list) -> dict[str, Any]:
        """Classify images sent as pixel arrays of the model's size (see the module docstring)."""
        refused = self._too_many(len(images))
        if refused is not None:
            return refused
        try:
            x = inference.as_batch(images, self.card)
        except DlopsError as exc:
            return bad_request(str(exc))
        return self._answer(x)

    @bentoml.api
    def metadata(self) -> dict[str, Any]:
        """The served model's lineage and input schema."""
        return {
            **self.lineage,
            "classes": self.card.names,
            "image_size": self.card.image_size,
            "mode": self.card.mode,
            "max_batch": self.max_batch,
            "max_file_bytes": self.card.max_file_bytes,
        }


guarded(Service)
