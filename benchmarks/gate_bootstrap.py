"""Time the gate's paired bootstrap: resamples x examples, median of several runs.

.venv/bin/python benchmarks/gate_bootstrap.py
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from components.runtime.stats import Outcomes, mcnemar_exact, paired_bootstrap


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


if __name__ == "__main__":
    main()
