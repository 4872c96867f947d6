"""BentoML service of the detector family: find objects in uploaded images.

`POST /detect` takes image files (multipart field `images`, repeated for a batch; PNG, JPEG or
any format Pillow reads, any size up to the card's limits) and answers, per image, its boxes
(x1, y1, x2, y2 in that image's own pixels), labels and scores at or above `threshold`, with
the lineage. `POST /annotate` takes one image and answers it as a PNG with the boxes drawn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import bentoml
from bentoml.validators import ContentType
from PIL.Image import Image as PILImage

from components.kinds.object_detection import inference
from components.kinds.object_detection.images import open_image
from components.kinds.object_detection.schemas import SERVICE, Detected
from serving.common import ModelService, Served, bad_request, declared


@declared("detector", inference, SERVICE)
class Service(ModelService):
    """The detector champion behind `/detect` and `/annotate`; every answer names its lineage."""

    @staticmethod
    def _threshold(served: Served, threshold: float) -> float | str:
        """The score threshold asked for (0: the model's own), or what is wrong with it."""
        if threshold == 0:
            return served.card.score_threshold
        if not inference.MIN_THRESHOLD <= threshold <= 1:
            return f"threshold: {threshold}, expected {inference.MIN_THRESHOLD} to 1 (0: default)"
        return threshold

    @bentoml.api
    def detect(self, images: list[Path], threshold: float = 0.0) -> Detected:
        """Boxes, labels and scores per uploaded image; `threshold` 0.01-1 (0: the model's)."""
        served = self.served
        limit = self._threshold(served, threshold)
        if isinstance(limit, str):
            return bad_request(limit)
        decoded = self.uploads(served, images, "images", open_image)
        if not isinstance(decoded, list):
            return decoded
        found = inference.detect(served.model, served.card, decoded, limit)
        self.log(served, lambda: inference.logged(served.card, decoded, found, limit))
        answers = [
            {"width": image.width, "height": image.height, "detections": items}
            for image, items in zip(decoded, found, strict=True)
        ]
        return self.answer(served, Detected, {"images": answers, "threshold": limit})

    @bentoml.api
    def annotate(
        self, image: Path, threshold: float = 0.0
    ) -> Annotated[PILImage, ContentType("image/png")]:
        """The uploaded image as a PNG with its detections drawn (box, label, score)."""
        served = self.served
        limit = self._threshold(served, threshold)
        if isinstance(limit, str):
            return bad_request(limit)
        decoded = self.uploads(served, [image], "images", open_image)
        if not isinstance(decoded, list):
            return decoded
        [found] = inference.detect(served.model, served.card, decoded, limit)
        return inference.annotate(decoded[0], found, served.card.classes)
