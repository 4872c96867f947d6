"""BentoML service of the text family: classify a batch of texts."""

from __future__ import annotations

import bentoml

from components.kinds.text_classification import inference
from components.kinds.text_classification.schemas import SERVICE, ClassifyRequest, TextsClassified
from serving.common import ModelService, declared


@declared("text", inference, SERVICE)
class Service(ModelService):
    """The text champion behind `/classify`; every answer names its model, data and lineage."""

    @bentoml.api(input_spec=ClassifyRequest)
    def classify(self, texts: list[str]) -> TextsClassified:
        """Label and label probabilities for each text."""
        served = self.served
        refused = self.refused_batch(served, len(texts), "texts")
        if refused is not None:
            return refused
        self.log(served, lambda: inference.logged(served.card, texts))
        predictions = inference.classify(served.model, served.card, texts)
        return self.answer(served, TextsClassified, {"predictions": predictions})
