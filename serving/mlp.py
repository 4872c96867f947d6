"""BentoML service of the MLP family: classify rows of numbers or records of named features."""

from __future__ import annotations

from typing import Any

import bentoml

from components.kinds.tabular_classification import inference
from components.kinds.tabular_classification.schemas import HARD_MAX_BATCH, PredictRequest
from serving.common import InputLogging, bad_request, guarded, load, log_inputs, model_tag


@bentoml.service(name="dlops-mlp", resources={"cpu": "1"}, traffic={"timeout": 30})
class Service(InputLogging):
    """The MLP champion behind `/predict`; every answer names its model, data and lineage."""

    bento_model = bentoml.models.BentoModel(model_tag("mlp"))

    def __init__(self) -> None:
        served = load(self.bento_model)
        self.model, self.card, self.lineage = served.model, served.card, served.lineage
        self.inputs = served.inputs  # the served-input log (None: off)
        self.max_batch: int = served.max_batch or HARD_MAX_BATCH

    @bentoml.api(input_spec=PredictRequest)
    def predict(self, rows: list | None = None, records: list | None = None) -> dict[str, Any]:
        """Class name and class probabilities for each row."""
        n = len(rows or records or [])
        if n > self.max_batch:
            return bad_request(f"batch of {n} rows exceeds the limit of {self.max_batch}", 413)
        try:
            x = inference.matrix(self.card, rows=rows, records=records)
        except ValueError as exc:
            return bad_request(str(exc))
        log_inputs(self.inputs, lambda: inference.logged(self.card, x))
        return {"predictions": inference.classify(self.model, self.card, x), **self.lineage}

    @bentoml.api
    def metadata(self) -> dict[str, Any]:
        """The served model's lineage and input schema."""
        return {
            **self.lineage,
            "features": self.card.features,
            "classes": self.card.names,
            "labels": self.card.classes,
            "max_batch": self.max_batch,
        }


guarded(Service)
