"""The MLP service's request: rows of numbers in feature order, or records by feature name."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from components.runtime.service_spec import Classified, ServiceSpec

# Strict, finite numbers: no "1.5" strings, no booleans, no NaN or Infinity.
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
HARD_MAX_BATCH = 100_000  # the model's own serving.max_batch (usually smaller) applies too
Batch = Field(min_length=1, max_length=HARD_MAX_BATCH)


class PredictRequest(BaseModel):
    """Either `rows` (lists of numbers in feature order) or `records` (feature → number)."""

    model_config = ConfigDict(extra="forbid")

    rows: Annotated[list[list[Number]], Batch] | None = None
    records: Annotated[list[dict[str, Number]], Batch] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> PredictRequest:
        if (self.rows is None) == (self.records is None):
            raise ValueError("send exactly one of `rows` or `records`")
        return self


SERVICE = ServiceSpec(max_batch=HARD_MAX_BATCH, batchable=True, timeout_s=30)


class Predicted(Classified):
    """`POST /predict`: the class of each row, in order."""
