"""The text classifier's card and prediction: texts → subword ids → class probabilities.

The card carries the tokenizer (the `tokenizers` library's JSON, trained on the training split)
so the service and the MLflow model tokenize exactly as training did. Pure torch/numpy and
`tokenizers`; nothing here trains.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import torch

from components.kinds.card import ClassifierCard, predictor
from components.runtime.inference import class_predictions, predictions_frame

KIND = "text_classification"
PAD = "[PAD]"
UNK = "[UNK]"


class TextCard(ClassifierCard):
    """The text classifier's card: its tokenizer (JSON), the token limit and its classes."""

    kind_name = KIND

    tokenizer: str
    max_tokens: int
    text_column: str = "text"


@lru_cache(maxsize=8)
def _tokenizer(serialised: str):
    from tokenizers import Tokenizer

    return Tokenizer.from_str(serialised)


def encode(tokenizer_json: str, texts, max_tokens: int) -> np.ndarray:
    """Token ids (N, L) of `texts`, padded with the pad id 0 and cut at `max_tokens`."""
    tokenizer = _tokenizer(tokenizer_json)
    encoded = tokenizer.encode_batch([str(t) for t in texts])
    width = max(1, min(max_tokens, max((len(e.ids) for e in encoded), default=1)))
    ids = np.zeros((len(encoded), width), dtype=np.int64)
    for row, item in enumerate(encoded):
        kept = item.ids[:width]
        ids[row, : len(kept)] = kept
    return ids


@torch.no_grad()
def text_proba(model, card: TextCard, texts, batch_size: int = 512) -> np.ndarray:
    """Class probabilities (N, C) of `texts`."""
    model.eval()
    out = []
    for start in range(0, len(texts), batch_size):
        ids = encode(card.tokenizer, texts[start : start + batch_size], card.max_tokens)
        out.append(torch.softmax(model(torch.as_tensor(ids)).float(), dim=1))
    if not out:
        return np.zeros((0, len(card.classes)), dtype=np.float32)
    return torch.cat(out).numpy()


def logged(card: TextCard, texts: list[str]) -> dict[str, list]:
    """Texts as the served-input log keeps them."""
    return {"text": [str(t) for t in texts]}


def classify(model, card: TextCard, texts: list[str]) -> list[dict[str, Any]]:
    """Class name and class probabilities (by name) per text."""
    return class_predictions(text_proba(model, card, texts), card.names)


@predictor(KIND)
def predict_frame(model, card: TextCard, frame):
    """The logged model's prediction: a frame with the text column → class + probabilities."""
    return predictions_frame(text_proba(model, card, list(frame[card.text_column])), card.names)


def describe(card) -> dict:
    """What the service's `/metadata` says of a model besides its lineage."""
    return {
        "labels": card.names,
        "max_tokens": card.max_tokens,
    }
