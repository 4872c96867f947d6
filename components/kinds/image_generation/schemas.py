"""The GAN service's request: how many images, from which seed, of which class, in what form."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from components.runtime.service_spec import Answer, ServiceSpec

HARD_MAX_BATCH = 4096  # the model's own serving.max_batch (usually smaller) applies too
StrictInt = Annotated[int, Field(strict=True)]


class GenerateRequest(BaseModel):
    """`n` images from noise seeded by `seed`, of class `digit` (omitted or -1: any class)."""

    model_config = ConfigDict(extra="forbid")

    n: Annotated[int, Field(strict=True, ge=1, le=HARD_MAX_BATCH)]
    seed: Annotated[int, Field(strict=True, ge=0, lt=2**63)] = 0
    digit: StrictInt | None = None
    format: Literal["png", "array"] = "png"


SERVICE = ServiceSpec(max_batch=HARD_MAX_BATCH, batchable=False, timeout_s=30)


class Generated(Answer):
    """`POST /generate`: the images (base64 PNGs or pixel arrays), with the class of each."""

    images: list[str | list]
    digits: list[int]
    classes: list[int | float | str]
    format: str
    seed: int
