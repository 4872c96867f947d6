"""BentoML service of the detector family: find objects in uploaded images.

`POST /detect` takes image files (multipart field `images`, repeated for a batch; PNG, JPEG or
any format Pillow reads, any size up to the card's limits) and answers, per image, its boxes
(x1, y1, x2, y2 in that image's own pixels), labels and scores at or above `threshold`, with
the lineage. `POST /annotate` takes one image and answers it as a PNG with the boxes drawn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import bentoml
from bentoml.validators import ContentType
from PIL.Image import Image as PILImage

from components.kinds.object_detection import inference
from components.kinds.object_detection.images import open_image
from serving.common import InputLogging, bad_request, guarded, load, log_inputs, model_tag

HARD_MAX_BATCH = 64


@bentoml.service(name="dlops-detector", resources={"cpu": "1"}, traffic={"timeout": 60})
class Service(InputLogging):
    """The detector champion behind `/detect` and `/annotate`; every answer names its lineage."""

    bento_model = bentoml.models.BentoModel(model_tag("detector"))

    def __init__(self) -> None:
        served = load(self.bento_model)
        self.model, self.card, self.lineage = served.model, served.card, served.lineage
        self.inputs = served.inputs  # the served-input log (None: off)
        self.max_batch: int = min(served.max_batch or HARD_MAX_BATCH, HARD_MAX_BATCH)

    def _threshold(self, threshold: float) -> float | str:
        """The score threshold asked for (0: the model's own), or what is wrong with it."""
        if threshold == 0:
            return self.card.score_threshold
        if not inference.MIN_THRESHOLD <= threshold <= 1:
            return f"threshold: {threshold}, expected {inference.MIN_THRESHOLD} to 1 (0: default)"
        return threshold

    def _images(self, images: list[Path]) -> list | Any:
        """The decoded uploads, or the 4xx answer naming the first bad one."""
        if not images:
            return bad_request("images: send at least one image (multipart field `images`)")
        if len(images) > self.max_batch:
            return bad_request(
                f"images: a batch of {len(images)} exceeds the limit of {self.max_batch}", 413
            )
        decoded = []
        for i, path in enumerate(images):
            size = path.stat().st_size
            if size == 0 or size > self.card.max_file_bytes:
                message = f"images[{i}]: {size} bytes, expected 1 to {self.card.max_file_bytes}"
                return bad_request(message, status=413 if size else 422)
            try:
                decoded.append(open_image(path))
            except ValueError as exc:
                return bad_request(f"images[{i}]: {exc}")
        return decoded

    @bentoml.api
    def detect(self, images: list[Path], threshold: float = 0.0) -> dict[str, Any]:
        """Boxes, labels and scores per uploaded image; `threshold` 0.01-1 (0: the model's)."""
        limit = self._threshold(threshold)
        if isinstance(limit, str):
            return bad_request(limit)
        decoded = self._images(images)
        if not isinstance(decoded, list):
            return decoded
        found = inference.detect(self.model, self.card, decoded, limit)
        log_inputs(self.inputs, lambda: inference.logged(self.card, decoded, found, limit))
        answers = [
            {"width": image.width, "height": image.height, "detections": items}
            for image, items in zip(decoded, found, strict=True)
        ]
        return {"images": answers, "threshold": limit, **self.lineage}

    @bentoml.api
    def annotate(
        self, image: Path, threshold: float = 0.0
    ) -> Annotated[PILImage, ContentType("image/png")]:
        """The uploaded image as a PNG with its detections drawn (box, label, score)."""
        limit = self._threshold(threshold)
        if isinstance(limit, str):
            return bad_request(limit)
        decoded = self._images([image])
        if not isinstance(decoded, list):
            return decoded
        [found] = inference.detect(self.model, self.card, decoded, limit)
        return inference.annotate(decoded[0], found, self.card.classes)

    @bentoml.api
    def metadata(self) -> dict[str, Any]:
        """The served model's lineage and limits."""
        return {
            **self.lineage,
            "classes": self.card.classes,
            "image_size": self.card.image_size,
            "score_threshold": self.card.score_threshold,
            "max_file_bytes": self.card.max_file_bytes,
            "max_batch": self.max_batch,
        }


guarded(Service)
