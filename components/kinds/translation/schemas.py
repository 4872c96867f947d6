"""The translation service's request: a batch of sentences and an optional beam."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from components.runtime.service_spec import Answer, ServiceSpec

MAX_BEAM = 8  # the beam is bounded: its cost grows with its width
HARD_MAX_BATCH = 1_000  # the model's own serving.max_batch (usually smaller) applies too
MAX_CHARS = 2_000  # a longer sentence is refused, not cut: the model reads max_source_tokens
Sentence = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=MAX_CHARS)]


class TranslateRequest(BaseModel):
    """`texts`: one or more non-empty sentences; `beam`: 1 (greedy) to the bound."""

    model_config = ConfigDict(extra="forbid")

    texts: Annotated[list[Sentence], Field(min_length=1, max_length=HARD_MAX_BATCH)]
    beam: Annotated[int | None, Field(ge=1, le=MAX_BEAM, strict=True)] = None

    @field_validator("texts")
    @classmethod
    def _not_blank(cls, texts: list[str]) -> list[str]:
        blank = [i for i, text in enumerate(texts) if not text.strip()]
        if blank:
            raise ValueError(f"texts {blank[:5]} are blank: send a sentence")
        return texts


SERVICE = ServiceSpec(max_batch=HARD_MAX_BATCH, batchable=False, timeout_s=60)


class Translation(BaseModel):
    """One sentence's translation."""

    translation: str
    truncated: bool = Field(description="the sentence had more tokens than the model reads")


class Translated(Answer):
    """`POST /translate`: the translation of each sentence, in order."""

    translations: list[Translation]
    beam: int
