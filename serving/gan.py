"""BentoML service of the GAN family: generate images of a chosen (or any) class."""

from __future__ import annotations

import base64
import io
from typing import Annotated, Any, Literal

import bentoml
from pydantic import BaseModel, ConfigDict, Field

from serving.common import bad_request, load, model_tag

HARD_MAX_BATCH = 4096  # the model's own serving.max_batch (usually smaller) applies too
StrictInt = Annotated[int, Field(strict=True)]


class GenerateRequest(BaseModel):
    """`n` images from noise seeded by `seed`, of class `digit` (omitted or -1: any class)."""

    model_config = ConfigDict(extra="forbid")

    n: Annotated[int, Field(strict=True, ge=1, le=HARD_MAX_BATCH)]
    seed: Annotated[int, Field(strict=True, ge=0, lt=2**63)] = 0
    digit: StrictInt | None = None
    format: Literal["png", "array"] = "png"


def png_base64(image) -> str:
    """One (C, H, W) image in [0, 1] as a base64 PNG at its own size."""
    import numpy as np
    from PIL import Image

    pixels = np.rint(np.clip(image, 0, 1) * 255).astype(np.uint8).transpose(1, 2, 0)
    picture = Image.fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def as_array(image) -> list:
    """One (C, H, W) image in [0, 1] as nested lists: (H, W) for grayscale, else (H, W, C)."""
    array = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)
    return array.astype("float64").round(4).tolist()  # float64: 0.0285, not 0.02850000001


@bentoml.service(name="dlops-gan", resources={"cpu": "1"}, traffic={"timeout": 30})
class Service:
    """The GAN champion behind `/generate`; every answer names its model and data version."""

    bento_model = bentoml.models.BentoModel(model_tag("gan"))

    def __init__(self) -> None:
        from components.tasks.generation import class_values

        self.model, self.card, self.lineage = load(self.bento_model)
        self.classes: list[str] = self.card["classes"]
        self.digits: list[int] = class_values(self.classes)
        self.max_batch: int = min(int(self.lineage.pop("max_batch") or 256), HARD_MAX_BATCH)

    @bentoml.api(input_spec=GenerateRequest)
    def generate(
        self, n: int, seed: int = 0, digit: int | None = None, format: str = "png"
    ) -> dict[str, Any]:
        """`n` generated images (base64 PNGs or pixel arrays in [0, 1]); same seed, same images."""
        from components.tasks.generation import ANY, generate_images

        if n > self.max_batch:
            return bad_request(f"n={n} exceeds the limit of {self.max_batch} images", status=413)
        if digit is not None and digit != ANY and digit not in self.digits:
            return bad_request(f"digit must be one of {self.digits} (or omitted: any), not {digit}")
        if digit not in (None, ANY) and not self.card["conditional"]:
            return bad_request("this model is unconditional: omit `digit`")
        images, labels = generate_images(
            self.model, self.card, n, seed, ANY if digit is None else digit
        )
        encode = png_base64 if format == "png" else as_array
        return {
            "images": [encode(image) for image in images],
            "digits": [self.digits[i] for i in labels],
            "classes": [self.classes[i] for i in labels],
            "format": format,
            "seed": seed,
            **self.lineage,
        }

    @bentoml.api
    def metadata(self) -> dict[str, Any]:
        """The served model's lineage and what it can generate."""
        return {
            **self.lineage,
            "classes": self.classes,
            "digits": self.digits,
            "conditional": self.card["conditional"],
            "image_size": self.card["image_size"],
            "mode": self.card["mode"],
            "latent_dim": self.card["latent_dim"],
            "max_batch": self.max_batch,
        }
