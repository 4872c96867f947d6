"""What a kind declares about its service: its limits and the answers it gives.

Each kind's `schemas` module holds one `ServiceSpec` (`SERVICE`); the family's service reads
its limits from it, and `describe(card)` in the kind's inference module says what `/metadata`
shows of a model besides its lineage.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field


@dataclass(frozen=True)
class ServiceSpec:
    """A kind's service limits.

    Attributes:
        max_batch: The most items one request may carry, whatever the model's
            `serving.max_batch` setting says (the smaller of the two applies).
        batchable: Whether requests are worth gathering into one forward pass (adaptive
            batching); false for kinds whose answer costs grow per item (beams, episodes).
        timeout_s: How long one request may take.
    """

    max_batch: int
    batchable: bool = False
    timeout_s: int = 30


class Answer(BaseModel):
    """What every answer says about the model that gave it (its lineage).

    Each kind's answers extend it (`schemas.py`): a service's OpenAPI document shows them whole.
    """

    model_config = ConfigDict(
        extra="forbid", protected_namespaces=(), populate_by_name=True, serialize_by_alias=True
    )

    model_name: str
    model_version: str = Field(description="the registry version that produced this answer")
    family: str
    data_version: str
    git_commit: str
    config_hash: str
    device: str = Field(description="where the model trained")
    bento_model: str


class ClassPrediction(BaseModel):
    """One item's class and the probability of every class."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    class_: str = Field(alias="class")
    probabilities: dict[str, float]


class Classified(Answer):
    """A class per item of the request, in order."""

    predictions: list[ClassPrediction]
