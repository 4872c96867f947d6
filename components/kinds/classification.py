"""What the classifier kinds share: test scores, paired right/wrong outcomes, their plots."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from components.kinds.base import Kind, Split, check_compatible
from components.kinds.card import ClassifierCard
from components.runtime.datasets import Batches
from components.runtime.inference import CPU, proba_over
from components.runtime.metrics import classification_metrics
from components.runtime.plots import plot_confusion_matrix, plot_loss_curve

SCORE_BATCH = 1024


def test_predictions(model, split: Split) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities (N, C) and true class indices (N,) of the test part, in order."""
    batches = Batches(split.data["test"], SCORE_BATCH, CPU, workers=split.workers)
    return proba_over(model, batches)


def majority_correct(split: Split) -> np.ndarray:
    """Right/wrong per test example of always answering the most frequent training class."""
    train = split.labels("train")
    majority = int(np.bincount(train).argmax())
    return split.labels("test") == majority


def score(
    model, card: ClassifierCard, split: Split, keys: tuple[str, ...], predicted=None
) -> dict[str, float]:
    """Test accuracy, macro-F1, lowest per-class recall and the majority-class baseline's.

    `predicted`: the test part's (probabilities, classes) when the kind computes them itself.
    """
    check_compatible(card, split, keys)
    proba, y = predicted or test_predictions(model, split)
    metrics = classification_metrics(y, proba.argmax(axis=1), len(split.info["classes"]))
    metrics["majority_accuracy"] = float(majority_correct(split).mean())
    return {f"test_{name}": value for name, value in metrics.items()}


def accuracy_outcomes(
    model, card: ClassifierCard, split: Split, metric: str, keys: tuple[str, ...], predicted=None
):
    """Right/wrong per test example: the paired form of `test_accuracy`."""
    from components.runtime.stats import Outcomes

    if metric != "test_accuracy":
        return None
    check_compatible(card, split, keys)
    proba, y = predicted or test_predictions(model, split)
    correct = proba.argmax(axis=1) == y
    return Outcomes(correct.astype(np.float64), np.ones(len(correct)), correct)


def plots(
    model, card: ClassifierCard, split: Split, history: list, folder: Path, predicted=None
) -> list[Path]:
    """The confusion matrix of the test part (classes by name) and the loss curve."""
    proba, y = predicted or test_predictions(model, split)
    return [
        plot_confusion_matrix(y, proba.argmax(axis=1), card.names, folder / "confusion_matrix.png"),
        plot_loss_curve(history, card.best_epoch, folder / "loss_curve.png"),
    ]


class ClassifierKind(Kind):
    """A kind whose families classify: scored, gated and plotted alike (no kind of its own).

    `compatible` names the card fields a model must share with the data to be scored on it.
    """

    compatible: ClassVar[tuple[str, ...]]

    def score(self, model, card, split: Split) -> dict[str, float]:
        return score(model, card, split, self.compatible)

    def paired_outcomes(self, model, card, split: Split, metric: str):
        return accuracy_outcomes(model, card, split, metric, self.compatible)

    def plots(self, model, card, split: Split, history: list, folder: Path) -> list[Path]:
        return plots(model, card, split, history, folder)

    def baseline_outcomes(self, split: Split, metric: str):
        """Always answering the most frequent training class: the paired form of its accuracy."""
        from components.runtime.stats import Outcomes

        if metric != "test_accuracy":
            return None
        correct = majority_correct(split)
        return Outcomes(correct.astype(np.float64), np.ones(len(correct)), correct)
