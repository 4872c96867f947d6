"""The speech model's card, features and decoding: audio → log-mel frames → characters.

Features are computed with `torch.stft` and a mel filterbank (torchaudio is not used: its
registry wheels for this torch are CUDA builds). The card carries the alphabet and the feature
settings, so the service and the MLflow model hear exactly as training did. Decoding is CTC's
greedy best path or a bounded prefix beam search. Pure torch/numpy; nothing here trains.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from pydantic import Field

from components.kinds.card import ModelCard, predictor
from components.kinds.speech_recognition.audio import read_mono

KIND = "speech_recognition"
BLANK = 0  # CTC's blank; characters are 1..len(alphabet)
MAX_BEAM = 8
N_FFT, HOP = 400, 160  # 25 ms windows every 10 ms at 16 kHz


class SpeechCard(ModelCard):
    """The speech model's card: its alphabet and how audio becomes features."""

    kind_name = KIND

    alphabet: str = Field(description="the characters the model writes, in output order")
    sample_rate: int = 16_000
    n_mels: int = 40
    max_seconds: float = Field(description="audio longer than this is refused")
    max_file_bytes: int = Field(20_000_000, description="larger uploads are refused")
    beam: int = Field(1, ge=1, le=MAX_BEAM, description="the default beam (1: greedy)")


@lru_cache(maxsize=4)
def mel_filterbank(n_mels: int, rate: int, n_fft: int = N_FFT) -> torch.Tensor:
    """Triangular filters (n_fft // 2 + 1, n_mels) evenly spaced on the HTK mel scale."""

    def to_mel(hz):
        return 2595.0 * np.log10(1.0 + hz / 700.0)

    def to_hz(mel):
        return 700.0 * (10 ** (mel / 2595.0) - 1.0)

    bins = np.linspace(0, rate / 2, n_fft // 2 + 1)
    edges = to_hz(np.linspace(to_mel(20.0), to_mel(rate / 2), n_mels + 2))
    low, centre, high = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - low) / (centre - low)
    falling = (high - bins[None, :]) / (high - centre)
    return torch.as_tensor(np.maximum(0.0, np.minimum(rising, falling)).T, dtype=torch.float32)


def raw_log_mel(audio: np.ndarray, card: SpeechCard) -> torch.Tensor:
    """Log-mel frames (T, n_mels) of mono samples at the card's rate, not normalised."""
    wave = torch.as_tensor(np.asarray(audio, dtype=np.float32))
    if wave.numel() < N_FFT:
        wave = torch.nn.functional.pad(wave, (0, N_FFT - wave.numel()))
    spectrum = torch.stft(wave, N_FFT, HOP, window=torch.hann_window(N_FFT), return_complex=True)
    power = spectrum.abs().pow(2).T  # (T, F)
    return torch.log(power @ mel_filterbank(card.n_mels, card.sample_rate) + 1e-6)


def log_mel(audio: np.ndarray, card: SpeechCard) -> torch.Tensor:
    """Log-mel frames (T, n_mels) of mono samples at the card's rate.

    Normalised per utterance (zero mean, unit variance per band): the recording level and
    channel do not matter.
    """
    mel = raw_log_mel(audio, card)
    return (mel - mel.mean(dim=0)) / (mel.std(dim=0) + 1e-5)


def logged(card: SpeechCard, waves: list[np.ndarray]) -> dict[str, list]:
    """Recordings as the served-input log keeps them: not the audio, its acoustic summary.

    Duration (s), loudness (RMS, dBFS) and the mean log-mel spectrum (`n_mels` values): what
    the drift check compares, in a few hundred bytes per recording.
    """
    seconds, loudness, spectra = [], [], []
    for wave in waves:
        wave = np.asarray(wave, dtype=np.float32)
        seconds.append(len(wave) / card.sample_rate)
        loudness.append(float(20 * np.log10(np.sqrt(np.mean(wave**2)) + 1e-9)))
        spectra.append(raw_log_mel(wave, card).mean(dim=0).numpy().astype(np.float32).tobytes())
    return {"seconds": seconds, "loudness_db": loudness, "spectrum": spectra}


def spectra(frame) -> np.ndarray:
    """The logged mean log-mel spectra (N, n_mels)."""
    return np.stack([np.frombuffer(blob, dtype=np.float32) for blob in frame["spectrum"]])


def decode(path, card: SpeechCard) -> np.ndarray:
    """An uploaded file's samples, mono, at the card's rate; ValueError saying what is wrong."""
    return read_mono(path, card.sample_rate, card.max_seconds)


def batch(features: list[torch.Tensor]) -> torch.Tensor:
    """Frames of several utterances as one tensor (N, T, n_mels + 1), zero-padded.

    The last channel marks the real frames (1) from the padding (0).
    """
    width = max(f.shape[0] for f in features)
    out = torch.zeros(len(features), width, features[0].shape[1] + 1)
    for i, f in enumerate(features):
        out[i, : f.shape[0], :-1] = f
        out[i, : f.shape[0], -1] = 1.0
    return out


def greedy(log_probs: np.ndarray) -> list[int]:
    """CTC's best path: the most likely symbol per frame, repeats merged, blanks dropped."""
    best = log_probs.argmax(axis=1)
    return [int(s) for i, s in enumerate(best) if s != BLANK and (i == 0 or s != best[i - 1])]


def prefix_beam(log_probs: np.ndarray, beam: int) -> list[int]:
    """CTC prefix beam search (no language model) over frames (T, C); the best prefix."""
    # each prefix: (log p ending in blank, log p ending in its last symbol)
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, -np.inf)}
    symbols = range(1, log_probs.shape[1])
    for frame in log_probs:
        grown: dict[tuple[int, ...], list[float]] = {}

        def add(prefix, blank, symbol, grown=grown):
            old = grown.setdefault(prefix, [-np.inf, -np.inf])
            old[0], old[1] = np.logaddexp(old[0], blank), np.logaddexp(old[1], symbol)

        # only the likeliest symbols of this frame can extend a prefix (bounded work)
        likely = [s for s in np.argsort(frame)[::-1][: beam + 1] if s in symbols]
        for prefix, (p_blank, p_symbol) in beams.items():
            total = np.logaddexp(p_blank, p_symbol)
            add(prefix, total + frame[BLANK], -np.inf)
            # the prefix's own last symbol always counts: its repeat merges into it
            for s in likely if not prefix or prefix[-1] in likely else [*likely, prefix[-1]]:
                if prefix and prefix[-1] == s:
                    add(prefix, -np.inf, p_symbol + frame[s])  # a repeat merges
                    add((*prefix, s), -np.inf, p_blank + frame[s])  # after a blank: a new one
                else:
                    add((*prefix, s), -np.inf, total + frame[s])
        ranked = sorted(grown.items(), key=lambda kv: -np.logaddexp(*kv[1]))[:beam]
        beams = {prefix: (b, s) for prefix, (b, s) in ranked}
    return list(max(beams.items(), key=lambda kv: np.logaddexp(*kv[1]))[0])


def text_of(ids: list[int], card: SpeechCard) -> str:
    """Symbol ids as text (spaces collapsed)."""
    return " ".join("".join(card.alphabet[i - 1] for i in ids).split())


@torch.no_grad()
def frame_log_probs(model, card: SpeechCard, waves: list[np.ndarray]) -> list[np.ndarray]:
    """Per-frame log-probabilities (T_i, C) of each utterance, its padding cut off."""
    model.eval()
    features = [log_mel(w, card) for w in waves]
    x = batch(features)
    out = model(x).float()  # (N, C, T')
    lengths = model.output_lengths(x[..., -1].sum(dim=1).long())
    return [out[i, :, : int(n)].T.numpy() for i, n in enumerate(lengths)]


def transcribe(model, card: SpeechCard, waves: list[np.ndarray], beam: int | None = None,
               batch_size: int = 32) -> list[str]:  # fmt: skip
    """The transcript of each utterance (mono samples at the card's rate), in order."""
    beam = min(max(1, beam or card.beam), MAX_BEAM)
    out: list[str] = []
    for start in range(0, len(waves), batch_size):
        for frames in frame_log_probs(model, card, waves[start : start + batch_size]):
            ids = greedy(frames) if beam == 1 else prefix_beam(frames, beam)
            out.append(text_of(ids, card))
    return out


@predictor(KIND)
def predict_frame(model, card: SpeechCard, frame):
    """The logged model's prediction: an `audio` column of sample lists → their transcripts.

    Samples are mono, at the card's rate.
    """
    import pandas as pd

    waves = [np.asarray(a, dtype=np.float32) for a in frame["audio"]]
    return pd.DataFrame({"text": transcribe(model, card, waves)})


def describe(card) -> dict:
    """What the service's `/metadata` says of a model besides its lineage."""
    return {
        "alphabet": card.alphabet,
        "sample_rate": card.sample_rate,
        "max_seconds": card.max_seconds,
        "max_file_bytes": card.max_file_bytes,
        "max_beam": MAX_BEAM,
    }
