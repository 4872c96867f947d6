"""How the speech model trains: CTC loss, the shared trainer, utterances read from files.

Features are computed batch by batch in the loader's worker processes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from components.kinds.base import Split
from components.kinds.speech_recognition.data import read_audio
from components.kinds.speech_recognition.inference import BLANK, SpeechCard, log_mel
from components.kinds.supervised import fit_split


class Utterances(Dataset):
    """(frames, character ids) per utterance, read from its file when asked for.

    Frames are padded to `max_seconds` (the last channel marks real frames) and ids to
    `max_chars` with the blank 0, so a batch stacks; the model cuts the shared padding.
    """

    def __init__(self, files: list[Path], texts: list[str], card: SpeechCard, max_chars: int):
        self.files, self.texts, self.card, self.max_chars = files, texts, card, max_chars
        self.frames = int(round(card.max_seconds * card.sample_rate)) // 160 + 1
        self.index = {c: i + 1 for i, c in enumerate(card.alphabet)}

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        frames = log_mel(read_audio(self.files[i], self.card.sample_rate), self.card)
        x = np.zeros((self.frames, frames.shape[1] + 1), dtype=np.float32)
        n = min(self.frames, frames.shape[0])
        x[:n, :-1], x[:n, -1] = frames[:n].numpy(), 1.0
        ids = [self.index[c] for c in self.texts[i] if c in self.index][: self.max_chars]
        y = np.zeros(self.max_chars, dtype=np.int64)
        y[: len(ids)] = ids
        return x, y

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The file paths and transcripts (what scoring reads; never every frame at once)."""
        return np.array(self.files, dtype=object), np.array(self.texts, dtype=object)

    @property
    def labels(self) -> list[str]:
        return self.texts


def ctc_loss(log_probs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """CTC over every output step (padding steps are certain blanks), per target character."""
    n, _, steps = log_probs.shape
    lengths = (targets != BLANK).sum(dim=1)
    return torch.nn.functional.ctc_loss(
        log_probs.permute(2, 0, 1),  # (T', N, C)
        targets,
        torch.full((n,), steps, dtype=torch.long),
        lengths,
        blank=BLANK,
        zero_infinity=True,
    )


def fit(model, split: Split, settings, device, checkpoints=None):
    """The shared trainer (early stopping on validation loss) on utterances read from files."""
    return fit_split(model, split, settings, device, checkpoints, loss_fn=ctc_loss,
                     classification=False)  # fmt: skip
