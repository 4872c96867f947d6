"""What the speech service declares: its limits (uploads, checked file by file) and answers."""

from __future__ import annotations

from pydantic import BaseModel

from components.runtime.service_spec import Answer, ServiceSpec

HARD_MAX_BATCH = 64  # files per request; the model's own serving.max_batch applies too

SERVICE = ServiceSpec(max_batch=HARD_MAX_BATCH, batchable=True, timeout_s=60)


class Transcript(BaseModel):
    """One recording's transcript."""

    text: str


class Transcribed(Answer):
    """`POST /transcribe`: the transcript of each uploaded file, in order."""

    transcripts: list[Transcript]
