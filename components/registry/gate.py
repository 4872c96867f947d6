"""The promotion gate: one function deciding whether a challenger replaces the champion."""

from __future__ import annotations

from dataclasses import dataclass

from components.runtime.stats import (
    CorpusStats,
    FeatureSets,
    Outcomes,
    mcnemar_exact,
    paired_bootstrap,
)
from components.settings import GateSettings


@dataclass(frozen=True)
class Decision:
    """Outcome of the gate, recorded in the ledger and as tags on the challenger's version."""

    promote: bool
    reason: str
    metric: str
    challenger: float
    champion: float | None
    low: float | None = None  # the improvement's confidence interval (paired bootstrap)
    high: float | None = None
    p_value: float | None = None  # McNemar's exact test, for classifiers
    report: str | None = None  # the promotion report, once the decision is recorded


def outside_limits(metrics: dict[str, float], gate: GateSettings) -> list[str]:
    """Each configured limit the challenger's metrics break, as a phrase."""
    broken = []
    for name, (low, high) in sorted(gate.limits.items()):
        value = metrics.get(name)
        if value is None:
            broken.append(f"{name} was not measured")
        elif low is not None and value < low:
            broken.append(f"{name} {value:.4f} is below the limit {low}")
        elif high is not None and value > high:
            broken.append(f"{name} {value:.4f} is above the limit {high}")
    return broken


def regressions(
    metrics: dict[str, float], champion_metrics: dict[str, float], gate: GateSettings
) -> list[str]:
    """Each `gate.must_not_regress` metric on which the challenger is worse than the champion."""
    worse = []
    for name, better in sorted(gate.must_not_regress.items()):
        mine, theirs = metrics.get(name), champion_metrics.get(name)
        if mine is None or theirs is None:
            worse.append(f"{name} was not measured for both models")
        elif (mine < theirs) if better == "higher" else (mine > theirs):
            worse.append(f"{name} regresses from {theirs:.4f} to {mine:.4f}")
    return worse


def guesses(
    baseline: tuple[Outcomes, Outcomes] | tuple[CorpusStats, CorpusStats] | None,
    gate: GateSettings,
) -> str | None:
    """Why the challenger only guesses, or None: it must beat the kind's naive baseline.

    `baseline` holds the challenger's and the baseline's outcomes on the same test examples
    (a classifier's baseline always answers the most frequent training class; a translator's
    copies the source); the lower bound of the paired bootstrap interval of the difference
    must lie above zero.
    """
    if baseline is None or not gate.beat_baseline:
        return None
    interval = paired_bootstrap(
        *baseline, gate.higher_is_better, gate.confidence, gate.resamples, gate.seed
    )
    if interval.low > 0:
        return None
    model, naive = baseline[0].metric(), baseline[1].metric()
    return (
        f"the model only guesses: {gate.metric} {model:.4f} against {naive:.4f} for "
        f"{baseline[1].name} ({gate.confidence:.0%} interval of the difference "
        f"[{interval.low:+.4f}, {interval.high:+.4f}] does not lie above 0)"
    )


def decide(
    challenger: float,
    champion: float | None,
    gate: GateSettings,
    metrics: dict[str, float] | None = None,
    paired: tuple[Outcomes, Outcomes]
    | tuple[CorpusStats, CorpusStats]
    | tuple[FeatureSets, FeatureSets]
    | None = None,
    champion_metrics: dict[str, float] | None = None,
    baseline: tuple[Outcomes, Outcomes] | tuple[CorpusStats, CorpusStats] | None = None,
) -> Decision:
    """Promote a challenger within `gate.limits` that is better than the champion beyond doubt.

    A challenger that does not beat its kind's naive `baseline` beyond doubt (`guesses`) is
    never promoted. With no champion, the first challenger within the limits is promoted.
    Otherwise both are scored on the same test examples: with `paired` outcomes (challenger,
    champion) the challenger must improve on the champion by more than `gate.min_improvement`,
    both in the observed value and in the lower bound of the paired bootstrap interval at
    `gate.confidence`; kinds without paired outcomes compare the point values.
    """
    broken = outside_limits(metrics or {gate.metric: challenger}, gate)
    if broken:
        return Decision(False, "; ".join(broken), gate.metric, challenger, champion)
    guessing = guesses(baseline, gate)
    if champion is None:
        if guessing:
            return Decision(False, guessing, gate.metric, challenger, None)
        return Decision(True, "no champion yet: first valid model", gate.metric, challenger, None)
    worse = regressions(metrics or {}, champion_metrics or {}, gate)
    if worse:
        return Decision(False, "; ".join(worse), gate.metric, challenger, champion)
    margin = gate.min_improvement
    if paired is None:
        gain = challenger - champion if gate.higher_is_better else champion - challenger
        verdict = "improves" if gain > margin else "does not improve"
        return Decision(
            gain > margin,
            f"{gate.metric} {verdict} by {gain:+.4f} (point values, margin {margin})",
            gate.metric,
            challenger,
            champion,
        )
    interval = paired_bootstrap(
        *paired, gate.higher_is_better, gate.confidence, gate.resamples, gate.seed
    )
    p_value = None
    if paired[0].correct is not None and paired[1].correct is not None:
        p_value = mcnemar_exact(paired[0].correct, paired[1].correct)
    promote = interval.low > margin and interval.improvement > margin
    level = f"{gate.confidence:.0%}"
    reason = (
        f"{gate.metric} improvement {interval.improvement:+.4f}, {level} interval "
        f"[{interval.low:+.4f}, {interval.high:+.4f}] "
        f"{'lies above' if promote else 'does not lie above'} the margin {margin}"
    )
    if p_value is not None:
        reason += f"; McNemar p = {p_value:.3g}"
    if promote and guessing:
        promote, reason = False, f"{reason}; but {guessing}"
    return Decision(
        promote, reason, gate.metric, challenger, champion, interval.low, interval.high, p_value
    )
