"""Reading audio files safely: header first, bounded rates and lengths, mono, resampled.

No torch here: validation reads audio too, and a refused file must not wait for torch.
"""

from __future__ import annotations

from math import gcd
from pathlib import Path

import numpy as np

MIN_RATE, MAX_RATE = 4_000, 192_000  # a header may claim any rate; resampling cost grows with it
READ_ERRORS = (RuntimeError, TypeError, ValueError, OSError, MemoryError)


def resample(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    """`audio` at `target` Hz (polyphase filtering; exact and deterministic)."""
    if rate == target:
        return audio.astype(np.float32)
    from scipy.signal import resample_poly

    common = gcd(rate, target)
    return resample_poly(audio, target // common, rate // common).astype(np.float32)


def read(path: Path, max_seconds: float | None = None) -> tuple[np.ndarray, int, int]:
    """(samples (T, channels) float32, rate, channels) of a file; ValueError saying what is wrong.

    The header is read first: a rate outside 4-192 kHz, or more than `max_seconds` of audio, is
    refused before any sample is decoded; so are empty files and non-finite samples.
    """
    import soundfile

    try:
        with soundfile.SoundFile(path) as handle:
            rate, frames, channels = handle.samplerate, handle.frames, handle.channels
            if not MIN_RATE <= rate <= MAX_RATE:
                raise ValueError(f"a sample rate of {rate} Hz, expected {MIN_RATE} to {MAX_RATE}")
            if max_seconds is not None and frames > max_seconds * rate:
                raise ValueError(f"{frames / rate:.1f} s long, the limit is {max_seconds:g} s")
            audio = handle.read(dtype="float32", always_2d=True)
    except ValueError:
        raise
    except READ_ERRORS as exc:
        # libsndfile's message names the temporary file: say what the file is not
        reason = str(exc).rsplit(":", 1)[-1].strip() or type(exc).__name__
        raise ValueError(f"not a readable audio file (WAV, FLAC, OGG, ...): {reason}") from None
    if audio.shape[0] == 0:
        raise ValueError("holds no samples")
    if not np.isfinite(audio).all():
        raise ValueError("holds samples that are not finite numbers")
    return audio, int(rate), int(channels)


def read_mono(path: Path, rate: int, max_seconds: float | None = None) -> np.ndarray:
    """A file's samples mixed down to mono and resampled to `rate` (float32)."""
    audio, found, _ = read(path, max_seconds)
    return resample(audio.mean(axis=1), found, rate)
