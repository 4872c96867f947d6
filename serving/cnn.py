"""BentoML service of the CNN family: classify uploaded images or arrays of pixel values.

`POST /classify` takes image files (multipart field `images`, repeated for a batch; PNG, JPEG or
any format Pillow reads), converted and resized as in training. `POST /predict` takes JSON
`{"images": [...]}`: each image (C, H, W) — or (H, W) for grayscale — of pixel values in
[0, 1], already of the model's size. Both answer with a class and class probabilities per image
and the model's lineage.
"""

from __future__ import annotations

from pathlib import Path

import bentoml

from components.kinds.image_classification import inference
from components.kinds.image_classification.schemas import SERVICE, ImagesClassified, PixelsRequest
from components.project import DlopsError
from serving.common import ModelService, Served, bad_request, declared


@declared("cnn", inference, SERVICE)
class Service(ModelService):
    """The CNN champion behind `/classify` and `/predict`; every answer names its lineage."""

    def _classified(self, served: Served, x) -> ImagesClassified:
        """Class and probabilities per image of `x` (N, C, H, W), with the lineage."""
        self.log(served, lambda: inference.logged(served.card, x))
        predictions = inference.classify(served.model, served.card, x)
        return self.answer(served, ImagesClassified, {"predictions": predictions})

    @bentoml.api
    def classify(self, images: list[Path]) -> ImagesClassified:
        """Classify uploaded image files (multipart field `images`, one part per image)."""
        import numpy as np

        served = self.served
        card = served.card
        arrays = self.uploads(
            served, images, "images", lambda p: inference.decode(p, card.image_size, card.mode)
        )
        if not isinstance(arrays, list):
            return arrays
        return self._classified(served, np.stack(arrays))

    @bentoml.api(input_spec=PixelsRequest)
    def predict(self, images: list) -> ImagesClassified:
        """Classify images sent as pixel arrays of the model's size (see the module docstring)."""
        served = self.served
        refused = self.refused_batch(served, len(images), "images")
        if refused is not None:
            return refused
        try:
            x = inference.as_batch(images, served.card)
        except DlopsError as exc:
            return bad_request(str(exc))
        return self._classified(served, x)
