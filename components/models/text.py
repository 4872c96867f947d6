"""A bidirectional GRU over subword tokens, for text classification."""

from __future__ import annotations

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from components.models.registry import register_family


class TextConfig(BaseModel):
    """Sizes of the tokenizer, the embedding and the recurrent layers."""

    model_config = ConfigDict(extra="forbid")

    vocab_size: int = Field(4000, ge=100, le=100_000, description="WordPiece vocabulary")
    max_tokens: int = Field(64, ge=4, le=1024, description="tokens read per text")
    embedding_dim: int = Field(64, ge=4)
    hidden_size: int = Field(64, ge=4)
    num_layers: int = Field(1, ge=1, le=4)
    dropout: float = Field(0.2, ge=0, lt=1)


class TextRNN(nn.Module):
    """Embedding → BiGRU → mean and max over the tokens (padding masked) → class logits."""

    def __init__(self, config: TextConfig, vocab_size: int, n_classes: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, config.embedding_dim, padding_idx=0)
        self.rnn = nn.GRU(
            config.embedding_dim,
            config.hidden_size,
            num_layers=config.num_layers,
            batch_first=True,
            bidirectional=True,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(4 * config.hidden_size, n_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

        ids = ids.long()
        mask = (ids != 0).unsqueeze(-1)  # (N, L, 1); a text of no tokens reads as all padding
        count = mask.sum(dim=1).clamp(min=1)
        # packed: the backward direction starts at each text's last token, whatever the padding
        packed = pack_padded_sequence(
            self.dropout(self.embedding(ids)),
            count.squeeze(1).cpu(),
            batch_first=True,
            enforce_sorted=False,
        )
        outputs, _ = pad_packed_sequence(
            self.rnn(packed)[0], batch_first=True, total_length=ids.shape[1]
        )
        mean = (outputs * mask).sum(dim=1) / count
        peak = outputs.masked_fill(~mask, -1e4).max(dim=1).values
        return self.head(self.dropout(torch.cat([mean, peak], dim=1)))


@register_family("text", TextConfig, kind="text_classification")
def build(config: TextConfig, vocab_size: int, n_classes: int) -> TextRNN:
    return TextRNN(config, vocab_size, n_classes)
