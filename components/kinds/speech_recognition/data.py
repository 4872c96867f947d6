"""Speech data: audio files (WAV, FLAC, ...) and `transcripts.csv` (file, text[, speaker]).

Built-in: spoken digit strings ("four oh seven two", 1 to 7 words) synthesised with espeak-ng
in many voices (accent × voice variant, each speaker with its own speed and pitch), background
noise at a random signal-to-noise ratio, 16 kHz 16-bit WAV. The split holds whole speakers out
for the test part, so the test measures unseen voices. A second, out-of-domain set in flite's
voices (`ood/`) is scored beside it, never trained on. The same seed writes byte-identical
files: the DVC data version is stable.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from components.kinds.speech_recognition.audio import read_mono, resample
from components.project import DlopsError

TRANSCRIPTS = "transcripts.csv"
OOD = "ood"  # the out-of-domain set's subfolder: its own audio and transcripts
RATE = 16_000
DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
ACCENTS = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc",
           "en-gb-x-gbclan", "en-gb-x-gbcwmd"]  # fmt: skip
VARIANTS = ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "Alex",
            "Andy", "Annie", "aunty", "david", "edward", "linda", "max", "norbert", "steph",
            "zac", "grandpa"]  # fmt: skip
FLITE_VOICES = ["slt", "rms", "awb", "kal16"]
SPEAKERS = 48  # espeak-ng speakers: accent + variant, speed and pitch
UTTERANCES = 2_400  # espeak-ng utterances over those speakers
OOD_UTTERANCES = 240  # flite utterances
SEED = 7


def digit_string(rng: np.random.Generator) -> str:
    """1 to 7 digits as words; zero is read "zero" or "oh", as people say it."""
    words = []
    for digit in rng.integers(0, 10, int(rng.integers(1, 8))):
        words.append(("oh" if rng.random() < 0.5 else "zero") if digit == 0 else DIGITS[digit])
    return " ".join(words)


def _noisy(audio: np.ndarray, rng: np.random.Generator, snr_db: float) -> np.ndarray:
    """`audio` with white noise at `snr_db`, scaled to a peak of 0.9 (never clipped)."""
    power = float(np.mean(audio**2)) or 1e-8
    noise = rng.standard_normal(len(audio)) * np.sqrt(power / 10 ** (snr_db / 10))
    mixed = audio + noise
    return (0.9 * mixed / max(1e-6, float(np.abs(mixed).max()))).astype(np.float32)


def _write(folder: Path, rows: list[dict], render) -> None:
    """Render every row's audio (two synthesiser processes at a time) and write the WAVs."""
    import soundfile

    (folder / "audio").mkdir(parents=True, exist_ok=True)

    def write(row: dict) -> None:  # each row's noise has its own seed: any order, same bytes
        audio, rate = render(row)
        rng = np.random.default_rng([SEED, row["index"]])
        soundfile.write(folder / row["file"], _noisy(resample(audio, rate, RATE), rng, row["snr"]),
                        RATE, subtype="PCM_16", format="WAV")  # fmt: skip

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(write, rows))
    table = pd.DataFrame([{k: r[k] for k in ("file", "text", "speaker")} for r in rows])
    table.to_csv(folder / TRANSCRIPTS, index=False, lineterminator="\n")


def write_builtin(folder: Path, utterances: int = UTTERANCES, ood: int = OOD_UTTERANCES) -> None:
    """espeak-ng digit strings in `folder`, flite's in `folder/ood`; byte-identical each time."""
    from components.kinds.speech_recognition import synth

    rng = np.random.default_rng(SEED)
    known = set(synth.variants())
    variants = [v for v in VARIANTS if v in known]
    if not variants:
        raise DlopsError("espeak-ng's voice variants are missing (espeak-ng-data not unpacked)")
    # 48 distinct voices (accent × variant, no pair twice), each with its own speed and pitch:
    # a voice held out for test is never heard in training
    grid = [f"{accent}+{variant}" for accent in ACCENTS for variant in variants]
    voices = [grid[i] for i in rng.permutation(len(grid))[:SPEAKERS]]
    speakers = [{"voice": voice, "speed": int(rng.integers(125, 196)),
                 "pitch": int(rng.integers(25, 76))} for voice in voices]  # fmt: skip
    rows = []
    for i in range(utterances):
        speaker = speakers[i % SPEAKERS]
        rows.append({"index": i, "file": f"audio/{i:05d}.wav", "text": digit_string(rng),
                     "speaker": f"espeak:{speaker['voice']}",
                     "snr": float(rng.uniform(12, 35)), **speaker})  # fmt: skip
    _write(folder, rows, lambda r: synth.espeak(r["text"], r["voice"], r["speed"], r["pitch"]))
    flite_speakers = [(v, s) for v in FLITE_VOICES for s in (0.9, 1.0, 1.15)]
    ood_rows = []
    for i in range(ood):
        voice, stretch = flite_speakers[i % len(flite_speakers)]
        ood_rows.append({"index": utterances + i, "file": f"audio/{i:05d}.wav",
                         "text": digit_string(rng), "speaker": f"flite:{voice}:{stretch}",
                         "snr": float(rng.uniform(12, 35)), "voice": voice,
                         "stretch": stretch})  # fmt: skip
    _write(folder / OOD, ood_rows, lambda r: synth.flite(r["text"], r["voice"], r["stretch"]))


def read_transcripts(folder: Path) -> pd.DataFrame:
    """`transcripts.csv` with every cell as text (an empty cell is an empty transcript)."""
    return pd.read_csv(folder / TRANSCRIPTS, dtype="string", keep_default_na=False,
                       encoding="utf-8-sig")  # fmt: skip


def read_audio(path: Path, rate: int = RATE) -> np.ndarray:
    """A validated file's samples, mixed down to mono and resampled to `rate` (float32)."""
    return read_mono(path, rate)
