"""What the detector service declares: its limits (uploads, checked file by file) and answers."""

from __future__ import annotations

from pydantic import BaseModel, Field

from components.runtime.service_spec import Answer, ServiceSpec

HARD_MAX_BATCH = 64  # files per request; the model's own serving.max_batch applies too

SERVICE = ServiceSpec(max_batch=HARD_MAX_BATCH, batchable=True, timeout_s=60)


class Detection(BaseModel):
    """One object found: its box, label and score."""

    box: list[float] = Field(description="x1, y1, x2, y2 in the image's own pixels")
    label: str
    score: float


class ImageDetections(BaseModel):
    """One uploaded image's size and what was found in it."""

    width: int
    height: int
    detections: list[Detection]


class Detected(Answer):
    """`POST /detect`: the detections of each uploaded image, in order."""

    images: list[ImageDetections]
    threshold: float
