"""The translation kind: a sentence → its translation, beside copy and dictionary baselines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from components.kinds import memo
from components.kinds.base import Kind, Split
from components.kinds.translation import data, inference, metrics, validation
from components.kinds.translation import fit as training
from components.project import DlopsError
from components.runtime.datasets import ArrayDataset
from components.runtime.splits import split_digest, split_indices

SAMPLES = 20  # sample translations logged with each run


def _within(info: dict, sources, targets) -> np.ndarray:
    """Which pairs fit the token limits (the source whole, the target with its BOS or EOS)."""
    source = inference.token_counts(info["source_tokenizer"], sources)
    target = inference.token_counts(info["target_tokenizer"], targets)
    return (source <= info["max_source_tokens"]) & (target < info["max_target_tokens"])


class Translation(Kind):
    """A sentence (any Unicode) → its translation; subword tokens, an encoder-decoder."""

    name = inference.KIND
    sources = ("csv",)
    data_file = data.CSV_NAME
    card = inference.TranslationCard
    validation = validation

    def write_builtin(self, family: str, folder: Path) -> None:
        data.write_builtin(folder)

    def load_split(self, folder: Path, settings) -> Split:
        config, model = settings.data, settings.model
        frame = data.read_pairs(folder)
        sources = frame[config.text].astype(str).to_numpy(dtype=object)
        targets = frame[config.target].astype(str).to_numpy(dtype=object)
        cap = config.pairs.builtin_max_source_words
        if config.source_kind == "builtin" and cap is not None:  # the CPU budget's subset
            short = np.array([len(s.split()) <= cap for s in sources], dtype=bool)
            sources, targets = sources[short], targets[short]
        if len(sources) < max(config.min_rows, 3):
            raise DlopsError(
                f"{settings.family}: {len(sources)} pairs of at most {cap} source words: "
                f"fewer than data.min_rows ({config.min_rows}); raise "
                "data.pairs.builtin_max_source_words"
            )
        parts = split_indices(np.zeros(len(sources), dtype=np.int64), config.split)
        vocab = int(model.get("vocab_size", 3000))
        info = {
            "source_tokenizer": training.train_tokenizer(sources[parts["train"]], vocab),
            "target_tokenizer": training.train_tokenizer(targets[parts["train"]], vocab),
            "max_source_tokens": int(model.get("max_source_tokens", 48)),
            "max_target_tokens": int(model.get("max_target_tokens", 48)),
            "length_ratio": float(model.get("length_ratio", 2.0)),
            "beam": int(model.get("beam", 1)),
            "text_column": config.text,
            "dictionary": data.read_dictionary(folder),
        }
        # a pair cut at the token limits no longer matches: it would teach dropping words.
        # Training and early stopping leave them out; the test part keeps them, as served.
        dropped = 0
        for part in ("train", "validation"):
            rows = parts[part]
            fits = _within(info, sources[rows], targets[rows])
            dropped += int((~fits).sum())
            parts[part] = rows[fits]
        return Split(
            data={k: ArrayDataset(sources[v], targets[v]) for k, v in parts.items()},
            dims={
                "source_vocab": training.vocabulary(info["source_tokenizer"]),
                "target_vocab": training.vocabulary(info["target_tokenizer"]),
            },
            info=info,
            digest=split_digest(parts),
            params={
                "data.pairs.used": str(len(sources)),
                "data.pairs.total": str(len(frame)),
                "data.pairs.over_token_limits": str(dropped),
            },
        )

    def make_card(self, settings, split: Split, **common):
        info = {k: v for k, v in split.info.items() if k != "dictionary"}  # data, not the model
        return super().make_card(settings, Split(split.data, split.dims, info, split.digest),
                                 **common)  # fmt: skip

    def fit(self, model, split: Split, settings, device, workdir: Path, checkpoints=None):
        return training.fit(model, split, settings, device, checkpoints)

    def _translations(self, model, card, split: Split) -> tuple[list, list, list[str]]:
        """The test part's (sources, references, the model's translations)."""
        sources, references = (list(a) for a in split.arrays("test"))
        translations = memo.outputs(model, card, sources,
                                    lambda: inference.translate(model, card, sources))  # fmt: skip
        return sources, references, translations

    def _baselines(self, split: Split, sources: list) -> dict[str, list[str]]:
        """The copy baseline (the source unchanged) and, with a dictionary, word by word."""
        out = {"copy": [str(s) for s in sources]}
        if split.info.get("dictionary"):
            out["dictionary"] = [metrics.word_by_word(s, split.info["dictionary"]) for s in sources]
        return out

    def score(self, model, card, split: Split) -> dict[str, float]:
        sources, references, translations = self._translations(model, card, split)
        scores = {
            f"test_{k}": v for k, v in metrics.corpus_scores(translations, references).items()
        }
        for name, hypotheses in self._baselines(split, sources).items():
            for metric, value in metrics.corpus_scores(hypotheses, references).items():
                scores[f"test_{name}_{metric}"] = value
        # the gate's floor: a translator must beat leaving the sentence as it is
        scores["test_chrf_over_copy"] = scores["test_chrf"] - scores["test_copy_chrf"]
        return scores

    def paired_outcomes(self, model, card, split: Split, metric: str):
        """Per test sentence: its chrF counts; summed over any resample they give its chrF."""
        from components.runtime.stats import CorpusStats

        if metric != "test_chrf":
            return None
        _, references, translations = self._translations(model, card, split)
        return CorpusStats(
            metrics.sentence_stats(translations, references), metrics.chrf_from_stats
        )

    def baseline_outcomes(self, split: Split, metric: str):
        """Copying the source unchanged, per test sentence: a translator must beat it."""
        from components.runtime.stats import CorpusStats

        if metric != "test_chrf":
            return None
        sources, references = (list(map(str, a)) for a in split.arrays("test"))
        return CorpusStats(
            metrics.sentence_stats(sources, references),
            metrics.chrf_from_stats,
            name="copying the source unchanged",
        )

    def plots(self, model, card, split: Split, history: list, folder: Path) -> list[Path]:
        from components.kinds.translation.plots import plot_by_length
        from components.runtime.plots import plot_loss_curve

        sources, references, translations = self._translations(model, card, split)
        baselines = self._baselines(split, sources)
        samples = pd.DataFrame({"source": sources, "reference": references,
                                "model": translations, **baselines}).head(SAMPLES)  # fmt: skip
        samples.to_csv(folder / "sample_translations.csv", index=False)
        return [
            plot_loss_curve(history, card.best_epoch, folder / "loss_curve.png"),
            plot_by_length(
                sources,
                references,
                {"model": translations, **baselines},
                folder / "chrf_by_length.png",
            ),  # fmt: skip
            folder / "sample_translations.csv",
        ]

    def example(self, split: Split) -> pd.DataFrame:
        return pd.DataFrame({split.info["text_column"]: list(split.arrays("test")[0][:3])})

    def predict(self, model, card, model_input: pd.DataFrame) -> pd.DataFrame:
        return inference.predict_frame(model, card, model_input)

    def verdict(self, metrics_: dict[str, float]) -> str | None:
        """The headline beside the baselines, in words; said plainly when a baseline wins."""
        chrf = metrics_.get("test_chrf")
        if chrf is None:
            return None
        parts = [f"chrF {chrf:.1f} (BLEU {metrics_.get('test_bleu', 0):.1f})",
                 f"copying the source {metrics_.get('test_copy_chrf', 0):.1f}"]  # fmt: skip
        beaten = [b for b in ("copy", "dictionary") if metrics_.get(f"test_{b}_chrf", -1) >= chrf]
        if "test_dictionary_chrf" in metrics_:
            parts.append(f"word-by-word dictionary {metrics_['test_dictionary_chrf']:.1f}")
        text = "; ".join(parts)
        if beaten:
            names = " and ".join("copying" if b == "copy" else "the dictionary" for b in beaten)
            return f"{text}: the model does not beat {names}"
        return f"{text}: the model beats every baseline"
