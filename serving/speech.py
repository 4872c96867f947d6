"""BentoML service of the speech family: transcribe uploaded recordings.

`POST /transcribe` takes audio files (multipart field `audio`, repeated for a batch; WAV, FLAC,
OGG, ...: any sample rate and channel count, converted as in training) and answers a transcript
per file, with the lineage.
"""

from __future__ import annotations

from pathlib import Path

import bentoml

from components.kinds.speech_recognition import inference
from components.kinds.speech_recognition.schemas import SERVICE, Transcribed
from serving.common import ModelService, bad_request, declared


@declared("speech", inference, SERVICE)
class Service(ModelService):
    """The speech champion behind `/transcribe`; every answer names its model and lineage."""

    @bentoml.api
    def transcribe(self, audio: list[Path], beam: int = 0) -> Transcribed:
        """The transcript of each uploaded file; `beam` 1-8 (0: the model's own)."""
        served = self.served
        if not 0 <= beam <= inference.MAX_BEAM:
            return bad_request(f"beam: {beam}, expected 1 to {inference.MAX_BEAM} (0: default)")
        waves = self.uploads(served, audio, "audio", lambda p: inference.decode(p, served.card))
        if not isinstance(waves, list):
            return waves
        texts = inference.transcribe(served.model, served.card, waves, beam=beam or None)
        self.log(served, lambda: inference.logged(served.card, waves))
        return self.answer(served, Transcribed, {"transcripts": [{"text": t} for t in texts]})
