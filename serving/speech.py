"""BentoML service of the speech family: transcribe uploaded recordings.

`POST /transcribe` takes audio files (multipart field `audio`, repeated for a batch; WAV, FLAC,
OGG, ...: any sample rate and channel count, converted as in training) and answers a transcript
per file, with the lineage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import bentoml

from components.kinds.speech_recognition import inference
from serving.common import InputLogging, bad_request, guarded, load, log_inputs, model_tag

HARD_MAX_BATCH = 64


@bentoml.service(name="dlops-speech", resources={"cpu": "1"}, traffic={"timeout": 60})
class Service(InputLogging):
    """The speech champion behind `/transcribe`; every answer names its model and lineage."""

    bento_model = bentoml.models.BentoModel(model_tag("speech"))

    def __init__(self) -> None:
        served = load(self.bento_model)
        self.model, self.card, self.lineage = served.model, served.card, served.lineage
        self.inputs = served.inputs  # the served-input log (None: off)
        self.max_batch: int = min(served.max_batch or HARD_MAX_BATCH, HARD_MAX_BATCH)

    @bentoml.api
    def transcribe(self, audio: list[Path], beam: int = 0) -> dict[str, Any]:
        """The transcript of each uploaded file; `beam` 1-8 (0: the model's own)."""
        if not audio:
            return bad_request("audio: send at least one file (multipart field `audio`)")
        if len(audio) > self.max_batch:
            return bad_request(
                f"audio: a batch of {len(audio)} exceeds the limit of {self.max_batch}", 413
            )
        if not 0 <= beam <= inference.MAX_BEAM:
            return bad_request(f"beam: {beam}, expected 1 to {inference.MAX_BEAM} (0: default)")
        waves = []
        for i, path in enumerate(audio):
            size = path.stat().st_size
            if size == 0 or size > self.card.max_file_bytes:
                message = f"audio[{i}]: {size} bytes, expected 1 to {self.card.max_file_bytes}"
                return bad_request(message, status=413 if size else 422)
            try:
                waves.append(inference.decode(path, self.card))
            except ValueError as exc:
                return bad_request(f"audio[{i}]: {exc}")
        texts = inference.transcribe(self.model, self.card, waves, beam=beam or None)
        log_inputs(self.inputs, lambda: inference.logged(self.card, waves))
        return {"transcripts": [{"text": t} for t in texts], **self.lineage}

    @bentoml.api
    def metadata(self) -> dict[str, Any]:
        """The served model's lineage and limits."""
        return {
            **self.lineage,
            "alphabet": self.card.alphabet,
            "sample_rate": self.card.sample_rate,
            "max_seconds": self.card.max_seconds,
            "max_file_bytes": self.card.max_file_bytes,
            "max_batch": self.max_batch,
            "max_beam": inference.MAX_BEAM,
        }


guarded(Service)
