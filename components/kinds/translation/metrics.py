"""Translation metrics with sacrebleu (corpus chrF and BLEU) and the two baselines.

chrF is the headline: on short sentences and small models it moves long before BLEU's 4-gram
matches do. The gate resamples test sentences: chrF sums character n-gram counts over the
sentences before scoring, so each sentence contributes its counts (`sentence_stats`) and
`chrf_from_stats` scores summed counts, vectorised over the resamples.
"""

from __future__ import annotations

import re

import numpy as np

WORD_OR_MARK = re.compile(r"[\w'’-]+|[^\w\s]")
NO_SPACE_BEFORE = re.compile(r" ([.,!?;:%)\]}»“’])")
NO_SPACE_AFTER = re.compile(r"([(\[{«„‘]) ")


def _chrf():
    from sacrebleu.metrics import CHRF

    return CHRF()  # chrF2: character 6-grams, β = 2 (sacrebleu's defaults)


def corpus_scores(hypotheses: list[str], references: list[str]) -> dict[str, float]:
    """Corpus chrF and BLEU (sacrebleu's defaults: 13a tokenisation, one reference)."""
    from sacrebleu.metrics import BLEU

    return {
        "chrf": float(_chrf().corpus_score(hypotheses, [references]).score),
        "bleu": float(BLEU().corpus_score(hypotheses, [references]).score),
    }


def sentence_stats(hypotheses: list[str], references: list[str]) -> np.ndarray:
    """The chrF counts per sentence (N, 3 × orders): hypothesis, reference, matched n-grams."""
    if not hypotheses or len(hypotheses) != len(references):
        raise ValueError(
            f"{len(hypotheses)} hypotheses for {len(references)} references: "
            "chrF needs one per reference, at least one"
        )
    # sacrebleu's own per-sentence statistics (what its corpus_score and paired tests sum)
    stats = _chrf()._extract_corpus_statistics(hypotheses, [references])
    return np.asarray(stats, dtype=np.float64).reshape(len(hypotheses), -1)


def chrf_from_stats(sums: np.ndarray, beta: float = 2.0) -> np.ndarray:
    """Corpus chrF of summed counts (R, 3 × orders) → (R,), by sacrebleu's formula.

    Effective order: an order without hypothesis or reference n-grams is left out of the mean.
    """
    sums = np.atleast_2d(sums)
    hyp, ref, match = sums[:, 0::3], sums[:, 1::3], sums[:, 2::3]
    counted = (hyp > 0) & (ref > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(counted, match / np.where(hyp > 0, hyp, 1), 0.0)
        recall = np.where(counted, match / np.where(ref > 0, ref, 1), 0.0)
    orders = counted.sum(axis=1)
    precision = np.where(orders > 0, precision.sum(axis=1) / np.maximum(orders, 1), 0.0)
    recall = np.where(orders > 0, recall.sum(axis=1) / np.maximum(orders, 1), 0.0)
    factor = beta**2
    denominator = factor * precision + recall
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(
            denominator > 0,
            (1 + factor) * precision * recall / np.where(denominator > 0, denominator, 1),
            0.0,
        )
    return 100 * score


def detokenize(tokens: list[str]) -> str:
    """Words and marks joined as text: no space before `.,!?` or after an opening bracket."""
    return NO_SPACE_AFTER.sub(r"\1", NO_SPACE_BEFORE.sub(r"\1", " ".join(tokens)))


def word_by_word(text: str, dictionary: dict[str, str]) -> str:
    """Each word's dictionary translation (as written, else lower-cased), else the word."""
    out = []
    for token in WORD_OR_MARK.findall(text):
        out.append(dictionary.get(token) or dictionary.get(token.lower()) or token)
    translated = detokenize(out)
    return translated[:1].upper() + translated[1:]  # a sentence starts with a capital
