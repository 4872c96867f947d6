"""The text service's request: a batch of texts."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from components.runtime.service_spec import Classified, ServiceSpec

HARD_MAX_BATCH = 10_000  # the model's own serving.max_batch (usually smaller) applies too
MAX_CHARS = 10_000  # a longer text is refused, not cut: the model reads max_tokens tokens
Text = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=MAX_CHARS)]


class ClassifyRequest(BaseModel):
    """`texts`: one or more non-empty strings (any Unicode)."""

    model_config = ConfigDict(extra="forbid")

    texts: Annotated[list[Text], Field(min_length=1, max_length=HARD_MAX_BATCH)]

    @field_validator("texts")
    @classmethod
    def _not_blank(cls, texts: list[str]) -> list[str]:
        blank = [i for i, text in enumerate(texts) if not text.strip()]
        if blank:
            raise ValueError(f"texts {blank[:5]} are blank: send some text")
        return texts


SERVICE = ServiceSpec(max_batch=HARD_MAX_BATCH, batchable=True, timeout_s=30)


class TextsClassified(Classified):
    """`POST /classify`: the label of each text, in order."""
