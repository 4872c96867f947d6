"""BentoML service of the RNN family: forecast the next steps of a posted history."""

from __future__ import annotations

from typing import Any

import bentoml

from components.kinds.forecasting import inference
from components.kinds.forecasting.schemas import MAX_HISTORY, ForecastRequest
from serving.common import InputLogging, bad_request, guarded, load, log_inputs, model_tag


@bentoml.service(name="dlops-rnn", resources={"cpu": "1"}, traffic={"timeout": 30})
class Service(InputLogging):
    """The RNN champion behind `/forecast`; every answer names its model, data and lineage."""

    bento_model = bentoml.models.BentoModel(model_tag("rnn"))

    def __init__(self) -> None:
        served = load(self.bento_model)
        self.model, self.card, self.lineage = served.model, served.card, served.lineage
        self.inputs = served.inputs  # the served-input log (None: off)

    @bentoml.api(input_spec=ForecastRequest)
    def forecast(self, history: list[float]) -> dict[str, Any]:
        """The next `horizon` values after the last `window` values of `history`."""
        import numpy as np

        window = self.card.window
        if len(history) < window:
            return bad_request(
                f"history has {len(history)} values; the model needs at least {window}"
            )
        values = inference.forecast(self.model, [history[-window:]])[0]
        if not np.isfinite(values).all():  # e.g. values beyond float32's range
            return bad_request("history values are too large to forecast from")
        log_inputs(
            self.inputs, lambda: inference.logged(self.card, np.asarray([history[-window:]]))
        )
        return {
            "forecast": [round(float(v), 6) for v in values],
            "horizon": self.card.horizon,
            "frequency": self.card.frequency,
            **self.lineage,
        }

    @bentoml.api
    def metadata(self) -> dict[str, Any]:
        """The served model's lineage and input schema."""
        return {
            **self.lineage,
            "window": self.card.window,
            "horizon": self.card.horizon,
            "season_length": self.card.season_length,
            "frequency": self.card.frequency,
            "time": self.card.time,
            "target": self.card.target,
            "max_history": MAX_HISTORY,
        }


guarded(Service)
