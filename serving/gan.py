"""BentoML service of the GAN family: generate images of a chosen (or any) class."""

from __future__ import annotations

import bentoml

from components.kinds.image_generation import inference
from components.kinds.image_generation.schemas import SERVICE, Generated, GenerateRequest
from serving.common import ModelService, bad_request, declared


@declared("gan", inference, SERVICE)
class Service(ModelService):
    """The GAN champion behind `/generate`; every answer names its model, data and lineage."""

    @bentoml.api(input_spec=GenerateRequest)
    def generate(
        self, n: int, seed: int = 0, digit: int | None = None, format: str = "png"
    ) -> Generated:
        """`n` generated images (base64 PNGs or pixel arrays in [0, 1]); same seed, same images."""
        served = self.served
        card = served.card
        digits = inference.class_values(card.classes)
        any_class = digit is None or digit == inference.ANY
        if n > self.max_batch(served):
            limit = self.max_batch(served)
            return bad_request(f"n: {n} exceeds the limit of {limit} images", status=413)
        if not any_class and digit not in digits:
            return bad_request(f"digit: must be one of {digits} (or omitted: any), not {digit}")
        if not any_class and not card.conditional:
            return bad_request("digit: this model is unconditional, omit `digit`")
        images, labels = inference.generate_images(
            served.model, card, n, seed, inference.ANY if digit is None else digit
        )
        encode = inference.png_base64 if format == "png" else inference.as_array
        return self.answer(
            served,
            Generated,
            {
                "images": [encode(image) for image in images],
                "digits": [digits[i] for i in labels],
                "classes": [card.classes[i] for i in labels],
                "format": format,
                "seed": seed,
            },
        )
