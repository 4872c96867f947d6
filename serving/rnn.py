"""BentoML service of the RNN family: forecast the next steps of a posted history."""

from __future__ import annotations

from typing import Annotated, Any

import bentoml
from pydantic import BaseModel, ConfigDict, Field

from serving.common import FormGuard, bad_request, load, model_tag

# Strict, finite numbers: no "1.5" strings, no booleans, no NaN or Infinity.
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
MAX_HISTORY = 10_000  # only the last `window` values are read; longer posts are refused


class ForecastRequest(BaseModel):
    """The series' most recent values, oldest first, one per step of the model's frequency."""

    model_config = ConfigDict(extra="forbid")

    history: Annotated[list[Number], Field(min_length=1, max_length=MAX_HISTORY)]


@bentoml.service(name="dlops-rnn", resources={"cpu": "1"}, traffic={"timeout": 30})
class Service:
    """The RNN champion behind `/forecast`; every answer names its model and data version."""

    bento_model = bentoml.models.BentoModel(model_tag("rnn"))

    def __init__(self) -> None:
        self.model, self.card, self.lineage = load(self.bento_model)
        self.lineage.pop("max_batch", None)
        self.window: int = int(self.card["window"])
        self.horizon: int = int(self.card["horizon"])

    @bentoml.api(input_spec=ForecastRequest)
    def forecast(self, history: list[float]) -> dict[str, Any]:
        """The next `horizon` values after the last `window` values of `history`."""
        import torch

        if len(history) < self.window:
            return bad_request(
                f"history has {len(history)} values; the model needs at least {self.window}"
            )
        recent = torch.tensor([history[-self.window :]], dtype=torch.float32)
        with torch.inference_mode():
            values = self.model(recent)[0]
        if not torch.isfinite(values).all():  # e.g. values beyond float32's range
            return bad_request("history values are too large to forecast from")
        return {
            "forecast": [round(float(v), 6) for v in values],
            "horizon": self.horizon,
            "frequency": self.card.get("frequency"),
            **self.lineage,
        }

    @bentoml.api
    def metadata(self) -> dict[str, Any]:
        """The served model's lineage and input schema."""
        return {
            **self.lineage,
            "window": self.window,
            "horizon": self.horizon,
            "season_length": self.card.get("season_length"),
            "frequency": self.card.get("frequency"),
            "time": self.card.get("time"),
            "target": self.card.get("target"),
            "max_history": MAX_HISTORY,
        }


Service.add_asgi_middleware(FormGuard)
