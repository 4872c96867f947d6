"""How the text classifier trains: a tokenizer from the training texts, then the trainer."""

from __future__ import annotations

import numpy as np

from components.kinds.base import Split
from components.kinds.text_classification.inference import PAD, UNK, encode
from components.runtime.trainer import fit as train


def train_tokenizer(texts, vocab_size: int) -> str:
    """A WordPiece tokenizer (lower-cased, accents stripped) trained on `texts`; its JSON."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.WordPiece(unk_token=UNK))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, special_tokens=[PAD, UNK], show_progress=False
    )
    tokenizer.train_from_iterator((str(t) for t in texts), trainer)
    return tokenizer.to_str()


def vocabulary(tokenizer_json: str) -> int:
    """The number of token ids the tokenizer can produce (the embedding's size)."""
    from tokenizers import Tokenizer

    return Tokenizer.from_str(tokenizer_json).get_vocab_size()


def token_ids(split: Split, part: str) -> tuple[np.ndarray, np.ndarray]:
    """A part's texts as padded token ids (by the split's tokenizer) and its class indices."""
    texts, y = split.arrays(part)
    return encode(split.info["tokenizer"], texts, split.info["max_tokens"]), y


def fit(model, split: Split, settings, device, checkpoints=None):
    """The shared trainer (early stopping on validation loss) on token ids."""
    return train(
        model,
        token_ids(split, "train"),
        token_ids(split, "validation"),
        settings.train,
        device,
        checkpoints=checkpoints,
    )
