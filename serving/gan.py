"""BentoML service of the GAN family: generate images of a chosen (or any) class."""

from __future__ import annotations

from typing import Any

import bentoml

from components.kinds.image_generation import inference
from components.kinds.image_generation.schemas import HARD_MAX_BATCH, GenerateRequest
from serving.common import bad_request, guarded, load, model_tag


@bentoml.service(name="dlops-gan", resources={"cpu": "1"}, traffic={"timeout": 30})
class Service:
    """The GAN champion behind `/generate`; every answer names its model, data and lineage."""

    bento_model = bentoml.models.BentoModel(model_tag("gan"))

    def __init__(self) -> None:
        served = load(self.bento_model)
        self.model, self.card, self.lineage = served.model, served.card, served.lineage
        self.digits: list[int] = inference.class_values(self.card.classes)
        self.max_batch: int = min(served.max_batch or 256, HARD_MAX_BATCH)

    @bentoml.api(input_spec=GenerateRequest)
    def generate(
        self, n: int, seed: int = 0, digit: int | None = None, format: str = "png"
    ) -> dict[str, Any]:
        """`n` generated images (base64 PNGs or pixel arrays in [0, 1]); same seed, same images."""
        any_class = digit is None or digit == inference.ANY
        if n > self.max_batch:
            return bad_request(f"n: {n} exceeds the limit of {self.max_batch} images", status=413)
        if not any_class and digit not in self.digits:
            return bad_request(
                f"digit: must be one of {self.digits} (or omitted: any), not {digit}"
            )
        if not any_class and not self.card.conditional:
            return bad_request("digit: this model is unconditional, omit `digit`")
        images, labels = inference.generate_images(
            self.model, self.card, n, seed, inference.ANY if digit is None else digit
        )
        encode = inference.png_base64 if format == "png" else inference.as_array
        return {
            "images": [encode(image) for image in images],
            "digits": [self.digits[i] for i in labels],
            "classes": [self.card.classes[i] for i in labels],
            "format": format,
            "seed": seed,
            **self.lineage,
        }

    @bentoml.api
    def metadata(self) -> dict[str, Any]:
        """The served model's lineage and what it can generate."""
        return {
            **self.lineage,
            "classes": self.card.classes,
            "digits": self.digits,
            "conditional": self.card.conditional,
            "image_size": self.card.image_size,
            "mode": self.card.mode,
            "latent_dim": self.card.latent_dim,
            "max_batch": self.max_batch,
        }


guarded(Service)
