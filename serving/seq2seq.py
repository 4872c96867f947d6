"""BentoML service of the seq2seq family: translate a batch of sentences."""

from __future__ import annotations

import bentoml

from components.kinds.translation import inference
from components.kinds.translation.schemas import SERVICE, Translated, TranslateRequest
from serving.common import ModelService, declared


@declared("seq2seq", inference, SERVICE)
class Service(ModelService):
    """The translator champion behind `/translate`; every answer names its model and lineage."""

    @bentoml.api(input_spec=TranslateRequest)
    def translate(self, texts: list[str], beam: int | None = None) -> Translated:
        """The translation of each sentence; `beam` 1 is greedy (default: the model's)."""
        served = self.served
        refused = self.refused_batch(served, len(texts), "texts")
        if refused is not None:
            return refused
        beam = beam or served.card.beam
        translations = inference.translate(served.model, served.card, texts, beam=beam)
        cut = inference.overlong(served.card, texts)
        # `truncated`: the sentence had more tokens than the model reads; the rest was not
        pairs = zip(translations, cut, strict=True)
        return self.answer(
            served,
            Translated,
            {"translations": [{"translation": t, "truncated": c} for t, c in pairs], "beam": beam},
        )
