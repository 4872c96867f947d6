"""BentoML service of the RNN family: forecast the next steps of a posted history."""

from __future__ import annotations

import bentoml

from components.kinds.forecasting import inference
from components.kinds.forecasting.schemas import SERVICE, Forecast, ForecastRequest
from serving.common import ModelService, bad_request, declared


@declared("rnn", inference, SERVICE)
class Service(ModelService):
    """The RNN champion behind `/forecast`; every answer names its model, data and lineage."""

    @bentoml.api(input_spec=ForecastRequest)
    def forecast(self, history: list[float]) -> Forecast:
        """The next `horizon` values after the last `window` values of `history`."""
        import numpy as np

        served = self.served
        window = served.card.window
        if len(history) < window:
            return bad_request(
                f"history has {len(history)} values; the model needs at least {window}"
            )
        values = inference.forecast(served.model, [history[-window:]])[0]
        if not np.isfinite(values).all():  # e.g. values beyond float32's range
            return bad_request("history values are too large to forecast from")
        recent = np.asarray([history[-window:]])
        self.log(served, lambda: inference.logged(served.card, recent))
        return self.answer(
            served,
            Forecast,
            {
                "forecast": [round(float(v), 6) for v in values],
                "horizon": served.card.horizon,
                "frequency": served.card.frequency,
            },
        )
