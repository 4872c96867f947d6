"""Time the gate's paired bootstrap: resamples x examples, median of several runs.

.venv/bin/python benchmarks/gate_bootstrap.py
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from components.runtime.stats import CorpusStats, Outcomes, mcnemar_exact, paired_bootstrap


def main() -> None:
    print("| examples | resamples | bootstrap (s) | McNemar (s) |")
    print("|---|---|---|---|")
    for n in (1_000, 5_000, 10_000):
        rng = np.random.default_rng(0)
        a, b = rng.random(n) < 0.9, rng.random(n) < 0.88
        challenger = Outcomes(a.astype(float), np.ones(n), a)
        champion = Outcomes(b.astype(float), np.ones(n), b)
        boot, mc = [], []
        for _ in range(5):
            start = time.perf_counter()
            paired_bootstrap(challenger, champion, True, 0.95, 2000, 0)
            boot.append(time.perf_counter() - start)
            start = time.perf_counter()
            mcnemar_exact(a, b)
            mc.append(time.perf_counter() - start)
        print(f"| {n} | 2000 | {statistics.median(boot):.3f} | {statistics.median(mc):.4f} |")
    corpus_chrf()
    detection_map()


def detection_map() -> None:
    """COCO mAP (detection): pycocotools' matches once, mAP recomputed on each resample."""
    from components.kinds.object_detection import metrics

    print("\n| images | detections per image | resamples | mAP bootstrap (s) |")
    print("|---|---|---|---|")
    for images, noise in ((400, 10), (400, 60)):
        rng = np.random.default_rng(0)
        pair = []
        for _ in range(2):
            truth, found = [], []
            for _ in range(images):
                k = int(rng.integers(1, 7))
                xy, wh = rng.uniform(0, 70, (k, 2)), rng.uniform(8, 30, (k, 2))
                labels = rng.integers(0, 4, k)
                truth.append(np.column_stack([labels, xy, xy + wh]))
                jitter = rng.normal(0, 2, (k, 4))
                hit = np.column_stack([np.hstack([xy, xy + wh]) + jitter, rng.uniform(0.3, 1, k),
                                       labels])  # fmt: skip
                spur_xy = rng.uniform(0, 80, (noise, 2))
                spurious = np.column_stack([spur_xy, spur_xy + 10, rng.uniform(0, 0.3, noise),
                                            rng.integers(0, 4, noise)])  # fmt: skip
                found.append(np.concatenate([hit, spurious]))
            classes = ["a", "b", "c", "d"]
            pair.append(metrics.matched(metrics.evaluate(truth, found, classes), truth))
        times = []
        for _ in range(3):
            start = time.perf_counter()
            paired_bootstrap(*pair, True, 0.95, 2000, 0)
            times.append(time.perf_counter() - start)
        print(f"| {images} | {noise + 3.5:g} | 2000 | {statistics.median(times):.3f} |")


def corpus_chrf() -> None:
    """Corpus chrF (translation): 18 summed n-gram counts per sentence, scored per resample."""
    from components.kinds.translation.metrics import chrf_from_stats

    print("\n| sentences | resamples | chrF bootstrap (s) |")
    print("|---|---|---|")
    for n in (1_000, 5_000):
        rng = np.random.default_rng(0)
        hyp, ref = rng.integers(5, 60, (2, n, 6))
        stats = [
            np.stack([hyp, ref, rng.integers(0, np.minimum(hyp, ref) + 1)], axis=2).reshape(n, 18)
            for _ in range(2)
        ]
        pair = [CorpusStats(s.astype(float), chrf_from_stats) for s in stats]
        times = []
        for _ in range(5):
            start = time.perf_counter()
            paired_bootstrap(*pair, True, 0.95, 2000, 0)
            times.append(time.perf_counter() - start)
        print(f"| {n} | 2000 | {statistics.median(times):.3f} |")


if __name__ == "__main__":
    main()
