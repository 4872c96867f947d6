"""Promotion: the gate after training, promotion by hand, and rollback — each one ledger entry.

Whatever decides, the `champion` alias moves last (the commit point) and only after the
decision is recorded on the version; a failure before leaves production as it was.
"""

from __future__ import annotations

from dataclasses import replace

from components import tags as tag
from components.data.split import load_split
from components.kinds import kind_for
from components.kinds.card import load_model
from components.project import DlopsError, Project
from components.registry import ledger
from components.registry.gate import Decision, decide
from components.registry.versions import (
    CHALLENGER,
    CHAMPION,
    alias_version,
    latest_version,
    set_alias,
    tag_version,
    version_info,
)
from components.settings import FamilySettings
from components.tracking.models import local_model_dir


def _scored(project: Project, settings: FamilySettings, version: str, split):
    """(test metrics, paired outcomes or None) of a registered version on `split`."""
    info = version_info(settings.model_name, version)
    model, card = load_model(local_model_dir(info.source))
    kind = kind_for(settings.family)
    metrics = kind.score(model, card, split)
    return metrics, kind.paired_outcomes(model, card, split, settings.gate.metric)


def evaluate_gate(project: Project, settings: FamilySettings, version: str) -> Decision:
    """Re-score challenger and champion on today's test split and run the gate."""
    name, metric = settings.model_name, settings.gate.metric
    latest = version_info(name, latest_version(name) or version)  # a checkout without the data
    split = load_split(project, settings, latest.tags.get(tag.DATA_VERSION))
    metrics, outcomes = _scored(project, settings, version, split)
    if metric not in metrics:
        raise DlopsError(f"gate.metric {metric!r} is not among the test metrics {sorted(metrics)}")
    naive = kind_for(settings.family).baseline_outcomes(split, metric)
    baseline = None if outcomes is None or naive is None else (outcomes, naive)
    champion = alias_version(name, CHAMPION)
    if champion is None:
        return decide(metrics[metric], None, settings.gate, metrics, baseline=baseline)
    try:
        champion_metrics, champion_outcomes = _scored(project, settings, champion, split)
    except DlopsError as exc:
        return Decision(
            False,
            f"champion v{champion} cannot be scored on this data ({exc}): to make v{version} "
            f"the champion anyway: dlops promote {settings.family} --model {name} "
            f"--version {version} --force --reason TEXT",
            metric,
            metrics[metric],
            None,
        )
    paired = (
        None if outcomes is None or champion_outcomes is None else (outcomes, champion_outcomes)
    )
    return decide(
        metrics[metric],
        champion_metrics[metric],
        settings.gate,
        metrics,
        paired,
        champion_metrics,
        baseline,
    )


def _record(
    project: Project,
    settings: FamilySettings,
    action: str,
    version: str,
    before: str | None,
    after: str | None,
    decision: Decision | None,
    reason: str,
    actor: str,
    cause: str = "",
) -> ledger.Entry:
    from components.registry.report import write_report

    entry = ledger.record(
        project,
        ledger.Entry(
            seq=0,
            family=settings.family,
            model_name=settings.model_name,
            action=action,
            version=version,
            champion_before=before or "",
            champion_after=after or "",
            metric=settings.gate.metric,
            reason=reason,
            actor=actor,
            time="",
            challenger_score=decision.challenger if decision else None,
            champion_score=decision.champion if decision else None,
            interval_low=decision.low if decision else None,
            interval_high=decision.high if decision else None,
            p_value=decision.p_value if decision else None,
            cause=cause,
        ),
    )
    return replace(entry, report=str(write_report(project, entry)))


def _tag(
    settings: FamilySettings, version: str, decision: Decision, champion: str | None, verdict: str
) -> None:
    tag_version(
        settings.model_name,
        version,
        {
            tag.GATE_DECISION: verdict,
            "gate.reason": decision.reason,
            tag.GATE_METRIC: decision.metric,
            "gate.challenger_score": f"{decision.challenger:.6f}",
            "gate.champion_score": "" if decision.champion is None else f"{decision.champion:.6f}",
            "gate.interval": ""
            if decision.low is None
            else f"[{decision.low:.6f}, {decision.high:.6f}]",
            "gate.p_value": "" if decision.p_value is None else f"{decision.p_value:.6g}",
            "gate.champion_version": champion or "",
        },
    )


def gate_and_promote(
    project: Project, settings: FamilySettings, version: str, cause: str = ""
) -> Decision:
    """After training: run the gate, alias the version `challenger`, record, maybe promote.

    `cause` (e.g. `drift:<run id>`) is recorded in the ledger entry. Nothing moves before the
    decision is made: a process killed while the gate computes leaves an ungated version and
    no moved alias (the next run discards the version).
    """
    name = settings.model_name
    champion = alias_version(name, CHAMPION)
    if champion == version:  # a retry after the alias already moved: nothing more to do
        return Decision(True, "already champion", settings.gate.metric, 0.0, None)
    decision = evaluate_gate(project, settings, version)
    set_alias(name, CHALLENGER, version)
    action = ("first" if champion is None else "promote") if decision.promote else "reject"
    _tag(settings, version, decision, champion, "promoted" if decision.promote else "rejected")
    entry = _record(
        project,
        settings,
        action,
        version,
        champion,
        version if decision.promote else champion,
        decision,
        decision.reason,
        "pipeline",
        cause,
    )
    if decision.promote:
        set_alias(name, CHAMPION, version)  # the commit point: production changes here
    return replace(decision, report=entry.report)


def promote_by_hand(
    project: Project,
    settings: FamilySettings,
    version: str,
    force: bool,
    reason: str | None,
    actor: str,
) -> ledger.Entry:
    """`dlops promote`: through the gate, or past it with `force` and a recorded reason."""
    name = settings.model_name
    version_info(name, version)  # DlopsError for an unknown version
    champion = alias_version(name, CHAMPION)
    if champion == version:
        raise DlopsError(f"{name} v{version} is already the champion")
    if force and not (reason and reason.strip()):
        raise DlopsError("--force needs --reason TEXT: the reason is recorded in the ledger")
    decision = evaluate_gate(project, settings, version)
    if not force and not decision.promote:
        raise DlopsError(
            f"the gate rejects {name} v{version}: {decision.reason} "
            "(use --force --reason TEXT to promote anyway)"
        )
    action = "force-promote" if force else "manual-promote"
    note = f"{reason.strip()} (gate: {decision.reason})" if force else decision.reason
    _tag(settings, version, decision, champion, action)
    entry = _record(project, settings, action, version, champion, version, decision, note, actor)
    set_alias(name, CHAMPION, version)
    return entry


def record_data_change(
    project: Project,
    settings: FamilySettings,
    data_version: str,
    reason: str,
    changes: list[str],
    actor: str,
) -> ledger.Entry:
    """`--accept-data-change`: the model's data contract changed on purpose; say why and how."""
    champion = alias_version(settings.model_name, CHAMPION)
    entry = ledger.record(
        project,
        ledger.Entry(
            seq=0,
            family=settings.family,
            model_name=settings.model_name,
            action="accept-data-change",
            version="",
            champion_before=champion or "",
            champion_after=champion or "",
            metric="",
            reason=f"{reason.strip()} (data version {data_version})",
            actor=actor,
            time="",
            detail="; ".join(changes) or "the profile is unchanged",
        ),
    )
    return entry


def rollback(project: Project, settings: FamilySettings, actor: str) -> ledger.Entry:
    """`dlops rollback`: move `champion` back to the one before it in the ledger."""
    name = settings.model_name
    current, target = alias_version(name, CHAMPION), ledger.rollback_target(name)
    entry = _record(
        project,
        settings,
        "rollback",
        target,
        current,
        target,
        None,
        f"rolled back from v{current} to v{target}",
        actor,
    )
    set_alias(name, CHAMPION, target)
    return entry
