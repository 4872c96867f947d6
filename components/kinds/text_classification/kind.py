"""The text classification kind: texts → one of the labels, with a TF-IDF baseline beside it."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from components.kinds import classification
from components.kinds.base import Split, sample_rows
from components.kinds.classification import ClassifierKind
from components.kinds.text_classification import data, inference, validation
from components.kinds.text_classification import fit as training
from components.runtime.datasets import ArrayDataset
from components.runtime.splits import split_digest, split_indices

log = logging.getLogger(__name__)
_BASELINES: dict[str, float | None] = {}  # split → its baseline: the gate scores two models


def tfidf_accuracy(split: Split) -> float | None:
    """Test accuracy of TF-IDF (words and bigrams) + logistic regression on the same split.

    None when the baseline cannot be fitted (e.g. no word seen twice: texts without spaces).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    (train, y_train), (test, y_test) = split.arrays("train"), split.arrays("test")
    parts = [len(train), *train, *y_train, len(test), *test, *y_test]
    key = hashlib.sha256("\0".join(map(str, parts)).encode()).hexdigest()
    if key not in _BASELINES:
        try:
            vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
            features = vectorizer.fit_transform([str(t) for t in train])
            model = LogisticRegression(max_iter=1000, C=10.0).fit(features, y_train)
            predicted = model.predict(vectorizer.transform([str(t) for t in test]))
            _BASELINES[key] = float((predicted == y_test).mean())
        except ValueError as exc:  # no vocabulary left, a single class in training, ...
            log.warning("the TF-IDF baseline could not be fitted: %s", exc)
            _BASELINES[key] = None
    return _BASELINES[key]


class TextClassification(ClassifierKind):
    """Texts (any Unicode) → one of the labels; subword tokens, a recurrent network."""

    name = inference.KIND
    compatible = ("classes",)
    sources = ("csv",)
    data_file = data.CSV_NAME
    card = inference.TextCard
    validation = validation

    def write_builtin(self, family: str, folder: Path) -> None:
        data.write_builtin(folder)

    def load_split(self, folder: Path, settings) -> Split:
        text, target = settings.data.text, settings.data.target
        frame = data.read_csv(folder)
        texts, _, classes, y = data.texts_and_labels(frame, text, target)
        parts = split_indices(y, settings.data.split)
        tokenizer = training.train_tokenizer(
            texts[parts["train"]], int(settings.model.get("vocab_size", 4000))
        )
        return Split(
            data={k: ArrayDataset(texts[v], y[v]) for k, v in parts.items()},
            # the tokenizer's own size: it keeps every character it saw, beyond vocab_size
            dims={"vocab_size": training.vocabulary(tokenizer), "n_classes": len(classes)},
            info={
                "classes": classes,
                "tokenizer": tokenizer,
                "max_tokens": int(settings.model.get("max_tokens", 64)),
                "text_column": text,
            },
            digest=split_digest(parts),
        )

    def fit(self, model, split: Split, settings, device, workdir: Path, checkpoints=None):
        return training.fit(model, split, settings, device, checkpoints)

    def _predicted(self, model, card, split: Split) -> tuple[np.ndarray, np.ndarray]:
        texts, y = split.arrays("test")
        return inference.text_proba(model, card, list(texts)), y

    def score(self, model, card, split: Split) -> dict[str, float]:
        predicted = self._predicted(model, card, split)
        metrics = classification.score(model, card, split, self.compatible, predicted)
        if (baseline := tfidf_accuracy(split)) is not None:
            metrics["test_tfidf_accuracy"] = baseline
        return metrics

    def paired_outcomes(self, model, card, split: Split, metric: str):
        if metric != "test_accuracy":
            return None
        predicted = self._predicted(model, card, split)
        return classification.accuracy_outcomes(
            model, card, split, metric, self.compatible, predicted
        )

    def plots(self, model, card, split: Split, history: list, folder: Path) -> list[Path]:
        predicted = self._predicted(model, card, split)
        return classification.plots(model, card, split, history, folder, predicted)

    def verdict(self, metrics: dict[str, float]) -> str | None:
        accuracy, baseline = metrics.get("test_accuracy"), metrics.get("test_tfidf_accuracy")
        if accuracy is None or baseline is None:
            return None
        text = f"accuracy {accuracy:.4f}; TF-IDF + logistic regression {baseline:.4f}"
        if accuracy <= baseline:
            return f"{text}: the model does not beat the TF-IDF baseline"
        return f"{text}: the model beats the TF-IDF baseline"

    def example(self, split: Split) -> pd.DataFrame:
        return pd.DataFrame({split.info["text_column"]: list(split.arrays("test")[0][:5])})

    def predict(self, model, card, model_input: pd.DataFrame) -> pd.DataFrame:
        return inference.predict_frame(model, card, model_input)

    def drift_reference(self, model, card, split: Split, settings, limit: int):
        texts = split.x["train"]
        return inference.logged(card, list(texts[sample_rows(len(texts), limit)]))

    def drift_export(self, card, frame: pd.DataFrame, labels, folder: Path, settings) -> str:
        """A CSV of the texts (`data.text`) and their labels (`data.target`)."""
        table = pd.DataFrame(
            {settings.data.text: list(frame["text"]), settings.data.target: list(labels)}
        )
        table.to_csv(folder / data.CSV_NAME, index=False, lineterminator="\n")
        return f"csv:{folder / data.CSV_NAME}"

    def drift_features(self, model, card, frame: pd.DataFrame) -> pd.DataFrame:
        """Length in characters and words, and the predicted label."""
        texts = [str(t) for t in frame["text"]]
        return pd.DataFrame(
            {
                "characters": [len(t) for t in texts],
                "words": [len(t.split()) for t in texts],
                "predicted_label": inference.text_proba(model, card, texts).argmax(axis=1),
            }
        ).astype(np.float64)

    def drift_embeddings(self, model, card, frame: pd.DataFrame) -> np.ndarray:
        from components.runtime.inference import penultimate

        texts = [str(t) for t in frame["text"]]
        return penultimate(model, lambda: inference.text_proba(model, card, texts))[0]
