"""The speech recognition kind: recordings → transcripts, judged by word error rate."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from components.kinds import memo
from components.kinds.base import Kind, Split, sample_rows
from components.kinds.speech_recognition import data, inference, validation
from components.kinds.speech_recognition import fit as training
from components.project import DlopsError
from components.runtime.datasets import default_workers

BATCH = 32  # utterances read and transcribed at a time: never the whole part in memory


def split_by_speaker(speakers: np.ndarray, split) -> dict[str, np.ndarray]:
    """Seeded train/validation/test rows with every speaker in one part only."""
    from sklearn.model_selection import GroupShuffleSplit

    rows = np.arange(len(speakers))
    outer = GroupShuffleSplit(n_splits=1, test_size=split.test, random_state=split.seed)
    rest, test = next(outer.split(rows, groups=speakers))
    inner = GroupShuffleSplit(n_splits=1, test_size=split.validation / (1 - split.test),
                              random_state=split.seed)  # fmt: skip
    train, val = next(inner.split(rest, groups=speakers[rest]))
    return {"train": np.sort(rest[train]), "validation": np.sort(rest[val]), "test": np.sort(test)}


def transcribe_files(model, card, files: list, beam: int | None = None) -> list[str]:
    """Transcripts of audio files, read `BATCH` at a time."""
    out: list[str] = []
    for start in range(0, len(files), BATCH):
        waves = [data.read_audio(Path(f), card.sample_rate) for f in files[start : start + BATCH]]
        out += inference.transcribe(model, card, waves, beam=beam)
    return out


def word_errors(references: list[str], hypotheses: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per utterance: word edits (substitutions + deletions + insertions) and reference words.

    Their sums' ratio is the corpus WER, as jiwer computes it.
    """
    import jiwer

    errors, words = [], []
    for reference, hypothesis in zip(references, hypotheses, strict=True):
        out = jiwer.process_words(reference, hypothesis or "")
        errors.append(out.substitutions + out.deletions + out.insertions)
        words.append(out.hits + out.substitutions + out.deletions)
    return np.asarray(errors, dtype=np.float64), np.asarray(words, dtype=np.float64)


class SpeechRecognition(Kind):
    """Recordings (any rate and channels) → their transcripts in the configured alphabet."""

    name = inference.KIND
    sources = ("folder",)
    card = inference.SpeechCard
    validation = validation

    def write_builtin(self, family: str, folder: Path) -> None:
        data.write_builtin(folder)

    def _parts(self, folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        table = data.read_transcripts(folder)
        files = np.array([str(folder / f) for f in table["file"]], dtype=object)
        texts = np.array([" ".join(str(t).lower().split()) for t in table["text"]], dtype=object)
        names = table["speaker"] if "speaker" in table.columns else table["file"]
        # a blank speaker is its file's own (as validation counts them)
        speakers = [str(s).strip() or str(f) for s, f in zip(names, table["file"], strict=True)]
        return files, texts, np.array(speakers, dtype=str)

    def load_split(self, folder: Path, settings) -> Split:
        audio, model = settings.data.audio, settings.model
        files, texts, speakers = self._parts(folder)
        if len(set(speakers)) < 3:
            raise DlopsError(f"{settings.family}: {len(set(speakers))} speakers: a split by "
                             "speaker needs 3 or more (or no speaker column)")  # fmt: skip
        try:
            parts = split_by_speaker(speakers, settings.data.split)
        except ValueError as exc:  # too few speakers for these shares: a part would be empty
            raise DlopsError(f"{settings.family}: split by speaker: {exc}") from None
        info = {
            "alphabet": audio.alphabet,
            "sample_rate": audio.sample_rate,
            "n_mels": int(model.get("n_mels", 40)),
            "max_seconds": audio.max_seconds,
            "max_file_bytes": audio.max_file_bytes,
            "beam": int(model.get("beam", 1)),
        }
        features = inference.SpeechCard.model_construct(**info)
        max_chars = int(model.get("max_chars", 80))
        datasets = {
            part: training.Utterances(list(files[rows]), list(texts[rows]), features, max_chars)
            for part, rows in parts.items()
        }
        ood = folder / data.OOD
        params = {"data.speakers": str(len(set(speakers)))}
        if (ood / data.TRANSCRIPTS).is_file():
            ood_files, ood_texts, _ = self._parts(ood)
            info["ood"] = {"files": list(ood_files), "texts": list(ood_texts)}
            params["data.ood_files"] = str(len(ood_files))
        workers = settings.data.workers if settings.data.workers >= 0 else default_workers()
        digest = hashlib.sha256()
        for part in ("train", "validation", "test"):
            digest.update(part.encode() + "\0".join(files[parts[part]]).encode())
        return Split(
            data=datasets,
            dims={"n_symbols": len(audio.alphabet) + 1},
            info=info,
            digest=digest.hexdigest()[:12],
            params=params,
            workers=workers,
        )

    def make_card(self, settings, split: Split, **common):
        info = {k: v for k, v in split.info.items() if k != "ood"}  # data, not the model
        return super().make_card(settings, Split(split.data, split.dims, info, split.digest),
                                 **common)  # fmt: skip

    def fit(self, model, split: Split, settings, device, workdir: Path, checkpoints=None):
        return training.fit(model, split, settings, device, checkpoints)

    def _transcripts(self, model, card, files: list) -> list[str]:
        return memo.outputs(model, card, files, lambda: transcribe_files(model, card, files))

    def _test(self, model, card, split: Split) -> tuple[list[str], list[str], list[str]]:
        files, texts = (list(a) for a in split.arrays("test"))
        return files, texts, self._transcripts(model, card, files)

    def score(self, model, card, split: Split) -> dict[str, float]:
        import jiwer

        _, references, hypotheses = self._test(model, card, split)
        metrics = {
            "test_wer": float(jiwer.wer(references, hypotheses)),
            "test_cer": float(jiwer.cer(references, hypotheses)),
        }
        if "ood" in split.info:
            ood = split.info["ood"]
            heard = self._transcripts(model, card, ood["files"])
            metrics["test_ood_wer"] = float(jiwer.wer(ood["texts"], heard))
            metrics["test_ood_cer"] = float(jiwer.cer(ood["texts"], heard))
        return metrics

    def paired_outcomes(self, model, card, split: Split, metric: str):
        """Per test utterance: its word errors and reference words (their ratio is the WER)."""
        from components.runtime.stats import Outcomes

        if metric != "test_wer":
            return None
        _, references, hypotheses = self._test(model, card, split)
        return Outcomes(*word_errors(references, hypotheses))

    def plots(self, model, card, split: Split, history: list, folder: Path) -> list[Path]:
        from components.kinds.speech_recognition.plots import plot_alignments
        from components.runtime.plots import plot_loss_curve

        files, references, hypotheses = self._test(model, card, split)
        return [
            plot_loss_curve(history, card.best_epoch, folder / "loss_curve.png"),
            plot_alignments(model, card, files[:3], references[:3], folder / "alignments.png"),
        ]

    def example(self, split: Split) -> pd.DataFrame:
        files = list(split.arrays("test")[0][:1])
        rate = split.info["sample_rate"]
        return pd.DataFrame({"audio": [data.read_audio(Path(f), rate).tolist() for f in files]})

    def predict(self, model, card, model_input: pd.DataFrame) -> pd.DataFrame:
        return inference.predict_frame(model, card, model_input)

    def dataset_frame(self, folder: Path) -> pd.DataFrame:
        return data.read_transcripts(folder)

    drift_space = "the mean log-mel spectrum (the log keeps no audio)"

    def drift_reference(self, model, card, split: Split, settings, limit: int):
        files = split.arrays("train")[0]
        rows = sample_rows(len(files), limit)
        waves = [data.read_audio(Path(files[i]), card.sample_rate) for i in rows]
        return inference.logged(card, waves)

    def drift_features(self, model, card, frame: pd.DataFrame) -> pd.DataFrame:
        """Duration and loudness, and the spectrum's centre (mean mel band, power-weighted)."""
        spectra = inference.spectra(frame)
        power = np.exp(spectra - spectra.max(axis=1, keepdims=True))
        centre = (power * np.arange(spectra.shape[1])).sum(axis=1) / power.sum(axis=1)
        return pd.DataFrame(
            {
                "seconds": frame["seconds"].to_numpy(dtype=np.float64),
                "loudness_db": frame["loudness_db"].to_numpy(dtype=np.float64),
                "spectral_centre_band": centre,
            }
        )

    def drift_embeddings(self, model, card, frame: pd.DataFrame) -> np.ndarray:
        return inference.spectra(frame)

    def verdict(self, metrics: dict[str, float]) -> str | None:
        wer = metrics.get("test_wer")
        if wer is None:
            return None
        said = f"WER {wer:.3f} on held-out speakers"
        if "test_ood_wer" in metrics:
            said += f"; {metrics['test_ood_wer']:.3f} on another synthesiser's voices (not gated)"
        return said
