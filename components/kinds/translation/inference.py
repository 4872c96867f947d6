"""The translator's card and decoding: sentences → source subwords → target subwords → text.

The card carries both tokenizers (the `tokenizers` library's JSON, trained on the training
split) so the service and the MLflow model read and write text exactly as training did.
Decoding is greedy (a beam of 1) or a bounded beam search, and never writes more than
`length_ratio` target tokens per source token (plus a few): a translation cannot run on.
Pure torch/numpy and `tokenizers`; nothing here trains.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from pydantic import Field

from components.kinds.card import ModelCard, predictor
from components.kinds.translation.schemas import MAX_BEAM

KIND = "translation"
SPECIAL = ("<pad>", "<unk>", "<s>", "</s>")  # ids 0-3 in both tokenizers
PAD, UNK, BOS, EOS = range(4)
EXTRA_TOKENS = 4  # a translation may run this many tokens beyond length_ratio × the source's


class TranslationCard(ModelCard):
    """The translator's card: its two tokenizers, token limits and the columns it reads."""

    kind_name = KIND

    source_tokenizer: str
    target_tokenizer: str
    max_source_tokens: int
    max_target_tokens: int
    length_ratio: float = Field(2.0, gt=0, description="target tokens per source token, at most")
    beam: int = Field(1, ge=1, le=MAX_BEAM, description="the default beam (1: greedy)")
    text_column: str = "source"


@lru_cache(maxsize=8)
def _tokenizer(serialised: str):
    from tokenizers import Tokenizer

    return Tokenizer.from_str(serialised)


def encode(tokenizer_json: str, texts, max_tokens: int, bos: bool = False, eos: bool = False):
    """Token ids (N, W) of `texts`, padded with 0.

    At most `max_tokens` ids per text, the BOS/EOS markers included.
    """
    tokenizer = _tokenizer(tokenizer_json)
    head, tail = [BOS] * bos, [EOS] * eos
    rows = [
        head + e.ids[: max_tokens - len(head) - len(tail)] + tail
        for e in tokenizer.encode_batch([str(t) for t in texts])
    ]
    ids = np.zeros((len(rows), max(1, max((len(r) for r in rows), default=1))), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
    return ids


def detokenize(tokenizer_json: str, ids) -> str:
    """Token ids (up to the first EOS) as text."""
    ids = list(ids)
    if EOS in ids:
        ids = ids[: ids.index(EOS)]
    return _tokenizer(tokenizer_json).decode([i for i in ids if i > EOS])


def token_counts(tokenizer_json: str, texts) -> np.ndarray:
    """How many tokens each text is, uncut."""
    encoded = _tokenizer(tokenizer_json).encode_batch([str(t) for t in texts])
    return np.array([len(e.ids) for e in encoded], dtype=np.int64)


def overlong(card: TranslationCard, texts) -> list[bool]:
    """Whether each text has more source tokens than the model reads (the rest is not read)."""
    return (token_counts(card.source_tokenizer, texts) > card.max_source_tokens).tolist()


def length_limits(source: torch.Tensor, card: TranslationCard) -> torch.Tensor:
    """The most target tokens (EOS included) each source (N, S) may produce: (N,)."""
    lengths = (source != PAD).sum(dim=1).float()
    limit = torch.ceil(lengths * card.length_ratio).long() + EXTRA_TOKENS
    return limit.clamp(max=card.max_target_tokens)


@torch.no_grad()
def beam_search(model, card: TranslationCard, source: torch.Tensor, beam: int) -> list[list[int]]:
    """The best target ids per source row (N, S) by a beam of `beam` (1: greedy).

    Hypotheses are ranked by their mean log-probability per token (longer ones are not
    penalised for their length); a finished one keeps its score and grows no further.
    """
    n, k = source.shape[0], beam
    states, keys, padding, hidden = model.encode(source)
    # every source row's memory, once per beam: (N·K, ...)
    memory = tuple(t.repeat_interleave(k, dim=0) for t in (states, keys, padding))
    hidden = hidden.repeat_interleave(k, dim=1)
    limits = length_limits(source, card).repeat_interleave(k)
    tokens = torch.full((n * k, 1), BOS, dtype=torch.long)
    scores = torch.zeros(n, k)
    scores[:, 1:] = -torch.inf  # the beams start as one hypothesis
    done = torch.zeros(n * k, dtype=torch.bool)
    lengths = torch.zeros(n * k)
    for step in range(int(limits.max())):
        logits, hidden = model.decode(tokens[:, -1:], (*memory, None), hidden)
        logp = torch.log_softmax(logits[:, -1].float(), dim=-1)  # (N·K, V)
        vocab = logp.shape[1]
        # an open hypothesis writes words or EOS, never PAD, BOS or UNK (UNK would drop a word)
        logp[~done, PAD] = logp[~done, BOS] = logp[~done, UNK] = -torch.inf
        # at its limit it must end, and pays what the model gives EOS there
        ending = (limits <= step + 1) & ~done
        eos = logp[ending, EOS].clone()
        logp[ending] = -torch.inf
        logp[ending, EOS] = eos
        # a finished one only pads, at no cost
        logp[done] = -torch.inf
        logp[done, PAD] = 0.0
        total = (scores.reshape(-1, 1) + logp).reshape(n, k * vocab)
        scores, chosen = total.topk(k, dim=1)  # (N, K)
        origin = (chosen // vocab + torch.arange(n).unsqueeze(1) * k).reshape(-1)
        token = (chosen % vocab).reshape(-1)
        tokens = torch.cat([tokens[origin], token.unsqueeze(1)], dim=1)
        hidden, done, lengths = hidden[:, origin], done[origin], lengths[origin]
        lengths = lengths + (~done).float()
        done = done | (token == EOS)
        if bool(done.all()):
            break
    mean = (scores.reshape(-1) / lengths.clamp(min=1)).reshape(n, k)
    mean[torch.isinf(scores)] = -torch.inf
    best = mean.argmax(dim=1) + torch.arange(n) * k
    return [row[1:].tolist() for row in tokens[best]]


@torch.no_grad()
def translate(model, card: TranslationCard, texts, beam: int | None = None,
              batch_size: int = 256) -> list[str]:  # fmt: skip
    """Translations of `texts`, in order; `beam` defaults to the card's (bounded by MAX_BEAM)."""
    beam = min(max(1, beam or card.beam), MAX_BEAM)
    model.eval()
    out: list[str] = []
    for start in range(0, len(texts), batch_size):
        chunk = [str(t) for t in texts[start : start + batch_size]]
        source = torch.as_tensor(encode(card.source_tokenizer, chunk, card.max_source_tokens))
        out += [
            detokenize(card.target_tokenizer, ids) for ids in beam_search(model, card, source, beam)
        ]
    return out


@predictor(KIND)
def predict_frame(model, card: TranslationCard, frame):
    """The logged model's prediction: a frame with the source column → its translations."""
    import pandas as pd

    texts = list(frame[card.text_column])
    return pd.DataFrame({"translation": translate(model, card, texts)})


def describe(card) -> dict:
    """What the service's `/metadata` says of a model besides its lineage."""
    return {
        "max_source_tokens": card.max_source_tokens,
        "max_target_tokens": card.max_target_tokens,
        "beam": card.beam,
        "max_beam": MAX_BEAM,
    }
