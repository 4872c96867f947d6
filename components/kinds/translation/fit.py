"""How the translator trains: a BPE tokenizer per language, then the shared trainer.

The network learns with teacher forcing: (source, BOS + target) → target + EOS.
"""

from __future__ import annotations

import numpy as np
import torch

from components.kinds.base import Split
from components.kinds.translation.inference import PAD, SPECIAL, encode
from components.runtime.trainer import fit as train

LABEL_SMOOTHING = 0.1


def train_tokenizer(texts, vocab_size: int) -> str:
    """A BPE tokenizer (NFKC, words marked by ▁ so decoding restores the spaces); its JSON."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE(unk_token=SPECIAL[1]))
    tokenizer.normalizer = normalizers.NFKC()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=list(SPECIAL), show_progress=False
    )
    tokenizer.train_from_iterator((str(t) for t in texts), trainer)
    return tokenizer.to_str()


def vocabulary(tokenizer_json: str) -> int:
    """The number of token ids the tokenizer can produce (an embedding's size)."""
    from tokenizers import Tokenizer

    return Tokenizer.from_str(tokenizer_json).get_vocab_size()


def pad_to(ids: np.ndarray, width: int) -> np.ndarray:
    return np.pad(ids, ((0, 0), (0, width - ids.shape[1])))


def teacher_forcing(split: Split, part: str) -> tuple[np.ndarray, np.ndarray]:
    """A part as the network trains on it, zero-padded.

    x: the source ids, then BOS + the target ids (N, S + T); y: the target ids + EOS (N, T).
    """
    (sources, targets), info = split.arrays(part), split.info
    s, t = info["max_source_tokens"], info["max_target_tokens"]
    source = pad_to(encode(info["source_tokenizer"], sources, s), s)
    target_in = pad_to(encode(info["target_tokenizer"], targets, t, bos=True), t)
    target_out = pad_to(encode(info["target_tokenizer"], targets, t, eos=True), t)
    return np.concatenate([source, target_in], axis=1), target_out


def token_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy per target token, padding ignored.

    `logits` (N, V, T') cover the first T' positions of `target` (N, T).
    """
    return torch.nn.functional.cross_entropy(
        logits,
        target[:, : logits.shape[2]],
        ignore_index=PAD,
        label_smoothing=LABEL_SMOOTHING,
    )


def fit(model, split: Split, settings, device, checkpoints=None):
    """The shared trainer (early stopping on validation loss) on token ids."""
    return train(
        model,
        teacher_forcing(split, "train"),
        teacher_forcing(split, "validation"),
        settings.train,
        device,
        loss_fn=token_loss,
        classification=False,
        checkpoints=checkpoints,
    )
