"""Gate step: re-score the champion on today's test split, decide, move `champion` last."""

from __future__ import annotations

from components.evaluation.evaluate import local_model_dir
from components.models.artifact import load_model
from components.project import DlopsError, Project
from components.registry.gate import Decision, decide
from components.registry.versions import (
    CHALLENGER,
    CHAMPION,
    alias_version,
    set_alias,
    tag_version,
    version_info,
)
from components.settings import FamilySettings
from components.tasks import task_for
from components.training.train import load_split


def champion_score(project: Project, settings: FamilySettings, version: str) -> float:
    """The champion's gate metric on the current test split (raises DlopsError if it cannot)."""
    info = version_info(settings.model_name, version)
    model, card = load_model(local_model_dir(info.source))
    task = task_for(settings.family)
    return task.score(model, card, load_split(project, settings))[settings.gate.metric]


def gate_and_promote(
    project: Project, settings: FamilySettings, version: str, challenger_metrics: dict[str, float]
) -> Decision:
    """Alias the new version `challenger`, run the gate, and move `champion` if it passes."""
    name, metric = settings.model_name, settings.gate.metric
    if metric not in challenger_metrics:
        raise DlopsError(
            f"gate.metric {metric!r} is not among the test metrics {sorted(challenger_metrics)}"
        )
    set_alias(name, CHALLENGER, version)
    champion = alias_version(name, CHAMPION)
    challenger = challenger_metrics[metric]
    if champion == version:  # a retry after the alias already moved
        return Decision(True, "already champion", metric, challenger, challenger)
    if champion is None:
        decision = decide(challenger, None, settings.gate, challenger_metrics)
    else:
        try:
            decision = decide(
                challenger,
                champion_score(project, settings, champion),
                settings.gate,
                challenger_metrics,
            )
        except DlopsError as exc:
            decision = Decision(
                False,
                f"champion v{champion} cannot be scored on this data "
                f"({exc}); register under another registry.model_name",
                metric,
                challenger,
                None,
            )
    tag_version(
        name,
        version,
        {
            "gate.decision": "promoted" if decision.promote else "rejected",
            "gate.reason": decision.reason,
            "gate.metric": metric,
            "gate.challenger_score": f"{challenger:.6f}",
            "gate.champion_score": "" if decision.champion is None else f"{decision.champion:.6f}",
            "gate.champion_version": champion or "",
        },
    )
    if decision.promote:
        set_alias(name, CHAMPION, version)  # the commit point: production changes here
    return decision
