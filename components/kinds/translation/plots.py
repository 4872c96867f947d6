"""The translator's plot: chrF by source length, the model beside its baselines."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from components.kinds.translation.metrics import chrf_from_stats, sentence_stats
from components.runtime.plots import pyplot, save

BUCKETS = ((1, 5), (6, 8), (9, 12), (13, 10_000))  # source words


def plot_by_length(sources, references, systems: dict[str, list[str]], path: Path) -> Path:
    """Corpus chrF of each system on the test sentences of each source length."""
    plt = pyplot()
    words = np.array([len(str(s).split()) for s in sources])
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.8 / max(1, len(systems))
    labels = [f"{low}-{high}" if high < 10_000 else f"{low}+" for low, high in BUCKETS]
    for i, (name, hypotheses) in enumerate(systems.items()):
        stats = sentence_stats(list(hypotheses), [str(r) for r in references])
        values = [
            float(chrf_from_stats(stats[(words >= low) & (words <= high)].sum(axis=0))[0])
            if ((words >= low) & (words <= high)).any()
            else 0.0
            for low, high in BUCKETS
        ]
        ax.bar(np.arange(len(BUCKETS)) + i * width, values, width, label=name)
    ax.set_xticks(np.arange(len(BUCKETS)) + width * (len(systems) - 1) / 2, labels)
    ax.set_xlabel("source words")
    ax.set_ylabel("chrF")
    ax.set_title("test chrF by sentence length")
    ax.legend()
    return save(fig, path)
