"""Paired statistics for the gate: bootstrap intervals of a metric difference, McNemar's test.

Both models are scored on the same test examples. Each model's metric is a ratio of sums over
examples — accuracy: correct / 1 per example; MASE: the model's absolute error / the seasonal
naive forecast's absolute error per window; corpus chrF: a function of summed character n-gram
counts — so one vectorised resampling serves every family whose task reports paired outcomes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

CHUNK = 500  # resamples per step: bounds memory at CHUNK x N indices
FD_RESAMPLES = 200  # each Fréchet distance costs an eigendecomposition: fewer resamples


@dataclass(frozen=True)
class Outcomes:
    """Per-example parts of a metric: metric = sum(numerator) / sum(denominator)."""

    numerator: np.ndarray
    denominator: np.ndarray
    correct: np.ndarray | None = None  # classifiers: per-example right/wrong, for McNemar
    name: str = "always answering the most frequent class"  # said when it is a baseline

    def __len__(self) -> int:
        return len(self.numerator)

    def metric(self) -> float:
        return float(self.numerator.sum() / self.denominator.sum())

    def resampled(self, weights: np.ndarray) -> np.ndarray:
        """The metric on each resample: `weights` (R, N) counts how often each example is drawn."""
        return (weights @ self.numerator) / (weights @ self.denominator)


@dataclass(frozen=True)
class CorpusStats:
    """Per-example sufficient statistics of a corpus metric: metric = score(sum of the rows).

    Corpus chrF and BLEU are not means of sentence scores: each sums n-gram counts over the
    sentences first. `score` maps summed statistics (R, K) to R metric values.
    """

    stats: np.ndarray  # (N, K)
    score: Callable[[np.ndarray], np.ndarray]
    name: str = "the baseline"  # said when it is a baseline
    correct = None

    def __len__(self) -> int:
        return len(self.stats)

    def metric(self) -> float:
        return float(self.score(self.stats.sum(axis=0, keepdims=True))[0])

    def resampled(self, weights: np.ndarray) -> np.ndarray:
        return self.score(weights @ self.stats)


class Resampled(Protocol):
    """Any other metric of per-example parts: its value, and its value on weighted resamples.

    A detector's mAP, for one: `resampled` recomputes it with each test image counted as often
    as a resample draws it (components/kinds/object_detection/metrics.py).
    """

    correct: np.ndarray | None
    name: str

    def __len__(self) -> int: ...

    def metric(self) -> float: ...

    def resampled(self, weights: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class FeatureSets:
    """A generator's paired outcome: features of its samples and of the reference set.

    Two models' `generated` rows are paired (the same noise and class per row); `reference` is
    the same real set for both. The metric is the Fréchet distance between the two sets.
    """

    generated: np.ndarray  # (n, d)
    reference: np.ndarray  # (m, d)
    correct = None

    def metric(self) -> float:
        from components.runtime.distances import frechet_distance

        return frechet_distance(self.generated, self.reference)


@dataclass(frozen=True)
class Interval:
    """The observed improvement and its bootstrap confidence interval."""

    improvement: float
    low: float
    high: float
    confidence: float
    resamples: int


def paired_bootstrap(
    challenger: Outcomes | CorpusStats | FeatureSets | Resampled,
    champion: Outcomes | CorpusStats | FeatureSets | Resampled,
    higher_is_better: bool,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Interval:
    """Percentile interval of the challenger's improvement over the champion.

    Examples are resampled with replacement, the same indices for both models (paired).
    Improvement is challenger − champion for higher-is-better metrics, champion − challenger
    otherwise, so a positive value always means "better". Deterministic given `seed`.
    """
    sign = 1.0 if higher_is_better else -1.0
    rng = np.random.default_rng(seed)
    if isinstance(challenger, FeatureSets):
        return _feature_bootstrap(challenger, champion, sign, confidence, resamples, rng)
    n = len(challenger)
    if n == 0 or len(champion) != n:
        raise ValueError("paired outcomes need the same, non-empty set of examples")
    diffs = np.empty(resamples)
    for start in range(0, resamples, CHUNK):
        size = min(CHUNK, resamples - start)
        idx = rng.integers(0, n, size=(size, n))
        # how often each example is drawn in each resample: (size, n) counts
        flat = (np.arange(size)[:, None] * n + idx).ravel()
        weights = np.bincount(flat, minlength=size * n).reshape(size, n).astype(np.float64)
        diffs[start : start + size] = sign * (
            challenger.resampled(weights) - champion.resampled(weights)
        )
    tail = (1 - confidence) / 2
    low, high = np.quantile(diffs, [tail, 1 - tail])
    observed = sign * (challenger.metric() - champion.metric())
    return Interval(float(observed), float(low), float(high), confidence, resamples)


def _feature_bootstrap(
    challenger: FeatureSets,
    champion: FeatureSets,
    sign: float,
    confidence: float,
    resamples: int,
    rng,
) -> Interval:
    """Resample generated rows (paired across models) and reference rows (shared)."""
    from components.runtime.distances import frechet_distance

    n, m = len(challenger.generated), len(challenger.reference)
    if n == 0 or len(champion.generated) != n or m == 0:
        raise ValueError("paired feature sets need the same, non-empty numbers of samples")
    resamples = min(resamples, FD_RESAMPLES)
    diffs = np.empty(resamples)
    for r in range(resamples):
        rows, ref = rng.integers(0, n, n), rng.integers(0, m, m)
        reference = challenger.reference[ref]
        diffs[r] = sign * (
            frechet_distance(challenger.generated[rows], reference)
            - frechet_distance(champion.generated[rows], reference)
        )
    tail = (1 - confidence) / 2
    low, high = np.quantile(diffs, [tail, 1 - tail])
    observed = sign * (challenger.metric() - champion.metric())
    return Interval(float(observed), float(low), float(high), confidence, resamples)


def mcnemar_exact(challenger_correct: np.ndarray, champion_correct: np.ndarray) -> float:
    """Two-sided exact McNemar p-value on the examples where exactly one model is right."""
    from scipy.stats import binomtest

    only_challenger = int(np.sum(challenger_correct & ~champion_correct))
    only_champion = int(np.sum(~challenger_correct & champion_correct))
    discordant = only_challenger + only_champion
    if discordant == 0:
        return 1.0
    return float(binomtest(only_challenger, discordant, 0.5).pvalue)
