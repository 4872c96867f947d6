"""BentoML service of the MLP family: classify rows of numbers or records of named features."""

from __future__ import annotations

import bentoml

from components.kinds.tabular_classification import inference
from components.kinds.tabular_classification.schemas import SERVICE, Predicted, PredictRequest
from serving.common import ModelService, bad_request, declared


@declared("mlp", inference, SERVICE)
class Service(ModelService):
    """The MLP champion behind `/predict`; every answer names its model, data and lineage."""

    @bentoml.api(input_spec=PredictRequest)
    def predict(self, rows: list | None = None, records: list | None = None) -> Predicted:
        """Class name and class probabilities for each row."""
        served = self.served
        refused = self.refused_batch(served, len(rows or records or []), "rows")
        if refused is not None:
            return refused
        try:
            x = inference.matrix(served.card, rows=rows, records=records)
        except ValueError as exc:
            return bad_request(str(exc))
        self.log(served, lambda: inference.logged(served.card, x))
        predictions = inference.classify(served.model, served.card, x)
        return self.answer(served, Predicted, {"predictions": predictions})
