"""BentoML service of the text family: classify a batch of texts."""

from __future__ import annotations

from typing import Any

import bentoml

from components.kinds.text_classification import inference
from components.kinds.text_classification.schemas import HARD_MAX_BATCH, ClassifyRequest
from serving.common import InputLogging, bad_request, guarded, load, log_inputs, model_tag


@bentoml.service(name="dlops-text", resources={"cpu": "1"}, traffic={"timeout": 30})
class Service(InputLogging):
    """The text champion behind `/classify`; every answer names its model, data and lineage."""

    bento_model = bentoml.models.BentoModel(model_tag("text"))

    def __init__(self) -> None:
        served = load(self.bento_model)
        self.model, self.card, self.lineage = served.model, served.card, served.lineage
        self.inputs = served.inputs  # the served-input log (None: off)
        self.max_batch: int = served.max_batch or HARD_MAX_BATCH

    @bentoml.api(input_spec=ClassifyRequest)
    def classify(self, texts: list[str]) -> dict[str, Any]:
        """Label and label probabilities for each text."""
        if len(texts) > self.max_batch:
            return bad_request(
                f"texts: a batch of {len(texts)} exceeds the limit of {self.max_batch}", 413
            )
        log_inputs(self.inputs, lambda: inference.logged(self.card, texts))
        return {"predictions": inference.classify(self.model, self.card, texts), **self.lineage}

    @bentoml.api
    def metadata(self) -> dict[str, Any]:
        """The served model's lineage and labels."""
        return {
            **self.lineage,
            "labels": self.card.names,
            "max_tokens": self.card.max_tokens,
            "max_batch": self.max_batch,
        }


guarded(Service)
