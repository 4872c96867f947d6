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


def decide(challenger: float, champion: float | None, gate: GateSettings) -> Decision:
    """Promote when there is no champion, or the challenger beats it by `min_improvement`.

    Both metrics must come from the same test split (the caller re-scores the champion).
    """
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
