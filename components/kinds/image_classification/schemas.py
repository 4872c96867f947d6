"""The CNN service's JSON request: images as nested lists of pixel values in [0, 1]."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from components.runtime.service_spec import Classified, ServiceSpec

# Strict, finite pixel values in [0, 1]: no strings, no booleans, no NaN or Infinity.
Pixel = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=1)]
Image3D = list[list[list[Pixel]]]  # (C, H, W); (H, W) grayscale is wrapped to (1, H, W)
HARD_MAX_BATCH = 10_000  # the model's own serving.max_batch (usually smaller) applies too


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


SERVICE = ServiceSpec(max_batch=HARD_MAX_BATCH, batchable=True, timeout_s=30)


class ImagesClassified(Classified):
    """`POST /classify` and `/predict`: the class of each image, in order."""
