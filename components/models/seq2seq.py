"""An encoder-decoder GRU with attention over the source, for translation.

The encoder is a bidirectional GRU over the source's subword tokens; the decoder a GRU over the
target's, each of its states attending to every encoder state (Luong's multiplicative attention,
applied after the recurrence so that training runs the whole target sequence in one call).
"""

from __future__ import annotations

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from components.models.registry import register_family

PAD, UNK, BOS, EOS = 0, 1, 2, 3  # the special tokens' ids in both tokenizers


class Seq2SeqConfig(BaseModel):
    """Sizes of the tokenizers, the embeddings and the recurrent layers."""

    model_config = ConfigDict(extra="forbid")

    vocab_size: int = Field(3000, ge=100, le=100_000, description="BPE vocabulary per language")
    max_source_tokens: int = Field(48, ge=4, le=512, description="source tokens read")
    max_target_tokens: int = Field(48, ge=4, le=512, description="target tokens written, at most")
    embedding_dim: int = Field(128, ge=4)
    hidden_size: int = Field(256, ge=4)
    dropout: float = Field(0.2, ge=0, lt=1)
    length_ratio: float = Field(
        2.0, gt=0, le=10, description="target tokens per source token, at most (+4)"
    )
    beam: int = Field(1, ge=1, le=8, description="beam width for test and service (1: greedy)")


class Seq2Seq(nn.Module):
    """BiGRU encoder → GRU decoder with attention → next-token logits."""

    def __init__(self, config: Seq2SeqConfig, source_vocab: int, target_vocab: int):
        super().__init__()
        d = config.hidden_size
        self.max_source_tokens = config.max_source_tokens
        self.source_embedding = nn.Embedding(source_vocab, config.embedding_dim, padding_idx=PAD)
        self.target_embedding = nn.Embedding(target_vocab, config.embedding_dim, padding_idx=PAD)
        self.encoder = nn.GRU(config.embedding_dim, d, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * d, d)  # the encoder's last states → the decoder's first
        self.keys = nn.Linear(2 * d, d, bias=False)
        self.decoder = nn.GRU(config.embedding_dim, d, batch_first=True)
        self.combine = nn.Linear(3 * d, d)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(d, target_vocab)

    def encode(self, source: torch.Tensor):
        """Encoder states (N, S, 2d), their keys (N, S, d), padding mask (N, S), first state."""
        from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

        lengths = (source != PAD).sum(dim=1).clamp(min=1)
        packed = pack_padded_sequence(
            self.dropout(self.source_embedding(source)),
            lengths.cpu(),
            batch_first=True,
            enforce_sorted=False,
        )
        states, last = self.encoder(packed)
        states, _ = pad_packed_sequence(states, batch_first=True, total_length=source.shape[1])
        hidden = torch.tanh(self.bridge(torch.cat([last[0], last[1]], dim=-1))).unsqueeze(0)
        return states, self.keys(states), source == PAD, hidden

    def decode(self, target_in: torch.Tensor, memory, hidden: torch.Tensor):
        """Logits (N, T, V) for each next token after `target_in` (N, T); the last state."""
        states, keys, padding, _ = memory
        outputs, hidden = self.decoder(self.dropout(self.target_embedding(target_in)), hidden)
        scores = (outputs @ keys.transpose(1, 2)).masked_fill(padding.unsqueeze(1), -1e4)
        context = torch.softmax(scores.float(), dim=-1).to(states.dtype) @ states  # (N, T, 2d)
        mixed = torch.tanh(self.combine(torch.cat([outputs, context], dim=-1)))
        return self.head(self.dropout(mixed)), hidden

    def forward(self, pair: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: `pair` (N, S + T) is the source ids, then BOS + the target ids.

        Returns the logits of each target position's next token (N, V, T'), for cross-entropy
        against the target ids + EOS; T' <= T drops the padding every row of the batch shares.
        """
        source, target_in = pair[:, : self.max_source_tokens], pair[:, self.max_source_tokens :]
        # trim the batch's shared padding: the recurrence runs to the longest text, not the cap
        source = source[:, : max(1, int((source != PAD).sum(dim=1).max()))]
        width = max(1, int((target_in != PAD).sum(dim=1).max()))
        memory = self.encode(source.long())
        logits, _ = self.decode(target_in[:, :width].long(), memory, memory[3])
        return logits.transpose(1, 2)


@register_family("seq2seq", Seq2SeqConfig, kind="translation")
def build(config: Seq2SeqConfig, source_vocab: int, target_vocab: int) -> Seq2Seq:
    return Seq2Seq(config, source_vocab, target_vocab)
