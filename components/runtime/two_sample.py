"""Two-sample tests of drift: per-feature KS / chi² with Holm's correction, and a kernel MMD.

Reference = what the champion learned from; current = the served window. scipy gives the
per-feature tests, statsmodels the multiple-testing correction; the MMD (an RBF kernel on the
champion's penultimate features, bandwidth by the median heuristic) gets its p-value from
permutations of the pooled sample.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

CATEGORICAL_MAX_LEVELS = 12  # an integer feature with at most this many values: chi², not KS


@dataclass(frozen=True)
class FeatureTest:
    """One feature's test: its statistic, raw and corrected p-value, and the means moved."""

    feature: str
    test: str  # "ks" | "chi2"
    statistic: float
    p_value: float
    adjusted_p: float
    reference_mean: float
    current_mean: float

    def row(self) -> dict:
        """As JSON-ready data: a mean of no finite value is None, not NaN."""
        return {k: None if isinstance(v, float) and not np.isfinite(v) else v
                for k, v in asdict(self).items()}  # fmt: skip


def _categorical(reference: np.ndarray, current: np.ndarray) -> bool:
    values = np.concatenate([reference, current])
    levels = np.unique(values[np.isfinite(values)])
    return len(levels) <= CATEGORICAL_MAX_LEVELS and bool(np.all(levels == np.round(levels)))


def _chi2(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    from scipy.stats import chi2_contingency

    levels = np.unique(np.concatenate([reference, current]))
    table = np.array(
        [[np.sum(sample == level) for level in levels] for sample in (reference, current)]
    )
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 1.0
    result = chi2_contingency(table)
    return float(result.statistic), float(result.pvalue)


def feature_tests(reference, current) -> list[FeatureTest]:
    """KS (or chi² for a few integer levels) per shared numeric column, Holm-corrected.

    Args:
        reference: Frame of the reference sample's features.
        current: Frame of the served window's features (the same columns).

    Returns:
        One test per column, largest statistic first among equal corrected p-values.
    """
    from scipy.stats import ks_2samp
    from statsmodels.stats.multitest import multipletests

    names = [c for c in reference.columns if c in current.columns]
    raw = []
    for name in names:
        ref = np.asarray(reference[name], dtype=np.float64)
        cur = np.asarray(current[name], dtype=np.float64)
        ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
        if len(ref) == 0 or len(cur) == 0:
            raw.append((name, "ks", 0.0, 1.0, np.nan, np.nan))
            continue
        if _categorical(ref, cur):
            statistic, p = _chi2(ref, cur)
            test = "chi2"
        else:
            result = ks_2samp(ref, cur)
            statistic, p, test = float(result.statistic), float(result.pvalue), "ks"
        raw.append((name, test, statistic, p, float(ref.mean()), float(cur.mean())))
    if not raw:
        return []
    adjusted = multipletests([r[3] for r in raw], method="holm")[1]
    tests = [
        FeatureTest(name, test, statistic, p, float(adj), ref_mean, cur_mean)
        for (name, test, statistic, p, ref_mean, cur_mean), adj in zip(raw, adjusted, strict=True)
    ]
    return sorted(tests, key=lambda t: (t.adjusted_p, -t.statistic))


def _sq_distances(z: np.ndarray) -> np.ndarray:
    norms = np.sum(z * z, axis=1)
    return np.maximum(norms[:, None] + norms[None, :] - 2 * z @ z.T, 0.0)


def _mmd2(kernel: np.ndarray, is_x: np.ndarray) -> float:
    """Unbiased MMD² of the split `is_x` of a pooled kernel matrix (zero diagonal)."""
    ix, iy = is_x.astype(np.float64), (~is_x).astype(np.float64)
    nx, ny = ix.sum(), iy.sum()
    kx, ky = kernel @ ix, kernel @ iy
    return float(ix @ kx / (nx * (nx - 1)) + iy @ ky / (ny * (ny - 1)) - 2 * ix @ ky / (nx * ny))


def mmd_test(
    reference: np.ndarray,
    current: np.ndarray,
    permutations: int = 500,
    seed: int = 0,
    max_each: int = 500,
) -> tuple[float, float]:
    """(MMD², permutation p-value) of two samples of vectors (N, D), RBF kernel.

    Each sample is subsampled to `max_each` rows (seeded) to bound the kernel matrix.
    """
    rng = np.random.default_rng(seed)
    x, y = (np.asarray(s, dtype=np.float64).reshape(len(s), -1) for s in (reference, current))
    if len(x) < 2 or len(y) < 2:
        raise ValueError("the MMD test needs at least two vectors in each sample")
    x = x[rng.choice(len(x), max_each, replace=False)] if len(x) > max_each else x
    y = y[rng.choice(len(y), max_each, replace=False)] if len(y) > max_each else y
    pooled = np.concatenate([x, y])
    scale = pooled.std(axis=0)
    pooled = pooled / np.where(scale > 0, scale, 1.0)  # every unit on one scale
    distances = _sq_distances(pooled)
    off_diagonal = distances[~np.eye(len(pooled), dtype=bool)]
    bandwidth = float(np.median(off_diagonal)) or 1.0  # the median heuristic
    kernel = np.exp(-distances / bandwidth)
    np.fill_diagonal(kernel, 0.0)
    is_x = np.zeros(len(pooled), dtype=bool)
    is_x[: len(x)] = True
    observed = _mmd2(kernel, is_x)
    exceed = sum(_mmd2(kernel, rng.permutation(is_x)) >= observed for _ in range(permutations))
    return observed, (1 + exceed) / (1 + permutations)
