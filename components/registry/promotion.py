"""Promotion: the gate after training, promotion by hand, and rollback — each one ledger entry.

Every decision states the champion it expects to replace and is committed under the model's
decision lock (`order.decision_turn`): the champion is read again, the entry is written
`pending`, the decision applied (the version's gate tags, `challenger`, the run's success, and
last the `champion` alias: the commit point), and the entry marked `done`. If the champion moved
meanwhile, nothing is written (`ChampionMoved`): the gate scores again, a command fails cleanly.
A process killed half-way leaves a pending entry that the model's next decision (or `dlops
repair`) applies and settles: the alias always ends equal to the ledger's last entry.
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


def evaluate_gate(
    project: Project, settings: FamilySettings, version: str, champion: str | None
) -> Decision:
    """Re-score the challenger and `champion` (the one it would replace) on today's test split."""
    name, metric = settings.model_name, settings.gate.metric
    latest = version_info(name, latest_version(name) or version)  # a checkout without the data
    split = load_split(project, settings, latest.tags.get(tag.DATA_VERSION))
    metrics, outcomes = _scored(project, settings, version, split)
    if metric not in metrics:
        raise DlopsError(f"gate.metric {metric!r} is not among the test metrics {sorted(metrics)}")
    naive = kind_for(settings.family).baseline_outcomes(split, metric)
    baseline = None if outcomes is None or naive is None else (outcomes, naive)
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


GATE_ACTIONS = {"first", "promote", "reject"}  # the pipeline's gate decided
MANUAL_ACTIONS = {"manual-promote", "force-promote"}


class ChampionMoved(DlopsError):
    """The champion a decision expected to replace is not the champion any more."""

    def __init__(self, name: str, expected: str | None, found: str | None, what: str):
        self.found = found
        super().__init__(
            f"{name}: the champion changed from v{expected or '-'} to v{found or '-'} while "
            f"{what}; nothing changed (run it again to decide against v{found or '-'})"
        )


def _entry(
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
    return ledger.Entry(
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
    )


def version_tags(entry: ledger.Entry) -> dict[str, str]:
    """The gate's tags on the version decided on, rebuilt from its ledger entry alone."""
    if entry.action in GATE_ACTIONS:
        verdict = "promoted" if entry.champion_after == entry.version else "rejected"
    else:
        verdict = entry.action
    return {
        tag.GATE_DECISION: verdict,
        "gate.reason": entry.reason,
        tag.GATE_METRIC: entry.metric,
        "gate.challenger_score": ""
        if entry.challenger_score is None
        else f"{entry.challenger_score:.6f}",
        "gate.champion_score": ""
        if entry.champion_score is None
        else f"{entry.champion_score:.6f}",
        "gate.interval": ""
        if entry.interval_low is None
        else f"[{entry.interval_low:.6f}, {entry.interval_high:.6f}]",
        "gate.p_value": "" if entry.p_value is None else f"{entry.p_value:.6g}",
        "gate.champion_version": entry.champion_before,
    }


def apply(entry: ledger.Entry) -> None:
    """Make a recorded decision true in the registry; each step may be done again.

    The version's gate tags; for the pipeline's gate, the `challenger` alias and the training
    run's success tag; last, the `champion` alias (the commit point of a promotion).
    """
    from components.tracking import runs

    name = entry.model_name
    if entry.action in GATE_ACTIONS | MANUAL_ACTIONS:
        tag_version(name, entry.version, version_tags(entry))
    if entry.action in GATE_ACTIONS:
        set_alias(name, CHALLENGER, entry.version)
        runs.set_tags(version_info(name, entry.version).run_id, {tag.OUTCOME: "ok"})
    if entry.champion_after and entry.champion_after != entry.champion_before:
        set_alias(name, CHAMPION, entry.champion_after)


def settle_pending(model_name: str) -> list[ledger.Entry]:
    """Finish the decisions a killed process left pending (under the model's decision lock).

    A pending entry whose alias is where it found it is applied and marked done (its decision
    was made and recorded; only its effects were cut short). One whose alias moved elsewhere
    (by hand, outside dlops) is marked void. Returns the settled entries.
    """
    settled = []
    for entry in ledger.entries(model_name):
        if entry.state != "pending":
            continue
        current = alias_version(model_name, CHAMPION) or ""
        if current in (entry.champion_before, entry.champion_after):
            apply(entry)
            settled.append(ledger.settle(entry, "done"))
        else:
            settled.append(ledger.settle(entry, "void"))
    return settled


def _decide(project: Project, entry: ledger.Entry, expected: str | None, what: str) -> ledger.Entry:
    """Record and apply one decision as the model's next ledger entry, under its lock.

    Only if the champion is still `expected`; the report is written after, outside the lock.
    """
    from components.registry.order import decision_turn
    from components.registry.report import write_report
    from components.runtime.faults import fault_point

    name = entry.model_name
    with decision_turn(name):
        settle_pending(name)
        current = alias_version(name, CHAMPION)
        if current != expected:
            raise ChampionMoved(name, expected, current, what)
        entry = ledger.record(project, entry)
        apply(entry)
        fault_point("between-alias-and-ledger")
        entry = ledger.settle(entry, "done")
        after = alias_version(name, CHAMPION)
        if (after or "") != entry.champion_after:  # the check after the move: outside dlops?
            raise DlopsError(
                f"{name}: the champion is v{after} right after ledger entry #{entry.seq} made "
                f"it v{entry.champion_after}: something outside dlops moves the alias"
            )
    return replace(entry, report=str(write_report(project, entry)))


def gate_and_promote(
    project: Project, settings: FamilySettings, version: str, cause: str = "", attempts: int = 3
) -> Decision:
    """After training: the gate against the champion, then one ledger entry and its alias moves.

    The decision states the champion it replaces; if another decision moved the champion while
    this gate scored, the gate runs again against the new one (`attempts` times in all).
    `cause` (e.g. `drift:<run id>`) is recorded in the ledger entry. A process killed while the
    gate scores leaves an ungated version and no moved alias (the next run discards the version).
    """
    name = settings.model_name
    for _ in range(attempts):
        champion = alias_version(name, CHAMPION)
        if champion == version:  # a retry after the alias already moved: nothing more to do
            return Decision(True, "already champion", settings.gate.metric, 0.0, None)
        decision = evaluate_gate(project, settings, version, champion)
        action = ("first" if champion is None else "promote") if decision.promote else "reject"
        after = version if decision.promote else champion
        entry = _entry(
            settings, action, version, champion, after, decision, decision.reason, "pipeline", cause
        )
        try:
            entry = _decide(project, entry, champion, f"the gate scored v{version}")
        except ChampionMoved:
            continue  # decide again, against the champion now in office
        return replace(decision, report=entry.report)
    raise DlopsError(
        f"{name}: the champion changed {attempts} times while the gate scored v{version}; "
        f"decide it by hand: dlops promote {settings.family} --model {name} --version {version}"
    )


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
    decision = evaluate_gate(project, settings, version, champion)
    if not force and not decision.promote:
        raise DlopsError(
            f"the gate rejects {name} v{version}: {decision.reason} "
            "(use --force --reason TEXT to promote anyway)"
        )
    action = "force-promote" if force else "manual-promote"
    note = f"{reason.strip()} (gate: {decision.reason})" if force else decision.reason
    entry = _entry(settings, action, version, champion, version, decision, note, actor)
    try:
        return _decide(project, entry, champion, f"the gate scored v{version}")
    except ChampionMoved as moved:
        if moved.found == version:  # a promotion racing this one made it champion first
            raise DlopsError(
                f"{name} v{version} is already the champion (another promotion made it so "
                "while the gate scored it)"
            ) from None
        raise


def record_data_change(
    project: Project,
    settings: FamilySettings,
    data_version: str,
    reason: str,
    changes: list[str],
    actor: str,
) -> ledger.Entry:
    """`--accept-data-change`: the model's data contract changed on purpose; say why and how."""
    from components.registry.order import decision_turn

    name = settings.model_name
    with decision_turn(name):
        settle_pending(name)
        champion = alias_version(name, CHAMPION)
        entry = _entry(
            settings,
            "accept-data-change",
            "",
            champion,
            champion,
            None,
            f"{reason.strip()} (data version {data_version})",
            actor,
        )
        entry = replace(entry, metric="", detail="; ".join(changes) or "the profile is unchanged")
        return ledger.settle(ledger.record(project, entry), "done")


def record_failure(
    project: Project, settings: FamilySettings, version: str, error: str
) -> ledger.Entry:
    """A run failed after registering `version`, before the gate decided: say so, delete it.

    The ledger entry (`failed`) moves nothing; the version, which no alias names and the gate
    never judged, is deleted.
    """
    from components.registry.order import decision_turn
    from components.registry.versions import delete_version

    name = settings.model_name
    with decision_turn(name):
        settle_pending(name)
        champion = alias_version(name, CHAMPION)
        reason = f"the run failed before the gate decided ({error}); v{version} deleted"
        entry = _entry(settings, "failed", version, champion, champion, None, reason, "pipeline")
        entry = ledger.settle(ledger.record(project, entry), "done")
        delete_version(name, version)
    return entry


def rollback(
    project: Project, settings: FamilySettings, actor: str, expected_target: str | None = None
) -> ledger.Entry:
    """`dlops rollback`: move `champion` back to the one before it in the ledger.

    `expected_target`: the version the caller prepared for (its settings); if the ledger now
    says another, nothing changes.
    """
    from components.registry.order import decision_turn

    name = settings.model_name
    with decision_turn(name):  # read the chain and the champion as one
        settle_pending(name)
        current, target = alias_version(name, CHAMPION), ledger.rollback_target(name)
    if expected_target is not None and target != expected_target:
        raise DlopsError(
            f"{name}: the version to roll back to changed from v{expected_target} to "
            f"v{target} meanwhile; nothing changed"
        )
    entry = _entry(
        settings, "rollback", target, current, target, None,
        f"rolled back from v{current} to v{target}", actor,
    )  # fmt: skip
    return _decide(project, entry, current, "the rollback was prepared")
