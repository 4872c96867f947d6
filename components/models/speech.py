"""A small acoustic model for speech recognition, trained with CTC.

Convolutions over log-mel frames, a BiGRU, per-frame character log-probabilities.
"""

from __future__ import annotations

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from components.models.registry import register_family

BLANK = 0


class SpeechConfig(BaseModel):
    """Sizes of the feature front end and the recurrent layers."""

    model_config = ConfigDict(extra="forbid")

    n_mels: int = Field(40, ge=8, le=128, description="mel bands per 10 ms frame")
    max_chars: int = Field(80, ge=4, le=1000, description="longest transcript trained on")
    channels: int = Field(32, ge=4)
    hidden_size: int = Field(160, ge=8)
    num_layers: int = Field(2, ge=1, le=4)
    dropout: float = Field(0.1, ge=0, lt=1)
    beam: int = Field(1, ge=1, le=8, description="beam width for test and service (1: greedy)")


class SpeechCTC(nn.Module):
    """Two stride-2 convolutions (4x fewer frames) → BiGRU → character log-probabilities."""

    def __init__(self, config: SpeechConfig, n_symbols: int):
        super().__init__()
        c = config.channels
        self.conv1 = nn.Sequential(nn.Conv2d(1, c, 3, stride=2, padding=1), nn.GELU())
        self.conv2 = nn.Sequential(nn.Conv2d(c, c, 3, stride=2, padding=1), nn.GELU())
        bands = (config.n_mels + 3) // 4  # each stride-2 layer halves, rounding up
        self.project = nn.Linear(c * bands, config.hidden_size)
        self.rnn = nn.GRU(
            config.hidden_size,
            config.hidden_size,
            num_layers=config.num_layers,
            batch_first=True,
            bidirectional=True,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(2 * config.hidden_size, n_symbols)

    @staticmethod
    def output_lengths(frames: torch.Tensor) -> torch.Tensor:
        """Output steps per input frame count: each stride-2 layer halves it, rounding up."""
        return torch.div(torch.div(frames + 1, 2, rounding_mode="floor") + 1, 2,
                         rounding_mode="floor")  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """`x` (N, T, n_mels + 1): frames, the last channel 1 on real frames.

        Returns log-probabilities (N, C, T'); past each utterance's end every step is a certain
        blank, so CTC over all T' steps equals CTC over the utterance's own.
        """
        from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

        frames = x[..., -1].sum(dim=1).long().clamp(min=1)
        x = x[:, : int(frames.max()), :-1]  # the batch's shared padding is cut
        h = self.conv1(x.unsqueeze(1))  # (N, c, T/2, F/2)
        # steps past an utterance's end are zero, as they would be were it alone in the batch
        half = torch.div(frames + 1, 2, rounding_mode="floor").to(x.device)
        h = (
            h
            * (torch.arange(h.shape[2], device=x.device)[None, :] < half[:, None])[:, None, :, None]
        )
        h = self.conv2(h)  # (N, c, T/4, F/4)
        h = self.project(h.permute(0, 2, 1, 3).flatten(2))  # (N, T', hidden)
        lengths = self.output_lengths(frames).clamp(max=h.shape[1])
        packed = pack_padded_sequence(self.dropout(h), lengths.cpu(), batch_first=True,
                                      enforce_sorted=False)  # fmt: skip
        out, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True,
                                     total_length=h.shape[1])  # fmt: skip
        logits = self.head(self.dropout(out)).float()
        steps = torch.arange(h.shape[1], device=x.device)
        padding = steps[None, :] >= lengths.to(x.device)[:, None]  # (N, T')
        certain_blank = torch.full_like(logits[0, 0], -1e4)
        certain_blank[BLANK] = 0.0
        logits = torch.where(padding.unsqueeze(-1), certain_blank, logits)
        return torch.log_softmax(logits, dim=-1).transpose(1, 2)


@register_family("speech", SpeechConfig, kind="speech_recognition")
def build(config: SpeechConfig, n_symbols: int) -> SpeechCTC:
    return SpeechCTC(config, n_symbols)
