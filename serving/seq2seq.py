"""BentoML service of the seq2seq family: translate a batch of sentences."""

from __future__ import annotations

from typing import Any

import bentoml

from components.kinds.translation import inference
from components.kinds.translation.schemas import HARD_MAX_BATCH, MAX_BEAM, TranslateRequest
from serving.common import bad_request, guarded, load, model_tag


@bentoml.service(name="dlops-seq2seq", resources={"cpu": "1"}, traffic={"timeout": 60})
class Service:
    """The translator champion behind `/translate`; every answer names its model and lineage."""

    bento_model = bentoml.models.BentoModel(model_tag("seq2seq"))

    def __init__(self) -> None:
        served = load(self.bento_model)
        self.model, self.card, self.lineage = served.model, served.card, served.lineage
        self.max_batch: int = served.max_batch or HARD_MAX_BATCH

    @bentoml.api(input_spec=TranslateRequest)
    def translate(self, texts: list[str], beam: int | None = None) -> dict[str, Any]:
        """The translation of each sentence; `beam` 1 is greedy (default: the model's)."""
        if len(texts) > self.max_batch:
            return bad_request(
                f"texts: a batch of {len(texts)} exceeds the limit of {self.max_batch}", 413
            )
        beam = beam or self.card.beam
        translations = inference.translate(self.model, self.card, texts, beam=beam)
        cut = inference.overlong(self.card, texts)
        return {
            # `truncated`: the sentence had more tokens than the model reads; the rest was not
            "translations": [
                {"translation": t, "truncated": c} for t, c in zip(translations, cut, strict=True)
            ],
            "beam": beam,
            **self.lineage,
        }

    @bentoml.api
    def metadata(self) -> dict[str, Any]:
        """The served model's lineage and limits."""
        return {
            **self.lineage,
            "max_source_tokens": self.card.max_source_tokens,
            "max_target_tokens": self.card.max_target_tokens,
            "beam": self.card.beam,
            "max_beam": MAX_BEAM,
            "max_batch": self.max_batch,
        }


guarded(Service)
