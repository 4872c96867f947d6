"""The promotion gate: one function deciding whether a challenger replaces the champion."""

from __future__ import annotations

from dataclasses import dataclass

from components.settings import GateSettings


@dataclass(frozen=True)
class Decision:
    """Outcome of the gate, recorded as tags on the challenger's version."""

    promote: bool
    reason: str
    metric: str
    challenger: float
    champion: float | None


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


def decide(
    challenger: float,
    champion: float | None,
    gate: GateSettings,
    metrics: dict[str, float] | None = None,
) -> Decision:
    """Promote a challenger within `gate.limits` that beats the champion by `min_improvement`.

    With no champion, the first challenger within the limits is promoted. Both metrics must come
    from the same test split (the caller re-scores the champion).
    """
    broken = outside_limits(metrics or {gate.metric: challenger}, gate)
    if broken:
        return Decision(False, "; ".join(broken), gate.metric, challenger, champion)
    if champion is None:
        return Decision(True, "no champion yet: first valid model", gate.metric, challenger, None)
    gain = challenger - champion if gate.higher_is_better else champion - challenger
    if gain > gate.min_improvement:
        return Decision(
            True,
            f"{gate.metric} improves by {gain:.4f} (> {gate.min_improvement})",
            gate.metric,
            challenger,
            champion,
        )
    return Decision(
        False,
        f"{gate.metric} changes by {gain:+.4f}, not more than the required {gate.min_improvement}",
        gate.metric,
        challenger,
        champion,
    )
