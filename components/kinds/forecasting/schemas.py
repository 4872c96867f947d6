"""The RNN service's request: the series' most recent values."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from components.runtime.service_spec import Answer, ServiceSpec

# Strict, finite numbers: no "1.5" strings, no booleans, no NaN or Infinity.
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
MAX_HISTORY = 10_000  # only the last `window` values are read; longer posts are refused


class ForecastRequest(BaseModel):
    """The series' most recent values, oldest first, one per step of the model's frequency."""

    model_config = ConfigDict(extra="forbid")

    history: Annotated[list[Number], Field(min_length=1, max_length=MAX_HISTORY)]


SERVICE = ServiceSpec(max_batch=1, batchable=False, timeout_s=30)


class Forecast(Answer):
    """`POST /forecast`: the next `horizon` values."""

    forecast: list[float]
    horizon: int
    frequency: str
